// "onednn-int8" against the quantized reference, bit for bit: plain and
// channels-last activations (in, out, both), float / INT32 / no bias in each
// of its forms (as they are with a zero point 0; an INT32 bias with the zero
// point's term folded in where there is no padding; oneDNN's src zero point
// for padding, a float bias or sums too deep to fold; a zero point of -128
// read as u8 codes), zero points at the extremes, padding (oneDNN pads with code 0,
// not the zero point), strides, dilations, batch 2, odd channel counts, clamping activations, outputs that saturate;
// depthwise and grouped; and the cases it must decline.
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"

namespace mixq::ops {
namespace {

enum class Bias { kFloat, kInt32, kNone };

struct Case {
  int64_t batch, cin, h, w, cout, k, stride, dilation, pad;
  int32_t zero_point;
  Bias bias;
  const char* activation;  // "", "relu", "relu6", "clip"
  float out_scale;         // small: many outputs saturate
  bool in_channels_last, out_channels_last;
  int group = 1;
  int weight_max = 127;  // the weights' largest magnitude
  bool float_output = false;
  // An NHWC operator (input_layout / output_layout NHWC, the builder API's
  // form): plain tensors of [N, H, W, C] shape.
  bool nhwc_operator = false;
};

// [n][a][b] -> [n][b][a] of bytes.
std::vector<int8_t> Transpose(const std::vector<int8_t>& x, int64_t n, int64_t a, int64_t b) {
  std::vector<int8_t> y(x.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < a; ++p)
      for (int64_t q = 0; q < b; ++q)
        y[static_cast<size_t>((i * b + q) * a + p)] = x[static_cast<size_t>((i * a + p) * b + q)];
  return y;
}

// The step's output as NCHW codes; empty when `def` declines it. *name: the kernel's.
std::vector<int8_t> RunCase(const KernelDef& def, const Case& c, uint32_t seed, std::string* name) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> code(-128, 127), weight(-c.weight_max, c.weight_max);
  const ir::Shape x_shape = c.nhwc_operator ? ir::Shape{c.batch, c.h, c.w, c.cin} : ir::Shape{c.batch, c.cin, c.h, c.w};
  const ir::Shape w_shape{c.cout, c.cin / c.group, c.k, c.k};
  std::vector<int8_t> x(static_cast<size_t>(ir::ElementCount(x_shape))),
      w(static_cast<size_t>(ir::ElementCount(w_shape)));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<int8_t>(i % 19 == 0 ? (i % 2 ? 127 : -128) : code(rng));
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = static_cast<int8_t>(i % 11 == 0 ? (i % 2 ? c.weight_max : -c.weight_max) : weight(rng));
  std::vector<float> bias(static_cast<size_t>(c.cout));
  for (auto& b : bias) b = static_cast<float>(code(rng)) * 0.037f;
  std::vector<int32_t> int_bias(static_cast<size_t>(c.cout));
  for (auto& b : int_bias) b = code(rng) * 313;
  ir::QuantBinding xq, wq, yq;
  xq.symmetric = c.zero_point == 0;
  xq.scales = {0.021f};
  xq.zero_points = {c.zero_point};
  wq.axis = 0;
  for (int64_t o = 0; o < c.cout; ++o) {
    wq.scales.push_back(0.0011f * static_cast<float>(o % 7 + 1));
    wq.zero_points.push_back(0);
  }
  yq.symmetric = false;
  yq.scales = {c.out_scale};
  yq.zero_points = {-5};
  ir::AttrMap attrs;
  attrs.Set("strides", std::vector<int64_t>{c.stride, c.stride});
  attrs.Set("dilations", std::vector<int64_t>{c.dilation, c.dilation});
  attrs.Set("pads", std::vector<int64_t>{c.pad, c.pad + (c.pad ? 1 : 0), c.pad, c.pad});
  attrs.Set("group", static_cast<int64_t>(c.group));
  attrs.Set("padding_mode", std::string("EXPLICIT"));
  attrs.Set("input_layout", std::string(c.nhwc_operator ? "NHWC" : "NCHW"));
  attrs.Set("output_layout", std::string(c.nhwc_operator ? "NHWC" : "NCHW"));
  attrs.Set("filter_layout", std::string("OIHW"));
  const MemoryLayout in_layout = c.in_channels_last ? MemoryLayout::kChannelsLast : MemoryLayout::kPlain;
  const MemoryLayout out_layout = c.out_channels_last ? MemoryLayout::kChannelsLast : MemoryLayout::kPlain;
  ValueInfo xi{DataType::INT8, x_shape, nullptr, &xq, true, in_layout};
  ValueInfo wi{DataType::INT8, w_shape, w.data(), &wq, false};
  ValueInfo bi = c.bias == Bias::kInt32 ? ValueInfo{DataType::INT32, {c.cout}, int_bias.data(), nullptr, false}
                                        : ValueInfo{DataType::FLOAT32, {c.cout}, bias.data(), nullptr, false};
  const int64_t span = c.dilation * (c.k - 1) + 1;
  const int64_t oh = (c.h + 2 * c.pad + (c.pad ? 1 : 0) - span) / c.stride + 1,
                ow = (c.w + 2 * c.pad - span) / c.stride + 1;
  const ir::Shape y_shape = c.nhwc_operator ? ir::Shape{c.batch, oh, ow, c.cout} : ir::Shape{c.batch, c.cout, oh, ow};
  std::vector<ValueInfo> outs = {c.float_output ? ValueInfo{DataType::FLOAT32, y_shape, nullptr, nullptr, false}
                                                : ValueInfo{DataType::INT8, y_shape, nullptr, &yq, true, out_layout}};
  std::vector<const ValueInfo*> ins = {&xi, &wi, c.bias == Bias::kNone ? nullptr : &bi};
  std::vector<DataType> compute = {DataType::QINT8, DataType::QINT8,
                                   c.bias == Bias::kInt32 ? DataType::INT32 : DataType::FLOAT32};
  std::vector<PostOp> post;
  const std::string act = c.activation;
  if (!act.empty()) {
    PostOp op;
    op.activation = act;
    op.lo = act == "clip" ? -0.3f : 0.0f;
    op.hi = act == "relu" ? std::numeric_limits<float>::infinity() : act == "relu6" ? 6.0f : 0.45f;
    post.push_back(op);
  }
  KernelInit init(attrs, ins, outs, &compute, &post);
  if (!def.supports(init)) return {};
  std::unique_ptr<Kernel> kernel;
  const Status made = def.make(init, &kernel);
  EXPECT_TRUE(made.ok()) << made.ToString();
  if (!made.ok()) return {};
  *name = kernel->Name();
  const int64_t in_plane = c.h * c.w, out_plane = oh * ow;
  // x holds NCHW codes (for every form: the same values as the reference's case).
  std::vector<int8_t> x_run = c.in_channels_last || c.nhwc_operator ? Transpose(x, c.batch, c.cin, in_plane) : x;
  std::vector<int8_t> y(static_cast<size_t>(ir::ElementCount(y_shape)));
  RunQuant xr{0.021f, c.zero_point}, yr{c.out_scale, -5};
  TensorView xv{DataType::INT8, x_shape, x_run.data(), &xr};
  TensorView wv{DataType::INT8, w_shape, w.data(), nullptr};
  TensorView bv = c.bias == Bias::kInt32  ? TensorView{DataType::INT32, {c.cout}, int_bias.data(), nullptr}
                  : c.bias == Bias::kNone ? TensorView{}
                                          : TensorView{DataType::FLOAT32, {c.cout}, bias.data(), nullptr};
  TensorView yv{DataType::INT8, y_shape, y.data(), &yr};
  for (int run = 0; run < 2; ++run) EXPECT_TRUE(kernel->Run({xv, wv, bv}, {yv}).ok());
  return c.out_channels_last || c.nhwc_operator ? Transpose(y, c.batch, out_plane, c.cout) : y;
}

bool HasExactOneDnnInt8() {
  return kernels::BestIsa() >= kernels::Isa::kAvx512Vnni;
}

TEST(Conv2DOneDnnInt8, BitExactWithTheQuantizedReference) {
  if (!HasExactOneDnnInt8()) GTEST_SKIP() << "no AVX-512 VNNI: oneDNN's int8 kernels could saturate";
  const Case cases[] = {
      // batch, cin, h, w, cout, k, stride, dilation, pad, zp, bias, activation, out scale, in NHWC, out NHWC
      {1, 64, 14, 14, 64, 3, 1, 1, 1, -3, Bias::kFloat, "", 0.05f, true, true},       // the zero point at the borders
      {2, 17, 9, 11, 33, 3, 2, 1, 1, 127, Bias::kInt32, "relu", 0.05f, false, true},  // padded INT32: src zero point
      {1, 40, 7, 9, 24, 1, 1, 1, 0, -128, Bias::kInt32, "", 0.03f, true, false},      // unpadded INT32: folded
      {1, 3, 23, 21, 16, 7, 2, 1, 3, 5, Bias::kFloat, "relu6", 0.02f, false, false},  // ResNet's stem shape, plain
      {1, 96, 8, 8, 48, 3, 1, 2, 2, 0, Bias::kNone, "clip", 0.004f, true, true},      // dilated, clip
      {2, 32, 6, 5, 20, 1, 2, 1, 0, 60, Bias::kNone, "", 0.001f, false, false},       // strided 1x1, most saturate
      {1, 130, 5, 6, 65, 3, 1, 1, 1, -77, Bias::kFloat, "relu", 0.05f, true, true},   // channel tails past 128 / 64
      {1, 24, 12, 12, 24, 5, 1, 1, 2, 0, Bias::kInt32, "", 0.05f, true, true},        // symmetric: the bias as it is
      {1, 20, 6, 7, 12, 1, 1, 1, 0, -9, Bias::kFloat, "clip", 0.05f, false,
       true},  // unpadded, float bias: src zero point
      {1, 600, 5, 5, 8, 3, 1, 1, 1, 50, Bias::kFloat, "relu", 0.05f, true, true},  // deep, float bias: src zero point
      // Zero point -128 (a uint8 tensor's 0), padded or with a float bias:
      // read as u8 codes from a shifted copy, oneDNN's padding code 0 the real 0.
      {1, 64, 14, 14, 64, 3, 1, 1, 1, -128, Bias::kFloat, "relu", 0.05f, true, true},
      {2, 17, 9, 11, 33, 3, 2, 1, 1, -128, Bias::kInt32, "", 0.05f, false, true},  // plain input: reordered, shifted
      {1, 130, 5, 6, 65, 3, 1, 2, 2, -128, Bias::kFloat, "clip", 0.02f, true, false},    // dilated, channel tails
      {1, 20, 6, 7, 12, 1, 1, 1, 0, -128, Bias::kFloat, "", 0.05f, true, true},          // unpadded, float bias
      {1, 48, 9, 9, 48, 3, 2, 1, 1, -128, Bias::kFloat, "relu", 0.05f, true, true, 48},  // depthwise: src zero point
      {1, 48, 9, 9, 24, 3, 1, 1, 1, 7, Bias::kInt32, "", 0.05f, true, true, 3},          // grouped
  };
  const KernelDef* fast = FindKernel(OpKind::kConv2D, "onednn-int8");
  ASSERT_NE(fast, nullptr);
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kConv2D);
  for (size_t i = 0; i < std::size(cases); ++i) {
    std::string fast_name, ref_name;
    Case plain = cases[i];
    plain.in_channels_last = plain.out_channels_last = false;
    const auto want = RunCase(ref, plain, static_cast<uint32_t>(i), &ref_name);
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(ref_name, "reference-quantized");
    const auto got = RunCase(*fast, cases[i], static_cast<uint32_t>(i), &fast_name);
    ASSERT_FALSE(got.empty()) << "case " << i << " declined";
    EXPECT_EQ(fast_name, "onednn-int8");
    int saturated = 0;
    for (int8_t v : want) saturated += v == 127 || v == -128;
    EXPECT_EQ(got, want) << "case " << i << " (" << saturated << " saturated outputs)";
    if (i == 5) {
      EXPECT_GT(saturated, static_cast<int>(want.size() / 10)) << "case " << i;
    }
  }
}

// The builder API's NHWC operators read and write their plain tensors as
// oneDNN's nhwc, with no copy (the bundled demo's convolutions: 3 to 16
// channels, batch 4).
TEST(Conv2DOneDnnInt8, NhwcOperatorsBitExact) {
  if (!HasExactOneDnnInt8()) GTEST_SKIP() << "no AVX-512 VNNI: oneDNN's int8 kernels could saturate";
  const Case cases[] = {
      {4, 3, 16, 16, 8, 3, 1, 1, 1, 0, Bias::kFloat, "relu", 0.05f, false, false},     // the demo's stem, symmetric
      {4, 8, 16, 16, 16, 3, 2, 1, 1, 0, Bias::kFloat, "", 0.05f, false, false},        // strided
      {4, 8, 16, 16, 16, 1, 2, 1, 0, 0, Bias::kNone, "", 0.02f, false, false},         // 1x1 strided shortcut
      {2, 17, 9, 11, 33, 3, 2, 1, 1, 127, Bias::kInt32, "relu", 0.05f, false, false},  // zero point, padded INT32
      {1, 40, 7, 9, 24, 1, 1, 1, 0, -128, Bias::kInt32, "clip", 0.03f, false, false},  // folded zero point
      {1, 20, 6, 7, 12, 3, 1, 2, 2, -9, Bias::kFloat, "relu6", 0.05f, false, false},   // dilated, src zero point
      {1, 16, 9, 9, 24, 3, 1, 1, 1, -128, Bias::kFloat, "relu", 0.05f, false, false},  // u8 codes, padded
  };
  const KernelDef* fast = FindKernel(OpKind::kConv2D, "onednn-int8");
  ASSERT_NE(fast, nullptr);
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kConv2D);
  for (size_t i = 0; i < std::size(cases); ++i) {
    std::string fast_name, ref_name;
    const auto want = RunCase(ref, cases[i], static_cast<uint32_t>(i), &ref_name);
    ASSERT_FALSE(want.empty());
    Case nhwc = cases[i];
    nhwc.nhwc_operator = true;
    const auto got = RunCase(*fast, nhwc, static_cast<uint32_t>(i), &fast_name);
    ASSERT_FALSE(got.empty()) << "case " << i << " declined";
    EXPECT_EQ(fast_name, "onednn-int8");
    EXPECT_EQ(got, want) << "case " << i;
  }
}

TEST(Conv2DOneDnnInt8, DeclinesWhatItCannotComputeExactly) {
  if (!HasExactOneDnnInt8()) GTEST_SKIP() << "no AVX-512 VNNI";
  const KernelDef* fast = FindKernel(OpKind::kConv2D, "onednn-int8");
  ASSERT_NE(fast, nullptr);
  std::string name;
  // A float output: not this kernel's.
  Case float_out{1, 8, 6, 6, 8, 3, 1, 1, 1, 0, Bias::kFloat, "", 0.05f, false, false};
  float_out.float_output = true;
  EXPECT_TRUE(RunCase(*fast, float_out, 1, &name).empty());
  // An INT32 bias whose sums could pass 2^24 (3 x 3 x 1200 taps of +-127): float32 would round them.
  Case deep{1, 1200, 3, 3, 4, 3, 1, 1, 1, 0, Bias::kInt32, "", 0.05f, false, false};
  EXPECT_TRUE(RunCase(*fast, deep, 2, &name).empty());
  // The same with small weights fits, and so does a float bias at any depth.
  deep.weight_max = 10;
  EXPECT_FALSE(RunCase(*fast, deep, 2, &name).empty());
  deep.weight_max = 127;
  deep.bias = Bias::kFloat;
  EXPECT_FALSE(RunCase(*fast, deep, 2, &name).empty());
}

// "amx-int8-pw" (AMX-INT8 tiles, 1 x 1 steps between channels-last int8
// tensors, cpu_amx_int8_pw.cc) against the quantized reference, bit for
// bit: input channels below one tile row (16, 40), with tails past whole
// rows (65, 130, 600) and whole (64, 128); output channels in one, two and
// three column tiles with tails (17, 20, 24, 33, 48, 96); pixel counts with a
// last block of 1-31 and whole blocks (batch 2 too); zero points at both
// extremes and between; INT32, float and no bias; every bounded
// activation; outputs that saturate; products with more weights than
// activations (the column-pair order) and fewer, split over threads; and
// the steps it leaves to onednn-int8. Skipped without AMX-INT8.
TEST(Conv2DAmxInt8Pointwise, BitExactWithTheQuantizedReference) {
  if (!kernels::DetectedCpuFeatures().amx_int8) GTEST_SKIP() << "no AMX-INT8";
  const Case cases[] = {
      // batch, cin, h, w, cout, k, stride, dilation, pad, zp, bias, activation, out scale, in NHWC, out NHWC
      {1, 96, 14, 14, 576, 1, 1, 1, 0, -128, Bias::kInt32, "relu6", 0.05f, true, true},  // MobileNetV2's 14 x 14
      {1, 16, 23, 29, 96, 1, 1, 1, 0, 5, Bias::kFloat, "relu", 0.05f, true, true},       // K below a row, 667 pixels
      {2, 65, 7, 9, 33, 1, 1, 1, 0, 127, Bias::kInt32, "clip", 0.03f, true, true},       // K tail of 1, batch 2
      {1, 600, 5, 5, 17, 1, 1, 1, 0, -77, Bias::kFloat, "", 0.05f, true, true},          // deep, more weights
      {1, 40, 11, 11, 17, 1, 1, 1, 0, 0, Bias::kNone, "", 0.001f, true, true},           // zp 0, most saturate
      {1, 128, 8, 8, 48, 1, 1, 1, 0, -3, Bias::kNone, "relu", 0.004f, true, true},       // whole chunks, 3 tiles
      {1, 40, 6, 8, 48, 1, 1, 1, 0, 9, Bias::kInt32, "", 0.02f, true, true},  // blocks of 2x2, 2x1, 1x2, 1x1 tiles
      {1, 130, 1, 1, 20, 1, 1, 1, 0, 60, Bias::kInt32, "relu6", 0.05f, true, true},  // one pixel
      {1, 64, 56, 56, 24, 1, 1, 1, 0, -128, Bias::kInt32, "", 0.05f, true, true},    // split over threads
  };
  const KernelDef* fast = FindKernel(OpKind::kConv2D, "amx-int8-pw");
  ASSERT_NE(fast, nullptr);
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kConv2D);
  for (size_t i = 0; i < std::size(cases); ++i) {
    std::string fast_name, ref_name;
    Case plain = cases[i];
    plain.in_channels_last = plain.out_channels_last = false;
    const auto want = RunCase(ref, plain, static_cast<uint32_t>(i + 40), &ref_name);
    ASSERT_FALSE(want.empty());
    const auto got = RunCase(*fast, cases[i], static_cast<uint32_t>(i + 40), &fast_name);
    ASSERT_FALSE(got.empty()) << "case " << i << " declined";
    EXPECT_EQ(fast_name, "amx-int8-pw");
    int saturated = 0;
    for (int8_t v : want) saturated += v == 127 || v == -128;
    EXPECT_EQ(got, want) << "case " << i << " (" << saturated << " saturated outputs)";
    if (i == 4) {
      EXPECT_GT(saturated, static_cast<int>(want.size() / 10)) << "case " << i;
    }
  }
  // Left to onednn-int8: a 3 x 3 filter, stride 2, padding, groups, a float
  // output, 16 output channels or fewer, 4x the input channels out of a zero
  // point 0 (onednn-int8's plain kernel).
  std::string name;
  EXPECT_TRUE(
      RunCase(*fast, Case{1, 16, 8, 8, 64, 1, 1, 1, 0, 0, Bias::kFloat, "", 0.05f, true, true}, 7, &name).empty());
  EXPECT_FALSE(
      RunCase(*fast, Case{1, 16, 8, 8, 64, 1, 1, 1, 0, 1, Bias::kFloat, "", 0.05f, true, true}, 7, &name).empty());
  EXPECT_TRUE(
      RunCase(*fast, Case{1, 32, 8, 8, 16, 1, 1, 1, 0, 0, Bias::kFloat, "", 0.05f, true, true}, 6, &name).empty());
  EXPECT_TRUE(
      RunCase(*fast, Case{1, 32, 8, 8, 32, 3, 1, 1, 1, 0, Bias::kFloat, "", 0.05f, true, true}, 1, &name).empty());
  EXPECT_TRUE(
      RunCase(*fast, Case{1, 32, 8, 8, 32, 1, 2, 1, 0, 0, Bias::kFloat, "", 0.05f, true, true}, 2, &name).empty());
  EXPECT_TRUE(
      RunCase(*fast, Case{1, 32, 8, 8, 32, 1, 1, 1, 1, 0, Bias::kFloat, "", 0.05f, true, true}, 3, &name).empty());
  EXPECT_TRUE(
      RunCase(*fast, Case{1, 32, 8, 8, 32, 1, 1, 1, 0, 0, Bias::kFloat, "", 0.05f, true, true, 2}, 4, &name).empty());
  Case float_out{1, 32, 8, 8, 32, 1, 1, 1, 0, 0, Bias::kFloat, "", 0.05f, true, true};
  float_out.float_output = true;
  EXPECT_TRUE(RunCase(*fast, float_out, 5, &name).empty());
}

}  // namespace
}  // namespace mixq::ops
