#include "util/element.h"

#include <cstring>

#include "util/half.h"

namespace mixq {

namespace {

template <typename T>
T Load(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

double ElementAsDouble(DataType type, const void* p) {
  switch (type) {
    case DataType::FLOAT32:
      return Load<float>(p);
    case DataType::FLOAT16:
      return HalfToFloat(Load<uint16_t>(p));
    case DataType::BFLOAT16:
      return BFloat16ToFloat(Load<uint16_t>(p));
    case DataType::INT8:
      return Load<int8_t>(p);
    case DataType::UINT8:
    case DataType::BOOL:
      return Load<uint8_t>(p);
    case DataType::INT16:
      return Load<int16_t>(p);
    case DataType::INT32:
      return Load<int32_t>(p);
    case DataType::INT64:
      return static_cast<double>(Load<int64_t>(p));
    default:
      return 0;
  }
}

}  // namespace mixq
