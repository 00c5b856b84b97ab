#include "format/metadata_fields.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>

#include "util/status_util.h"

namespace mixq::format {

std::string MemberPath(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string IndexPath(const std::string& parent, size_t index) {
  return StrCat(parent, "[", index, "]");
}

Status FieldError(const std::string& path, const std::string& what) {
  return InvalidArgument("model metadata: '", path.empty() ? "(root)" : path, "' ", what);
}

namespace {
Status WrongType(const json& j, const std::string& path, const char* expected) {
  return FieldError(path, StrCat("must be ", expected, ", got ", j.type_name()));
}
}  // namespace

Status CheckObject(const json& j, const std::string& path, std::initializer_list<const char*> required,
                   std::initializer_list<const char*> optional) {
  if (!j.is_object()) return WrongType(j, path, "an object");
  for (const char* key : required)
    if (!j.contains(key)) return FieldError(MemberPath(path, key), "is missing");
  for (const auto& item : j.items()) {
    bool known = false;
    for (const char* key : required) known = known || item.key() == key;
    for (const char* key : optional) known = known || item.key() == key;
    if (!known) return FieldError(MemberPath(path, item.key()), "is not a field of this format version");
  }
  return Status::OK();
}

Status CheckArray(const json& j, const std::string& path) {
  return j.is_array() ? Status::OK() : WrongType(j, path, "an array");
}

Status ReadString(const json& j, const std::string& path, std::string* out) {
  if (!j.is_string()) return WrongType(j, path, "a string");
  *out = j.get_ref<const json::string_t&>();
  return Status::OK();
}

Status ReadBool(const json& j, const std::string& path, bool* out) {
  if (!j.is_boolean()) return WrongType(j, path, "a boolean");
  *out = j.get<bool>();
  return Status::OK();
}

Status ReadInt(const json& j, const std::string& path, int64_t lo, int64_t hi, int64_t* out) {
  if (!j.is_number_integer()) return WrongType(j, path, "an integer");
  // Unsigned and signed are distinct CBOR major types; compare without casting
  // an unsigned value above INT64_MAX into a negative one.
  if (j.is_number_unsigned()) {
    const uint64_t u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) || static_cast<int64_t>(u) > hi ||
        static_cast<int64_t>(u) < lo)
      return FieldError(path, StrCat("is ", u, ", outside [", lo, ", ", hi, "]"));
    *out = static_cast<int64_t>(u);
    return Status::OK();
  }
  const int64_t v = j.get<int64_t>();
  if (v < lo || v > hi) return FieldError(path, StrCat("is ", v, ", outside [", lo, ", ", hi, "]"));
  *out = v;
  return Status::OK();
}

Status ReadIntAs(const json& j, const std::string& path, int64_t lo, int64_t hi, int* out) {
  int64_t v = 0;
  MIXQ_RETURN_IF_ERROR(ReadInt(j, path, std::max<int64_t>(lo, INT32_MIN), std::min<int64_t>(hi, INT32_MAX), &v));
  *out = static_cast<int>(v);
  return Status::OK();
}

Status ReadFloat(const json& j, const std::string& path, float* out) {
  if (!j.is_number()) return WrongType(j, path, "a number");
  const double d = j.get<double>();
  // Converting a finite double beyond the float range is undefined behaviour.
  if (std::isfinite(d) && std::fabs(d) > static_cast<double>(FLT_MAX))
    return FieldError(path, StrCat("is ", d, ", beyond the float range"));
  *out = static_cast<float>(d);
  return Status::OK();
}

Status ReadInts(const json& j, const std::string& path, int64_t lo, int64_t hi, std::vector<int64_t>* out) {
  MIXQ_RETURN_IF_ERROR(CheckArray(j, path));
  out->assign(j.size(), 0);
  for (size_t i = 0; i < j.size(); ++i) MIXQ_RETURN_IF_ERROR(ReadInt(j[i], IndexPath(path, i), lo, hi, &(*out)[i]));
  return Status::OK();
}

Status ReadFloats(const json& j, const std::string& path, std::vector<float>* out) {
  MIXQ_RETURN_IF_ERROR(CheckArray(j, path));
  out->assign(j.size(), 0.0f);
  for (size_t i = 0; i < j.size(); ++i) MIXQ_RETURN_IF_ERROR(ReadFloat(j[i], IndexPath(path, i), &(*out)[i]));
  return Status::OK();
}

Status ReadDataType(const json& j, const std::string& path, DataType* out) {
  std::string name;
  MIXQ_RETURN_IF_ERROR(ReadString(j, path, &name));
  if (!ParseDataType(name, out)) return FieldError(path, StrCat("is '", name, "', not a data type"));
  return Status::OK();
}

}  // namespace mixq::format
