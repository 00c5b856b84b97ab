// Cast: converts between FLOAT32, FLOAT16, BFLOAT16, INT8, INT16, INT32,
// INT64, UINT8 and BOOL. QINT8 / QINT16 carry a scale, so they are reached
// through quantize / dequantize, never by a cast.
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/op_util.h"
#include "util/half.h"

namespace mixq::ops {

namespace {

bool IsCastable(DataType type) {
  switch (type) {
    case DataType::FLOAT32:
    case DataType::FLOAT16:
    case DataType::BFLOAT16:
    case DataType::INT8:
    case DataType::INT16:
    case DataType::INT32:
    case DataType::INT64:
    case DataType::UINT8:
    case DataType::BOOL:
      return true;
    default:
      return false;
  }
}

Status ParseTarget(const ir::AttrMap& attrs, DataType* to) {
  const std::string name = attrs.Str("to");
  if (!ParseDataType(name, to)) return InvalidArgument("attribute 'to': unknown data type '", name, "'");
  if (!IsCastable(*to))
    return InvalidArgument("attribute 'to': cannot cast to ", DataTypeName(*to),
                           " (quantized types need a scale; use quantize / dequantize)");
  return Status::OK();
}

Status CheckSource(const ValueInfo& input) {
  if (!IsCastable(input.dtype))
    return InvalidArgument("input 'input' has type ", DataTypeName(input.dtype),
                           ", which cannot be cast (quantized types need a scale)");
  return Status::OK();
}

Status InferCast(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                 std::vector<ValueInfo>& outputs) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  MIXQ_RETURN_IF_ERROR(CheckSource(*inputs[0]));
  DataType to;
  MIXQ_RETURN_IF_ERROR(ParseTarget(attrs, &to));
  outputs[0].dtype = to;
  outputs[0].shape = inputs[0]->shape;
  return Status::OK();
}

// One element in transit: integers stay integers (an int64 does not survive a
// trip through double), floating values are held as float (every source
// float type is exact in float32).
struct Scalar {
  bool is_int = false;
  int64_t i = 0;
  float f = 0.0f;
};

template <typename T>
T LoadRaw(const void* data, int64_t index) {
  T v;
  std::memcpy(&v, static_cast<const char*>(data) + index * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

template <typename T>
void StoreRaw(void* data, int64_t index, T v) {
  std::memcpy(static_cast<char*>(data) + index * static_cast<int64_t>(sizeof(T)), &v, sizeof(T));
}

Scalar Load(DataType type, const void* data, int64_t index) {
  Scalar s;
  s.is_int = true;
  switch (type) {
    case DataType::FLOAT32:
      return {false, 0, LoadRaw<float>(data, index)};
    case DataType::FLOAT16:
      return {false, 0, HalfToFloat(LoadRaw<uint16_t>(data, index))};
    case DataType::BFLOAT16:
      return {false, 0, BFloat16ToFloat(LoadRaw<uint16_t>(data, index))};
    case DataType::INT8:
      s.i = LoadRaw<int8_t>(data, index);
      break;
    case DataType::INT16:
      s.i = LoadRaw<int16_t>(data, index);
      break;
    case DataType::INT32:
      s.i = LoadRaw<int32_t>(data, index);
      break;
    case DataType::INT64:
      s.i = LoadRaw<int64_t>(data, index);
      break;
    case DataType::UINT8:
      s.i = LoadRaw<uint8_t>(data, index);
      break;
    case DataType::BOOL:
      s.i = LoadRaw<uint8_t>(data, index) != 0;
      break;
    default:
      break;
  }
  return s;
}

// Float to integer: truncate toward zero, then saturate to T's range, NaN -> 0.
// ONNX leaves out-of-range casts undefined and C++ makes them undefined
// behaviour; saturation is the choice that is deterministic on every CPU and
// matches what quantized paths do at their range limits.
template <typename T>
T FloatToInt(float f) {
  if (std::isnan(f)) return 0;
  const double t = std::trunc(static_cast<double>(f));
  // Compared in double: T's max + 1 is a power of two, exact in double, and
  // a float at or above it is out of range.
  constexpr double kLowest = static_cast<double>(std::numeric_limits<T>::lowest());
  constexpr double kMaxPlusOne = static_cast<double>(std::numeric_limits<T>::max() / 2 + 1) * 2.0;
  if (t < kLowest) return std::numeric_limits<T>::lowest();
  if (t >= kMaxPlusOne) return std::numeric_limits<T>::max();
  return static_cast<T>(t);
}

// Integer to narrower integer wraps modulo 2^bits (two's complement), as
// numpy astype and C++20 conversions do.
template <typename T>
T IntToInt(int64_t i) {
  return static_cast<T>(i);
}

template <typename T>
void StoreInt(void* data, int64_t index, const Scalar& s) {
  StoreRaw<T>(data, index, s.is_int ? IntToInt<T>(s.i) : FloatToInt<T>(s.f));
}

void Store(DataType type, void* data, int64_t index, const Scalar& s) {
  // Integers reach the 16-bit float types through float32 (exact for every
  // integer that float16 can represent without overflow).
  const float f = s.is_int ? static_cast<float>(s.i) : s.f;
  switch (type) {
    case DataType::FLOAT32:
      StoreRaw<float>(data, index, f);
      break;
    case DataType::FLOAT16:
      StoreRaw<uint16_t>(data, index, FloatToHalf(f));
      break;
    case DataType::BFLOAT16:
      StoreRaw<uint16_t>(data, index, FloatToBFloat16(f));
      break;
    case DataType::INT8:
      StoreInt<int8_t>(data, index, s);
      break;
    case DataType::INT16:
      StoreInt<int16_t>(data, index, s);
      break;
    case DataType::INT32:
      StoreInt<int32_t>(data, index, s);
      break;
    case DataType::INT64:
      StoreInt<int64_t>(data, index, s);
      break;
    case DataType::UINT8:
      StoreInt<uint8_t>(data, index, s);
      break;
    // x != 0, so NaN is true (as numpy).
    case DataType::BOOL:
      StoreRaw<uint8_t>(data, index, s.is_int ? s.i != 0 : s.f != 0.0f);
      break;
    default:
      break;
  }
}

struct CastParams {
  DataType from = DataType::FLOAT32;
  DataType to = DataType::FLOAT32;
  int64_t count = 0;
};

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  CastParams p;
  MIXQ_RETURN_IF_ERROR(CheckSource(*init.inputs[0]));
  MIXQ_RETURN_IF_ERROR(ParseTarget(init.attrs, &p.to));
  p.from = init.inputs[0]->dtype;
  p.count = ir::ElementCount(init.inputs[0]->shape);
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        for (int64_t i = 0; i < p.count; ++i) Store(p.to, out[0].data, i, Load(p.from, in[0].data, i));
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& CastSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kCast;
    s.name = "Cast";
    s.summary = "Converts elements to another data type (float->int truncates and saturates).";
    s.input_names = {"input"};
    s.attrs = {
        {"to", std::string("FLOAT32"),
         "target type: FLOAT32, FLOAT16, BFLOAT16, INT8, INT16, INT32, INT64, UINT8 or BOOL"},
    };
    s.infer = InferCast;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
