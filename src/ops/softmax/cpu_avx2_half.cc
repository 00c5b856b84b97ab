// Softmax on float16 storage: chunks of whole rows widened with F16C, the
// op's own float32 kernel, rounded back (ops/half_storage.h); bit-identical
// with the Cast steps around the float32 kernel it replaces.
#include "ops/half_storage.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

bool RowAxis(const KernelInit& init, int64_t* axis) {
  if (init.inputs.empty() || !init.inputs[0]) return false;
  const int64_t rank = static_cast<int64_t>(init.inputs[0]->shape.size());
  if (!ir::NormalizeAxis(init.attrs.Int("axis", -1), rank, axis)) return false;
  // Softmax rows are contiguous only along the last axis.
  return *axis == rank - 1;
}

template <DataType kNarrow>
bool Supports(const KernelInit& init) {
  int64_t axis = 0;
  return RowAxis(init, &axis) && SupportsHalfRows(OpKind::kSoftmax, init, kNarrow, axis);
}

template <DataType kNarrow>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  int64_t axis = 0;
  if (!RowAxis(init, &axis)) return Internal("Softmax avx2-f16: unsupported axis");
  return MakeHalfRows(OpKind::kSoftmax, init, kNarrow, axis, false,
                      kNarrow == DataType::FLOAT16 ? "avx2-f16" : "avx2-bf16", kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(softmax, avx2_half) {
  mixq::ops::RegisterKernel({"avx2-f16", mixq::OpKind::kSoftmax, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::Supports<mixq::DataType::FLOAT16>, mixq::ops::Make<mixq::DataType::FLOAT16>});
  // bfloat16 storage the same way (force_bfloat16).
  mixq::ops::RegisterKernel({"avx2-bf16", mixq::OpKind::kSoftmax, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::Supports<mixq::DataType::BFLOAT16>, mixq::ops::Make<mixq::DataType::BFLOAT16>});
}
