// Small helpers for folding at import time (numpy broadcasting, element moves).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "frontend/onnx/onnx_value.h"

namespace mixq::onnx_import {

// Numpy broadcast of two shapes; false when they do not broadcast.
bool BroadcastDims(const std::vector<int64_t>& a, const std::vector<int64_t>& b, std::vector<int64_t>* out);

// For every element of `out_dims`, the flat index into a tensor of `in_dims`
// that broadcasts to it.
std::vector<int64_t> BroadcastSourceIndex(const std::vector<int64_t>& in_dims, const std::vector<int64_t>& out_dims);

// A new value holding the elements of `v` at `indices` with `dims` (same dtype).
FoldValue TakeElements(const FoldValue& v, const std::vector<int64_t>& indices, std::vector<int64_t> dims);

// Elementwise binary op over two known-or-symbolic integer values (an unknown
// operand gives an unknown result) or two FLOAT32 values, with broadcasting.
Status FoldBinary(const FoldValue& a, const FoldValue& b, const std::function<int64_t(int64_t, int64_t)>& int_op,
                  const std::function<float(float, float)>& float_op, FoldValue* out);

}  // namespace mixq::onnx_import
