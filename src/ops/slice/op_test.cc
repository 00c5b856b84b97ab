// Slice: ONNX semantics; goldens hand-computed or from numpy slicing pasted as literals.
#include <gtest/gtest.h>

#include <limits>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

ir::AttrMap SliceAttrs(std::vector<int64_t> starts, std::vector<int64_t> ends, std::vector<int64_t> axes = {},
                       std::vector<int64_t> steps = {}) {
  ir::AttrMap a;
  a.Set("starts", std::move(starts));
  a.Set("ends", std::move(ends));
  a.Set("axes", std::move(axes));
  a.Set("steps", std::move(steps));
  return a;
}

HostTensor Ramp(ir::Shape shape) {
  std::vector<float> v(static_cast<size_t>(ir::ElementCount(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return HostTensor::F32(std::move(shape), v);
}

TEST(Slice, RowsAndColumns) {
  // 3x4 ramp 0..11, rows 1..2, columns 0..2: [4 5 6; 8 9 10].
  auto y = RunOpOrDie(OpKind::kSlice, SliceAttrs({1, 0}, {3, 3}), {Ramp({3, 4})});
  EXPECT_EQ(y.shape, (ir::Shape{2, 3}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{4, 5, 6, 8, 9, 10}));
}

TEST(Slice, NegativeStepToTheBeginning) {
  // 0..9 from the last element backwards by 2 down to INT64_MIN (clamped to
  // "before element 0"): 9, 7, 5, 3, 1.
  auto y = RunOpOrDie(OpKind::kSlice, SliceAttrs({-1}, {kMin}, {}, {-2}), {Ramp({10})});
  EXPECT_EQ(y.shape, (ir::Shape{5}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{9, 7, 5, 3, 1}));
}

TEST(Slice, NegativeStepsOnEveryAxisInt32) {
  // d = arange(30) as [2,3,5]; numpy d[::-1, 2:-4:-1, -1:-6:-2]. The middle
  // end -4 + 3 = -1 is clamped to -1 ("past the beginning"), so all 3 rows come.
  std::vector<int32_t> v(30);
  for (int i = 0; i < 30; ++i) v[i] = i;
  auto d = HostTensor::Make(DataType::INT32, {2, 3, 5}, v);
  auto y = RunOpOrDie(OpKind::kSlice, SliceAttrs({kMax, 2, -1}, {kMin, -4, -6}, {0, 1, 2}, {-1, -1, -2}), {d});
  EXPECT_EQ(y.dtype, DataType::INT32);
  EXPECT_EQ(y.shape, (ir::Shape{2, 3, 3}));
  EXPECT_EQ(y.Values<int32_t>(),
            (std::vector<int32_t>{29, 27, 25, 24, 22, 20, 19, 17, 15, 14, 12, 10, 9, 7, 5, 4, 2, 0}));
}

TEST(Slice, OddAxesOrderAndStepsInt32) {
  // numpy d[1:2, :, 1::2] written as axes (-1, 0), starts (1, 1), ends (INT64_MAX, 2), steps (2, 1).
  std::vector<int32_t> v(30);
  for (int i = 0; i < 30; ++i) v[i] = i;
  auto d = HostTensor::Make(DataType::INT32, {2, 3, 5}, v);
  auto y = RunOpOrDie(OpKind::kSlice, SliceAttrs({1, 1}, {kMax, 2}, {-1, 0}, {2, 1}), {d});
  EXPECT_EQ(y.shape, (ir::Shape{1, 3, 2}));
  EXPECT_EQ(y.Values<int32_t>(), (std::vector<int32_t>{16, 18, 21, 23, 26, 28}));
}

TEST(Slice, Clamping) {
  // Starts and ends far out of range clamp to the axis: the whole of 0..4.
  auto y = RunOpOrDie(OpKind::kSlice, SliceAttrs({-100}, {100}), {Ramp({5})});
  EXPECT_EQ(y.Floats(), (std::vector<float>{0, 1, 2, 3, 4}));
  // Start after end with a positive step: empty, not an error.
  y = RunOpOrDie(OpKind::kSlice, SliceAttrs({4}, {2}), {Ramp({5})});
  EXPECT_EQ(y.shape, (ir::Shape{0}));
  // Negative step from beyond the end: start clamps to the last element, 4, 3.
  y = RunOpOrDie(OpKind::kSlice, SliceAttrs({100}, {2}, {}, {-1}), {Ramp({5})});
  EXPECT_EQ(y.Floats(), (std::vector<float>{4, 3}));
  // A step longer than the axis takes only the first element.
  y = RunOpOrDie(OpKind::kSlice, SliceAttrs({1}, {kMax}, {}, {kMax}), {Ramp({5})});
  EXPECT_EQ(y.Floats(), (std::vector<float>{1}));
  y = RunOpOrDie(OpKind::kSlice, SliceAttrs({-1}, {kMin}, {}, {kMin}), {Ramp({5})});
  EXPECT_EQ(y.Floats(), (std::vector<float>{4}));
}

TEST(Slice, DynamicDims) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo x{DataType::FLOAT32, {-1, 8}};
  // Sliced dynamic axis: unknown. Untouched dynamic axis: stays -1. Known axis: computed.
  ASSERT_TRUE(InferOp(OpKind::kSlice, SliceAttrs({0}, {2}), {x}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 8}));
  ASSERT_TRUE(InferOp(OpKind::kSlice, SliceAttrs({2}, {-1}, {1}), {x}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 5}));
}

TEST(Slice, BadAttributesAreNamed) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo x{DataType::FLOAT32, {4, 4}};
  Status s = InferOp(OpKind::kSlice, SliceAttrs({0}, {2}, {}, {0}), {x}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'steps' entry 0 is 0"), std::string::npos) << s.message();
  s = InferOp(OpKind::kSlice, SliceAttrs({0, 0}, {2}), {x}, 1, &out);
  EXPECT_NE(s.message().find("'ends'"), std::string::npos) << s.message();
  s = InferOp(OpKind::kSlice, SliceAttrs({0, 0}, {2, 2}, {1, -1}), {x}, 1, &out);
  EXPECT_NE(s.message().find("'axes' names axis 1 twice"), std::string::npos) << s.message();
  s = InferOp(OpKind::kSlice, SliceAttrs({0}, {2}, {2}), {x}, 1, &out);
  EXPECT_NE(s.message().find("'axes'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
