// LayerNorm: goldens from numpy in float64 (checked against the ONNX
// reference evaluator), rounded to float32; compared within 1e-5.
#include <gtest/gtest.h>

#include <cmath>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

constexpr float kTol = 1e-5f;

ir::AttrMap Axis(int64_t axis) {
  ir::AttrMap a;
  a.Set("axis", axis);
  return a;
}

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], kTol) << "element " << i;
}

const HostTensor kX = HostTensor::F32({2, 4}, {1, 2, 3, 4, -1, 0, 1, 10});

TEST(LayerNorm, LastAxisNoBias) {
  // Row 0: mean 2.5, var 1.25, so (x - 2.5) / sqrt(1.25 + 1e-5) = [-1.34164, -0.44721, 0.44721, 1.34164].
  auto y = RunOpOrDie(OpKind::kLayerNorm, {}, {kX, HostTensor::F32({4}, {1, 1, 1, 1}), std::nullopt});
  EXPECT_EQ(y.shape, (ir::Shape{2, 4}));
  ExpectNear(y.Floats(), {-1.34163547f, -0.447211802f, 0.447211802f, 1.34163547f, -0.79772383f, -0.569802761f,
                          -0.341881633f, 1.70940816f});
}

TEST(LayerNorm, BiasInputMayBeAbsentFromTheList) {
  auto y = RunOpOrDie(OpKind::kLayerNorm, {}, {kX, HostTensor::F32({4}, {1, 1, 1, 1})});
  EXPECT_NEAR(y.Floats()[0], -1.34163547f, kTol);
}

TEST(LayerNorm, ScaleAndBias) {
  auto y = RunOpOrDie(OpKind::kLayerNorm, Axis(1),
                      {kX, HostTensor::F32({4}, {0.5f, 1, 2, -1}), HostTensor::F32({4}, {0, 1, 0, -1})});
  ExpectNear(y.Floats(), {-0.670817733f, 0.552788198f, 0.894423604f, -2.34163547f, -0.398861915f, 0.430197269f,
                          -0.683763266f, -2.70940828f});
}

TEST(LayerNorm, SeveralAxesWithBroadcastParams) {
  // x = arange(12)^1.5 as [2,2,3], normalized over axes [1, 3) (6 values a row);
  // scale [3] = [1,2,3] and bias [2,1] = [[0.5],[-0.5]] broadcast to [2,3].
  const std::vector<float> x = {0.0f,        1.0f,        2.82842708f, 5.19615269f, 8.0f,       11.1803398f,
                                14.6969385f, 18.5202579f, 22.6274166f, 27.0f,       31.622776f, 36.482872f};
  auto y = RunOpOrDie(
      OpKind::kLayerNorm, Axis(1),
      {HostTensor::F32({2, 2, 3}, x), HostTensor::F32({3}, {1, 2, 3}), HostTensor::F32({2, 1}, {0.5f, -0.5f})});
  ExpectNear(y.Floats(), {-0.697790325f, -1.38597155f, -0.93128264f, -0.373786956f, 1.18129218f, 4.45303345f,
                          -0.903542876f, -1.2811861f, -0.518687248f, -0.252921462f, 1.23457241f, 4.05800056f});
}

TEST(LayerNorm, LargeMeanDoesNotCancel) {
  // [1e6+1, 1e6+2, 1e6+3]: var 2/3, so (x - mean) / sqrt(2/3 + 1e-5) = [-1.22474, 0, 1.22474].
  auto y = RunOpOrDie(OpKind::kLayerNorm, Axis(0),
                      {HostTensor::F32({3}, {1e6f + 1, 1e6f + 2, 1e6f + 3}), HostTensor::F32({1}, {1})});
  ExpectNear(y.Floats(), {-1.22473574f, 0, 1.22473574f});
}

TEST(LayerNorm, ConstantRowGivesBias) {
  // var 0: (x - mean) = 0 whatever epsilon, so the output is the bias.
  auto y = RunOpOrDie(OpKind::kLayerNorm, {},
                      {HostTensor::F32({1, 5}, {7, 7, 7, 7, 7}), HostTensor::F32({5}, {1, 1, 1, 1, 1}),
                       HostTensor::F32({5}, {1, 2, 3, 4, 5})});
  EXPECT_EQ(y.Floats(), (std::vector<float>{1, 2, 3, 4, 5}));
}

TEST(LayerNorm, EpsilonMatters) {
  // Row [0, 2]: mean 1, var 1. With epsilon 3: (x - 1) / sqrt(4) = [-0.5, 0.5].
  ir::AttrMap a;
  a.Set("epsilon", 3.0f);
  auto y = RunOpOrDie(OpKind::kLayerNorm, a, {HostTensor::F32({2}, {0, 2}), HostTensor::F32({2}, {1, 1})});
  EXPECT_EQ(y.Floats(), (std::vector<float>{-0.5f, 0.5f}));
}

TEST(LayerNorm, OddSizesRowsAreNormalized) {
  std::vector<float> x(3 * 7 * 5);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(static_cast<float>(i)) * 10.0f + static_cast<float>(i);
  auto v =
      RunOpOrDie(OpKind::kLayerNorm, Axis(-2), {HostTensor::F32({3, 7, 5}, x), HostTensor::F32({1}, {1})}).Floats();
  for (int r = 0; r < 3; ++r) {
    double sum = 0, sq = 0;
    for (int j = 0; j < 35; ++j) sum += v[r * 35 + j];
    for (int j = 0; j < 35; ++j) sq += v[r * 35 + j] * v[r * 35 + j];
    EXPECT_NEAR(sum / 35, 0.0, 1e-5);
    EXPECT_NEAR(sq / 35, 1.0, 1e-3);  // epsilon shrinks the variance slightly
  }
}

TEST(LayerNorm, DynamicDimsPropagate) {
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(InferOp(OpKind::kLayerNorm, {},
                      {ops::ValueInfo{DataType::FLOAT32, {-1, -1, 768}}, ops::ValueInfo{DataType::FLOAT32, {768}},
                       ops::ValueInfo{DataType::FLOAT32, {768}}},
                      1, &out)
                  .ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, -1, 768}));
  // A dynamic normalized dim accepts any scale size at inference.
  ASSERT_TRUE(InferOp(OpKind::kLayerNorm, {},
                      {ops::ValueInfo{DataType::FLOAT32, {2, -1}}, ops::ValueInfo{DataType::FLOAT32, {16}}}, 1, &out)
                  .ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{2, -1}));
}

TEST(LayerNorm, ScaleShapeMismatchIsNamed) {
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kLayerNorm, {},
                     {ops::ValueInfo{DataType::FLOAT32, {2, 8}}, ops::ValueInfo{DataType::FLOAT32, {7}}}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'scale' [7]"), std::string::npos) << s.message();
  // Bias with more dims than the normalized block.
  s = InferOp(OpKind::kLayerNorm, {},
              {ops::ValueInfo{DataType::FLOAT32, {2, 8}}, ops::ValueInfo{DataType::FLOAT32, {8}},
               ops::ValueInfo{DataType::FLOAT32, {2, 8}}},
              1, &out);
  EXPECT_NE(s.message().find("'bias'"), std::string::npos) << s.message();
}

TEST(LayerNorm, MissingScaleAndBadAxisAreNamed) {
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kLayerNorm, {}, {ops::ValueInfo{DataType::FLOAT32, {2, 8}}, std::nullopt}, 1, &out);
  EXPECT_NE(s.message().find("scale"), std::string::npos) << s.message();
  s = InferOp(OpKind::kLayerNorm, Axis(2),
              {ops::ValueInfo{DataType::FLOAT32, {2, 8}}, ops::ValueInfo{DataType::FLOAT32, {8}}}, 1, &out);
  EXPECT_NE(s.message().find("'axis'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
