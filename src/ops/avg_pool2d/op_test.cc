// AvgPool2D: shape inference and reference kernel against hand-computed values
// and onnx.reference AveragePool goldens (opset 19).
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5f) << "at " << i;
}

std::vector<float> Ramp(int n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i);
  return v;
}

ir::AttrMap Nchw3x3Stride2Pad1(int64_t count_include_pad, int64_t ceil_mode) {
  ir::AttrMap a;
  a.Set("layout", std::string("NCHW"));
  a.Set("kernel", std::vector<int64_t>{3, 3});
  a.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  a.Set("count_include_pad", count_include_pad);
  a.Set("ceil_mode", ceil_mode);
  return a;
}

TEST(AvgPool2D, Default2x2Stride2Nhwc) {
  // 4x4 ramp, two channels (c1 = c0 + 100): block means (0+1+4+5)/4 = 2.5, 4.5, 10.5, 12.5.
  std::vector<float> x;
  for (int i = 0; i < 16; ++i) {
    x.push_back(static_cast<float>(i));
    x.push_back(static_cast<float>(i + 100));
  }
  auto y = RunOpOrDie(OpKind::kAvgPool2D, {}, {HostTensor::F32({1, 4, 4, 2}, x)});
  EXPECT_EQ(y.shape, (ir::Shape{1, 2, 2, 2}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{2.5f, 102.5f, 4.5f, 104.5f, 10.5f, 110.5f, 12.5f, 112.5f}));
}

TEST(AvgPool2D, PaddingExcludedByDefault) {
  // 5x5 ramp, 3x3 window, stride 2, pad 1: corner (0,0) averages {0,1,5,6} = 3.
  auto y = RunOpOrDie(OpKind::kAvgPool2D, Nchw3x3Stride2Pad1(0, 0), {HostTensor::F32({1, 1, 5, 5}, Ramp(25))});
  EXPECT_EQ(y.shape, (ir::Shape{1, 1, 3, 3}));
  ExpectNear(y.Floats(), {3.0f, 4.5f, 6.0f, 10.5f, 12.0f, 13.5f, 18.0f, 19.5f, 21.0f});
}

TEST(AvgPool2D, CountIncludePad) {
  // Same windows divided by 9: corner 12/9 = 1.3333.
  auto y = RunOpOrDie(OpKind::kAvgPool2D, Nchw3x3Stride2Pad1(1, 0), {HostTensor::F32({1, 1, 5, 5}, Ramp(25))});
  ExpectNear(y.Floats(), {1.3333334f, 3.0f, 2.6666667f, 7.0f, 12.0f, 9.0f, 8.0f, 13.0f, 9.333333f});
}

TEST(AvgPool2D, CeilModeExcludingPad) {
  // 6x6 ramp: floor gives 3x3, ceil 4x4; the last window (start 5) covers input 5 only.
  auto y = RunOpOrDie(OpKind::kAvgPool2D, Nchw3x3Stride2Pad1(0, 1), {HostTensor::F32({1, 1, 6, 6}, Ramp(36))});
  EXPECT_EQ(y.shape, (ir::Shape{1, 1, 4, 4}));
  ExpectNear(y.Floats(), {3.5f, 5.0f, 7.0f, 8.0f, 12.5f, 14.0f, 16.0f, 17.0f, 24.5f, 26.0f, 28.0f, 29.0f, 30.5f, 32.0f,
                          34.0f, 35.0f});
}

TEST(AvgPool2D, CeilModeWithCountIncludePadNeverCountsBeyondThePads) {
  // Last column of windows spans columns 5, 6 (pad), 7 (only there for ceil_mode):
  // (0,3): rows -1..1 (3 counted) x cols 5..6 (2 counted): (5 + 11) / 6 = 2.6667.
  // (3,3): rows 5..6 x cols 5..6: 35 / 4 = 8.75. (onnx.reference 1.17 divides
  // these by the full 9; ONNX Runtime and PyTorch do as here.) Inner windows
  // match onnx.reference.
  auto y = RunOpOrDie(OpKind::kAvgPool2D, Nchw3x3Stride2Pad1(1, 1), {HostTensor::F32({1, 1, 6, 6}, Ramp(36))});
  ExpectNear(y.Floats(), {1.5555556f, 3.3333333f, 4.6666667f, 2.6666667f, 8.333333f, 14.0f, 16.0f, 8.5f, 16.333334f,
                          26.0f, 28.0f, 14.5f, 10.166667f, 16.0f, 17.0f, 8.75f});
}

TEST(AvgPool2D, SamePaddingOddSizes) {
  // 3x5 input 1..15, 2x2 window stride 2: output 2x3, total pads 1 per axis.
  auto x = HostTensor::F32({1, 1, 3, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  ir::AttrMap a;
  a.Set("layout", std::string("NCHW"));
  a.Set("padding_mode", std::string("SAME_UPPER"));
  auto upper = RunOpOrDie(OpKind::kAvgPool2D, a, {x});
  EXPECT_EQ(upper.shape, (ir::Shape{1, 1, 2, 3}));
  // Pad at the end: last column window is {5, 10} -> 7.5; last row {11,12} -> 11.5.
  ExpectNear(upper.Floats(), {4.0f, 6.0f, 7.5f, 11.5f, 13.5f, 15.0f});
  a.Set("padding_mode", std::string("SAME_LOWER"));
  auto lower = RunOpOrDie(OpKind::kAvgPool2D, a, {x});
  // Pad at the start: first window is {1} alone.
  ExpectNear(lower.Floats(), {1.0f, 2.5f, 4.5f, 8.5f, 10.0f, 12.0f});
}

TEST(AvgPool2D, DynamicDimsPropagate) {
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(InferOp(OpKind::kAvgPool2D, {}, {ops::ValueInfo{DataType::FLOAT32, {-1, -1, 7, 3}}}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, -1, 3, 3}));
}

TEST(AvgPool2D, BadInputsAreNamed) {
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kAvgPool2D, {}, {ops::ValueInfo{DataType::FLOAT32, {4, 4, 3}}}, 1, &out);
  EXPECT_NE(s.message().find("'input'"), std::string::npos) << s.message();
  ir::AttrMap a;
  a.Set("strides", std::vector<int64_t>{2, 0});
  s = InferOp(OpKind::kAvgPool2D, a, {ops::ValueInfo{DataType::FLOAT32, {1, 4, 4, 3}}}, 1, &out);
  EXPECT_NE(s.message().find("strides"), std::string::npos) << s.message();
  ir::AttrMap b;
  b.Set("layout", std::string("CHWN"));
  s = InferOp(OpKind::kAvgPool2D, b, {ops::ValueInfo{DataType::FLOAT32, {1, 4, 4, 3}}}, 1, &out);
  EXPECT_NE(s.message().find("layout"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
