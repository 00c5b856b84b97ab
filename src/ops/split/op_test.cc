// Split: hand-computed goldens and numpy ones (np.split) pasted as literals.
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

ir::AttrMap AxisSizes(int64_t axis, std::vector<int64_t> sizes) {
  ir::AttrMap a;
  a.Set("axis", axis);
  a.Set("sizes", std::move(sizes));
  return a;
}

TEST(Split, FloatBySizes) {
  // [1 2 3; 4 5 6] split on axis 1 into 1 and 2 columns.
  std::vector<HostTensor> out;
  ASSERT_TRUE(RunOp(OpKind::kSplit, AxisSizes(1, {1, 2}), {HostTensor::F32({2, 3}, {1, 2, 3, 4, 5, 6})}, 2, &out)
                  .ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{2, 1}));
  EXPECT_EQ(out[0].Floats(), (std::vector<float>{1, 4}));
  EXPECT_EQ(out[1].shape, (ir::Shape{2, 2}));
  EXPECT_EQ(out[1].Floats(), (std::vector<float>{2, 3, 5, 6}));
}

TEST(Split, Uint8EqualPiecesNegativeAxis) {
  // arange(12) as [2,6] into 3 equal pieces on axis -1. Golden: np.split(x, 3, axis=-1).
  std::vector<uint8_t> v(12);
  for (int i = 0; i < 12; ++i) v[i] = static_cast<uint8_t>(i);
  std::vector<HostTensor> out;
  ASSERT_TRUE(RunOp(OpKind::kSplit, AxisSizes(-1, {}), {HostTensor::Make(DataType::UINT8, {2, 6}, v)}, 3, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  for (const auto& t : out) {
    EXPECT_EQ(t.dtype, DataType::UINT8);
    EXPECT_EQ(t.shape, (ir::Shape{2, 2}));
  }
  EXPECT_EQ(out[0].Values<uint8_t>(), (std::vector<uint8_t>{0, 1, 6, 7}));
  EXPECT_EQ(out[1].Values<uint8_t>(), (std::vector<uint8_t>{2, 3, 8, 9}));
  EXPECT_EQ(out[2].Values<uint8_t>(), (std::vector<uint8_t>{4, 5, 10, 11}));
}

TEST(Split, OddSizesWithEmptyPieceInt64) {
  // [5] into sizes 3, 0, 2 on axis 0: [10,11,12], [], [13,14].
  std::vector<HostTensor> out;
  ASSERT_TRUE(RunOp(OpKind::kSplit, AxisSizes(0, {3, 0, 2}), {HostTensor::I64({5}, {10, 11, 12, 13, 14})}, 3, &out)
                  .ok());
  EXPECT_EQ(out[0].Values<int64_t>(), (std::vector<int64_t>{10, 11, 12}));
  EXPECT_EQ(out[1].shape, (ir::Shape{0}));
  EXPECT_EQ(out[2].Values<int64_t>(), (std::vector<int64_t>{13, 14}));
}

TEST(Split, DynamicDims) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo batch_dyn{DataType::FLOAT32, {-1, 6}};
  ASSERT_TRUE(InferOp(OpKind::kSplit, AxisSizes(1, {}), {batch_dyn}, 2, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 3}));
  EXPECT_EQ(out[1].shape, (ir::Shape{-1, 3}));
  // Unknown split axis: given sizes stay known, equal pieces become unknown.
  ops::ValueInfo axis_dyn{DataType::FLOAT32, {4, -1}};
  ASSERT_TRUE(InferOp(OpKind::kSplit, AxisSizes(1, {1, 2}), {axis_dyn}, 2, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{4, 1}));
  EXPECT_EQ(out[1].shape, (ir::Shape{4, 2}));
  ASSERT_TRUE(InferOp(OpKind::kSplit, AxisSizes(1, {}), {axis_dyn}, 2, &out).ok());
  EXPECT_EQ(out[1].shape, (ir::Shape{4, -1}));
}

TEST(Split, BadSizesNameTheAttribute) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo x{DataType::FLOAT32, {2, 5}};
  Status s = InferOp(OpKind::kSplit, AxisSizes(1, {}), {x}, 2, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("does not split evenly into 2"), std::string::npos) << s.message();
  s = InferOp(OpKind::kSplit, AxisSizes(1, {2, 2}), {x}, 2, &out);
  EXPECT_NE(s.message().find("'sizes' sums to 4"), std::string::npos) << s.message();
  s = InferOp(OpKind::kSplit, AxisSizes(1, {5}), {x}, 2, &out);
  EXPECT_NE(s.message().find("'sizes' has 1 entries"), std::string::npos) << s.message();
  s = InferOp(OpKind::kSplit, AxisSizes(-3, {}), {x}, 1, &out);
  EXPECT_NE(s.message().find("'axis'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
