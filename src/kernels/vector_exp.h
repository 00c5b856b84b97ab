// exp(x) for 8 floats on AVX2 + FMA: a degree-6 polynomial on the reduced
// argument (Cody-Waite split of ln 2), within 2 ulp of the correctly rounded
// result for normal results; exp of NaN is NaN, of -inf (and below about
// -87.3, where the result would be denormal) 0, and of values above about
// 88.7 +inf. Float kernels that use it are tested against the reference
// with a relative tolerance, not bit for bit.
#pragma once

#include <immintrin.h>

namespace mixq::kernels {

// exp(x + tail) where tail is a small correction of x (the rounding error of
// the subtraction that made x): the exponent is reduced from x and the
// correction added to the reduced argument, so it is not lost to rounding.
__attribute__((target("avx2,fma"))) inline __m256 ExpAvx2(__m256 x, __m256 tail) {
  const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
  const __m256 ln2_hi = _mm256_set1_ps(0.693359375f), ln2_lo = _mm256_set1_ps(-2.12194440e-4f);
  const __m256 hi_limit = _mm256_set1_ps(88.7228391f), lo_limit = _mm256_set1_ps(-87.3365479f);
  const __m256 clamped = _mm256_min_ps(_mm256_max_ps(x, lo_limit), hi_limit);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(clamped, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, ln2_hi, clamped);
  r = _mm256_add_ps(_mm256_fnmadd_ps(n, ln2_lo, r), tail);
  // e^r on [-ln2/2, ln2/2] (Cephes expf coefficients).
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n through the exponent bits; n is within [-126, 128] after the clamp.
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, lo_limit, _CMP_LT_OQ));
  y = _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), _mm256_cmp_ps(x, hi_limit, _CMP_GT_OQ));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));  // NaN stays NaN
}

__attribute__((target("avx2,fma"))) inline __m256 ExpAvx2(__m256 x) {
  return ExpAvx2(x, _mm256_setzero_ps());
}

// a - b and the rounding error of that subtraction (TwoSum, Knuth): the
// difference is hi + lo exactly, for finite inputs.
__attribute__((target("avx2"))) inline __m256 SubtractExact(__m256 a, __m256 b, __m256* lo) {
  const __m256 hi = _mm256_sub_ps(a, b);
  const __m256 bb = _mm256_sub_ps(hi, a);  // -b as represented in hi
  *lo = _mm256_sub_ps(_mm256_sub_ps(a, _mm256_sub_ps(hi, bb)), _mm256_add_ps(b, bb));
  return hi;
}

// e^r for the reduced argument r in [-ln2/2, ln2/2]: ExpAvx2's polynomial
// (Cephes expf coefficients) on 16 lanes, the same operations in the same
// order. Shared with the Softmax row (ops/softmax/softmax_row_avx512.cc).
__attribute__((target("avx512f"))) inline __m512 ExpReducedAvx512(__m512 r) {
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return p;
}

// ExpAvx2 on 16 lanes: the same operations in the same order, so each lane
// gives ExpAvx2's bits.
__attribute__((target("avx512f"))) inline __m512 ExpAvx512(__m512 x, __m512 tail) {
  const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
  const __m512 ln2_hi = _mm512_set1_ps(0.693359375f), ln2_lo = _mm512_set1_ps(-2.12194440e-4f);
  const __m512 hi_limit = _mm512_set1_ps(88.7228391f), lo_limit = _mm512_set1_ps(-87.3365479f);
  const __m512 clamped = _mm512_min_ps(_mm512_max_ps(x, lo_limit), hi_limit);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(clamped, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, ln2_hi, clamped);
  r = _mm512_add_ps(_mm512_fnmadd_ps(n, ln2_lo, r), tail);
  const __m512 p = ExpReducedAvx512(r);
  const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  __m512 y = _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
  y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, lo_limit, _CMP_LT_OQ), y, _mm512_setzero_ps());
  y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, hi_limit, _CMP_GT_OQ), y, _mm512_set1_ps(__builtin_inff()));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), y, x);  // NaN stays NaN
}

// SubtractExact on 16 lanes.
__attribute__((target("avx512f"))) inline __m512 SubtractExact512(__m512 a, __m512 b, __m512* lo) {
  const __m512 hi = _mm512_sub_ps(a, b);
  const __m512 bb = _mm512_sub_ps(hi, a);
  *lo = _mm512_sub_ps(_mm512_sub_ps(a, _mm512_sub_ps(hi, bb)), _mm512_add_ps(b, bb));
  return hi;
}

}  // namespace mixq::kernels
