// Concat: hand-computed goldens and numpy ones (np.concatenate) pasted as literals.
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

ir::AttrMap Axis(int64_t axis) {
  ir::AttrMap a;
  a.Set("axis", axis);
  return a;
}

TEST(Concat, FloatAlongColumns) {
  // [1 2; 3 4] | [5; 6] -> [1 2 5; 3 4 6].
  auto a = HostTensor::F32({2, 2}, {1, 2, 3, 4});
  auto b = HostTensor::F32({2, 1}, {5, 6});
  auto y = RunOpOrDie(OpKind::kConcat, Axis(1), {a, b});
  EXPECT_EQ(y.shape, (ir::Shape{2, 3}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{1, 2, 5, 3, 4, 6}));
}

TEST(Concat, Int8ThreeInputsNegativeAxis) {
  // a [2,1,3] = 0..5, b [2,2,3] = 10..21, inputs (a, b, a) on axis -2 -> [2,4,3].
  // Golden: np.concatenate([a, b, a], axis=-2).
  std::vector<int8_t> av(6), bv(12);
  for (int i = 0; i < 6; ++i) av[i] = static_cast<int8_t>(i);
  for (int i = 0; i < 12; ++i) bv[i] = static_cast<int8_t>(10 + i);
  auto a = HostTensor::Make(DataType::INT8, {2, 1, 3}, av);
  auto b = HostTensor::Make(DataType::INT8, {2, 2, 3}, bv);
  auto y = RunOpOrDie(OpKind::kConcat, Axis(-2), {a, b, a});
  EXPECT_EQ(y.dtype, DataType::INT8);
  EXPECT_EQ(y.shape, (ir::Shape{2, 4, 3}));
  EXPECT_EQ(y.Values<int8_t>(), (std::vector<int8_t>{0, 1, 2, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 16, 17, 18,
                                                     19, 20, 21, 3, 4, 5}));
}

TEST(Concat, Int64AlongAxis0AndSingleInput) {
  auto a = HostTensor::I64({1, 2}, {1, -2});
  auto b = HostTensor::I64({2, 2}, {3, 4, int64_t{1} << 40, 6});
  auto y = RunOpOrDie(OpKind::kConcat, {}, {a, b});
  EXPECT_EQ(y.shape, (ir::Shape{3, 2}));
  EXPECT_EQ(y.Values<int64_t>(), (std::vector<int64_t>{1, -2, 3, 4, int64_t{1} << 40, 6}));
  auto single = RunOpOrDie(OpKind::kConcat, {}, {a});
  EXPECT_EQ(single.Values<int64_t>(), (std::vector<int64_t>{1, -2}));
}

TEST(Concat, EmptyInputContributesNothing) {
  auto a = HostTensor::F32({2, 0}, {});
  auto b = HostTensor::F32({2, 1}, {7, 8});
  auto y = RunOpOrDie(OpKind::kConcat, Axis(1), {a, b, a});
  EXPECT_EQ(y.shape, (ir::Shape{2, 1}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{7, 8}));
}

TEST(Concat, DynamicDims) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo dyn_rows{DataType::FLOAT32, {-1, 3}};
  ops::ValueInfo two_rows{DataType::FLOAT32, {2, 3}};
  ASSERT_TRUE(InferOp(OpKind::kConcat, {}, {dyn_rows, two_rows}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 3}));  // unknown + 2 is unknown
  // A -1 off the axis takes the known dim of another input.
  ops::ValueInfo dyn_cols{DataType::FLOAT32, {2, -1}};
  ops::ValueInfo four_cols{DataType::FLOAT32, {2, 4}};
  ASSERT_TRUE(InferOp(OpKind::kConcat, {}, {dyn_cols, four_cols}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{4, 4}));
  ASSERT_TRUE(InferOp(OpKind::kConcat, Axis(1), {dyn_cols, four_cols}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{2, -1}));
}

TEST(Concat, MismatchesNameTheInput) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo a{DataType::FLOAT32, {2, 3}};
  Status s = InferOp(OpKind::kConcat, {}, {a, a, ops::ValueInfo{DataType::FLOAT32, {2, 4}}}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("input 2 [2,4]"), std::string::npos) << s.message();
  s = InferOp(OpKind::kConcat, {}, {a, ops::ValueInfo{DataType::INT8, {2, 3}}}, 1, &out);
  EXPECT_NE(s.message().find("input 1 is INT8"), std::string::npos) << s.message();
  s = InferOp(OpKind::kConcat, {}, {a, ops::ValueInfo{DataType::FLOAT32, {6}}}, 1, &out);
  EXPECT_NE(s.message().find("input 1 [6]"), std::string::npos) << s.message();
  s = InferOp(OpKind::kConcat, Axis(2), {a, a}, 1, &out);
  EXPECT_NE(s.message().find("'axis'"), std::string::npos) << s.message();
}

TEST(Concat, RunWithMismatchedShapesIsAnError) {
  std::vector<HostTensor> out;
  Status s = RunOp(OpKind::kConcat, {}, {HostTensor::F32({1, 2}, {1, 2}), HostTensor::F32({1, 3}, {1, 2, 3})}, 1,
                   &out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("input 1"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
