// QuantizeToSymmetricInt16Avx512 (its shortcut without a division, where it
// provably rounds as RN(x / s) does) against quant::Quantize, the scalar
// reference: runs of consecutive floats, every float within a few ulps of
// each half-code quotient of a sample of codes, both ends of the range,
// infinities and NaN, every row length around its 32-value steps, and
// scales whose reciprocal is not a normal float (the division only).
#include "ops/convert/quantize_int16_avx512.h"

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

void ExpectCodes(const std::vector<float>& x, float scale, const char* what) {
  std::vector<int16_t> y(x.size(), 12345);
  QuantizeToSymmetricInt16Avx512(x.data(), y.data(), static_cast<int64_t>(x.size()), scale);
  for (size_t i = 0; i < x.size(); ++i)
    ASSERT_EQ(y[i], quant::Quantize(x[i], scale, 0, 16)) << what << ": scale " << scale << " x " << x[i] << " at " << i;
}

TEST(QuantizeToSymmetricInt16Avx512, RoundsAsTheReferenceDivision) {
  if (kernels::BestIsa() < kernels::Isa::kAvx512) GTEST_SKIP() << "no AVX-512";
  for (const float scale : {1.0f / 32767.0f, 6.0f / 32767.0f, 3.0e-4f, 1.7e-5f, 0.37f, 2.0e-38f, 1.0e30f}) {
    // Both ends of the range, infinities, NaN, zeros, a subnormal: each at the start of a 32-value step of
    // plain values (a NaN sends its step to the division; the last n % 32 values always divide).
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> x;
    for (const float v : {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(), 1.0e-45f, -3.0e38f,
                          32767.5f * scale, -32768.5f * scale, 40000.0f * scale, -1.0e6f * scale, 32766.6f * scale}) {
      x.push_back(v);
      for (int k = 1; k < 32; ++k) x.push_back(static_cast<float>(k) * 97.13f * scale);
    }
    // Consecutive floats from about 1000 and 20000 codes up (bit patterns, so every float of the run).
    for (const float start : {1000.0f * scale, 20000.0f * scale, -7000.0f * scale})
      for (uint32_t b = std::bit_cast<uint32_t>(start), k = 0; k < 200000; ++k)
        x.push_back(std::bit_cast<float>(b + k));
    // Every float within 40 ulps of (code + 0.5) s for a sample of codes over the range.
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> codes(-32769, 32767);
    for (int k = 0; k < 4000; ++k) {
      const float center = static_cast<float>((codes(rng) + 0.5) * static_cast<double>(scale));
      for (int32_t d = -40; d <= 40; ++d) x.push_back(std::bit_cast<float>(std::bit_cast<int32_t>(center) + d));
    }
    ExpectCodes(x, scale, "sweep");
  }
  // Every length around the 32-value steps, with a near-half value in some.
  for (int64_t n = 0; n <= 70; ++n) {
    std::vector<float> x;
    for (int64_t i = 0; i < n; ++i) x.push_back(static_cast<float>(i * 311 % 997) * 0.125f + (i % 3 ? 0.5f : 0.0f));
    ExpectCodes(x, 0.25f, "lengths");
  }
  // Scales without a normal reciprocal, or not normal: the division only.
  const std::vector<float> some = {0.0f, 1.0f, -2.5f, 1.0e-40f, 3.0e38f, 7.0f};
  for (const float scale : {1.0e-39f, 3.0e38f, 0.0f, std::numeric_limits<float>::infinity()})
    ExpectCodes(some, scale, "odd scale");
}

}  // namespace
}  // namespace mixq::ops
