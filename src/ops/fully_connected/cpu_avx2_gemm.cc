// FullyConnected (alpha = beta = 1, input not transposed, one bias per output
// feature) on the fused AVX2 int8 weights GEMM (ops/int8_weight_gemm.h); the
// other cases run avx2-int8-staged or the reference.
#include "ops/int8_weight_gemm.h"
#include "ops/quantized_reference.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

bool Shape(const KernelInit& init, WeightGemmShape* shape) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || !init.inputs[1]->const_data) return false;
  const ir::Shape& a = init.inputs[0]->shape;
  const ir::Shape& b = init.inputs[1]->shape;
  if (a.size() != 2 || b.size() != 2 || !ir::IsStatic(a) || !ir::IsStatic(b)) return false;
  if (init.attrs.Int("transpose_a") != 0 || init.attrs.Float("alpha", 1.0f) != 1.0f ||
      init.attrs.Float("beta", 1.0f) != 1.0f)
    return false;
  const bool tb = init.attrs.Int("transpose_b", 1) != 0;
  if ((tb ? b[1] : b[0]) != a[1]) return false;
  const ir::QuantBinding* wq = init.inputs[1]->quant;
  if (wq && wq->axis >= 0 && wq->axis != (tb ? 0 : 1)) return false;
  shape->m = a[0];
  shape->k = a[1];
  shape->n = tb ? b[0] : b[1];
  shape->weights_transposed = tb;
  return true;
}

bool Supports(const KernelInit& init) {
  WeightGemmShape shape;
  return Shape(init, &shape) && Int8WeightGemmSupports(init, shape, 2);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  WeightGemmShape shape;
  if (!Shape(init, &shape)) return Internal("FullyConnected avx2-int8: unexpected shapes");
  return MakeInt8WeightGemm(init, shape, 2, kernel);
}

// The 7-bit-weight form (int8_weight_range: 7bit): vpmaddubsw, exact when
// every adjacent weight pair along K has |w1| + |w2| <= 128.
bool SupportsU8S8(const KernelInit& init) {
  WeightGemmShape shape;
  return Shape(init, &shape) && Int8WeightGemmSupports(init, shape, 2) && Int8WeightGemmFitsU8S8(init, shape);
}

Status MakeU8S8(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  WeightGemmShape shape;
  if (!Shape(init, &shape)) return Internal("FullyConnected avx2-int8-u8s8: unexpected shapes");
  shape.u8s8 = true;
  shape.name = "avx2-int8-u8s8";
  return MakeInt8WeightGemm(init, shape, 2, kernel);
}

// 8-bit weights on vpmaddubsw: the product computed transposed, the weights
// split into a dense part and a sparse remainder (kernels::PackS8A), taken
// where the remainder is cheap enough (Int8WeightGemmSplitsU8S8). Exact.
bool SupportsU8S8Split(const KernelInit& init) {
  WeightGemmShape shape;
  return Shape(init, &shape) && Int8WeightGemmSupports(init, shape, 2) && Int8WeightGemmSplitsU8S8(init, shape);
}

Status MakeU8S8Split(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  WeightGemmShape shape;
  if (!Shape(init, &shape)) return Internal("FullyConnected avx2-int8-u8s8-split: unexpected shapes");
  shape.u8s8_split = true;
  shape.name = "avx2-int8-u8s8-split";
  return MakeInt8WeightGemm(init, shape, 2, kernel);
}

bool SupportsVnni(const KernelInit& init) {
  return SupportsInt8WeightGemmVnni(init, Shape, 2);
}

Status MakeVnni(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeInt8WeightGemmVnni(init, Shape, 2, kernel);
}

Status MakeAmx(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeInt8WeightGemmAmx(init, Shape, 2, kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(fully_connected, avx2_gemm) {
  mixq::ops::RegisterKernel({"avx2-int8", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx2, 20,
                             mixq::ops::Supports, mixq::ops::Make});
  mixq::ops::RegisterKernel({"avx2-int8-u8s8", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx2, 25,
                             mixq::ops::SupportsU8S8, mixq::ops::MakeU8S8});
  // Above all where the CPU has AMX-INT8: the same weights on tiles.
  mixq::ops::RegisterKernel({"amx-int8", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAmx, 35,
                             mixq::ops::SupportsVnni, mixq::ops::MakeAmx});
  // Above all three where the CPU has AVX-512 VNNI: any 8-bit weights, exact.
  mixq::ops::RegisterKernel({"avx512vnni-int8", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx512Vnni, 30,
                             mixq::ops::SupportsVnni, mixq::ops::MakeVnni});
  // Between the two: 8-bit weights that the 7-bit form declines.
  mixq::ops::RegisterKernel({"avx2-int8-u8s8-split", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx2, 24,
                             mixq::ops::SupportsU8S8Split, mixq::ops::MakeU8S8Split});
}
