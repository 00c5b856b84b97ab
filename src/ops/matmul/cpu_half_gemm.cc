// MatMul of float16 activations and a constant 2-D b whose values are float16
// ("avx512-f16-gemm", "avx2-f16-gemm"), with the weights kept as float16 and
// the output rounded from the kernel's own sums: no Cast steps, no float32
// copy of a or of the output (ops/half_weight_gemm.h). a's batch dims fold
// into the rows (a contiguous, not transposed); b may be stored transposed.
// A bias add after it fuses (runtime/fusion/fuse_bias_add.cc), rounded as
// the separate Add step rounds.
//
// PP-OCRv4 rec force_float16: the 40 x 120 x 6625 head ran oneDNN's float32
// MatMul between two Cast steps, its 1.06 MB float32 output three quarters
// of the activation arena.
#include "ops/half_weight_gemm.h"
#include "ops/matmul/geometry.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

bool Supports(const KernelInit& init) {
  HalfWeightGemmShape s;
  return ConstantWeightGemmShape(init, &s) && HalfWeightGemmComputes(init, s, /*half=*/true);
}

template <bool kAvx512>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  HalfWeightGemmShape s;
  if (!ConstantWeightGemmShape(init, &s)) return Internal("MatMul f16-gemm: unsupported step");
  return MakeHalfWeightGemm(init, s, /*half=*/true, kAvx512, kAvx512 ? "avx512-f16-gemm" : "avx2-f16-gemm", kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(matmul, half_gemm) {
  // Above avx2-f16 (10), which widens a and the weights to run the float32 kernel.
  mixq::ops::RegisterKernel({"avx2-f16-gemm", mixq::OpKind::kMatMul, mixq::kernels::Isa::kAvx2, 12, mixq::ops::Supports,
                             mixq::ops::Make<false>});
  mixq::ops::RegisterKernel({"avx512-f16-gemm", mixq::OpKind::kMatMul, mixq::kernels::Isa::kAvx512, 13,
                             mixq::ops::Supports, mixq::ops::Make<true>});
}
