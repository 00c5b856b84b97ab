// Fast Slice kernel: the reference's affine view (SliceCopyParams) copied by
// kernels/strided_copy.h, which drops size-1 dims and merges the dims that
// stay adjacent, so a slice along outer axes is one memcpy or a few
// contiguous runs, and strided or backward slices are typed gathers along the
// innermost dim instead of an element-by-element memcpy. Any element size and
// every storage type the reference moves (float32, float16 / bfloat16
// storage, quantized INT8 / INT16, integers); bit-identical with the
// reference, a copy.
#include "ops/kernel_registry.h"
#include "ops/shape_ops_util.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

bool Supports(const KernelInit& init) {
  return FastStridedCopySupports(OpKind::kSlice, init);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  StridedCopyParams p;
  MIXQ_RETURN_IF_ERROR(SliceCopyParams(init, &p));
  return MakeFastStridedCopyKernel(p, /*avx2=*/false, "cpu-fast", kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(slice, fast) {
  mixq::ops::RegisterKernel(
      {"cpu-fast", mixq::OpKind::kSlice, mixq::kernels::Isa::kGeneric, 10, mixq::ops::Supports, mixq::ops::Make});
}
