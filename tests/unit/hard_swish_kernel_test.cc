// kernels/hard_swish.h: the division by 6 without vdivpd equals x / 6.0 for
// every float (all 2^32 bit patterns; NaN stays NaN), and hard_swish on
// AVX2 equals the reference's double formula bit for bit on goldens and
// specials.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/cpu_features.h"
#include "kernels/hard_swish.h"

namespace mixq::kernels {
namespace {

float Reference(float x) {
  const double v = x, t = v / 6.0 + 0.5;
  return static_cast<float>(v * (t < 0 ? 0.0 : t > 1 ? 1.0 : t));
}

__attribute__((target("avx2,fma"))) uint64_t DivisionMismatches() {
  const __m256d six = _mm256_set1_pd(6.0);
  uint64_t bad = 0;
  for (uint64_t base = 0; base < (uint64_t{1} << 32); base += 4) {
    alignas(16) const uint32_t bits[4] = {static_cast<uint32_t>(base), static_cast<uint32_t>(base + 1),
                                          static_cast<uint32_t>(base + 2), static_cast<uint32_t>(base + 3)};
    __m128 f;
    std::memcpy(&f, bits, sizeof(f));
    const __m256d v = _mm256_cvtps_pd(f);
    const __m256d want = _mm256_div_pd(v, six), got = DivideBySixExact(v);
    // Equal values, or both NaN.
    const __m256d same =
        _mm256_or_pd(_mm256_cmp_pd(want, got, _CMP_EQ_OQ),
                     _mm256_and_pd(_mm256_cmp_pd(want, want, _CMP_UNORD_Q), _mm256_cmp_pd(got, got, _CMP_UNORD_Q)));
    bad += static_cast<uint64_t>(__builtin_popcount(~_mm256_movemask_pd(same) & 0xF));
  }
  return bad;
}

TEST(HardSwishKernel, DivisionBySixMatchesForEveryFloat) {
  if (!DetectedCpuFeatures().avx2 || !DetectedCpuFeatures().fma) GTEST_SKIP() << "no AVX2 + FMA";
  EXPECT_EQ(DivisionMismatches(), 0u);
}

__attribute__((target("avx2,fma"))) void Run8(const float* x, float* y) {
  _mm256_storeu_ps(y, HardSwishExact8(_mm256_loadu_ps(x)));
}

TEST(HardSwishKernel, EqualsTheReferenceBitForBit) {
  if (!DetectedCpuFeatures().avx2 || !DetectedCpuFeatures().fma) GTEST_SKIP() << "no AVX2 + FMA";
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float x[16] = {-4.0f, -3.0f, -1.0f, 0.0f,   1.0f,        3.0f,       5.0f,    -0.0f,
                       inf,   -inf,  nan,   1e-40f, -2.9999998f, 2.9999998f, 3.4e38f, 0.1f};
  // Hand goldens: hard_swish(-1) = -1/3, (1) = 2/3, (3) = 3, (5) = 5, (-4) = (-3) = 0.
  float y[16];
  Run8(x, y);
  Run8(x + 8, y + 8);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], static_cast<float>(-1.0 / 3.0));
  EXPECT_EQ(y[4], static_cast<float>(2.0 / 3.0));
  EXPECT_EQ(y[5], 3.0f);
  EXPECT_EQ(y[6], 5.0f);
  EXPECT_EQ(y[8], inf);
  EXPECT_TRUE(std::isnan(y[10]));
  for (int i = 0; i < 16; ++i) {
    const float want = Reference(x[i]);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(y[i])) << i;
      continue;
    }
    uint32_t a, b;
    std::memcpy(&a, &y[i], 4);
    std::memcpy(&b, &want, 4);
    EXPECT_EQ(a, b) << "x = " << x[i];  // -0.0 and the sign of zero included
  }
}

}  // namespace
}  // namespace mixq::kernels
