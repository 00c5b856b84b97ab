#include "kernels/half_io.h"

#include <immintrin.h>

#include <algorithm>

#include "kernels/parallel.h"
#include "util/half.h"

namespace mixq::kernels {

#define MIXQ_F16C __attribute__((target("avx2,f16c")))

MIXQ_F16C void HalfToFloatRow(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
  for (; i < n; ++i) y[i] = HalfToFloat(x[i]);
}

MIXQ_F16C void FloatToHalfRow(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), h);
  }
  for (; i < n; ++i) y[i] = FloatToHalf(x[i]);
}

namespace {
constexpr int64_t kBlock = int64_t{1} << 14;
}  // namespace

void HalfToFloatParallel(const uint16_t* x, float* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > kMinParallelElements)
  for (int64_t at = 0; at < n; at += kBlock) HalfToFloatRow(x + at, y + at, std::min(kBlock, n - at));
}

void FloatToHalfParallel(const float* x, uint16_t* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > kMinParallelElements)
  for (int64_t at = 0; at < n; at += kBlock) FloatToHalfRow(x + at, y + at, std::min(kBlock, n - at));
}

namespace {

// Rows r[0..7] become columns: afterwards r[j][k] is the old r[k][j].
MIXQ_F16C inline void Transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

MIXQ_F16C void PlanesToBlock8(const uint16_t* x, float* y, int64_t valid, int64_t spatial) {
  int64_t s = 0;
  for (; s + 8 <= spatial; s += 8) {
    __m256 r[8];
    for (int64_t k = 0; k < 8; ++k)
      r[k] = k < valid ? _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + k * spatial + s)))
                       : _mm256_setzero_ps();
    Transpose8x8(r);
    for (int64_t j = 0; j < 8; ++j) _mm256_storeu_ps(y + (s + j) * 8, r[j]);
  }
  for (; s < spatial; ++s)
    for (int64_t k = 0; k < 8; ++k) y[s * 8 + k] = k < valid ? HalfToFloat(x[k * spatial + s]) : 0.0f;
}

MIXQ_F16C void Block8ToRows(const float* y, int64_t valid, int64_t spatial, int64_t c0, BlockedRowFn row,
                            void* context) {
  alignas(32) float rows[8][kBlockedRow];
  for (int64_t s0 = 0; s0 < spatial; s0 += kBlockedRow) {
    const int64_t n = std::min(kBlockedRow, spatial - s0);
    int64_t s = 0;
    for (; s + 8 <= n; s += 8) {
      __m256 r[8];
      for (int64_t j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(y + (s0 + s + j) * 8);
      Transpose8x8(r);
      for (int64_t k = 0; k < 8; ++k) _mm256_store_ps(rows[k] + s, r[k]);
    }
    for (; s < n; ++s)
      for (int64_t k = 0; k < 8; ++k) rows[k][s] = y[(s0 + s) * 8 + k];
    for (int64_t k = 0; k < valid; ++k) row(context, rows[k], n, c0 + k, s0);
  }
}

}  // namespace

void HalfPlanesToBlocked8(const uint16_t* x, float* y, int64_t channels, int64_t spatial) {
  const int64_t blocks = (channels + 7) / 8;
#pragma omp parallel for schedule(static) if (channels * spatial > kMinParallelElements)
  for (int64_t b = 0; b < blocks; ++b)
    PlanesToBlock8(x + b * 8 * spatial, y + b * 8 * spatial, std::min<int64_t>(8, channels - b * 8), spatial);
}

void ForEachBlocked8Row(const float* y, int64_t channels, int64_t spatial, BlockedRowFn row, void* context) {
  const int64_t blocks = (channels + 7) / 8;
#pragma omp parallel for schedule(static) if (channels * spatial > kMinParallelElements)
  for (int64_t b = 0; b < blocks; ++b)
    Block8ToRows(y + b * 8 * spatial, std::min<int64_t>(8, channels - b * 8), spatial, b * 8, row, context);
}

}  // namespace mixq::kernels
