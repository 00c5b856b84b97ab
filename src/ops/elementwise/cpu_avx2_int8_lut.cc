// "avx2-int8-lut": Elementwise add / sub / mul / div with a scalar
// constant inside an integer chain, on int8 storage, as a
// 256-entry table built once per prepared step from the reference function,
// bit-exact with the chain reference (ops/int8_chain.h).
#include "ops/elementwise/lut_function.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

bool Supports(const KernelInit& init) {
  LutOp op;
  return ElementwiseLutOp(init, &op).ok() && LutStepSupported(init, op.data_input);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  LutOp op;
  MIXQ_RETURN_IF_ERROR(ElementwiseLutOp(init, &op));
  return MakeInt8LutAvx2(std::move(op), init, kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(elementwise, avx2_int8_lut) {
  mixq::ops::RegisterKernel({"avx2-int8-lut", mixq::OpKind::kElementwise, mixq::kernels::Isa::kAvx2, 20,
                             mixq::ops::Supports, mixq::ops::Make});
}
