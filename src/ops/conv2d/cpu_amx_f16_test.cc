// "amx-f16-pw" (cpu_amx_f16_pw.cc) and "amx-f16-conv" (cpu_amx_f16_conv.cc)
// against a double reference on the same
// float16 values, rounded at each boundary as the separate steps would be,
// within one float16 step of the sum's magnitude (the kernel sums exact
// products in float32): pixel counts that leave 1-16 and 17-31 rows in the
// last block of 32, output blocks in pairs and a single last one, input
// channels over many tile chunks, batch 2, strides 2 and 1 x 2, a filter
// larger than the activations (the column pairs outside), 1 and 3 threads,
// post-ops through the output stage (ReLU, a residual add with ReLU6, PP-OCR's
// hard_swish chain), extreme values (infinities, 65504, subnormals, filter
// values exactly bfloat16 and not); and the steps it declines.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
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
  int64_t n, in_c, out_c, h, w;
  std::string post;  // "", "relu", "add_relu6", "hard_swish_affine"
  int64_t stride_h = 1, stride_w = 1;
  bool extremes = false;
  int64_t kernel = 1, pad = 0, dilation = 1;  // square filter, the same padding on every side
  bool plain_in = false, plain_out = false;   // NCHW input; NCHW output (and addend)
};

int64_t Blocked(int64_t n, int64_t c, int64_t h, int64_t w, int64_t channels, int64_t height, int64_t width) {
  return (((n * (channels / 16) + c / 16) * height + h) * width + w) * 16 + c % 16;
}

ir::AttrMap Attrs(const Case& c) {
  ir::AttrMap attrs;
  for (const AttrSpec& spec : GetSchema(OpKind::kConv2D).attrs) attrs.Set(spec.name, spec.default_value);
  attrs.Set("input_layout", std::string("NCHW"));
  attrs.Set("output_layout", std::string("NCHW"));
  attrs.Set("filter_layout", std::string("OIHW"));
  attrs.Set("group", int64_t{1});
  attrs.Set("strides", std::vector<int64_t>{c.stride_h, c.stride_w});
  attrs.Set("dilations", std::vector<int64_t>{c.dilation, c.dilation});
  attrs.Set("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad});
  return attrs;
}

std::vector<PostOp> PostOps(const std::string& post) {
  std::vector<PostOp> ops;
  if (post == "relu") {
    ops.resize(1);
    ops[0].activation = "relu";
    ops[0].hi = std::numeric_limits<float>::infinity();
  } else if (post == "add_relu6") {
    ops.resize(2);
    ops[0].kind = PostOp::Kind::kAdd;
    ops[0].input = 3;
    ops[1].activation = "relu6";
    ops[1].hi = 6.0f;
  } else if (post == "hard_swish_affine") {
    ops.resize(3);
    ops[0].activation = "hard_swish";
    ops[1].kind = PostOp::Kind::kScalar;
    ops[1].activation = "mul";
    ops[1].lo = 0.7131f;
    ops[2].kind = PostOp::Kind::kScalar;
    ops[2].activation = "add";
    ops[2].lo = -0.1093f;
  }
  return ops;
}

const KernelDef* Kernel16(const char* name = "amx-f16-pw") {
  const KernelDef* def = FindKernel(OpKind::kConv2D, name);
  if (!def) return nullptr;
  const kernels::CpuFeatures& cpu = kernels::DetectedCpuFeatures();
  return cpu.amx_bf16 && cpu.avx512bf16 && cpu.avx512bw && cpu.avx512vl && cpu.f16c ? def : nullptr;
}

void Check(const Case& c, int threads, uint32_t seed) {
  const KernelDef* def = Kernel16(c.kernel == 1 ? "amx-f16-pw" : "amx-f16-conv");
  ASSERT_NE(def, nullptr);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  const int64_t span = (c.kernel - 1) * c.dilation + 1, taps = c.kernel * c.kernel;
  const int64_t oh = (c.h + 2 * c.pad - span) / c.stride_h + 1, ow = (c.w + 2 * c.pad - span) / c.stride_w + 1;
  const int64_t plane = c.h * c.w, out_plane = oh * ow;
  std::vector<float> x(static_cast<size_t>(c.n * c.in_c * plane)), filter(static_cast<size_t>(c.out_c * c.in_c * taps)),
      bias(static_cast<size_t>(c.out_c)), addend(static_cast<size_t>(c.n * c.out_c * out_plane));
  for (auto& v : x) v = Half(real(rng) * 4.0f);
  for (auto& v : filter) v = Half(real(rng));
  for (auto& v : bias) v = real(rng);
  for (auto& v : addend) v = Half(real(rng) * 3.0f);
  if (c.extremes) {
    // Filter values exactly bfloat16 (wl = 0), float16 subnormals, zeros.
    for (size_t i = 0; i < filter.size(); i += 3) filter[i] = BFloat16ToFloat(FloatToBFloat16(filter[i]));
    for (size_t i = 1; i < filter.size(); i += 7) filter[i] = Half(std::ldexp(real(rng), -16));
    for (size_t i = 2; i < filter.size(); i += 11) filter[i] = 0.0f;
    // Inputs: 65504, subnormals, and one pixel per image +inf in one channel.
    for (size_t i = 0; i < x.size(); i += 5) x[i] = 65504.0f * (i % 2 ? 1.0f : -1.0f) / 1024.0f;
    for (size_t i = 3; i < x.size(); i += 13) x[i] = Half(std::ldexp(real(rng), -20));
    for (size_t i = 4; i < x.size(); i += 97) x[i] = 65504.0f;
    for (int64_t n = 0; n < c.n; ++n) x[static_cast<size_t>((n * c.in_c + 1) * plane + 2)] = INFINITY;
  }

  const ir::AttrMap attrs = Attrs(c);
  const ir::Shape xs{c.n, c.in_c, c.h, c.w}, ws{c.out_c, c.in_c, c.kernel, c.kernel}, ys{c.n, c.out_c, oh, ow};
  const MemoryLayout b16 = MemoryLayout::kBlocked16;
  const MemoryLayout in_layout = c.plain_in ? MemoryLayout::kPlain : b16;
  const MemoryLayout out_layout = c.plain_out ? MemoryLayout::kPlain : b16;
  // Element (n, ch, y, x) of a tensor in its layout.
  auto at = [](bool plain, int64_t n, int64_t ch, int64_t y, int64_t x, int64_t channels, int64_t h, int64_t w) {
    return plain ? ((n * channels + ch) * h + y) * w + x : Blocked(n, ch, y, x, channels, h, w);
  };
  ValueInfo xi{DataType::FLOAT16, xs, nullptr, nullptr, true, in_layout};
  ValueInfo wi{DataType::FLOAT32, ws, filter.data(), nullptr, false};
  ValueInfo bi{DataType::FLOAT32, {c.out_c}, bias.data(), nullptr, false};
  ValueInfo ai{DataType::FLOAT16, ys, nullptr, nullptr, true, out_layout};
  std::vector<ValueInfo> yi = {ValueInfo{DataType::FLOAT16, ys, nullptr, nullptr, true, out_layout}};
  std::vector<DataType> compute = {DataType::FLOAT16, DataType::FLOAT16, DataType::FLOAT32, DataType::FLOAT16};
  std::vector<PostOp> post = PostOps(c.post);
  std::vector<const ValueInfo*> ins = {&xi, &wi, &bi};
  if (c.post == "add_relu6") ins.push_back(&ai);
  KernelInit init(attrs, ins, yi, &compute, &post);
  ASSERT_TRUE(def->supports(init));
  ASSERT_TRUE(def->keep_with_layouts(init));
  std::unique_ptr<Kernel> kernel;
  const Status made = def->make(init, &kernel);
  ASSERT_TRUE(made.ok()) << made.ToString();
  ASSERT_FALSE(kernel->ReadsInputAtRun(1));

  std::vector<uint16_t> x16(x.size()), a16(addend.size()), y16(addend.size(), 0x7e00);
  for (int64_t n = 0; n < c.n; ++n) {
    for (int64_t ch = 0; ch < c.in_c; ++ch)
      for (int64_t p = 0; p < plane; ++p)
        x16[static_cast<size_t>(at(c.plain_in, n, ch, p / c.w, p % c.w, c.in_c, c.h, c.w))] =
            FloatToHalf(x[static_cast<size_t>((n * c.in_c + ch) * plane + p)]);
    for (int64_t ch = 0; ch < c.out_c; ++ch)
      for (int64_t p = 0; p < out_plane; ++p)
        a16[static_cast<size_t>(at(c.plain_out, n, ch, p / ow, p % ow, c.out_c, oh, ow))] =
            FloatToHalf(addend[static_cast<size_t>((n * c.out_c + ch) * out_plane + p)]);
  }
  std::vector<TensorView> in = {{DataType::FLOAT16, xs, x16.data(), nullptr},
                                {DataType::FLOAT32, ws, nullptr, nullptr},  // packed: never read
                                {DataType::FLOAT32, {c.out_c}, bias.data(), nullptr}};
  if (c.post == "add_relu6") in.push_back({DataType::FLOAT16, ys, a16.data(), nullptr});
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  for (int run = 0; run < 2; ++run) ASSERT_TRUE(kernel->Run(in, {{DataType::FLOAT16, ys, y16.data(), nullptr}}).ok());
  omp_set_num_threads(saved);

  int bad = 0, checked_inf = 0;
  for (int64_t n = 0; n < c.n && bad < 5; ++n)
    for (int64_t o = 0; o < c.out_c && bad < 5; ++o)
      for (int64_t p = 0; p < out_plane && bad < 5; ++p) {
        double sum = bias[static_cast<size_t>(o)];
        for (int64_t i = 0; i < c.in_c; ++i)
          for (int64_t t = 0; t < taps; ++t) {
            const int64_t iy = p / ow * c.stride_h - c.pad + t / c.kernel * c.dilation;
            const int64_t ix = p % ow * c.stride_w - c.pad + t % c.kernel * c.dilation;
            if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
            sum += static_cast<double>(filter[static_cast<size_t>((o * c.in_c + i) * taps + t)]) *
                   x[static_cast<size_t>((n * c.in_c + i) * plane + iy * c.w + ix)];
          }
        float expected = Half(static_cast<float>(sum));
        if (c.post == "add_relu6") {
          expected = Half(expected + addend[static_cast<size_t>((n * c.out_c + o) * out_plane + p)]);
          expected = std::min(std::max(expected, 0.0f), 6.0f);
        } else if (c.post == "relu") {
          expected = expected > 0.0f ? expected : 0.0f;  // NaN -> 0, as mixq's clamps (ops/clamp.h)
        } else if (c.post == "hard_swish_affine") {
          const double e = expected;
          expected = Half(static_cast<float>(e * std::min(std::max(e / 6.0 + 0.5, 0.0), 1.0)));
          expected = Half(Half(expected * 0.7131f) + -0.1093f);
        }
        const float got = HalfToFloat(y16[static_cast<size_t>(at(c.plain_out, n, o, p / ow, p % ow, c.out_c, oh, ow))]);
        if (!std::isfinite(expected) || !std::isfinite(sum)) {
          checked_inf += std::isinf(expected);
          // An infinite input: the same infinity (or NaN where its filter value is 0), never a NaN from a split.
          if (!(std::isnan(expected) ? std::isnan(got) : got == expected)) {
            ADD_FAILURE() << "(" << n << ", " << o << ", " << p << "): " << got << " vs " << expected;
            ++bad;
          }
          continue;
        }
        const float magnitude = std::max({std::fabs(expected), std::fabs(Half(static_cast<float>(sum))), 1.0f});
        if (!(std::fabs(got - expected) <= std::ldexp(magnitude, -9))) {
          ADD_FAILURE() << "t" << threads << " (" << n << ", " << o << ", " << p << "): " << got << " vs " << expected
                        << " (sum " << sum << ")";
          ++bad;
        }
      }
  if (c.extremes && c.stride_h == 1 && c.stride_w == 1) {
    EXPECT_GT(checked_inf, 0);
  }
}

TEST(Conv2DAmxHalfPointwise, MatchesTheReference) {
  if (!Kernel16()) GTEST_SKIP() << "needs AMX-BF16";
  const Case cases[] = {
      {1, 64, 256, 13, 17, "add_relu6"},         // 221 pixels: 6 blocks of 32, the last 29 rows
      {2, 32, 64, 7, 9, "relu"},                 // batch 2, 63 pixels: a last block of 31 rows
      {1, 48, 48, 10, 10, "hard_swish_affine"},  // 3 output blocks: a last single column tile; 100 pixels: 4 rows
      {1, 1040, 80, 4, 5, ""},                   // 65 tile chunks, 20 pixels (one block, 12 zero rows)
      {1, 512, 256, 3, 3, "add_relu6"},          // the filter larger than the activations: column pairs outside
      {1, 256, 64, 56, 2, "relu"},               // 112 pixels
      {1, 64, 32, 1, 1, ""},                     // one pixel
      {1, 256, 512, 14, 14, "", 2, 2},           // stride 2 (ResNet-50's projections): 7 x 7 outputs
      {2, 64, 128, 9, 11, "relu", 1, 2},         // strides 1 x 2, batch 2
  };
  uint32_t seed = 1;
  for (int threads : {1, 3})
    for (size_t i = 0; i < std::size(cases); ++i) {
      SCOPED_TRACE(i);
      Check(cases[i], threads, seed++);
    }
}

TEST(Conv2DAmxHalfPointwise, ExtremeValues) {
  if (!Kernel16()) GTEST_SKIP() << "needs AMX-BF16";
  Check({1, 64, 96, 9, 7, "", 1, 1, true}, 1, 77);
  Check({2, 128, 32, 5, 6, "relu", 1, 1, true}, 3, 78);
  Check({1, 64, 64, 9, 8, "", 2, 2, true}, 1, 79);
}

// amx-f16-conv: 3 x 3 (ResNet-50's), 5 x 5, stride 2, dilation 2, no
// padding, 16 input channels, planes whose rows leave every kind of run in
// the 32-row blocks, a filter larger than the planes (column pairs
// outside), batch 2, post-ops, 1 and 3 threads.
TEST(Conv2DAmxHalfSpatial, MatchesTheReference) {
  if (!Kernel16("amx-f16-conv")) GTEST_SKIP() << "needs AMX-BF16";
  const Case cases[] = {
      {1, 64, 64, 9, 11, "relu", 1, 1, false, 3, 1, 1},
      {1, 32, 48, 14, 14, "add_relu6", 1, 1, false, 3, 1, 1},
      {2, 16, 32, 7, 7, "", 1, 1, false, 3, 1, 1},
      {1, 64, 64, 13, 10, "hard_swish_affine", 2, 2, false, 3, 1, 1},
      {1, 32, 32, 12, 12, "", 1, 1, false, 5, 2, 1},
      {1, 32, 32, 12, 12, "relu", 1, 1, false, 3, 2, 2},
      {1, 48, 32, 10, 9, "", 2, 2, false, 3, 0, 1},
      {1, 256, 64, 7, 7, "add_relu6", 1, 1, false, 3, 1, 1},
      {1, 32, 16, 3, 40, "relu", 1, 1, false, 3, 1, 1},
      // Plain (NCHW) tensors: PP-OCR det's 96 -> 24 at 20 x 20 (24 output
      // channels: a last column tile of 8), plain in and out, and each side alone.
      {1, 96, 24, 20, 20, "relu", 1, 1, false, 3, 1, 1, true, true},
      {1, 32, 40, 9, 13, "add_relu6", 1, 1, false, 3, 1, 1, true, true},
      {2, 48, 32, 11, 7, "hard_swish_affine", 2, 2, false, 3, 1, 1, true, false},
      {1, 32, 64, 10, 10, "", 1, 1, false, 5, 2, 1, false, true},
  };
  uint32_t seed = 501;
  for (int threads : {1, 3})
    for (size_t i = 0; i < std::size(cases); ++i) {
      SCOPED_TRACE(i);
      Check(cases[i], threads, seed++);
    }
  Check({1, 32, 32, 8, 8, "", 1, 1, true, 3, 1, 1}, 1, 599);  // infinities, subnormals, 65504
}

// Declined: a filter that is not float16 values, or has an infinity; a 3 x
// 3 filter; padding; groups; a few input channels; channels not in whole
// blocks of 16. And the layouts: nChw16c slots, kept only when all are.
TEST(Conv2DAmxHalfPointwise, DeclinesAndLayouts) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "amx-f16-pw");
  ASSERT_NE(def, nullptr);
  if (!Kernel16()) GTEST_SKIP() << "needs AMX-BF16";
  std::vector<DataType> compute = {DataType::FLOAT16, DataType::FLOAT16, DataType::FLOAT32};
  auto supports = [&](int64_t in_c, int64_t out_c, int64_t k, float filter_value, MemoryLayout in_layout,
                      MemoryLayout out_layout, const std::string& attr = "", bool* kept = nullptr) {
    Case c{1, in_c, out_c, 8, 8, ""};
    ir::AttrMap attrs = Attrs(c);
    if (attr == "pads") attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    if (attr == "group") attrs.Set("group", int64_t{2});
    const int64_t per_group = attr == "group" ? in_c / 2 : in_c;
    std::vector<float> filter(static_cast<size_t>(out_c * per_group * k * k), 0.25f), bias(static_cast<size_t>(out_c));
    filter[1] = filter_value;
    const int64_t out_hw = attr == "pads" ? 10 - k + 1 : 8 - k + 1;
    ValueInfo xi{DataType::FLOAT16, {1, in_c, 8, 8}, nullptr, nullptr, true, in_layout};
    ValueInfo wi{DataType::FLOAT32, {out_c, per_group, k, k}, filter.data(), nullptr, false};
    ValueInfo bi{DataType::FLOAT32, {out_c}, bias.data(), nullptr, false};
    std::vector<ValueInfo> yi = {
        ValueInfo{DataType::FLOAT16, {1, out_c, out_hw, out_hw}, nullptr, nullptr, true, out_layout}};
    std::vector<const ValueInfo*> ins = {&xi, &wi, &bi};
    KernelInit init(attrs, ins, yi, &compute);
    if (kept) *kept = def->keep_with_layouts(init);
    if (def->supports(init)) {
      std::vector<bool> in_slots, out_slots;
      def->blocked_slots(init, MemoryLayout::kBlocked16, &in_slots, &out_slots);
      EXPECT_TRUE(in_slots[0] && out_slots[0] && !in_slots[1] && !in_slots[2]);
      def->blocked_slots(init, MemoryLayout::kBlocked8, &in_slots, &out_slots);
      EXPECT_FALSE(in_slots[0] || out_slots[0]);
      return true;
    }
    return false;
  };
  const MemoryLayout b16 = MemoryLayout::kBlocked16, plain = MemoryLayout::kPlain;
  bool kept = false;
  EXPECT_TRUE(supports(64, 64, 1, 0.5f, b16, b16, "", &kept));
  EXPECT_TRUE(kept);
  EXPECT_TRUE(supports(64, 64, 1, 0.5f, plain, b16, "", &kept));  // supported, not kept with a plain side
  EXPECT_FALSE(kept);
  EXPECT_TRUE(supports(64, 64, 1, 0.5f, b16, plain, "", &kept));
  EXPECT_FALSE(kept);
  EXPECT_FALSE(supports(64, 64, 1, 0.1f, b16, b16));  // 0.1 is no float16 value
  EXPECT_FALSE(supports(64, 64, 1, INFINITY, b16, b16));
  EXPECT_FALSE(supports(64, 64, 3, 0.5f, b16, b16));
  EXPECT_FALSE(supports(64, 64, 1, 0.5f, b16, b16, "pads"));
  EXPECT_FALSE(supports(64, 64, 1, 0.5f, b16, b16, "group"));
  EXPECT_FALSE(supports(16, 96, 1, 0.5f, b16, b16));  // a few input channels: avx512-f16-pw's
  EXPECT_FALSE(supports(32, 48, 1, 0.5f, b16, b16));
  EXPECT_TRUE(supports(32, 64, 1, 0.5f, b16, b16));
  EXPECT_FALSE(supports(72, 64, 1, 0.5f, b16, b16));  // not whole blocks of 16
  EXPECT_FALSE(supports(64, 40, 1, 0.5f, b16, b16));
}

}  // namespace
}  // namespace mixq::ops
