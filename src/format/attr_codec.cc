#include "format/attr_codec.h"

#include <limits>
#include <utility>
#include <variant>
#include <vector>

#include "format/metadata_fields.h"
#include "util/status_util.h"

namespace mixq::format {

namespace {
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
}  // namespace

json EncodeAttr(const ir::AttrValue& value) {
  json encoded = json::object();
  encoded["type"] = ir::AttrTypeName(ir::TypeOf(value));
  std::visit([&](const auto& v) { encoded["value"] = v; }, value);
  return encoded;
}

Status DecodeAttr(const json& j, const std::string& path, ir::AttrValue* value) {
  MIXQ_RETURN_IF_ERROR(CheckObject(j, path, {"type", "value"}));
  std::string type;
  MIXQ_RETURN_IF_ERROR(ReadString(j["type"], MemberPath(path, "type"), &type));
  const json& v = j["value"];
  const std::string value_path = MemberPath(path, "value");
  if (type == ir::AttrTypeName(ir::AttrType::kInt)) {
    int64_t x = 0;
    MIXQ_RETURN_IF_ERROR(ReadInt(v, value_path, kInt64Min, kInt64Max, &x));
    *value = x;
  } else if (type == ir::AttrTypeName(ir::AttrType::kFloat)) {
    float x = 0;
    MIXQ_RETURN_IF_ERROR(ReadFloat(v, value_path, &x));
    *value = x;
  } else if (type == ir::AttrTypeName(ir::AttrType::kString)) {
    std::string x;
    MIXQ_RETURN_IF_ERROR(ReadString(v, value_path, &x));
    *value = std::move(x);
  } else if (type == ir::AttrTypeName(ir::AttrType::kInts)) {
    std::vector<int64_t> x;
    MIXQ_RETURN_IF_ERROR(ReadInts(v, value_path, kInt64Min, kInt64Max, &x));
    *value = std::move(x);
  } else if (type == ir::AttrTypeName(ir::AttrType::kFloats)) {
    std::vector<float> x;
    MIXQ_RETURN_IF_ERROR(ReadFloats(v, value_path, &x));
    *value = std::move(x);
  } else {
    return FieldError(MemberPath(path, "type"), StrCat("is '", type, "', not int, float, string, ints or floats"));
  }
  return Status::OK();
}

}  // namespace mixq::format
