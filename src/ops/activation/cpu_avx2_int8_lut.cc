// "avx2-int8-lut": Activation inside an integer chain (sigmoid, tanh,
// hard_sigmoid, hard_swish, silu, gelu, leaky_relu on int8 storage) as a
// 256-entry table built once per prepared step from the reference function,
// bit-exact with the chain reference (ops/int8_chain.h).
#include "ops/activation/lut_function.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

bool Supports(const KernelInit& init) {
  LutOp op;
  return init.inputs.size() == 1 && UniformLayout(init) && ActivationLutOp(init, &op).ok() &&
         LutStepSupported(init, op.data_input);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  LutOp op;
  MIXQ_RETURN_IF_ERROR(ActivationLutOp(init, &op));
  return MakeInt8LutAvx2(std::move(op), init, kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(activation, avx2_int8_lut) {
  mixq::ops::RegisterKernel({"avx2-int8-lut", mixq::OpKind::kActivation, mixq::kernels::Isa::kAvx2, 20,
                             mixq::ops::Supports, mixq::ops::Make, mixq::ops::Int8UnaryChannelsLastSlots});
}
