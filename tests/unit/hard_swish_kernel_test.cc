// kernels/hard_swish.h: hard_swish on AVX2 equals the reference's double
// formula bit for bit for every float (all 2^32 bit patterns; NaN stays
// NaN), and on hand goldens and specials.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/cpu_features.h"
#include "kernels/hard_swish.h"

// GCC 12's own AVX-512 headers trip -Wuninitialized (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mixq::kernels {
namespace {

float Reference(float x) {
  const double v = x, t = v / 6.0 + 0.5;
  return static_cast<float>(v * (t < 0 ? 0.0 : t > 1 ? 1.0 : t));
}

// The reference's formula on 8 floats with vdivpd, operation for operation.
__attribute__((target("avx2,fma"))) __m128 ReferenceFormula4(__m128 x) {
  const __m256d v = _mm256_cvtps_pd(x);
  const __m256d t = _mm256_add_pd(_mm256_div_pd(v, _mm256_set1_pd(6.0)), _mm256_set1_pd(0.5));
  const __m256d one = _mm256_set1_pd(1.0), zero = _mm256_setzero_pd();
  __m256d c = _mm256_blendv_pd(t, one, _mm256_cmp_pd(t, one, _CMP_GT_OQ));  // t < 0 ? 0 : t > 1 ? 1 : t
  c = _mm256_blendv_pd(c, zero, _mm256_cmp_pd(t, zero, _CMP_LT_OQ));
  return _mm256_cvtpd_ps(_mm256_mul_pd(v, c));
}

// Lanes where HardSwishExact8 differs from the formula, over every float in
// the bit patterns [first, last) (8 at a time); equal bits, or both NaN.
__attribute__((target("avx2,fma"))) uint64_t Mismatches(uint64_t first, uint64_t last) {
  uint64_t bad = 0;
  const __m256i step = _mm256_set1_epi32(8);
  __m256i bits =
      _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(first)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  for (uint64_t base = first; base < last; base += 8, bits = _mm256_add_epi32(bits, step)) {
    const __m256 x = _mm256_castsi256_ps(bits);
    const __m256 got = HardSwishExact8(x);
    const __m256 want =
        _mm256_set_m128(ReferenceFormula4(_mm256_extractf128_ps(x, 1)), ReferenceFormula4(_mm256_castps256_ps128(x)));
    const __m256i equal = _mm256_cmpeq_epi32(_mm256_castps_si256(got), _mm256_castps_si256(want));
    const __m256 both_nan =
        _mm256_and_ps(_mm256_cmp_ps(got, got, _CMP_UNORD_Q), _mm256_cmp_ps(want, want, _CMP_UNORD_Q));
    const int same = _mm256_movemask_ps(_mm256_or_ps(_mm256_castsi256_ps(equal), both_nan));
    bad += static_cast<uint64_t>(__builtin_popcount(~same & 0xFF));
  }
  return bad;
}

// All 2^32 bit patterns: positive and negative floats, zeros, subnormals,
// infinities and NaNs.
TEST(HardSwishKernel, EqualsTheReferenceForEveryFloat) {
  if (!DetectedCpuFeatures().avx2 || !DetectedCpuFeatures().fma) GTEST_SKIP() << "no AVX2 + FMA";
  EXPECT_EQ(Mismatches(0, uint64_t{1} << 32), 0u);
}

// HardSwishOfHalf8 / 16 against HardSwishExact8, both rounded to float16,
// for every float16 input: bit for bit (the sign of zero included), or both
// NaN.
bool SameHalf(uint16_t a, uint16_t b) {
  const auto is_nan = [](uint16_t v) { return (v & 0x7c00) == 0x7c00 && (v & 0x3ff) != 0; };
  return a == b || (is_nan(a) && is_nan(b));
}

#define MIXQ_HALF_TARGET __attribute__((target("avx2,fma,f16c")))
#define MIXQ_HALF_TARGET_512 __attribute__((target("avx512f,avx512vl,avx2,fma,f16c")))

// The exact hard_swish of the 8 float16 values at in, rounded to float16.
MIXQ_HALF_TARGET __m128i ExactRounded8(const uint16_t* in) {
  const __m256 x = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in)));
  return _mm256_cvtps_ph(HardSwishExact8(x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

MIXQ_HALF_TARGET int HalfMismatches8() {
  int bad = 0;
  alignas(16) uint16_t in[8], want[8], got[8];
  for (int h = 0; h < 65536; h += 8) {
    for (int i = 0; i < 8; ++i) in[i] = static_cast<uint16_t>(h + i);
    _mm_store_si128(reinterpret_cast<__m128i*>(want), ExactRounded8(in));
    const __m256 x = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(in)));
    _mm_store_si128(reinterpret_cast<__m128i*>(got),
                    _mm256_cvtps_ph(HardSwishOfHalf8(x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (int i = 0; i < 8; ++i) bad += SameHalf(want[i], got[i]) ? 0 : 1;
  }
  return bad;
}

MIXQ_HALF_TARGET_512 int HalfMismatches16() {
  int bad = 0;
  alignas(32) uint16_t in[16], want[16], got[16];
  for (int h = 0; h < 65536; h += 16) {
    for (int i = 0; i < 16; ++i) in[i] = static_cast<uint16_t>(h + i);
    _mm_store_si128(reinterpret_cast<__m128i*>(want), ExactRounded8(in));
    _mm_store_si128(reinterpret_cast<__m128i*>(want + 8), ExactRounded8(in + 8));
    const __m512 x = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(in)));
    _mm256_store_si256(reinterpret_cast<__m256i*>(got),
                       _mm512_cvtps_ph(HardSwishOfHalf16(x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (int i = 0; i < 16; ++i) bad += SameHalf(want[i], got[i]) ? 0 : 1;
  }
  return bad;
}

TEST(HardSwishKernel, OfHalfRoundsAsTheExactForEveryHalf) {
  if (!DetectedCpuFeatures().avx2 || !DetectedCpuFeatures().fma || !DetectedCpuFeatures().f16c)
    GTEST_SKIP() << "no AVX2 + FMA + F16C";
  EXPECT_EQ(HalfMismatches8(), 0);
  if (BestIsa() >= Isa::kAvx512) {
    EXPECT_EQ(HalfMismatches16(), 0);
  }
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
