#include "test_util/conv_compare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "test_util/op_runner.h"

namespace mixq::testing {

namespace {

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

// Conv2D filters are logical (O, I / group, KH, KW); transposed ones (I, O / group, KH, KW).
ir::Shape Filter(OpKind kind, const std::string& layout, const ConvCase& c) {
  const int64_t i = c.c / c.group, opg = c.o / c.group;
  if (kind == OpKind::kConvTranspose2D) {
    if (layout == "IOHW") return {c.c, opg, c.kh, c.kw};
    return {c.c, c.kh, c.kw, opg};  // IHWO
  }
  if (layout == "OIHW") return {c.o, i, c.kh, c.kw};
  if (layout == "OHWI") return {c.o, c.kh, c.kw, i};
  return {c.kh, c.kw, i, c.o};  // HWCN
}

}  // namespace

void ExpectOptimizedConvMatchesReference(OpKind kind, const ConvCase& c, const char* kernel) {
  SCOPED_TRACE(c.name);
  ir::AttrMap a;
  a.Set("strides", c.strides);
  a.Set("pads", c.pads);
  a.Set("dilations", c.dilations);
  a.Set("group", c.group);
  if (kind == OpKind::kConvTranspose2D) a.Set("output_padding", c.output_padding);
  a.Set("padding_mode", c.padding_mode);
  a.Set("input_layout", c.input_layout);
  a.Set("filter_layout", c.filter_layout);
  a.Set("output_layout", c.output_layout);
  const ir::Shape xs = Activation(c.input_layout, c.n, c.c, c.h, c.w);
  const ir::Shape ws = Filter(kind, c.filter_layout, c);
  const auto x = Uniform(static_cast<size_t>(ir::ElementCount(xs)), 1, c.magnitude);
  const auto w = Uniform(static_cast<size_t>(ir::ElementCount(ws)), 2, c.magnitude);
  HostTensor filter = HostTensor::F32(ws, w);
  if (c.constant_filter) filter = filter.Const();
  std::vector<std::optional<HostTensor>> inputs = {HostTensor::F32(xs, x), filter};
  if (c.bias) inputs.push_back(HostTensor::F32({c.o}, Uniform(static_cast<size_t>(c.o), 3, c.magnitude)).Const());
  std::vector<HostTensor> ref, opt;
  ASSERT_TRUE(RunOp(kind, a, inputs, 1, &ref, KernelKind::kReference).ok());
  Status s = kernel ? RunOpWithKernel(kind, a, inputs, 1, &opt, kernel)
                    : RunOp(kind, a, inputs, 1, &opt, KernelKind::kOptimized);
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

}  // namespace mixq::testing
