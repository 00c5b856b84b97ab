// FakeQuantize: the grid snap (ties to even), the clamp that carries a ReLU in
// QDQ models, per-axis scales, int16, and errors naming the attribute.
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

ir::AttrMap Attrs(int64_t bits, std::vector<float> scales, std::vector<int64_t> zeros, int64_t axis) {
  ir::AttrMap a;
  a.Set("bits", bits);
  a.Set("scales", std::move(scales));
  a.Set("zero_points", std::move(zeros));
  a.Set("axis", axis);
  return a;
}

TEST(FakeQuantize, SnapsToTheGridWithTiesToEvenAndClamps) {
  // s = 0.5, z = -126 (int8): the grid covers [-1, 126.5]; x / s = 2.5 -> 2, 3.5 -> 4.
  const auto y = RunOpOrDie(OpKind::kFakeQuantize, Attrs(8, {0.5f}, {-126}, -1),
                            {HostTensor::F32({6}, {1.25f, 1.75f, -3.0f, 200.0f, 0.1f, -0.75f})});
  EXPECT_EQ(y.Floats(), (std::vector<float>{1.0f, 2.0f, -1.0f, 126.5f, 0.0f, -1.0f}));
}

TEST(FakeQuantize, ZeroPointAtTheBottomIsARelu) {
  // z = n: nothing below 0 survives, as ONNX Runtime's QDQ models rely on.
  const auto y = RunOpOrDie(OpKind::kFakeQuantize, Attrs(8, {0.1f}, {-128}, -1),
                            {HostTensor::F32({4}, {-5.0f, -0.04f, 0.04f, 1.0f})});
  EXPECT_EQ(y.Floats(), (std::vector<float>{0.0f, 0.0f, 0.0f, 1.0f}));
}

TEST(FakeQuantize, PerAxisAndSixteenBits) {
  // Column 0: s 0.25. Column 1: s 2, z 1: 0.3 / 2 -> 0, then (0 + 1 - 1) * 2 = 0;
  // 70000 / 2 = 35000 + 1 -> clamped to 32767 -> (32767 - 1) * 2.
  const auto y = RunOpOrDie(OpKind::kFakeQuantize, Attrs(16, {0.25f, 2.0f}, {0, 1}, 1),
                            {HostTensor::F32({2, 2}, {0.3f, 0.3f, -1000.0f, 70000.0f})});
  EXPECT_EQ(y.Floats(), (std::vector<float>{0.25f, 0.0f, -1000.0f, 65532.0f}));
}

TEST(FakeQuantize, BadParametersNameTheAttribute) {
  std::vector<HostTensor> out;
  auto expect = [&](const ir::AttrMap& a, HostTensor x, const std::string& needle) {
    Status s = RunOp(OpKind::kFakeQuantize, a, {x}, 1, &out);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  };
  expect(Attrs(8, {0.5f}, {300}, -1), HostTensor::F32({1}, {0}), "zero point");
  expect(Attrs(8, {0.5f, 1.0f}, {0, 0}, 1), HostTensor::F32({2, 3}, std::vector<float>(6)),
         "3 slices along axis 1 but 2 scales");
  expect(Attrs(7, {0.5f}, {0}, -1), HostTensor::F32({1}, {0}), "8 or 16");
  expect(Attrs(8, {-1.0f}, {0}, -1), HostTensor::F32({1}, {0}), "scale");
}

}  // namespace
}  // namespace mixq::testing
