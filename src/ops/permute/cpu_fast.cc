// Fast Permute kernels: the reference's affine view (PermuteCopyParams)
// copied by kernels/strided_copy.h, which merges the dims that stay adjacent,
// memcpys contiguous runs when the innermost dim keeps its place and runs
// cache-blocked 2-D transposes when it moves. "avx2" transposes 4-, 2- and
// 1-byte elements in 8x8 register tiles; "cpu-fast" is the same plan with
// scalar tiles. Any element size and every storage type the reference moves
// (float32, float16 / bfloat16 storage, quantized INT8 / INT16, integers);
// bit-identical with the reference, a copy.
#include "ops/kernel_registry.h"
#include "ops/shape_ops_util.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

bool Supports(const KernelInit& init) {
  return FastStridedCopySupports(OpKind::kPermute, init);
}

template <bool kAvx2>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  StridedCopyParams p;
  MIXQ_RETURN_IF_ERROR(PermuteCopyParams(init, &p));
  return MakeFastStridedCopyKernel(p, kAvx2, kAvx2 ? "avx2" : "cpu-fast", kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(permute, fast) {
  mixq::ops::RegisterKernel(
      {"avx2", mixq::OpKind::kPermute, mixq::kernels::Isa::kAvx2, 20, mixq::ops::Supports, mixq::ops::Make<true>});
  mixq::ops::RegisterKernel({"cpu-fast", mixq::OpKind::kPermute, mixq::kernels::Isa::kGeneric, 10, mixq::ops::Supports,
                             mixq::ops::Make<false>});
}
