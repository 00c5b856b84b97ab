#include "api/builder_config.h"

#include <cfloat>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "passes/node_precision.h"
#include "util/file_read.h"
#include "util/status_util.h"

namespace mixq::api {

namespace {

using nlohmann::json;

// Samples the output-aware `auto` search may keep (each costs one copy of the
// inputs and one of the float outputs, and one run per candidate build).
constexpr int64_t kMaxAutoOutputSamples = 64;

struct StringOption {
  const char* key;
  std::string BuildOptions::*field;
  std::set<std::string> allowed;
};

const std::vector<StringOption>& StringOptions() {
  static const std::vector<StringOption> options = {
      {"precision_mode",
       &BuildOptions::precision_mode,
       {"force_float32", "force_float16", "force_bfloat16", "qint8_mixed_float32", "qint8_mixed_float16",
        "qint16_mixed_float32", "qint16_mixed_float16"}},
      {"weight_quant_granularity", &BuildOptions::weight_quant_granularity, {"per_tensor", "per_axis"}},
      {"activation_quant_algo", &BuildOptions::activation_quant_algo, {"symmetric", "asymmetric"}},
      {"activation_quant_mode", &BuildOptions::activation_quant_mode, {"static", "dynamic"}},
      {"bias_precision", &BuildOptions::bias_precision, {"float", "int32"}},
      {"int8_weight_range", &BuildOptions::int8_weight_range, {"full", "7bit"}},
      {"int8_table_chains", &BuildOptions::int8_table_chains, {"off", "on"}},
      {"speed_check", &BuildOptions::speed_check, {"off", "on"}},
      {"int8_rescale_chains", &BuildOptions::int8_rescale_chains, {"off", "on"}},
      {"denormal_weights", &BuildOptions::denormal_weights, {"flush", "keep"}},
      {"cross_layer_equalization_relu6", &BuildOptions::cle_relu6, {"skip", "replace_with_relu"}},
  };
  return options;
}

std::string Join(const std::set<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

Status ParseCustomRanges(const json& value, BuildOptions* options) {
  if (!value.is_object())
    return InvalidArgument("precision_config.custom_ranges must be an object {\"tensor\": [min, max]}");
  for (const auto& [name, range] : value.items()) {
    const std::string key = "precision_config.custom_ranges." + name;
    if (!range.is_array() || range.size() != 2 || !range[0].is_number() || !range[1].is_number())
      return InvalidArgument(key, " must be [min, max]");
    const double lo = range[0].get<double>(), hi = range[1].get<double>();
    // A double beyond float's range would not convert (undefined behaviour) and an inf range has no scale.
    if (!(std::fabs(lo) <= FLT_MAX) || !(std::fabs(hi) <= FLT_MAX))
      return InvalidArgument(key, " [", lo, ", ", hi, "] is outside the float range");
    Range r{static_cast<float>(lo), static_cast<float>(hi)};
    if (!(r.min <= r.max)) return InvalidArgument(key, " has min > max");
    options->custom_ranges[name] = r;
  }
  return Status::OK();
}

Status ParseNodePrecision(const json& value, BuildOptions* options) {
  if (!value.is_object())
    return InvalidArgument(
        "precision_config.node_precision must be an object {\"node\": \"qint8\" | \"qint16\" | "
        "\"float16\" | \"float32\"}");
  for (const auto& [name, precision] : value.items()) {
    const std::string key = "precision_config.node_precision." + name;
    if (!precision.is_string() || !passes::IsNodePrecisionName(precision.get<std::string>()))
      return InvalidArgument(key, " is ", precision.dump(),
                             "; expected \"qint8\", \"qint16\", \"float16\" or \"float32\"");
    options->node_precision[name] = precision.get<std::string>();
  }
  return Status::OK();
}

Status ParsePrecisionConfig(const json& section, BuildOptions* options) {
  if (!section.is_object()) return InvalidArgument("precision_config must be a JSON object");
  for (const auto& [key, value] : section.items()) {
    if (key == "custom_ranges") {
      MIXQ_RETURN_IF_ERROR(ParseCustomRanges(value, options));
      continue;
    }
    if (key == "node_precision") {
      MIXQ_RETURN_IF_ERROR(ParseNodePrecision(value, options));
      continue;
    }
    if (key == "clip_warning_percent" || key == "clip_warning_energy_percent") {
      // Written so NaN fails too.
      if (!value.is_number() || !(value.get<double>() >= 0.0 && value.get<double>() <= 100.0))
        return InvalidArgument("precision_config.", key, " must be a number in [0, 100], got ", value.dump());
      (key == "clip_warning_percent" ? options->clip_warning_percent : options->clip_warning_energy_percent) =
          value.get<double>();
      continue;
    }
    if (key == "bias_correction" || key == "cross_layer_equalization") {
      if (!value.is_boolean())
        return InvalidArgument("precision_config.", key, " must be true or false, got ", value.dump());
      (key == "bias_correction" ? options->bias_correction : options->cross_layer_equalization) = value.get<bool>();
      continue;
    }
    if (key == "smooth_quant_alpha") {
      if (value.is_string() && value.get<std::string>() == "off") {
        options->smooth_quant_alpha = -1.0;
        continue;
      }
      // Written so NaN fails too.
      if (!value.is_number() || !(value.get<double>() >= 0.0 && value.get<double>() <= 1.0))
        return InvalidArgument("precision_config.smooth_quant_alpha must be a number in [0, 1] or \"off\", got ",
                               value.dump());
      options->smooth_quant_alpha = value.get<double>();
      continue;
    }
    if (key == "auto_output_samples") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > kMaxAutoOutputSamples)
        return InvalidArgument("precision_config.auto_output_samples must be an integer in [0, ", kMaxAutoOutputSamples,
                               "] (0: the histogram proxy alone), got ", value.dump());
      options->auto_output_samples = static_cast<int>(value.get<int64_t>());
      continue;
    }
    const StringOption* option = nullptr;
    for (const auto& o : StringOptions())
      if (key == o.key) option = &o;
    if (!option) {
      std::set<std::string> known = {"custom_ranges",      "clip_warning_percent", "clip_warning_energy_percent",
                                     "node_precision",     "bias_correction",      "cross_layer_equalization",
                                     "smooth_quant_alpha", "auto_output_samples"};
      for (const auto& o : StringOptions()) known.insert(o.key);
      return InvalidArgument("unknown key precision_config.", key, " (known keys: ", Join(known), ")");
    }
    if (!value.is_string()) return InvalidArgument("precision_config.", key, " must be a string");
    const std::string v = value.get<std::string>();
    if (!option->allowed.count(v))
      return InvalidArgument("precision_config.", key, " has unknown value '", v, "' (one of: ", Join(option->allowed),
                             ")");
    options->*(option->field) = v;
  }
  return Status::OK();
}

}  // namespace

Status BuilderConfigImpl::ParseFromString(const std::string& text) {
  MIXQ_RETURN_IF_ERROR(CheckJsonDepth(text, kMaxJsonDepth, "builder config"));
  // nlohmann keeps the last of duplicate keys silently; a config naming a key
  // twice is ambiguous, so it is an error like an unknown key (SPEC §2).
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  auto callback = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == json::parse_event_t::key && !open_objects.empty() && duplicate.empty() &&
        !open_objects.back().insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  json doc;
  try {
    doc = json::parse(text, callback);
  } catch (const json::parse_error& e) {
    return InvalidArgument("builder config is not valid JSON at byte ", e.byte, ": ", e.what());
  } catch (const json::exception& e) {
    // out_of_range: a number such as -1e400 that no double holds; type_error: invalid UTF-8.
    return InvalidArgument("builder config holds a value JSON cannot represent: ", e.what());
  }
  if (!duplicate.empty()) return InvalidArgument("builder config: key '", duplicate, "' appears twice");
  if (!doc.is_object()) return InvalidArgument("builder config must be a JSON object");
  // Parse into a copy so that a failed call changes nothing.
  BuildOptions parsed = options_;
  for (const auto& [key, value] : doc.items()) {
    if (key == "precision_config") {
      MIXQ_RETURN_IF_ERROR(ParsePrecisionConfig(value, &parsed));
    } else {
      return InvalidArgument("unknown key '", key, "' in builder config (known keys: precision_config)");
    }
  }
  options_ = parsed;
  return Status::OK();
}

Status BuilderConfigImpl::ParseFromFile(const std::string& path) {
  std::string text;
  MIXQ_RETURN_IF_ERROR(ReadFileLimited(path, kMaxJsonFileBytes, "builder config file", &text));
  Status status = ParseFromString(text);
  return WithContext(status, "builder config file '" + path + "'");
}

std::string BuilderConfigImpl::ToJson() const {
  json precision;
  for (const auto& o : StringOptions()) precision[o.key] = options_.*(o.field);
  json ranges = json::object();
  for (const auto& [name, r] : options_.custom_ranges) ranges[name] = {r.min, r.max};
  precision["custom_ranges"] = ranges;
  json nodes = json::object();
  for (const auto& [name, p] : options_.node_precision) nodes[name] = p;
  precision["node_precision"] = nodes;
  precision["clip_warning_percent"] = options_.clip_warning_percent;
  precision["clip_warning_energy_percent"] = options_.clip_warning_energy_percent;
  precision["bias_correction"] = options_.bias_correction;
  precision["cross_layer_equalization"] = options_.cross_layer_equalization;
  precision["auto_output_samples"] = options_.auto_output_samples;
  if (options_.smooth_quant_alpha >= 0.0)
    precision["smooth_quant_alpha"] = options_.smooth_quant_alpha;
  else
    precision["smooth_quant_alpha"] = "off";
  return json{{"precision_config", precision}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace mixq::api

namespace mixq {
std::unique_ptr<IBuilderConfig> CreateIBuilderConfig() {
  return std::make_unique<api::BuilderConfigImpl>();
}
}  // namespace mixq
