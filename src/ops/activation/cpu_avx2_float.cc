// AVX2 + FMA float32 Activation kernels for the smooth kinds, 8 lanes with
// kernels/vector_math.h:
//   sigmoid    1 / (1 + e^-x) from e^-|x| (no cancellation on either side)
//   tanh       odd polynomial below 0.625, 1 - 2 / (e^2|x| + 1) above
//   silu       x * sigmoid(x)
//   gelu_tanh  x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3): the same
//              value as 0.5 x (1 + tanh u) without 1 + tanh u cancelling
//   gelu_erf   0.5 x (2 - erfc(|z|)) for x >= 0, 0.5 x erfc(|z|) below,
//              z = x / sqrt(2): erfc keeps its relative precision for x << 0
// Tolerance against the reference (double), |y - ref| <= rel |ref| + abs:
//   sigmoid, tanh  rel 2e-6, abs 1e-37 (e^x flushes to 0 below -87.3)
//   silu           rel 2e-6, abs 2e-36 (x times that flush)
//   gelu_tanh      rel 4e-6, abs 1e-14 (u rounds in float: ~|2u| ulp; the
//                  reference's own 1 + tanh u cancels in double past x = -6)
//   gelu_erf       rel 2e-6, abs 5e-8 (Juffa's erfc is fitted for erf's
//                  absolute error: up to 1e-4 relative near x = -4.5)
// and NaN gives NaN. Measured over every 1024th float in [-1e4, 1e4] plus
// the specials (cpu_avx2_float_test.cc), largest relative error where
// |ref| > 1e-6: sigmoid 2.4e-7, tanh 1.2e-7, silu 2.5e-7, gelu_tanh 1.4e-6,
// gelu_erf 1.0e-4 (absolute 3.3e-8, at x = -2.83).
// hard_sigmoid (also here) is bit-exact: the reference's double arithmetic
// four lanes at a time (alpha * x is exact in double, so the FMA rounds
// once, as the reference's addition does).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/parallel.h"
#include "kernels/vector_math.h"
#include "ops/activation/smooth_loop.h"
#include "ops/kernel_registry.h"
#include "ops/op_util.h"

namespace mixq::ops {

namespace {

enum class Smooth { kSigmoid, kTanh, kSilu, kGeluErf, kGeluTanh };

template <Smooth kind>
__attribute__((target("avx2,fma"))) inline __m256 Apply8(__m256 x) {
  using namespace kernels;
  if constexpr (kind == Smooth::kSigmoid) return SigmoidAvx2(x);
  if constexpr (kind == Smooth::kTanh) return TanhAvx2(x);
  if constexpr (kind == Smooth::kSilu) return _mm256_mul_ps(x, SigmoidAvx2(x));
  if constexpr (kind == Smooth::kGeluTanh) return GeluTanhAvx2(x);  // shared with the GEMM epilogues
  if constexpr (kind == Smooth::kGeluErf) return GeluErfAvx2(x);
  return x;
}

template <Smooth kind>
__attribute__((target("avx2,fma"))) void SmoothLoop(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, Apply8<kind>(_mm256_loadu_ps(x + i)));
  if (i < n) {  // the tail through a zero-padded vector
    alignas(32) float buffer[8] = {};
    std::memcpy(buffer, x + i, static_cast<size_t>(n - i) * sizeof(float));
    _mm256_store_ps(buffer, Apply8<kind>(_mm256_load_ps(buffer)));
    std::memcpy(y + i, buffer, static_cast<size_t>(n - i) * sizeof(float));
  }
}

__attribute__((target("avx2,fma"))) void HardSigmoidLoop(const float* x, float* y, int64_t n, double alpha,
                                                         double beta) {
  const __m256d a = _mm256_set1_pd(alpha), b = _mm256_set1_pd(beta);
  const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d v = _mm256_fmadd_pd(a, _mm256_cvtps_pd(_mm_loadu_ps(x + i)), b);
    __m256d c = _mm256_blendv_pd(v, one, _mm256_cmp_pd(v, one, _CMP_GT_OQ));  // v < 0 ? 0 : v > 1 ? 1 : v
    c = _mm256_blendv_pd(c, zero, _mm256_cmp_pd(v, zero, _CMP_LT_OQ));
    _mm_storeu_ps(y + i, _mm256_cvtpd_ps(c));
  }
  for (; i < n; ++i) {
    const double v = alpha * x[i] + beta;
    y[i] = static_cast<float>(v < 0 ? 0.0 : v > 1 ? 1.0 : v);
  }
}

using LoopFn = void (*)(const float*, float*, int64_t);

class FloatActivationAvx2 : public Kernel {
 public:
  FloatActivationAvx2(int64_t count, LoopFn loop, bool hard_sigmoid, double alpha, double beta)
      : count_(count), loop_(loop), hard_sigmoid_(hard_sigmoid), alpha_(alpha), beta_(beta) {}
  const char* Name() const override { return "avx2-fma"; }
  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const float* x = in[0].Data<const float>();
    float* y = out[0].Data<float>();
    // Small tensors (the float16 kernels' chunks) skip the OpenMP region: even
    // a serialized one costs about a microsecond.
    if (count_ <= kernels::kMinParallelElements) {
      RunRange(x, y, count_);
      return Status::OK();
    }
    const int64_t chunk = 1 << 14;
#pragma omp parallel for schedule(static)
    for (int64_t at = 0; at < count_; at += chunk) RunRange(x + at, y + at, std::min(chunk, count_ - at));
    return Status::OK();
  }

 private:
  void RunRange(const float* x, float* y, int64_t n) const {
    if (hard_sigmoid_)
      HardSigmoidLoop(x, y, n, alpha_, beta_);
    else
      loop_(x, y, n);
  }

  int64_t count_;
  LoopFn loop_;
  bool hard_sigmoid_;
  double alpha_, beta_;
};

bool Supports(const KernelInit& init) {
  if (init.HasPostOps() || init.inputs.size() != 1 || !init.inputs[0] || init.outputs.size() != 1 ||
      !ir::IsStatic(init.inputs[0]->shape) || !AllPlainFloat32(init) || !UniformLayout(init) ||
      !kernels::DetectedCpuFeatures().fma)
    return false;
  const std::string type = init.attrs.Str("type");
  return SmoothLoopFor(type) != nullptr || type == "hard_sigmoid";
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  const std::string type = init.attrs.Str("type");
  const int64_t count = ir::ElementCount(init.inputs[0]->shape);
  // hard_sigmoid's defaults as the reference takes them: the floats 0.2f, 0.5f.
  const float alpha = init.attrs.Float("alpha", std::numeric_limits<float>::quiet_NaN());
  const float beta = init.attrs.Float("beta", std::numeric_limits<float>::quiet_NaN());
  *kernel = std::make_unique<FloatActivationAvx2>(count, SmoothLoopFor(type), type == "hard_sigmoid",
                                                  std::isnan(alpha) ? 0.2f : alpha, std::isnan(beta) ? 0.5f : beta);
  return Status::OK();
}

}  // namespace

SmoothLoopFn SmoothLoopFor(const std::string& type) {
  if (type == "sigmoid") return SmoothLoop<Smooth::kSigmoid>;
  if (type == "tanh") return SmoothLoop<Smooth::kTanh>;
  if (type == "silu") return SmoothLoop<Smooth::kSilu>;
  if (type == "gelu_erf") return SmoothLoop<Smooth::kGeluErf>;
  if (type == "gelu_tanh") return SmoothLoop<Smooth::kGeluTanh>;
  return nullptr;
}

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(activation, avx2_float) {
  mixq::ops::RegisterKernel({"avx2-fma", mixq::OpKind::kActivation, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports,
                             mixq::ops::Make, mixq::ops::ElementwiseBlockedSlots, nullptr, mixq::ops::OperandAlias});
}
