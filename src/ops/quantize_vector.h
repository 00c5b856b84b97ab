// The vector form of SPEC §1's Quantize, shared by the Convert kernel and the
// fused int8 output stage so that both compute it the same way: q =
// clamp(rint(x / s) + z, lo, hi), NaN -> z. Rounding then adding z in float
// is exact: |rint(x / s)| below 2^24 here is integral and z is small, and
// larger values clamp anyway.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace mixq::ops {

struct QuantizeConstants {
  __m256 scale, zero_point, lo, hi;
};

__attribute__((target("avx2"))) inline QuantizeConstants MakeQuantizeConstants(float scale, int32_t zero_point,
                                                                               int32_t lo, int32_t hi) {
  return {_mm256_set1_ps(scale), _mm256_set1_ps(static_cast<float>(zero_point)), _mm256_set1_ps(static_cast<float>(lo)),
          _mm256_set1_ps(static_cast<float>(hi))};
}

// 8 codes as int32.
__attribute__((target("avx2"))) inline __m256i QuantizeVector(__m256 x, const QuantizeConstants& k) {
  const __m256 v = _mm256_div_ps(x, k.scale);
  const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
  __m256 r = _mm256_add_ps(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), k.zero_point);
  r = _mm256_min_ps(_mm256_max_ps(r, k.lo), k.hi);
  return _mm256_cvtps_epi32(_mm256_blendv_ps(r, k.zero_point, nan));
}

}  // namespace mixq::ops
