// hard_swish as the reference defines it (ops/activation/op.cc): y =
// float(x * clamp(x / 6 + 0.5, 0, 1)) evaluated in double and rounded once,
// NaN propagating. The division by 6 is done without a divide: q0 = x *
// RN(1/6), r = x - 6 q0 (exact with FMA), q = q0 + r * RN(1/6) is the
// correctly rounded x / 6 (Markstein's theorem), which
// HardSwishKernel.DivisionBySixMatchesForEveryFloat checks against vdivpd for
// all 2^32 float inputs; infinities, where r is NaN, take q0.
//
// Inline for callers compiled with AVX2 + FMA. Such a caller must not let the
// compiler contract its own multiplies and adds into FMAs where that would
// change its results (the integer output stages are built with
// -ffp-contract=off: CMakeLists.txt).
#pragma once

#include <immintrin.h>

namespace mixq::kernels {

#define MIXQ_HARD_SWISH_INLINE __attribute__((target("avx2,fma"), always_inline)) inline

MIXQ_HARD_SWISH_INLINE __m256d DivideBySixExact(__m256d x) {
  const __m256d six = _mm256_set1_pd(6.0), inverse = _mm256_set1_pd(1.0 / 6.0);
  const __m256d q0 = _mm256_mul_pd(x, inverse);
  const __m256d r = _mm256_fnmadd_pd(six, q0, x);
  const __m256d q = _mm256_fmadd_pd(r, inverse, q0);
  const __m256d infinite =
      _mm256_cmp_pd(_mm256_andnot_pd(_mm256_set1_pd(-0.0), x), _mm256_set1_pd(__builtin_inf()), _CMP_EQ_OQ);
  return _mm256_blendv_pd(q, q0, infinite);
}

MIXQ_HARD_SWISH_INLINE __m128 HardSwishExact4(__m128 x) {
  const __m256d v = _mm256_cvtps_pd(x);
  const __m256d t = _mm256_add_pd(DivideBySixExact(v), _mm256_set1_pd(0.5));
  const __m256d one = _mm256_set1_pd(1.0), zero = _mm256_setzero_pd();
  __m256d c = _mm256_blendv_pd(t, one, _mm256_cmp_pd(t, one, _CMP_GT_OQ));  // t < 0 ? 0 : t > 1 ? 1 : t
  c = _mm256_blendv_pd(c, zero, _mm256_cmp_pd(t, zero, _CMP_LT_OQ));
  return _mm256_cvtpd_ps(_mm256_mul_pd(v, c));
}

MIXQ_HARD_SWISH_INLINE __m256 HardSwishExact8(__m256 x) {
  return _mm256_set_m128(HardSwishExact4(_mm256_extractf128_ps(x, 1)), HardSwishExact4(_mm256_castps256_ps128(x)));
}

#undef MIXQ_HARD_SWISH_INLINE

}  // namespace mixq::kernels
