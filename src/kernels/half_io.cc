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

}  // namespace mixq::kernels
