// hard_swish as the reference defines it (ops/activation/op.cc): y =
// float(x * clamp(x / 6 + 0.5, 0, 1)) evaluated in double and rounded once,
// NaN propagating, computed without a divide (below).
//
// Inline for callers compiled with AVX2 + FMA (the 16-lane forms: AVX-512F +
// VL + FMA). Such a caller must not let the
// compiler contract its own multiplies and adds into FMAs where that would
// change its results (the integer output stages are built with
// -ffp-contract=off: CMakeLists.txt).
#pragma once

#include <immintrin.h>

namespace mixq::kernels {

#define MIXQ_HARD_SWISH_INLINE __attribute__((target("avx2,fma"), always_inline)) inline

// The correctly rounded x / 6 of a finite double without a divide: q0 = x
// RN(1/6), r = x - 6 q0 (exact with FMA), q = q0 + r RN(1/6) (Markstein's
// theorem).
MIXQ_HARD_SWISH_INLINE __m256d DivideFiniteBySix(__m256d x) {
  const __m256d six = _mm256_set1_pd(6.0), inverse = _mm256_set1_pd(1.0 / 6.0);
  const __m256d q0 = _mm256_mul_pd(x, inverse);
  return _mm256_fmadd_pd(_mm256_fnmadd_pd(six, q0, x), inverse, q0);
}

// hard_swish of 8 floats, bit for bit the reference's. For |x| < 3 it is
// RN_float(x (x + 3) / 6): x + 3 and x (x + 3) are exact in double (24 + 26
// bits), the division is correctly rounded, and that single rounding to
// double then to float gives what the reference's three double roundings
// give, for every float (HardSwishKernel.EqualsTheReferenceForEveryFloat
// checks all 2^32). Elsewhere: x for x >= 3 (+inf too) and for +-0, x * 0 for x <= -3
// (-0.0, NaN for -inf, as the reference's x * 0.0), NaN for NaN. Half the
// double operations of evaluating the reference's formula.
MIXQ_HARD_SWISH_INLINE __m256 HardSwishExact8(__m256 x) {
  const __m256d three = _mm256_set1_pd(3.0);
  const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(x)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1));
  const __m256d q_lo = DivideFiniteBySix(_mm256_mul_pd(lo, _mm256_add_pd(lo, three)));
  const __m256d q_hi = DivideFiniteBySix(_mm256_mul_pd(hi, _mm256_add_pd(hi, three)));
  const __m256 inside = _mm256_set_m128(_mm256_cvtpd_ps(q_hi), _mm256_cvtpd_ps(q_lo));
  // x itself for x >= 3, and for +-0 (whose sign the FMA correction loses: -0 - 6 (-0) is +0).
  const __m256 keep = _mm256_or_ps(_mm256_cmp_ps(x, _mm256_set1_ps(3.0f), _CMP_GE_OQ),
                                   _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ));
  const __m256 y = _mm256_blendv_ps(inside, x, keep);
  return _mm256_blendv_ps(y, _mm256_mul_ps(x, _mm256_setzero_ps()),
                          _mm256_cmp_ps(x, _mm256_set1_ps(-3.0f), _CMP_LE_OQ));
}

#define MIXQ_HARD_SWISH_INLINE_512 __attribute__((target("avx512f,avx512vl,fma"), always_inline)) inline

// DivideFiniteBySix and HardSwishExact8 on AVX-512, 8 doubles / 16 floats:
// the same operations lane by lane, so the same bits.
MIXQ_HARD_SWISH_INLINE_512 __m512d DivideFiniteBySix512(__m512d x) {
  const __m512d six = _mm512_set1_pd(6.0), inverse = _mm512_set1_pd(1.0 / 6.0);
  const __m512d q0 = _mm512_mul_pd(x, inverse);
  return _mm512_fmadd_pd(_mm512_fnmadd_pd(six, q0, x), inverse, q0);
}

MIXQ_HARD_SWISH_INLINE_512 __m512 HardSwishExact16(__m512 x) {
  const __m512d three = _mm512_set1_pd(3.0);
  const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x)),
                hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
  const __m512d q_lo = DivideFiniteBySix512(_mm512_mul_pd(lo, _mm512_add_pd(lo, three)));
  const __m512d q_hi = DivideFiniteBySix512(_mm512_mul_pd(hi, _mm512_add_pd(hi, three)));
  const __m512 inside = _mm512_castpd_ps(_mm512_insertf64x4(
      _mm512_castps_pd(_mm512_castps256_ps512(_mm512_cvtpd_ps(q_lo))), _mm256_castps_pd(_mm512_cvtpd_ps(q_hi)), 1));
  const __mmask16 keep =
      _mm512_cmp_ps_mask(x, _mm512_set1_ps(3.0f), _CMP_GE_OQ) | _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_EQ_OQ);
  const __m512 y = _mm512_mask_blend_ps(keep, inside, x);
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-3.0f), _CMP_LE_OQ), y,
                              _mm512_mul_ps(x, _mm512_setzero_ps()));
}

// hard_swish of a float16 value (widened to float32) whose result is rounded
// to float16 next, as on float16 storage (SPEC section 6): (x clamp(x + 3,
// 0, 6)) RN(1/6) in float32, four operations in place of HardSwishExact's
// double arithmetic. Rounded to float16 it is HardSwishExact's result
// rounded to float16 for every one of the 65536 float16 inputs, the sign of
// zero included, NaN staying NaN (HardSwishKernel.OfHalfRoundsAsTheExactForEveryHalf);
// on other floats it may differ in the last float32 bits.
MIXQ_HARD_SWISH_INLINE __m256 HardSwishOfHalf8(__m256 x) {
  const __m256 clamped =
      _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(x, _mm256_set1_ps(3.0f)), _mm256_setzero_ps()), _mm256_set1_ps(6.0f));
  return _mm256_mul_ps(_mm256_mul_ps(x, clamped), _mm256_set1_ps(1.0f / 6.0f));
}

MIXQ_HARD_SWISH_INLINE_512 __m512 HardSwishOfHalf16(__m512 x) {
  const __m512 clamped =
      _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(x, _mm512_set1_ps(3.0f)), _mm512_setzero_ps()), _mm512_set1_ps(6.0f));
  return _mm512_mul_ps(_mm512_mul_ps(x, clamped), _mm512_set1_ps(1.0f / 6.0f));
}

#undef MIXQ_HARD_SWISH_INLINE_512
#undef MIXQ_HARD_SWISH_INLINE

}  // namespace mixq::kernels
