// The direct NHWC convolution kernels (cpu_direct_nhwc.cc) against a double
// reference on the same values: float32 outputs within float32 rounding of
// the sum's terms, float16 outputs within one float16 step (rounded at each
// boundary as the separate steps would be). Both vector widths (the AVX2
// kernels run here whatever the CPU picks), float32 and float16 storage on
// either side, output channels of 1 to 16 (masked tails), input channels
// of 1 to 64, strides, dilation, asymmetric pads, rows of 1 to 61 outputs
// (every tail block), batch 2 and 4, post-ops stored from the
// registers (ReLU6) and through the output stage (a residual add and ReLU,
// hard_swish); and the steps they decline.
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
  int64_t n, h, w, ic, oc, kh, kw, stride, dilation, pad_top, pad_left, pad_bottom, pad_right;
  std::string post;  // "", "relu6", "add_relu", "hard_swish"
};

int64_t OutSize(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1) {
  return (in + p0 + p1 - (k - 1) * d - 1) / s + 1;
}

ir::AttrMap Attrs(const Case& c, const std::string& layout = "NHWC", int64_t group = 1) {
  ir::AttrMap attrs;
  for (const AttrSpec& spec : GetSchema(OpKind::kConv2D).attrs) attrs.Set(spec.name, spec.default_value);
  attrs.Set("input_layout", layout);
  attrs.Set("output_layout", layout);
  attrs.Set("filter_layout", std::string("OHWI"));
  attrs.Set("group", group);
  attrs.Set("strides", std::vector<int64_t>{c.stride, c.stride});
  attrs.Set("dilations", std::vector<int64_t>{c.dilation, c.dilation});
  attrs.Set("pads", std::vector<int64_t>{c.pad_top, c.pad_bottom, c.pad_left, c.pad_right});  // mixq's order
  return attrs;
}

std::vector<PostOp> PostOps(const std::string& post) {
  std::vector<PostOp> ops;
  if (post == "add_relu") {
    ops.resize(2);
    ops[0].kind = PostOp::Kind::kAdd;
    ops[0].input = 3;
    ops[1].activation = "relu";
  } else if (post == "hard_swish") {
    ops.resize(1);
    ops[0].activation = "hard_swish";
  } else if (post == "relu6") {
    ops.resize(1);
    ops[0].activation = "relu6";
    ops[0].hi = 6.0f;
  }
  return ops;
}

// Runs `def` on case `c` (float16 storage where `in_half` / `out_half`;
// the addend has the output's storage); checks every output.
void Check(const KernelDef& def, const Case& c, bool in_half, bool out_half, uint32_t seed) {
  const int64_t oh = OutSize(c.h, c.kh, c.stride, c.dilation, c.pad_top, c.pad_bottom);
  const int64_t ow = OutSize(c.w, c.kw, c.stride, c.dilation, c.pad_left, c.pad_right);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  const auto in_value = [&](float v) { return in_half ? Half(v) : v; };
  const auto out_value = [&](float v) { return out_half ? Half(v) : v; };
  std::vector<float> x(static_cast<size_t>(c.n * c.h * c.w * c.ic)),
      filter(static_cast<size_t>(c.oc * c.kh * c.kw * c.ic)), bias(static_cast<size_t>(c.oc)),
      addend(static_cast<size_t>(c.n * oh * ow * c.oc));
  for (auto& v : x) v = in_value(real(rng) * 4.0f);
  for (auto& v : filter) v = real(rng);
  for (auto& v : bias) v = real(rng);
  for (auto& v : addend) v = out_value(real(rng) * 3.0f);

  const ir::AttrMap attrs = Attrs(c);
  const ir::Shape xs{c.n, c.h, c.w, c.ic}, ws{c.oc, c.kh, c.kw, c.ic}, ys{c.n, oh, ow, c.oc};
  const DataType in_type = in_half ? DataType::FLOAT16 : DataType::FLOAT32;
  const DataType out_type = out_half ? DataType::FLOAT16 : DataType::FLOAT32;
  ValueInfo xi{in_type, xs, nullptr, nullptr, in_half};
  ValueInfo wi{DataType::FLOAT32, ws, filter.data(), nullptr, false};
  ValueInfo bi{DataType::FLOAT32, {c.oc}, bias.data(), nullptr, false};
  ValueInfo ai{out_type, ys, nullptr, nullptr, out_half};
  std::vector<ValueInfo> yi = {ValueInfo{out_type, ys, nullptr, nullptr, out_half}};
  std::vector<DataType> compute = {in_type, DataType::FLOAT32, DataType::FLOAT32, out_type};
  const std::vector<PostOp> post = PostOps(c.post);
  std::vector<const ValueInfo*> ins = {&xi, &wi, &bi};
  if (c.post == "add_relu") ins.push_back(&ai);
  KernelInit init(attrs, ins, yi, &compute, &post);
  ASSERT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<Kernel> kernel;
  const Status made = def.make(init, &kernel);
  ASSERT_TRUE(made.ok()) << made.ToString();
  EXPECT_STREQ(kernel->Name(), def.name);

  std::vector<uint16_t> x16(x.size()), a16(addend.size()), y16(addend.size(), 0x7e00);
  std::vector<float> y32(addend.size(), std::nanf(""));
  for (size_t i = 0; i < x.size(); ++i) x16[i] = FloatToHalf(x[i]);
  for (size_t i = 0; i < addend.size(); ++i) a16[i] = FloatToHalf(addend[i]);
  std::vector<TensorView> in = {{in_type, xs, in_half ? static_cast<void*>(x16.data()) : x.data(), nullptr},
                                {DataType::FLOAT32, ws, filter.data(), nullptr},
                                {DataType::FLOAT32, {c.oc}, bias.data(), nullptr}};
  if (c.post == "add_relu")
    in.push_back({out_type, ys, out_half ? static_cast<void*>(a16.data()) : addend.data(), nullptr});
  const TensorView y{out_type, ys, out_half ? static_cast<void*>(y16.data()) : y32.data(), nullptr};
  for (int run = 0; run < 2; ++run) ASSERT_TRUE(kernel->Run(in, {y}).ok());

  int bad = 0;
  for (int64_t n = 0; n < c.n && bad < 5; ++n)
    for (int64_t i = 0; i < oh && bad < 5; ++i)
      for (int64_t j = 0; j < ow && bad < 5; ++j)
        for (int64_t o = 0; o < c.oc && bad < 5; ++o) {
          double sum = bias[static_cast<size_t>(o)], size = std::fabs(sum);
          for (int64_t kh = 0; kh < c.kh; ++kh)
            for (int64_t kw = 0; kw < c.kw; ++kw) {
              const int64_t ih = i * c.stride - c.pad_top + kh * c.dilation;
              const int64_t iw = j * c.stride - c.pad_left + kw * c.dilation;
              if (ih < 0 || ih >= c.h || iw < 0 || iw >= c.w) continue;
              for (int64_t ch = 0; ch < c.ic; ++ch) {
                const double term =
                    static_cast<double>(filter[static_cast<size_t>(((o * c.kh + kh) * c.kw + kw) * c.ic + ch)]) *
                    x[static_cast<size_t>(((n * c.h + ih) * c.w + iw) * c.ic + ch)];
                sum += term;
                size += std::fabs(term);
              }
            }
          const size_t at = static_cast<size_t>(((n * oh + i) * ow + j) * c.oc + o);
          float expected = out_value(static_cast<float>(sum));
          if (c.post == "add_relu") {
            expected = std::max(out_value(expected + addend[at]), 0.0f);
          } else if (c.post == "relu6") {
            expected = std::min(std::max(expected, 0.0f), 6.0f);
          } else if (c.post == "hard_swish") {
            const double e = expected;
            expected = out_value(static_cast<float>(e * std::min(std::max(e / 6.0 + 0.5, 0.0), 1.0)));
          }
          const float got = out_half ? HalfToFloat(y16[at]) : y32[at];
          // float32: the float sum's rounding, bounded by the terms' size;
          // float16: a step at the sum's magnitude (the float32 sum may round
          // to the other neighbour; an addend may have made it larger than
          // the result's).
          const float tolerance =
              out_half ? std::ldexp(std::max({std::fabs(expected), std::fabs(Half(static_cast<float>(sum))), 1.0f}), -9)
                       : static_cast<float>(size * 1e-6 + 1e-6);
          if (!(std::fabs(got - expected) <= tolerance)) {
            ADD_FAILURE() << def.name << " (" << n << ", " << i << ", " << j << ", " << o << "): " << got << " vs "
                          << expected;
            ++bad;
          }
        }
}

const Case kCases[] = {
    {4, 16, 16, 3, 8, 3, 3, 1, 1, 1, 1, 1, 1, "relu6"},       // the demo's stem: 8 channels, rows of 16
    {4, 16, 16, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, "add_relu"},    // its residual conv, through the stage
    {4, 16, 16, 8, 16, 3, 3, 2, 1, 1, 1, 1, 1, ""},           // stride 2 to 16 channels, rows of 8
    {2, 8, 8, 8, 16, 1, 1, 2, 1, 0, 0, 0, 0, "add_relu"},     // the 1 x 1 projection
    {1, 9, 37, 5, 13, 3, 3, 1, 1, 1, 1, 1, 1, "hard_swish"},  // 13 channels: masked; rows of 37 (12 * 3 + 1)
    {2, 11, 23, 17, 7, 5, 5, 1, 2, 4, 3, 2, 4, "relu6"},      // 5 x 5 dilated, asymmetric pads, 7 channels
    {1, 7, 19, 1, 1, 3, 3, 2, 1, 0, 0, 1, 1, ""},             // one channel in and out, pads after only
    {1, 6, 29, 33, 16, 3, 3, 1, 1, 1, 1, 1, 1, "add_relu"},   // rows of 29: blocks of 12, 4 and 1
    {1, 5, 15, 64, 9, 3, 1, 1, 1, 1, 0, 1, 0, "relu6"},       // 3 x 1, 64 input channels, 9 outputs
    {1, 4, 11, 7, 16, 2, 2, 2, 1, 0, 0, 0, 0, "hard_swish"},  // even filter, rows of 5 (4 and 1)
    {2, 3, 1, 9, 14, 3, 3, 1, 1, 1, 1, 1, 1, "add_relu"},     // one column
    {1, 60, 61, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, "add_relu"},    // a large plane of 8 channels: several strips
    {1, 23, 14, 8, 11, 3, 3, 1, 1, 1, 1, 1, 1, "relu6"},      // rows of 14: blocks of 12 and 2
};

void CheckAll(const KernelDef& def, bool half) {
  for (size_t i = 0; i < std::size(kCases); ++i) {
    SCOPED_TRACE(i);
    const uint32_t seed = static_cast<uint32_t>(i * 4 + 1);
    if (!half) {
      Check(def, kCases[i], false, false, seed);
      continue;
    }
    Check(def, kCases[i], true, true, seed);
    Check(def, kCases[i], true, false, seed + 1);
    Check(def, kCases[i], false, true, seed + 2);
  }
}

TEST(Conv2DDirectNhwc, Avx2Float32MatchesTheReference) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "avx2-f32-direct");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "needs AVX2 + FMA + F16C";
  CheckAll(*def, false);
}

TEST(Conv2DDirectNhwc, Avx2Float16MatchesTheReference) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "avx2-f16-direct");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "needs AVX2 + FMA + F16C";
  CheckAll(*def, true);
}

TEST(Conv2DDirectNhwc, Avx512Float32MatchesTheReference) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "avx512-f32-direct");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "no AVX-512 on this CPU";
  CheckAll(*def, false);
}

TEST(Conv2DDirectNhwc, Avx512Float16MatchesTheReference) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "avx512-f16-direct");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "no AVX-512 on this CPU";
  CheckAll(*def, true);
}

// Two groups, NCHW tensors, a blocked layout, channels and planes where
// oneDNN is faster, float32 on the float16 kernels and float16 on the
// float32 ones, an int8 input.
TEST(Conv2DDirectNhwc, DeclinesWhatItDoesNotRun) {
  const KernelDef* f32 = FindKernel(OpKind::kConv2D, "avx2-f32-direct");
  const KernelDef* f16 = FindKernel(OpKind::kConv2D, "avx2-f16-direct");
  const KernelDef* f32_512 = FindKernel(OpKind::kConv2D, "avx512-f32-direct");
  ASSERT_NE(f32, nullptr);
  ASSERT_NE(f16, nullptr);
  ASSERT_NE(f32_512, nullptr);
  const Case c{1, 8, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, ""};
  std::vector<float> filter(16 * 9 * 8, 0.5f), bias(16, 0.0f);
  ValueInfo wi{DataType::FLOAT32, {16, 3, 3, 8}, filter.data(), nullptr, false};
  ValueInfo bi{DataType::FLOAT32, {16}, bias.data(), nullptr, false};
  const auto supports = [&](const KernelDef& def, const ir::AttrMap& attrs, const ValueInfo& x, const ValueInfo& y,
                            const ValueInfo& w) {
    std::vector<const ValueInfo*> ins = {&x, &w, &bi};
    std::vector<ValueInfo> outs = {y};
    std::vector<DataType> compute = {x.dtype, DataType::FLOAT32, DataType::FLOAT32};
    return def.supports(KernelInit(attrs, ins, outs, &compute));
  };
  const ValueInfo x32{DataType::FLOAT32, {1, 8, 8, 8}, nullptr, nullptr, false};
  const ValueInfo y32{DataType::FLOAT32, {1, 8, 8, 16}, nullptr, nullptr, false};
  const ValueInfo x16{DataType::FLOAT16, {1, 8, 8, 8}, nullptr, nullptr, true};
  const ValueInfo y16{DataType::FLOAT16, {1, 8, 8, 16}, nullptr, nullptr, true};
  EXPECT_TRUE(supports(*f32, Attrs(c), x32, y32, wi));
  EXPECT_TRUE(supports(*f16, Attrs(c), x16, y16, wi));
  EXPECT_FALSE(supports(*f16, Attrs(c), x32, y32, wi));  // float32 both sides: the float32 kernel's
  EXPECT_FALSE(supports(*f32, Attrs(c), x16, y32, wi));  // float16 storage: the float16 kernel's
  // Two groups of 4 -> 8.
  const ValueInfo w2{DataType::FLOAT32, {16, 3, 3, 4}, filter.data(), nullptr, false};
  EXPECT_FALSE(supports(*f32, Attrs(c, "NHWC", 2), x32, y32, w2));
  // NCHW.
  const ValueInfo xn{DataType::FLOAT32, {1, 8, 8, 8}, nullptr, nullptr, false};
  const ValueInfo yn{DataType::FLOAT32, {1, 16, 8, 8}, nullptr, nullptr, false};
  EXPECT_FALSE(supports(*f32, Attrs(c, "NCHW"), xn, yn, wi));
  // A blocked input.
  ValueInfo xb = x16;
  xb.layout = MemoryLayout::kBlocked8;
  EXPECT_FALSE(supports(*f16, Attrs(c), xb, y16, wi));
  // 24 output channels; 16 on more than 1024 output pixels (oneDNN's);
  // 8 on any plane.
  const auto with_out_channels = [&](int64_t oc, int64_t side) {
    std::vector<float> f(static_cast<size_t>(oc * 9 * 8), 0.5f), b(static_cast<size_t>(oc), 0.0f);
    ValueInfo fw{DataType::FLOAT32, {oc, 3, 3, 8}, f.data(), nullptr, false};
    ValueInfo fb{DataType::FLOAT32, {oc}, b.data(), nullptr, false};
    ValueInfo xs{DataType::FLOAT32, {1, side, side, 8}, nullptr, nullptr, false};
    std::vector<const ValueInfo*> ins = {&xs, &fw, &fb};
    std::vector<ValueInfo> outs = {ValueInfo{DataType::FLOAT32, {1, side, side, oc}, nullptr, nullptr, false}};
    return f32->supports(KernelInit(Attrs(c), ins, outs)) && f32_512->supports(KernelInit(Attrs(c), ins, outs));
  };
  EXPECT_FALSE(with_out_channels(24, 8));
  EXPECT_TRUE(with_out_channels(16, 32));
  EXPECT_FALSE(with_out_channels(16, 33));
  EXPECT_TRUE(with_out_channels(8, 200));
  // An int8 input.
  const ValueInfo x8{DataType::INT8, {1, 8, 8, 8}, nullptr, nullptr, false};
  EXPECT_FALSE(supports(*f32, Attrs(c), x8, y32, wi));
}

}  // namespace
}  // namespace mixq::ops
