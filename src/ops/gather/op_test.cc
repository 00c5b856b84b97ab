// Gather: ONNX semantics; goldens hand-computed or from numpy (np.take) pasted.
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

ir::AttrMap Axis(int64_t axis) {
  ir::AttrMap a;
  a.Set("axis", axis);
  return a;
}

TEST(Gather, RowsOfAnEmbeddingTable) {
  // Rows 2, 0, 2 of [10 11; 20 21; 30 31].
  auto table = HostTensor::F32({3, 2}, {10, 11, 20, 21, 30, 31});
  auto y = RunOpOrDie(OpKind::kGather, {}, {table, HostTensor::I64({3}, {2, 0, 2})});
  EXPECT_EQ(y.shape, (ir::Shape{3, 2}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{30, 31, 10, 11, 30, 31}));
}

TEST(Gather, Axis1NegativeIndicesInt16DataInt32Indices) {
  // g = arange(15) as [3,5]; i = [[4,-1],[0,2]] on axis 1 -> [3,2,2].
  // Golden: np.take(g, i, axis=1) (-1 wraps to 4).
  std::vector<int16_t> g(15);
  for (int i = 0; i < 15; ++i) g[i] = static_cast<int16_t>(i);
  auto idx = HostTensor::Make<int32_t>(DataType::INT32, {2, 2}, {4, -1, 0, 2});
  auto y = RunOpOrDie(OpKind::kGather, Axis(1), {HostTensor::Make(DataType::INT16, {3, 5}, g), idx});
  EXPECT_EQ(y.dtype, DataType::INT16);
  EXPECT_EQ(y.shape, (ir::Shape{3, 2, 2}));
  EXPECT_EQ(y.Values<int16_t>(), (std::vector<int16_t>{4, 4, 0, 2, 9, 9, 5, 7, 14, 14, 10, 12}));
}

TEST(Gather, ScalarIndexDropsTheAxis) {
  // Column -1 (= 1) of [10 11; 20 21; 30 31]: [11, 21, 31], shape [3].
  auto table = HostTensor::F32({3, 2}, {10, 11, 20, 21, 30, 31});
  auto y = RunOpOrDie(OpKind::kGather, Axis(-1), {table, HostTensor::I64({}, {-1})});
  EXPECT_EQ(y.shape, (ir::Shape{3}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{11, 21, 31}));
}

TEST(Gather, DynamicDims) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo data{DataType::FLOAT32, {-1, 8, 4}};
  ops::ValueInfo idx{DataType::INT64, {-1, 3}};
  ASSERT_TRUE(InferOp(OpKind::kGather, Axis(1), {data, idx}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, -1, 3, 4}));
  EXPECT_EQ(out[0].dtype, DataType::FLOAT32);
}

TEST(Gather, IndexOutOfRangeIsAStatusNotACrash) {
  auto table = HostTensor::F32({3, 2}, {10, 11, 20, 21, 30, 31});
  std::vector<HostTensor> out;
  Status s = RunOp(OpKind::kGather, {}, {table, HostTensor::I64({2}, {1, 3})}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::OUT_OF_RANGE);
  EXPECT_NE(s.message().find("is 3"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("dim 3"), std::string::npos) << s.message();
  s = RunOp(OpKind::kGather, {}, {table, HostTensor::Make<int32_t>(DataType::INT32, {1}, {-4})}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::OUT_OF_RANGE);
  EXPECT_NE(s.message().find("is -4"), std::string::npos) << s.message();
}

TEST(Gather, BadInputsAreNamed) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo data{DataType::FLOAT32, {3, 2}};
  Status s = InferOp(OpKind::kGather, {}, {data, ops::ValueInfo{DataType::FLOAT32, {2}}}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'indices'"), std::string::npos) << s.message();
  s = InferOp(OpKind::kGather, Axis(2), {data, ops::ValueInfo{DataType::INT64, {2}}}, 1, &out);
  EXPECT_NE(s.message().find("'axis'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
