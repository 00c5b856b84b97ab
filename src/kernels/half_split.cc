#include "kernels/half_split.h"

#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "kernels/avx512_warnings.h"
#include "util/half.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::kernels {

#define MIXQ_SPLIT __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,f16c,fma")))

namespace {

// 16 float16 values (v, widened) as 16 (hi, hi) and 16 (lo, lo) pairs.
MIXQ_SPLIT inline void SplitPairs(__m512 v, uint16_t* hi, uint16_t* lo) {
  // hi: v rounded to bfloat16, as 32-bit words (0, xh) and, shifted, the float32 xh.
  const __m512i wide = _mm512_cvtepu16_epi32(reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v)));
  const __m512i hb = _mm512_slli_epi32(wide, 16);
  // x - hi, exact; zero where x == hi (infinities among them: not inf - inf).
  // Its float32 bits are a bfloat16 value's (low half zero): no conversion.
  const __m512i lb = _mm512_castps_si512(
      _mm512_maskz_sub_ps(_mm512_cmp_ps_mask(v, _mm512_castsi512_ps(hb), _CMP_NEQ_UQ), v, _mm512_castsi512_ps(hb)));
  // An infinite x as the pair (x, 0): x * wh alone, inf with the
  // filter's sign (wh is zero only where w is), not inf * 0 = NaN from
  // a zero wl.
  const __mmask16 inf = _mm512_cmp_ps_mask(_mm512_abs_ps(v), _mm512_set1_ps(INFINITY), _CMP_EQ_OQ);
  _mm512_store_si512(hi, _mm512_mask_mov_epi32(_mm512_or_si512(wide, hb), inf, wide));
  _mm512_store_si512(lo, _mm512_or_si512(lb, _mm512_srli_epi32(lb, 16)));
}

}  // namespace

MIXQ_SPLIT void SplitHalfPixelsToPairTiles(const uint16_t* x, int64_t channels, int64_t height, int64_t width,
                                           int64_t stride_h, int64_t stride_w, int64_t out_w, int64_t p0, int64_t rows,
                                           uint16_t* out) {
  constexpr int64_t kRows = 32, kRowValues = 32, kHalf = kRows * kRowValues;
  const int64_t blocks = channels / 16, plane = height * width;
  int64_t at[kRows];  // each row's input pixel
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t p = p0 + r;
    at[r] = (p / out_w * stride_h) * width + p % out_w * stride_w;
  }
  const __m512i zero = _mm512_setzero_si512();
  for (int64_t b = 0; b < blocks; ++b) {
    const uint16_t* block = x + b * plane * 16;
    uint16_t* hi = out + b * 2 * kHalf;
    uint16_t* lo = hi + kHalf;
    for (int64_t r = 0; r < rows; ++r) {
      SplitPairs(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + at[r] * 16))),
                 hi + r * kRowValues, lo + r * kRowValues);
    }
    for (int64_t r = rows; r < kRows; ++r) {
      _mm512_store_si512(hi + r * kRowValues, zero);
      _mm512_store_si512(lo + r * kRowValues, zero);
    }
  }
}

MIXQ_SPLIT void SplitHalfRowsToPairTiles(const uint16_t* a, int64_t lda, int64_t k, int64_t r0, int64_t rows,
                                         uint16_t* out) {
  constexpr int64_t kRows = 32, kRowValues = 32, kHalf = kRows * kRowValues;
  const int64_t chunks = (k + 15) / 16;
  const __m512i zero = _mm512_setzero_si512();
  for (int64_t c = 0; c < chunks; ++c) {
    uint16_t* hi = out + c * 2 * kHalf;
    uint16_t* lo = hi + kHalf;
    const int64_t left = k - c * 16;
    const __mmask16 mask = left >= 16 ? __mmask16{0xffff} : static_cast<__mmask16>((1u << left) - 1);
    for (int64_t r = 0; r < rows; ++r)
      SplitPairs(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, a + (r0 + r) * lda + c * 16)), hi + r * kRowValues,
                 lo + r * kRowValues);
    for (int64_t r = rows; r < kRows; ++r) {
      _mm512_store_si512(hi + r * kRowValues, zero);
      _mm512_store_si512(lo + r * kRowValues, zero);
    }
  }
}

MIXQ_SPLIT void SplitHalfRunToPairs(const uint16_t* x, int64_t n, uint16_t* hi, uint16_t* lo) {
  for (int64_t p = 0; p < n; ++p)
    SplitPairs(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + p * 16))), hi + p * 32,
               lo + p * 32);
}

MIXQ_SPLIT void SplitFloatRunToPairs(const float* x, int64_t n, uint16_t* hi, uint16_t* lo) {
  for (int64_t p = 0; p < n; ++p) SplitPairs(_mm512_loadu_ps(x + p * 16), hi + p * 32, lo + p * 32);
}

void SplitHalfValue(uint16_t half, float* hi, float* lo) {
  const float x = HalfToFloat(half);
  *hi = BFloat16ToFloat(FloatToBFloat16(x));
  *lo = x == *hi ? 0.0f : x - *hi;
  if (std::isnan(x)) *lo = x;
}

}  // namespace mixq::kernels

MIXQ_AVX512_WARNINGS_ON
