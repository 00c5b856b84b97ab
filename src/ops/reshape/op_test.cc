// Reshape: ONNX semantics (0 copies a dim, one -1 inferred, allowzero).
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

ir::AttrMap Target(std::vector<int64_t> shape, int64_t allowzero = 0) {
  ir::AttrMap a;
  a.Set("shape", std::move(shape));
  a.Set("allowzero", allowzero);
  return a;
}

TEST(Reshape, InfersMinusOneAndKeepsOrder) {
  // 2x3 -> [-1, 2]: 6 / 2 = 3 rows, row-major order unchanged.
  auto y = RunOpOrDie(OpKind::kReshape, Target({-1, 2}), {HostTensor::F32({2, 3}, {1, 2, 3, 4, 5, 6})});
  EXPECT_EQ(y.shape, (ir::Shape{3, 2}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Reshape, ZeroCopiesDimOddSizesInt16) {
  // [3,5,7] -> [0, -1]: dim 0 copied (3), -1 = 105 / 3 = 35.
  std::vector<int16_t> v(105);
  for (int i = 0; i < 105; ++i) v[i] = static_cast<int16_t>(i - 50);
  auto y = RunOpOrDie(OpKind::kReshape, Target({0, -1}), {HostTensor::Make(DataType::INT16, {3, 5, 7}, v)});
  EXPECT_EQ(y.dtype, DataType::INT16);
  EXPECT_EQ(y.shape, (ir::Shape{3, 35}));
  EXPECT_EQ(y.Values<int16_t>(), v);
}

TEST(Reshape, AllowZeroMakesARealZeroDim) {
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(InferOp(OpKind::kReshape, Target({0, 4}, 1), {ops::ValueInfo{DataType::FLOAT32, {2, 0}}}, 1, &out)
                  .ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{0, 4}));
  // Without allowzero the 0 copies dim 0 (2): [2, 4] holds 8 elements, not 0.
  EXPECT_FALSE(InferOp(OpKind::kReshape, Target({0, 4}), {ops::ValueInfo{DataType::FLOAT32, {2, 0}}}, 1, &out).ok());
}

TEST(Reshape, ScalarAndBack) {
  auto y = RunOpOrDie(OpKind::kReshape, Target({}), {HostTensor::F32({1, 1}, {42})});
  EXPECT_EQ(y.shape, (ir::Shape{}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{42}));
}

TEST(Reshape, DynamicDims) {
  std::vector<ops::ValueInfo> out;
  // -1 input and -1 target: unknown.
  ops::ValueInfo x{DataType::FLOAT32, {-1, 3, 4}};
  ASSERT_TRUE(InferOp(OpKind::kReshape, Target({-1, 6}), {x}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 6}));
  // The dynamic dim is copied by the 0, so it cancels and -1 = 3 * 4.
  ASSERT_TRUE(InferOp(OpKind::kReshape, Target({0, -1}), {x}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 12}));
  // No -1 in the target: the given dims are the output, checked at run time.
  ASSERT_TRUE(InferOp(OpKind::kReshape, Target({2, 2, 3}), {x}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{2, 2, 3}));
}

TEST(Reshape, ErrorsNameShapes) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo x{DataType::FLOAT32, {2, 3}};
  Status s = InferOp(OpKind::kReshape, Target({4, 2}), {x}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("[2,3]"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("[4,2]"), std::string::npos) << s.message();
  s = InferOp(OpKind::kReshape, Target({-1, 4}), {x}, 1, &out);
  EXPECT_NE(s.message().find("6 elements do not divide by 4"), std::string::npos) << s.message();
  s = InferOp(OpKind::kReshape, Target({-1, -1}), {x}, 1, &out);
  EXPECT_NE(s.message().find("more than one -1"), std::string::npos) << s.message();
  s = InferOp(OpKind::kReshape, Target({6, 1, 0}), {x}, 1, &out);
  EXPECT_NE(s.message().find("'shape' entry 2 is 0"), std::string::npos) << s.message();
  s = InferOp(OpKind::kReshape, Target({-2, 3}), {x}, 1, &out);
  EXPECT_NE(s.message().find("'shape' entry 0 is -2"), std::string::npos) << s.message();
  s = InferOp(OpKind::kReshape, Target({0, -1}, 1), {ops::ValueInfo{DataType::FLOAT32, {0, 3}}}, 1, &out);
  EXPECT_NE(s.message().find("allowzero"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
