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
  const int64_t blocks = (channels + block - 1) / block, runs = (spatial + kRun - 1) / kRun, jobs = blocks * runs;
#pragma omp parallel for schedule(static) if (channels * spatial > kMinParallelElements && jobs > 1)
  for (int64_t j = 0; j < jobs; ++j) {
    const int64_t s0 = j % runs * kRun;
    job(j / runs, s0, std::min(spatial, s0 + kRun));
  }
}

}  // namespace

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
