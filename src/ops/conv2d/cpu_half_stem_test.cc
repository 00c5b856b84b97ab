// The float16 stem kernel (cpu_half_stem.cc) against a double reference on
// the same float16 values, rounded at each boundary as the separate steps
// would be, within one float16 step (the kernel sums in float32): the four
// networks' stems (3 x 3 and 7 x 7, stride 2, 16 to 64 channels), stride 1
// with 4 channels and a 5 x 5 kernel, output widths that leave every tail of
// the 12-pixel tiles, one and three vectors (the single-vector tiles), OHWI
// filters, batch 2, 1 and 3 threads; post-ops stored by the tiles (ReLU,
// ReLU6) and through the output stage (hard_swish); and the steps it
// declines.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

float Half(float v) {
  return HalfToFloat(FloatToHalf(v));
}

struct Case {
  int64_t n, in_c, out_c, h, w, k, stride, pad;
  std::string post;  // "", "relu", "relu6", "hard_swish"
  bool ohwi = false;
};

ir::AttrMap Attrs(const Case& c) {
  ir::AttrMap attrs;
  for (const AttrSpec& spec : GetSchema(OpKind::kConv2D).attrs) attrs.Set(spec.name, spec.default_value);
  attrs.Set("input_layout", std::string("NCHW"));
  attrs.Set("output_layout", std::string("NCHW"));
  attrs.Set("filter_layout", std::string(c.ohwi ? "OHWI" : "OIHW"));
  attrs.Set("strides", std::vector<int64_t>{c.stride, c.stride});
  attrs.Set("dilations", std::vector<int64_t>{1, 1});
  attrs.Set("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad});
  return attrs;
}

void Check(const KernelDef& def, const Case& c, int threads, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  const int64_t oh = (c.h + 2 * c.pad - c.k) / c.stride + 1, ow = (c.w + 2 * c.pad - c.k) / c.stride + 1;
  const int64_t taps = c.in_c * c.k * c.k;
  std::vector<float> x(static_cast<size_t>(c.n * c.in_c * c.h * c.w)), filter(static_cast<size_t>(c.out_c * taps)),
      bias(static_cast<size_t>(c.out_c));
  for (auto& v : x) v = Half(real(rng) * 3.0f);
  for (auto& v : filter) v = Half(real(rng) * 0.5f);
  for (auto& v : bias) v = real(rng);
  // filter[o][c][ky][kx] in the layout the attrs name.
  auto w_at = [&](int64_t o, int64_t ch, int64_t ky, int64_t kx) {
    return c.ohwi ? ((o * c.k + ky) * c.k + kx) * c.in_c + ch : ((o * c.in_c + ch) * c.k + ky) * c.k + kx;
  };
  const ir::AttrMap attrs = Attrs(c);
  const ir::Shape xs{c.n, c.in_c, c.h, c.w}, ys{c.n, c.out_c, oh, ow};
  const ir::Shape ws = c.ohwi ? ir::Shape{c.out_c, c.k, c.k, c.in_c} : ir::Shape{c.out_c, c.in_c, c.k, c.k};
  ValueInfo xi{DataType::FLOAT16, xs, nullptr, nullptr, true, MemoryLayout::kPlain};
  ValueInfo wi{DataType::FLOAT32, ws, filter.data(), nullptr, false};
  ValueInfo bi{DataType::FLOAT32, {c.out_c}, bias.data(), nullptr, false};
  std::vector<ValueInfo> yi = {ValueInfo{DataType::FLOAT16, ys, nullptr, nullptr, true, MemoryLayout::kBlocked16}};
  std::vector<DataType> compute = {DataType::FLOAT16, DataType::FLOAT32, DataType::FLOAT32};
  std::vector<PostOp> post;
  if (!c.post.empty()) {
    post.resize(1);
    post[0].activation = c.post;
    if (c.post == "relu") post[0].hi = std::numeric_limits<float>::infinity();
    if (c.post == "relu6") post[0].hi = 6.0f;
  }
  std::vector<const ValueInfo*> ins = {&xi, &wi, &bi};
  KernelInit init(attrs, ins, yi, &compute, &post);
  ASSERT_TRUE(def.supports(init)) << def.name;
  ASSERT_TRUE(def.keep_with_layouts(init));
  std::unique_ptr<Kernel> kernel;
  const Status made = def.make(init, &kernel);
  ASSERT_TRUE(made.ok()) << made.ToString();

  std::vector<uint16_t> x16(x.size()), y16(static_cast<size_t>(c.n * c.out_c * oh * ow), 0x7e00);
  for (size_t i = 0; i < x.size(); ++i) x16[i] = FloatToHalf(x[i]);
  const std::vector<TensorView> in = {{DataType::FLOAT16, xs, x16.data(), nullptr},
                                      {DataType::FLOAT32, ws, filter.data(), nullptr},
                                      {DataType::FLOAT32, {c.out_c}, bias.data(), nullptr}};
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  for (int run = 0; run < 2; ++run) ASSERT_TRUE(kernel->Run(in, {{DataType::FLOAT16, ys, y16.data(), nullptr}}).ok());
  omp_set_num_threads(saved);

  int bad = 0;
  for (int64_t n = 0; n < c.n && bad < 5; ++n)
    for (int64_t o = 0; o < c.out_c && bad < 5; ++o)
      for (int64_t y = 0; y < oh && bad < 5; ++y)
        for (int64_t xo = 0; xo < ow && bad < 5; ++xo) {
          double sum = bias[static_cast<size_t>(o)];
          for (int64_t ch = 0; ch < c.in_c; ++ch)
            for (int64_t ky = 0; ky < c.k; ++ky)
              for (int64_t kx = 0; kx < c.k; ++kx) {
                const int64_t iy = y * c.stride - c.pad + ky, ix = xo * c.stride - c.pad + kx;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                sum += static_cast<double>(filter[static_cast<size_t>(w_at(o, ch, ky, kx))]) *
                       x[static_cast<size_t>(((n * c.in_c + ch) * c.h + iy) * c.w + ix)];
              }
          float expected = Half(static_cast<float>(sum));
          if (c.post == "relu") expected = std::max(expected, 0.0f);
          if (c.post == "relu6") expected = std::min(std::max(expected, 0.0f), 6.0f);
          if (c.post == "hard_swish") {
            const double e = expected;
            expected = Half(static_cast<float>(e * std::min(std::max(e / 6.0 + 0.5, 0.0), 1.0)));
          }
          // nChw16c: [n][o / 16][y][x][o % 16].
          const int64_t at = (((n * (c.out_c / 16) + o / 16) * oh + y) * ow + xo) * 16 + o % 16;
          const float got = HalfToFloat(y16[static_cast<size_t>(at)]);
          const float magnitude = std::max({std::fabs(expected), std::fabs(Half(static_cast<float>(sum))), 1.0f});
          if (!(std::fabs(got - expected) <= std::ldexp(magnitude, -9))) {
            ADD_FAILURE() << def.name << " t" << threads << " (" << n << ", " << o << ", " << y << ", " << xo
                          << "): " << got << " vs " << expected;
            ++bad;
          }
        }
}

TEST(Conv2DHalfStem, MatchesTheReference) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "avx512-f16-stem");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "no AVX-512 on this CPU";
  const Case cases[] = {
      {1, 3, 32, 30, 34, 3, 2, 1, "relu6"},            // MobileNetV2's stem; 17 columns: a tail of 5
      {1, 3, 64, 25, 29, 7, 2, 3, "relu"},             // ResNet-50's; 15 columns
      {1, 3, 16, 21, 47, 3, 2, 1, ""},                 // PP-OCR's: one vector; 24 columns (two whole tiles)
      {2, 4, 48, 9, 23, 5, 1, 2, "hard_swish"},        // batch 2, stride 1, 3 vectors, through the stage
      {1, 1, 16, 6, 7, 3, 1, 0, "relu", true},         // one channel, OHWI, no padding, 5 columns
      {1, 3, 32, 5, 5, 3, 2, 1, ""},                   // 3 x 3 outputs
      {1, 2, 32, 8, 45, 3, 2, 1, "hard_swish", true},  // OHWI through the stage, 23 columns: a tail of 11
  };
  uint32_t seed = 1;
  for (int threads : {1, 3})
    for (size_t i = 0; i < std::size(cases); ++i) {
      SCOPED_TRACE(i);
      Check(*def, cases[i], threads, seed++);
    }
}

// What it declines: more than 4 channels, stride 3, dilation 2, output
// channels not in whole vectors, a blocked input, a plain output after the
// layout pass, a residual add.
TEST(Conv2DHalfStem, DeclinesWhatItDoesNotRun) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "avx512-f16-stem");
  ASSERT_NE(def, nullptr);
  std::vector<float> filter(static_cast<size_t>(48 * 8 * 9), 0.25f), bias(48, 0.0f);
  std::vector<DataType> compute = {DataType::FLOAT16, DataType::FLOAT32, DataType::FLOAT32};
  auto taken = [&](int64_t in_c, int64_t out_c, int64_t stride, int64_t dilation, MemoryLayout in_layout,
                   MemoryLayout out_layout) {
    Case c{1, in_c, out_c, 12, 12, 3, stride, 1, ""};
    ir::AttrMap attrs = Attrs(c);
    attrs.Set("dilations", std::vector<int64_t>{dilation, dilation});
    const int64_t o = (12 + 2 - dilation * 2 - 1) / stride + 1;
    ValueInfo xi{DataType::FLOAT16, {1, in_c, 12, 12}, nullptr, nullptr, true, in_layout};
    ValueInfo wi{DataType::FLOAT32, {out_c, in_c, 3, 3}, filter.data(), nullptr, false};
    ValueInfo bi{DataType::FLOAT32, {out_c}, bias.data(), nullptr, false};
    std::vector<ValueInfo> yi = {ValueInfo{DataType::FLOAT16, {1, out_c, o, o}, nullptr, nullptr, true, out_layout}};
    std::vector<const ValueInfo*> ins = {&xi, &wi, &bi};
    KernelInit init(attrs, ins, yi, &compute);
    return def->supports(init) && def->keep_with_layouts(init);
  };
  const MemoryLayout plain = MemoryLayout::kPlain, blocked = MemoryLayout::kBlocked16;
  EXPECT_TRUE(taken(3, 32, 2, 1, plain, blocked));
  EXPECT_FALSE(taken(5, 32, 2, 1, plain, blocked));
  EXPECT_FALSE(taken(3, 32, 3, 1, plain, blocked));
  EXPECT_FALSE(taken(3, 32, 2, 2, plain, blocked));
  EXPECT_FALSE(taken(3, 24, 2, 1, plain, blocked));
  EXPECT_FALSE(taken(8, 32, 2, 1, blocked, blocked));
  EXPECT_FALSE(taken(3, 32, 2, 1, plain, plain));
  // A residual add (a stem has none).
  {
    Case c{1, 3, 32, 12, 12, 3, 2, 1, ""};
    const ir::AttrMap attrs = Attrs(c);
    ValueInfo xi{DataType::FLOAT16, {1, 3, 12, 12}, nullptr, nullptr, true, plain};
    ValueInfo wi{DataType::FLOAT32, {32, 3, 3, 3}, filter.data(), nullptr, false};
    ValueInfo bi{DataType::FLOAT32, {32}, bias.data(), nullptr, false};
    ValueInfo ai{DataType::FLOAT16, {1, 32, 6, 6}, nullptr, nullptr, true, blocked};
    std::vector<ValueInfo> yi = {ValueInfo{DataType::FLOAT16, {1, 32, 6, 6}, nullptr, nullptr, true, blocked}};
    std::vector<const ValueInfo*> ins = {&xi, &wi, &bi, &ai};
    std::vector<PostOp> post(1);
    post[0].kind = PostOp::Kind::kAdd;
    post[0].input = 3;
    std::vector<DataType> compute4 = {DataType::FLOAT16, DataType::FLOAT32, DataType::FLOAT32, DataType::FLOAT16};
    EXPECT_FALSE(def->supports(KernelInit(attrs, ins, yi, &compute4, &post)));
  }
}

}  // namespace
}  // namespace mixq::ops
