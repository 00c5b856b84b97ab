#include "quant/calib_range_table.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "util/file_read.h"
#include "util/status_util.h"

namespace mixq::quant {

namespace {

using nlohmann::json;

constexpr const char* kFormatName = "mixq-range-table";
constexpr int kTableVersion = 1;

// A JSON string literal. Tensor names are arbitrary bytes; invalid UTF-8
// would make nlohmann's dump throw, so it is replaced (U+FFFD) instead: such
// a name then reads back as unknown (NOT_FOUND), an error rather than a crash.
std::string Quoted(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string FloatText(float f) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.9g", static_cast<double>(f));
  return buffer;
}

Status ParseRange(const std::string& name, const json& value, Range* out) {
  const std::string where = "range table: ranges['" + name + "']";
  if (!value.is_array() || value.size() != 2 || !value[0].is_number() || !value[1].is_number())
    return InvalidArgument(where, " must be [min, max] (two numbers), got ", value.dump());
  const double lo = value[0].get<double>();
  const double hi = value[1].get<double>();
  // Below FLT_MAX + half an ulp a double rounds to a finite float (the
  // 9-digit text of FLT_MAX itself lies just above FLT_MAX).
  const double limit = static_cast<double>(std::numeric_limits<float>::max()) + std::ldexp(1.0, 103);
  if (!(std::fabs(lo) < limit) || !(std::fabs(hi) < limit))
    return InvalidArgument(where, " = ", value.dump(), " is outside the float32 range");
  const Range r{static_cast<float>(lo), static_cast<float>(hi)};
  if (!(r.min <= r.max)) return InvalidArgument(where, " = ", value.dump(), " has min > max");
  *out = r;
  return Status::OK();
}

Status ParseHash(const json& value, uint64_t* hash) {
  const std::string text = value.is_string() ? value.get<std::string>() : "";
  bool ok = !text.empty() && text.size() <= 16;
  for (char c : text) ok = ok && std::isxdigit(static_cast<unsigned char>(c));
  if (!ok) return InvalidArgument("range table: network_hash must be up to 16 hex digits, got ", value.dump());
  *hash = std::strtoull(text.c_str(), nullptr, 16);
  return Status::OK();
}

}  // namespace

std::string FormatRangeTable(const RangeTable& table) {
  std::string out = "{\n";
  out += StrCat("  \"format\": \"", kFormatName, "\",\n");
  out += StrCat("  \"version\": ", kTableVersion, ",\n");
  if (table.network_hash) {
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(*table.network_hash));
    out += StrCat("  \"network_hash\": \"", hex, "\",\n");
  }
  if (!table.algorithm.empty()) out += StrCat("  \"algorithm\": ", Quoted(table.algorithm), ",\n");
  out += "  \"ranges\": {";
  size_t i = 0;
  for (const auto& [name, range] : table.ranges) {
    out += i++ == 0 ? "\n" : ",\n";
    out += StrCat("    ", Quoted(name), ": [", FloatText(range.min), ", ", FloatText(range.max), "]");
  }
  out += table.ranges.empty() ? "}\n}\n" : "\n  }\n}\n";
  return out;
}

Status ParseRangeTable(const std::string& text, RangeTable* table) {
  if (table == nullptr) return InvalidArgument("ParseRangeTable: null output");
  // The table is 3 levels deep; a deeper document is refused before parsing
  // (100,000 nested arrays overflowed the stack in the JSON library).
  MIXQ_RETURN_IF_ERROR(CheckJsonDepth(text, kMaxJsonDepth, "range table"));
  // nlohmann keeps the last of duplicate keys silently; a hand-edited table
  // with a tensor twice is more likely a mistake, so duplicates are caught
  // while parsing (one key set per open object).
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
  } catch (const json::exception& e) {
    // parse_error carries the byte position; other errors (invalid UTF-8 in a key) say it in the text.
    if (const auto* parse = dynamic_cast<const json::parse_error*>(&e))
      return InvalidArgument("range table: JSON syntax error at byte offset ", parse->byte, ": ", e.what());
    return InvalidArgument("range table: ", e.what());
  }
  if (!duplicate.empty()) return InvalidArgument("range table: key '", duplicate, "' appears twice");
  if (!doc.is_object()) return InvalidArgument("range table: the document must be a JSON object");
  RangeTable result;
  bool has_format = false, has_version = false, has_ranges = false;
  for (const auto& [key, value] : doc.items()) {
    if (key == "format") {
      if (!value.is_string() || value.get<std::string>() != kFormatName)
        return InvalidArgument("range table: format must be \"", kFormatName, "\", got ", value.dump());
      has_format = true;
    } else if (key == "version") {
      if (!value.is_number_integer() || value.get<int64_t>() != kTableVersion)
        return InvalidArgument("range table: version ", value.dump(), " is not supported: this build reads version ",
                               kTableVersion);
      has_version = true;
    } else if (key == "network_hash") {
      uint64_t hash = 0;
      MIXQ_RETURN_IF_ERROR(ParseHash(value, &hash));
      result.network_hash = hash;
    } else if (key == "algorithm") {
      if (!value.is_string()) return InvalidArgument("range table: algorithm must be a string, got ", value.dump());
      result.algorithm = value.get<std::string>();
    } else if (key == "ranges") {
      if (!value.is_object()) return InvalidArgument("range table: ranges must be an object {\"tensor\": [min, max]}");
      for (const auto& [name, range] : value.items()) {
        if (name.empty()) return InvalidArgument("range table: ranges has an empty tensor name");
        MIXQ_RETURN_IF_ERROR(ParseRange(name, range, &result.ranges[name]));
      }
      has_ranges = true;
    } else {
      return InvalidArgument("range table: unknown key '", key,
                             "' (known: format, version, network_hash, algorithm, ranges)");
    }
  }
  if (!has_format || !has_version || !has_ranges)
    return InvalidArgument("range table: missing key '",
                           !has_format    ? "format"
                           : !has_version ? "version"
                                          : "ranges",
                           "'");
  *table = std::move(result);
  return Status::OK();
}

}  // namespace mixq::quant
