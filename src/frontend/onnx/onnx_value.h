// Values known while importing an ONNX graph: constants (initializers, Constant
// nodes, folded results) and partially known integer vectors (the output of a
// Shape node over a tensor with dynamic dims), which shape-computation
// subgraphs are folded over.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mixq/network.h"
#include "mixq/types.h"

namespace onnx {
class TensorProto;
}

namespace mixq::onnx_import {

// Most elements one imported tensor may hold; larger dims are rejected as
// malformed before any allocation (2^31: well beyond any real weight).
constexpr int64_t kMaxElements = int64_t{1} << 31;

// One integer element. Unknown elements remember which dim of which tensor
// they are (when they came straight from Shape), so a Reshape target such as
// [batch, -1] built from Shape(x)[0] can still be resolved to "copy dim 0".
struct SymInt {
  int64_t value = 0;
  bool known = true;
  const ITensor* source = nullptr;  // set only for an unknown dim of `source`
  int64_t axis = -1;

  static SymInt Known(int64_t v) { return SymInt{v, true, nullptr, -1}; }
  static SymInt Unknown(const ITensor* source = nullptr, int64_t axis = -1) { return SymInt{0, false, source, axis}; }
};

// A constant (or partially known integer) tensor. Integer and BOOL types keep
// their elements in `ints`, FLOAT32 in `floats`, FLOAT16 / BFLOAT16 only as
// `raw` bytes (they can be handed to the network but not folded over).
struct FoldValue {
  DataType dtype = DataType::FLOAT32;
  std::vector<int64_t> dims;
  std::vector<SymInt> ints;
  std::vector<float> floats;
  std::vector<uint8_t> raw;

  int64_t ElementCount() const;
  bool IsInt() const;
  bool IsFloat() const { return dtype == DataType::FLOAT32; }
  // Every element known (always true except for ints from dynamic dims).
  bool AllKnown() const;
  // The elements as plain numbers; an error naming `what` when unknown or not numeric.
  Status ToInt64s(const std::string& what, std::vector<int64_t>* out) const;
  Status ToFloats(const std::string& what, std::vector<float>* out) const;
  // Element bytes in `dtype` layout (AllKnown() required).
  std::vector<uint8_t> Bytes() const;

  static FoldValue FromInts(DataType dtype, std::vector<int64_t> dims, const std::vector<int64_t>& values);
  static FoldValue FromSym(DataType dtype, std::vector<int64_t> dims, std::vector<SymInt> values);
  static FoldValue FromFloats(std::vector<int64_t> dims, std::vector<float> values);
};

bool IsIntegerType(DataType type);
// ONNX TensorProto.DataType -> mixq DataType; false for types mixq lacks.
bool FromOnnxType(int32_t onnx_type, DataType* type);
const char* OnnxTypeName(int32_t onnx_type);

// Checks dims (non-negative, element count <= kMaxElements); names `what`.
Status CheckDims(const std::vector<int64_t>& dims, const std::string& what);

// Decodes an initializer / Constant tensor, reading external data relative to
// `base_dir` ("" = external data not allowed).
Status FoldValueFromProto(const onnx::TensorProto& proto, const std::string& base_dir, FoldValue* value);

}  // namespace mixq::onnx_import
