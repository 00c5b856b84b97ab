// SPEC §1 quantization math: hand-worked scales and zero points, rounding
// ties, clamping, degenerate / tiny / huge ranges, per-axis tensors, and a
// float32 cross-check against values computed with NumPy.
#include "quant/quant_math.h"

#include <gtest/gtest.h>

#include <cfenv>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace mixq::quant {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Inside the range the round-trip error is at most step / 2; the slack covers
// the two float32 roundings (of x / s and of s * q), each relative 2^-24.
double RoundTripBound(float x, float scale) {
  return 0.5 * scale + (std::fabs(static_cast<double>(x)) + scale) * 4.0 * FLT_EPSILON;
}

void ExpectRoundTrip(float x, float scale, int32_t zero_point, int bits) {
  const float back = Dequantize(Quantize(x, scale, zero_point, bits), scale, zero_point);
  EXPECT_LE(std::fabs(static_cast<double>(back) - x), RoundTripBound(x, scale))
      << "x=" << x << " s=" << scale << " z=" << zero_point << " bits=" << bits;
}

TEST(QuantMath, IntegerRanges) {
  EXPECT_EQ(QMin(8), -128);
  EXPECT_EQ(QMax(8), 127);
  EXPECT_EQ(QMin(16), -32768);
  EXPECT_EQ(QMax(16), 32767);
  EXPECT_TRUE(IsSupportedBits(8));
  EXPECT_TRUE(IsSupportedBits(16));
  EXPECT_FALSE(IsSupportedBits(4));
  EXPECT_FALSE(IsSupportedBits(32));
}

TEST(QuantMath, RoundHalfToEvenTies) {
  EXPECT_EQ(RoundHalfToEven(2.5f), 2);
  EXPECT_EQ(RoundHalfToEven(3.5f), 4);
  EXPECT_EQ(RoundHalfToEven(-2.5f), -2);
  EXPECT_EQ(RoundHalfToEven(-3.5f), -4);
  EXPECT_EQ(RoundHalfToEven(0.5f), 0);
  EXPECT_EQ(RoundHalfToEven(1.5f), 2);
  EXPECT_EQ(RoundHalfToEven(-0.5f), 0);
  EXPECT_EQ(RoundHalfToEven(-1.5f), -2);
  // Just off the tie: the neighbours of 2.5 and -0.5 round to nearest.
  EXPECT_EQ(RoundHalfToEven(std::nextafter(2.5f, 0.0f)), 2);
  EXPECT_EQ(RoundHalfToEven(std::nextafter(2.5f, 3.0f)), 3);
  EXPECT_EQ(RoundHalfToEven(std::nextafter(-0.5f, 0.0f)), 0);
  EXPECT_EQ(RoundHalfToEven(std::nextafter(-0.5f, -1.0f)), -1);
  EXPECT_EQ(RoundHalfToEven(-0.1f), 0);
  EXPECT_EQ(RoundHalfToEven(-0.9f), -1);
  // From 2^23 on every float is an integer.
  EXPECT_EQ(RoundHalfToEven(8388609.0f), 8388609);
  EXPECT_EQ(RoundHalfToEven(8388607.5f), 8388608);
}

TEST(QuantMath, RoundHalfToEvenSaturatesAndHandlesNaN) {
  EXPECT_EQ(RoundHalfToEven(2147483520.0f), 2147483520);  // Largest float below 2^31.
  EXPECT_EQ(RoundHalfToEven(2147483648.0f), INT32_MAX);
  EXPECT_EQ(RoundHalfToEven(-2147483648.0f), INT32_MIN);
  EXPECT_EQ(RoundHalfToEven(3e9f), INT32_MAX);
  EXPECT_EQ(RoundHalfToEven(-3e9f), INT32_MIN);
  EXPECT_EQ(RoundHalfToEven(kInf), INT32_MAX);
  EXPECT_EQ(RoundHalfToEven(-kInf), INT32_MIN);
  EXPECT_EQ(RoundHalfToEven(FLT_MAX), INT32_MAX);
  EXPECT_EQ(RoundHalfToEven(kNaN), 0);
}

// Kernels may run on threads whose rounding mode someone changed; the
// definition must not move with it (std::rint / nearbyint would).
TEST(QuantMath, RoundHalfToEvenIgnoresRoundingMode) {
  const int saved = std::fegetround();
  for (int mode : {FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO}) {
    ASSERT_EQ(std::fesetround(mode), 0);
    volatile float two_and_half = 2.5f;  // volatile: keep the call at run time.
    volatile float minus_three_and_half = -3.5f;
    volatile float near_half = 0.4999999f;
    EXPECT_EQ(RoundHalfToEven(two_and_half), 2) << "mode " << mode;
    EXPECT_EQ(RoundHalfToEven(minus_three_and_half), -4) << "mode " << mode;
    EXPECT_EQ(RoundHalfToEven(near_half), 0) << "mode " << mode;
  }
  std::fesetround(saved);
}

TEST(QuantMath, QuantizeRoundsTiesToEven) {
  // scale 0.5: x / s = 2x exactly, so these are exact ties.
  EXPECT_EQ(Quantize(1.25f, 0.5f, 0, 8), 2);    // 2.5
  EXPECT_EQ(Quantize(1.75f, 0.5f, 0, 8), 4);    // 3.5
  EXPECT_EQ(Quantize(-1.25f, 0.5f, 0, 8), -2);  // -2.5
  EXPECT_EQ(Quantize(-1.75f, 0.5f, 0, 8), -4);  // -3.5
  EXPECT_EQ(Quantize(0.25f, 0.5f, 0, 8), 0);    // 0.5
  EXPECT_EQ(Quantize(0.75f, 0.5f, 0, 8), 2);    // 1.5
  // The zero point is added after rounding: round(2.5) + 1 = 3, not round(3.5) = 4.
  EXPECT_EQ(Quantize(1.25f, 0.5f, 1, 8), 3);
}

TEST(QuantMath, QuantizeClampsToIntegerRange) {
  EXPECT_EQ(Quantize(1e6f, 1.0f, 0, 8), 127);
  EXPECT_EQ(Quantize(-1e6f, 1.0f, 0, 8), -128);
  EXPECT_EQ(Quantize(127.4f, 1.0f, 0, 8), 127);
  EXPECT_EQ(Quantize(-128.4f, 1.0f, 0, 8), -128);
  EXPECT_EQ(Quantize(1e6f, 1.0f, 0, 16), 32767);
  EXPECT_EQ(Quantize(-1e6f, 1.0f, 0, 16), -32768);
  EXPECT_EQ(Quantize(100.0f, 1.0f, 100, 8), 127);  // Clamped after adding z.
  EXPECT_EQ(Quantize(-100.0f, 1.0f, -100, 16), -200);
  EXPECT_EQ(Quantize(kInf, 1.0f, 0, 8), 127);
  EXPECT_EQ(Quantize(-kInf, 1.0f, 0, 16), -32768);
  // x / s overflows to inf; z = p must not overflow int32 when added.
  EXPECT_EQ(Quantize(FLT_MAX, FLT_MIN, 32767, 16), 32767);
  EXPECT_EQ(Quantize(-FLT_MAX, FLT_MIN, -32768, 16), -32768);
}

TEST(QuantMath, QuantizeNaNGivesZeroPoint) {
  EXPECT_EQ(Quantize(kNaN, 0.1f, 0, 8), 0);
  EXPECT_EQ(Quantize(kNaN, 0.1f, -64, 8), -64);
  EXPECT_EQ(Quantize(-kNaN, 0.1f, 1000, 16), 1000);
  EXPECT_EQ(Dequantize(Quantize(kNaN, 0.1f, -64, 8), 0.1f, -64), 0.0f);
}

TEST(QuantMath, DequantizeIsScaleTimesCenteredCode) {
  EXPECT_EQ(Dequantize(10, 0.5f, 2), 4.0f);
  EXPECT_EQ(Dequantize(-128, 0.25f, -128), 0.0f);
  EXPECT_EQ(Dequantize(127, 0.1f, 0), 0.1f * 127.0f);  // Same bits as the float32 product.
  EXPECT_EQ(Dequantize(-32768, 0.37f, 32767), 0.37f * -65535.0f);
}

TEST(QuantMath, SymmetricScaleByHand) {
  float s = 0.0f;
  int32_t z = 7;
  // [-1, 3] int8: s = max(1, 3) / 127 = 3/127, z = 0.
  ASSERT_TRUE(ChooseScaleZeroPoint({-1.0f, 3.0f}, 8, true, &s, &z).ok());
  EXPECT_EQ(s, 3.0f / 127.0f);
  EXPECT_EQ(z, 0);
  // [-4, 2] int8: the larger magnitude is the negative end: s = 4/127.
  ASSERT_TRUE(ChooseScaleZeroPoint({-4.0f, 2.0f}, 8, true, &s, &z).ok());
  EXPECT_EQ(s, 4.0f / 127.0f);
  EXPECT_EQ(Quantize(-4.0f, s, z, 8), -127);  // -n is never reached: the grid is symmetric.
  // [-1, 3] int16: s = 3/32767.
  ASSERT_TRUE(ChooseScaleZeroPoint({-1.0f, 3.0f}, 16, true, &s, &z).ok());
  EXPECT_EQ(s, 3.0f / 32767.0f);
  EXPECT_EQ(z, 0);
  EXPECT_EQ(Quantize(3.0f, s, z, 16), 32767);
}

TEST(QuantMath, AsymmetricScaleZeroPointByHand) {
  float s = 0.0f;
  int32_t z = 0;
  // [-1, 3] int8: s = 4/255 = 0.015686275f; -1 / s = -63.749996f -> round -64;
  // z = -128 - (-64) = -64. 0 maps to the code -64 exactly.
  ASSERT_TRUE(ChooseScaleZeroPoint({-1.0f, 3.0f}, 8, false, &s, &z).ok());
  EXPECT_EQ(s, static_cast<float>(4.0 / 255.0));
  EXPECT_EQ(z, -64);
  EXPECT_EQ(Quantize(0.0f, s, z, 8), -64);
  EXPECT_EQ(Dequantize(-64, s, z), 0.0f);
  EXPECT_EQ(Quantize(-1.0f, s, z, 8), -128);
  EXPECT_EQ(Quantize(3.0f, s, z, 8), 127);
  // [-1, 3] int16: s = 4/65535 = 6.103609e-05f; -1 / s = -16383.75 -> -16384;
  // z = -32768 + 16384 = -16384.
  ASSERT_TRUE(ChooseScaleZeroPoint({-1.0f, 3.0f}, 16, false, &s, &z).ok());
  EXPECT_EQ(s, static_cast<float>(4.0 / 65535.0));
  EXPECT_EQ(z, -16384);
  EXPECT_EQ(Quantize(3.0f, s, z, 16), 32767);
}

TEST(QuantMath, AsymmetricRangeIsWidenedToIncludeZero) {
  float s = 0.0f;
  int32_t z = 0;
  // [2, 6] -> [0, 6]: s = 6/255, z = -128 - round(0 / s) = -128.
  ASSERT_TRUE(ChooseScaleZeroPoint({2.0f, 6.0f}, 8, false, &s, &z).ok());
  EXPECT_EQ(s, static_cast<float>(6.0 / 255.0));
  EXPECT_EQ(z, -128);
  EXPECT_EQ(Quantize(0.0f, s, z, 8), -128);
  // [-6, -2] -> [-6, 0]: -6 / s = -255 exactly, z = -128 + 255 = 127.
  ASSERT_TRUE(ChooseScaleZeroPoint({-6.0f, -2.0f}, 8, false, &s, &z).ok());
  EXPECT_EQ(s, static_cast<float>(6.0 / 255.0));
  EXPECT_EQ(z, 127);
  EXPECT_EQ(Quantize(-6.0f, s, z, 8), -128);
}

TEST(QuantMath, DegenerateRangeGetsUnitScale) {
  for (int bits : {8, 16}) {
    for (bool symmetric : {true, false}) {
      float s = 0.0f;
      int32_t z = 5;
      ASSERT_TRUE(ChooseScaleZeroPoint({0.0f, 0.0f}, bits, symmetric, &s, &z).ok());
      EXPECT_EQ(s, 1.0f);
      EXPECT_EQ(z, 0);
      EXPECT_EQ(Quantize(0.0f, s, z, bits), 0);
    }
  }
  // -0.0 is 0 too.
  float s = 0.0f;
  int32_t z = 5;
  ASSERT_TRUE(ChooseScaleZeroPoint({-0.0f, 0.0f}, 8, false, &s, &z).ok());
  EXPECT_EQ(s, 1.0f);
  EXPECT_EQ(z, 0);
}

TEST(QuantMath, SinglePointNonzeroRange) {
  float s = 0.0f;
  int32_t z = 0;
  // [5, 5] symmetric: s = 5/127, and 5 is exactly the top code.
  ASSERT_TRUE(ChooseScaleZeroPoint({5.0f, 5.0f}, 8, true, &s, &z).ok());
  EXPECT_EQ(s, 5.0f / 127.0f);
  EXPECT_EQ(z, 0);
  EXPECT_EQ(Quantize(5.0f, s, z, 8), 127);
  // [5, 5] asymmetric widens to [0, 5]: s = 5/255, z = -128.
  ASSERT_TRUE(ChooseScaleZeroPoint({5.0f, 5.0f}, 8, false, &s, &z).ok());
  EXPECT_EQ(s, static_cast<float>(5.0 / 255.0));
  EXPECT_EQ(z, -128);
  ExpectRoundTrip(5.0f, s, z, 8);
}

TEST(QuantMath, TinyAndHugeRangesRoundTrip) {
  const std::vector<Range> ranges = {
      {-1e-30f, 1e-30f}, {1e-30f, 3e-30f}, {-2e-30f, 0.0f}, {-1e30f, 1e30f}, {1e30f, 3e30f}, {-3e30f, 1e30f},
  };
  for (const Range& r : ranges) {
    for (int bits : {8, 16}) {
      for (bool symmetric : {true, false}) {
        float s = 0.0f;
        int32_t z = 0;
        ASSERT_TRUE(ChooseScaleZeroPoint(r, bits, symmetric, &s, &z).ok());
        EXPECT_TRUE(std::isfinite(s));
        EXPECT_GT(s, 0.0f);
        const float mid = r.min * 0.5f + r.max * 0.5f;
        for (float x : {r.min, r.max, mid}) ExpectRoundTrip(x, s, z, bits);
      }
    }
  }
}

// Subnormal scales would become 0 under flush-to-zero: they are raised to FLT_MIN.
TEST(QuantMath, SubnormalScaleIsRaisedToFltMin) {
  float s = 0.0f;
  int32_t z = 0;
  ASSERT_TRUE(ChooseScaleZeroPoint({-1e-40f, 1e-40f}, 8, true, &s, &z).ok());
  EXPECT_EQ(s, FLT_MIN);
  EXPECT_EQ(z, 0);
  ASSERT_TRUE(ChooseScaleZeroPoint({0.0f, std::numeric_limits<float>::denorm_min()}, 16, false, &s, &z).ok());
  EXPECT_EQ(s, FLT_MIN);
  EXPECT_EQ(z, -32768);
  ExpectRoundTrip(1e-40f, FLT_MIN, 0, 8);
}

TEST(QuantMath, FullFloatRangeStaysFinite) {
  float s = 0.0f;
  int32_t z = 0;
  // max - min overflows float but not the double used for the scale.
  ASSERT_TRUE(ChooseScaleZeroPoint({-FLT_MAX, FLT_MAX}, 8, false, &s, &z).ok());
  EXPECT_TRUE(std::isfinite(s));
  EXPECT_EQ(z, 0);  // -FLT_MAX / s = -127.5 -> -128 (even); z = -128 + 128.
  // s * -128 is just beyond FLT_MAX: saturated, not -inf.
  EXPECT_EQ(Dequantize(-128, s, z), -FLT_MAX);
  EXPECT_EQ(Quantize(-FLT_MAX, s, z, 8), -128);
  ExpectRoundTrip(FLT_MAX, s, z, 8);
  ASSERT_TRUE(ChooseScaleZeroPoint({-FLT_MAX, FLT_MAX}, 16, true, &s, &z).ok());
  EXPECT_EQ(s, FLT_MAX / 32767.0f);
  ExpectRoundTrip(-FLT_MAX, s, z, 16);
}

TEST(QuantMath, BadRangesAreRejectedByName) {
  float s = 0.0f;
  int32_t z = 0;
  Status status = ChooseScaleZeroPoint({kNaN, 1.0f}, 8, true, &s, &z);
  EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.message().find("nan"), std::string::npos) << status.message();
  status = ChooseScaleZeroPoint({-1.0f, kInf}, 8, false, &s, &z);
  EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.message().find("inf"), std::string::npos) << status.message();
  status = ChooseScaleZeroPoint({3.0f, 2.5f}, 16, false, &s, &z);
  EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.message().find("3"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("2.5"), std::string::npos) << status.message();
  // Neighbouring floats must still print differently.
  status = ChooseScaleZeroPoint({std::nextafter(1.0f, 2.0f), 1.0f}, 8, true, &s, &z);
  EXPECT_NE(status.message().find("1.0000001"), std::string::npos) << status.message();
  status = ChooseScaleZeroPoint({0.0f, 1.0f}, 4, true, &s, &z);
  EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.message().find("4"), std::string::npos) << status.message();
}

TEST(QuantMath, MakeQuantParamsPerTensorAndPerAxis) {
  QuantParams p;
  ASSERT_TRUE(MakeQuantParams({{-1.0f, 3.0f}}, 8, false, kPerTensor, &p).ok());
  EXPECT_FALSE(p.per_axis());
  EXPECT_EQ(p.channels(), 1u);
  EXPECT_EQ(p.zero_points[0], -64);
  EXPECT_EQ(QuantizationStep(p, 0), static_cast<float>(4.0 / 255.0));
  EXPECT_TRUE(ValidateQuantParams(p).ok());

  ASSERT_TRUE(MakeQuantParams({{-1.0f, 1.0f}, {0.0f, 0.0f}, {-2.0f, 0.5f}}, 16, true, 0, &p).ok());
  EXPECT_TRUE(p.per_axis());
  EXPECT_EQ(p.channels(), 3u);
  EXPECT_EQ(p.scales[0], 1.0f / 32767.0f);
  EXPECT_EQ(p.scales[1], 1.0f);
  EXPECT_EQ(p.scales[2], 2.0f / 32767.0f);
  EXPECT_EQ(QuantizationStep(p, 2), 2.0f / 32767.0f);
  EXPECT_EQ(p.zero_points, (std::vector<int32_t>{0, 0, 0}));
}

TEST(QuantMath, MakeQuantParamsErrors) {
  QuantParams p;
  EXPECT_EQ(MakeQuantParams({}, 8, true, kPerTensor, &p).code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(MakeQuantParams({{0, 1}, {0, 2}}, 8, true, kPerTensor, &p).code(), StatusCode::INVALID_ARGUMENT);
  const Status status = MakeQuantParams({{0, 1}, {2, 1}}, 8, true, 0, &p);
  EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.message().find("range 1"), std::string::npos) << status.message();
}

TEST(QuantMath, QuantizeTensorPerAxisByHand) {
  // x = [[-1, 0, 2], [4, -8, 1]].
  const std::vector<float> x = {-1, 0, 2, 4, -8, 1};
  const std::vector<int64_t> shape = {2, 3};
  // Axis 0, symmetric: row scales 0.5 and 0.25 -> [[-2, 0, 4], [16, -32, 4]].
  QuantParams rows{8, true, 0, {0.5f, 0.25f}, {0, 0}};
  std::vector<int8_t> q8(6);
  ASSERT_TRUE(QuantizeTensor(x.data(), shape, rows, q8.data()).ok());
  EXPECT_EQ(q8, (std::vector<int8_t>{-2, 0, 4, 16, -32, 4}));
  std::vector<float> back(6);
  ASSERT_TRUE(DequantizeTensor(q8.data(), shape, rows, back.data()).ok());
  EXPECT_EQ(back, x);  // Every value is on its row's grid.

  // Axis 1, asymmetric: column (scale, z) = (0.5, 1), (1, -2), (2, 3):
  // col 0: -1/0.5 + 1 = -1, 4/0.5 + 1 = 9; col 1: 0 - 2 = -2, -8 - 2 = -10;
  // col 2: 2/2 + 3 = 4, round(1/2 = 0.5) = 0 (tie to even) + 3 = 3.
  QuantParams cols{16, false, 1, {0.5f, 1.0f, 2.0f}, {1, -2, 3}};
  std::vector<int16_t> q16(6);
  ASSERT_TRUE(QuantizeTensor(x.data(), shape, cols, q16.data()).ok());
  EXPECT_EQ(q16, (std::vector<int16_t>{-1, -2, 4, 9, -10, 3}));
  ASSERT_TRUE(DequantizeTensor(q16.data(), shape, cols, back.data()).ok());
  EXPECT_EQ(back, (std::vector<float>{-1, 0, 2, 4, -8, 0}));  // 1 -> 0: error 1 = step/2.

  // Axis -1 is the same axis as 1 for a rank-2 tensor.
  cols.axis = -1;
  std::vector<int16_t> q16_neg(6);
  ASSERT_TRUE(QuantizeTensor(x.data(), shape, cols, q16_neg.data()).ok());
  EXPECT_EQ(q16_neg, q16);
}

TEST(QuantMath, QuantizeTensorPerTensorAndEmpty) {
  const std::vector<float> x = {-1.0f, 3.0f, 0.0f, kNaN};
  QuantParams p;
  ASSERT_TRUE(MakeQuantParams({MinMax(x.data(), 4)}, 8, false, kPerTensor, &p).ok());
  std::vector<int8_t> q(4);
  ASSERT_TRUE(QuantizeTensor(x.data(), {2, 2}, p, q.data()).ok());
  EXPECT_EQ(q, (std::vector<int8_t>{-128, 127, -64, -64}));  // NaN -> z.
  // A zero-size tensor is fine, even with null pointers.
  EXPECT_TRUE(QuantizeTensor(nullptr, {0, 3}, p, nullptr).ok());
  // Rank 0 is one element.
  float scalar = 3.0f;
  int8_t q_scalar = 0;
  ASSERT_TRUE(QuantizeTensor(&scalar, {}, p, &q_scalar).ok());
  EXPECT_EQ(q_scalar, 127);
}

TEST(QuantMath, QuantizeTensorErrors) {
  const std::vector<float> x(6, 1.0f);
  std::vector<int8_t> q(6);
  QuantParams p{8, true, 0, {0.5f, 0.25f, 1.0f}, {0, 0, 0}};
  Status status = QuantizeTensor(x.data(), {2, 3}, p, q.data());
  EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.message().find("3 scales"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("2 channels"), std::string::npos) << status.message();
  status = DequantizeTensor(q.data(), {2, 3}, p, nullptr);
  EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT);

  p.axis = 2;
  status = QuantizeTensor(x.data(), {2, 3}, p, q.data());
  EXPECT_NE(status.message().find("axis 2"), std::string::npos) << status.message();
  p.axis = -3;
  EXPECT_EQ(QuantizeTensor(x.data(), {2, 3}, p, q.data()).code(), StatusCode::INVALID_ARGUMENT);

  const QuantParams zero_scale{8, true, kPerTensor, {0.0f}, {0}};
  EXPECT_EQ(QuantizeTensor(x.data(), {6}, zero_scale, q.data()).code(), StatusCode::INVALID_ARGUMENT);
  const QuantParams nan_scale{8, true, kPerTensor, {kNaN}, {0}};
  EXPECT_EQ(ValidateQuantParams(nan_scale).code(), StatusCode::INVALID_ARGUMENT);
  const QuantParams z_out_of_range{8, false, kPerTensor, {1.0f}, {128}};
  EXPECT_EQ(ValidateQuantParams(z_out_of_range).code(), StatusCode::INVALID_ARGUMENT);
  const QuantParams symmetric_with_z{8, true, kPerTensor, {1.0f}, {3}};
  EXPECT_EQ(ValidateQuantParams(symmetric_with_z).code(), StatusCode::INVALID_ARGUMENT);
  const QuantParams two_scales_per_tensor{8, true, kPerTensor, {1.0f, 1.0f}, {0, 0}};
  EXPECT_EQ(ValidateQuantParams(two_scales_per_tensor).code(), StatusCode::INVALID_ARGUMENT);
  const QuantParams count_mismatch{16, false, 0, {1.0f, 1.0f}, {0}};
  EXPECT_EQ(ValidateQuantParams(count_mismatch).code(), StatusCode::INVALID_ARGUMENT);
  const QuantParams bad_bits{12, true, kPerTensor, {1.0f}, {0}};
  EXPECT_EQ(ValidateQuantParams(bad_bits).code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(QuantizeTensor(x.data(), {-1, 3}, QuantParams{8, true, kPerTensor, {1.0f}, {0}}, q.data()).code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST(QuantMath, RandomRoundTripWithinHalfStep) {
  std::mt19937 gen(20240611);
  const std::vector<Range> ranges = {{-1.0f, 3.0f}, {2.0f, 6.0f}, {-7.5f, -0.25f}, {-0.001f, 0.002f}, {-300, 300}};
  for (int bits : {8, 16}) {
    for (bool symmetric : {true, false}) {
      for (const Range& r : ranges) {
        float s = 0.0f;
        int32_t z = 0;
        ASSERT_TRUE(ChooseScaleZeroPoint(r, bits, symmetric, &s, &z).ok());
        std::uniform_real_distribution<float> dist(r.min, r.max);
        for (int i = 0; i < 2000; ++i) ExpectRoundTrip(dist(gen), s, z, bits);
      }
    }
  }
}

TEST(QuantMath, MinMaxIgnoresNaN) {
  const std::vector<float> x = {kNaN, 2.0f, -3.0f, kNaN, 7.0f};
  const Range r = MinMax(x.data(), 5);
  EXPECT_EQ(r.min, -3.0f);
  EXPECT_EQ(r.max, 7.0f);
  const Range empty = MinMax(nullptr, 0);
  EXPECT_EQ(empty.min, 0.0f);
  EXPECT_EQ(empty.max, 0.0f);
  const std::vector<float> nans = {kNaN, kNaN};
  EXPECT_EQ(MinMax(nans.data(), 2).max, 0.0f);
  const std::vector<float> positive = {4.0f, 5.0f};  // Not widened here: that is the scale's job.
  EXPECT_EQ(MinMax(positive.data(), 2).min, 4.0f);
  const std::vector<float> with_inf = {1.0f, -kInf};  // Kept, so ChooseScaleZeroPoint names it.
  EXPECT_EQ(MinMax(with_inf.data(), 2).min, -kInf);
}

TEST(QuantMath, PerAxisMinMaxOnePerOutputChannel) {
  // Conv weights [O=2, I=2, K=2] (OIK): one range per kernel o, covering both
  // of its input channels, not one per (o, i).
  const std::vector<float> w = {1,  -2,   3, 0.5f,  // o = 0: i0 = {1, -2}, i1 = {3, 0.5}
                                -4, kNaN, 6, -1};   // o = 1: i0 = {-4, NaN}, i1 = {6, -1}
  std::vector<Range> ranges;
  ASSERT_TRUE(PerAxisMinMax(w.data(), {2, 2, 2}, 0, &ranges).ok());
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0].min, -2.0f);
  EXPECT_EQ(ranges[0].max, 3.0f);
  EXPECT_EQ(ranges[1].min, -4.0f);
  EXPECT_EQ(ranges[1].max, 6.0f);
  // Middle axis (e.g. ConvTranspose IOHW output channels): strided slices.
  ASSERT_TRUE(PerAxisMinMax(w.data(), {2, 2, 2}, 1, &ranges).ok());
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0].min, -4.0f);  // {1, -2, -4, NaN}
  EXPECT_EQ(ranges[0].max, 1.0f);
  EXPECT_EQ(ranges[1].min, -1.0f);  // {3, 0.5, 6, -1}
  EXPECT_EQ(ranges[1].max, 6.0f);
  // Last axis, negative (MatMul weights [K, N] per output column).
  ASSERT_TRUE(PerAxisMinMax(w.data(), {4, 2}, -1, &ranges).ok());
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0].min, -4.0f);  // {1, 3, -4, 6}
  EXPECT_EQ(ranges[0].max, 6.0f);
  EXPECT_EQ(ranges[1].min, -2.0f);  // {-2, 0.5, NaN, -1}
  EXPECT_EQ(ranges[1].max, 0.5f);
  EXPECT_EQ(PerAxisMinMax(w.data(), {4, 2}, 2, &ranges).code(), StatusCode::INVALID_ARGUMENT);

  // Straight into per-axis params, then a per-axis quantize of the same tensor.
  QuantParams p;
  ASSERT_TRUE(PerAxisMinMax(w.data(), {2, 4}, 0, &ranges).ok());
  ASSERT_TRUE(MakeQuantParams(ranges, 8, true, 0, &p).ok());
  EXPECT_EQ(p.scales[0], 3.0f / 127.0f);
  EXPECT_EQ(p.scales[1], 6.0f / 127.0f);
  std::vector<int8_t> q(8);
  ASSERT_TRUE(QuantizeTensor(w.data(), {2, 4}, p, q.data()).ok());
  EXPECT_EQ(q[2], 127);  // 3 is the top of kernel 0.
  EXPECT_EQ(q[6], 127);  // 6 is the top of kernel 1.
  EXPECT_EQ(q[5], 0);    // NaN -> zero point.
}

TEST(QuantMath, DequantizeAccumulatorInDouble) {
  EXPECT_EQ(DequantizeAccumulator(0, 0.1f, 0.2f), 0.0f);
  EXPECT_EQ(DequantizeAccumulator(1000, 0.5f, 0.25f), 125.0f);
  EXPECT_EQ(DequantizeAccumulator(-7, 0.1f, 0.3f),
            static_cast<float>(-7.0 * static_cast<double>(0.1f) * static_cast<double>(0.3f)));
  // The documented order and precision, for accumulators beyond float's 24-bit mantissa.
  std::mt19937 gen(7);
  std::uniform_int_distribution<int64_t> acc_dist(-(int64_t{1} << 40), int64_t{1} << 40);
  std::uniform_real_distribution<float> scale_dist(1e-4f, 1e-1f);
  for (int i = 0; i < 1000; ++i) {
    const int64_t acc = acc_dist(gen);
    const float in_scale = scale_dist(gen);
    const float w_scale = scale_dist(gen);
    const double exact = static_cast<double>(acc) * static_cast<double>(in_scale) * static_cast<double>(w_scale);
    ASSERT_EQ(DequantizeAccumulator(acc, in_scale, w_scale), static_cast<float>(exact)) << acc;
  }
  EXPECT_EQ(DequantizeAccumulator(INT64_MAX, FLT_MAX, 2.0f), FLT_MAX);  // Saturated, not inf.
  EXPECT_EQ(DequantizeAccumulator(INT64_MIN, FLT_MAX, 2.0f), -FLT_MAX);
}

// Expected codes from NumPy float32:
//   np.clip(np.round(np.float32(x) / np.float32(s)) + z, n, p)
// The first eight are ties only after float32 division (the float64 quotient
// is not k + 0.5); the next four round differently with x * (1 / s).
struct NumpyCase {
  float x;
  float scale;
  int32_t zero_point;
  int bits;
  int32_t expected;
};

TEST(QuantMath, MatchesNumpyFloat32Reference) {
  const NumpyCase cases[] = {
      {11.42875f, 0.19536325f, 4, 8, 62},          // x/s = 58.5
      {-2.3088405f, 0.053076793f, 1, 8, -43},      // x/s = -43.5
      {-0.52675337f, 0.024500156f, -5, 8, -27},    // x/s = -21.5
      {1.6943465f, 0.049111493f, 2, 8, 36},        // x/s = 34.5
      {0.34753102f, 0.053466313f, 2, 8, 8},        // x/s = 6.5
      {-0.9177322f, 0.12236429f, -3, 8, -11},      // x/s = -7.5
      {3.0250611f, 0.17286064f, 3, 8, 21},         // x/s = 17.5
      {5.88561f, 0.13530138f, -4, 8, 40},          // x/s = 43.5
      {-9.316131f, 0.0056036874f, 0, 16, -1663},   // x/s = -1662.5001220703125
      {5.053546f, 0.10209184f, 0, 16, 49},         // x/s = 49.499996185302734
      {7.5558305f, 0.10142054f, 0, 16, 75},        // x/s = 74.50000762939453
      {-5.5034204f, 0.0012131423f, 0, 16, -4537},  // x/s = -4536.50048828125
      {-17.8944f, 0.3426885f, -92, 8, -128},       // x/s = -52.217681884765625
      {27.92638f, 0.29578435f, 21, 8, 115},        // x/s = 94.41466522216797
      {-66.53247f, 0.7482257f, 53, 8, -36},        // x/s = -88.92032623291016
      {19.840836f, 0.5284113f, 61, 8, 99},         // x/s = 37.54808807373047
      {1000.0f, 0.5f, 3, 8, 127},                  // x/s = 2000
      {-1000.0f, 0.5f, -3, 8, -128},               // x/s = -2000
      {40000.0f, 0.25f, 100, 16, 32767},           // x/s = 160000
      {-12345.678f, 0.37f, -2000, 16, -32768},     // x/s = -33366.6953125
  };
  for (const NumpyCase& c : cases) {
    EXPECT_EQ(Quantize(c.x, c.scale, c.zero_point, c.bits), c.expected)
        << "x=" << c.x << " s=" << c.scale << " z=" << c.zero_point << " bits=" << c.bits;
  }
}

}  // namespace
}  // namespace mixq::quant
