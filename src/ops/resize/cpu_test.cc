// The fast Resize kernel is bit-exact with the reference: nearest and linear,
// every coordinate transform and nearest rounding, up- and downsampling, one
// or several resized axes, ranks 1 to 4, NaN and inf in the input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

TEST(ResizeFast, BitExactWithTheReference) {
  struct Case {
    ir::Shape in;
    std::vector<float> scales;
  };
  const Case cases[] = {{{1, 3, 5, 7}, {1, 1, 2, 2}}, {{2, 2, 6, 4}, {1, 1, 0.5f, 1.75f}},
                        {{4, 9}, {1.5f, 0.7f}},       {{11}, {2.3f}},
                        {{1, 2, 3, 3}, {1, 2, 1, 1}}, {{3, 5}, {1, 1}}};
  for (const char* mode : {"nearest", "linear"})
    for (const char* transform : {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"})
      for (const char* nearest : {"round_prefer_floor", "floor", "ceil"})
        for (const Case& c : cases) {
          SCOPED_TRACE(std::string(mode) + " " + transform + " " + nearest + " " + ir::ShapeString(c.in));
          ir::AttrMap a;
          a.Set("scales", c.scales);
          a.Set("mode", std::string(mode));
          a.Set("coordinate_transformation_mode", std::string(transform));
          a.Set("nearest_mode", std::string(nearest));
          std::vector<float> x(static_cast<size_t>(ir::ElementCount(c.in)));
          for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(static_cast<float>(i) * 0.7f) * 3.0f;
          x[x.size() / 2] = std::numeric_limits<float>::infinity();
          x[0] = std::nanf("");
          const std::vector<std::optional<HostTensor>> in = {HostTensor::F32(c.in, x)};
          std::vector<HostTensor> ref, fast;
          ASSERT_TRUE(RunOp(OpKind::kResize, a, in, 1, &ref, KernelKind::kReference).ok());
          ASSERT_TRUE(RunOp(OpKind::kResize, a, in, 1, &fast, KernelKind::kOptimized).ok());
          ASSERT_EQ(ref[0].shape, fast[0].shape);
          EXPECT_EQ(std::memcmp(ref[0].bytes.data(), fast[0].bytes.data(), ref[0].bytes.size()), 0);
        }
}

}  // namespace
}  // namespace mixq::testing
