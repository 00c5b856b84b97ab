// QuantizeVector (ops/quantize_vector.h) on 16 lanes (AVX-512 F), the same
// float32 operations per lane: q = clamp(round(x / s) + z, lo, hi), NaN to
// z, with 1 / s taken where it provably rounds the same (else a division;
// 16-bit codes always divide, as there).
// A lane's result does not depend on its neighbours, so 8- and 16-lane
// kernels agree bit for bit. AVX-512 implies FMA: include it only in files
// built with -ffp-contract=off (CMakeLists.txt), so that no product and sum
// here or around it are fused.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "ops/quantize_vector.h"

namespace mixq::ops {

#define MIXQ_AVX512_QUANTIZE __attribute__((target("avx512f,avx512bw,avx512vl")))

struct QuantizeConstants512 {
  __m512 scale, inverse, zero_point, lo, hi;
  bool use_inverse = false;  // 1 / scale is a normal float (never for 0, infinite or subnormal scales)
};

MIXQ_AVX512_QUANTIZE inline QuantizeConstants512 MakeQuantizeConstants512(float scale, int32_t zero_point, int32_t lo,
                                                                          int32_t hi) {
  const float inverse = 1.0f / scale;
  QuantizeConstants512 k{_mm512_set1_ps(scale), _mm512_set1_ps(inverse), _mm512_set1_ps(static_cast<float>(zero_point)),
                         _mm512_set1_ps(static_cast<float>(lo)), _mm512_set1_ps(static_cast<float>(hi))};
  k.use_inverse = std::isnormal(scale) && std::isnormal(inverse) && !WideCodes(lo, hi);
  return k;
}

// round(x / s), half to even: x * (1 / s) rounded where it lies clearly
// away from a half (|m - r| + |m| 2^-20 < 0.5: the product's error cannot
// cross it), else the quotient itself (RoundedQuotient's test).
MIXQ_AVX512_QUANTIZE inline __m512 RoundedQuotient512(__m512 x, const QuantizeConstants512& k) {
  constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  if (k.use_inverse) {
    const __m512 m = _mm512_mul_ps(x, k.inverse);
    const __m512 r = _mm512_roundscale_ps(m, kNearest);
    const __m512 off = _mm512_abs_ps(_mm512_sub_ps(m, r));  // exact: |m - r| <= 0.5 (Sterbenz)
    const __m512 margin = _mm512_mul_ps(_mm512_abs_ps(m), _mm512_set1_ps(0x1p-20f));
    const __mmask16 near = _mm512_cmp_ps_mask(_mm512_add_ps(off, margin), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    if (near == 0) return r;  // NaN lanes compare false and stay NaN
  }
  return _mm512_roundscale_ps(_mm512_div_ps(x, k.scale), kNearest);
}

// The 16 codes as int32 in [lo, hi].
MIXQ_AVX512_QUANTIZE inline __m512i QuantizeVector512(__m512 x, const QuantizeConstants512& k) {
  const __m512 v = RoundedQuotient512(x, k);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  __m512 r = _mm512_add_ps(v, k.zero_point);
  r = _mm512_min_ps(_mm512_max_ps(r, k.lo), k.hi);
  return _mm512_cvtps_epi32(_mm512_mask_blend_ps(nan, r, k.zero_point));
}

}  // namespace mixq::ops
