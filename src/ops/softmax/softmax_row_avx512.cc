// SoftmaxRowAvx2 (cpu_avx2.cc) on AVX-512: 16 lanes per step and the same
// arithmetic per element (kernels::ExpAvx512 is ExpAvx2 lane for lane), the
// double sum accumulated in the same order (two chains of eight doubles,
// blocks of 16 values alternately, as the AVX2 row's pairs of four do), so
// every output has the AVX2 row's bits (cpu_avx2_test.cc checks it). On an
// Intel core with two 512-bit FMA ports it does the exp at twice the rate.
#include <immintrin.h>

#include <limits>

#include "kernels/avx512_warnings.h"
#include "kernels/vector_exp.h"
#include "ops/softmax/softmax_row.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {
namespace {

// exp(x - m) for 16 values, x - m carried exactly as in the AVX2 row.
__attribute__((target("avx512f"))) inline __m512 ExpOffset(__m512 x, __m512 m) {
  __m512 lo;
  const __m512 d = kernels::SubtractExact512(x, m, &lo);
  return kernels::ExpAvx512(d, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(lo, lo, _CMP_ORD_Q), lo));
}

// exp(x - m) of 16 values into y, added to the chain `sum`: the first
// eight to its lanes, then the second eight.
__attribute__((target("avx512f"))) inline void Block16(const float* x, __m512 m, float* y, __m512d* sum) {
  const __m512 e = ExpOffset(_mm512_loadu_ps(x), m);
  _mm512_storeu_ps(y, e);
  *sum = _mm512_add_pd(*sum, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
  *sum = _mm512_add_pd(*sum, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
}

}  // namespace

__attribute__((target("avx512f,avx2,fma"))) void SoftmaxRowAvx512(const float* x, float* y, int64_t n) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  // Four running maxima, as in the AVX2 row (one chain is latency-bound).
  __m512 m4[4];
  for (auto& v : m4) v = _mm512_set1_ps(neg_inf);
  int64_t scanned = 0;
  for (; scanned + 64 <= n; scanned += 64)
    for (int j = 0; j < 4; ++j) m4[j] = _mm512_max_ps(m4[j], _mm512_loadu_ps(x + scanned + 16 * j));
  for (; scanned + 16 <= n; scanned += 16) m4[0] = _mm512_max_ps(m4[0], _mm512_loadu_ps(x + scanned));
  const __m512 lanes_max = _mm512_max_ps(_mm512_max_ps(m4[0], m4[1]), _mm512_max_ps(m4[2], m4[3]));
  alignas(64) float lane[16];
  _mm512_store_ps(lane, lanes_max);
  float max = neg_inf;
  for (float v : lane) max = v > max ? v : max;
  for (int64_t k = scanned; k < n; ++k) max = x[k] > max ? x[k] : max;
  const __m512 m = _mm512_set1_ps(max);
  // The AVX2 row's chains: element i of each block of eight goes to double
  // lane i, the blocks of 16 values alternately to sum[0] and sum[1].
  __m512d sum[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
  int64_t k = 0;
  for (; k + 32 <= n; k += 32) {
    Block16(x + k, m, y + k, &sum[0]);
    Block16(x + k + 16, m, y + k + 16, &sum[1]);
  }
  if (k + 16 <= n) {
    Block16(x + k, m, y + k, &sum[0]);
    k += 16;
  }
  if (k + 8 <= n) {  // one more block of eight, through the masked vector
    const __mmask16 low8 = 0xFF;
    const __m512 e = ExpOffset(_mm512_maskz_loadu_ps(low8, x + k), m);
    _mm512_mask_storeu_ps(y + k, low8, e);
    const int chain = static_cast<int>((k / 16) % 2);
    sum[chain] = _mm512_add_pd(sum[chain], _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    k += 8;
  }
  alignas(64) double lanes[8];
  _mm512_store_pd(lanes, _mm512_add_pd(sum[0], sum[1]));
  // (lo0 + hi0) + ... as the AVX2 row adds its two accumulators, then pairs.
  double total = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
  if (k < n) {  // the tail through a padded vector (-inf pads give exp 0)
    alignas(64) float tail[16], out[16];
    for (int i = 0; i < 16; ++i) tail[i] = k + i < n ? x[k + i] : neg_inf;
    _mm512_store_ps(out, ExpOffset(_mm512_load_ps(tail), m));
    for (int64_t i = 0; k + i < n; ++i) {
      y[k + i] = out[i];
      total += out[i];
    }
  }
  const float s = static_cast<float>(1.0 / total);
  const __m512 scale = _mm512_set1_ps(s);
  k = 0;
  for (; k + 16 <= n; k += 16) _mm512_storeu_ps(y + k, _mm512_mul_ps(_mm512_loadu_ps(y + k), scale));
  for (; k < n; ++k) y[k] *= s;
}

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON
