// The float16 pointwise kernels (cpu_half_pw.cc) against a double reference
// on the same float16 values, rounded at each boundary as the separate steps
// would be, within one float16 step (the kernels sum in float32):
// "avx2-f16-pw" on nChw8c and nChw16c tensors (run here whatever the CPU
// picks) and "avx512-f16-pw" on nChw16c where the CPU has AVX-512. Pixel
// counts that leave tails of the 6-, 8- and 12-pixel tiles, output vector
// counts that leave every tail of the 4- (AVX-512) and 2-vector (AVX2) tiles,
// batch 2, planes split into strips, output channels into groups and
// input channels into chunks, 1 and 3
// threads, post-ops (ReLU6, stored by the tiles themselves; a residual add
// with ReLU6 and hard_swish, through the output stage); and the cases they
// decline.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"
#include "test_util/prefer_avx2_f32.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

float Half(float v) {
  return HalfToFloat(FloatToHalf(v));
}

struct Case {
  int64_t n, in_c, out_c, h, w;
  std::string post;  // "", "relu6", "add_relu6", "hard_swish"
};

// Element (n, c, h, w) of an nChw`b`c tensor.
int64_t Blocked(int64_t n, int64_t c, int64_t h, int64_t w, int64_t channels, int64_t height, int64_t width,
                int64_t b) {
  return (((n * (channels / b) + c / b) * height + h) * width + w) * b + c % b;
}

ir::AttrMap Attrs(int64_t stride = 1, int64_t group = 1, int64_t pad = 0) {
  ir::AttrMap attrs;
  for (const AttrSpec& spec : GetSchema(OpKind::kConv2D).attrs) attrs.Set(spec.name, spec.default_value);
  attrs.Set("input_layout", std::string("NCHW"));
  attrs.Set("output_layout", std::string("NCHW"));
  attrs.Set("filter_layout", std::string("OIHW"));
  attrs.Set("group", group);
  attrs.Set("strides", std::vector<int64_t>{stride, stride});
  attrs.Set("dilations", std::vector<int64_t>{1, 1});
  attrs.Set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  return attrs;
}

// Runs `def` on case `c` with tensors in `layout` on `threads` threads;
// checks every output. Weights that are float16 values (force_float16's)
// are packed as float16; others (a float16-storage step computing its
// weights in float32) stay float32: `half_weights` picks which.
// `plain_input`: the input NCHW, the output (and addend) in `layout`;
// `plain_output`: the output and addend NCHW, the input in `layout`.
void Check(const KernelDef& def, const Case& c, MemoryLayout layout, int threads, uint32_t seed,
           bool half_weights = true, std::vector<uint16_t>* output = nullptr, bool plain_input = false,
           bool plain_output = false) {
  const test_util::PreferMixqFloatKernels own_kernels;  // taken at any thread count on any CPU
  const int64_t b = BlockChannels(layout);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  const int64_t plane = c.h * c.w;
  std::vector<float> x(static_cast<size_t>(c.n * c.in_c * plane)), filter(static_cast<size_t>(c.out_c * c.in_c)),
      bias(static_cast<size_t>(c.out_c)), addend(static_cast<size_t>(c.n * c.out_c * plane));
  for (auto& v : x) v = Half(real(rng) * 4.0f);
  for (auto& v : filter) v = half_weights ? Half(real(rng)) : real(rng);
  for (auto& v : bias) v = real(rng);
  for (auto& v : addend) v = Half(real(rng) * 3.0f);

  const ir::AttrMap attrs = Attrs();
  const ir::Shape xs{c.n, c.in_c, c.h, c.w}, ws{c.out_c, c.in_c, 1, 1}, ys{c.n, c.out_c, c.h, c.w};
  ValueInfo xi{DataType::FLOAT16, xs, nullptr, nullptr, true, plain_input ? MemoryLayout::kPlain : layout};
  ValueInfo wi{DataType::FLOAT32, ws, filter.data(), nullptr, false};
  ValueInfo bi{DataType::FLOAT32, {c.out_c}, bias.data(), nullptr, false};
  const MemoryLayout out_layout = plain_output ? MemoryLayout::kPlain : layout;
  ValueInfo ai{DataType::FLOAT16, ys, nullptr, nullptr, true, out_layout};
  std::vector<ValueInfo> yi = {ValueInfo{DataType::FLOAT16, ys, nullptr, nullptr, true, out_layout}};
  std::vector<DataType> compute = {DataType::FLOAT16, DataType::FLOAT32, DataType::FLOAT32, DataType::FLOAT16};
  std::vector<PostOp> post;
  if (c.post == "add_relu6") {
    post.resize(2);
    post[0].kind = PostOp::Kind::kAdd;
    post[0].input = 3;
    post[1].activation = "relu6";
    post[1].hi = 6.0f;
  } else if (c.post == "relu6") {  // a clamp: the tiles round and store themselves
    post.resize(1);
    post[0].activation = "relu6";
    post[0].hi = 6.0f;
  } else if (c.post == "hard_swish") {
    post.resize(1);
    post[0].activation = "hard_swish";
  } else if (c.post == "hard_swish_affine") {  // PP-OCR's hard_swish, * scale, + bias: in registers
    post.resize(3);
    post[0].activation = "hard_swish";
    post[1].kind = PostOp::Kind::kScalar;
    post[1].activation = "mul";
    post[1].lo = 0.7131f;
    post[2].kind = PostOp::Kind::kScalar;
    post[2].activation = "add";
    post[2].lo = -0.1093f;
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
  for (int64_t n = 0; n < c.n; ++n) {
    for (int64_t ch = 0; ch < c.in_c; ++ch)
      for (int64_t p = 0; p < plane; ++p)
        x16[static_cast<size_t>(plain_input ? (n * c.in_c + ch) * plane + p
                                            : Blocked(n, ch, p / c.w, p % c.w, c.in_c, c.h, c.w, b))] =
            FloatToHalf(x[static_cast<size_t>((n * c.in_c + ch) * plane + p)]);
    for (int64_t ch = 0; ch < c.out_c; ++ch)
      for (int64_t p = 0; p < plane; ++p)
        a16[static_cast<size_t>(plain_output ? (n * c.out_c + ch) * plane + p
                                             : Blocked(n, ch, p / c.w, p % c.w, c.out_c, c.h, c.w, b))] =
            FloatToHalf(addend[static_cast<size_t>((n * c.out_c + ch) * plane + p)]);
  }
  std::vector<TensorView> in = {{DataType::FLOAT16, xs, x16.data(), nullptr},
                                {DataType::FLOAT32, ws, filter.data(), nullptr},
                                {DataType::FLOAT32, {c.out_c}, bias.data(), nullptr}};
  if (c.post == "add_relu6") in.push_back({DataType::FLOAT16, ys, a16.data(), nullptr});
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  for (int run = 0; run < 2; ++run) ASSERT_TRUE(kernel->Run(in, {{DataType::FLOAT16, ys, y16.data(), nullptr}}).ok());
  omp_set_num_threads(saved);
  if (output) *output = y16;

  int bad = 0;
  for (int64_t n = 0; n < c.n && bad < 5; ++n)
    for (int64_t o = 0; o < c.out_c && bad < 5; ++o)
      for (int64_t p = 0; p < plane && bad < 5; ++p) {
        double sum = bias[static_cast<size_t>(o)];
        for (int64_t i = 0; i < c.in_c; ++i)
          sum += static_cast<double>(filter[static_cast<size_t>(o * c.in_c + i)]) *
                 x[static_cast<size_t>((n * c.in_c + i) * plane + p)];
        float expected = Half(static_cast<float>(sum));
        if (c.post == "add_relu6") {
          expected = Half(expected + addend[static_cast<size_t>((n * c.out_c + o) * plane + p)]);
          expected = std::min(std::max(expected, 0.0f), 6.0f);
        } else if (c.post == "relu6") {
          expected = std::min(std::max(expected, 0.0f), 6.0f);
        } else if (c.post == "hard_swish" || c.post == "hard_swish_affine") {
          const double e = expected;
          expected = Half(static_cast<float>(e * std::min(std::max(e / 6.0 + 0.5, 0.0), 1.0)));
          if (c.post == "hard_swish_affine") expected = Half(Half(expected * 0.7131f) + -0.1093f);
        }
        const float got = HalfToFloat(y16[static_cast<size_t>(
            plain_output ? (n * c.out_c + o) * plane + p : Blocked(n, o, p / c.w, p % c.w, c.out_c, c.h, c.w, b))]);
        // The float32 sum may round to the float16 neighbour of the double
        // one: a step at the sum's magnitude (cpu_half_dw_test.cc says why
        // that, not the result's).
        const float magnitude = std::max({std::fabs(expected), std::fabs(Half(static_cast<float>(sum))), 1.0f});
        if (!(std::fabs(got - expected) <= std::ldexp(magnitude, -9))) {
          ADD_FAILURE() << def.name << " b" << b << " t" << threads << " (" << n << ", " << o << ", " << p
                        << "): " << got << " vs " << expected;
          ++bad;
        }
      }
}

// Channels in whole nChw16c blocks (both kernels, both block sizes).
const Case kCases16[] = {
    {1, 16, 96, 13, 17, "add_relu6"},          // MobileNetV2's 16 -> 96; 221 pixels: a tail of 5
    {2, 32, 48, 7, 9, "hard_swish"},           // batch 2; 3 vectors of 16 (the 3-vector tile), 63 pixels: tail of 3
    {1, 16, 32, 64, 50, "relu6"},              // PP-OCR det's 16 -> 32 (2 vectors: 12-pixel tiles); several strips
    {1, 32, 160, 5, 5, "relu6"},               // a small plane, many output channels: output blocks in groups
    {1, 32, 16, 3, 4, ""},                     // one output block, 12 pixels (one whole 12-pixel tile)
    {1, 16, 32, 13, 19, "hard_swish_affine"},  // PP-OCR det's 16 -> 32 and its chain through the stage
    {1, 32, 64, 1, 1, "hard_swish"},           // one pixel
    {1, 272, 80, 6, 7, "add_relu6"},           // many input channels, 5 output vectors: two groups through the stage
    // Input channels in chunks of 1024, the sums kept in the float32 strip
    // in between.
    {1, 1040, 48, 4, 5, "relu6"},      // chunks of 1024 and 16, stored as float16 by the last
    {2, 1056, 32, 3, 3, "add_relu6"},  // batch 2, through the stage
    {1, 1040, 96, 6, 9, "relu6"},      // two groups of output channels, each with its partial sums
};
// Channels in whole nChw8c blocks only (the AVX2 kernel).
const Case kCases8[] = {
    {1, 24, 40, 11, 13, "add_relu6"},  // 5 vectors of 8: a one-vector tail
    {1, 8, 8, 9, 7, "relu6"},          // one block in and out; 12-pixel tiles
    {2, 24, 24, 20, 20, ""},           // batch 2, 3 vectors of 8
};

TEST(Conv2DHalfPointwise, Avx2MatchesTheReferenceOnBothBlockSizes) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "avx2-f16-pw");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "needs AVX2 + FMA + F16C";
  uint32_t seed = 1;
  for (int threads : {1, 3}) {
    for (size_t i = 0; i < std::size(kCases16); ++i) {
      SCOPED_TRACE(i);
      Check(*def, kCases16[i], MemoryLayout::kBlocked8, threads, seed++, threads == 1);
      Check(*def, kCases16[i], MemoryLayout::kBlocked16, threads, seed++, threads == 1);
    }
    for (size_t i = 0; i < std::size(kCases8); ++i) {
      SCOPED_TRACE(100 + i);
      Check(*def, kCases8[i], MemoryLayout::kBlocked8, threads, seed++, threads == 1);
    }
  }
}

// A plain input of 8 to 56 channels in eights (MobileNetV2's 24), read
// channel by channel, into nChw16c (cpu_half_pw.cc PlainInputShape): tails
// of every tile, batch 2, several strips, groups, post-ops through the
// tiles and through the stage, float32 weights.
TEST(Conv2DHalfPointwise, Avx512FromAPlainInput) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "avx512-f16-pw");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "no AVX-512 on this CPU";
  const Case cases[] = {
      {1, 24, 144, 13, 17, "relu6"},     // MobileNetV2's 24 -> 144; 221 pixels
      {2, 8, 32, 7, 9, "hard_swish"},    // batch 2, one channel row, 63 pixels
      {1, 40, 48, 40, 50, "add_relu6"},  // several strips, 3 vectors, a residual through the stage
      {1, 56, 160, 5, 5, "relu6"},       // a small plane, output blocks in groups
      {1, 24, 16, 1, 1, ""},             // one pixel, one output block
  };
  uint32_t seed = 301;
  for (int threads : {1, 3})
    for (size_t i = 0; i < std::size(cases); ++i) {
      SCOPED_TRACE(i);
      Check(*def, cases[i], MemoryLayout::kBlocked16, threads, seed++, threads == 1, nullptr, /*plain_input=*/true);
    }
}

// An nChw16c input into a plain output of 8 to 56 channels in eights
// (MobileNetV2's 96 -> 24 and 144 -> 24 with its residual add): the sums
// padded to whole vectors, transposed to channel rows for the output stage;
// strips with and without an 8-pixel remainder, batch 2, groups.
TEST(Conv2DHalfPointwise, Avx512IntoAPlainOutput) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "avx512-f16-pw");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "no AVX-512 on this CPU";
  const Case cases[] = {
      {1, 96, 24, 13, 17, "relu6"},       // MobileNetV2's 96 -> 24; 221 pixels
      {1, 144, 24, 11, 12, "add_relu6"},  // 144 -> 24 with a residual (plain too)
      {2, 32, 8, 7, 9, "hard_swish"},     // batch 2, one output row of 8
      {1, 16, 56, 40, 50, ""},            // several strips, 4 vectors (the last half empty)
      {1, 1040, 40, 4, 5, "relu6"},       // input chunks with partial sums
      {1, 32, 24, 1, 1, "add_relu6"},     // one pixel
  };
  uint32_t seed = 401;
  for (int threads : {1, 3})
    for (size_t i = 0; i < std::size(cases); ++i) {
      SCOPED_TRACE(i);
      Check(*def, cases[i], MemoryLayout::kBlocked16, threads, seed++, threads == 1, nullptr, false,
            /*plain_output=*/true);
    }
}

// The layouts the plain-input form is offered and keeps: the output slot
// (and a residual) blocked, the input never; a plain input of 16, 72 or 20
// channels, or a plain output, is not its. The plain-output form: the input
// slot blocked, the output never.
TEST(Conv2DHalfPointwise, PlainInputLayouts) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "avx512-f16-pw");
  ASSERT_NE(def, nullptr);
  const ir::AttrMap attrs = Attrs();
  std::vector<float> filter(static_cast<size_t>(144 * 72), 0.5f), bias(144, 0.0f);
  std::vector<DataType> compute = {DataType::FLOAT16, DataType::FLOAT32, DataType::FLOAT32};
  auto init_for = [&](int64_t in_c, MemoryLayout in_layout, MemoryLayout out_layout, auto&& body) {
    ValueInfo xi{DataType::FLOAT16, {1, in_c, 8, 8}, nullptr, nullptr, true, in_layout};
    ValueInfo wi{DataType::FLOAT32, {144, in_c, 1, 1}, filter.data(), nullptr, false};
    ValueInfo bi{DataType::FLOAT32, {144}, bias.data(), nullptr, false};
    std::vector<ValueInfo> yi = {ValueInfo{DataType::FLOAT16, {1, 144, 8, 8}, nullptr, nullptr, true, out_layout}};
    std::vector<const ValueInfo*> ins = {&xi, &wi, &bi};
    body(KernelInit(attrs, ins, yi, &compute));
  };
  init_for(24, MemoryLayout::kPlain, MemoryLayout::kPlain, [&](const KernelInit& init) {
    EXPECT_TRUE(def->supports(init));
    std::vector<bool> ins, outs;
    def->blocked_slots(init, MemoryLayout::kBlocked16, &ins, &outs);
    EXPECT_FALSE(ins[0]);
    EXPECT_TRUE(outs[0]);
    EXPECT_FALSE(def->keep_with_layouts(init));  // a plain output: not this kernel's
  });
  init_for(24, MemoryLayout::kPlain, MemoryLayout::kBlocked16,
           [&](const KernelInit& init) { EXPECT_TRUE(def->keep_with_layouts(init)); });
  for (int64_t in_c : {16, 72, 20})
    init_for(in_c, MemoryLayout::kPlain, MemoryLayout::kBlocked16,
             [&](const KernelInit& init) { EXPECT_FALSE(def->keep_with_layouts(init)) << in_c; });
  // The other way round: 96 -> 24, the input blocked, the output never.
  std::vector<float> filter24(static_cast<size_t>(24 * 96), 0.5f), bias24(24, 0.0f);
  auto init_out = [&](MemoryLayout in_layout, MemoryLayout out_layout, auto&& body) {
    ValueInfo xi{DataType::FLOAT16, {1, 96, 8, 8}, nullptr, nullptr, true, in_layout};
    ValueInfo wi{DataType::FLOAT32, {24, 96, 1, 1}, filter24.data(), nullptr, false};
    ValueInfo bi{DataType::FLOAT32, {24}, bias24.data(), nullptr, false};
    std::vector<ValueInfo> yi = {ValueInfo{DataType::FLOAT16, {1, 24, 8, 8}, nullptr, nullptr, true, out_layout}};
    std::vector<const ValueInfo*> ins = {&xi, &wi, &bi};
    body(KernelInit(attrs, ins, yi, &compute));
  };
  init_out(MemoryLayout::kPlain, MemoryLayout::kPlain, [&](const KernelInit& init) {
    EXPECT_TRUE(def->supports(init));
    std::vector<bool> ins, outs;
    def->blocked_slots(init, MemoryLayout::kBlocked16, &ins, &outs);
    EXPECT_TRUE(ins[0]);
    EXPECT_FALSE(outs[0]);
    EXPECT_FALSE(def->keep_with_layouts(init));  // a plain input too: not this kernel's
  });
  init_out(MemoryLayout::kBlocked16, MemoryLayout::kPlain,
           [&](const KernelInit& init) { EXPECT_TRUE(def->keep_with_layouts(init)); });
}

TEST(Conv2DHalfPointwise, Avx512MatchesTheReference) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "avx512-f16-pw");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "no AVX-512 on this CPU";
  uint32_t seed = 101;
  for (int threads : {1, 3})
    for (size_t i = 0; i < std::size(kCases16); ++i) {
      SCOPED_TRACE(i);
      Check(*def, kCases16[i], MemoryLayout::kBlocked16, threads, seed++, threads == 1);
    }
}

// A unary chain (PP-OCR's hard_swish, * scale, + bias) through the output
// stage: bit for bit the separate steps on the kernel's own float16 output
// without post-ops.
TEST(Conv2DHalfPointwise, UnaryChainSameBitsAsTheSeparateSteps) {
  const Case cases[] = {
      {1, 16, 32, 13, 19, "hard_swish_affine"},  // PP-OCR det's 16 -> 32
      {2, 32, 48, 7, 9, "hard_swish"},           // batch 2, the 3-vector tile
      {1, 1040, 48, 4, 5, "hard_swish_affine"},  // input channels in two chunks
  };
  for (const char* name : {"avx2-f16-pw", "avx512-f16-pw"}) {
    const KernelDef* def = FindKernel(OpKind::kConv2D, name);
    ASSERT_NE(def, nullptr);
    if (def->isa > kernels::BestIsa()) continue;
    for (size_t i = 0; i < std::size(cases); ++i) {
      SCOPED_TRACE(std::string(name) + " case " + std::to_string(i));
      Case plain_case = cases[i];
      plain_case.post = "";
      std::vector<uint16_t> plain, fused;
      Check(*def, plain_case, MemoryLayout::kBlocked16, 2, static_cast<uint32_t>(81 + i), true, &plain);
      Check(*def, cases[i], MemoryLayout::kBlocked16, 2, static_cast<uint32_t>(81 + i), true, &fused);
      ASSERT_EQ(plain.size(), fused.size());
      int bad = 0;
      for (size_t e = 0; e < plain.size() && bad < 5; ++e) {
        const double v = HalfToFloat(plain[e]);
        float want = Half(static_cast<float>(v * std::min(std::max(v / 6.0 + 0.5, 0.0), 1.0)));
        if (cases[i].post == "hard_swish_affine") want = Half(Half(want * 0.7131f) + -0.1093f);
        if (fused[e] != FloatToHalf(want)) {
          ADD_FAILURE() << "element " << e << ": " << fused[e] << " vs " << FloatToHalf(want);
          ++bad;
        }
      }
    }
  }
}

// A 3 x 3 filter, stride 2, padding, two groups, channels past the block,
// the AVX-512 kernel on nChw8c, and plain tensors (taken for the selection,
// then given back by keep_with_layouts).
TEST(Conv2DHalfPointwise, DeclinesWhatItDoesNotRun) {
  const test_util::PreferMixqFloatKernels own_kernels;
  const KernelDef* avx2 = FindKernel(OpKind::kConv2D, "avx2-f16-pw");
  const KernelDef* avx512 = FindKernel(OpKind::kConv2D, "avx512-f16-pw");
  ASSERT_NE(avx2, nullptr);
  ASSERT_NE(avx512, nullptr);
  static std::vector<float> filter(64 * 64 * 9);
  std::vector<ValueInfo> keep, outs;
  ir::AttrMap attrs;
  auto set = [&](int64_t in_c, int64_t out_c, MemoryLayout layout, int64_t k, int64_t stride, int64_t group,
                 int64_t pad) {
    attrs = Attrs(stride, group, pad);
    const int64_t out = (12 + 2 * pad - k) / stride + 1;
    keep.assign({ValueInfo{DataType::FLOAT16, {1, in_c, 12, 12}, nullptr, nullptr, true, layout},
                 ValueInfo{DataType::FLOAT32, {out_c, in_c / group, k, k}, filter.data(), nullptr, false}});
    outs.assign({ValueInfo{DataType::FLOAT16, {1, out_c, out, out}, nullptr, nullptr, true, layout}});
  };
  auto supports = [&](const KernelDef* def) {
    std::vector<const ValueInfo*> ins = {&keep[0], &keep[1]};
    return def->supports(KernelInit(attrs, ins, outs));
  };
  // Taken and kept: the step runs on this kernel.
  auto runs = [&](const KernelDef* def) {
    std::vector<const ValueInfo*> ins = {&keep[0], &keep[1]};
    const KernelInit init(attrs, ins, outs);
    return def->supports(init) && def->keep_with_layouts(init);
  };
  set(16, 32, MemoryLayout::kBlocked16, 1, 1, 1, 0);
  EXPECT_TRUE(runs(avx2));
  EXPECT_TRUE(runs(avx512));
  set(16, 32, MemoryLayout::kBlocked16, 3, 1, 1, 1);
  EXPECT_FALSE(supports(avx2)) << "3 x 3";
  set(16, 32, MemoryLayout::kBlocked16, 1, 2, 1, 0);
  EXPECT_FALSE(supports(avx2)) << "stride 2";
  set(16, 32, MemoryLayout::kBlocked16, 1, 1, 1, 1);
  EXPECT_FALSE(supports(avx2)) << "padded";
  set(32, 32, MemoryLayout::kBlocked16, 1, 1, 2, 0);
  EXPECT_FALSE(supports(avx2)) << "two groups";
  set(16, 24, MemoryLayout::kBlocked16, 1, 1, 1, 0);
  EXPECT_FALSE(runs(avx2)) << "24 output channels in blocks of 16";
  set(24, 16, MemoryLayout::kBlocked16, 1, 1, 1, 0);
  EXPECT_FALSE(runs(avx2)) << "24 input channels in blocks of 16";
  set(16, 16, MemoryLayout::kBlocked8, 1, 1, 1, 0);
  EXPECT_TRUE(runs(avx2));
  EXPECT_FALSE(runs(avx512)) << "nChw8c";
  set(16, 16, MemoryLayout::kPlain, 1, 1, 1, 0);
  EXPECT_TRUE(supports(avx512)) << "plain, for the selection";
  EXPECT_FALSE(runs(avx512)) << "plain tensors go to the next kernel";
  set(16, 24, MemoryLayout::kPlain, 1, 1, 1, 0);
  EXPECT_FALSE(supports(avx2)) << "plain with 24 channels: never blocked on an AVX-512 CPU";
  // A blocked input and a plain output (a reader that cannot take the
  // blocked layout): taken, so the layout pass keeps the input blocked, and
  // given to the next kernel.
  set(16, 32, MemoryLayout::kBlocked16, 1, 1, 1, 0);
  outs[0].layout = MemoryLayout::kPlain;
  EXPECT_TRUE(supports(avx512));
  EXPECT_FALSE(runs(avx512));
  // A residual addend: run in the output's layout, declined in another (the
  // layout pass could leave such a step in a mix no kernel runs).
  set(16, 32, MemoryLayout::kBlocked16, 1, 1, 1, 0);
  static std::vector<float> bias(32);
  const ValueInfo b{DataType::FLOAT32, {32}, bias.data(), nullptr, false};
  ValueInfo addend{DataType::FLOAT16, {1, 32, 12, 12}, nullptr, nullptr, true, MemoryLayout::kBlocked16};
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

// Where oneDNN's float32 kernels pay (Intel CPUs with AVX-512; forced here
// on any CPU) a one-thread step of 64+ channels in and out on a 14 x 14+
// plane is left to onednn-f16; at two threads, where they do not pay, and
// for a wide plane with few channels or a 7 x 7 plane, these kernels take it.
TEST(Conv2DHalfPointwise, LeftToOneDnnAtOneThreadWhereItsKernelsPay) {
  static std::vector<float> filter(96 * 64);
  const ir::AttrMap attrs = Attrs();
  const ValueInfo x{DataType::FLOAT16, {1, 64, 14, 14}, nullptr, nullptr, true, MemoryLayout::kBlocked16};
  const ValueInfo w{DataType::FLOAT32, {96, 64, 1, 1}, filter.data(), nullptr, false};
  const std::vector<ValueInfo> outs = {
      ValueInfo{DataType::FLOAT16, {1, 96, 14, 14}, nullptr, nullptr, true, MemoryLayout::kBlocked16}};
  const std::vector<const ValueInfo*> ins = {&x, &w};
  // Kept whatever the CPU: 16 -> 96 at 56 x 56, 64 -> 96 at 7 x 7.
  const ValueInfo few{DataType::FLOAT16, {1, 16, 56, 56}, nullptr, nullptr, true, MemoryLayout::kBlocked16};
  const ValueInfo few_w{DataType::FLOAT32, {96, 16, 1, 1}, filter.data(), nullptr, false};
  const std::vector<ValueInfo> few_outs = {
      ValueInfo{DataType::FLOAT16, {1, 96, 56, 56}, nullptr, nullptr, true, MemoryLayout::kBlocked16}};
  const std::vector<const ValueInfo*> few_ins = {&few, &few_w};
  const ValueInfo small{DataType::FLOAT16, {1, 64, 7, 7}, nullptr, nullptr, true, MemoryLayout::kBlocked16};
  const std::vector<ValueInfo> small_outs = {
      ValueInfo{DataType::FLOAT16, {1, 96, 7, 7}, nullptr, nullptr, true, MemoryLayout::kBlocked16}};
  const std::vector<const ValueInfo*> small_ins = {&small, &w};
  // 7 x 7: 960 -> 160 left to oneDNN at one thread (kept at two), 160 -> 960 kept.
  static std::vector<float> deep_filter(960 * 160);
  const ValueInfo deep{DataType::FLOAT16, {1, 960, 7, 7}, nullptr, nullptr, true, MemoryLayout::kBlocked16};
  const ValueInfo narrow{DataType::FLOAT16, {1, 160, 7, 7}, nullptr, nullptr, true, MemoryLayout::kBlocked16};
  const ValueInfo to_narrow_w{DataType::FLOAT32, {160, 960, 1, 1}, deep_filter.data(), nullptr, false};
  const ValueInfo to_deep_w{DataType::FLOAT32, {960, 160, 1, 1}, deep_filter.data(), nullptr, false};
  const std::vector<const ValueInfo*> to_narrow = {&deep, &to_narrow_w}, to_deep = {&narrow, &to_deep_w};
  const std::vector<ValueInfo> narrow_outs = {narrow}, deep_outs = {deep};
  const int saved = omp_get_max_threads();
  for (const char* name : {"avx2-f16-pw", "avx512-f16-pw"}) {
    SCOPED_TRACE(name);
    const KernelDef* def = FindKernel(OpKind::kConv2D, name);
    ASSERT_NE(def, nullptr);
    kernels::SetOneDnnFloatGemmForTesting(1);
    omp_set_num_threads(1);
    EXPECT_FALSE(def->supports(KernelInit(attrs, ins, outs)));
    EXPECT_TRUE(def->supports(KernelInit(attrs, few_ins, few_outs)));
    EXPECT_TRUE(def->supports(KernelInit(attrs, small_ins, small_outs)));
    EXPECT_FALSE(def->supports(KernelInit(attrs, to_narrow, narrow_outs)));
    EXPECT_TRUE(def->supports(KernelInit(attrs, to_deep, deep_outs)));
    omp_set_num_threads(2);
    EXPECT_TRUE(def->supports(KernelInit(attrs, ins, outs)));
    EXPECT_TRUE(def->supports(KernelInit(attrs, to_narrow, narrow_outs))) << "one thread only";
    kernels::SetOneDnnFloatGemmForTesting(0);
    omp_set_num_threads(1);
    EXPECT_TRUE(def->supports(KernelInit(attrs, ins, outs)));
  }
  kernels::SetOneDnnFloatGemmForTesting(-1);
  omp_set_num_threads(saved);
}

}  // namespace
}  // namespace mixq::ops
