#include "api/builder_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "util/status_util.h"

namespace mixq::api {

namespace {

using nlohmann::json;

struct StringOption {
  const char* key;
  std::string BuildOptions::*field;
  std::set<std::string> allowed;
};

const std::vector<StringOption>& StringOptions() {
  static const std::vector<StringOption> options = {
      {"precision_mode",
       &BuildOptions::precision_mode,
       {"force_float32", "force_float16", "qint8_mixed_float32", "qint8_mixed_float16", "qint16_mixed_float32",
        "qint16_mixed_float16"}},
      {"weight_quant_granularity", &BuildOptions::weight_quant_granularity, {"per_tensor", "per_axis"}},
      {"activation_quant_algo", &BuildOptions::activation_quant_algo, {"symmetric", "asymmetric"}},
      {"activation_quant_mode", &BuildOptions::activation_quant_mode, {"static", "dynamic"}},
      {"bias_precision", &BuildOptions::bias_precision, {"float", "int32"}},
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
    Range r{range[0].get<float>(), range[1].get<float>()};
    if (!(r.min <= r.max)) return InvalidArgument(key, " has min > max");
    options->custom_ranges[name] = r;
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
    const StringOption* option = nullptr;
    for (const auto& o : StringOptions())
      if (key == o.key) option = &o;
    if (!option) {
      std::set<std::string> known = {"custom_ranges"};
      for (const auto& o : StringOptions()) known.insert(o.key);
      return InvalidArgument("unknown key precision_config.", key, " (known keys: ", Join(known), ")");
    }
    if (!value.is_string()) return InvalidArgument("precision_config.", key, " must be a string");
    const std::string v = value.get<std::string>();
    if (!option->allowed.count(v))
      return InvalidArgument("precision_config.", key, " has unknown value '", v, "' (one of: ",
                             Join(option->allowed), ")");
    options->*(option->field) = v;
  }
  return Status::OK();
}

}  // namespace

Status BuilderConfigImpl::ParseFromString(const std::string& text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    return InvalidArgument("builder config is not valid JSON at byte ", e.byte, ": ", e.what());
  }
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
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open builder config file '", path, "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  Status status = ParseFromString(buffer.str());
  return WithContext(status, "builder config file '" + path + "'");
}

std::string BuilderConfigImpl::ToJson() const {
  json precision;
  for (const auto& o : StringOptions()) precision[o.key] = options_.*(o.field);
  json ranges = json::object();
  for (const auto& [name, r] : options_.custom_ranges) ranges[name] = {r.min, r.max};
  precision["custom_ranges"] = ranges;
  return json{{"precision_config", precision}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace mixq::api

namespace mixq {
std::unique_ptr<IBuilderConfig> CreateIBuilderConfig() { return std::make_unique<api::BuilderConfigImpl>(); }
}  // namespace mixq
