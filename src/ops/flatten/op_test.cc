// Flatten: ONNX semantics, hand-computed shapes.
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

ir::AttrMap Axis(int64_t axis) {
  ir::AttrMap a;
  a.Set("axis", axis);
  return a;
}

ir::Shape FlattenShape(const ir::Shape& in, int64_t axis) {
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kFlatten, Axis(axis), {ops::ValueInfo{DataType::FLOAT32, in}}, 1, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out.empty() ? ir::Shape{} : out[0].shape;
}

TEST(Flatten, DefaultAxisKeepsBatch) {
  // [2,3,2] -> [2, 3*2] with data unchanged.
  std::vector<float> v(12);
  for (int i = 0; i < 12; ++i) v[i] = static_cast<float>(i) * 1.5f;
  auto y = RunOpOrDie(OpKind::kFlatten, {}, {HostTensor::F32({2, 3, 2}, v)});
  EXPECT_EQ(y.shape, (ir::Shape{2, 6}));
  EXPECT_EQ(y.Floats(), v);
}

TEST(Flatten, OddShapesAndAxes) {
  // [3,5,7]: axis 0 -> [1, 105]; axis 3 (= rank) -> [105, 1]; axis -1 -> [15, 7].
  EXPECT_EQ(FlattenShape({3, 5, 7}, 0), (ir::Shape{1, 105}));
  EXPECT_EQ(FlattenShape({3, 5, 7}, 3), (ir::Shape{105, 1}));
  EXPECT_EQ(FlattenShape({3, 5, 7}, -1), (ir::Shape{15, 7}));
  EXPECT_EQ(FlattenShape({}, 0), (ir::Shape{1, 1}));
}

TEST(Flatten, Int8Data) {
  auto x = HostTensor::Make<int8_t>(DataType::INT8, {1, 2, 2}, {-128, 127, 0, -1});
  auto y = RunOpOrDie(OpKind::kFlatten, Axis(2), {x});
  EXPECT_EQ(y.dtype, DataType::INT8);
  EXPECT_EQ(y.shape, (ir::Shape{2, 2}));
  EXPECT_EQ(y.Values<int8_t>(), (std::vector<int8_t>{-128, 127, 0, -1}));
}

TEST(Flatten, DynamicDims) {
  // A -1 makes only its own side unknown.
  EXPECT_EQ(FlattenShape({-1, 3, 4}, 1), (ir::Shape{-1, 12}));
  EXPECT_EQ(FlattenShape({2, 3, -1}, 2), (ir::Shape{6, -1}));
}

TEST(Flatten, AxisOutOfRangeIsNamed) {
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kFlatten, Axis(4), {ops::ValueInfo{DataType::FLOAT32, {3, 5, 7}}}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'axis' value 4"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
