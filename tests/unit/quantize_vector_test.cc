// ops/quantize_vector.h: the vector Quantize (x * (1 / s) where that gives
// the same code, x / s where a lane is near a rounding boundary) against
// SPEC §1's scalar quant::Quantize, on every code boundary of many scales:
// for each code k the first float x with Quantize(x) >= k is found by
// bisection over the ordered floats, and the floats around it are checked,
// with random values, ties, huge, tiny, infinite and NaN inputs, and scales
// whose inverse is not a normal float.
#include "ops/quantize_vector.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu_features.h"
#include "quant/quant_math.h"

namespace mixq::ops {
namespace {

// Floats in order: ordered(a) < ordered(b) iff a < b (for non-NaN).
int64_t Ordered(float f) {
  const auto b = std::bit_cast<uint32_t>(f);
  return b & 0x80000000u ? -static_cast<int64_t>(b & 0x7FFFFFFFu) : static_cast<int64_t>(b);
}
float FromOrdered(int64_t o) {
  return o >= 0 ? std::bit_cast<float>(static_cast<uint32_t>(o))
                : std::bit_cast<float>(static_cast<uint32_t>(-o) | 0x80000000u);
}

__attribute__((target("avx2"))) std::vector<int32_t> Vector(const std::vector<float>& x, float scale, int32_t zp,
                                                            int bits) {
  const QuantizeConstants k = MakeQuantizeConstants(scale, zp, quant::QMin(bits), quant::QMax(bits));
  std::vector<int32_t> out(x.size());
  for (size_t i = 0; i + 8 <= x.size(); i += 8)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.data() + i), QuantizeVector(_mm256_loadu_ps(x.data() + i), k));
  return out;
}

void ExpectSameCodes(std::vector<float> x, float scale, int32_t zp, int bits) {
  while (x.size() % 8) x.push_back(0.0f);
  const std::vector<int32_t> got = Vector(x, scale, zp, bits);
  for (size_t i = 0; i < x.size(); ++i)
    ASSERT_EQ(got[i], quant::Quantize(x[i], scale, zp, bits))
        << "x " << x[i] << " (bits " << std::bit_cast<uint32_t>(x[i]) << ") scale " << scale << " zero point " << zp;
}

TEST(QuantizeVector, SameCodesAsTheScalarQuantizeAtEveryBoundary) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> log_scale(-12.0, 4.0);
  const int64_t lowest = Ordered(-std::numeric_limits<float>::max()),
                highest = Ordered(std::numeric_limits<float>::max());
  int boundaries = 0;
  for (int trial = 0; trial < 120; ++trial) {
    const float scale = trial == 0 ? 0.25f : trial == 1 ? 1.0f / 3.0f : static_cast<float>(std::exp(log_scale(rng)));
    const int32_t zp = trial % 3 == 0 ? 0 : static_cast<int32_t>(rng() % 41) - 20;
    const int bits = trial % 4 == 3 ? 16 : 8;
    std::vector<float> x;
    // Every code boundary of 8-bit codes; for 16 bits, every 97th.
    const int32_t lo = quant::QMin(bits), hi = quant::QMax(bits), step = bits == 8 ? 1 : 97;
    for (int32_t code = lo + 1; code <= hi; code += step) {
      int64_t a = lowest, b = highest;
      while (a < b) {
        const int64_t m = a + (b - a) / 2;
        if (quant::Quantize(FromOrdered(m), scale, zp, bits) >= code)
          b = m;
        else
          a = m + 1;
      }
      for (int64_t d = -3; d <= 3; ++d) x.push_back(FromOrdered(a + d));
      ++boundaries;
    }
    std::uniform_real_distribution<float> value(-300.0f * scale, 300.0f * scale);
    for (int i = 0; i < 400; ++i) x.push_back(value(rng));
    for (int h = -130; h <= 130; ++h)
      x.push_back((static_cast<float>(h) + 0.5f) * scale);  // ties, as near as floats get
    x.insert(x.end(), {0.0f, -0.0f, 1e-45f, -1e-45f, 1e30f, -1e30f, std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                       std::numeric_limits<float>::max()});
    ExpectSameCodes(x, scale, zp, bits);
  }
  EXPECT_GT(boundaries, 20000);
}

TEST(QuantizeVector, ScalesWithoutANormalInverseDivide) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const std::vector<float> x = {1e-40f, -3e-39f, 2.5e-39f, 1.0f, -7.0f, 0.0f, 1e-44f, 5e-41f};
  // A subnormal scale (1 / s overflows), a huge one (1 / s subnormal).
  EXPECT_FALSE(MakeQuantizeConstants(1e-40f, 0, -128, 127).use_inverse);
  EXPECT_FALSE(MakeQuantizeConstants(3e38f, 0, -128, 127).use_inverse);
  EXPECT_TRUE(MakeQuantizeConstants(0.02f, 0, -128, 127).use_inverse);
  ExpectSameCodes(x, 1e-40f, 0, 8);
  ExpectSameCodes(x, 3e38f, 3, 8);
}

}  // namespace
}  // namespace mixq::ops
