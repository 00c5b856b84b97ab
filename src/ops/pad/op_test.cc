// Pad: shape inference and reference kernel against numpy.pad goldens
// (np.pad(x, ..., mode='constant' | 'reflect' | 'edge')) and hand-computed values.
#include <gtest/gtest.h>

#include "test_util/op_runner.h"
#include "util/half.h"

namespace mixq::testing {
namespace {

// x = 1..12 as a 3x4 matrix.
HostTensor Matrix3x4() {
  return HostTensor::F32({3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
}

ir::AttrMap PadAttrs(std::vector<int64_t> pads, const char* mode) {
  ir::AttrMap a;
  a.Set("pads", std::move(pads));
  a.Set("mode", std::string(mode));
  return a;
}

TEST(Pad, ConstantWithValue) {
  // Rows: 1 before; columns: 2 before, 1 after; filled with -1.5.
  ir::AttrMap a = PadAttrs({1, 2, 0, 1}, "constant");
  a.Set("value", -1.5f);
  auto y = RunOpOrDie(OpKind::kPad, a, {Matrix3x4()});
  EXPECT_EQ(y.shape, (ir::Shape{4, 7}));
  const float c = -1.5f;
  EXPECT_EQ(y.Floats(), (std::vector<float>{c, c, c, c, c, c, c, c, c, 1, 2,  3,  4,  c,
                                            c, c, 5, 6, 7, 8, c, c, c, 9, 10, 11, 12, c}));
}

TEST(Pad, ConstantDefaultsToZero) {
  auto y = RunOpOrDie(OpKind::kPad, PadAttrs({1, 1}, "constant"), {HostTensor::F32({2}, {7, 8})});
  EXPECT_EQ(y.Floats(), (std::vector<float>{0, 7, 8, 0}));
}

TEST(Pad, Reflect) {
  // Rows 2 before / 1 after, columns 3 before / 2 after: the edge is not repeated.
  auto y = RunOpOrDie(OpKind::kPad, PadAttrs({2, 3, 1, 2}, "reflect"), {Matrix3x4()});
  EXPECT_EQ(y.shape, (ir::Shape{6, 9}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{12, 11, 10, 9, 10, 11, 12, 11, 10, 8, 7, 6, 5, 6, 7, 8, 7, 6,
                                            4,  3,  2,  1, 2,  3,  4,  3,  2,  8, 7, 6, 5, 6, 7, 8, 7, 6,
                                            12, 11, 10, 9, 10, 11, 12, 11, 10, 8, 7, 6, 5, 6, 7, 8, 7, 6}));
}

TEST(Pad, Edge) {
  // Rows 2 after, columns 1 before / 2 after: the edge value repeats.
  auto y = RunOpOrDie(OpKind::kPad, PadAttrs({0, 1, 2, 2}, "edge"), {Matrix3x4()});
  EXPECT_EQ(y.shape, (ir::Shape{5, 7}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{1,  1,  2,  3, 4, 4,  4,  5,  5,  6,  7, 8, 8,  8,  9,  9,  10, 11,
                                            12, 12, 12, 9, 9, 10, 11, 12, 12, 12, 9, 9, 10, 11, 12, 12, 12}));
}

TEST(Pad, NegativePadsCrop) {
  // Begins (-1, 1), ends (0, -2), reflect: drop row 0, mirror one column in
  // front, drop the last two columns: rows [5..8], [9..12] -> [6 5 6], [10 9 10].
  auto y = RunOpOrDie(OpKind::kPad, PadAttrs({-1, 1, 0, -2}, "reflect"), {Matrix3x4()});
  EXPECT_EQ(y.shape, (ir::Shape{2, 3}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{6, 5, 6, 10, 9, 10}));
}

TEST(Pad, IntegerTypesAndConversion) {
  // INT64 3-D, a row after and a column before, constant 2.9 truncates to 2:
  // rows [2 -5], [2 6], [2 2].
  ir::AttrMap a = PadAttrs({0, 0, 1, 0, 1, 0}, "constant");
  a.Set("value", 2.9f);
  std::vector<HostTensor> out;
  ASSERT_TRUE(RunOp(OpKind::kPad, a, {HostTensor::I64({1, 2, 1}, {-5, 6})}, 1, &out).ok());
  EXPECT_EQ(out[0].dtype, DataType::INT64);
  EXPECT_EQ(out[0].shape, (ir::Shape{1, 3, 2}));
  EXPECT_EQ(out[0].Values<int64_t>(), (std::vector<int64_t>{2, -5, 2, 6, 2, 2}));
  // INT8: 300 saturates to 127.
  ir::AttrMap b = PadAttrs({1, 0}, "constant");
  b.Set("value", 300.0f);
  ASSERT_TRUE(RunOp(OpKind::kPad, b, {HostTensor::Make<int8_t>(DataType::INT8, {2}, {-3, 4})}, 1, &out).ok());
  EXPECT_EQ(out[0].Values<int8_t>(), (std::vector<int8_t>{127, -3, 4}));
  // UINT8 edge.
  ASSERT_TRUE(RunOp(OpKind::kPad, PadAttrs({2, 1}, "edge"), {HostTensor::Make<uint8_t>(DataType::UINT8, {2}, {200, 9})},
                    1, &out)
                  .ok());
  EXPECT_EQ(out[0].Values<uint8_t>(), (std::vector<uint8_t>{200, 200, 200, 9, 9}));
}

TEST(Pad, Float16Constant) {
  ir::AttrMap a = PadAttrs({0, 1}, "constant");
  a.Set("value", 0.5f);
  std::vector<HostTensor> out;
  auto x = HostTensor::Make<uint16_t>(DataType::FLOAT16, {1}, {FloatToHalf(3.0f)});
  ASSERT_TRUE(RunOp(OpKind::kPad, a, {x}, 1, &out).ok());
  EXPECT_EQ(out[0].Values<uint16_t>(), (std::vector<uint16_t>{FloatToHalf(3.0f), FloatToHalf(0.5f)}));
}

TEST(Pad, DynamicDimsPropagate) {
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(InferOp(OpKind::kPad, PadAttrs({0, 1, 1, 2, 3, -1}, "reflect"),
                      {ops::ValueInfo{DataType::FLOAT32, {-1, 5, -1}}}, 1, &out)
                  .ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 9, -1}));
}

TEST(Pad, BadPadsAreNamed) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo x{DataType::FLOAT32, {3, 4}};
  Status s = InferOp(OpKind::kPad, PadAttrs({1, 1}, "constant"), {x}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'pads'"), std::string::npos) << s.message();
  // Reflect needs pad < size: 3 rows cannot mirror 3.
  s = InferOp(OpKind::kPad, PadAttrs({3, 0, 0, 0}, "reflect"), {x}, 1, &out);
  EXPECT_NE(s.message().find("reflect"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'pads'"), std::string::npos) << s.message();
  s = InferOp(OpKind::kPad, PadAttrs({0, -3, 0, -2}, "constant"), {x}, 1, &out);
  EXPECT_NE(s.message().find("crops axis 1"), std::string::npos) << s.message();
  s = InferOp(OpKind::kPad, PadAttrs({0, 0, 0, 0}, "wrap"), {x}, 1, &out);
  EXPECT_NE(s.message().find("'mode'"), std::string::npos) << s.message();
}

TEST(Pad, ReflectOnDynamicDimIsCheckedAtRun) {
  // Inference passes with an unknown size; preparing for the concrete 2 fails.
  std::vector<ops::ValueInfo> infer_out;
  ASSERT_TRUE(
      InferOp(OpKind::kPad, PadAttrs({2, 0}, "reflect"), {ops::ValueInfo{DataType::FLOAT32, {-1}}}, 1, &infer_out)
          .ok());
  std::vector<HostTensor> out;
  Status s = RunOp(OpKind::kPad, PadAttrs({2, 0}, "reflect"), {HostTensor::F32({2}, {1, 2})}, 1, &out);
  EXPECT_NE(s.message().find("reflect"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
