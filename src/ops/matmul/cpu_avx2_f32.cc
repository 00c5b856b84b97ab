// float32 MatMul with a constant 2-D b on the AVX2 + FMA GEMM with packed
// weights (ops/float_weight_gemm.h): a's batch dims fold into M (a is
// contiguous, not transposed). Two activations (attention), a transposed or
// 1-D operand, a batched b and small products (FloatWeightGemmPreferred)
// run oneDNN or the reference.
#include "ops/float_weight_gemm.h"
#include "ops/matmul/geometry.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

bool Shape(const KernelInit& init, FloatWeightGemmShape* shape) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || !init.inputs[1]->const_data) return false;
  if (!ir::IsStatic(init.inputs[0]->shape) || !ir::IsStatic(init.inputs[1]->shape)) return false;
  MatMulGeometry g;
  if (!ComputeMatMulGeometry(init.attrs, init.inputs, &g).ok()) return false;
  if (ir::ElementCount(g.b.batch) != 1 || g.a.transposed || g.b.vector) return false;
  shape->m = ir::ElementCount(g.a.batch) * g.a.rows;
  shape->k = g.a.cols;
  shape->n = g.b.cols;
  shape->weights_transposed = g.b.transposed;
  return true;
}

bool Supports(const KernelInit& init) {
  FloatWeightGemmShape shape;
  return Shape(init, &shape) && FloatWeightGemmComputes(init, shape) && FloatWeightGemmPreferred(shape);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  FloatWeightGemmShape shape;
  if (!Shape(init, &shape))
    return InvalidArgument("MatMul avx2-f32: not a product with constant 2-D weights and a plain a");
  return MakeFloatWeightGemm(init, shape, kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(matmul, avx2_f32) {
  mixq::ops::RegisterKernel(
      {"avx2-f32", mixq::OpKind::kMatMul, mixq::kernels::Isa::kAvx2, 15, mixq::ops::Supports, mixq::ops::Make});
}
