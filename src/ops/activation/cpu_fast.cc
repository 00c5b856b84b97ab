// Optimized CPU kernel of Activation: the piecewise-linear kinds (relu, relu6,
// clip, leaky_relu) as tight float loops the compiler vectorizes. They are
// bit-exact with the reference (which computes in double): min / max are
// exact, and alpha * x is exact in double, so rounding it once to float gives
// the float product. The other kinds run the reference itself.
#include <cmath>
#include <limits>

#include "ops/activation/cpu.h"
#include "ops/clamp.h"
#include "ops/kernel_registry.h"
#include "ops/op_util.h"

namespace mixq::ops {

namespace {

enum class Linear { kRelu, kRelu6, kClip, kLeakyRelu };

// The comparisons are the reference's (ops/clamp.h), so NaN and -0.0 come
// out the same.
template <Linear kind>
void Loop(const float* x, float* y, int64_t n, float lo, float hi) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if constexpr (kind == Linear::kRelu) y[i] = ClampActivation(v, 0.0f, kInf);
    if constexpr (kind == Linear::kRelu6) y[i] = ClampActivation(v, 0.0f, 6.0f);
    if constexpr (kind == Linear::kClip) y[i] = ClampActivation(v, lo, hi);
    if constexpr (kind == Linear::kLeakyRelu) y[i] = v < 0.0f ? lo * v : v;
  }
}

}  // namespace

Status MakeActivationFast(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  const std::string type = init.attrs.Str("type");
  const float alpha = init.attrs.Float("alpha", std::numeric_limits<float>::quiet_NaN());
  const float beta = init.attrs.Float("beta", std::numeric_limits<float>::quiet_NaN());
  Linear kind;
  float lo = 0.0f, hi = 0.0f;
  if (type == "relu") {
    kind = Linear::kRelu;
  } else if (type == "relu6") {
    kind = Linear::kRelu6;
  } else if (type == "clip") {
    kind = Linear::kClip;
    lo = std::isnan(alpha) ? -std::numeric_limits<float>::infinity() : alpha;
    hi = std::isnan(beta) ? std::numeric_limits<float>::infinity() : beta;
  } else if (type == "leaky_relu") {
    kind = Linear::kLeakyRelu;
    lo = std::isnan(alpha) ? 0.01f : alpha;
  } else {
    return Internal("activation '", type, "' is not piecewise linear: the registry picks the reference for it");
  }
  MIXQ_RETURN_IF_ERROR(RequireInput(init.inputs, 0, "input"));
  const int64_t count = ir::ElementCount(init.inputs[0]->shape);
  return MakeFunctionKernel(
      [kind, lo, hi, count](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const float* x = in[0].Data<float>();
        float* y = out[0].Data<float>();
        switch (kind) {
          case Linear::kRelu:
            Loop<Linear::kRelu>(x, y, count, lo, hi);
            break;
          case Linear::kRelu6:
            Loop<Linear::kRelu6>(x, y, count, lo, hi);
            break;
          case Linear::kClip:
            Loop<Linear::kClip>(x, y, count, lo, hi);
            break;
          case Linear::kLeakyRelu:
            Loop<Linear::kLeakyRelu>(x, y, count, lo, hi);
            break;
        }
        return Status::OK();
      },
      kernel, "cpu-fast");
}

namespace {
bool SupportsFast(const KernelInit& init) {
  const std::string type = init.attrs.Str("type");
  return !init.HasPostOps() && AllPlainFloat32(init) && UniformLayout(init) &&
         (type == "relu" || type == "relu6" || type == "clip" || type == "leaky_relu");
}
}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(activation, fast) {
  mixq::ops::RegisterKernel({"cpu-fast", mixq::OpKind::kActivation, mixq::kernels::Isa::kGeneric, 10,
                             mixq::ops::SupportsFast, mixq::ops::MakeActivationFast,
                             mixq::ops::ElementwiseBlockedSlots});
}
