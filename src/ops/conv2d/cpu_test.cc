// The oneDNN Conv2D against the reference (DESIGN rule 1) on odd shapes:
// groups, depthwise, dilation, strides, asymmetric and SAME padding, every
// filter layout, both activation layouts, constant and run-time filters,
// with and without bias, tails that fit no vector width, extreme values.
//
// Tolerance (float32): |opt - ref| <= (8 * K * 2^-24 + 1e-7) * max|x| * max|w|,
// K = the products summed per output: the reference sums in double, oneDNN in
// float in another order (and with FMA), so each may round up to K times.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

struct Case {
  const char* name;
  int64_t n, c, h, w, o, kh, kw, group;
  std::vector<int64_t> strides, pads, dilations;
  std::string padding_mode, input_layout, filter_layout, output_layout;
  bool constant_filter, bias;
  float magnitude;  // inputs are uniform in [-magnitude, magnitude]
};

std::vector<float> Uniform(size_t n, uint32_t seed, float magnitude) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-magnitude, magnitude);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

ir::Shape Activation(const std::string& layout, int64_t n, int64_t c, int64_t h, int64_t w) {
  return layout == "NCHW" ? ir::Shape{n, c, h, w} : ir::Shape{n, h, w, c};
}

ir::Shape Filter(const std::string& layout, int64_t o, int64_t i, int64_t kh, int64_t kw) {
  if (layout == "OIHW") return {o, i, kh, kw};
  if (layout == "OHWI") return {o, kh, kw, i};
  return {kh, kw, i, o};  // HWCN
}

void Check(const Case& c) {
  SCOPED_TRACE(c.name);
  ir::AttrMap a;
  a.Set("strides", c.strides);
  a.Set("pads", c.pads);
  a.Set("dilations", c.dilations);
  a.Set("group", c.group);
  a.Set("padding_mode", c.padding_mode);
  a.Set("input_layout", c.input_layout);
  a.Set("filter_layout", c.filter_layout);
  a.Set("output_layout", c.output_layout);
  const ir::Shape xs = Activation(c.input_layout, c.n, c.c, c.h, c.w);
  const ir::Shape ws = Filter(c.filter_layout, c.o, c.c / c.group, c.kh, c.kw);
  const auto x = Uniform(static_cast<size_t>(ir::ElementCount(xs)), 1, c.magnitude);
  const auto w = Uniform(static_cast<size_t>(ir::ElementCount(ws)), 2, c.magnitude);
  HostTensor filter = HostTensor::F32(ws, w);
  if (c.constant_filter) filter = filter.Const();
  std::vector<std::optional<HostTensor>> inputs = {HostTensor::F32(xs, x), filter};
  if (c.bias) inputs.push_back(HostTensor::F32({c.o}, Uniform(static_cast<size_t>(c.o), 3, c.magnitude)).Const());
  std::vector<HostTensor> ref, opt;
  ASSERT_TRUE(RunOp(OpKind::kConv2D, a, inputs, 1, &ref, KernelKind::kReference).ok());
  Status s = RunOp(OpKind::kConv2D, a, inputs, 1, &opt, KernelKind::kOptimized);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(ref[0].shape, opt[0].shape);
  const double k = static_cast<double>(c.c / c.group * c.kh * c.kw) + (c.bias ? 1 : 0);
  const double scale = static_cast<double>(c.magnitude) * c.magnitude;
  const double bound = (8 * k * std::ldexp(1.0, -24) + 1e-7) * scale;
  const auto r = ref[0].Floats(), o = opt[0].Floats();
  double worst = 0;
  for (size_t i = 0; i < r.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(r[i]) - o[i]));
  EXPECT_LE(worst, bound);
  // Not trivially equal to zero everywhere.
  double peak = 0;
  for (float v : r) peak = std::max(peak, static_cast<double>(std::fabs(v)));
  EXPECT_GT(peak, 0.0);
}

TEST(Conv2DOneDnn, MatchesTheReferenceOnOddShapes) {
  const Case cases[] = {
      {"nhwc ohwi 3x3 pad 1",
       1,
       3,
       17,
       13,
       5,
       3,
       3,
       1,
       {1, 1},
       {1, 1, 1, 1},
       {1, 1},
       "EXPLICIT",
       "NHWC",
       "OHWI",
       "NHWC",
       true,
       true,
       1.0f},
      {"nchw oihw stride 2 asym pads",
       2,
       7,
       11,
       9,
       6,
       3,
       2,
       1,
       {2, 2},
       {0, 2, 1, 0},
       {1, 1},
       "EXPLICIT",
       "NCHW",
       "OIHW",
       "NCHW",
       true,
       false,
       1.0f},
      {"grouped dilated",
       1,
       6,
       15,
       14,
       9,
       3,
       3,
       3,
       {1, 2},
       {2, 2, 1, 1},
       {2, 3},
       "EXPLICIT",
       "NHWC",
       "OHWI",
       "NHWC",
       true,
       true,
       1.0f},
      {"depthwise same",
       3,
       8,
       9,
       10,
       8,
       3,
       3,
       8,
       {2, 2},
       {0, 0, 0, 0},
       {1, 1},
       "SAME_UPPER",
       "NHWC",
       "OHWI",
       "NHWC",
       true,
       true,
       1.0f},
      {"hwcn filter, mixed layouts",
       1,
       5,
       8,
       7,
       4,
       2,
       3,
       1,
       {1, 1},
       {0, 0, 0, 0},
       {1, 1},
       "VALID",
       "NCHW",
       "HWCN",
       "NHWC",
       true,
       true,
       1.0f},
      {"hwcn grouped",
       1,
       4,
       6,
       6,
       6,
       3,
       3,
       2,
       {1, 1},
       {1, 1, 1, 1},
       {1, 1},
       "EXPLICIT",
       "NHWC",
       "HWCN",
       "NHWC",
       true,
       false,
       1.0f},
      {"run-time filter",
       1,
       3,
       7,
       5,
       2,
       3,
       3,
       1,
       {1, 1},
       {1, 0, 0, 1},
       {1, 1},
       "EXPLICIT",
       "NHWC",
       "OHWI",
       "NHWC",
       false,
       true,
       1.0f},
      {"1x1 wide",
       1,
       67,
       5,
       3,
       33,
       1,
       1,
       1,
       {1, 1},
       {0, 0, 0, 0},
       {1, 1},
       "EXPLICIT",
       "NHWC",
       "OHWI",
       "NHWC",
       true,
       true,
       1.0f},
      {"same lower, large values",
       1,
       2,
       6,
       5,
       3,
       4,
       4,
       1,
       {3, 2},
       {0, 0, 0, 0},
       {1, 1},
       "SAME_LOWER",
       "NCHW",
       "OIHW",
       "NCHW",
       true,
       true,
       1e18f},
      {"tiny values",
       1,
       3,
       5,
       5,
       2,
       3,
       3,
       1,
       {1, 1},
       {1, 1, 1, 1},
       {1, 1},
       "EXPLICIT",
       "NHWC",
       "OHWI",
       "NHWC",
       true,
       false,
       1e-18f},
  };
  for (const Case& c : cases) Check(c);
}

}  // namespace
}  // namespace mixq::testing
