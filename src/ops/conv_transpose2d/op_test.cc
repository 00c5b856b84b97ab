// ConvTranspose2D: shape inference and reference kernel against hand-computed
// values and goldens from an independent numpy scatter implementation (itself
// checked against onnx.reference's ConvTranspose for group 1).
#include <gtest/gtest.h>

#include <array>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

ir::AttrMap NchwAttrs() {
  ir::AttrMap a;
  a.Set("input_layout", std::string("NCHW"));
  a.Set("output_layout", std::string("NCHW"));
  a.Set("filter_layout", std::string("IOHW"));
  return a;
}

// Reorders a row-major 4-D tensor: output axis i is input axis perm[i].
std::vector<float> Permute4(const std::vector<float>& v, const std::array<int64_t, 4>& dims,
                            const std::array<int, 4>& perm) {
  std::array<int64_t, 4> out_dims, in_strides;
  in_strides[3] = 1;
  for (int i = 2; i >= 0; --i) in_strides[i] = in_strides[i + 1] * dims[i + 1];
  for (int i = 0; i < 4; ++i) out_dims[i] = dims[perm[i]];
  std::vector<float> out;
  for (int64_t a = 0; a < out_dims[0]; ++a)
    for (int64_t b = 0; b < out_dims[1]; ++b)
      for (int64_t c = 0; c < out_dims[2]; ++c)
        for (int64_t d = 0; d < out_dims[3]; ++d)
          out.push_back(
              v[a * in_strides[perm[0]] + b * in_strides[perm[1]] + c * in_strides[perm[2]] + d * in_strides[perm[3]]]);
  return out;
}

TEST(ConvTranspose2D, HandComputed2x2Ones) {
  // Each input pixel stamps a 2x2 block of itself; overlaps add:
  // [1, 1+2, 2; 1+3, 1+2+3+4, 2+4; 3, 3+4, 4] + bias 0.5.
  auto x = HostTensor::F32({1, 1, 2, 2}, {1, 2, 3, 4});
  auto w = HostTensor::F32({1, 1, 2, 2}, {1, 1, 1, 1}).Const();
  auto b = HostTensor::F32({1}, {0.5f}).Const();
  auto y = RunOpOrDie(OpKind::kConvTranspose2D, NchwAttrs(), {x, w, b});
  EXPECT_EQ(y.shape, (ir::Shape{1, 1, 3, 3}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{1.5f, 3.5f, 2.5f, 4.5f, 10.5f, 6.5f, 3.5f, 7.5f, 4.5f}));
}

// Group 2, stride (2,3), dilation (1,2), pads (top 1, bottom 0, left 0, right 2),
// output_padding (1,2), 3x2 input: out h = 2*2-1+2+1+1 = 7, w = 1*3-2+2+2+1 = 6.
const std::vector<float> kGroupedX = {-2, -2, -1, 2, -1, -1, 1, 3, -1, 1,  0,  1,
                                      0,  1,  0,  1, 3,  -2, 0, 0, -1, -2, -3, -1};
const std::vector<float> kGroupedW = {2, -2, 0, 2, 2, -1, -2, 1, -2, -1, 0, 2, -2, 1, 0, -2, 2, 2, 0, 2, 1, 2, 2, 0};
const std::vector<float> kGroupedY = {
    -4, -2, -7, -8,  -2,  -9, -6, -2, 3,  -4, -2, 3,  0,   -2, -3, -4, -2, 1,  -6, -2,  -1, -2, -2, 1,  -2, -2, -4, -4,
    -2, -5, -4, -2,  -1,  -4, -2, 1,  -2, -2, -2, -2, -2,  -2, -4, -4, -4, -4, -4, -6,  -4, -4, -6, -4, -4, -5, -5, -4,
    -6, -6, -4, -10, -12, -4, -7, -2, -4, -6, -7, -4, -16, -5, -4, -2, -4, -4, 2,  -10, -4, -8, -4, -4, -4, -4, -4, -4};

ir::AttrMap GroupedAttrs(ir::AttrMap a) {
  a.Set("group", int64_t{2});
  a.Set("strides", std::vector<int64_t>{2, 3});
  a.Set("dilations", std::vector<int64_t>{1, 2});
  a.Set("pads", std::vector<int64_t>{1, 0, 0, 2});
  a.Set("output_padding", std::vector<int64_t>{1, 2});
  return a;
}

TEST(ConvTranspose2D, GroupedStridedDilatedPaddedNchwIohw) {
  auto x = HostTensor::F32({1, 4, 3, 2}, kGroupedX);
  auto w = HostTensor::F32({4, 1, 3, 2}, kGroupedW).Const();
  auto b = HostTensor::F32({2}, {-2, -4}).Const();
  auto y = RunOpOrDie(OpKind::kConvTranspose2D, GroupedAttrs(NchwAttrs()), {x, w, b});
  EXPECT_EQ(y.shape, (ir::Shape{1, 2, 7, 6}));
  EXPECT_EQ(y.Floats(), kGroupedY);
}

TEST(ConvTranspose2D, DefaultNhwcIhwoLayoutsMatchNchw) {
  // Same numbers with the default layouts: NHWC activations, IHWO filter.
  auto x = HostTensor::F32({1, 3, 2, 4}, Permute4(kGroupedX, {1, 4, 3, 2}, {0, 2, 3, 1}));
  auto w = HostTensor::F32({4, 3, 2, 1}, Permute4(kGroupedW, {4, 1, 3, 2}, {0, 2, 3, 1})).Const();
  auto b = HostTensor::F32({2}, {-2, -4}).Const();
  auto y = RunOpOrDie(OpKind::kConvTranspose2D, GroupedAttrs({}), {x, w, b});
  EXPECT_EQ(y.shape, (ir::Shape{1, 7, 6, 2}));
  EXPECT_EQ(y.Floats(), Permute4(kGroupedY, {1, 2, 7, 6}, {0, 2, 3, 1}));
}

TEST(ConvTranspose2D, SameUpperAndLowerPadding) {
  // 3x3 input, 3x3 kernel, stride 2: output 6x6; total padding 2*2+3-6 = 1,
  // at the end for SAME_UPPER, at the start for SAME_LOWER (onnx.reference goldens).
  std::vector<float> ramp = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  auto x = HostTensor::F32({1, 1, 3, 3}, ramp);
  auto w = HostTensor::F32({1, 1, 3, 3}, {1, 2, 0, -1, 1, 0, 0, 1, 3}).Const();
  ir::AttrMap a = NchwAttrs();
  a.Set("strides", std::vector<int64_t>{2, 2});
  a.Set("padding_mode", std::string("SAME_UPPER"));
  auto upper = RunOpOrDie(OpKind::kConvTranspose2D, a, {x, w});
  EXPECT_EQ(upper.shape, (ir::Shape{1, 1, 6, 6}));
  EXPECT_EQ(upper.Floats(), (std::vector<float>{1,  2, 2,  4, 3,  6, -1, 1,  -2, 2,  -3, 3,  4,  9, 8,  12, 12, 15,
                                                -4, 4, -5, 5, -6, 6, 7,  18, 20, 21, 24, 24, -7, 7, -8, 8,  -9, 9}));
  a.Set("padding_mode", std::string("SAME_LOWER"));
  auto lower = RunOpOrDie(OpKind::kConvTranspose2D, a, {x, w});
  EXPECT_EQ(lower.Floats(), (std::vector<float>{1,  -2, 2,  -3, 3,  0,  9, 8,  12, 12, 15, 9, 4, -5, 5, -6, 6, 0,
                                                18, 20, 21, 24, 24, 18, 7, -8, 8,  -9, 9,  0, 7, 21, 8, 24, 9, 27}));
}

TEST(ConvTranspose2D, SameWithNegativeTotalPaddingLeavesBiasOnlyGaps) {
  // 1x1 kernel, stride 2: the full output is 2*(2-1)+1 = 3 wide but SAME asks
  // for 4 (total padding -1, clamped to 0); x*3 lands on even columns, the
  // rest (and row 1) are the bias alone.
  auto x = HostTensor::F32({1, 1, 1, 2}, {1, 2});
  auto w = HostTensor::F32({1, 1, 1, 1}, {3}).Const();
  auto b = HostTensor::F32({1}, {1}).Const();
  ir::AttrMap a = NchwAttrs();
  a.Set("strides", std::vector<int64_t>{2, 2});
  a.Set("padding_mode", std::string("SAME_UPPER"));
  auto y = RunOpOrDie(OpKind::kConvTranspose2D, a, {x, w, b});
  EXPECT_EQ(y.shape, (ir::Shape{1, 1, 2, 4}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{4, 1, 7, 1, 1, 1, 1, 1}));
}

TEST(ConvTranspose2D, ValidIgnoresPads) {
  // VALID: pads are ignored; 2x2 ones stamped with stride 2 do not overlap.
  auto x = HostTensor::F32({1, 1, 1, 2}, {1, 2});
  auto w = HostTensor::F32({1, 1, 2, 2}, {1, 1, 1, 1}).Const();
  ir::AttrMap a = NchwAttrs();
  a.Set("strides", std::vector<int64_t>{2, 2});
  a.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  a.Set("padding_mode", std::string("VALID"));
  auto y = RunOpOrDie(OpKind::kConvTranspose2D, a, {x, w});
  EXPECT_EQ(y.shape, (ir::Shape{1, 1, 2, 4}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2}));
}

TEST(ConvTranspose2D, DynamicDimsPropagate) {
  // NHWC input with dynamic batch and height, IHWO filter (3 in, 3x3, 8 out).
  ops::ValueInfo x{DataType::FLOAT32, {-1, -1, 5, 3}};
  ops::ValueInfo w{DataType::FLOAT32, {3, 3, 3, 8}};
  ir::AttrMap a;
  a.Set("strides", std::vector<int64_t>{2, 2});
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(InferOp(OpKind::kConvTranspose2D, a, {x, w}, 1, &out).ok());
  // w: (5-1)*2 + 2 + 1 = 11.
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, -1, 11, 8}));
  a.Set("padding_mode", std::string("SAME_LOWER"));
  ASSERT_TRUE(InferOp(OpKind::kConvTranspose2D, a, {x, w}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, -1, 10, 8}));
}

TEST(ConvTranspose2D, ChannelMismatchIsNamed) {
  ops::ValueInfo x{DataType::FLOAT32, {1, 5, 5, 4}};
  ops::ValueInfo w{DataType::FLOAT32, {3, 3, 3, 8}};
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kConvTranspose2D, {}, {x, w}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("4 channels"), std::string::npos) << s.message();
}

TEST(ConvTranspose2D, BadAttributesAreNamed) {
  ops::ValueInfo x{DataType::FLOAT32, {1, 2, 2, 3}};
  ops::ValueInfo w{DataType::FLOAT32, {3, 1, 1, 8}};
  std::vector<ops::ValueInfo> out;
  ir::AttrMap a;
  a.Set("output_padding", std::vector<int64_t>{1});
  Status s = InferOp(OpKind::kConvTranspose2D, a, {x, w}, 1, &out);
  EXPECT_NE(s.message().find("output_padding"), std::string::npos) << s.message();
  // A 1x1 kernel on a 2x2 input gives 2x2; pads of 1 + 1 leave nothing.
  ir::AttrMap b;
  b.Set("pads", std::vector<int64_t>{1, 1, 0, 0});
  s = InferOp(OpKind::kConvTranspose2D, b, {x, w}, 1, &out);
  EXPECT_NE(s.message().find("pads"), std::string::npos) << s.message();
  ir::AttrMap c;
  c.Set("padding_mode", std::string("SAME"));
  s = InferOp(OpKind::kConvTranspose2D, c, {x, w}, 1, &out);
  EXPECT_NE(s.message().find("padding_mode"), std::string::npos) << s.message();
}

TEST(ConvTranspose2D, MissingFilterIsNamed) {
  ops::ValueInfo x{DataType::FLOAT32, {1, 2, 2, 3}};
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kConvTranspose2D, {}, {x, std::nullopt}, 1, &out);
  EXPECT_NE(s.message().find("filter"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
