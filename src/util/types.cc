// Implementation of the basic public value types.
#include <algorithm>
#include <cctype>

#include "mixq/network.h"
#include "mixq/types.h"

namespace mixq {

namespace {
struct TypeInfo {
  DataType type;
  const char* name;
  size_t size;
};
constexpr TypeInfo kTypes[] = {
    {DataType::FLOAT32, "FLOAT32", 4}, {DataType::FLOAT16, "FLOAT16", 2},
    {DataType::BFLOAT16, "BFLOAT16", 2}, {DataType::INT8, "INT8", 1},
    {DataType::INT16, "INT16", 2},     {DataType::INT32, "INT32", 4},
    {DataType::INT64, "INT64", 8},     {DataType::UINT8, "UINT8", 1},
    {DataType::BOOL, "BOOL", 1},       {DataType::QINT8, "QINT8", 1},
    {DataType::QINT16, "QINT16", 2},
};
}  // namespace

const char* DataTypeName(DataType type) {
  for (const auto& t : kTypes)
    if (t.type == type) return t.name;
  return "UNKNOWN";
}

size_t DataTypeSize(DataType type) {
  for (const auto& t : kTypes)
    if (t.type == type) return t.size;
  return 0;
}

bool ParseDataType(const std::string& name, DataType* type) {
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (const auto& t : kTypes) {
    if (upper == t.name) {
      *type = t.type;
      return true;
    }
  }
  return false;
}

int64_t Dims::GetElementCount() const {
  int64_t count = 1;
  for (int64_t d : dims_) {
    if (d < 0) return -1;
    // Saturates instead of overflowing (undefined behaviour); such a count is
    // refused wherever a tensor is sized (ir::CheckedByteCount).
    if (__builtin_mul_overflow(count, d, &count)) return INT64_MAX;
  }
  return count;
}

bool Dims::HasDynamicDim() const {
  return std::any_of(dims_.begin(), dims_.end(), [](int64_t d) { return d < 0; });
}

std::string Dims::ToString() const {
  std::string out = "[";
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(dims_[i]);
  }
  return out + "]";
}

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::OK: return "OK";
    case StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case StatusCode::NOT_FOUND: return "NOT_FOUND";
    case StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case StatusCode::DATA_LOSS: return "DATA_LOSS";
    case StatusCode::INTERNAL: return "INTERNAL";
    case StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
  }
  return "UNKNOWN";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

const char* LayoutName(Layout layout) {
  switch (layout) {
    case Layout::NCHW: return "NCHW";
    case Layout::NHWC: return "NHWC";
    case Layout::OIHW: return "OIHW";
    case Layout::OHWI: return "OHWI";
    case Layout::HWCN: return "HWCN";
  }
  return "UNKNOWN";
}

}  // namespace mixq
