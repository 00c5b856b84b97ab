// Conv2D: shape inference and reference kernel against hand-computed values.
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

ir::AttrMap NchwAttrs() {
  ir::AttrMap a;
  a.Set("input_layout", std::string("NCHW"));
  a.Set("output_layout", std::string("NCHW"));
  a.Set("filter_layout", std::string("OIHW"));
  return a;
}

TEST(Conv2D, HandComputed3x3NoPad) {
  // x = 1..9 in a 3x3 image, filter 2x2 of ones plus bias 0.5:
  // window sums 1+2+4+5=12, 2+3+5+6=16, 4+5+7+8=24, 5+6+8+9=28.
  auto x = HostTensor::F32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto w = HostTensor::F32({1, 1, 2, 2}, {1, 1, 1, 1}).Const();
  auto b = HostTensor::F32({1}, {0.5f}).Const();
  auto y = RunOpOrDie(OpKind::kConv2D, NchwAttrs(), {x, w, b});
  EXPECT_EQ(y.shape, (ir::Shape{1, 1, 2, 2}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{12.5f, 16.5f, 24.5f, 28.5f}));
}

TEST(Conv2D, NhwcDefaultLayoutsMatchNchw) {
  // Same data as above in NHWC with an OHWI filter (the defaults): identical numbers.
  auto x = HostTensor::F32({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto w = HostTensor::F32({1, 2, 2, 1}, {1, 1, 1, 1}).Const();
  auto y = RunOpOrDie(OpKind::kConv2D, {}, {x, w});
  EXPECT_EQ(y.shape, (ir::Shape{1, 2, 2, 1}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{12, 16, 24, 28}));
}

TEST(Conv2D, PaddingStrideDilation) {
  // 4x4 ramp 0..15, 2x2 filter [1,0;0,-1] dilated by 2, stride 2, pad 1 all round.
  // Output 2x2 (oh, ow in {0,1}); taps at (ih, iw) = (2oh-1+{0,2}, 2ow-1+{0,2}).
  // (0,0): x(-1,-1)=0 - x(1,1)=5 -> -5.  (0,1): x(-1,1)=0 - x(1,3)=7 -> -7.
  // (1,0): x(1,-1)=0 - x(3,1)=13 -> -13. (1,1): x(1,1)=5 - x(3,3)=15 -> -10.
  std::vector<float> ramp(16);
  for (int i = 0; i < 16; ++i) ramp[i] = static_cast<float>(i);
  auto x = HostTensor::F32({1, 1, 4, 4}, ramp);
  auto w = HostTensor::F32({1, 1, 2, 2}, {1, 0, 0, -1}).Const();
  ir::AttrMap a = NchwAttrs();
  a.Set("strides", std::vector<int64_t>{2, 2});
  a.Set("dilations", std::vector<int64_t>{2, 2});
  a.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  auto y = RunOpOrDie(OpKind::kConv2D, a, {x, w});
  EXPECT_EQ(y.shape, (ir::Shape{1, 1, 2, 2}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{-5, -7, -13, -10}));
}

TEST(Conv2D, DepthwiseGroups) {
  // Two channels, group 2, 1x1 filters scaling by 2 and -3.
  auto x = HostTensor::F32({1, 2, 1, 2}, {1, 2, 3, 4});
  auto w = HostTensor::F32({2, 1, 1, 1}, {2, -3}).Const();
  ir::AttrMap a = NchwAttrs();
  a.Set("group", int64_t{2});
  auto y = RunOpOrDie(OpKind::kConv2D, a, {x, w});
  EXPECT_EQ(y.Floats(), (std::vector<float>{2, 4, -9, -12}));
}

TEST(Conv2D, SameUpperPaddingKeepsSize) {
  ops::ValueInfo x{DataType::FLOAT32, {1, 7, 5, 3}};
  ops::ValueInfo w{DataType::FLOAT32, {8, 3, 3, 3}};
  ir::AttrMap a;
  a.Set("padding_mode", std::string("SAME_UPPER"));
  a.Set("strides", std::vector<int64_t>{2, 2});
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(InferOp(OpKind::kConv2D, a, {x, w}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{1, 4, 3, 8}));
}

TEST(Conv2D, DynamicDimsPropagate) {
  ops::ValueInfo x{DataType::FLOAT32, {-1, -1, -1, 3}};
  ops::ValueInfo w{DataType::FLOAT32, {16, 3, 3, 3}};
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(InferOp(OpKind::kConv2D, {}, {x, w}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, -1, -1, 16}));
}

TEST(Conv2D, ChannelMismatchNamesBothShapes) {
  ops::ValueInfo x{DataType::FLOAT32, {1, 5, 5, 4}};
  ops::ValueInfo w{DataType::FLOAT32, {16, 3, 3, 3}};
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kConv2D, {}, {x, w}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("4 channels"), std::string::npos) << s.message();
}

TEST(Conv2D, KernelLargerThanInputIsAnError) {
  ops::ValueInfo x{DataType::FLOAT32, {1, 2, 2, 1}};
  ops::ValueInfo w{DataType::FLOAT32, {1, 3, 3, 1}};
  std::vector<ops::ValueInfo> out;
  EXPECT_FALSE(InferOp(OpKind::kConv2D, {}, {x, w}, 1, &out).ok());
}

}  // namespace
}  // namespace mixq::testing
