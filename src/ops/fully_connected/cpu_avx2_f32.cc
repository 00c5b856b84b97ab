// float32 FullyConnected (alpha = beta = 1, input not transposed, one bias per
// output feature) on the AVX2 + FMA GEMM with packed weights
// (ops/float_weight_gemm.h), weights [N, K] or [K, N]; the bias is added in
// float32 in the GEMM's epilogue. Other cases and small products
// (FloatWeightGemmPreferred) run oneDNN or the reference.
#include "ops/float_weight_gemm.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

bool Shape(const KernelInit& init, FloatWeightGemmShape* shape) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || !init.inputs[1]->const_data) return false;
  const ir::Shape& a = init.inputs[0]->shape;
  const ir::Shape& b = init.inputs[1]->shape;
  if (a.size() != 2 || b.size() != 2 || !ir::IsStatic(a) || !ir::IsStatic(b)) return false;
  if (init.attrs.Int("transpose_a") != 0 || init.attrs.Float("alpha", 1.0f) != 1.0f ||
      init.attrs.Float("beta", 1.0f) != 1.0f)
    return false;
  const bool tb = init.attrs.Int("transpose_b", 1) != 0;
  if ((tb ? b[1] : b[0]) != a[1]) return false;
  shape->m = a[0];
  shape->k = a[1];
  shape->n = tb ? b[0] : b[1];
  shape->weights_transposed = tb;
  shape->bias_input = 2;
  return true;
}

bool Supports(const KernelInit& init) {
  FloatWeightGemmShape shape;
  return Shape(init, &shape) && FloatWeightGemmComputes(init, shape) && FloatWeightGemmPreferred(shape);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  FloatWeightGemmShape shape;
  if (!Shape(init, &shape))
    return InvalidArgument("FullyConnected avx2-f32: takes alpha = beta = 1, a plain input and constant weights");
  return MakeFloatWeightGemm(init, shape, kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(fully_connected, avx2_f32) {
  mixq::ops::RegisterKernel(
      {"avx2-f32", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx2, 15, mixq::ops::Supports, mixq::ops::Make});
}
