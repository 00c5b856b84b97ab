// Activation: every type against hand-computed or numpy (float64, then
// rounded to float32) values; transcendental ones within 1e-6 absolute.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

constexpr float kTol = 1e-6f;

// The 11 inputs every transcendental test uses, including large |x|.
const std::vector<float> kX = {-100, -20, -3, -1, -0.5f, 0, 0.5f, 1, 3, 20, 100};

ir::AttrMap Type(const std::string& type) {
  ir::AttrMap a;
  a.Set("type", type);
  return a;
}

std::vector<float> Act(const ir::AttrMap& attrs, const std::vector<float>& x) {
  auto y = RunOpOrDie(OpKind::kActivation, attrs, {HostTensor::F32({static_cast<int64_t>(x.size())}, x)});
  return y.Floats();
}

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want, float tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

TEST(Activation, Relu) {
  auto y = RunOpOrDie(OpKind::kActivation, Type("relu"), {HostTensor::F32({2, 3}, {-2, -0.5f, 0, 0.5f, 3, 1e30f})});
  EXPECT_EQ(y.shape, (ir::Shape{2, 3}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{0, 0, 0, 0.5f, 3, 1e30f}));
}

TEST(Activation, DefaultTypeIsRelu) {
  EXPECT_EQ(Act({}, {-1, 2}), (std::vector<float>{0, 2}));
}

TEST(Activation, Relu6) {
  EXPECT_EQ(Act(Type("relu6"), {-1, 0, 3, 6, 7, 1e9f}), (std::vector<float>{0, 0, 3, 6, 6, 6}));
}

TEST(Activation, ClipDefaultsAreUnbounded) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(Act(Type("clip"), {-inf, -1e30f, 0, 1e30f, inf}), (std::vector<float>{-inf, -1e30f, 0, 1e30f, inf}));
}

TEST(Activation, ClipWithBounds) {
  ir::AttrMap a = Type("clip");
  a.Set("alpha", -1.5f);
  a.Set("beta", 2.0f);
  EXPECT_EQ(Act(a, {-3, -1.5f, 0, 2, 2.5f}), (std::vector<float>{-1.5f, -1.5f, 0, 2, 2}));
  // Only a lower bound: beta stays +inf.
  ir::AttrMap lower = Type("clip");
  lower.Set("alpha", 0.0f);
  EXPECT_EQ(Act(lower, {-3, 1e30f}), (std::vector<float>{0, 1e30f}));
}

TEST(Activation, LeakyRelu) {
  // Default slope 0.01: -200 -> -2, -1 -> -0.01.
  EXPECT_EQ(Act(Type("leaky_relu"), {-200, -1, 0, 5}), (std::vector<float>{-2, -0.01f, 0, 5}));
  ir::AttrMap a = Type("leaky_relu");
  a.Set("alpha", 0.5f);
  EXPECT_EQ(Act(a, {-4, 4}), (std::vector<float>{-2, 4}));
}

TEST(Activation, Sigmoid) {
  ExpectNear(Act(Type("sigmoid"), kX),
             {3.78350585e-44f, 2.06115369e-09f, 0.0474258736f, 0.268941432f, 0.377540678f, 0.5f, 0.622459352f,
              0.731058598f, 0.952574134f, 1, 1},
             kTol);
  // Extremes stay finite and exact at the rails.
  EXPECT_EQ(Act(Type("sigmoid"), {-1e30f, 1e30f}), (std::vector<float>{0, 1}));
}

TEST(Activation, Tanh) {
  ExpectNear(Act(Type("tanh"), kX),
             {-1, -1, -0.995054781f, -0.761594176f, -0.462117165f, 0, 0.462117165f, 0.761594176f, 0.995054781f, 1, 1},
             kTol);
  EXPECT_EQ(Act(Type("tanh"), {-1e30f, 1e30f}), (std::vector<float>{-1, 1}));
}

TEST(Activation, HardSigmoid) {
  // Defaults: 0.2 x + 0.5 clamped to [0, 1]: -3 -> -0.1 -> 0; -1 -> 0.3; 1 -> 0.7; 3 -> 1.1 -> 1.
  ExpectNear(Act(Type("hard_sigmoid"), {-3, -1, 0, 1, 3}), {0, 0.3f, 0.5f, 0.7f, 1}, kTol);
  ir::AttrMap a = Type("hard_sigmoid");
  a.Set("alpha", 0.5f);
  a.Set("beta", 0.0f);
  // 0.5 x clamped: -1 -> 0; 1 -> 0.5; 4 -> 1.
  EXPECT_EQ(Act(a, {-1, 1, 4}), (std::vector<float>{0, 0.5f, 1}));
}

TEST(Activation, HardSwish) {
  // x * clamp(x/6 + 0.5, 0, 1): -4 -> 0; -3 -> 0; -1 -> -1/3; 1 -> 2/3; 3 -> 3; 5 -> 5.
  ExpectNear(Act(Type("hard_swish"), {-4, -3, -1, 0, 1, 3, 5}), {0, 0, -1.0f / 3, 0, 2.0f / 3, 3, 5}, kTol);
}

TEST(Activation, Silu) {
  ExpectNear(Act(Type("silu"), kX),
             {-3.72044742e-42f, -4.12230712e-08f, -0.142277613f, -0.268941432f, -0.188770339f, 0, 0.311229676f,
              0.731058598f, 2.85772228f, 20, 100},
             kTol);
}

TEST(Activation, GeluErf) {
  ExpectNear(Act(Type("gelu_erf"), kX),
             {0, 0, -0.00404969417f, -0.158655256f, -0.154268771f, 0, 0.345731229f, 0.841344774f, 2.99595022f, 20, 100},
             kTol);
}

TEST(Activation, GeluTanh) {
  ExpectNear(Act(Type("gelu_tanh"), kX),
             {0, 0, -0.00363739207f, -0.158808008f, -0.154285997f, 0, 0.345714003f, 0.841192007f, 2.99636269f, 20, 100},
             kTol);
}

TEST(Activation, NaNPropagatesExceptThroughClamps) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const char* type : {"leaky_relu", "sigmoid", "tanh", "hard_sigmoid", "hard_swish", "silu", "gelu_erf",
                           "gelu_tanh"})
    EXPECT_TRUE(std::isnan(Act(Type(type), {nan})[0])) << type;
}

// relu / relu6 / clip are max(x, lo) then min(., hi) in maxps / minps order
// (ops/clamp.h, docs/reliability.md): NaN becomes the lower bound, as in
// oneDNN's fused eltwise post-ops, and -0.0 becomes +0.0 under relu.
TEST(Activation, ClampsMapNaNToTheLowerBound) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(Act(Type("relu"), {nan})[0], 0.0f);
  EXPECT_EQ(Act(Type("relu6"), {nan})[0], 0.0f);
  ir::AttrMap clip = Type("clip");
  clip.Set("alpha", -1.5f);
  clip.Set("beta", 2.0f);
  EXPECT_EQ(Act(clip, {nan, -7.0f, 0.5f, 9.0f}), (std::vector<float>{-1.5f, -1.5f, 0.5f, 2.0f}));
  ir::AttrMap only_max = Type("clip");
  only_max.Set("beta", 2.0f);
  EXPECT_EQ(Act(only_max, {nan})[0], -inf);  // the unset lower bound
  EXPECT_FALSE(std::signbit(Act(Type("relu"), {-0.0f})[0]));
  EXPECT_FALSE(std::signbit(Act(Type("relu6"), {-0.0f})[0]));
  EXPECT_TRUE(std::signbit(Act(Type("leaky_relu"), {-0.0f})[0]));  // slope * -0.0 is not taken: x < 0 is false
}

TEST(Activation, OddShapeKeepsShape) {
  std::vector<float> x(3 * 5 * 7);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) - 50.0f;
  auto y = RunOpOrDie(OpKind::kActivation, Type("relu6"), {HostTensor::F32({3, 5, 7}, x)});
  EXPECT_EQ(y.shape, (ir::Shape{3, 5, 7}));
  auto v = y.Floats();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(v[i], std::min(std::max(x[i], 0.0f), 6.0f));
}

TEST(Activation, DynamicDimsPropagate) {
  ops::ValueInfo x{DataType::FLOAT32, {-1, 16, -1}};
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(InferOp(OpKind::kActivation, Type("gelu_erf"), {x}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 16, -1}));
  EXPECT_EQ(out[0].dtype, DataType::FLOAT32);
}

TEST(Activation, UnknownTypeIsNamed) {
  ops::ValueInfo x{DataType::FLOAT32, {4}};
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kActivation, Type("swishy"), {x}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'swishy'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'type'"), std::string::npos) << s.message();
}

TEST(Activation, NonFloatInputIsNamed) {
  ops::ValueInfo x{DataType::INT32, {4}};
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kActivation, Type("relu"), {x}, 1, &out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'input'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("INT32"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
