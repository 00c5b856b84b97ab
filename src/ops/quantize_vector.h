// The vector form of SPEC §1's Quantize, shared by the Convert kernel and the
// fused int8 output stage so that both compute it the same way: q =
// clamp(rint(x / s) + z, lo, hi), NaN -> z. Rounding then adding z in float
// is exact: |rint(x / s)| below 2^24 here is integral and z is small, and
// larger values clamp anyway.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstdint>

namespace mixq::ops {

// x / s is computed as x * (1 / s) wherever that gives the same code: with
// inverse = RN(1 / s) (a normal float), m = RN(x * inverse) lies within 2^-23
// |x / s| of the exact quotient and RN(x / s) within 2^-24 of it, so when m
// is farther than |m| 2^-20 from every half-integer, x / s, RN(x / s) and m
// round to the same integer. A vector with a lane that close (values near a
// rounding boundary, or |m| >= 2^19) divides instead, as the reference does.
// vdivps costs several times a multiply (about 3.5 cycles per 8 lanes on AMD
// Zen 3 against 0.5), and it was the bottleneck of the Quantize steps and
// the fused output stages.
//
// 16-bit codes always divide: with quotients up to 32767 the margin puts a
// lane near a rounding boundary in about a third of the vectors, and the
// unpredictable branch to the division cost more than dividing every vector
// (MobileNetV2 qint16's 150,528-value input Quantize 0.118 -> 0.070 ms, its
// float chains' Quantize to INT16 0.031 -> 0.018; 1 thread, AMX Xeon).
inline bool WideCodes(float lo, float hi) {
  return hi - lo > 255.0f;
}

struct QuantizeConstants {
  __m256 scale, inverse, zero_point, lo, hi;
  bool use_inverse = false;  // 1 / scale is a normal float (never for 0, infinite or subnormal scales)
};

__attribute__((target("avx2"))) inline QuantizeConstants MakeQuantizeConstants(float scale, int32_t zero_point,
                                                                               int32_t lo, int32_t hi) {
  const float inverse = 1.0f / scale;
  QuantizeConstants k{_mm256_set1_ps(scale), _mm256_set1_ps(inverse), _mm256_set1_ps(static_cast<float>(zero_point)),
                      _mm256_set1_ps(static_cast<float>(lo)), _mm256_set1_ps(static_cast<float>(hi))};
  k.use_inverse = std::isnormal(scale) && std::isnormal(inverse) && !WideCodes(lo, hi);
  return k;
}

// rint(x / s) as the reference rounds RN(x / s), 8 lanes (NaN for NaN).
__attribute__((target("avx2"))) inline __m256 RoundedQuotient(__m256 x, const QuantizeConstants& k) {
  constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  if (k.use_inverse) {
    const __m256 m = _mm256_mul_ps(x, k.inverse);
    const __m256 r = _mm256_round_ps(m, kNearest);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 off = _mm256_andnot_ps(sign, _mm256_sub_ps(m, r));  // exact: |m - r| <= 0.5 (Sterbenz)
    const __m256 margin = _mm256_mul_ps(_mm256_andnot_ps(sign, m), _mm256_set1_ps(0x1p-20f));
    const __m256 near = _mm256_cmp_ps(_mm256_add_ps(off, margin), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    if (_mm256_testz_ps(near, near)) return r;  // NaN lanes compare false and stay NaN
  }
  return _mm256_round_ps(_mm256_div_ps(x, k.scale), kNearest);
}

// 8 codes as int32.
__attribute__((target("avx2"))) inline __m256i QuantizeVector(__m256 x, const QuantizeConstants& k) {
  const __m256 v = RoundedQuotient(x, k);
  const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
  __m256 r = _mm256_add_ps(v, k.zero_point);
  r = _mm256_min_ps(_mm256_max_ps(r, k.lo), k.hi);
  return _mm256_cvtps_epi32(_mm256_blendv_ps(r, k.zero_point, nan));
}

}  // namespace mixq::ops
