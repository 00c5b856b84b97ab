// MatMul operands after transposition / 1-D promotion and the broadcast
// output, shared by the reference and the oneDNN kernel.
#pragma once

#include "ops/op_schema.h"

namespace mixq::ops {

// One operand seen as [batch..., rows, cols] after transposition / promotion.
struct Operand {
  ir::Shape batch;
  int64_t rows = 0, cols = 0;
  bool transposed = false;  // stored as [..., cols, rows]
  bool vector = false;      // was 1-D: its promoted dim leaves the output
};

struct MatMulGeometry {
  Operand a, b;
  ir::Shape batch;  // broadcast batch dims of the output
  ir::Shape out;
};

Status ComputeMatMulGeometry(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                             MatMulGeometry* geometry);

// Element strides of an operand's matrices along the output batch dims; 0
// where the operand is broadcast (missing dim or dim 1).
std::vector<int64_t> BatchStrides(const Operand& op, const ir::Shape& batch);

}  // namespace mixq::ops
