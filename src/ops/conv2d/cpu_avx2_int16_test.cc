// The exact int16 Conv2D kernels (the fused "avx2-int16", its AMX form
// "amx-int16", the depthwise "avx2-int16-dw" and the staged
// "avx2-int16-staged", the qint16 modes)
// against the
// quantized reference, bit for bit: depths past one 256-deep chunk of the
// split GEMM (int64 sums), odd sizes, groups and depthwise, strides, padding,
// both layouts, full-range operands with both extremes, INT16 / FLOAT32 /
// FLOAT16 outputs, a relu post-op.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "kernels/cpu_features.h"
#include "quant/quant_math.h"
#include "test_util/int16_kernel_check.h"

namespace mixq::ops {
namespace {

struct ConvCase {
  int64_t batch, cin, h, w, cout, k, group, stride, pad;
  bool nchw;
  DataType output;
  bool relu;
};

test_util::Int16KernelCase Make(const ConvCase& c) {
  test_util::Int16KernelCase t;
  t.attrs.Set("strides", std::vector<int64_t>{c.stride, c.stride});
  t.attrs.Set("dilations", std::vector<int64_t>{1, 1});
  t.attrs.Set("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad});
  t.attrs.Set("group", c.group);
  t.attrs.Set("padding_mode", std::string("EXPLICIT"));
  t.attrs.Set("input_layout", std::string(c.nchw ? "NCHW" : "NHWC"));
  t.attrs.Set("output_layout", std::string(c.nchw ? "NCHW" : "NHWC"));
  t.attrs.Set("filter_layout", std::string(c.nchw ? "OIHW" : "OHWI"));
  const int64_t oh = (c.h + 2 * c.pad - c.k) / c.stride + 1, ow = (c.w + 2 * c.pad - c.k) / c.stride + 1;
  t.a = c.nchw ? ir::Shape{c.batch, c.cin, c.h, c.w} : ir::Shape{c.batch, c.h, c.w, c.cin};
  t.b = c.nchw ? ir::Shape{c.cout, c.cin / c.group, c.k, c.k} : ir::Shape{c.cout, c.k, c.k, c.cin / c.group};
  t.y = c.nchw ? ir::Shape{c.batch, c.cout, oh, ow} : ir::Shape{c.batch, oh, ow, c.cout};
  t.bias_size = c.cout;
  t.output = c.output;
  if (c.relu) {
    PostOp relu;
    relu.activation = "relu";
    relu.lo = 0.0f;
    relu.hi = std::numeric_limits<float>::infinity();
    t.post_ops.push_back(relu);
  }
  return t;
}

// Whether this CPU runs the kernel `name` (its name says its ISA).
bool RunsHere(const std::string& name) {
  if (name.starts_with("avx512vnni")) return kernels::BestIsa() >= kernels::Isa::kAvx512Vnni;
  if (name.starts_with("avx512-")) return kernels::BestIsa() >= kernels::Isa::kAvx512;
  if (name.starts_with("amx")) return kernels::BestIsa() >= kernels::Isa::kAmx;
  return true;
}

TEST(Conv2DAvx2Int16, BitExactWithTheQuantizedReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const ConvCase cases[] = {
      {1, 64, 7, 9, 19, 3, 1, 1, 1, true, DataType::INT16, false},     // depth 576: three chunks
      {2, 3, 11, 10, 8, 3, 1, 2, 1, true, DataType::FLOAT32, true},    // odd depth 27, strided, relu
      {1, 40, 6, 5, 21, 1, 1, 1, 0, false, DataType::FLOAT16, false},  // NHWC 1x1
      {1, 12, 8, 8, 12, 3, 12, 1, 1, true, DataType::INT16, true},     // depthwise (int64 sums)
      {1, 16, 5, 7, 10, 3, 2, 1, 1, false, DataType::FLOAT32, false},  // grouped NHWC
      {1, 300, 3, 3, 5, 3, 1, 1, 0, true, DataType::INT16, false},     // depth 2700, one output pixel
      {2, 8, 9, 21, 8, 5, 8, 2, 2, true, DataType::FLOAT16, true},     // depthwise 5x5, stride 2, 16-column tail
      // Depthwise rows for avx512vnni-int16-dw's 32-column steps: 80 wide (5x5), 65 wide (a 1-column tail step).
      {1, 6, 5, 80, 6, 5, 6, 1, 2, true, DataType::INT16, false},
      {2, 3, 4, 65, 3, 3, 3, 1, 1, true, DataType::FLOAT32, true},
      // NCHW 1x1 (B read straight from the image): a 14-column tail panel; odd depth, pixel blocks, batch 2.
      {1, 40, 6, 5, 21, 1, 1, 1, 0, true, DataType::INT16, false},
      {2, 17, 9, 13, 10, 1, 1, 1, 0, true, DataType::FLOAT32, true},
      // Depthwise 3x3 stride 2 over 50 columns: three whole 16-column even / odd splits and a tail.
      {1, 4, 6, 50, 4, 3, 4, 2, 1, true, DataType::INT16, false},
      // NCHW 1x1 to INT16 (on AVX-512 VNNI requantized from the registers): depth 300 (two K chunks, the
      // first's sums kept in int64), 19 channels (five padding rows dropped), 35 pixels (a 3-column tail);
      // depth 260 with a relu's clamp, 36 pixels.
      {1, 300, 5, 7, 19, 1, 1, 1, 0, true, DataType::INT16, false},
      {1, 260, 4, 9, 13, 1, 1, 1, 0, true, DataType::INT16, true},
      // Float outputs: depth 360 over two K chunks, 11 channels (padding rows), a relu, padded 3x3 (virtual
      // columns); a 1x1 of depth 300 to FLOAT16.
      {1, 40, 6, 7, 11, 3, 1, 1, 1, true, DataType::FLOAT32, true},
      {1, 300, 3, 5, 7, 1, 1, 1, 0, true, DataType::FLOAT16, false},
      // amx-int16 also takes the cases above of depth >= 33 and >= 16 output channels per group (19 and 21:
      // last blocks of 3 and 5 rows); its own: padded 3x3 with 37 channels (a last
      // block of 5 rows), strided over a batch of 2, a 1x1 to INT16 (requantized from the tiles: depth 34,
      // an odd pair count, 33 channels, a 10-column tail panel), grouped NHWC, a 1x1 to FLOAT32.
      {1, 70, 9, 11, 37, 3, 1, 1, 1, true, DataType::INT16, true},
      {2, 48, 10, 13, 40, 3, 1, 2, 1, true, DataType::FLOAT32, false},
      {1, 34, 6, 7, 33, 1, 1, 1, 0, true, DataType::INT16, false},
      {1, 64, 5, 6, 64, 3, 2, 1, 1, false, DataType::FLOAT16, true},
      {1, 35, 7, 9, 48, 1, 1, 1, 0, true, DataType::FLOAT32, true},
      // MobileNetV2-like depthwise layers: 20 channels at 14 x 14 stride 2 to INT16, 17 channels at 7 x 7
      // to FLOAT32 with a relu, batch 2.
      {1, 20, 14, 14, 20, 3, 20, 2, 1, true, DataType::INT16, false},
      {2, 17, 7, 7, 17, 3, 17, 1, 1, true, DataType::FLOAT32, true},
      // avx512-int16-dw's flat planes: stride 2 over an odd width (phase planes of 8 and 7 columns), 5 x 5
      // stride 1 to INT16 with a relu, 64 channels at 28 x 28 (over two threads, each widening its next
      // plane ahead), unpadded 3 x 3 (a phase wider than the output: declined), an 80 x 80 plane (50 KiB of
      // doubles, under the 64 KiB limit), a 112 x 112 one (past it: declined).
      {1, 6, 15, 15, 6, 3, 6, 2, 1, true, DataType::INT16, false},
      {1, 5, 7, 12, 5, 5, 5, 1, 2, true, DataType::INT16, true},
      {1, 64, 28, 28, 64, 3, 64, 1, 1, true, DataType::INT16, false},
      {1, 4, 9, 10, 4, 3, 4, 1, 0, true, DataType::INT16, false},
      {1, 2, 80, 80, 2, 3, 2, 1, 1, true, DataType::FLOAT32, false},
      {1, 2, 112, 112, 2, 3, 2, 1, 1, true, DataType::INT16, false},
      // Stem-like 3 x 3 stride 2 layers over wide rows (the column phases widened 16 at a time): odd width 75
      // padded (phases from columns 1 and 0, 38 and 37 wide), width 70 unpadded (phases from 0 and 1).
      {1, 3, 7, 75, 16, 3, 1, 2, 1, true, DataType::INT16, false},
      {1, 3, 6, 70, 8, 3, 1, 2, 0, true, DataType::FLOAT32, true},
  };
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kConv2D);
  // The depthwise kernels take the NCHW depthwise cases (the AVX-512 one narrower rows in 16-column steps); the
  // others every case.
  for (const auto& [name, expected] : {std::pair{"avx2-int16", 31},
                                       {"avx2-int16-staged", 31},
                                       {"avx2-int16-dw", 13},
                                       {"avx512vnni-int16-dw", 13},
                                       {"avx512-int16-dw", 11},
                                       {"amx-int16", 9}}) {
    if (!RunsHere(name)) continue;
    const KernelDef* fast = FindKernel(OpKind::kConv2D, name);
    ASSERT_NE(fast, nullptr) << name;
    int ran = 0;
    for (size_t i = 0; i < std::size(cases); ++i) {
      std::string fast_name, ref_name;
      const auto t = Make(cases[i]);
      const auto got = test_util::RunInt16Kernel(*fast, t, static_cast<uint32_t>(i), &fast_name);
      if (got.empty()) continue;
      ++ran;
      const auto want = test_util::RunInt16Kernel(ref, t, static_cast<uint32_t>(i), &ref_name);
      EXPECT_EQ(fast_name, name);
      EXPECT_EQ(ref_name, "reference-quantized");
      EXPECT_EQ(got, want) << name << " case " << i;
    }
    EXPECT_EQ(ran, expected) << name;
  }
}

// Small codes (|code| <= 181: byte sums far from the int32 bounds, as in
// real layers, where the full-range cases above sit near them) and INT32
// biases (a QDQ model's, joined to the integer sums), through the 1 x 1
// kernel's stage from the registers and the 16-column depthwise steps.
TEST(Conv2DAvx2Int16, SmallCodesBitExactWithTheQuantizedReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const ConvCase cases[] = {
      {1, 16, 9, 13, 40, 1, 1, 1, 0, true, DataType::INT16, false},    // depth 16 to INT16 (from the registers)
      {1, 300, 5, 7, 19, 1, 1, 1, 0, true, DataType::INT16, true},     // two K chunks, a relu's clamp
      {2, 20, 14, 14, 20, 3, 20, 2, 1, true, DataType::INT16, false},  // depthwise, 7-wide rows
  };
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kConv2D);
  for (const auto& [name, expected] : {std::pair{"avx2-int16", 3}, {"avx512vnni-int16-dw", 1}, {"avx2-int16-dw", 1}}) {
    if (!RunsHere(name)) continue;
    const KernelDef* fast = FindKernel(OpKind::kConv2D, name);
    ASSERT_NE(fast, nullptr) << name;
    int ran = 0;
    for (size_t i = 0; i < std::size(cases); ++i) {
      auto t = Make(cases[i]);
      t.code_limit = 181;
      t.int32_bias = i % 2 == 0;
      std::string fast_name, ref_name;
      const auto got = test_util::RunInt16Kernel(*fast, t, static_cast<uint32_t>(70 + i), &fast_name);
      if (got.empty()) continue;
      ++ran;
      EXPECT_EQ(got, test_util::RunInt16Kernel(ref, t, static_cast<uint32_t>(70 + i), &ref_name))
          << name << " case " << i;
    }
    EXPECT_EQ(ran, expected) << name;
  }
}

// Dilated depthwise layers (the flat planes' tap offsets and column masks
// scale with the dilation): 3 x 3 dilation 2 "same" at stride 1 and 2, 5 x 5
// dilation 2, each kernel that takes them against the reference.
TEST(Conv2DAvx2Int16, DilatedDepthwiseBitExactWithTheQuantizedReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  struct Dilated {
    int64_t h, w, k, stride, dilation, pad;
    DataType output;
  };
  const Dilated cases[] = {{13, 17, 3, 1, 2, 2, DataType::INT16},
                           {14, 15, 3, 2, 2, 2, DataType::FLOAT32},
                           {12, 20, 5, 1, 2, 4, DataType::INT16}};
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kConv2D);
  for (const auto& [name, expected] : {std::pair{"avx512-int16-dw", 3}, {"avx2-int16-dw", 3}}) {
    if (!RunsHere(name)) continue;
    const KernelDef* fast = FindKernel(OpKind::kConv2D, name);
    ASSERT_NE(fast, nullptr) << name;
    int ran = 0;
    for (size_t i = 0; i < std::size(cases); ++i) {
      const Dilated& d = cases[i];
      ConvCase c{1, 6, d.h, d.w, 6, d.k, 6, d.stride, d.pad, true, d.output, false};
      auto t = Make(c);
      t.attrs.Set("dilations", std::vector<int64_t>{d.dilation, d.dilation});
      const int64_t span = d.dilation * (d.k - 1) + 1;
      t.y = {1, 6, (d.h + 2 * d.pad - span) / d.stride + 1, (d.w + 2 * d.pad - span) / d.stride + 1};
      std::string fast_name, ref_name;
      const auto got = test_util::RunInt16Kernel(*fast, t, static_cast<uint32_t>(80 + i), &fast_name);
      if (got.empty()) continue;
      ++ran;
      EXPECT_EQ(got, test_util::RunInt16Kernel(ref, t, static_cast<uint32_t>(80 + i), &ref_name))
          << name << " case " << i;
    }
    EXPECT_EQ(ran, expected) << name;
  }
}

// hard_swish as the reference's activation computes it (in double, rounded once).
float ReferenceHardSwish(float x) {
  const double v = x, t = v / 6.0 + 0.5;
  return static_cast<float>(v * (t < 0 ? 0.0 : t > 1 ? 1.0 : t));
}

// Layers with a float chain after them (hard_swish, then a fused Quantize
// to INT16, or a FLOAT32 output), as PP-OCRv4 rec's qint16 layers:
// avx512-int16-dw and amx-int16 hand their sums to the stage as doubles
// (Int8ConvOutputStage::RowOfSums), whose last n % 16 outputs go through
// the AVX2 form. The oracle is the chain's steps one by one: the
// reference's FLOAT32 output, the reference hard_swish, SPEC §1's Quantize.
// Depthwise runs of 63 and 240, 3 x 3 and 5 x 5, stride 2 over a batch of
// 2, a relu before the hard_swish; a 1 x 1 (depth 40, 20 channels) and a
// 3 x 3 of depth 576 (three K chunks) and a 1 x 1 of depth 16448 (two of
// amx-int16's passes) for the GEMM kernels.
TEST(Conv2DAvx2Int16, FloatChainsBitExactWithTheStepsOneByOne) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const ConvCase cases[] = {
      {1, 5, 7, 9, 5, 3, 5, 1, 1, true, DataType::INT16, false},     // run 63: three steps and a 15-output tail
      {1, 4, 12, 20, 4, 5, 4, 1, 2, true, DataType::INT16, false},   // run 240, 5 x 5
      {2, 3, 14, 14, 3, 3, 3, 2, 1, true, DataType::INT16, false},   // stride 2, run 49, batch 2
      {1, 6, 12, 20, 6, 5, 6, 1, 2, true, DataType::FLOAT32, true},  // a relu, then hard_swish, to FLOAT32
      {1, 40, 9, 13, 20, 1, 1, 1, 0, true, DataType::INT16, false},  // 1 x 1: a 13-column tail panel
      {1, 64, 6, 7, 37, 3, 1, 1, 1, true, DataType::FLOAT32, true},  // 3 x 3, depth 576
      // Depth 16448: past amx-int16's pass of 16384 taps, its sums added to the first pass's.
      {1, 16448, 2, 3, 17, 1, 1, 1, 0, true, DataType::FLOAT32, false},
  };
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kConv2D);
  const float out_scale = 3e-3f;
  const int32_t out_zero_point = -11;
  for (const auto& [name, expected] : {std::pair{"avx512-int16-dw", 4},
                                       {"avx512vnni-int16-dw", 4},
                                       {"avx2-int16-dw", 4},
                                       {"amx-int16", 3},
                                       {"avx2-int16", 7}}) {
    if (!RunsHere(name)) continue;
    const KernelDef* fast = FindKernel(OpKind::kConv2D, name);
    ASSERT_NE(fast, nullptr) << name;
    int ran = 0;
    for (size_t i = 0; i < std::size(cases); ++i) {
      const ConvCase& c = cases[i];
      auto t = Make(c);
      PostOp hard_swish;
      hard_swish.activation = "hard_swish";
      t.post_ops.push_back(hard_swish);
      if (c.output == DataType::INT16) {
        PostOp quantize;
        quantize.kind = PostOp::Kind::kQuantize;
        quantize.scale = out_scale;
        quantize.zero_point = out_zero_point;
        quantize.bits = 16;
        t.post_ops.push_back(quantize);
      }
      // Outputs spread over the hard_swish's bend (small codes), or full-range codes.
      const int limit = i % 2 ? 0 : 2000;
      t.code_limit = limit;
      const uint32_t seed = static_cast<uint32_t>(90 + i);
      std::string fast_name, ref_name;
      const auto got = test_util::RunInt16Kernel(*fast, t, seed, &fast_name);
      if (got.empty()) continue;
      ++ran;
      EXPECT_EQ(fast_name, name);
      ConvCase plain = c;
      plain.output = DataType::FLOAT32;
      plain.relu = false;
      auto tp = Make(plain);
      tp.code_limit = limit;
      const auto float_bytes = test_util::RunInt16Kernel(ref, tp, seed, &ref_name);
      ASSERT_FALSE(float_bytes.empty());
      const size_t n = float_bytes.size() / sizeof(float);
      std::vector<float> y(n);
      std::memcpy(y.data(), float_bytes.data(), float_bytes.size());
      size_t mismatches = 0;
      for (size_t e = 0; e < n; ++e) {
        float v = c.relu ? std::max(y[e], 0.0f) : y[e];
        v = ReferenceHardSwish(v);
        if (c.output == DataType::INT16) {
          int16_t q;
          std::memcpy(&q, got.data() + 2 * e, 2);
          mismatches += q != quant::Quantize(v, out_scale, out_zero_point, 16);
        } else {
          float f;
          std::memcpy(&f, got.data() + 4 * e, 4);
          mismatches += std::memcmp(&f, &v, 4) != 0;
        }
      }
      EXPECT_EQ(mismatches, 0u) << name << " case " << i << " of " << n << " outputs";
    }
    EXPECT_EQ(ran, expected) << name;
  }
}

// A filter that is an activation (computed by the network, one scale):
// the staged kernel packs it on every run. The runner's second run gives it
// new values in the same buffer; a kernel that packed it once per address
// returned the first run's products (checked).
TEST(Conv2DAvx2Int16, StagedKernelRepacksAFilterThatIsAnActivation) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  test_util::Int16KernelCase t = Make({1, 6, 7, 9, 5, 3, 1, 1, 1, true, DataType::FLOAT32, false});
  t.b_constant = false;
  const KernelDef* staged = FindKernel(OpKind::kConv2D, "avx2-int16-staged");
  ASSERT_NE(staged, nullptr);
  std::string fast_name, ref_name;
  const auto got = test_util::RunInt16Kernel(*staged, t, 3, &fast_name);
  ASSERT_FALSE(got.empty()) << "the staged kernel declined an activation filter";
  const auto want = test_util::RunInt16Kernel(QuantizedReferenceKernel(OpKind::kConv2D), t, 3, &ref_name);
  EXPECT_EQ(fast_name, "avx2-int16-staged");
  EXPECT_EQ(got, want);
}

TEST(Conv2DAvx2Int16, DeclinesAsymmetricOperands) {
  // A zero point makes centered values 17-bit: the split GEMM's bound fails.
  test_util::Int16KernelCase t = Make({1, 4, 5, 5, 4, 3, 1, 1, 1, true, DataType::INT16, false});
  const KernelDef* fast = FindKernel(OpKind::kConv2D, "avx2-int16-staged");
  ASSERT_NE(fast, nullptr);
  const KernelDef* fused = FindKernel(OpKind::kConv2D, "avx2-int16");
  ASSERT_NE(fused, nullptr);
  std::vector<ValueInfo> outs = {{DataType::FLOAT32, t.y, nullptr, nullptr, false}};
  ir::QuantBinding aq, wq;
  aq.bits = wq.bits = 16;
  aq.symmetric = false;
  aq.scales = {0.1f};
  aq.zero_points = {100};
  wq.scales = {0.1f};
  wq.zero_points = {0};
  std::vector<int16_t> w(static_cast<size_t>(ir::ElementCount(t.b)));
  ValueInfo ai{DataType::INT16, t.a, nullptr, &aq, true}, wi{DataType::INT16, t.b, w.data(), &wq, false};
  std::vector<DataType> compute = {DataType::QINT16, DataType::QINT16};
  EXPECT_FALSE(fast->supports(KernelInit(t.attrs, {&ai, &wi}, outs, &compute)));
  EXPECT_FALSE(fused->supports(KernelInit(t.attrs, {&ai, &wi}, outs, &compute)));
  aq.symmetric = true;
  aq.zero_points = {0};
  EXPECT_TRUE(fast->supports(KernelInit(t.attrs, {&ai, &wi}, outs, &compute)));
  EXPECT_TRUE(fused->supports(KernelInit(t.attrs, {&ai, &wi}, outs, &compute)));
}

}  // namespace
}  // namespace mixq::ops
