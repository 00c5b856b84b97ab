#include "kernels/block_layout.h"

#include <immintrin.h>

#include <algorithm>

#include "kernels/parallel.h"
#include "kernels/transpose8x8.h"

namespace mixq::kernels {

namespace {

#define MIXQ_BLOCK_AVX2 __attribute__((target("avx2")))

// Pixels per job: a job moves a block of this many pixels (64 KiB of
// nChw16c), so a 24 x 56 x 56 tensor makes eight jobs.
constexpr int64_t kRun = 1024;

// One block (`block` channels from c0, the planes past `channels` zeros)
// of pixels [s0, s1): both 8-channel halves of a pixel group are stored
// together, so that each 64-byte line of an nChw16c block is written whole
// (half by half, each line was written twice: 1 thread, MobileNetV2's 24 x
// 56 x 56 slower than oneDNN's reorder).
MIXQ_BLOCK_AVX2 void PlanesToBlock(const float* x, float* y, int64_t block, int64_t c0, int64_t channels,
                                   int64_t spatial, int64_t s0, int64_t s1) {
  int64_t s = s0;
  for (; s + 8 <= s1; s += 8)
    for (int64_t h = 0; h < block; h += 8) {
      __m256 r[8];
      for (int64_t k = 0; k < 8; ++k)
        r[k] = c0 + h + k < channels ? _mm256_loadu_ps(x + (c0 + h + k) * spatial + s) : _mm256_setzero_ps();
      Transpose8x8(r);
      for (int64_t j = 0; j < 8; ++j) _mm256_storeu_ps(y + (s + j) * block + h, r[j]);
    }
  for (; s < s1; ++s)
    for (int64_t k = 0; k < block; ++k) y[s * block + k] = c0 + k < channels ? x[(c0 + k) * spatial + s] : 0.0f;
}

// The inverse for the block's real channels.
MIXQ_BLOCK_AVX2 void BlockToPlanes(const float* y, float* x, int64_t block, int64_t c0, int64_t channels,
                                   int64_t spatial, int64_t s0, int64_t s1) {
  int64_t s = s0;
  for (; s + 8 <= s1; s += 8)
    for (int64_t h = 0; h < block && c0 + h < channels; h += 8) {
      __m256 r[8];
      for (int64_t j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(y + (s + j) * block + h);
      Transpose8x8(r);
      for (int64_t k = 0; k < 8 && c0 + h + k < channels; ++k) _mm256_storeu_ps(x + (c0 + h + k) * spatial + s, r[k]);
    }
  for (; s < s1; ++s)
    for (int64_t k = 0; k < block && c0 + k < channels; ++k) x[(c0 + k) * spatial + s] = y[s * block + k];
}

// Calls job(b, s0, s1) for every block b of `block` channels and run of
// pixels [s0, s1).
template <typename Job>
void ForEachJob(int64_t channels, int64_t spatial, int64_t block, const Job& job) {
  if (channels <= 0 || spatial <= 0 || block <= 0) return;
  const int64_t blocks = (channels + block - 1) / block, runs = (spatial + kRun - 1) / kRun, jobs = blocks * runs;
#pragma omp parallel for schedule(static) if (channels * spatial > kMinParallelElements && jobs > 1)
  for (int64_t j = 0; j < jobs; ++j) {
    const int64_t s0 = j % runs * kRun;
    job(j / runs, s0, std::min(spatial, s0 + kRun));
  }
}

// Rows r[0..7] of eight 16-bit values each become the columns.
MIXQ_BLOCK_AVX2 inline void Transpose8x8Words(__m128i r[8]) {
  const __m128i t0 = _mm_unpacklo_epi16(r[0], r[1]), t1 = _mm_unpackhi_epi16(r[0], r[1]);
  const __m128i t2 = _mm_unpacklo_epi16(r[2], r[3]), t3 = _mm_unpackhi_epi16(r[2], r[3]);
  const __m128i t4 = _mm_unpacklo_epi16(r[4], r[5]), t5 = _mm_unpackhi_epi16(r[4], r[5]);
  const __m128i t6 = _mm_unpacklo_epi16(r[6], r[7]), t7 = _mm_unpackhi_epi16(r[6], r[7]);
  const __m128i u0 = _mm_unpacklo_epi32(t0, t2), u1 = _mm_unpackhi_epi32(t0, t2);
  const __m128i u2 = _mm_unpacklo_epi32(t1, t3), u3 = _mm_unpackhi_epi32(t1, t3);
  const __m128i u4 = _mm_unpacklo_epi32(t4, t6), u5 = _mm_unpackhi_epi32(t4, t6);
  const __m128i u6 = _mm_unpacklo_epi32(t5, t7), u7 = _mm_unpackhi_epi32(t5, t7);
  r[0] = _mm_unpacklo_epi64(u0, u4);
  r[1] = _mm_unpackhi_epi64(u0, u4);
  r[2] = _mm_unpacklo_epi64(u1, u5);
  r[3] = _mm_unpackhi_epi64(u1, u5);
  r[4] = _mm_unpacklo_epi64(u2, u6);
  r[5] = _mm_unpackhi_epi64(u2, u6);
  r[6] = _mm_unpacklo_epi64(u3, u7);
  r[7] = _mm_unpackhi_epi64(u3, u7);
}

MIXQ_BLOCK_AVX2 void PlanesToChannelsLast16Run(const uint16_t* x, uint16_t* y, int64_t channels, int64_t spatial,
                                               int64_t s0, int64_t s1) {
  int64_t s = s0;
  for (; s + 8 <= s1; s += 8) {
    int64_t c = 0;
    for (; c + 8 <= channels; c += 8) {
      __m128i r[8];
      for (int64_t k = 0; k < 8; ++k)
        r[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + (c + k) * spatial + s));
      Transpose8x8Words(r);
      for (int64_t j = 0; j < 8; ++j) _mm_storeu_si128(reinterpret_cast<__m128i*>(y + (s + j) * channels + c), r[j]);
    }
    for (; c < channels; ++c)
      for (int64_t j = 0; j < 8; ++j) y[(s + j) * channels + c] = x[c * spatial + s + j];
  }
  for (; s < s1; ++s)
    for (int64_t c = 0; c < channels; ++c) y[s * channels + c] = x[c * spatial + s];
}

MIXQ_BLOCK_AVX2 void ChannelsLastToPlanes16Run(const uint16_t* y, uint16_t* x, int64_t channels, int64_t spatial,
                                               int64_t s0, int64_t s1) {
  int64_t s = s0;
  for (; s + 8 <= s1; s += 8) {
    int64_t c = 0;
    for (; c + 8 <= channels; c += 8) {
      __m128i r[8];
      for (int64_t j = 0; j < 8; ++j)
        r[j] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(y + (s + j) * channels + c));
      Transpose8x8Words(r);
      for (int64_t k = 0; k < 8; ++k) _mm_storeu_si128(reinterpret_cast<__m128i*>(x + (c + k) * spatial + s), r[k]);
    }
    for (; c < channels; ++c)
      for (int64_t j = 0; j < 8; ++j) x[c * spatial + s + j] = y[(s + j) * channels + c];
  }
  for (; s < s1; ++s)
    for (int64_t c = 0; c < channels; ++c) x[c * spatial + s] = y[s * channels + c];
}

}  // namespace

void PlanesToChannelsLast16(const uint16_t* x, uint16_t* y, int64_t channels, int64_t spatial) {
  ForEachJob(channels, spatial, channels,
             [&](int64_t, int64_t s0, int64_t s1) { PlanesToChannelsLast16Run(x, y, channels, spatial, s0, s1); });
}

void ChannelsLastToPlanes16(const uint16_t* y, uint16_t* x, int64_t channels, int64_t spatial) {
  ForEachJob(channels, spatial, channels,
             [&](int64_t, int64_t s0, int64_t s1) { ChannelsLastToPlanes16Run(y, x, channels, spatial, s0, s1); });
}

void PlanesToBlocked(const float* x, float* y, int64_t channels, int64_t spatial, int64_t block) {
  ForEachJob(channels, spatial, block, [&](int64_t b, int64_t s0, int64_t s1) {
    PlanesToBlock(x, y + b * spatial * block, block, b * block, channels, spatial, s0, s1);
  });
}

void BlockedToPlanes(const float* y, float* x, int64_t channels, int64_t spatial, int64_t block) {
  ForEachJob(channels, spatial, block, [&](int64_t b, int64_t s0, int64_t s1) {
    BlockToPlanes(y + b * spatial * block, x, block, b * block, channels, spatial, s0, s1);
  });
}

}  // namespace mixq::kernels
