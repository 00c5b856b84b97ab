// MatMul operands after transposition / 1-D promotion and the broadcast
// output, shared by the reference and the oneDNN kernel.
#pragma once

#include "ops/half_weight_gemm.h"
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

// A static MatMul of a row-major, untransposed a times a constant 2-D b, a's
// batch dims folded into its rows: the shape the float16-weight GEMM and
// "onednn-f16" run (ops/half_weight_gemm.h). False for any other step.
bool ConstantWeightGemmShape(const KernelInit& init, HalfWeightGemmShape* shape);

}  // namespace mixq::ops
