// MatMul on float16 storage, for steps of up to kHalfWholeLimit elements in or
// out: the activation widened with F16C into a float32 copy, the op's own
// float32 kernel over every row in one call (oneDNN's sums depend on the
// rows per call, so chunks would change bits), the output rounded back
// (ops/half_storage.h); bit-identical with the Cast steps around it. Larger
// steps keep the Cast steps, whose float32 buffers the arena accounts for.
#include "ops/half_storage.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

bool RowAxis(const KernelInit& init, int64_t* axis) {
  if (init.inputs.empty() || !init.inputs[0] || init.attrs.Int("transpose_a", 0) != 0) return false;
  const ValueInfo& a = *init.inputs[0];
  // Rows of a times a constant 2-D b: each output row depends on its own a row.
  const ValueInfo* b = init.inputs.size() > 1 ? init.inputs[1] : nullptr;
  if (!b || !b->const_data || b->shape.size() != 2 || a.shape.size() < 2) return false;
  *axis = static_cast<int64_t>(a.shape.size()) - 1;
  return true;
}

template <DataType kNarrow>
bool Supports(const KernelInit& init) {
  int64_t axis = 0;
  return RowAxis(init, &axis) && SupportsHalfRows(OpKind::kMatMul, init, kNarrow, axis, /*whole=*/true);
}

template <DataType kNarrow>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  int64_t axis = 0;
  if (!RowAxis(init, &axis)) return Internal("MatMul avx2-f16: unsupported step");
  return MakeHalfRows(OpKind::kMatMul, init, kNarrow, axis, /*whole=*/true,
                      kNarrow == DataType::FLOAT16 ? "avx2-f16" : "avx2-bf16", kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(matmul, half) {
  mixq::ops::RegisterKernel({"avx2-f16", mixq::OpKind::kMatMul, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::Supports<mixq::DataType::FLOAT16>, mixq::ops::Make<mixq::DataType::FLOAT16>});
  // bfloat16 storage the same way (force_bfloat16).
  mixq::ops::RegisterKernel({"avx2-bf16", mixq::OpKind::kMatMul, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::Supports<mixq::DataType::BFLOAT16>, mixq::ops::Make<mixq::DataType::BFLOAT16>});
}
