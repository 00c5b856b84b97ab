// The float16 depthwise kernels (cpu_half_dw.cc) against the reference on
// the same float16 values (double sums), rounded at each boundary as the
// separate steps would be, within one float16 step (the kernels sum in
// float32): "avx2-f16-dw" on nChw8c and nChw16c tensors (run here whatever
// the CPU picks) and "avx512-f16-dw" on nChw16c where the CPU has AVX-512.
// Strides 1 and 2, dilation, asymmetric pads, 5 x 5 and 3 x 3 windows, rows
// of 1 to 23 outputs (the 4-pixel loop's tails), batch 2, post-ops (a
// residual add, ReLU6, hard_swish); and the cases they decline.
#include <gtest/gtest.h>

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
  int64_t n, c, h, w, k, stride, dilation, pad_top, pad_left, pad_bottom, pad_right;
  std::string post;  // "", "relu6", "add_relu6", "hard_swish", "hard_swish_affine"
};

// hard_swish, or PP-OCR's hard_swish, * 0.7131, + -0.1093, on a float16
// value as the separate float16 steps compute it (each result rounded).
uint16_t Steps(const std::string& post, uint16_t h) {
  const double e = HalfToFloat(h);
  float v = Half(static_cast<float>(e * std::min(std::max(e / 6.0 + 0.5, 0.0), 1.0)));
  if (post == "hard_swish_affine") v = Half(Half(v * 0.7131f) + -0.1093f);
  return FloatToHalf(v);
}

int64_t OutSize(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1) {
  return (in + p0 + p1 - (k - 1) * d - 1) / s + 1;
}

// Element (n, c, h, w) of an nChw`b`c tensor.
int64_t Blocked(int64_t n, int64_t c, int64_t h, int64_t w, int64_t channels, int64_t height, int64_t width,
                int64_t b) {
  return (((n * (channels / b) + c / b) * height + h) * width + w) * b + c % b;
}

ir::AttrMap Attrs(const Case& c) {
  ir::AttrMap attrs;
  for (const AttrSpec& spec : GetSchema(OpKind::kConv2D).attrs) attrs.Set(spec.name, spec.default_value);
  attrs.Set("input_layout", std::string("NCHW"));
  attrs.Set("output_layout", std::string("NCHW"));
  attrs.Set("filter_layout", std::string("OIHW"));
  attrs.Set("group", c.c);
  attrs.Set("strides", std::vector<int64_t>{c.stride, c.stride});
  attrs.Set("dilations", std::vector<int64_t>{c.dilation, c.dilation});
  attrs.Set("pads", std::vector<int64_t>{c.pad_top, c.pad_bottom, c.pad_left, c.pad_right});  // mixq's order
  return attrs;
}

// Runs `def` on case `c` with tensors in `layout`; checks every output.
void Check(const KernelDef& def, const Case& c, MemoryLayout layout, uint32_t seed,
           std::vector<uint16_t>* output = nullptr) {
  const int64_t b = BlockChannels(layout);
  const int64_t oh = OutSize(c.h, c.k, c.stride, c.dilation, c.pad_top, c.pad_bottom);
  const int64_t ow = OutSize(c.w, c.k, c.stride, c.dilation, c.pad_left, c.pad_right);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(c.n * c.c * c.h * c.w)), filter(static_cast<size_t>(c.c * c.k * c.k)),
      bias(static_cast<size_t>(c.c)), addend(static_cast<size_t>(c.n * c.c * oh * ow));
  for (auto& v : x) v = Half(real(rng) * 4.0f);
  for (auto& v : filter) v = Half(real(rng));
  for (auto& v : bias) v = real(rng);
  for (auto& v : addend) v = Half(real(rng) * 3.0f);

  const ir::AttrMap attrs = Attrs(c);
  const ir::Shape xs{c.n, c.c, c.h, c.w}, ws{c.c, 1, c.k, c.k}, ys{c.n, c.c, oh, ow};
  ValueInfo xi{DataType::FLOAT16, xs, nullptr, nullptr, true, layout};
  ValueInfo wi{DataType::FLOAT32, ws, filter.data(), nullptr, false};
  ValueInfo bi{DataType::FLOAT32, {c.c}, bias.data(), nullptr, false};
  ValueInfo ai{DataType::FLOAT16, ys, nullptr, nullptr, true, layout};
  std::vector<ValueInfo> yi = {ValueInfo{DataType::FLOAT16, ys, nullptr, nullptr, true, layout}};
  std::vector<DataType> compute = {DataType::FLOAT16, DataType::FLOAT32, DataType::FLOAT32, DataType::FLOAT16};
  std::vector<PostOp> post;
  if (c.post == "add_relu6") {
    post.resize(2);
    post[0].kind = PostOp::Kind::kAdd;
    post[0].input = 3;
    post[1].activation = "relu6";
    post[1].hi = 6.0f;
  } else if (c.post == "hard_swish" || c.post == "hard_swish_affine") {
    post.resize(1);
    post[0].activation = "hard_swish";
    if (c.post == "hard_swish_affine") {  // PP-OCR's hard_swish, * scale, + bias
      post.resize(3);
      post[1].kind = PostOp::Kind::kScalar;
      post[1].activation = "mul";
      post[1].lo = 0.7131f;
      post[2].kind = PostOp::Kind::kScalar;
      post[2].activation = "add";
      post[2].lo = -0.1093f;
    }
  } else if (c.post == "relu6") {
    post.resize(1);
    post[0].activation = "relu6";
    post[0].hi = 6.0f;
  }
  std::vector<const ValueInfo*> ins = {&xi, &wi, &bi};
  if (c.post == "add_relu6") ins.push_back(&ai);
  KernelInit init(attrs, ins, yi, &compute, &post);
  ASSERT_TRUE(def.supports(init)) << def.name;
  ASSERT_TRUE(def.keep_with_layouts(init));
  std::unique_ptr<Kernel> kernel;
  const Status made = def.make(init, &kernel);
  ASSERT_TRUE(made.ok()) << made.ToString();

  std::vector<uint16_t> x16(x.size()), a16(addend.size()), y16(addend.size(), 0x7e00);
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t ch = 0; ch < c.c; ++ch) {
      for (int64_t i = 0; i < c.h; ++i)
        for (int64_t j = 0; j < c.w; ++j)
          x16[static_cast<size_t>(Blocked(n, ch, i, j, c.c, c.h, c.w, b))] =
              FloatToHalf(x[static_cast<size_t>(((n * c.c + ch) * c.h + i) * c.w + j)]);
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j)
          a16[static_cast<size_t>(Blocked(n, ch, i, j, c.c, oh, ow, b))] =
              FloatToHalf(addend[static_cast<size_t>(((n * c.c + ch) * oh + i) * ow + j)]);
    }
  std::vector<TensorView> in = {{DataType::FLOAT16, xs, x16.data(), nullptr},
                                {DataType::FLOAT32, ws, filter.data(), nullptr},
                                {DataType::FLOAT32, {c.c}, bias.data(), nullptr}};
  if (c.post == "add_relu6") in.push_back({DataType::FLOAT16, ys, a16.data(), nullptr});
  for (int run = 0; run < 2; ++run) ASSERT_TRUE(kernel->Run(in, {{DataType::FLOAT16, ys, y16.data(), nullptr}}).ok());
  if (output) *output = y16;

  int bad = 0;
  for (int64_t n = 0; n < c.n && bad < 5; ++n)
    for (int64_t ch = 0; ch < c.c && bad < 5; ++ch)
      for (int64_t i = 0; i < oh && bad < 5; ++i)
        for (int64_t j = 0; j < ow && bad < 5; ++j) {
          double sum = bias[static_cast<size_t>(ch)];
          for (int64_t kh = 0; kh < c.k; ++kh)
            for (int64_t kw = 0; kw < c.k; ++kw) {
              const int64_t ih = i * c.stride - c.pad_top + kh * c.dilation;
              const int64_t iw = j * c.stride - c.pad_left + kw * c.dilation;
              if (ih < 0 || ih >= c.h || iw < 0 || iw >= c.w) continue;
              sum += static_cast<double>(filter[static_cast<size_t>((ch * c.k + kh) * c.k + kw)]) *
                     x[static_cast<size_t>(((n * c.c + ch) * c.h + ih) * c.w + iw)];
            }
          float expected = Half(static_cast<float>(sum));
          if (c.post == "add_relu6") {
            expected = Half(expected + addend[static_cast<size_t>(((n * c.c + ch) * oh + i) * ow + j)]);
            expected = std::min(std::max(expected, 0.0f), 6.0f);
          } else if (c.post == "relu6") {
            expected = std::min(std::max(expected, 0.0f), 6.0f);
          } else if (c.post == "hard_swish" || c.post == "hard_swish_affine") {
            const double e = expected;
            expected = Half(static_cast<float>(e * std::min(std::max(e / 6.0 + 0.5, 0.0), 1.0)));
            if (c.post == "hard_swish_affine") expected = Half(Half(expected * 0.7131f) + -0.1093f);
          }
          const float got = HalfToFloat(y16[static_cast<size_t>(Blocked(n, ch, i, j, c.c, oh, ow, b))]);
          // The float32 sum may round to the float16 neighbour of the double
          // one: a step at the sum's magnitude, which an addend may have
          // made larger than the result's (4.5059 rounded up to 4.5078, then
          // 2.746 subtracted).
          const float magnitude = std::max({std::fabs(expected), std::fabs(Half(static_cast<float>(sum))), 1.0f});
          if (!(std::fabs(got - expected) <= std::ldexp(magnitude, -9))) {
            ADD_FAILURE() << def.name << " b" << b << " (" << n << ", " << ch << ", " << i << ", " << j << "): " << got
                          << " vs " << expected;
            ++bad;
          }
        }
}

const Case kCases[] = {
    {1, 32, 49, 51, 3, 1, 1, 1, 1, 1, 1, "add_relu6"},   // MobileNetV2's 3 x 3, rows of 51: tails of 3
    {2, 16, 50, 53, 3, 2, 1, 1, 1, 1, 1, "hard_swish"},  // stride 2, batch 2
    {1, 48, 48, 49, 5, 1, 2, 4, 3, 2, 4, ""},            // 5 x 5 dilated, asymmetric pads
    {1, 16, 96, 24, 5, 2, 1, 2, 2, 1, 2, "add_relu6"},   // PP-OCR's 5 x 5 stride 2
    {1, 16, 2304, 1, 3, 1, 1, 1, 1, 1, 1, ""},           // one column
    {1, 32, 12, 83, 5, 1, 1, 2, 2, 2, 2, "hard_swish"},  // PP-OCR rec's 5 x 5: 10 blocks of 8 columns and 3
    {2, 64, 28, 28, 3, 1, 1, 1, 1, 1, 1, "add_relu6"},   // the smallest planes taken: several blocks per job
    // ReLU6 alone: clamped and stored as float16 from the registers.
    {1, 32, 57, 57, 3, 2, 1, 0, 0, 1, 1, "relu6"},    // MobileNetV2's stride 2 (pads after only): tails of 5
    {1, 16, 30, 29, 3, 1, 1, 1, 1, 1, 1, "relu6"},    // rows of 29: a block of 8 and tails
    {1, 64, 7, 7, 3, 1, 1, 1, 1, 1, 1, "relu6"},      // MobileNetV2's 7 x 7: no block of 8, many jobs
    {2, 32, 6, 9, 5, 2, 1, 2, 2, 2, 2, "add_relu6"},  // a small plane through the output stage
    // Row tails as one register block of fewer than 8 columns.
    {1, 16, 10, 14, 3, 1, 1, 1, 1, 1, 1, "relu6"},      // MobileNetV2's 14 x 14: a tail of 6
    {1, 32, 14, 14, 3, 2, 1, 1, 1, 1, 1, "relu6"},      // its 14 x 14 -> 7 x 7: a tail of 7
    {1, 16, 8, 10, 3, 1, 1, 1, 1, 1, 1, "add_relu6"},   // a tail of 2 through the output stage
    {1, 16, 9, 18, 5, 2, 1, 2, 2, 2, 2, "hard_swish"},  // 5 x 5 stride 2: a tail of 1
};

TEST(Conv2DHalfDepthwise, Avx2MatchesTheReferenceOnBothBlockSizes) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "avx2-f16-dw");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "needs AVX2 + FMA + F16C";
  for (size_t i = 0; i < std::size(kCases); ++i) {
    SCOPED_TRACE(i);
    Check(*def, kCases[i], MemoryLayout::kBlocked8, static_cast<uint32_t>(i + 1));
    Check(*def, kCases[i], MemoryLayout::kBlocked16, static_cast<uint32_t>(i + 11));
  }
}

TEST(Conv2DHalfDepthwise, Avx512MatchesTheReference) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "avx512-f16-dw");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "no AVX-512 on this CPU";
  for (size_t i = 0; i < std::size(kCases); ++i) {
    SCOPED_TRACE(i);
    Check(*def, kCases[i], MemoryLayout::kBlocked16, static_cast<uint32_t>(i + 21));
  }
}

// A hard_swish chain on 65536+ outputs: the output stage tabulates it where
// gathers pay (forced on and off here) and its chain is 8 lanes wide (AVX2
// CPUs, or MIXQ_MAX_ISA=avx2; with AVX-512 the chain runs in registers
// instead), and the rows then look their registers up in that table
// instead of going through a float32 strip: within the reference's
// tolerance, and the same bits as the stage's own computed chain.
TEST(Conv2DHalfDepthwise, TabulatedChainLookedUpFromRegisters) {
  const Case cases[] = {
      {1, 64, 40, 41, 5, 1, 1, 2, 2, 2, 2, "hard_swish"},  // the blocked 5 x 5 rows, column tails
      {1, 16, 64, 71, 3, 1, 1, 1, 1, 1, 1, "hard_swish"},  // the blocked 3 x 3 rows
      {1, 32, 60, 70, 3, 1, 2, 2, 2, 2, 2, "hard_swish"},  // dilated: the generic rows
  };
  for (const char* name : {"avx2-f16-dw", "avx512-f16-dw"}) {
    const KernelDef* def = FindKernel(OpKind::kConv2D, name);
    ASSERT_NE(def, nullptr);
    if (def->isa > kernels::BestIsa()) continue;
    const MemoryLayout layout = def->isa == kernels::Isa::kAvx512 ? MemoryLayout::kBlocked16 : MemoryLayout::kBlocked8;
    for (size_t i = 0; i < std::size(cases); ++i) {
      SCOPED_TRACE(std::string(name) + " case " + std::to_string(i));
      std::vector<uint16_t> outputs[2];
      for (int tables : {1, 0}) {
        kernels::SetGatherTablesForTesting(tables);
        Check(*def, cases[i], layout, static_cast<uint32_t>(31 + i), &outputs[tables]);
      }
      kernels::SetGatherTablesForTesting(-1);
      ASSERT_FALSE(outputs[1].empty());
      EXPECT_EQ(outputs[1], outputs[0]);
    }
  }
}

// A unary chain (hard_swish; hard_swish, * scale, + bias) through the
// stage's registers (Chain512 / 256) or its table: bit for bit the separate
// steps on the kernel's own float16 output without post-ops.
TEST(Conv2DHalfDepthwise, UnaryChainSameBitsAsTheSeparateSteps) {
  const Case cases[] = {
      {1, 32, 12, 83, 5, 1, 1, 2, 2, 2, 2, "hard_swish_affine"},  // PP-OCR rec's 5 x 5 (blocked rows)
      {2, 16, 50, 53, 3, 2, 1, 1, 1, 1, 1, "hard_swish"},         // stride 2, batch 2
      {1, 32, 30, 31, 3, 1, 2, 2, 2, 2, 2, "hard_swish_affine"},  // dilated: the generic rows
  };
  for (const char* name : {"avx2-f16-dw", "avx512-f16-dw"}) {
    const KernelDef* def = FindKernel(OpKind::kConv2D, name);
    ASSERT_NE(def, nullptr);
    if (def->isa > kernels::BestIsa()) continue;
    const MemoryLayout layout = def->isa == kernels::Isa::kAvx512 ? MemoryLayout::kBlocked16 : MemoryLayout::kBlocked8;
    for (size_t i = 0; i < std::size(cases); ++i) {
      SCOPED_TRACE(std::string(name) + " case " + std::to_string(i));
      Case plain_case = cases[i];
      plain_case.post = "";
      std::vector<uint16_t> plain, fused;
      Check(*def, plain_case, layout, static_cast<uint32_t>(61 + i), &plain);
      Check(*def, cases[i], layout, static_cast<uint32_t>(61 + i), &fused);
      ASSERT_EQ(plain.size(), fused.size());
      int bad = 0;
      for (size_t e = 0; e < plain.size() && bad < 5; ++e)
        if (fused[e] != Steps(cases[i].post, plain[e])) {
          ADD_FAILURE() << "element " << e << ": " << fused[e] << " vs " << Steps(cases[i].post, plain[e]);
          ++bad;
        }
    }
  }
}

// Not depthwise (a channel multiplier of 2); channels past the block, the
// AVX-512 kernel on nChw8c, plain tensors and a mix of plain and blocked
// ones (taken for the selection, then given back by keep_with_layouts).
// Small planes run.
TEST(Conv2DHalfDepthwise, DeclinesWhatItDoesNotRun) {
  const KernelDef* avx2 = FindKernel(OpKind::kConv2D, "avx2-f16-dw");
  const KernelDef* avx512 = FindKernel(OpKind::kConv2D, "avx512-f16-dw");
  ASSERT_NE(avx2, nullptr);
  ASSERT_NE(avx512, nullptr);
  auto init_of = [](int64_t channels, int64_t out_channels, MemoryLayout layout, std::vector<ValueInfo>* keep,
                    std::vector<ValueInfo>* outs, ir::AttrMap* attrs, int64_t size = 48) {
    Case c{1, channels, size, size, 3, 1, 1, 1, 1, 1, 1, ""};
    *attrs = Attrs(c);
    static std::vector<float> filter(64 * 9), bias(64);
    keep->assign({ValueInfo{DataType::FLOAT16, {1, channels, size, size}, nullptr, nullptr, true, layout},
                  ValueInfo{DataType::FLOAT32, {out_channels, 1, 3, 3}, filter.data(), nullptr, false}});
    outs->assign({ValueInfo{DataType::FLOAT16, {1, out_channels, size, size}, nullptr, nullptr, true, layout}});
  };
  std::vector<ValueInfo> keep, outs;
  ir::AttrMap attrs;
  auto supports = [&](const KernelDef* def) {
    std::vector<const ValueInfo*> ins = {&keep[0], &keep[1]};
    return def->supports(KernelInit(attrs, ins, outs));
  };
  // Taken for the selection and the layout pass, and kept to run.
  auto runs = [&](const KernelDef* def) {
    std::vector<const ValueInfo*> ins = {&keep[0], &keep[1]};
    const KernelInit init(attrs, ins, outs);
    return def->supports(init) && def->keep_with_layouts(init);
  };
  init_of(16, 32, MemoryLayout::kBlocked16, &keep, &outs, &attrs);
  EXPECT_FALSE(supports(avx2)) << "channel multiplier 2";
  init_of(24, 24, MemoryLayout::kBlocked16, &keep, &outs, &attrs);
  EXPECT_FALSE(runs(avx2)) << "24 channels in blocks of 16";
  init_of(16, 16, MemoryLayout::kBlocked8, &keep, &outs, &attrs);
  EXPECT_TRUE(runs(avx2));
  EXPECT_FALSE(runs(avx512)) << "nChw8c";
  init_of(16, 16, MemoryLayout::kBlocked16, &keep, &outs, &attrs, 7);
  EXPECT_TRUE(runs(avx2)) << "7 x 7";
  EXPECT_TRUE(runs(avx512)) << "7 x 7";
  init_of(16, 16, MemoryLayout::kPlain, &keep, &outs, &attrs);
  EXPECT_TRUE(supports(avx512));
  EXPECT_FALSE(runs(avx512)) << "plain tensors go to the next kernel";
  init_of(16, 16, MemoryLayout::kBlocked16, &keep, &outs, &attrs);
  outs[0].layout = MemoryLayout::kPlain;
  EXPECT_TRUE(supports(avx512)) << "a blocked input and a plain output: taken for the layout pass";
  EXPECT_FALSE(runs(avx512)) << "a blocked input and a plain output go to the next kernel";
  // A residual addend: run in the output's layout, declined in another (the
  // layout pass could leave such a step in a mix no kernel runs).
  init_of(16, 16, MemoryLayout::kBlocked16, &keep, &outs, &attrs);
  static std::vector<float> bias(16);
  const ValueInfo b{DataType::FLOAT32, {16}, bias.data(), nullptr, false};
  ValueInfo addend{DataType::FLOAT16, {1, 16, 48, 48}, nullptr, nullptr, true, MemoryLayout::kBlocked16};
  std::vector<PostOp> add(1);
  add[0].kind = PostOp::Kind::kAdd;
  add[0].input = 3;
  const std::vector<DataType> compute = {DataType::FLOAT16, DataType::FLOAT32, DataType::FLOAT32, DataType::FLOAT16};
  const std::vector<const ValueInfo*> with_addend = {&keep[0], &keep[1], &b, &addend};
  const KernelInit blocked_addend(attrs, with_addend, outs, &compute, &add);
  EXPECT_TRUE(avx512->supports(blocked_addend) && avx512->keep_with_layouts(blocked_addend));
  addend.layout = MemoryLayout::kPlain;
  const KernelInit plain_addend(attrs, with_addend, outs, &compute, &add);
  EXPECT_FALSE(avx512->supports(plain_addend)) << "a plain addend to a blocked output";
}

}  // namespace
}  // namespace mixq::ops
