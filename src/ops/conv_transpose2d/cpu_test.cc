// The oneDNN ConvTranspose2D against the reference (DESIGN rule 1) on odd shapes:
// groups, dilation, strides, output padding, asymmetric and SAME padding,
// both filter layouts (IOHW, IHWO), both activation layouts, constant and
// run-time filters, with and without bias, extreme values.
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
  std::vector<int64_t> output_padding;
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

// Transposed filters: logical (I, O / group, KH, KW).
ir::Shape Filter(const std::string& layout, int64_t opg, int64_t i, int64_t kh, int64_t kw) {
  if (layout == "IOHW") return {i, opg, kh, kw};
  return {i, kh, kw, opg};  // IHWO
}

void Check(const Case& c) {
  SCOPED_TRACE(c.name);
  ir::AttrMap a;
  a.Set("strides", c.strides);
  a.Set("pads", c.pads);
  a.Set("dilations", c.dilations);
  a.Set("group", c.group);
  a.Set("output_padding", c.output_padding);
  a.Set("padding_mode", c.padding_mode);
  a.Set("input_layout", c.input_layout);
  a.Set("filter_layout", c.filter_layout);
  a.Set("output_layout", c.output_layout);
  const ir::Shape xs = Activation(c.input_layout, c.n, c.c, c.h, c.w);
  const ir::Shape ws = Filter(c.filter_layout, c.o / c.group, c.c, c.kh, c.kw);
  const auto x = Uniform(static_cast<size_t>(ir::ElementCount(xs)), 1, c.magnitude);
  const auto w = Uniform(static_cast<size_t>(ir::ElementCount(ws)), 2, c.magnitude);
  HostTensor filter = HostTensor::F32(ws, w);
  if (c.constant_filter) filter = filter.Const();
  std::vector<std::optional<HostTensor>> inputs = {HostTensor::F32(xs, x), filter};
  if (c.bias) inputs.push_back(HostTensor::F32({c.o}, Uniform(static_cast<size_t>(c.o), 3, c.magnitude)).Const());
  std::vector<HostTensor> ref, opt;
  ASSERT_TRUE(RunOp(OpKind::kConvTranspose2D, a, inputs, 1, &ref, KernelKind::kReference).ok());
  Status s = RunOp(OpKind::kConvTranspose2D, a, inputs, 1, &opt, KernelKind::kOptimized);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(ref[0].shape, opt[0].shape);
  const double k = static_cast<double>(c.c / c.group * c.kh * c.kw) + (c.bias ? 1 : 0);  // at most
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

TEST(ConvTranspose2DOneDnn, MatchesTheReferenceOnOddShapes) {
  const Case cases[] = {
      {"nhwc ihwo stride 2", 1,      3,      7,          5,      4,      3,      3,    1,    {2, 2},
       {1, 1, 1, 1},         {1, 1}, {0, 0}, "EXPLICIT", "NHWC", "IHWO", "NHWC", true, true, 1.0f},
      {"nchw iohw output padding",
       2,
       5,
       6,
       4,
       3,
       3,
       2,
       1,
       {2, 3},
       {0, 1, 1, 0},
       {1, 1},
       {1, 2},
       "EXPLICIT",
       "NCHW",
       "IOHW",
       "NCHW",
       true,
       false,
       1.0f},
      {"grouped dilated", 1,      6,      5,          6,      9,      3,      3,    3,    {1, 2},
       {1, 0, 2, 1},      {2, 2}, {0, 1}, "EXPLICIT", "NHWC", "IHWO", "NHWC", true, true, 1.0f},
      {"same upper", 1,      4,      5,      7,    6,    4,   4, 2, {2, 2}, {0, 0, 0, 0}, {1, 1}, {0, 0},
       "SAME_UPPER", "NCHW", "IOHW", "NCHW", true, true, 1.0f},
      {"same lower, mixed layouts",
       1,
       3,
       4,
       4,
       2,
       3,
       3,
       1,
       {2, 1},
       {0, 0, 0, 0},
       {1, 1},
       {0, 0},
       "SAME_LOWER",
       "NCHW",
       "IOHW",
       "NHWC",
       true,
       true,
       1.0f},
      {"valid, run-time filter",
       1,
       2,
       5,
       3,
       3,
       2,
       3,
       1,
       {1, 1},
       {0, 0, 0, 0},
       {1, 1},
       {0, 0},
       "VALID",
       "NHWC",
       "IHWO",
       "NHWC",
       false,
       true,
       1.0f},
      {"large values", 1,      3,      4,          5,      2,      2,      2,    1,    {2, 2},
       {0, 0, 0, 0},   {1, 1}, {1, 1}, "EXPLICIT", "NHWC", "IHWO", "NHWC", true, true, 1e18f},
  };
  for (const Case& c : cases) Check(c);
}

}  // namespace
}  // namespace mixq::testing
