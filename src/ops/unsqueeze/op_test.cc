// Unsqueeze: ONNX semantics (axes index the output), hand-computed shapes.
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

ir::AttrMap Axes(std::vector<int64_t> axes) {
  ir::AttrMap a;
  a.Set("axes", std::move(axes));
  return a;
}

TEST(Unsqueeze, InsertsUnitDims) {
  auto y = RunOpOrDie(OpKind::kUnsqueeze, Axes({0}), {HostTensor::F32({3}, {1, 2, 3})});
  EXPECT_EQ(y.shape, (ir::Shape{1, 3}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{1, 2, 3}));
}

TEST(Unsqueeze, NegativeAndUnorderedAxesUint8) {
  // [3,5] + 2 axes -> rank 4. Axis -1 is output axis 3, axis 1 is output axis 1:
  // [3, 1, 5, 1].
  std::vector<uint8_t> v(15);
  for (int i = 0; i < 15; ++i) v[i] = static_cast<uint8_t>(250 - i);
  auto y = RunOpOrDie(OpKind::kUnsqueeze, Axes({-1, 1}), {HostTensor::Make(DataType::UINT8, {3, 5}, v)});
  EXPECT_EQ(y.dtype, DataType::UINT8);
  EXPECT_EQ(y.shape, (ir::Shape{3, 1, 5, 1}));
  EXPECT_EQ(y.Values<uint8_t>(), v);
}

TEST(Unsqueeze, ScalarToVector) {
  auto y = RunOpOrDie(OpKind::kUnsqueeze, Axes({0}), {HostTensor::F32({}, {7})});
  EXPECT_EQ(y.shape, (ir::Shape{1}));
}

TEST(Unsqueeze, DynamicDims) {
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(InferOp(OpKind::kUnsqueeze, Axes({0, 3}), {ops::ValueInfo{DataType::FLOAT32, {-1, 4}}}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{1, -1, 4, 1}));
}

TEST(Unsqueeze, BadAxesAreNamed) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo x{DataType::FLOAT32, {2, 3}};
  Status s = InferOp(OpKind::kUnsqueeze, Axes({3}), {x}, 1, &out);  // output rank 3: 3 is out of range
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'axes' value 3"), std::string::npos) << s.message();
  s = InferOp(OpKind::kUnsqueeze, Axes({0, -4}), {x}, 1, &out);  // -4 + 4 = 0: named twice
  EXPECT_NE(s.message().find("'axes' names axis 0 twice"), std::string::npos) << s.message();
  s = InferOp(OpKind::kUnsqueeze, {}, {x}, 1, &out);
  EXPECT_NE(s.message().find("'axes'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
