// "avx2-int8-lut": Activation inside an integer chain (sigmoid, tanh,
// hard_sigmoid, hard_swish, silu, gelu, leaky_relu on int8 storage) as a
// 256-entry table built once per prepared step from the reference function,
// bit-exact with the chain reference (ops/int8_chain.h).
// "avx512vbmi-int8-lut": the same table for an int8 output, looked up 64
// codes at a time with vpermi2b (ops/int8_chain.h, LookupInt8Vbmi).
#include "ops/activation/lut_function.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

bool Supports(const KernelInit& init) {
  LutOp op;
  return init.inputs.size() == 1 && UniformLayout(init) && ActivationLutOp(init, &op).ok() &&
         LutStepSupported(init, op.data_input);
}

// kVbmi: avx512vbmi-int8-lut (an int8 output, LookupInt8Vbmi).
template <bool kVbmi>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  LutOp op;
  MIXQ_RETURN_IF_ERROR(ActivationLutOp(init, &op));
  return MakeInt8LutAvx2(std::move(op), init, kernel, kVbmi);
}

bool SupportsVbmi(const KernelInit& init) {
  return VbmiLutOutput(init) && Supports(init);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(activation, avx2_int8_lut) {
  mixq::ops::RegisterKernel({"avx2-int8-lut", mixq::OpKind::kActivation, mixq::kernels::Isa::kAvx2, 20,
                             mixq::ops::Supports, mixq::ops::Make<false>, mixq::ops::Int8UnaryChannelsLastSlots});
  // Above it where the CPU has AVX-512 VBMI (int8 output).
  mixq::ops::RegisterKernel({"avx512vbmi-int8-lut", mixq::OpKind::kActivation, mixq::kernels::Isa::kAvx512, 25,
                             mixq::ops::SupportsVbmi, mixq::ops::Make<true>, mixq::ops::Int8UnaryChannelsLastSlots});
}
