// float16 / bfloat16 conversions: exhaustive round trips and tricky values
// whose expected bits come from numpy (np.float32(v).astype(np.float16)).
#include "util/half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace mixq::testing {
namespace {

float FromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

uint32_t ToBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

bool IsHalfNaN(uint16_t h) {
  return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
}

TEST(Half, ExhaustiveRoundTripIsIdentity) {
  for (uint32_t h = 0; h <= 0xffffu; ++h) {
    const uint16_t bits = static_cast<uint16_t>(h);
    if (IsHalfNaN(bits)) continue;
    const float f = HalfToFloat(bits);
    ASSERT_EQ(FloatToHalf(f), bits) << "half 0x" << std::hex << h;
    ASSERT_EQ(ToBits(HalfToFloat(FloatToHalf(f))), ToBits(f)) << "half 0x" << std::hex << h;
  }
}

TEST(Half, HalfToFloatKnownValues) {
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xc000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));     // smallest subnormal
  EXPECT_EQ(HalfToFloat(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(HalfToFloat(0x0400), std::ldexp(1.0f, -14));     // smallest normal
  EXPECT_EQ(HalfToFloat(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(ToBits(HalfToFloat(0x8000)), 0x80000000u);  // -0 keeps its sign
}

TEST(Half, FloatToHalfMatchesNumpy) {
  // {float bits, numpy float16 bits}.
  struct Case {
    uint32_t f;
    uint16_t h;
  };
  const Case cases[] = {
      {0x3f801000, 0x3c00},  // 1 + 2^-11: tie between 1 and 1+2^-10 -> even (1)
      {0x3f803000, 0x3c02},  // 1 + 3*2^-11: tie -> even (1 + 2^-9)
      {0x3f801001, 0x3c01},  // just above the tie -> up
      {0x477fe000, 0x7bff},  // 65504, the largest half
      {0x477fefff, 0x7bff},  // just below 65520 -> 65504
      {0x477ff000, 0x7c00},  // 65520: tie -> even, i.e. overflow to inf
      {0x33800000, 0x0001},  // 2^-24, the smallest subnormal
      {0x33000000, 0x0000},  // 2^-25: tie between 0 and 2^-24 -> 0
      {0x33000100, 0x0001},  // just above 2^-25 -> 2^-24
      {0x33400000, 0x0001},  // 3*2^-26 = 0.75 * 2^-24 -> 2^-24
      {0x33a00000, 0x0001},  // 5*2^-26 = 1.25 * 2^-24 -> 2^-24
      {0x38800000, 0x0400},  // 2^-14, the smallest normal
      {0x387fe000, 0x0400},  // 2^-14 - 2^-25: tie -> even (rounds up into the normals)
      {0x387ff000, 0x0400},  // 2^-14 - 2^-26
      {0x387fda40, 0x03ff},  // 6.1e-5, a subnormal
      {0x80000000, 0x8000},  // -0
      {0x3dcccccd, 0x2e66},  // 0.1
      {0xc0490fd0, 0xc248},  // -3.14159
      {0x322bcc77, 0x0000},  // 1e-8 underflows to +0
      {0x501502f9, 0x7c00},  // 1e10 overflows to inf
      {0x7f800000, 0x7c00},  // inf
      {0xff800000, 0xfc00},  // -inf
      {0x45001000, 0x6800},  // 2049: tie -> even (2048)
      {0x45003000, 0x6802},  // 2051: tie -> even (2052)
  };
  for (const Case& c : cases) EXPECT_EQ(FloatToHalf(FromBits(c.f)), c.h) << "float bits 0x" << std::hex << c.f;
}

TEST(Half, NegativeTinyBecomesNegativeZero) {
  EXPECT_EQ(FloatToHalf(-1e-30f), 0x8000);
  EXPECT_EQ(FloatToHalf(-std::numeric_limits<float>::denorm_min()), 0x8000);
}

TEST(Half, NaNStaysQuietNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(IsHalfNaN(FloatToHalf(nan)));
  EXPECT_TRUE(IsHalfNaN(FloatToHalf(-nan)));
  EXPECT_EQ(FloatToHalf(-nan) & 0x8000, 0x8000);
  // A signalling NaN whose payload sits only in the low bits must not become inf.
  EXPECT_TRUE(IsHalfNaN(FloatToHalf(FromBits(0x7f800001))));
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7c01)));
  EXPECT_TRUE(std::isnan(RoundToHalf(nan)));
}

TEST(Half, RoundToHalf) {
  EXPECT_EQ(RoundToHalf(1.0f + std::ldexp(1.0f, -11)), 1.0f);
  EXPECT_EQ(RoundToHalf(70000.0f), std::numeric_limits<float>::infinity());
  EXPECT_EQ(RoundToHalf(-70000.0f), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(RoundToHalf(3.0f * std::ldexp(1.0f, -25)), std::ldexp(2.0f, -24));  // 1.5 units: tie -> 2
}

TEST(HalfBFloat16, TiesRoundToEven) {
  // bfloat16 keeps 7 mantissa bits: the ulp at 1 is 2^-7, half an ulp 2^-8.
  EXPECT_EQ(FloatToBFloat16(1.0f), 0x3f80);
  EXPECT_EQ(FloatToBFloat16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);      // tie -> even (1)
  EXPECT_EQ(FloatToBFloat16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);  // 1.5 ulps: tie -> 2 ulps
  EXPECT_EQ(FloatToBFloat16(FromBits(0x3f808008)), 0x3f81);             // just above the tie -> up
  EXPECT_EQ(FloatToBFloat16(1.0f + std::ldexp(1.0f, -9)), 0x3f80);      // a quarter ulp -> down
  EXPECT_EQ(FloatToBFloat16(-2.0f), 0xc000);
  EXPECT_EQ(FloatToBFloat16(-0.0f), 0x8000);
}

TEST(HalfBFloat16, OverflowSubnormalAndNaN) {
  // FLT_MAX rounds past the largest bfloat16 (0x7f7f) to inf.
  EXPECT_EQ(FloatToBFloat16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(FloatToBFloat16(std::numeric_limits<float>::infinity()), 0x7f80);
  // A float subnormal keeps its top bits (bfloat16 shares the float exponent).
  EXPECT_EQ(FloatToBFloat16(FromBits(0x00010000)), 0x0001);
  EXPECT_TRUE(std::isnan(BFloat16ToFloat(FloatToBFloat16(FromBits(0x7f800001)))));
  EXPECT_EQ(BFloat16ToFloat(0x4049), FromBits(0x40490000));
  EXPECT_EQ(RoundToBFloat16(3.14159265f), FromBits(0x40490000));  // 0x40490fdb: below the tie
}

TEST(HalfBFloat16, ExhaustiveRoundTripIsIdentity) {
  for (uint32_t b = 0; b <= 0xffffu; ++b) {
    const uint16_t bits = static_cast<uint16_t>(b);
    if ((bits & 0x7f80u) == 0x7f80u && (bits & 0x7fu) != 0) continue;  // NaN
    ASSERT_EQ(FloatToBFloat16(BFloat16ToFloat(bits)), bits) << "bf16 0x" << std::hex << b;
  }
}

}  // namespace
}  // namespace mixq::testing
