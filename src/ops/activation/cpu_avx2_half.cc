// Activation on float16 storage: chunks widened with F16C into L1, the op's own
// float32 kernel, rounded back (ops/half_storage.h); bit-identical with the
// Cast steps around the float32 kernel it replaces.
#include "ops/half_storage.h"

namespace mixq::ops {

namespace {

template <DataType kNarrow>
bool Supports(const KernelInit& init) {
  return SupportsHalfPointwise(OpKind::kActivation, init, kNarrow);
}

template <DataType kNarrow>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeHalfPointwise(OpKind::kActivation, init, kNarrow, kNarrow == DataType::FLOAT16 ? "avx2-f16" : "avx2-bf16",
                           kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(activation, avx2_half) {
  mixq::ops::RegisterKernel({"avx2-f16", mixq::OpKind::kActivation, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::Supports<mixq::DataType::FLOAT16>, mixq::ops::Make<mixq::DataType::FLOAT16>});
  // bfloat16 storage the same way (force_bfloat16).
  mixq::ops::RegisterKernel({"avx2-bf16", mixq::OpKind::kActivation, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::Supports<mixq::DataType::BFLOAT16>, mixq::ops::Make<mixq::DataType::BFLOAT16>});
}
