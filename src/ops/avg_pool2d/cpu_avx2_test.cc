// The AVX2 AvgPool2D (cpu_avx2.cc) against the reference, bit for bit (the
// kernel sums in the reference's order in double): odd sizes (vector tails),
// non-square kernels 1 to 5, strides 1 to 3, asymmetric pads, ceil_mode
// windows that reach past the pads (and one that covers only padding),
// count_include_pad 0 and 1, batch and channels, NaN / inf / denormals and
// large values; FLOAT16 and BFLOAT16 storage against the Cast path (widen,
// reference, round); blocked tensors (nChw8c, nChw16c) in and out, both
// storages; NHWC bfloat16.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "ops/kernel_registry.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

struct Case {
  int64_t n, c, h, w, kh, kw, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right;
  bool ceil_mode, include_pad;
};

ir::AttrMap Attrs(const Case& c) {
  ir::AttrMap attrs;
  attrs.Set("kernel", std::vector<int64_t>{c.kh, c.kw});
  attrs.Set("strides", std::vector<int64_t>{c.stride_h, c.stride_w});
  attrs.Set("pads", std::vector<int64_t>{c.pad_top, c.pad_bottom, c.pad_left, c.pad_right});
  attrs.Set("ceil_mode", int64_t{c.ceil_mode ? 1 : 0});
  attrs.Set("count_include_pad", int64_t{c.include_pad ? 1 : 0});
  attrs.Set("padding_mode", std::string("EXPLICIT"));
  attrs.Set("layout", std::string("NCHW"));
  return attrs;
}

// Plain NCHW order <-> nChwBc (b > 0), for a tensor of `shape`.
template <typename T>
std::vector<T> Reorder(const std::vector<T>& v, const ir::Shape& shape, int64_t b, bool to_blocked) {
  if (b == 0) return v;
  std::vector<T> r(v.size());
  const int64_t channels = shape[1], pixels = shape[2] * shape[3];
  for (int64_t i = 0; i < static_cast<int64_t>(v.size()); ++i) {
    const int64_t n = i / (channels * pixels), c = i / pixels % channels, p = i % pixels;
    const auto blocked = static_cast<size_t>(((n * (channels / b) + c / b) * pixels + p) * b + c % b);
    if (to_blocked)
      r[blocked] = v[static_cast<size_t>(i)];
    else
      r[static_cast<size_t>(i)] = v[blocked];
  }
  return r;
}

// Runs `def` on x (FLOAT32, or FLOAT16 storage when `half`, BFLOAT16 when
// `bfloat16`: x holds the widened values and the result is returned
// widened), in and out in `layout` (x and the result in plain order whatever
// the layout).
std::vector<float> RunPool(const KernelDef& def, const Case& c, const std::vector<float>& x, bool half,
                           MemoryLayout layout = MemoryLayout::kPlain, bool plain_out = false, bool bfloat16 = false) {
  const ir::AttrMap attrs = Attrs(c);
  half = half || bfloat16;
  const DataType narrow = bfloat16 ? DataType::BFLOAT16 : DataType::FLOAT16;
  ValueInfo xi{half ? narrow : DataType::FLOAT32, {c.n, c.c, c.h, c.w}, nullptr, nullptr, half, layout};
  std::vector<ValueInfo> outs(1);
  EXPECT_TRUE(GetSchema(OpKind::kAvgPool2D).infer(attrs, {&xi}, outs).ok());
  outs[0].dtype = xi.dtype;
  outs[0].narrowed = half;
  outs[0].layout = plain_out ? MemoryLayout::kPlain : layout;
  // NHWC is the blocked order with one block of all C channels.
  const int64_t b = layout == MemoryLayout::kChannelsLast ? c.c : BlockChannels(layout), out_b = plain_out ? 0 : b;
  std::vector<const ValueInfo*> ins = {&xi};
  KernelInit init(attrs, ins, outs);
  EXPECT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def.make(init, &kernel).ok());
  const int64_t out_count = ir::ElementCount(outs[0].shape);
  std::vector<float> y(static_cast<size_t>(out_count));
  if (!half) {
    std::vector<float> xb = Reorder(x, xi.shape, b, true);
    EXPECT_TRUE(kernel
                    ->Run({TensorView{DataType::FLOAT32, xi.shape, xb.data(), nullptr}},
                          {TensorView{DataType::FLOAT32, outs[0].shape, y.data(), nullptr}})
                    .ok());
    return Reorder(y, outs[0].shape, out_b, false);
  }
  std::vector<uint16_t> xh(x.size()), yh(y.size());
  for (size_t i = 0; i < x.size(); ++i) xh[i] = bfloat16 ? FloatToBFloat16(x[i]) : FloatToHalf(x[i]);
  xh = Reorder(xh, xi.shape, b, true);
  EXPECT_TRUE(kernel
                  ->Run({TensorView{narrow, xi.shape, xh.data(), nullptr}},
                        {TensorView{narrow, outs[0].shape, yh.data(), nullptr}})
                  .ok());
  yh = Reorder(yh, outs[0].shape, out_b, false);
  for (size_t i = 0; i < y.size(); ++i) y[i] = bfloat16 ? BFloat16ToFloat(yh[i]) : HalfToFloat(yh[i]);
  return y;
}

std::vector<Case> Cases() {
  return {
      {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, false, false},    // one pixel
      {1, 3, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, false, false},    // 3x3 same
      {1, 3, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, false, true},     // counting the pads
      {2, 5, 13, 29, 2, 2, 2, 2, 0, 0, 0, 0, false, false},  // 2x2 / 2, odd sizes
      {1, 2, 13, 29, 2, 2, 2, 2, 0, 0, 0, 0, true, false},   // ceil_mode reaching past the input
      {1, 2, 13, 29, 2, 2, 2, 2, 0, 0, 0, 0, true, true},
      {1, 4, 11, 37, 3, 5, 3, 2, 2, 0, 1, 3, true, true},  // asymmetric everything
      {1, 4, 11, 37, 3, 5, 3, 2, 2, 0, 1, 3, true, false},
      {1, 3, 6, 40, 2, 3, 2, 1, 0, 1, 0, 2, false, false},  // PP-OCR rec style (2, 1) strides
      {1, 2, 5, 5, 3, 3, 3, 3, 0, 2, 0, 2, true, true},     // a window only partly real
      {1, 2, 4, 4, 2, 2, 3, 3, 1, 1, 1, 1, true, false},    // ceil_mode window covering only padding
      {1, 1, 9, 64, 4, 1, 1, 1, 0, 0, 0, 0, false, false},  // whole vectors, no tail
      {1, 2, 17, 75, 5, 5, 1, 1, 2, 2, 2, 2, false, true},
  };
}

std::vector<float> Input(const Case& c, std::mt19937* rng, bool specials) {
  std::uniform_real_distribution<float> real(-3.0f, 3.0f);
  std::vector<float> x(static_cast<size_t>(c.n * c.c * c.h * c.w));
  for (auto& v : x) v = real(*rng);
  if (specials && x.size() > 8) {
    // A NaN and an inf in the first plane, large values and denormals in the last.
    x[0] = std::nanf("");
    x[std::min<size_t>(5, x.size() - 1)] = std::numeric_limits<float>::infinity();
    const size_t plane = static_cast<size_t>(c.h * c.w), last = x.size() - plane;
    for (size_t i = last; i < x.size(); ++i) x[i] = i % 3 == 0 ? 6.0e4f : i % 3 == 1 ? -6.0e4f : 1e-40f;
  }
  return x;
}

void ExpectSame(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << what << " i " << i;
      continue;
    }
    uint32_t a, b;
    std::memcpy(&a, &got[i], 4);
    std::memcpy(&b, &want[i], 4);
    EXPECT_EQ(a, b) << what << " i " << i << ": " << got[i] << " vs " << want[i];
  }
}

TEST(AvgPool2DAvx2, BitExactWithTheReference) {
  const KernelDef* fast = FindKernel(OpKind::kAvgPool2D, "avx2");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const KernelDef& ref = ReferenceKernel(OpKind::kAvgPool2D);
  std::mt19937 rng(23);
  int index = 0;
  for (const Case& c : Cases()) {
    for (bool specials : {false, true}) {
      const auto x = Input(c, &rng, specials);
      ExpectSame(RunPool(*fast, c, x, false), RunPool(ref, c, x, false),
                 "case " + std::to_string(index) + (specials ? " specials" : ""));
    }
    ++index;
  }
}

TEST(AvgPool2DAvx2, KnownValues) {
  // 1x1x3x3 input 1..9, 2x2 windows, stride 1, pad 1 on the right and bottom.
  const Case c{1, 1, 3, 3, 2, 2, 1, 1, 0, 1, 0, 1, false, false};
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const KernelDef* fast = FindKernel(OpKind::kAvgPool2D, "avx2");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const auto y = RunPool(*fast, c, x, false);
  const std::vector<float> want = {3.0f, 4.0f, 4.5f, 6.0f, 7.0f, 7.5f, 7.5f, 8.5f, 9.0f};
  EXPECT_EQ(y, want);
  Case with_pad = c;
  with_pad.include_pad = true;
  const auto z = RunPool(*fast, with_pad, x, false);
  EXPECT_FLOAT_EQ(z[2], 9.0f / 4.0f);   // (3 + 6) / 4
  EXPECT_FLOAT_EQ(z[8], 9.0f / 4.0f);   // 9 / 4
  EXPECT_FLOAT_EQ(z[0], 12.0f / 4.0f);  // 1 + 2 + 4 + 5
}

TEST(AvgPool2DAvx2, Float16StorageIsTheCastPath) {
  const KernelDef* fast = FindKernel(OpKind::kAvgPool2D, "avx2-f16");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const KernelDef& ref = ReferenceKernel(OpKind::kAvgPool2D);
  std::mt19937 rng(29);
  int index = 0;
  for (const Case& c : Cases()) {
    auto x = Input(c, &rng, true);
    for (auto& v : x) v = RoundToHalf(v);  // what float16 storage holds
    auto want = RunPool(ref, c, x, false);
    for (auto& v : want) v = RoundToHalf(v);
    ExpectSame(RunPool(*fast, c, x, true), want, "case " + std::to_string(index++));
  }
}

// Blocked in, blocked or plain out: every case with its channels made whole blocks (16,
// 32 or 48), both storages, both block sizes; the slots offered, and the
// layouts declined.
TEST(AvgPool2DAvx2, BlockedTensorsMatchThePlainResult) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const KernelDef& ref = ReferenceKernel(OpKind::kAvgPool2D);
  std::mt19937 rng(31);
  int index = 0;
  for (Case c : Cases()) {
    c.c = 16 * (index % 3 + 1);
    for (const bool half : {false, true})
      for (const MemoryLayout layout : {MemoryLayout::kBlocked8, MemoryLayout::kBlocked16})
        for (const bool plain_out : {false, true}) {
          const KernelDef* fast = FindKernel(OpKind::kAvgPool2D, half ? "avx2-f16" : "avx2");
          ASSERT_NE(fast, nullptr);
          auto x = Input(c, &rng, true);
          if (half)
            for (auto& v : x) v = RoundToHalf(v);
          auto want = RunPool(ref, c, x, false);
          if (half)
            for (auto& v : want) v = RoundToHalf(v);
          ExpectSame(RunPool(*fast, c, x, half, layout, plain_out), want,
                     "case " + std::to_string(index) + (half ? " float16" : "") + " block " +
                         std::to_string(BlockChannels(layout)) + (plain_out ? " plain out" : ""));
        }
    ++index;
  }
  // Slots: offered for whole blocks only; plain in, blocked out declined.
  const KernelDef* fast = FindKernel(OpKind::kAvgPool2D, "avx2");
  for (const int64_t channels : {int64_t{32}, int64_t{24}}) {
    const Case c{1, channels, 6, 40, 2, 2, 2, 2, 0, 0, 0, 0, false, false};
    const ir::AttrMap attrs = Attrs(c);
    ValueInfo xi{DataType::FLOAT32, {1, channels, 6, 40}, nullptr, nullptr, false};
    std::vector<ValueInfo> outs(1);
    ASSERT_TRUE(GetSchema(OpKind::kAvgPool2D).infer(attrs, {&xi}, outs).ok());
    std::vector<const ValueInfo*> ins = {&xi};
    std::vector<bool> in_slots, out_slots;
    fast->blocked_slots(KernelInit(attrs, ins, outs), MemoryLayout::kBlocked16, &in_slots, &out_slots);
    EXPECT_EQ(in_slots, std::vector<bool>{channels == 32}) << channels;
    EXPECT_EQ(out_slots, std::vector<bool>{channels == 32}) << channels;
    outs[0].layout = MemoryLayout::kBlocked8;
    EXPECT_FALSE(fast->supports(KernelInit(attrs, ins, outs))) << "plain in, blocked out";
  }
}

// bfloat16 storage (force_bfloat16): plain NCHW for every case, and NHWC
// in with NHWC or plain out where C is a multiple of 8 (8, 24, 40: the
// layout its convolutions write); against the Cast path (widen, reference,
// round). The NHWC slots, and the layouts declined.
TEST(AvgPool2DAvx2, BFloat16StorageIsTheCastPath) {
  const KernelDef* fast = FindKernel(OpKind::kAvgPool2D, "avx2-bf16");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const KernelDef& ref = ReferenceKernel(OpKind::kAvgPool2D);
  std::mt19937 rng(37);
  int index = 0;
  for (Case c : Cases()) {
    for (const MemoryLayout layout : {MemoryLayout::kPlain, MemoryLayout::kChannelsLast})
      for (const bool plain_out : {false, true}) {
        if (layout == MemoryLayout::kPlain && plain_out) continue;  // the same case
        if (layout == MemoryLayout::kChannelsLast) c.c = 8 * (2 * (index % 3) + 1);
        auto x = Input(c, &rng, true);
        for (auto& v : x) v = RoundToBFloat16(v);  // what bfloat16 storage holds
        auto want = RunPool(ref, c, x, false);
        for (auto& v : want) v = RoundToBFloat16(v);
        ExpectSame(RunPool(*fast, c, x, false, layout, plain_out, /*bfloat16=*/true), want,
                   "case " + std::to_string(index) + (layout == MemoryLayout::kPlain ? " plain" : " NHWC") +
                       (plain_out ? ", plain out" : ""));
      }
    ++index;
  }
  for (const int64_t channels : {int64_t{32}, int64_t{12}}) {
    const Case c{1, channels, 6, 40, 2, 2, 2, 2, 0, 0, 0, 0, false, false};
    const ir::AttrMap attrs = Attrs(c);
    ValueInfo xi{DataType::BFLOAT16, {1, channels, 6, 40}, nullptr, nullptr, true};
    std::vector<ValueInfo> outs(1);
    ASSERT_TRUE(GetSchema(OpKind::kAvgPool2D).infer(attrs, {&xi}, outs).ok());
    outs[0].dtype = DataType::BFLOAT16;
    outs[0].narrowed = true;
    std::vector<const ValueInfo*> ins = {&xi};
    std::vector<bool> in_slots, out_slots;
    fast->blocked_slots(KernelInit(attrs, ins, outs), MemoryLayout::kChannelsLast, &in_slots, &out_slots);
    EXPECT_EQ(in_slots, std::vector<bool>{channels == 32}) << channels;
    EXPECT_EQ(out_slots, std::vector<bool>{channels == 32}) << channels;
    fast->blocked_slots(KernelInit(attrs, ins, outs), MemoryLayout::kBlocked16, &in_slots, &out_slots);
    EXPECT_EQ(in_slots, std::vector<bool>{false}) << "nChw16c is not for bfloat16";
    outs[0].layout = MemoryLayout::kChannelsLast;
    EXPECT_FALSE(fast->supports(KernelInit(attrs, ins, outs))) << "plain in, NHWC out";
    xi.layout = MemoryLayout::kChannelsLast;
    EXPECT_EQ(fast->supports(KernelInit(attrs, ins, outs)), channels == 32) << "NHWC in and out, " << channels;
  }
}

}  // namespace
}  // namespace mixq::ops
