// Cast: float -> int truncation and saturation, float16 / bfloat16 rounding,
// integer wrap-around, BOOL, and the errors naming 'to' or 'input'.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

ir::AttrMap To(const std::string& to) {
  ir::AttrMap a;
  a.Set("to", to);
  return a;
}

HostTensor Cast(const std::string& to, const HostTensor& x) {
  return RunOpOrDie(OpKind::kCast, To(to), {x});
}

HostTensor F32(const std::vector<float>& v) {
  return HostTensor::F32({static_cast<int64_t>(v.size())}, v);
}

template <typename T>
HostTensor Of(DataType type, const std::vector<T>& v) {
  return HostTensor::Make(type, {static_cast<int64_t>(v.size())}, v);
}

TEST(Cast, FloatToInt8TruncatesAndSaturates) {
  auto y = Cast("INT8", F32({1.9f, -1.9f, -0.5f, 127.5f, 128, -129, 1e10f, -1e10f, kNaN, kInf, -kInf}));
  EXPECT_EQ(y.dtype, DataType::INT8);
  EXPECT_EQ(y.Values<int8_t>(), (std::vector<int8_t>{1, -1, 0, 127, 127, -128, 127, -128, 0, 127, -128}));
}

TEST(Cast, FloatToUint8AndInt16) {
  EXPECT_EQ(Cast("UINT8", F32({-1, -0.9f, 3.7f, 255.9f, 256, kNaN})).Values<uint8_t>(),
            (std::vector<uint8_t>{0, 0, 3, 255, 255, 0}));
  EXPECT_EQ(Cast("INT16", F32({-32768.9f, 32767.9f, 40000, -1234.5f})).Values<int16_t>(),
            (std::vector<int16_t>{-32768, 32767, 32767, -1234}));
}

TEST(Cast, FloatToInt32AndInt64AtTheirLimits) {
  // 2147483520 is the largest float below 2^31; 2^31 itself is out of range.
  EXPECT_EQ(Cast("INT32", F32({2147483520.0f, 2147483648.0f, -2147483648.0f, -3e9f})).Values<int32_t>(),
            (std::vector<int32_t>{2147483520, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(),
                                  std::numeric_limits<int32_t>::min()}));
  // 2^63 - 2^39 is the largest float below 2^63; -2^63 is exact.
  EXPECT_EQ(
      Cast("INT64", F32({9223371487098961920.0f, 1e19f, -9223372036854775808.0f, -1e19f, kNaN})).Values<int64_t>(),
      (std::vector<int64_t>{9223371487098961920, std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::min(), 0}));
}

TEST(Cast, FloatToFloat16RoundsToNearestEven) {
  // Bits as numpy: 1+2^-11 ties to 1 (0x3c00); 65520 ties up to inf; 0.1 -> 0x2e66; -0 keeps its sign.
  auto y = Cast("FLOAT16", F32({1.0f + 1.0f / 2048, 65520, 0.1f, -0.0f, 65504, 1e-8f}));
  EXPECT_EQ(y.dtype, DataType::FLOAT16);
  EXPECT_EQ(y.Values<uint16_t>(), (std::vector<uint16_t>{0x3c00, 0x7c00, 0x2e66, 0x8000, 0x7bff, 0x0000}));
}

TEST(Cast, Float16ToFloatAndInt) {
  // 0x0001 = 2^-24; 0xd640 = -100; 0x7c00 = inf.
  auto h = Of<uint16_t>(DataType::FLOAT16, {0x3c00, 0x7bff, 0x0001, 0xd640, 0x7c00});
  EXPECT_EQ(Cast("FLOAT32", h).Floats(), (std::vector<float>{1, 65504, std::ldexp(1.0f, -24), -100, kInf}));
  EXPECT_EQ(Cast("INT16", h).Values<int16_t>(), (std::vector<int16_t>{1, 32767, 0, -100, 32767}));
}

TEST(Cast, BFloat16RoundTrips) {
  // 1 + 2^-8 is half a bfloat16 ulp above 1: tie to even (0x3f80); 1 + 3*2^-8 ties up to 0x3f82.
  auto b = Cast("BFLOAT16", F32({1.0f + 1.0f / 256, 1.0f + 3.0f / 256, -2, 3e38f}));
  EXPECT_EQ(b.Values<uint16_t>(), (std::vector<uint16_t>{0x3f80, 0x3f82, 0xc000, 0x7f62}));
  EXPECT_EQ(Cast("FLOAT32", b).Floats(), (std::vector<float>{1, 1.0f + 2.0f / 128, -2, 3.00405527e38f}));
}

TEST(Cast, Float16ToBFloat16AndBack) {
  // half 1 + 2^-10 is a quarter bfloat16 ulp above 1: rounds to 1. half 65504 = 0x477fe000
  // as float, rounds up to 0x4780 (65536) in bfloat16, which overflows half back to inf.
  auto h = Of<uint16_t>(DataType::FLOAT16, {0x3c01, 0x7bff});
  auto b = Cast("BFLOAT16", h);
  EXPECT_EQ(b.Values<uint16_t>(), (std::vector<uint16_t>{0x3f80, 0x4780}));
  EXPECT_EQ(Cast("FLOAT16", b).Values<uint16_t>(), (std::vector<uint16_t>{0x3c00, 0x7c00}));
}

TEST(Cast, IntegerNarrowingWraps) {
  // Two's complement modulo 2^8, as numpy astype: 300 -> 44, -129 -> 127, 128 -> -128.
  EXPECT_EQ(Cast("INT8", Of<int32_t>(DataType::INT32, {300, -129, 128, -5})).Values<int8_t>(),
            (std::vector<int8_t>{44, 127, -128, -5}));
  EXPECT_EQ(Cast("INT8", Of<uint8_t>(DataType::UINT8, {200, 7})).Values<int8_t>(), (std::vector<int8_t>{-56, 7}));
  EXPECT_EQ(Cast("UINT8", Of<int8_t>(DataType::INT8, {-1, 100})).Values<uint8_t>(), (std::vector<uint8_t>{255, 100}));
  EXPECT_EQ(Cast("INT64", Of<int16_t>(DataType::INT16, {-32768, 1})).Values<int64_t>(),
            (std::vector<int64_t>{-32768, 1}));
}

TEST(Cast, IntegerToFloatRoundsToNearest) {
  // 2^24 + 1 ties to the even 2^24; 2^53 + 1 rounds to 2^53 (not via a lossy double path).
  auto y = Cast("FLOAT32", HostTensor::I64({3}, {16777217, (int64_t{1} << 53) + 1, -7}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{16777216.0f, 9007199254740992.0f, -7}));
  // 65519 < 65520 -> 65504 (0x7bff); 70000 -> inf; 2049 ties to 2048 (0x6800).
  EXPECT_EQ(Cast("FLOAT16", Of<int32_t>(DataType::INT32, {65519, 70000, 2049})).Values<uint16_t>(),
            (std::vector<uint16_t>{0x7bff, 0x7c00, 0x6800}));
}

TEST(Cast, ToAndFromBool) {
  // x != 0: NaN and -inf are true, -0 is false.
  EXPECT_EQ(Cast("BOOL", F32({0, -0.0f, 0.5f, kNaN, -kInf})).Values<uint8_t>(), (std::vector<uint8_t>{0, 0, 1, 1, 1}));
  EXPECT_EQ(Cast("BOOL", HostTensor::I64({3}, {0, 5, -1})).Values<uint8_t>(), (std::vector<uint8_t>{0, 1, 1}));
  auto b = Of<uint8_t>(DataType::BOOL, {0, 1});
  EXPECT_EQ(Cast("FLOAT32", b).Floats(), (std::vector<float>{0, 1}));
  EXPECT_EQ(Cast("INT32", b).Values<int32_t>(), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(Cast("FLOAT16", b).Values<uint16_t>(), (std::vector<uint16_t>{0x0000, 0x3c00}));
}

TEST(Cast, SameTypeCopiesAndLowercaseNamesParse) {
  auto x = HostTensor::I64({2, 3}, {1, -2, 3, std::numeric_limits<int64_t>::max(), 5, 6});
  auto y = Cast("int64", x);
  EXPECT_EQ(y.dtype, DataType::INT64);
  EXPECT_EQ(y.shape, (ir::Shape{2, 3}));
  EXPECT_EQ(y.Values<int64_t>(), x.Values<int64_t>());
}

TEST(Cast, DynamicDimsPropagate) {
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(InferOp(OpKind::kCast, To("FLOAT16"), {ops::ValueInfo{DataType::FLOAT32, {-1, 3, -1}}}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 3, -1}));
  EXPECT_EQ(out[0].dtype, DataType::FLOAT16);
}

TEST(Cast, QuantizedAndUnknownTypesAreNamed) {
  std::vector<ops::ValueInfo> out;
  const ops::ValueInfo x{DataType::FLOAT32, {2}};
  Status s = InferOp(OpKind::kCast, To("QINT8"), {x}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'to'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("QINT8"), std::string::npos) << s.message();
  s = InferOp(OpKind::kCast, To("FLOAT64"), {x}, 1, &out);
  EXPECT_NE(s.message().find("'FLOAT64'"), std::string::npos) << s.message();
  s = InferOp(OpKind::kCast, To("FLOAT32"), {ops::ValueInfo{DataType::QINT16, {2}}}, 1, &out);
  EXPECT_NE(s.message().find("'input'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("QINT16"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
