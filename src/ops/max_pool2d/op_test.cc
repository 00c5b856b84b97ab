// MaxPool2D: shape inference and reference kernel against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

TEST(MaxPool2D, Default2x2Stride2Nhwc) {
  // 4x4 single-channel ramp: maxima of each 2x2 block are 5, 7, 13, 15.
  std::vector<float> ramp(16);
  for (int i = 0; i < 16; ++i) ramp[i] = static_cast<float>(i);
  auto y = RunOpOrDie(OpKind::kMaxPool2D, {}, {HostTensor::F32({1, 4, 4, 1}, ramp)});
  EXPECT_EQ(y.shape, (ir::Shape{1, 2, 2, 1}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{5, 7, 13, 15}));
}

TEST(MaxPool2D, PaddingNeverWinsAndCeilMode) {
  // 3x3 of negatives, kernel 2, stride 2, ceil mode: 2x2 output, last window partial.
  auto x = HostTensor::F32({1, 1, 3, 3}, {-9, -8, -7, -6, -5, -4, -3, -2, -1});
  ir::AttrMap a;
  a.Set("layout", std::string("NCHW"));
  a.Set("ceil_mode", int64_t{1});
  auto y = RunOpOrDie(OpKind::kMaxPool2D, a, {x});
  EXPECT_EQ(y.shape, (ir::Shape{1, 1, 2, 2}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{-5, -4, -2, -1}));
  // Explicit padding 1 with a 3x3 window, stride 1: corners see only real values.
  ir::AttrMap b;
  b.Set("layout", std::string("NCHW"));
  b.Set("kernel", std::vector<int64_t>{3, 3});
  b.Set("strides", std::vector<int64_t>{1, 1});
  b.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  auto z = RunOpOrDie(OpKind::kMaxPool2D, b, {x});
  EXPECT_EQ(z.Floats(), (std::vector<float>{-5, -4, -4, -2, -1, -1, -2, -1, -1}));
}

TEST(MaxPool2D, NanPropagates) {
  auto x = HostTensor::F32({1, 1, 2, 2}, {1, NAN, 3, 4});
  ir::AttrMap a;
  a.Set("layout", std::string("NCHW"));
  auto y = RunOpOrDie(OpKind::kMaxPool2D, a, {x});
  EXPECT_TRUE(std::isnan(y.Floats()[0]));
}

TEST(MaxPool2D, BadKernelAttributeIsNamed) {
  ir::AttrMap a;
  a.Set("kernel", std::vector<int64_t>{0, 2});
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kMaxPool2D, a, {ops::ValueInfo{DataType::FLOAT32, {1, 4, 4, 1}}}, 1, &out);
  EXPECT_NE(s.message().find("kernel"), std::string::npos);
}

}  // namespace
}  // namespace mixq::testing
