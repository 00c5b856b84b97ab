// Typed, path-naming access to the model metadata (a nlohmann::json tree).
// Every failure is INVALID_ARGUMENT naming the field, e.g.
// "model metadata: 'nodes[3].attrs.strides.value' must be an array, got string".
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mixq/types.h"

namespace mixq::format {

using nlohmann::json;

std::string MemberPath(const std::string& parent, const std::string& key);  // "a.b"
std::string IndexPath(const std::string& parent, size_t index);             // "a[3]"

// An INVALID_ARGUMENT status about the field at `path`.
Status FieldError(const std::string& path, const std::string& what);

// `j` must be an object holding every `required` key and no key outside
// `required` and `optional`: a version-1 file has exactly these fields, so an
// unknown one means a corrupted file or a writer from another build.
Status CheckObject(const json& j, const std::string& path, std::initializer_list<const char*> required,
                   std::initializer_list<const char*> optional = {});
Status CheckArray(const json& j, const std::string& path);

Status ReadString(const json& j, const std::string& path, std::string* out);
Status ReadBool(const json& j, const std::string& path, bool* out);
// An integer in [lo, hi]; CBOR unsigned values above INT64_MAX are rejected too.
Status ReadInt(const json& j, const std::string& path, int64_t lo, int64_t hi, int64_t* out);
Status ReadIntAs(const json& j, const std::string& path, int64_t lo, int64_t hi, int* out);
// Any number representable as a float (NaN and infinities included).
Status ReadFloat(const json& j, const std::string& path, float* out);
Status ReadInts(const json& j, const std::string& path, int64_t lo, int64_t hi, std::vector<int64_t>* out);
Status ReadFloats(const json& j, const std::string& path, std::vector<float>* out);
// A name as printed by DataTypeName ("FLOAT32").
Status ReadDataType(const json& j, const std::string& path, DataType* out);

}  // namespace mixq::format
