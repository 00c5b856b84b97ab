// Softmax: numpy goldens (float64 softmax rounded to float32), large inputs
// that would overflow a naive exp, axis handling and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

constexpr float kTol = 1e-6f;

ir::AttrMap Axis(int64_t axis) {
  ir::AttrMap a;
  a.Set("axis", axis);
  return a;
}

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], kTol) << "element " << i;
}

// softmax([1, 2, 3]) = [0.0900305733, 0.244728476, 0.665240943].
const std::vector<float> kSoft123 = {0.0900305733f, 0.244728476f, 0.665240943f};

TEST(Softmax, LastAxisIsTheDefault) {
  auto y = RunOpOrDie(OpKind::kSoftmax, {}, {HostTensor::F32({2, 3}, {1, 2, 3, 0, 0, 0})});
  EXPECT_EQ(y.shape, (ir::Shape{2, 3}));
  auto v = y.Floats();
  ExpectNear({v[0], v[1], v[2]}, kSoft123);
  ExpectNear({v[3], v[4], v[5]}, {1.0f / 3, 1.0f / 3, 1.0f / 3});
}

TEST(Softmax, LargeInputsDoNotOverflow) {
  // Shifted by 1000 the row gives the same result; [-1000, 0, 1000] puts all
  // mass on the last element; huge equal values split evenly.
  auto y = RunOpOrDie(OpKind::kSoftmax, Axis(1),
                      {HostTensor::F32({3, 3}, {1000, 1001, 1002, -1000, 0, 1000, 3e38f, 3e38f, -3e38f})});
  auto v = y.Floats();
  ExpectNear({v[0], v[1], v[2]}, kSoft123);
  ExpectNear({v[3], v[4], v[5]}, {0, 0, 1});
  ExpectNear({v[6], v[7], v[8]}, {0.5f, 0.5f, 0});
  for (float f : v) EXPECT_FALSE(std::isnan(f));
}

TEST(Softmax, MiddleAxis) {
  // [2,3,2] over axis 1: x = 0.5 * arange(12), so along axis 1 the values in
  // each column step by 1 (e.g. 0, 1, 2), giving kSoft123 in both columns.
  std::vector<float> x(12);
  for (int i = 0; i < 12; ++i) x[i] = 0.5f * static_cast<float>(i);
  auto y = RunOpOrDie(OpKind::kSoftmax, Axis(1), {HostTensor::F32({2, 3, 2}, x)});
  const float a = kSoft123[0], b = kSoft123[1], c = kSoft123[2];
  ExpectNear(y.Floats(), {a, a, b, b, c, c, a, a, b, b, c, c});
  // The same with a negative axis.
  ExpectNear(RunOpOrDie(OpKind::kSoftmax, Axis(-2), {HostTensor::F32({2, 3, 2}, x)}).Floats(),
             {a, a, b, b, c, c, a, a, b, b, c, c});
}

TEST(Softmax, FirstAxisOddSizeSumsToOne) {
  std::vector<float> x(5 * 7);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i)) * 30.0f;
  auto v = RunOpOrDie(OpKind::kSoftmax, Axis(0), {HostTensor::F32({5, 7}, x)}).Floats();
  for (int col = 0; col < 7; ++col) {
    double sum = 0;
    for (int row = 0; row < 5; ++row) sum += v[row * 7 + col];
    EXPECT_NEAR(sum, 1.0, 1e-6) << "column " << col;
  }
}

TEST(Softmax, SingleElementAxisIsOne) {
  auto v = RunOpOrDie(OpKind::kSoftmax, Axis(1), {HostTensor::F32({3, 1}, {-5, 0, 1e30f})}).Floats();
  EXPECT_EQ(v, (std::vector<float>{1, 1, 1}));
}

TEST(Softmax, NaNInRowGivesNaNRow) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto v = RunOpOrDie(OpKind::kSoftmax, {}, {HostTensor::F32({2, 2}, {nan, 1, 1, 1})}).Floats();
  EXPECT_TRUE(std::isnan(v[0]) && std::isnan(v[1]));
  ExpectNear({v[2], v[3]}, {0.5f, 0.5f});
}

TEST(Softmax, DynamicDimsPropagate) {
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(InferOp(OpKind::kSoftmax, Axis(-1), {ops::ValueInfo{DataType::FLOAT32, {-1, 8, -1}}}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 8, -1}));
}

TEST(Softmax, AxisOutOfRangeIsNamed) {
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kSoftmax, Axis(2), {ops::ValueInfo{DataType::FLOAT32, {4, 5}}}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'axis' (2)"), std::string::npos) << s.message();
  s = InferOp(OpKind::kSoftmax, Axis(-3), {ops::ValueInfo{DataType::FLOAT32, {4, 5}}}, 1, &out);
  EXPECT_FALSE(s.ok());
}

TEST(Softmax, NonFloatInputIsNamed) {
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kSoftmax, {}, {ops::ValueInfo{DataType::INT64, {4}}}, 1, &out);
  EXPECT_NE(s.message().find("'input'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
