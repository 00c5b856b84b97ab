#include "kernels/half_io.h"

#include <immintrin.h>

#include <algorithm>

#include "kernels/avx512_warnings.h"
#include "kernels/cpu_features.h"
#include "kernels/parallel.h"
#include "kernels/transpose8x8.h"
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

MIXQ_F16C void BFloat16ToFloatRowAvx2(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), _mm256_slli_epi32(w, 16));
  }
  for (; i < n; ++i) y[i] = BFloat16ToFloat(x[i]);
}

MIXQ_F16C void FloatToBFloat16RowAvx2(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i lo = BFloat16Bits8(_mm256_loadu_ps(x + i)), hi = BFloat16Bits8(_mm256_loadu_ps(x + i + 8));
    // packus works per 128-bit lane: [lo0-3 hi0-3 | lo4-7 hi4-7], put back in order.
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0xD8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), packed);
  }
  for (; i < n; ++i) y[i] = FloatToBFloat16(x[i]);
}

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h
#define MIXQ_AVX512BW __attribute__((target("avx512f,avx512bw")))

MIXQ_AVX512BW void BFloat16ToFloatRowAvx512(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)));
    _mm512_storeu_si512(y + i, _mm512_slli_epi32(w, 16));
  }
  for (; i < n; ++i) y[i] = BFloat16ToFloat(x[i]);
}

MIXQ_AVX512BW void FloatToBFloat16RowAvx512(const float* x, uint16_t* y, int64_t n) {
  // packus works per 128-bit lane: [lo0-3 hi0-3 | lo4-7 hi4-7 | ...]; the
  // permutation puts the 64-bit groups back in order.
  const __m512i order = _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512i lo = BFloat16Bits16(_mm512_loadu_si512(x + i)), hi = BFloat16Bits16(_mm512_loadu_si512(x + i + 16));
    _mm512_storeu_si512(y + i, _mm512_permutexvar_epi64(order, _mm512_packus_epi32(lo, hi)));
  }
  for (; i < n; ++i) y[i] = FloatToBFloat16(x[i]);
}
#undef MIXQ_AVX512BW
MIXQ_AVX512_WARNINGS_ON

void BFloat16ToFloatRow(const uint16_t* x, float* y, int64_t n) {
  static const bool avx512 = BestIsa() >= Isa::kAvx512;
  avx512 ? BFloat16ToFloatRowAvx512(x, y, n) : BFloat16ToFloatRowAvx2(x, y, n);
}

void FloatToBFloat16Row(const float* x, uint16_t* y, int64_t n) {
  static const bool avx512 = BestIsa() >= Isa::kAvx512;
  avx512 ? FloatToBFloat16RowAvx512(x, y, n) : FloatToBFloat16RowAvx2(x, y, n);
}

namespace {
constexpr int64_t kBlock = int64_t{1} << 14;
}  // namespace

void BFloat16ToFloatParallel(const uint16_t* x, float* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > kMinParallelElements)
  for (int64_t at = 0; at < n; at += kBlock) BFloat16ToFloatRow(x + at, y + at, std::min(kBlock, n - at));
}

void FloatToBFloat16Parallel(const float* x, uint16_t* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > kMinParallelElements)
  for (int64_t at = 0; at < n; at += kBlock) FloatToBFloat16Row(x + at, y + at, std::min(kBlock, n - at));
}

void HalfToFloatParallel(const uint16_t* x, float* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > kMinParallelWidenElements)
  for (int64_t at = 0; at < n; at += kBlock) HalfToFloatRow(x + at, y + at, std::min(kBlock, n - at));
}

void FloatToHalfParallel(const float* x, uint16_t* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > kMinParallelElements)
  for (int64_t at = 0; at < n; at += kBlock) FloatToHalfRow(x + at, y + at, std::min(kBlock, n - at));
}

namespace {

// Eight channel planes (`valid` of them real, the rest zeros) into a blocked
// tensor whose pixels are `stride` floats apart (8: nChw8c; 16: half of an
// nChw16c block).
MIXQ_F16C void PlanesToBlock8(const uint16_t* x, float* y, int64_t stride, int64_t valid, int64_t spatial) {
  int64_t s = 0;
  for (; s + 8 <= spatial; s += 8) {
    __m256 r[8];
    for (int64_t k = 0; k < 8; ++k)
      r[k] = k < valid ? _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + k * spatial + s)))
                       : _mm256_setzero_ps();
    Transpose8x8(r);
    for (int64_t j = 0; j < 8; ++j) _mm256_storeu_ps(y + (s + j) * stride, r[j]);
  }
  for (; s < spatial; ++s)
    for (int64_t k = 0; k < 8; ++k) y[s * stride + k] = k < valid ? HalfToFloat(x[k * spatial + s]) : 0.0f;
}

// Eight planes (`plane` values apart) of n pixels into NHWC rows `stride`
// floats apart.
MIXQ_F16C void PlanesRunToChannelsLast8(const uint16_t* x, int64_t plane, float* y, int64_t stride, int64_t n) {
  int64_t s = 0;
  for (; s + 8 <= n; s += 8) {
    __m256 r[8];
    for (int64_t k = 0; k < 8; ++k)
      r[k] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + k * plane + s)));
    Transpose8x8(r);
    for (int64_t j = 0; j < 8; ++j) _mm256_storeu_ps(y + (s + j) * stride, r[j]);
  }
  for (; s < n; ++s)
    for (int64_t k = 0; k < 8; ++k) y[s * stride + k] = HalfToFloat(x[k * plane + s]);
}

// Eight channels of a blocked tensor: `stride` floats per pixel (8 for
// nChw8c; 16 for nChw16c, whose block is two such halves), the first of
// them at y.
MIXQ_F16C void Block8ToRows(const float* y, int64_t stride, int64_t valid, int64_t spatial, int64_t c0,
                            BlockedRowFn row, void* context) {
  alignas(32) float rows[8][kBlockedRow];
  for (int64_t s0 = 0; s0 < spatial; s0 += kBlockedRow) {
    const int64_t n = std::min(kBlockedRow, spatial - s0);
    int64_t s = 0;
    for (; s + 8 <= n; s += 8) {
      __m256 r[8];
      for (int64_t j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(y + (s0 + s + j) * stride);
      Transpose8x8(r);
      for (int64_t k = 0; k < 8; ++k) _mm256_store_ps(rows[k] + s, r[k]);
    }
    for (; s < n; ++s)
      for (int64_t k = 0; k < 8; ++k) rows[k][s] = y[(s0 + s) * stride + k];
    for (int64_t k = 0; k < valid; ++k) row(context, rows[k], n, c0 + k, s0);
  }
}

}  // namespace

void HalfPlanesToBlocked8(const uint16_t* x, float* y, int64_t channels, int64_t spatial) {
  const int64_t blocks = (channels + 7) / 8;
#pragma omp parallel for schedule(static) if (channels * spatial > kMinParallelElements)
  for (int64_t b = 0; b < blocks; ++b)
    PlanesToBlock8(x + b * 8 * spatial, y + b * 8 * spatial, 8, std::min<int64_t>(8, channels - b * 8), spatial);
}

void HalfPlanesToBlocked16(const uint16_t* x, float* y, int64_t channels, int64_t spatial) {
  const int64_t halves = (channels + 15) / 16 * 2;  // the padding half of the last block included
#pragma omp parallel for schedule(static) if (channels * spatial > kMinParallelElements)
  for (int64_t h = 0; h < halves; ++h)
    PlanesToBlock8(x + std::min(h * 8, channels) * spatial, y + h / 2 * 16 * spatial + h % 2 * 8, 16,
                   std::clamp<int64_t>(channels - h * 8, 0, 8), spatial);
}

void HalfPlanesToChannelsLast(const uint16_t* x, float* y, int64_t channels, int64_t spatial) {
  // Jobs are 8-channel groups of runs of pixels, run by run, split into
  // contiguous ranges: a run's lines are written whole while in L1, and two
  // threads share at most the lines where their ranges meet. (By channel
  // groups over the whole plane, each 64-byte line was written in two halves
  // far apart: PP-OCRv4 det's 96 x 80 x 80 layers 7 % slower than oneDNN's
  // reorder at 2 threads; by runs alone, 10 x 10 planes ran on one thread.)
  constexpr int64_t kRun = 64;
  const int64_t runs = (spatial + kRun - 1) / kRun, groups = channels / 8, jobs = runs * groups;
#pragma omp parallel for schedule(static) if (channels * spatial > kMinParallelElements && jobs > 1)
  for (int64_t j = 0; j < jobs; ++j) {
    const int64_t s0 = j / groups * kRun, g = j % groups;
    PlanesRunToChannelsLast8(x + g * 8 * spatial + s0, spatial, y + s0 * channels + g * 8, channels,
                             std::min(kRun, spatial - s0));
  }
}

void ForEachBlocked8Row(const float* y, int64_t channels, int64_t spatial, BlockedRowFn row, void* context) {
  const int64_t blocks = (channels + 7) / 8;
#pragma omp parallel for schedule(static) if (channels * spatial > kMinParallelElements)
  for (int64_t b = 0; b < blocks; ++b)
    Block8ToRows(y + b * 8 * spatial, 8, std::min<int64_t>(8, channels - b * 8), spatial, b * 8, row, context);
}

void ForEachChannelsLastRow(const float* y, int64_t channels, int64_t spatial, BlockedRowFn row, void* context) {
  const int64_t groups = channels / 8;
#pragma omp parallel for schedule(static) if (channels * spatial > kMinParallelElements)
  for (int64_t g = 0; g < groups; ++g) Block8ToRows(y + g * 8, channels, 8, spatial, g * 8, row, context);
}

void ForEachBlocked16Row(const float* y, int64_t channels, int64_t spatial, BlockedRowFn row, void* context) {
  const int64_t halves = (channels + 7) / 8;  // 8 channels each, two per 16-channel block
#pragma omp parallel for schedule(static) if (channels * spatial > kMinParallelElements)
  for (int64_t h = 0; h < halves; ++h)
    Block8ToRows(y + h / 2 * 16 * spatial + h % 2 * 8, 16, std::min<int64_t>(8, channels - h * 8), spatial, h * 8, row,
                 context);
}

}  // namespace mixq::kernels
