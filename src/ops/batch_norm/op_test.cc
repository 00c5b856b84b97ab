// BatchNorm: shape inference and reference kernel against hand-computed values
// and onnx.reference BatchNormalization goldens (inference mode).
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want, float tolerance) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tolerance) << "at " << i;
}

HostTensor Vec(const std::vector<float>& v) {
  return HostTensor::F32({static_cast<int64_t>(v.size())}, v).Const();
}

TEST(BatchNorm, HandComputedNhwcDefaultAxis) {
  // Channels last (2). epsilon 1: c0 std sqrt(3+1) = 2, c1 std sqrt(0+1) = 1.
  // c0: (3-1)/2*2+0.5 = 2.5, (-1-1)/2*2+0.5 = -1.5; c1: (0+2)*0.5+1 = 2, (4+2)*0.5+1 = 4.
  ir::AttrMap a;
  a.Set("epsilon", 1.0f);
  auto x = HostTensor::F32({1, 1, 2, 2}, {3, 0, -1, 4});
  auto y = RunOpOrDie(OpKind::kBatchNorm, a, {x, Vec({1, -2}), Vec({3, 0}), Vec({2, 0.5f}), Vec({0.5f, 1})});
  EXPECT_EQ(y.shape, (ir::Shape{1, 1, 2, 2}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{2.5f, 2, -1.5f, 4}));
}

TEST(BatchNorm, ChannelAxisOneMatchesOnnx) {
  // (2, 3, 5) input, channel axis 1, default epsilon 1e-5 (onnx.reference golden).
  auto x = HostTensor::F32({2, 3, 5}, {2.04f, -2.56f, 0.42f,  -0.57f, -0.45f, -0.22f, -2.02f, -0.23f, -0.87f, 3.32f,
                                       0.23f, -0.35f, -0.28f, -0.67f, -1.06f, -0.39f, 0.48f,  -0.24f, 0.96f,  -0.2f,
                                       0.02f, 1.55f,  0.55f,  -0.51f, -0.18f, 0.54f,  1.94f,  -0.27f, -0.24f, 1.0f});
  ir::AttrMap a;
  a.Set("axis", int64_t{1});
  auto y = RunOpOrDie(
      OpKind::kBatchNorm, a,
      {x, Vec({0.5f, -1.0f, 0.25f}), Vec({0.5f, 2.0f, 0.01f}), Vec({1.5f, -0.5f, 2.0f}), Vec({0.0f, 1.0f, -3.0f})});
  EXPECT_EQ(y.shape, (ir::Shape{2, 3, 5}));
  ExpectNear(y.Floats(),
             {3.266801f,    -6.491176f,  -0.169704f, -2.26979f,  -2.015234f, 0.7242291f,  1.360624f,  0.7277646f,
              0.9540382f,   -0.5273467f, -3.3998f,   -14.99401f, -13.5947f,  -21.39081f,  -29.18691f, -1.887956f,
              -0.04242601f, -1.569761f,  0.9757975f, -1.484909f, 0.6393765f, 0.09844112f, 0.4519936f, 0.8267593f,
              0.7100869f,   2.797102f,   30.78312f,  -13.3948f,  -12.7951f,  11.99251f},
             1e-4f);
}

TEST(BatchNorm, Rank2LastAxis) {
  // (3, 1): one channel, every row normalized the same: (x - 2) / sqrt(4) * 3 - 1.
  ir::AttrMap a;
  a.Set("epsilon", 0.0f);
  auto y =
      RunOpOrDie(OpKind::kBatchNorm, a, {HostTensor::F32({3, 1}, {2, 4, -2}), Vec({2}), Vec({4}), Vec({3}), Vec({-1})});
  EXPECT_EQ(y.Floats(), (std::vector<float>{-1, 2, -7}));
}

TEST(BatchNorm, DynamicDimsPropagate) {
  ops::ValueInfo p{DataType::FLOAT32, {3}};
  ir::AttrMap a;
  a.Set("axis", int64_t{1});
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(
      InferOp(OpKind::kBatchNorm, a, {ops::ValueInfo{DataType::FLOAT32, {-1, 3, -1, -1}}, p, p, p, p}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 3, -1, -1}));
  // A dynamic channel count is checked when the kernel is prepared.
  ASSERT_TRUE(InferOp(OpKind::kBatchNorm, {}, {ops::ValueInfo{DataType::FLOAT32, {-1, -1}}, p, p, p, p}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, -1}));
}

TEST(BatchNorm, BadInputsAreNamed) {
  ops::ValueInfo x{DataType::FLOAT32, {1, 4, 4, 3}};
  ops::ValueInfo p{DataType::FLOAT32, {3}};
  ops::ValueInfo wrong{DataType::FLOAT32, {4}};
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kBatchNorm, {}, {x, p, wrong, p, p}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'variance'"), std::string::npos) << s.message();
  s = InferOp(OpKind::kBatchNorm, {}, {x, p, p, p, std::nullopt}, 1, &out);
  EXPECT_NE(s.message().find("bias"), std::string::npos) << s.message();
  ir::AttrMap a;
  a.Set("axis", int64_t{4});
  s = InferOp(OpKind::kBatchNorm, a, {x, p, p, p, p}, 1, &out);
  EXPECT_NE(s.message().find("'axis'"), std::string::npos) << s.message();
  ir::AttrMap b;
  b.Set("epsilon", -1.0f);
  s = InferOp(OpKind::kBatchNorm, b, {x, p, p, p, p}, 1, &out);
  EXPECT_NE(s.message().find("'epsilon'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
