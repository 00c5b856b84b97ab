// AVX2 hard_swish (float32): the reference's double arithmetic four lanes at
// a time, y = float(x * clamp(x / 6 + 0.5, 0, 1)) with the same comparisons
// (NaN propagates), so the result is bit-exact with the reference. Compiled
// without FMA: nothing can be contracted.
#include <immintrin.h>

#include "ops/kernel_registry.h"
#include "ops/op_util.h"

namespace mixq::ops {

namespace {

__attribute__((target("avx2"))) void HardSwish(const float* x, float* y, int64_t n) {
  const __m256d six = _mm256_set1_pd(6.0), half = _mm256_set1_pd(0.5);
  const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(x + i));
    const __m256d t = _mm256_add_pd(_mm256_div_pd(v, six), half);
    __m256d c = _mm256_blendv_pd(t, one, _mm256_cmp_pd(t, one, _CMP_GT_OQ));  // t < 0 ? 0 : t > 1 ? 1 : t
    c = _mm256_blendv_pd(c, zero, _mm256_cmp_pd(t, zero, _CMP_LT_OQ));
    _mm_storeu_ps(y + i, _mm256_cvtpd_ps(_mm256_mul_pd(v, c)));
  }
  for (; i < n; ++i) {
    const double v = x[i], t = v / 6.0 + 0.5;
    y[i] = static_cast<float>(v * (t < 0 ? 0.0 : t > 1 ? 1.0 : t));
  }
}

class HardSwishAvx2 : public Kernel {
 public:
  explicit HardSwishAvx2(int64_t count) : count_(count) {}
  const char* Name() const override { return "avx2"; }
  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const float* x = in[0].Data<const float>();
    float* y = out[0].Data<float>();
    const int64_t chunk = 1 << 14;
#pragma omp parallel for schedule(static) if (count_ > 4 * chunk)
    for (int64_t at = 0; at < count_; at += chunk) HardSwish(x + at, y + at, std::min(chunk, count_ - at));
    return Status::OK();
  }

 private:
  int64_t count_;
};

bool Supports(const KernelInit& init) {
  return AllPlainFloat32(init) && !init.HasPostOps() && init.inputs.size() == 1 && init.inputs[0] &&
         init.attrs.Str("type") == "hard_swish" && ir::IsStatic(init.inputs[0]->shape);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  *kernel = std::make_unique<HardSwishAvx2>(ir::ElementCount(init.inputs[0]->shape));
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(activation, avx2) {
  mixq::ops::RegisterKernel(
      {"avx2", mixq::OpKind::kActivation, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports, mixq::ops::Make});
}
