// "onednn-bf16" against an independent double-precision convolution of the
// same bfloat16 values, rounded once to bfloat16 after the post-ops (what
// the kernel declares, cpu_onednn_bf16.cc): plain and channels-last
// activations, residual addends in either layout, relu / clip / hard_swish,
// bias or none, stride, dilation, asymmetric padding, groups and depthwise,
// batch 2, channel tails, a FLOAT32 output; and the steps it must decline.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

struct Case {
  int64_t batch, cin, h, w, cout, k, stride, dilation, pad;
  int group = 1;
  const char* activation = "";  // "", "relu", "relu6", "clip", "hard_swish", "leaky_relu"
  bool bias = true, add = false;
  bool in_nhwc = false, out_nhwc = false, addend_nhwc = false;
  bool float_output = false;
  int64_t stride_w = 0;  // 0: stride
  // hard_swish, * 0.7131, + -0.1093 after the activation (PP-OCR's chain).
  bool chain = false;
};

// [n][a][b] -> [n][b][a].
template <typename T>
std::vector<T> Transpose(const std::vector<T>& x, int64_t n, int64_t a, int64_t b) {
  std::vector<T> y(x.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < a; ++p)
      for (int64_t q = 0; q < b; ++q)
        y[static_cast<size_t>((i * b + q) * a + p)] = x[static_cast<size_t>((i * a + p) * b + q)];
  return y;
}

double Activation(const std::string& act, double v) {
  if (act == "relu") return std::max(v, 0.0);
  if (act == "clip") return std::min(std::max(v, -0.3), 0.45);
  if (act == "relu6") return std::min(std::max(v, 0.0), 6.0);
  if (act == "leaky_relu") return v < 0 ? static_cast<double>(0.1f) * v : v;
  if (act == "hard_swish") return v * std::min(std::max(v + 3.0, 0.0), 6.0) / 6.0;
  return v;
}

struct Result {
  std::vector<float> got, expected;  // NCHW
  std::string name;
  bool supported = false;
};

Result RunCase(const Case& c, uint32_t seed, const char* kernel_name = "onednn-bf16") {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  auto bf16 = [&] { return RoundToBFloat16(value(rng)); };
  const int64_t cin_g = c.cin / c.group, cout_g = c.cout / c.group;
  const ir::Shape x_shape{c.batch, c.cin, c.h, c.w}, w_shape{c.cout, cin_g, c.k, c.k};
  const int64_t span = c.dilation * (c.k - 1) + 1;
  const int64_t pad_bottom = c.pad + (c.pad ? 1 : 0);
  const int64_t sw = c.stride_w ? c.stride_w : c.stride;
  const int64_t oh = (c.h + c.pad + pad_bottom - span) / c.stride + 1, ow = (c.w + 2 * c.pad - span) / sw + 1;
  const ir::Shape y_shape{c.batch, c.cout, oh, ow};
  std::vector<float> x(static_cast<size_t>(ir::ElementCount(x_shape))),
      w(static_cast<size_t>(ir::ElementCount(w_shape))), bias(static_cast<size_t>(c.cout)),
      addend(static_cast<size_t>(ir::ElementCount(y_shape)));
  for (auto& v : x) v = bf16();
  for (auto& v : w) v = bf16();
  for (auto& v : bias) v = value(rng);  // FLOAT32 bias: any float
  for (auto& v : addend) v = bf16();

  Result r;
  // The reference: double sums of the same values, post-ops, one rounding.
  r.expected.resize(addend.size());
  for (int64_t n = 0; n < c.batch; ++n)
    for (int64_t o = 0; o < c.cout; ++o)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xo = 0; xo < ow; ++xo) {
          const int64_t grp = o / cout_g;
          double sum = c.bias ? bias[static_cast<size_t>(o)] : 0.0;
          for (int64_t i = 0; i < cin_g; ++i)
            for (int64_t ky = 0; ky < c.k; ++ky)
              for (int64_t kx = 0; kx < c.k; ++kx) {
                const int64_t iy = y * c.stride - c.pad + ky * c.dilation, ix = xo * sw - c.pad + kx * c.dilation;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                sum +=
                    static_cast<double>(x[static_cast<size_t>(((n * c.cin + grp * cin_g + i) * c.h + iy) * c.w + ix)]) *
                    w[static_cast<size_t>(((o * cin_g + i) * c.k + ky) * c.k + kx)];
              }
          const size_t at = static_cast<size_t>(((n * c.cout + o) * oh + y) * ow + xo);
          if (c.add) sum += addend[at];
          double a = Activation(c.activation, sum);
          if (c.chain) a = Activation("hard_swish", a) * static_cast<double>(0.7131f) + static_cast<double>(-0.1093f);
          const float v = static_cast<float>(a);
          r.expected[at] = c.float_output ? v : RoundToBFloat16(v);
        }

  ir::AttrMap attrs;
  attrs.Set("strides", std::vector<int64_t>{c.stride, sw});
  attrs.Set("dilations", std::vector<int64_t>{c.dilation, c.dilation});
  attrs.Set("pads", std::vector<int64_t>{c.pad, pad_bottom, c.pad, c.pad});  // top, bottom, left, right
  attrs.Set("group", static_cast<int64_t>(c.group));
  attrs.Set("padding_mode", std::string("EXPLICIT"));
  attrs.Set("input_layout", std::string("NCHW"));
  attrs.Set("output_layout", std::string("NCHW"));
  attrs.Set("filter_layout", std::string("OIHW"));
  auto layout = [](bool nhwc) { return nhwc ? MemoryLayout::kChannelsLast : MemoryLayout::kPlain; };
  ValueInfo xi{DataType::BFLOAT16, x_shape, nullptr, nullptr, true, layout(c.in_nhwc)};
  ValueInfo wi{DataType::FLOAT32, w_shape, w.data(), nullptr, false};
  ValueInfo bi{DataType::FLOAT32, {c.cout}, bias.data(), nullptr, false};
  ValueInfo ai{DataType::BFLOAT16, y_shape, nullptr, nullptr, true, layout(c.addend_nhwc)};
  std::vector<ValueInfo> outs = {
      c.float_output ? ValueInfo{DataType::FLOAT32, y_shape, nullptr, nullptr, false}
                     : ValueInfo{DataType::BFLOAT16, y_shape, nullptr, nullptr, true, layout(c.out_nhwc)}};
  std::vector<const ValueInfo*> ins = {&xi, &wi, c.bias ? &bi : nullptr};
  std::vector<DataType> compute = {DataType::BFLOAT16, DataType::BFLOAT16, DataType::BFLOAT16};
  std::vector<PostOp> post;
  if (c.add) {
    PostOp op;
    op.kind = PostOp::Kind::kAdd;
    op.input = 3;
    ins.push_back(&ai);
    compute.push_back(DataType::FLOAT32);
    post.push_back(op);
  }
  const std::string act = c.activation;
  if (!act.empty()) {
    PostOp op;
    op.activation = act;
    op.lo = act == "clip" ? -0.3f : act == "leaky_relu" ? 0.1f : 0.0f;
    op.hi = act == "clip" ? 0.45f : act == "relu6" ? 6.0f : std::numeric_limits<float>::infinity();
    post.push_back(op);
  }
  if (c.chain) {
    PostOp hard_swish, mul, add;
    hard_swish.activation = "hard_swish";
    mul.kind = add.kind = PostOp::Kind::kScalar;
    mul.activation = "mul";
    mul.lo = 0.7131f;
    add.activation = "add";
    add.lo = -0.1093f;
    post.insert(post.end(), {hard_swish, mul, add});
  }
  KernelInit init(attrs, ins, outs, &compute, &post);
  const KernelDef* def = FindKernel(OpKind::kConv2D, kernel_name);
  EXPECT_NE(def, nullptr);
  if (!def || !def->supports(init)) return r;
  r.supported = true;
  std::unique_ptr<Kernel> kernel;
  const Status made = def->make(init, &kernel);
  EXPECT_TRUE(made.ok()) << made.ToString();
  if (!made.ok()) return r;
  r.name = kernel->Name();

  auto to_bits = [](const std::vector<float>& v) {
    std::vector<uint16_t> b(v.size());
    for (size_t i = 0; i < v.size(); ++i) b[i] = FloatToBFloat16(v[i]);
    return b;
  };
  const int64_t in_plane = c.h * c.w, out_plane = oh * ow;
  std::vector<uint16_t> x_run = to_bits(x), a_run = to_bits(addend);
  if (c.in_nhwc) x_run = Transpose(x_run, c.batch, c.cin, in_plane);
  if (c.addend_nhwc) a_run = Transpose(a_run, c.batch, c.cout, out_plane);
  std::vector<uint16_t> y16(addend.size());
  std::vector<float> y32(addend.size());
  TensorView xv{DataType::BFLOAT16, x_shape, x_run.data(), nullptr};
  TensorView wv{DataType::FLOAT32, w_shape, w.data(), nullptr};
  TensorView bv = c.bias ? TensorView{DataType::FLOAT32, {c.cout}, bias.data(), nullptr} : TensorView{};
  TensorView av{DataType::BFLOAT16, y_shape, a_run.data(), nullptr};
  TensorView yv = c.float_output ? TensorView{DataType::FLOAT32, y_shape, y32.data(), nullptr}
                                 : TensorView{DataType::BFLOAT16, y_shape, y16.data(), nullptr};
  std::vector<TensorView> in_views = {xv, wv, bv};
  if (c.add) in_views.push_back(av);
  for (int run = 0; run < 2; ++run) EXPECT_TRUE(kernel->Run(in_views, {yv}).ok());
  if (c.float_output) {
    r.got = y32;
  } else {
    if (c.out_nhwc) y16 = Transpose(y16, c.batch, out_plane, c.cout);
    r.got.resize(y16.size());
    for (size_t i = 0; i < y16.size(); ++i) r.got[i] = BFloat16ToFloat(y16[i]);
  }
  return r;
}

// Within a bfloat16 step of the double reference (the float32 sums' order
// may move a value across a rounding boundary), 2^-7 of it, with a floor
// for values near zero from cancelling sums.
void ExpectClose(const Case& c, const Result& r) {
  ASSERT_EQ(r.got.size(), r.expected.size());
  int bad = 0;
  for (size_t i = 0; i < r.got.size() && bad < 5; ++i) {
    const double e = r.expected[i], tolerance = std::ldexp(std::max(std::fabs(e), 0.05), -7);
    if (std::fabs(r.got[i] - e) > tolerance) {
      ADD_FAILURE() << "cin " << c.cin << " cout " << c.cout << " k " << c.k << " group " << c.group << " at " << i
                    << ": " << r.got[i] << " vs " << e;
      ++bad;
    }
  }
}

bool HasBFloat16() {
  return kernels::DetectedCpuFeatures().avx512bf16;
}

TEST(Conv2DOneDnnBFloat16, MatchesTheDoubleReference) {
  if (!HasBFloat16()) GTEST_SKIP() << "no AVX512_BF16";
  const Case cases[] = {
      {1, 16, 9, 11, 32, 3, 1, 1, 1},
      {1, 3, 17, 15, 24, 7, 2, 1, 3, 1, "relu"},
      {2, 24, 8, 7, 40, 1, 1, 1, 0, 1, "clip", false},
      {1, 64, 10, 10, 72, 3, 2, 1, 1, 1, "relu", true, true},
      {1, 48, 12, 9, 48, 3, 1, 2, 2, 1, "", true, false, true, true},
      {1, 40, 7, 7, 40, 3, 1, 1, 1, 40, "relu"},       // depthwise
      {1, 32, 9, 9, 48, 3, 1, 1, 1, 4, "hard_swish"},  // grouped
      {2, 32, 6, 8, 32, 1, 1, 1, 0, 1, "relu", true, true, true, true, true},
      {1, 32, 6, 8, 32, 1, 1, 1, 0, 1, "relu", true, true, false, false, true},           // NHWC addend, plain output
      {1, 32, 6, 8, 32, 3, 1, 1, 1, 1, "", true, true, true, false, false},               // NHWC in, plain out
      {1, 130, 5, 6, 17, 3, 1, 1, 1, 1, "relu", true, false, false, false, false, true},  // FLOAT32 output
  };
  uint32_t seed = 1;
  for (const Case& c : cases) {
    const Result r = RunCase(c, seed++);
    ASSERT_TRUE(r.supported) << "cin " << c.cin << " cout " << c.cout << " group " << c.group;
    EXPECT_EQ(r.name, "onednn-bf16");
    ExpectClose(c, r);
  }
}

TEST(Conv2DOneDnnBFloat16, RoundsOnceAfterTheFusedChain) {
  if (!HasBFloat16()) GTEST_SKIP() << "no AVX512_BF16";
  // Every output is a bfloat16 value, the sum of the convolution and the
  // addend rounded once.
  Case c{1, 32, 8, 8, 32, 3, 1, 1, 1, 1, "", true, true};
  const Result r = RunCase(c, 77);
  ASSERT_TRUE(r.supported);
  for (float v : r.got) EXPECT_EQ(v, RoundToBFloat16(v));
  ExpectClose(c, r);
}

TEST(Conv2DOneDnnBFloat16, DeclinesWhatItCannotComputeExactly) {
  if (!HasBFloat16()) GTEST_SKIP() << "no AVX512_BF16";
  // A filter with values bfloat16 cannot hold (they would be rounded), and a
  // FLOAT32 input, are not its steps.
  ir::AttrMap attrs;
  attrs.Set("strides", std::vector<int64_t>{1, 1});
  attrs.Set("dilations", std::vector<int64_t>{1, 1});
  attrs.Set("pads", std::vector<int64_t>{0, 0, 0, 0});
  attrs.Set("group", int64_t{1});
  attrs.Set("padding_mode", std::string("EXPLICIT"));
  attrs.Set("input_layout", std::string("NCHW"));
  attrs.Set("output_layout", std::string("NCHW"));
  attrs.Set("filter_layout", std::string("OIHW"));
  std::vector<float> w(16 * 16, 0.5f);
  ValueInfo x16{DataType::BFLOAT16, {1, 16, 4, 4}, nullptr, nullptr, true};
  ValueInfo x32{DataType::FLOAT32, {1, 16, 4, 4}, nullptr, nullptr, false};
  ValueInfo wi{DataType::FLOAT32, {16, 16, 1, 1}, w.data(), nullptr, false};
  std::vector<ValueInfo> outs = {{DataType::BFLOAT16, {1, 16, 4, 4}, nullptr, nullptr, true}};
  const KernelDef* def = FindKernel(OpKind::kConv2D, "onednn-bf16");
  ASSERT_NE(def, nullptr);
  {
    std::vector<const ValueInfo*> ins = {&x16, &wi};
    std::vector<DataType> compute = {DataType::BFLOAT16, DataType::BFLOAT16};
    EXPECT_TRUE(def->supports(KernelInit(attrs, ins, outs, &compute)));
    w[37] = 0.1f;  // not a bfloat16 value
    EXPECT_FALSE(def->supports(KernelInit(attrs, ins, outs, &compute)));
    w[37] = 0.5f;
  }
  {
    std::vector<const ValueInfo*> ins = {&x32, &wi};
    std::vector<DataType> compute = {DataType::FLOAT32, DataType::BFLOAT16};
    EXPECT_FALSE(def->supports(KernelInit(attrs, ins, outs, &compute)));
  }
}

// "avx512-bf16-dw": 5 x 5 depthwise steps between channels-last bfloat16
// tensors (PP-OCR rec's: strides 1 and (2, 1), hard_swish chains), to the
// same double reference; channel tails (20, 40: blocks of 16), batch 2,
// dilation and a stride of 3 (the generic loop), asymmetric padding, leaky
// relu; steps it leaves to onednn-bf16.
TEST(Conv2DAvx512BFloat16Depthwise, MatchesTheDoubleReference) {
  if (!HasBFloat16()) GTEST_SKIP() << "no AVX512_BF16";
  auto dw = [](int64_t batch, int64_t c, int64_t h, int64_t w, int64_t k, int64_t stride, int64_t stride_w,
               int64_t dilation, int64_t pad, const char* activation, bool chain, bool bias = true) {
    Case d{batch, c, h, w, c, k, stride, dilation, pad, static_cast<int>(c), activation, bias};
    d.in_nhwc = d.out_nhwc = true;
    d.stride_w = stride_w;
    d.chain = chain;
    return d;
  };
  const Case cases[] = {
      dw(1, 48, 12, 21, 5, 1, 1, 1, 2, "", true),            // rec's 5 x 5 with its chain; odd width (unroll tail)
      dw(1, 48, 12, 20, 5, 2, 1, 1, 2, "relu", false),       // stride (2, 1)
      dw(2, 20, 9, 19, 5, 2, 2, 1, 2, "clip", false),        // batch 2, stride 2, a 4-channel tail block
      dw(1, 40, 10, 9, 5, 1, 1, 2, 4, "hard_swish", false),  // dilated: the generic loop, a tail block of 8
      dw(1, 16, 11, 13, 5, 1, 3, 1, 2, "relu6", false),      // stride 3 wide: the generic loop
      dw(1, 24, 5, 6, 5, 1, 1, 1, 0, "", false, false),      // no padding, no bias, fewer pixels than a step
      dw(1, 32, 8, 9, 5, 1, 1, 1, 2, "leaky_relu", false),
  };
  uint32_t seed = 500;
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "c " << c.cin << " k " << c.k << " stride " << c.stride << "x"
                                    << (c.stride_w ? c.stride_w : c.stride));
    const Result r = RunCase(c, seed++, "avx512-bf16-dw");
    ASSERT_TRUE(r.supported);
    EXPECT_EQ(r.name, "avx512-bf16-dw");
    ExpectClose(c, r);
  }
  // Left to onednn-bf16: a residual addend, a grouped (not depthwise) step, a 3 x 3 filter.
  EXPECT_FALSE(RunCase(dw(1, 32, 24, 40, 3, 1, 1, 1, 1, "", true), 3, "avx512-bf16-dw").supported);
  Case add = dw(1, 32, 8, 8, 5, 1, 1, 1, 2, "", false);
  add.add = add.addend_nhwc = true;
  EXPECT_FALSE(RunCase(add, 1, "avx512-bf16-dw").supported);
  Case grouped{1, 32, 9, 9, 48, 3, 1, 1, 1, 4, "relu"};
  EXPECT_FALSE(RunCase(grouped, 2, "avx512-bf16-dw").supported);
}

// "amx-bf16-pw": 1 x 1 steps between channels-last bfloat16 tensors on
// AMX-BF16 tiles, to the same double reference: input channels below one
// tile row (16), with a tail past whole rows (31, 33, 100, 527) and whole
// (64, 240); output channels in one, two or three column tiles with tails
// (1, 17, 33, 40, 48, 200); pixel counts with a last block of 1-31 (batch 2
// too, and a single pixel); residual addends, every activation, PP-OCR's
// chain, no bias. Skipped without AMX-BF16: the kernel needs its tiles.
TEST(Conv2DAmxBFloat16Pointwise, MatchesTheDoubleReference) {
  if (!kernels::DetectedCpuFeatures().amx_bf16) GTEST_SKIP() << "no AMX-BF16";
  auto pw = [](int64_t batch, int64_t cin, int64_t h, int64_t w, int64_t cout, const char* activation, bool add = false,
               bool chain = false, bool bias = true) {
    Case d{batch, cin, h, w, cout, 1, 1, 1, 0, 1, activation, bias, add};
    d.in_nhwc = d.out_nhwc = d.addend_nhwc = true;
    d.chain = chain;
    return d;
  };
  const Case cases[] = {
      pw(1, 240, 12, 80, 240, "", false, true),      // PP-OCR rec's layer and chain: 30 whole blocks, whole chunks
      pw(1, 16, 9, 13, 96, "clip"),                  // K below one chunk; 117 pixels: a last block of 21
      pw(1, 31, 5, 7, 17, "hard_swish"),             // K and N tails, 35 pixels: a last block of 3
      pw(2, 64, 8, 8, 48, "relu", true),             // batch 2, an odd third column tile, residual add
      pw(1, 33, 1, 1, 33, "", false, false, false),  // one pixel, a K tail of 1, no bias
      pw(1, 100, 6, 11, 200, "leaky_relu", true),    // 66 pixels, the addend with a tail chunk
      pw(1, 16, 5, 7, 40, "relu", true),             // a residual over blocks of 2 x 2, 2 x 1, 1 x 2, 1 x 1 tiles
      pw(1, 527, 4, 4, 40, "relu6", false, true),    // 16 whole chunks and a tail of 15
      pw(1, 3, 3, 3, 1, ""),                         // one output channel
      pw(1, 256, 56, 56, 64, "relu"),                // ResNet-50's 256 -> 64 at 56 x 56
      pw(1, 2048, 7, 7, 512, "relu", true),          // its 2048 -> 512 at 7 x 7: column pairs outside, split
  };
  uint32_t seed = 900;
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "batch " << c.batch << " cin " << c.cin << " " << c.h << "x" << c.w << " cout "
                                    << c.cout);
    const Result r = RunCase(c, seed++, "amx-bf16-pw");
    ASSERT_TRUE(r.supported);
    EXPECT_EQ(r.name, "amx-bf16-pw");
    ExpectClose(c, r);
    for (float v : r.got) ASSERT_EQ(v, RoundToBFloat16(v));  // rounded once, stored as bfloat16
  }
  // Left to onednn-bf16: a 3 x 3 filter, stride 2, groups, padding, a FLOAT32 output.
  Case three = pw(1, 32, 8, 8, 32, "");
  three.k = 3;
  EXPECT_FALSE(RunCase(three, 1, "amx-bf16-pw").supported);
  Case strided = pw(1, 32, 8, 8, 32, "");
  strided.stride = 2;
  EXPECT_FALSE(RunCase(strided, 2, "amx-bf16-pw").supported);
  Case grouped = pw(1, 32, 8, 8, 32, "");
  grouped.group = 2;
  EXPECT_FALSE(RunCase(grouped, 3, "amx-bf16-pw").supported);
  Case padded = pw(1, 32, 8, 8, 32, "");
  padded.pad = 1;
  EXPECT_FALSE(RunCase(padded, 4, "amx-bf16-pw").supported);
  Case float_out = pw(1, 32, 8, 8, 32, "");
  float_out.float_output = true;
  EXPECT_FALSE(RunCase(float_out, 5, "amx-bf16-pw").supported);
}

// It takes a step only where the layout pass made its input, output and
// addend channels-last (KernelDef::keep_with_layouts): plain tensors are
// onednn-bf16's, which reorders them.
// "amx-bf16-conv" (cpu_amx_bf16_conv.cc): 3 x 3 (ResNet-50's), 5 x 5,
// stride 2, dilation 2, asymmetric padding (this harness pads the bottom
// one more), no padding, channel counts over several chunks of 32 and
// output tails, batch 2, residual adds, the PP-OCR chain.
TEST(Conv2DAmxBFloat16Spatial, MatchesTheDoubleReference) {
  if (!kernels::DetectedCpuFeatures().amx_bf16) GTEST_SKIP() << "no AMX-BF16";
  auto conv = [](int64_t batch, int64_t cin, int64_t h, int64_t w, int64_t cout, int64_t k, int64_t stride,
                 int64_t dilation, int64_t pad, const char* activation, bool add = false, bool chain = false,
                 bool bias = true) {
    Case d{batch, cin, h, w, cout, k, stride, dilation, pad, 1, activation, bias, add};
    d.in_nhwc = d.out_nhwc = d.addend_nhwc = true;
    d.chain = chain;
    return d;
  };
  // Layers whose filter outweighs their activations 4x (what it takes).
  const Case cases[] = {
      conv(1, 256, 6, 7, 64, 3, 1, 1, 1, "relu"),                  // 3 x 3, 42 pixels: 2 row blocks
      conv(2, 128, 5, 6, 48, 3, 1, 1, 1, "", true),                // batch 2, a single last column tile, residual
      conv(1, 96, 7, 5, 40, 3, 2, 1, 1, "hard_swish"),             // stride 2, output tail of 8
      conv(1, 64, 8, 8, 32, 5, 1, 1, 2, "clip"),                   // 5 x 5
      conv(1, 64, 8, 8, 64, 3, 1, 2, 2, "relu6"),                  // dilation 2
      conv(1, 64, 6, 5, 33, 3, 2, 1, 0, "", false, true),          // no padding, stride 2, 33 outputs, the chain
      conv(1, 512, 7, 7, 512, 3, 1, 1, 1, "relu"),                 // ResNet-50's 7 x 7 layer: column pairs outside
      conv(1, 256, 2, 40, 64, 3, 1, 1, 1, "leaky_relu", true),     // wide rows: runs split across blocks
      conv(1, 64, 5, 5, 64, 3, 1, 1, 1, "", false, false, false),  // no bias
  };
  uint32_t seed = 950;
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "batch " << c.batch << " cin " << c.cin << " " << c.h << "x" << c.w << " cout "
                                    << c.cout << " k" << c.k << " s" << c.stride << " d" << c.dilation);
    const Result r = RunCase(c, seed++, "amx-bf16-conv");
    ASSERT_TRUE(r.supported);
    EXPECT_EQ(r.name, "amx-bf16-conv");
    ExpectClose(c, r);
    for (float v : r.got) ASSERT_EQ(v, RoundToBFloat16(v));  // rounded once, stored as bfloat16
  }
  // Declined: a plane as large as the filter (ResNet-50's 64 at 56 x 56
  // shape, smaller), where oneDNN's kernel was faster.
  EXPECT_FALSE(RunCase(conv(1, 64, 14, 14, 64, 3, 1, 1, 1, "relu"), seed, "amx-bf16-conv").supported);
}

TEST(Conv2DAmxBFloat16Pointwise, KeepsOnlyChannelsLastSteps) {
  if (!kernels::DetectedCpuFeatures().amx_bf16) GTEST_SKIP() << "no AMX-BF16";
  ir::AttrMap attrs;
  attrs.Set("strides", std::vector<int64_t>{1, 1});
  attrs.Set("dilations", std::vector<int64_t>{1, 1});
  attrs.Set("pads", std::vector<int64_t>{0, 0, 0, 0});
  attrs.Set("group", int64_t{1});
  attrs.Set("padding_mode", std::string("EXPLICIT"));
  attrs.Set("input_layout", std::string("NCHW"));
  attrs.Set("output_layout", std::string("NCHW"));
  attrs.Set("filter_layout", std::string("OIHW"));
  std::vector<float> w(16 * 16, 0.5f);
  ValueInfo x{DataType::BFLOAT16, {1, 16, 4, 4}, nullptr, nullptr, true, MemoryLayout::kChannelsLast};
  ValueInfo a{DataType::BFLOAT16, {1, 16, 4, 4}, nullptr, nullptr, true, MemoryLayout::kChannelsLast};
  ValueInfo wi{DataType::FLOAT32, {16, 16, 1, 1}, w.data(), nullptr, false};
  std::vector<ValueInfo> outs = {
      {DataType::BFLOAT16, {1, 16, 4, 4}, nullptr, nullptr, true, MemoryLayout::kChannelsLast}};
  std::vector<const ValueInfo*> ins = {&x, &wi, nullptr, &a};
  std::vector<DataType> compute = {DataType::BFLOAT16, DataType::BFLOAT16, DataType::BFLOAT16, DataType::FLOAT32};
  PostOp add;
  add.kind = PostOp::Kind::kAdd;
  add.input = 3;
  std::vector<PostOp> post = {add};
  const KernelDef* def = FindKernel(OpKind::kConv2D, "amx-bf16-pw");
  ASSERT_NE(def, nullptr);
  ASSERT_NE(def->keep_with_layouts, nullptr);
  EXPECT_TRUE(def->keep_with_layouts(KernelInit(attrs, ins, outs, &compute, &post)));
  for (ValueInfo* v : {&x, &a, &outs[0]}) {
    v->layout = MemoryLayout::kPlain;
    EXPECT_TRUE(def->supports(KernelInit(attrs, ins, outs, &compute, &post)));
    EXPECT_FALSE(def->keep_with_layouts(KernelInit(attrs, ins, outs, &compute, &post)));
    v->layout = MemoryLayout::kChannelsLast;
  }
  w[37] = 0.1f;  // not a bfloat16 value
  EXPECT_FALSE(def->supports(KernelInit(attrs, ins, outs, &compute, &post)));
}

}  // namespace
}  // namespace mixq::ops
