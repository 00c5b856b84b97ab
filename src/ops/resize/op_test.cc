// Resize: shape inference and reference kernel against onnx.reference Resize
// goldens (opset 18) and hand-computed values.
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5f) << "at " << i;
}

ir::AttrMap ResizeAttrs(std::vector<float> scales, const char* mode, const char* transform = "half_pixel") {
  ir::AttrMap a;
  a.Set("scales", std::move(scales));
  a.Set("mode", std::string(mode));
  a.Set("coordinate_transformation_mode", std::string(transform));
  return a;
}

std::vector<float> Ramp(int n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i);
  return v;
}

// 2x4 input, scales (2, 1.5): 4x6 output (both products are whole, so ONNX's
// fractional and integer output lengths agree).
HostTensor Input2x4() {
  return HostTensor::F32({2, 4}, {1, 2, 4, -1, -3, 5, 0, 2});
}

TEST(Resize, NearestAsymmetricFloorUpsampleNhwc) {
  // x2 on H and W of a 1x2x2x1 tensor: every pixel becomes a 2x2 block.
  ir::AttrMap a = ResizeAttrs({1, 2, 2, 1}, "nearest", "asymmetric");
  a.Set("nearest_mode", std::string("floor"));
  auto y = RunOpOrDie(OpKind::kResize, a, {HostTensor::F32({1, 2, 2, 1}, {1, 2, 3, 4})});
  EXPECT_EQ(y.shape, (ir::Shape{1, 4, 4, 1}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
}

TEST(Resize, NearestModesOnTies) {
  // Half-pixel, scale 0.5 on 8: x_original = 2x + 0.5, an exact tie every time.
  const auto x = HostTensor::F32({1, 8}, Ramp(8));
  const std::vector<std::pair<const char*, std::vector<float>>> cases = {{"round_prefer_floor", {0, 2, 4, 6}},
                                                                         {"round_prefer_ceil", {1, 3, 5, 7}},
                                                                         {"floor", {0, 2, 4, 6}},
                                                                         {"ceil", {1, 3, 5, 7}}};
  for (const auto& [mode, want] : cases) {
    ir::AttrMap a = ResizeAttrs({1, 0.5f}, "nearest");
    a.Set("nearest_mode", std::string(mode));
    EXPECT_EQ(RunOpOrDie(OpKind::kResize, a, {x}).Floats(), want) << mode;
  }
}

TEST(Resize, NearestModesOffTies) {
  // Asymmetric, scale 0.6 on 7 -> 4: x_original = x / 0.6 = 0, 1.67, 3.33, 5.
  const auto x = HostTensor::F32({1, 7}, Ramp(7));
  const std::vector<std::pair<const char*, std::vector<float>>> cases = {{"round_prefer_floor", {0, 2, 3, 5}},
                                                                         {"round_prefer_ceil", {0, 2, 3, 5}},
                                                                         {"floor", {0, 1, 3, 4}},
                                                                         {"ceil", {0, 2, 4, 5}}};
  for (const auto& [mode, want] : cases) {
    ir::AttrMap a = ResizeAttrs({1, 0.6f}, "nearest", "asymmetric");
    a.Set("nearest_mode", std::string(mode));
    auto y = RunOpOrDie(OpKind::kResize, a, {x});
    EXPECT_EQ(y.shape, (ir::Shape{1, 4}));
    EXPECT_EQ(y.Floats(), want) << mode;
  }
  // Default half-pixel: (x + 0.5) / 0.6 - 0.5 = 0.33, 2, 3.67, 5.33.
  EXPECT_EQ(RunOpOrDie(OpKind::kResize, ResizeAttrs({1, 0.6f}, "nearest"), {x}).Floats(),
            (std::vector<float>{0, 2, 4, 5}));
}

TEST(Resize, NearestCoordinateTransforms) {
  auto half = RunOpOrDie(OpKind::kResize, ResizeAttrs({2, 1.5f}, "nearest"), {Input2x4()});
  EXPECT_EQ(half.shape, (ir::Shape{4, 6}));
  EXPECT_EQ(half.Floats(),
            (std::vector<float>{1, 1, 2, 4, 4, -1, 1, 1, 2, 4, 4, -1, -3, -3, 5, 0, 0, 2, -3, -3, 5, 0, 0, 2}));
  auto asym = RunOpOrDie(OpKind::kResize, ResizeAttrs({2, 1.5f}, "nearest", "asymmetric"), {Input2x4()});
  EXPECT_EQ(asym.Floats(),
            (std::vector<float>{1, 2, 2, 4, -1, -1, 1, 2, 2, 4, -1, -1, -3, 5, 5, 0, 2, 2, -3, 5, 5, 0, 2, 2}));
  auto corners = RunOpOrDie(OpKind::kResize, ResizeAttrs({2, 1.5f}, "nearest", "align_corners"), {Input2x4()});
  EXPECT_EQ(corners.Floats(),
            (std::vector<float>{1, 2, 2, 4, 4, -1, 1, 2, 2, 4, 4, -1, -3, 5, 5, 0, 0, 2, -3, 5, 5, 0, 0, 2}));
}

TEST(Resize, LinearHalfPixelAndPytorchHalfPixel) {
  const std::vector<float> want = {
      1,  1.5f,   2.333333f, 3.666667f, 1.5f,   -1,    0,  1.375f, 2.791667f, 2.958333f,  1.375f, -0.25f,
      -2, 1.125f, 3.708333f, 1.541667f, 1.125f, 1.25f, -3, 1,      4.166667f, 0.8333333f, 1,      2};
  auto half = RunOpOrDie(OpKind::kResize, ResizeAttrs({2, 1.5f}, "linear"), {Input2x4()});
  EXPECT_EQ(half.shape, (ir::Shape{4, 6}));
  ExpectNear(half.Floats(), want);
  ExpectNear(RunOpOrDie(OpKind::kResize, ResizeAttrs({2, 1.5f}, "linear", "pytorch_half_pixel"), {Input2x4()}).Floats(),
             want);
}

TEST(Resize, LinearAsymmetric) {
  auto y = RunOpOrDie(OpKind::kResize, ResizeAttrs({2, 1.5f}, "linear", "asymmetric"), {Input2x4()});
  ExpectNear(y.Floats(), {1,  1.666667f, 2.666667f, 4, 0.6666667f, -1, -1, 2,         3,         2, 1,         0.5f,
                          -3, 2.333333f, 3.333333f, 0, 1.333333f,  2,  -3, 2.333333f, 3.333333f, 0, 1.333333f, 2});
}

TEST(Resize, LinearAlignCorners) {
  auto y = RunOpOrDie(OpKind::kResize, ResizeAttrs({2, 1.5f}, "linear", "align_corners"), {Input2x4()});
  ExpectNear(y.Floats(), {1,         1.6f,      2.4f, 3.6f, 2,          -1,        -0.3333333f, 1.666667f,
                          2.933333f, 2.733333f, 1.6f, 0,    -1.666667f, 1.733333f, 3.466667f,   1.866667f,
                          1.2f,      1,         -3,   1.8f, 4,          1,         0.8f,        2});
}

TEST(Resize, AlignCornersUsesTheIntegerOutputLength) {
  // Scale 1.5 on 3 gives 4 (floor 4.5). As ONNX Runtime and PyTorch do, the
  // corners map with the integer length: x * 2 / 3 = 0, 0.67, 1.33, 2 on
  // [1, 2, 6] -> 1, 1.6667, 2 + 4/3, 6. (onnx.reference 1.17 divides by 3.5.)
  auto y = RunOpOrDie(OpKind::kResize, ResizeAttrs({1, 1.5f}, "linear", "align_corners"),
                      {HostTensor::F32({1, 3}, {1, 2, 6})});
  EXPECT_EQ(y.shape, (ir::Shape{1, 4}));
  ExpectNear(y.Floats(), {1, 1.6666667f, 3.3333333f, 6});
}

TEST(Resize, OutputLengthOne) {
  // sizes (1, 1) from [1, 2, 6]: half_pixel samples x_original = 0.5 * 3 - 0.5 = 1
  // (value 2); pytorch_half_pixel and align_corners take x_original = 0.
  auto x = HostTensor::F32({1, 3}, {1, 2, 6});
  ir::AttrMap a = ResizeAttrs({}, "linear");
  a.Set("sizes", std::vector<int64_t>{1, 1});
  EXPECT_EQ(RunOpOrDie(OpKind::kResize, a, {x}).Floats(), (std::vector<float>{2}));
  a.Set("coordinate_transformation_mode", std::string("pytorch_half_pixel"));
  EXPECT_EQ(RunOpOrDie(OpKind::kResize, a, {x}).Floats(), (std::vector<float>{1}));
  a.Set("coordinate_transformation_mode", std::string("align_corners"));
  EXPECT_EQ(RunOpOrDie(OpKind::kResize, a, {x}).Floats(), (std::vector<float>{1}));
}

TEST(Resize, SizesWinOverScales) {
  // 2x3 to sizes (3, 5); the scales given are ignored, coordinates use 3/2 and 5/3.
  ir::AttrMap a = ResizeAttrs({4, 4}, "linear");
  a.Set("sizes", std::vector<int64_t>{3, 5});
  auto y = RunOpOrDie(OpKind::kResize, a, {HostTensor::F32({2, 3}, {1, 2, 4, -3, 5, 0})});
  EXPECT_EQ(y.shape, (ir::Shape{3, 5}));
  ExpectNear(y.Floats(), {1, 1.4f, 2, 3.2f, 4, -1, 0.8f, 3.5f, 2.6f, 2, -3, 0.2f, 5, 2, 0});
}

TEST(Resize, TrilinearOverThreeAxes) {
  // (2, 2, 2) by (1.5, 2, 1): the last axis is not resized; n-linear over the others.
  auto x = HostTensor::F32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 9});
  auto y = RunOpOrDie(OpKind::kResize, ResizeAttrs({1.5f, 2, 1}, "linear"), {x});
  EXPECT_EQ(y.shape, (ir::Shape{3, 4, 2}));
  ExpectNear(y.Floats(), {1,    2,      1.5f, 2.5f, 2.5f, 3.5f, 3,    4,     3,    4,     3.5f, 4.625f,
                          4.5f, 5.875f, 5,    6.5f, 5,    6,    5.5f, 6.75f, 6.5f, 8.25f, 7,    9});
  auto corners = RunOpOrDie(OpKind::kResize, ResizeAttrs({1.5f, 2, 1}, "linear", "align_corners"), {x});
  ExpectNear(corners.Floats(), {1, 2, 1.666667f, 2.666667f, 2.333333f, 3.333333f, 3, 4,
                                3, 4, 3.666667f, 4.833333f, 4.333333f, 5.666667f, 5, 6.5f,
                                5, 6, 5.666667f, 7,         6.333333f, 8,         7, 9});
}

TEST(Resize, DynamicDimsPropagate) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo x{DataType::FLOAT32, {-1, 3, -1, 9}};
  ASSERT_TRUE(InferOp(OpKind::kResize, ResizeAttrs({1, 1, 2, 0.5f}, "nearest"), {x}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 3, -1, 4}));
  ir::AttrMap a;
  a.Set("sizes", std::vector<int64_t>{2, 3, 8, 8});
  ASSERT_TRUE(InferOp(OpKind::kResize, a, {x}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{2, 3, 8, 8}));
}

TEST(Resize, BadAttributesAreNamed) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo x{DataType::FLOAT32, {1, 3, 4, 4}};
  Status s = InferOp(OpKind::kResize, ResizeAttrs({2, 2}, "nearest"), {x}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'scales'"), std::string::npos) << s.message();
  s = InferOp(OpKind::kResize, ResizeAttrs({1, 1, 0, 2}, "nearest"), {x}, 1, &out);
  EXPECT_NE(s.message().find("'scales'"), std::string::npos) << s.message();
  s = InferOp(OpKind::kResize, ResizeAttrs({1, 1, 2, 2}, "cubic"), {x}, 1, &out);
  EXPECT_NE(s.message().find("'mode'"), std::string::npos) << s.message();
  s = InferOp(OpKind::kResize, ResizeAttrs({1, 1, 2, 2}, "linear", "tf_crop_and_resize"), {x}, 1, &out);
  EXPECT_NE(s.message().find("'coordinate_transformation_mode'"), std::string::npos) << s.message();
  ir::AttrMap a = ResizeAttrs({1, 1, 2, 2}, "nearest");
  a.Set("nearest_mode", std::string("round"));
  s = InferOp(OpKind::kResize, a, {x}, 1, &out);
  EXPECT_NE(s.message().find("'nearest_mode'"), std::string::npos) << s.message();
  a = ResizeAttrs({}, "nearest");
  a.Set("sizes", std::vector<int64_t>{1, 3, 8});
  s = InferOp(OpKind::kResize, a, {x}, 1, &out);
  EXPECT_NE(s.message().find("'sizes'"), std::string::npos) << s.message();
  s = InferOp(OpKind::kResize, ResizeAttrs({2}, "nearest"), {ops::ValueInfo{DataType::INT32, {4}}}, 1, &out);
  EXPECT_NE(s.message().find("'input'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
