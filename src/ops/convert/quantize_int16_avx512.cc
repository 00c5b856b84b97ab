// The Quantize to 16-bit codes without a division where that provably gives
// the reference's code. The reference rounds once, q = RN(x / s); here m =
// RN(x RN(1 / s)) rounds twice, so |m - q| < 3 |m| 2^-24 (both within
// 2^-24 relative of x / s where the results are normal floats; a subnormal
// one is off by under 2^-149, which is 0 for the codes). Where |m - rint(m)|
// + |m| 2^-22 < 0.5 - 2^-24 both round to the same integer. Otherwise (with
// codes spread over the int16 range about one 16-value vector in ten, and
// NaN), the vector divides. m is clamped to the code range first (a lane
// past it gets the bound: the margin keeps q past the last half too) and
// rounded by adding 1.5 * 2^23, which leaves the code in the low 16 bits of
// the sum. 16-bit codes always divided before (the 2^-20 margin of
// RoundedQuotient512 put a third of the vectors near a half): PP-OCRv4
// det's 307,200-value input Quantize 0.188 ms at 1 thread.
// Built with -ffp-contract=off (CMakeLists.txt): no product here may fuse
// with a sum.
#include "ops/convert/quantize_int16_avx512.h"

#include <immintrin.h>

#include <cmath>

#include "ops/quantize_vector512.h"

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mixq::ops {

namespace {

#define MIXQ_Q16 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

// The 16 codes' sums (code in the low 16 bits of each lane) for x, or false
// where a lane is too near a half or NaN.
MIXQ_Q16 inline bool Shortcut16(__m512 x, __m512 inverse, __m512* sum) {
  const __m512 magic = _mm512_set1_ps(12582912.0f);  // 1.5 * 2^23: sums in [2^23, 2^24), integer spacing
  const __m512 m = _mm512_mul_ps(x, inverse);
  const __m512 mc = _mm512_min_ps(_mm512_set1_ps(32767.0f), _mm512_max_ps(_mm512_set1_ps(-32768.0f), m));
  *sum = _mm512_add_ps(mc, magic);                                                  // rounded, half to even
  const __m512 off = _mm512_abs_ps(_mm512_sub_ps(mc, _mm512_sub_ps(*sum, magic)));  // both exact
  // off + |mc| 2^-22 < 0.5 - 2^-24 (a float: RN below it means the real sum is too); NaN: unordered.
  const __m512 test = _mm512_fmadd_ps(_mm512_abs_ps(mc), _mm512_set1_ps(0x1p-22f), off);
  return _mm512_cmp_ps_mask(test, _mm512_set1_ps(0.5f - 0x1p-24f), _CMP_NLT_UQ) == 0;
}

MIXQ_Q16 inline __m256i Exact16(__m512 x, const QuantizeConstants512& k) {
  return _mm512_cvtsepi32_epi16(QuantizeVector512(x, k));
}

}  // namespace

MIXQ_Q16 void QuantizeToSymmetricInt16Avx512(const float* x, int16_t* y, int64_t n, float scale) {
  const QuantizeConstants512 k = MakeQuantizeConstants512(scale, 0, -32768, 32767);
  const float inverse = 1.0f / scale;  // correctly rounded
  const bool shortcut = std::isnormal(scale) && std::isnormal(inverse);
  const __m512 inv = _mm512_set1_ps(inverse);
  const __m512i low_words = _mm512_set_epi16(62, 60, 58, 56, 54, 52, 50, 48, 46, 44, 42, 40, 38, 36, 34, 32, 30, 28, 26,
                                             24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  int64_t i = 0;
  if (shortcut)
    for (; i + 32 <= n; i += 32) {
      const __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + 16);
      __m512 s0, s1;
      const bool fast0 = Shortcut16(x0, inv, &s0);
      if (fast0 & Shortcut16(x1, inv, &s1)) {
        _mm512_storeu_si512(y + i,
                            _mm512_permutex2var_epi16(_mm512_castps_si512(s0), low_words, _mm512_castps_si512(s1)));
        continue;
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), Exact16(x0, k));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i + 16), Exact16(x1, k));
    }
  for (; i < n; i += 16) {  // the rest exactly, the last vector masked
    const auto mask = static_cast<__mmask16>(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
    _mm256_mask_storeu_epi16(y + i, mask, Exact16(_mm512_maskz_loadu_ps(mask, x + i), k));
  }
}

namespace {

// 16 codes narrowed to T (clamped to T's range already: the saturating
// narrowings leave them as they are).
MIXQ_Q16 inline void StoreCodes16(__m512i q, int8_t* y, __mmask16 mask) {
  _mm_mask_storeu_epi8(y, mask, _mm512_cvtsepi32_epi8(q));
}
MIXQ_Q16 inline void StoreCodes16(__m512i q, int16_t* y, __mmask16 mask) {
  _mm256_mask_storeu_epi16(y, mask, _mm512_cvtsepi32_epi16(q));
}

template <typename T>
MIXQ_Q16 void QuantizeCodes(const float* x, T* y, int64_t n, float scale, int32_t zero_point) {
  constexpr int32_t kLo = sizeof(T) == 1 ? -128 : -32768, kHi = sizeof(T) == 1 ? 127 : 32767;
  const QuantizeConstants512 k = MakeQuantizeConstants512(scale, zero_point, kLo, kHi);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {  // four independent vectors per step
    __m512i q[4];
    for (int u = 0; u < 4; ++u) q[u] = QuantizeVector512(_mm512_loadu_ps(x + i + 16 * u), k);
    for (int u = 0; u < 4; ++u) StoreCodes16(q[u], y + i + 16 * u, 0xFFFF);
  }
  for (; i < n; i += 16) {  // the last vector masked (lanes past n read as 0, never stored)
    const auto mask = static_cast<__mmask16>(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
    StoreCodes16(QuantizeVector512(_mm512_maskz_loadu_ps(mask, x + i), k), y + i, mask);
  }
}

}  // namespace

void QuantizeToCodesAvx512(const float* x, int8_t* y, int64_t n, float scale, int32_t zero_point) {
  QuantizeCodes(x, y, n, scale, zero_point);
}

void QuantizeToCodesAvx512(const float* x, int16_t* y, int64_t n, float scale, int32_t zero_point) {
  QuantizeCodes(x, y, n, scale, zero_point);
}

#undef MIXQ_Q16

}  // namespace mixq::ops
