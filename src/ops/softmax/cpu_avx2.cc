// AVX2 Softmax along the last (contiguous) axis, float32: the maximum with
// the reference's NaN rule, exp(x - max) with kernels/vector_exp.h (x - max
// carried exactly as a sum of two floats, as the reference subtracts in
// double) stored in
// the output, their sum in double (as the reference sums), then one
// multiplication by 1 / sum. Within a few ulp of the reference (which takes
// exp in double); tested with a relative tolerance. Other axes run the
// reference.
#include <omp.h>

#include <cmath>
#include <limits>

#include "kernels/parallel.h"
#include "kernels/vector_exp.h"
#include "ops/kernel_registry.h"
#include "ops/softmax/softmax_row.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

// exp(x - m) of 8 values into y, added to a chain's lanes (0-3 in lo, 4-7
// in hi).
__attribute__((target("avx2,fma"))) inline void Block8(const float* x, __m256 m, float* y, __m256d* sum_lo,
                                                       __m256d* sum_hi) {
  __m256 lo;
  const __m256 d = kernels::SubtractExact(_mm256_loadu_ps(x), m, &lo);
  const __m256 e = kernels::ExpAvx2(d, _mm256_and_ps(lo, _mm256_cmp_ps(lo, lo, _CMP_ORD_Q)));
  _mm256_storeu_ps(y, e);
  *sum_lo = _mm256_add_pd(*sum_lo, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
  *sum_hi = _mm256_add_pd(*sum_hi, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
}

}  // namespace

__attribute__((target("avx2,fma"))) void SoftmaxRowAvx2(const float* x, float* y, int64_t n) {
  // The largest value, 8 lanes at a time. The reference's scan lets a NaN
  // win, which maxps may drop; the row comes out all NaN either way (the
  // NaN's exp makes the sum NaN, and every output is scaled by its inverse).
  // Where +0 and -0 tie either may win: x - max is the same for both.
  // Four running maxima: one maxps chain is latency-bound. The maximum is
  // the same whichever order the values are compared in.
  __m256 m4[4];
  for (auto& v : m4) v = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t scanned = 0;
  for (; scanned + 32 <= n; scanned += 32)
    for (int j = 0; j < 4; ++j) m4[j] = _mm256_max_ps(m4[j], _mm256_loadu_ps(x + scanned + 8 * j));
  for (; scanned + 8 <= n; scanned += 8) m4[0] = _mm256_max_ps(m4[0], _mm256_loadu_ps(x + scanned));
  const __m256 lanes_max = _mm256_max_ps(_mm256_max_ps(m4[0], m4[1]), _mm256_max_ps(m4[2], m4[3]));
  alignas(32) float lane[8];
  _mm256_store_ps(lane, lanes_max);
  float max = -std::numeric_limits<float>::infinity();
  for (float v : lane) max = v > max ? v : max;
  for (int64_t k = scanned; k < n; ++k) max = x[k] > max ? x[k] : max;
  const __m256 m = _mm256_set1_ps(max);
  // The sum in double, element 8 b + i into lane i of chain (b / 2) % 2
  // (lanes 0-3 in lo, 4-7 in hi): two chains of dependent adds, not one.
  __m256d sum_lo[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
  __m256d sum_hi[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
  int64_t k = 0;
  for (; k + 32 <= n; k += 32) {
    Block8(x + k, m, y + k, &sum_lo[0], &sum_hi[0]);
    Block8(x + k + 8, m, y + k + 8, &sum_lo[0], &sum_hi[0]);
    Block8(x + k + 16, m, y + k + 16, &sum_lo[1], &sum_hi[1]);
    Block8(x + k + 24, m, y + k + 24, &sum_lo[1], &sum_hi[1]);
  }
  for (; k + 8 <= n; k += 8) {
    if ((k / 16) % 2 == 0)
      Block8(x + k, m, y + k, &sum_lo[0], &sum_hi[0]);
    else
      Block8(x + k, m, y + k, &sum_lo[1], &sum_hi[1]);
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(_mm256_add_pd(sum_lo[0], sum_lo[1]), _mm256_add_pd(sum_hi[0], sum_hi[1])));
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  if (k < n) {  // the tail through a padded vector (-inf pads give exp 0)
    alignas(32) float tail[8], out[8];
    for (int i = 0; i < 8; ++i) tail[i] = k + i < n ? x[k + i] : -std::numeric_limits<float>::infinity();
    __m256 lo;
    const __m256 d = kernels::SubtractExact(_mm256_load_ps(tail), m, &lo);
    _mm256_store_ps(out, kernels::ExpAvx2(d, _mm256_and_ps(lo, _mm256_cmp_ps(lo, lo, _CMP_ORD_Q))));
    for (int64_t i = 0; k + i < n; ++i) {
      y[k + i] = out[i];
      sum += out[i];
    }
  }
  const __m256 scale = _mm256_set1_ps(static_cast<float>(1.0 / sum));
  k = 0;
  for (; k + 8 <= n; k += 8) _mm256_storeu_ps(y + k, _mm256_mul_ps(_mm256_loadu_ps(y + k), scale));
  const float s = static_cast<float>(1.0 / sum);
  for (; k < n; ++k) y[k] *= s;
}

namespace {

class SoftmaxAvx2 : public Kernel {
 public:
  SoftmaxAvx2(const char* name, SoftmaxRowFn row, int64_t rows, int64_t n)
      : name_(name), row_(row), rows_(rows), n_(n) {}
  const char* Name() const override { return name_; }
  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const float* x = in[0].Data<const float>();
    float* y = out[0].Data<float>();
#pragma omp parallel for schedule(static) if (rows_ > 1 && rows_ * n_ > kernels::kMinParallelExpElements)
    for (int64_t r = 0; r < rows_; ++r) row_(x + r * n_, y + r * n_, n_);
    return Status::OK();
  }

 private:
  const char* name_;
  SoftmaxRowFn row_;
  int64_t rows_, n_;
};

bool Supports(const KernelInit& init) {
  if (!AllPlainFloat32(init) || init.inputs.size() != 1 || !init.inputs[0] || init.HasPostOps()) return false;
  if (!kernels::DetectedCpuFeatures().fma) return false;
  const ir::Shape& shape = init.inputs[0]->shape;
  if (shape.empty() || !ir::IsStatic(shape)) return false;
  int64_t axis = init.attrs.Int("axis", -1);
  if (axis < 0) axis += static_cast<int64_t>(shape.size());
  return axis == static_cast<int64_t>(shape.size()) - 1 && shape.back() > 0;
}

template <bool kAvx512>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  const ir::Shape& shape = init.inputs[0]->shape;
  *kernel = std::make_unique<SoftmaxAvx2>(kAvx512 ? "avx512" : "avx2", kAvx512 ? SoftmaxRowAvx512 : SoftmaxRowAvx2,
                                          ir::ElementCount(shape) / shape.back(), shape.back());
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(softmax, avx2) {
  mixq::ops::RegisterKernel(
      {"avx2", mixq::OpKind::kSoftmax, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports, mixq::ops::Make<false>});
  // The same arithmetic on AVX-512, with a cheaper exponent (softmax_row_avx512.cc).
  mixq::ops::RegisterKernel(
      {"avx512", mixq::OpKind::kSoftmax, mixq::kernels::Isa::kAvx512, 11, mixq::ops::Supports, mixq::ops::Make<true>});
}
