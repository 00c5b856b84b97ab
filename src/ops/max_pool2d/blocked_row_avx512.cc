#include "ops/max_pool2d/blocked_row_avx512.h"

#include <immintrin.h>

#include <limits>

#include "kernels/avx512_warnings.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {

namespace {

#define MIXQ_POOL512 __attribute__((target("avx512f,f16c")))

// 16 values of a block: float32, or float16 storage widened exactly.
MIXQ_POOL512 inline __m512 Load16(const float* p) {
  return _mm512_loadu_ps(p);
}
MIXQ_POOL512 inline __m512 Load16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
// The maximum back: float32, or float16 (exact: it is one of the inputs).
MIXQ_POOL512 inline void Store16(float* p, __m512 v) {
  _mm512_storeu_ps(p, v);
}
MIXQ_POOL512 inline void Store16(uint16_t* p, __m512 v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

// The reference's combination: v replaces best where v > best, or where v is
// NaN and best is not (the first NaN of a window is kept).
MIXQ_POOL512 inline __m512 Combine16(__m512 best, __m512 v) {
  const __mmask16 take = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) |
                         (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & ~_mm512_cmp_ps_mask(best, best, _CMP_UNORD_Q));
  return _mm512_mask_blend_ps(take, best, v);
}

// Output pixel (oh, ow) through the exact combination, its window's taps
// inside the image in row-major order (taps in the padding change nothing).
template <typename S>
MIXQ_POOL512 void PoolPixel(const PoolGeometry& g, const S* image, int64_t oh, int64_t ow, S* dst) {
  __m512 best = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
    const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
    if (ih < 0 || ih >= g.in_h) continue;
    for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
      const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
      if (iw >= 0 && iw < g.in_w) best = Combine16(best, Load16(image + (ih * g.in_w + iw) * 16));
    }
  }
  Store16(dst, best);
}

template <typename S>
MIXQ_POOL512 void PoolRow(const PoolGeometry& g, const S* image, int64_t oh, S* dst) {
  const WholeWindows whole = WholeWindowsOf(g, oh);
  const int64_t kh0 = whole.kh0, kh1 = whole.kh1, ow0 = whole.ow0, ow1 = whole.ow1;
  int64_t ow = 0;
  for (; ow < ow0; ++ow) PoolPixel(g, image, oh, ow, dst + ow * 16);
  if (kh0 < kh1) {
    const int64_t pixel = g.stride_w * 16, row = g.dilation_h * g.in_w * 16, tap = g.dilation_w * 16;
    const int64_t ih0 = oh * g.stride_h - g.pad_top + kh0 * g.dilation_h;
    for (; ow + 4 <= ow1; ow += 4) {
      const S* base = image + (ih0 * g.in_w + ow * g.stride_w - g.pad_left) * 16;
      __m512 m0, m1, m2, m3;
      m0 = m1 = m2 = m3 = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
      __mmask16 nan = 0;
      for (int64_t kh = kh0; kh < kh1; ++kh, base += row) {
        const S* t = base;
        for (int64_t kw = 0; kw < g.kernel_w; ++kw, t += tap) {
          const __m512 v0 = Load16(t), v1 = Load16(t + pixel);
          const __m512 v2 = Load16(t + 2 * pixel), v3 = Load16(t + 3 * pixel);
          nan |= _mm512_cmp_ps_mask(v0, v1, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(v2, v3, _CMP_UNORD_Q);
          m0 = _mm512_max_ps(v0, m0);  // vmaxps returns its second operand on ties: best stays
          m1 = _mm512_max_ps(v1, m1);
          m2 = _mm512_max_ps(v2, m2);
          m3 = _mm512_max_ps(v3, m3);
        }
      }
      if (nan) {
        for (int64_t p = 0; p < 4; ++p) PoolPixel(g, image, oh, ow + p, dst + (ow + p) * 16);
        continue;
      }
      Store16(dst + ow * 16, m0);
      Store16(dst + (ow + 1) * 16, m1);
      Store16(dst + (ow + 2) * 16, m2);
      Store16(dst + (ow + 3) * 16, m3);
    }
  }
  for (; ow < g.out_w; ++ow) PoolPixel(g, image, oh, ow, dst + ow * 16);
}

}  // namespace

void MaxPoolRowBlocked16Avx512(const PoolGeometry& g, const float* image, int64_t oh, float* dst) {
  PoolRow(g, image, oh, dst);
}

void MaxPoolRowBlocked16Avx512(const PoolGeometry& g, const uint16_t* image, int64_t oh, uint16_t* dst) {
  PoolRow(g, image, oh, dst);
}

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON
