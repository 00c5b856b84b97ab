// The AVX2 MaxPool2D against the reference, bit for bit: FLOAT32 with NaNs
// (the first of a window wins), 0.0 / -0.0 ties and infinities, INT8 and INT16 at the
// extremes; odd sizes (vector tails), strides 1-3, dilation, asymmetric pads,
// ceil_mode windows that reach past the pads, batch and channels. bfloat16
// storage ("avx2-bf16"), plain and channels-last, against the reference's
// float32 result rounded to bfloat16 (the Cast path). FLOAT32 and float16
// storage in nChw8c and nChw16c (between convolutions), bit for bit with the
// reference.
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
  int64_t n, c, h, w, k, stride, dilation, pad;
  bool ceil_mode;
};

template <typename T>
std::vector<T> RunPool(const KernelDef& def, const Case& c, const std::vector<T>& x, DataType type) {
  ir::AttrMap attrs;
  attrs.Set("kernel", std::vector<int64_t>{c.k, c.k});
  attrs.Set("strides", std::vector<int64_t>{c.stride, c.stride});
  attrs.Set("dilations", std::vector<int64_t>{c.dilation, c.dilation});
  attrs.Set("pads", std::vector<int64_t>{c.pad, c.pad, c.pad + 1, c.pad});
  attrs.Set("ceil_mode", int64_t{c.ceil_mode ? 1 : 0});
  attrs.Set("padding_mode", std::string("EXPLICIT"));
  attrs.Set("layout", std::string("NCHW"));
  ir::QuantBinding q;
  q.scales = {0.1f};
  q.zero_points = {0};
  ValueInfo xi{
      type, {c.n, c.c, c.h, c.w}, nullptr, type != DataType::FLOAT32 ? &q : nullptr, type != DataType::FLOAT32};
  std::vector<ValueInfo> outs(1);
  EXPECT_TRUE(GetSchema(OpKind::kMaxPool2D).infer(attrs, {&xi}, outs).ok());
  outs[0].quant = xi.quant;
  outs[0].narrowed = xi.narrowed;
  std::vector<const ValueInfo*> ins = {&xi};
  KernelInit init(attrs, ins, outs);
  EXPECT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def.make(init, &kernel).ok());
  std::vector<T> y(static_cast<size_t>(ir::ElementCount(outs[0].shape)));
  RunQuant rq{0.1f, 0};
  TensorView xv{type, xi.shape, const_cast<T*>(x.data()), type != DataType::FLOAT32 ? &rq : nullptr};
  TensorView yv{type, outs[0].shape, y.data(), type != DataType::FLOAT32 ? &rq : nullptr};
  EXPECT_TRUE(kernel->Run({xv}, {yv}).ok());
  return y;
}

template <typename T>
bool SameBits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

TEST(MaxPool2DAvx2, BitExactWithTheReference) {
  const KernelDef* fast = FindKernel(OpKind::kMaxPool2D, "avx2");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const KernelDef& ref = ReferenceKernel(OpKind::kMaxPool2D);
  const Case cases[] = {
      {1, 3, 112, 112, 3, 2, 1, 1, false},  // ResNet's stem pool
      {2, 5, 13, 37, 2, 2, 1, 0, false},    // odd sizes, vector tails
      {1, 4, 9, 11, 3, 1, 2, 2, false},     // dilated, stride 1
      {1, 2, 10, 17, 3, 3, 1, 1, true},     // ceil_mode: windows past the pads
      {1, 1, 5, 70, 5, 2, 1, 2, true},
  };
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> real(-4.0f, 4.0f);
  std::uniform_int_distribution<int> code(-128, 127);
  const float nan_a = std::numeric_limits<float>::quiet_NaN(), nan_b = -std::numeric_limits<float>::quiet_NaN();
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& c = cases[i];
    const size_t count = static_cast<size_t>(c.n * c.c * c.h * c.w);
    std::vector<float> xf(count);
    for (size_t e = 0; e < count; ++e) {
      const int kind = static_cast<int>(e % 29);
      xf[e] = kind == 0   ? nan_a
              : kind == 7 ? nan_b
              : kind == 3 ? 0.0f
              : kind == 4 ? -0.0f
              : kind == 5 ? -std::numeric_limits<float>::infinity()
              : kind < 20 ? -1.0f  // ties
                          : real(rng);
    }
    EXPECT_TRUE(SameBits(RunPool(*fast, c, xf, DataType::FLOAT32), RunPool(ref, c, xf, DataType::FLOAT32)))
        << "f32 case " << i;
    std::vector<int8_t> xi(count);
    for (size_t e = 0; e < count; ++e) xi[e] = static_cast<int8_t>(e % 13 == 0 ? -128 : e % 17 == 0 ? 127 : code(rng));
    EXPECT_EQ(RunPool(*fast, c, xi, DataType::INT8), RunPool(ref, c, xi, DataType::INT8)) << "int8 case " << i;
    std::vector<int16_t> xw(count);
    for (size_t e = 0; e < count; ++e)
      xw[e] = static_cast<int16_t>(e % 13 == 0 ? -32768 : e % 17 == 0 ? 32767 : code(rng) * 251);
    EXPECT_EQ(RunPool(*fast, c, xw, DataType::INT16), RunPool(ref, c, xw, DataType::INT16)) << "int16 case " << i;
  }
}

// `x` (NCHW values, bfloat16 bits) pooled by avx2-bf16 with the tensors
// stored plain or channels-last; the result as NCHW bits.
std::vector<uint16_t> RunBFloat16(const Case& c, const std::vector<uint16_t>& x, bool channels_last,
                                  const char* kernel_name = "avx2-bf16") {
  ir::AttrMap attrs;
  attrs.Set("kernel", std::vector<int64_t>{c.k, c.k});
  attrs.Set("strides", std::vector<int64_t>{c.stride, c.stride});
  attrs.Set("dilations", std::vector<int64_t>{c.dilation, c.dilation});
  attrs.Set("pads", std::vector<int64_t>{c.pad, c.pad, c.pad + 1, c.pad});
  attrs.Set("ceil_mode", int64_t{c.ceil_mode ? 1 : 0});
  attrs.Set("padding_mode", std::string("EXPLICIT"));
  attrs.Set("layout", std::string("NCHW"));
  const MemoryLayout layout = channels_last ? MemoryLayout::kChannelsLast : MemoryLayout::kPlain;
  ValueInfo xi{DataType::BFLOAT16, {c.n, c.c, c.h, c.w}, nullptr, nullptr, true, layout};
  std::vector<ValueInfo> outs(1);
  ValueInfo logical = xi;
  logical.dtype = DataType::FLOAT32;
  logical.narrowed = false;
  logical.layout = MemoryLayout::kPlain;
  EXPECT_TRUE(GetSchema(OpKind::kMaxPool2D).infer(attrs, {&logical}, outs).ok());
  outs[0].dtype = DataType::BFLOAT16;
  outs[0].narrowed = true;
  outs[0].layout = layout;
  std::vector<const ValueInfo*> ins = {&xi};
  KernelInit init(attrs, ins, outs);
  const KernelDef* def = FindKernel(OpKind::kMaxPool2D, kernel_name);
  EXPECT_NE(def, nullptr);
  if (!def) return {};
  EXPECT_TRUE(def->supports(init));
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def->make(init, &kernel).ok());
  const ir::Shape& ys = outs[0].shape;
  auto nchw_to_nhwc = [](const std::vector<uint16_t>& v, int64_t n, int64_t ch, int64_t plane) {
    std::vector<uint16_t> r(v.size());
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < ch; ++k)
        for (int64_t p = 0; p < plane; ++p)
          r[static_cast<size_t>((i * plane + p) * ch + k)] = v[static_cast<size_t>((i * ch + k) * plane + p)];
    return r;
  };
  std::vector<uint16_t> xin = channels_last ? nchw_to_nhwc(x, c.n, c.c, c.h * c.w) : x;
  std::vector<uint16_t> y(static_cast<size_t>(ir::ElementCount(ys)));
  EXPECT_TRUE(
      kernel->Run({{DataType::BFLOAT16, xi.shape, xin.data(), nullptr}}, {{DataType::BFLOAT16, ys, y.data(), nullptr}})
          .ok());
  if (!channels_last) return y;
  std::vector<uint16_t> back(y.size());
  const int64_t plane = ys[2] * ys[3];
  for (int64_t i = 0; i < c.n; ++i)
    for (int64_t k = 0; k < c.c; ++k)
      for (int64_t p = 0; p < plane; ++p)
        back[static_cast<size_t>((i * c.c + k) * plane + p)] = y[static_cast<size_t>((i * plane + p) * c.c + k)];
  return back;
}

void ExpectBFloat16MatchesTheCastPath(bool avx512) {
  const KernelDef& ref = ReferenceKernel(OpKind::kMaxPool2D);
  const Case cases[] = {
      {1, 64, 16, 16, 3, 2, 1, 1, false},  // ResNet's stem pool, whole vectors
      {2, 13, 9, 11, 2, 2, 1, 0, false},   // channel tail
      {1, 21, 9, 11, 3, 1, 2, 2, true},    // dilated, ceil_mode
      {1, 72, 12, 10, 3, 2, 1, 1, false},  // two 32-channel steps and a tail
  };
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> real(-4.0f, 4.0f);
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& c = cases[i];
    const size_t count = static_cast<size_t>(c.n * c.c * c.h * c.w);
    std::vector<float> xf(count);
    std::vector<uint16_t> xb(count);
    for (size_t e = 0; e < count; ++e) {
      const int kind = static_cast<int>(e % 31);
      const float v = kind == 0   ? std::numeric_limits<float>::quiet_NaN()
                      : kind == 9 ? -std::numeric_limits<float>::quiet_NaN()
                      : kind == 3 ? -0.0f
                      : kind == 5 ? -std::numeric_limits<float>::infinity()
                      : kind < 15 ? -1.0f
                                  : real(rng);
      xb[e] = FloatToBFloat16(v);
      xf[e] = BFloat16ToFloat(xb[e]);
    }
    const std::vector<float> yf = RunPool(ref, c, xf, DataType::FLOAT32);
    std::vector<uint16_t> expected(yf.size());
    for (size_t e = 0; e < yf.size(); ++e) expected[e] = FloatToBFloat16(yf[e]);
    if (avx512) {
      EXPECT_EQ(RunBFloat16(c, xb, true, "avx512-bf16"), expected) << "channels-last case " << i;
      // Without NaNs every 32-channel step takes the vector path.
      for (size_t e = 0; e < count; ++e)
        if (std::isnan(xf[e])) xb[e] = FloatToBFloat16(0.25f), xf[e] = 0.25f;
      const std::vector<float> clean = RunPool(ref, c, xf, DataType::FLOAT32);
      for (size_t e = 0; e < clean.size(); ++e) expected[e] = FloatToBFloat16(clean[e]);
      EXPECT_EQ(RunBFloat16(c, xb, true, "avx512-bf16"), expected) << "channels-last case " << i << ", no NaN";
      // Windows whose maximum is a tie of -0 and +0: the first one read wins.
      for (size_t e = 0; e < count; ++e) {
        const int kind = static_cast<int>((e * 7) % 5);
        xf[e] = kind == 0 ? -1.0f : kind % 2 ? -0.0f : 0.0f;
        xb[e] = FloatToBFloat16(xf[e]);
      }
      const std::vector<float> zeros = RunPool(ref, c, xf, DataType::FLOAT32);
      for (size_t e = 0; e < zeros.size(); ++e) expected[e] = FloatToBFloat16(zeros[e]);
      EXPECT_EQ(RunBFloat16(c, xb, true, "avx512-bf16"), expected) << "channels-last case " << i << ", zero ties";
      continue;
    }
    EXPECT_EQ(RunBFloat16(c, xb, false), expected) << "plain case " << i;
    EXPECT_EQ(RunBFloat16(c, xb, true), expected) << "channels-last case " << i;
  }
}

TEST(MaxPool2DAvx2, BFloat16PlainAndChannelsLastMatchTheCastPath) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  ExpectBFloat16MatchesTheCastPath(false);
}

// "avx512-bf16" (cpu_avx512_bf16.cc): channels-last only, the same bits;
// NaNs (the exact scalar rule), -0 against 0 ties, -inf, channel tails.
TEST(MaxPool2DAvx512, BFloat16ChannelsLastMatchesTheCastPath) {
  if (kernels::BestIsa() < kernels::Isa::kAvx512) GTEST_SKIP() << "no AVX-512";
  ExpectBFloat16MatchesTheCastPath(true);
}

// NCHW <-> nChw`b`c (channels a multiple of b): element (n, c, p) of a plane
// of `plane` pixels at ((n * C/b + c/b) * plane + p) * b + c % b.
std::vector<float> ToBlocked(const std::vector<float>& v, int64_t n, int64_t ch, int64_t plane, int64_t b,
                             bool back = false) {
  std::vector<float> r(v.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < ch; ++k)
      for (int64_t p = 0; p < plane; ++p) {
        const size_t plain = static_cast<size_t>((i * ch + k) * plane + p);
        const size_t blocked = static_cast<size_t>(((i * (ch / b) + k / b) * plane + p) * b + k % b);
        if (back)
          r[plain] = v[blocked];
        else
          r[blocked] = v[plain];
      }
  return r;
}

// `half`: float16 storage ("avx2-f16"; x must hold float16 values).
std::vector<float> RunBlocked(const Case& c, const std::vector<float>& x, MemoryLayout layout, bool half = false) {
  ir::AttrMap attrs;
  attrs.Set("kernel", std::vector<int64_t>{c.k, c.k});
  attrs.Set("strides", std::vector<int64_t>{c.stride, c.stride});
  attrs.Set("dilations", std::vector<int64_t>{c.dilation, c.dilation});
  attrs.Set("pads", std::vector<int64_t>{c.pad, c.pad, c.pad + 1, c.pad});
  attrs.Set("ceil_mode", int64_t{c.ceil_mode ? 1 : 0});
  attrs.Set("padding_mode", std::string("EXPLICIT"));
  attrs.Set("layout", std::string("NCHW"));
  ValueInfo xi{DataType::FLOAT32, {c.n, c.c, c.h, c.w}};
  std::vector<ValueInfo> outs(1);
  EXPECT_TRUE(GetSchema(OpKind::kMaxPool2D).infer(attrs, {&xi}, outs).ok());
  if (half) {
    xi.dtype = outs[0].dtype = DataType::FLOAT16;
    xi.narrowed = outs[0].narrowed = true;
  }
  std::vector<const ValueInfo*> ins = {&xi};
  const KernelDef* def = FindKernel(OpKind::kMaxPool2D, half ? "avx2-f16" : "avx2");
  EXPECT_NE(def, nullptr);
  if (!def) return {};
  {  // the layout pass may block both sides
    KernelInit plain(attrs, ins, outs);
    std::vector<bool> in_ok, out_ok;
    def->blocked_slots(plain, layout, &in_ok, &out_ok);
    EXPECT_TRUE(in_ok[0] && out_ok[0]);
  }
  xi.layout = outs[0].layout = layout;
  KernelInit init(attrs, ins, outs);
  EXPECT_TRUE(def->supports(init));
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def->make(init, &kernel).ok());
  const int64_t b = BlockChannels(layout);
  std::vector<float> xin = ToBlocked(x, c.n, c.c, c.h * c.w, b);
  const ir::Shape& ys = outs[0].shape;
  std::vector<float> y(static_cast<size_t>(ir::ElementCount(ys)));
  if (half) {
    std::vector<uint16_t> x16(xin.size()), y16(y.size());
    for (size_t i = 0; i < xin.size(); ++i) x16[i] = FloatToHalf(xin[i]);
    EXPECT_TRUE(
        kernel
            ->Run({{DataType::FLOAT16, xi.shape, x16.data(), nullptr}}, {{DataType::FLOAT16, ys, y16.data(), nullptr}})
            .ok());
    for (size_t i = 0; i < y.size(); ++i) y[i] = HalfToFloat(y16[i]);
  } else {
    EXPECT_TRUE(
        kernel->Run({{DataType::FLOAT32, xi.shape, xin.data(), nullptr}}, {{DataType::FLOAT32, ys, y.data(), nullptr}})
            .ok());
  }
  return ToBlocked(y, c.n, c.c, ys[2] * ys[3], b, /*back=*/true);
}

TEST(MaxPool2DAvx2, Float32BlockedBitExactWithTheReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const KernelDef& ref = ReferenceKernel(OpKind::kMaxPool2D);
  const Case cases[] = {
      {1, 64, 20, 18, 3, 2, 1, 1, false},  // ResNet's stem pool, smaller
      {2, 16, 13, 11, 2, 2, 1, 0, false},  // batch, odd sizes
      {1, 32, 9, 11, 3, 1, 2, 2, true},    // dilated, stride 1, ceil_mode
      {1, 16, 10, 17, 3, 3, 1, 1, true},   // windows past the pads
      {1, 16, 7, 40, 3, 2, 1, 1, false},   // a wide row: several groups of four whole windows and a remainder
      {1, 16, 6, 23, 2, 1, 1, 0, false},   // stride 1, unpadded: every column inside
  };
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> real(-4.0f, 4.0f);
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& c = cases[i];
    const size_t count = static_cast<size_t>(c.n * c.c * c.h * c.w);
    std::vector<float> x(count);
    for (size_t e = 0; e < count; ++e) {
      const int kind = static_cast<int>(e % 23);
      x[e] = kind == 0   ? std::numeric_limits<float>::quiet_NaN()
             : kind == 6 ? -std::numeric_limits<float>::quiet_NaN()
             : kind == 3 ? 0.0f
             : kind == 4 ? -0.0f
             : kind == 5 ? -std::numeric_limits<float>::infinity()
             : kind < 14 ? -1.0f  // ties
                         : real(rng);
    }
    const std::vector<float> want = RunPool(ref, c, x, DataType::FLOAT32);
    EXPECT_TRUE(SameBits(RunBlocked(c, x, MemoryLayout::kBlocked8), want)) << "nChw8c case " << i;
    EXPECT_TRUE(SameBits(RunBlocked(c, x, MemoryLayout::kBlocked16), want)) << "nChw16c case " << i;
    // Float16 storage: the same values rounded to float16 first (NaNs, zeros
    // and infinities keep their bits).
    std::vector<float> x16(x.size());
    for (size_t e = 0; e < x.size(); ++e) x16[e] = HalfToFloat(FloatToHalf(x[e]));
    const std::vector<float> want16 = RunPool(ref, c, x16, DataType::FLOAT32);
    EXPECT_TRUE(SameBits(RunBlocked(c, x16, MemoryLayout::kBlocked8, true), want16)) << "float16 nChw8c case " << i;
    EXPECT_TRUE(SameBits(RunBlocked(c, x16, MemoryLayout::kBlocked16, true), want16)) << "float16 nChw16c case " << i;
    // Without NaNs (whole windows four pixels at a time through vmaxps:
    // blocked_row_avx512.h on AVX-512, WholeWindowsInFours on AVX2), and
    // with windows whose maximum is a tie of -0 and +0 (the first one read
    // wins).
    for (size_t e = 0; e < count; ++e)
      if (std::isnan(x[e])) x[e] = 0.25f;
    EXPECT_TRUE(SameBits(RunBlocked(c, x, MemoryLayout::kBlocked16), RunPool(ref, c, x, DataType::FLOAT32)))
        << "nChw16c case " << i << ", no NaN";
    EXPECT_TRUE(SameBits(RunBlocked(c, x, MemoryLayout::kBlocked8), RunPool(ref, c, x, DataType::FLOAT32)))
        << "nChw8c case " << i << ", no NaN";
    for (size_t e = 0; e < x.size(); ++e) x16[e] = HalfToFloat(FloatToHalf(x[e]));
    EXPECT_TRUE(SameBits(RunBlocked(c, x16, MemoryLayout::kBlocked16, true), RunPool(ref, c, x16, DataType::FLOAT32)))
        << "float16 nChw16c case " << i << ", no NaN";
    for (size_t e = 0; e < count; ++e) {
      const int kind = static_cast<int>((e * 7) % 5);
      x[e] = kind == 0 ? -1.0f : kind % 2 ? -0.0f : 0.0f;
    }
    EXPECT_TRUE(SameBits(RunBlocked(c, x, MemoryLayout::kBlocked16), RunPool(ref, c, x, DataType::FLOAT32)))
        << "nChw16c case " << i << ", zero ties";
    EXPECT_TRUE(SameBits(RunBlocked(c, x, MemoryLayout::kBlocked8), RunPool(ref, c, x, DataType::FLOAT32)))
        << "nChw8c case " << i << ", zero ties";
    EXPECT_TRUE(SameBits(RunBlocked(c, x, MemoryLayout::kBlocked16, true), RunPool(ref, c, x, DataType::FLOAT32)))
        << "float16 nChw16c case " << i << ", zero ties";
  }
}

}  // namespace
}  // namespace mixq::ops
