// Reduce: each op over various axes of x = arange(24) as [2,3,4] (element
// (i,j,k) = 12i + 4j + k), keep_dims, extremes and axis errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

HostTensor Arange24() {
  std::vector<float> x(24);
  for (int i = 0; i < 24; ++i) x[i] = static_cast<float>(i);
  return HostTensor::F32({2, 3, 4}, x);
}

ir::AttrMap Reduce(const std::string& op, std::vector<int64_t> axes, int64_t keep_dims) {
  ir::AttrMap a;
  a.Set("op", op);
  a.Set("axes", axes);
  a.Set("keep_dims", keep_dims);
  return a;
}

TEST(Reduce, SumOverTwoAxesKeepDims) {
  // Sum over i, k for each j: sum_k k = 6, plus 12*4 = 48 for i = 1, plus 4j * 8:
  // j=0: 6 + 54 = 60; j=1: 60 + 32 = 92; j=2: 124.
  auto y = RunOpOrDie(OpKind::kReduce, Reduce("sum", {0, 2}, 1), {Arange24()});
  EXPECT_EQ(y.shape, (ir::Shape{1, 3, 1}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{60, 92, 124}));
}

TEST(Reduce, MeanOverMiddleAxisDropped) {
  // Mean over j of 12i + 4j + k = 12i + 4 + k.
  auto y = RunOpOrDie(OpKind::kReduce, Reduce("mean", {1}, 0), {Arange24()});
  EXPECT_EQ(y.shape, (ir::Shape{2, 4}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{4, 5, 6, 7, 16, 17, 18, 19}));
}

TEST(Reduce, MaxOverNegativeAxis) {
  // Max over k: 12i + 4j + 3.
  auto y = RunOpOrDie(OpKind::kReduce, Reduce("max", {-1}, 0), {Arange24()});
  EXPECT_EQ(y.shape, (ir::Shape{2, 3}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{3, 7, 11, 15, 19, 23}));
}

TEST(Reduce, MinOverFirstAxis) {
  auto y = RunOpOrDie(OpKind::kReduce, Reduce("min", {0}, 1), {Arange24()});
  EXPECT_EQ(y.shape, (ir::Shape{1, 3, 4}));
  std::vector<float> want(12);
  for (int i = 0; i < 12; ++i) want[i] = static_cast<float>(i);
  EXPECT_EQ(y.Floats(), want);
}

TEST(Reduce, EmptyAxesReducesEverything) {
  // Defaults: mean over all axes, keep_dims 1. Mean of 0..23 = 11.5.
  auto y = RunOpOrDie(OpKind::kReduce, {}, {Arange24()});
  EXPECT_EQ(y.shape, (ir::Shape{1, 1, 1}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{11.5f}));
  auto s = RunOpOrDie(OpKind::kReduce, Reduce("sum", {}, 0), {Arange24()});
  EXPECT_EQ(s.shape, (ir::Shape{}));
  EXPECT_EQ(s.Floats(), (std::vector<float>{276}));  // 23 * 24 / 2
}

TEST(Reduce, AxesOrderDoesNotMatter) {
  auto a = RunOpOrDie(OpKind::kReduce, Reduce("sum", {2, 0}, 0), {Arange24()});
  EXPECT_EQ(a.shape, (ir::Shape{3}));
  EXPECT_EQ(a.Floats(), (std::vector<float>{60, 92, 124}));
}

TEST(Reduce, OddSizesMatchDirectSums) {
  // [3,5,7] summed over axis 1: y(a, c) = sum_b x(a, b, c).
  std::vector<float> x(105);
  for (int i = 0; i < 105; ++i) x[i] = static_cast<float>((i * 37) % 11) - 5.0f;
  auto y = RunOpOrDie(OpKind::kReduce, Reduce("sum", {1}, 0), {HostTensor::F32({3, 5, 7}, x)});
  ASSERT_EQ(y.shape, (ir::Shape{3, 7}));
  auto v = y.Floats();
  for (int a = 0; a < 3; ++a)
    for (int c = 0; c < 7; ++c) {
      float sum = 0;
      for (int b = 0; b < 5; ++b) sum += x[(a * 5 + b) * 7 + c];
      EXPECT_EQ(v[a * 7 + c], sum);
    }
}

TEST(Reduce, ExtremeValues) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Accumulating in double: 3e38 + 3e38 - 3e38 stays finite (3e38).
  auto s = RunOpOrDie(OpKind::kReduce, Reduce("sum", {}, 0), {HostTensor::F32({3}, {3e38f, 3e38f, -3e38f})});
  EXPECT_EQ(s.Floats()[0], 3e38f);
  auto m = RunOpOrDie(OpKind::kReduce, Reduce("max", {1}, 0), {HostTensor::F32({2, 2}, {-inf, -inf, nan, 1})});
  EXPECT_EQ(m.Floats()[0], -inf);
  EXPECT_TRUE(std::isnan(m.Floats()[1]));  // NaN propagates
  auto mn = RunOpOrDie(OpKind::kReduce, Reduce("min", {1}, 0), {HostTensor::F32({1, 2}, {1, nan})});
  EXPECT_TRUE(std::isnan(mn.Floats()[0]));
}

TEST(Reduce, DynamicDimsPropagate) {
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(
      InferOp(OpKind::kReduce, Reduce("mean", {-1}, 1), {ops::ValueInfo{DataType::FLOAT32, {-1, 4, -1}}}, 1, &out)
          .ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 4, 1}));
  ASSERT_TRUE(
      InferOp(OpKind::kReduce, Reduce("sum", {1}, 0), {ops::ValueInfo{DataType::FLOAT32, {-1, 4, -1}}}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, -1}));
}

TEST(Reduce, BadAxesAreNamed) {
  std::vector<ops::ValueInfo> out;
  const ops::ValueInfo x{DataType::FLOAT32, {2, 3}};
  Status s = InferOp(OpKind::kReduce, Reduce("sum", {2}, 1), {x}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'axes'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("axis 2"), std::string::npos) << s.message();
  // -1 and 1 are the same axis of a rank-2 input.
  s = InferOp(OpKind::kReduce, Reduce("sum", {1, -1}, 1), {x}, 1, &out);
  EXPECT_NE(s.message().find("twice"), std::string::npos) << s.message();
}

TEST(Reduce, UnknownOpAndBadTypeAreNamed) {
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kReduce, Reduce("prod", {}, 1), {ops::ValueInfo{DataType::FLOAT32, {2}}}, 1, &out);
  EXPECT_NE(s.message().find("'prod'"), std::string::npos) << s.message();
  s = InferOp(OpKind::kReduce, Reduce("sum", {}, 1), {ops::ValueInfo{DataType::INT8, {2}}}, 1, &out);
  EXPECT_NE(s.message().find("'input'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
