// Squeeze: hand-computed shapes; data is unchanged.
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

ir::AttrMap Axes(std::vector<int64_t> axes) {
  ir::AttrMap a;
  a.Set("axes", std::move(axes));
  return a;
}

TEST(Squeeze, AllOnesByDefault) {
  auto y = RunOpOrDie(OpKind::kSqueeze, {}, {HostTensor::F32({1, 3, 1, 2}, {1, 2, 3, 4, 5, 6})});
  EXPECT_EQ(y.shape, (ir::Shape{3, 2}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Squeeze, ListedAxesOnlyInt64) {
  // [1,5,1,1]: remove axes 0 and -1 -> [5,1].
  auto x = HostTensor::I64({1, 5, 1, 1}, {5, 4, 3, 2, 1});
  auto y = RunOpOrDie(OpKind::kSqueeze, Axes({0, -1}), {x});
  EXPECT_EQ(y.dtype, DataType::INT64);
  EXPECT_EQ(y.shape, (ir::Shape{5, 1}));
  EXPECT_EQ(y.Values<int64_t>(), (std::vector<int64_t>{5, 4, 3, 2, 1}));
}

TEST(Squeeze, DynamicDims) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo x{DataType::FLOAT32, {-1, 1, 7}};
  // A listed -1 axis is taken to be 1 (checked with concrete shapes)...
  ASSERT_TRUE(InferOp(OpKind::kSqueeze, Axes({0, 1}), {x}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{7}));
  ASSERT_TRUE(InferOp(OpKind::kSqueeze, Axes({1}), {x}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 7}));
  // ...but without axes the output rank is unknowable: an error asking for axes.
  Status s = InferOp(OpKind::kSqueeze, {}, {x}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'axes'"), std::string::npos) << s.message();
}

TEST(Squeeze, NonUnitAxisIsNamed) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo x{DataType::FLOAT32, {1, 3}};
  Status s = InferOp(OpKind::kSqueeze, Axes({1}), {x}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("axis 1"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("dim is 3"), std::string::npos) << s.message();
  s = InferOp(OpKind::kSqueeze, Axes({2}), {x}, 1, &out);
  EXPECT_NE(s.message().find("'axes' value 2"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
