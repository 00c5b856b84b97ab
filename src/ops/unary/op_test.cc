// Unary: each op against numpy (float64 math rounded to float32), extremes,
// integer abs / neg, and named errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

ir::AttrMap Op(const std::string& op) {
  ir::AttrMap a;
  a.Set("op", op);
  return a;
}

std::vector<float> Apply(const std::string& op, const std::vector<float>& x) {
  return RunOpOrDie(OpKind::kUnary, Op(op), {HostTensor::F32({static_cast<int64_t>(x.size())}, x)}).Floats();
}

// Relative tolerance: the values span many magnitudes.
void ExpectRelNear(const std::vector<float>& got, const std::vector<float>& want, float rel) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isinf(want[i]))
      EXPECT_EQ(got[i], want[i]) << "element " << i;
    else
      EXPECT_NEAR(got[i], want[i], rel * std::fabs(want[i]) + 1e-30f) << "element " << i;
  }
}

TEST(Unary, Sqrt) {
  auto y = Apply("sqrt", {0, 1, 2, 4, 1e30f, kInf, -1});
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 1.0f);
  EXPECT_NEAR(y[2], 1.41421354f, 1e-7f);
  EXPECT_EQ(y[3], 2.0f);
  EXPECT_NEAR(y[4], 1e15f, 1e8f);
  EXPECT_EQ(y[5], kInf);
  EXPECT_TRUE(std::isnan(y[6]));
}

TEST(Unary, ExpIncludingOverflowAndUnderflow) {
  // numpy float64 exp rounded to float32: exp(89) overflows float32 to inf;
  // exp(-100) = 3.78e-44 is a float32 subnormal.
  ExpectRelNear(Apply("exp", {-1, 0, 1, 10, 88, 89}), {0.36787945f, 1, 2.71828175f, 22026.4648f, 1.65163627e+38f, kInf},
                1e-6f);
  EXPECT_NEAR(Apply("exp", {-100})[0], 3.78350585e-44f, 1e-45f);
  EXPECT_EQ(Apply("exp", {-1e30f})[0], 0.0f);
}

TEST(Unary, Log) {
  ExpectRelNear(Apply("log", {1e-30f, 0.5f, 2.718281828f, 10, 1e30f}),
                {-69.0775528f, -0.693147182f, 0.99999994f, 2.30258512f, 69.0775528f}, 1e-6f);
  auto y = Apply("log", {1, 0, -1});
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], -kInf);
  EXPECT_TRUE(std::isnan(y[2]));
}

TEST(Unary, AbsNegFloat) {
  EXPECT_EQ(Apply("abs", {-3, -0.0f, 2, -kInf}), (std::vector<float>{3, 0, 2, kInf}));
  EXPECT_EQ(Apply("neg", {-3, 0, 2, kInf}), (std::vector<float>{3, -0.0f, -2, -kInf}));
  EXPECT_TRUE(std::signbit(Apply("neg", {0})[0]));
  EXPECT_FALSE(std::signbit(Apply("abs", {-0.0f})[0]));
}

TEST(Unary, Erf) {
  // Python math.erf, rounded to float32.
  auto y = Apply("erf", {-100, -3, -1, -0.5f, 0, 0.5f, 1, 3, 100});
  const std::vector<float> want = {
      -1, -0.999977887f, -0.842700779f, -0.520499885f, 0, 0.520499885f, 0.842700779f, 0.999977887f, 1};
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-6f) << i;
}

TEST(Unary, Reciprocal) {
  auto y = Apply("reciprocal", {2, -4, 0, -0.0f, 3, 1e-39f});
  EXPECT_EQ(y[0], 0.5f);
  EXPECT_EQ(y[1], -0.25f);
  EXPECT_EQ(y[2], kInf);
  EXPECT_EQ(y[3], -kInf);
  EXPECT_NEAR(y[4], 1.0f / 3, 1e-7f);
  EXPECT_EQ(y[5], kInf);  // 1e39 is beyond float range
}

TEST(Unary, IntegerAbsNeg) {
  const int32_t min32 = std::numeric_limits<int32_t>::min();
  auto x = HostTensor::Make(DataType::INT32, {2, 2}, std::vector<int32_t>{-5, 0, 7, min32});
  auto abs = RunOpOrDie(OpKind::kUnary, Op("abs"), {x});
  EXPECT_EQ(abs.dtype, DataType::INT32);
  EXPECT_EQ(abs.shape, (ir::Shape{2, 2}));
  // The most negative value has no positive counterpart: it wraps to itself, as numpy.
  EXPECT_EQ(abs.Values<int32_t>(), (std::vector<int32_t>{5, 0, 7, min32}));
  EXPECT_EQ(RunOpOrDie(OpKind::kUnary, Op("neg"), {x}).Values<int32_t>(), (std::vector<int32_t>{5, 0, -7, min32}));
  auto x64 = HostTensor::I64({3}, {-(int64_t{1} << 40), 3, 0});
  EXPECT_EQ(RunOpOrDie(OpKind::kUnary, Op("neg"), {x64}).Values<int64_t>(),
            (std::vector<int64_t>{int64_t{1} << 40, -3, 0}));
  EXPECT_EQ(RunOpOrDie(OpKind::kUnary, Op("abs"), {x64}).Values<int64_t>(),
            (std::vector<int64_t>{int64_t{1} << 40, 3, 0}));
}

TEST(Unary, OddShapeAndDynamicInference) {
  std::vector<float> x(3 * 7 * 5);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.25f;
  auto y = RunOpOrDie(OpKind::kUnary, Op("sqrt"), {HostTensor::F32({3, 7, 5}, x)});
  EXPECT_EQ(y.shape, (ir::Shape{3, 7, 5}));
  auto v = y.Floats();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_FLOAT_EQ(v[i], std::sqrt(x[i]));

  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(InferOp(OpKind::kUnary, Op("exp"), {ops::ValueInfo{DataType::FLOAT32, {-1, 7}}}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 7}));
}

TEST(Unary, IntegerInputOnlyForAbsNeg) {
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kUnary, Op("exp"), {ops::ValueInfo{DataType::INT32, {2}}}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'input'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("INT32"), std::string::npos) << s.message();
}

TEST(Unary, UnknownOpIsNamed) {
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kUnary, Op("cbrt"), {ops::ValueInfo{DataType::FLOAT32, {2}}}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'cbrt'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'op'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
