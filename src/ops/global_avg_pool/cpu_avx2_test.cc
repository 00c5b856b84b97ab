// The AVX2 GlobalAvgPool (cpu_avx2.cc) against the reference: NCHW and NHWC,
// planes of 1 to 4097 pixels and 1 to 13 channels (every vector tail), with
// NaN, +-inf, +-100 and denormals in some channels; within the tolerance the
// kernel file states (the count of values not bit-identical is printed).
// Blocked NCHW inputs (nChw8c, nChw16c; float32 and float16 storage): the
// reference's own summation order, so equal to the reference's means of the
// same (widened) values.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <random>

#include "ops/kernel_registry.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

std::vector<float> RunPool(const KernelDef& def, const std::string& layout, const ir::Shape& shape,
                           const std::vector<float>& x, ir::Shape* out_shape) {
  ir::AttrMap attrs;
  attrs.Set("layout", layout);
  ValueInfo xi{DataType::FLOAT32, shape, nullptr, nullptr, false};
  ValueInfo yi = xi;
  yi.shape = layout == "NCHW" ? ir::Shape{shape[0], shape[1], 1, 1} : ir::Shape{shape[0], 1, 1, shape[3]};
  *out_shape = yi.shape;
  std::vector<ValueInfo> outs = {yi};
  std::vector<const ValueInfo*> ins = {&xi};
  KernelInit init(attrs, ins, outs);
  EXPECT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def.make(init, &kernel).ok());
  std::vector<float> y(static_cast<size_t>(ir::ElementCount(yi.shape)));
  EXPECT_TRUE(kernel
                  ->Run({TensorView{DataType::FLOAT32, shape, const_cast<float*>(x.data()), nullptr}},
                        {TensorView{DataType::FLOAT32, yi.shape, y.data(), nullptr}})
                  .ok());
  return y;
}

TEST(GlobalAvgPoolAvx2, MatchesTheReference) {
  const KernelDef* fast = FindKernel(OpKind::kGlobalAvgPool, "avx2");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const KernelDef& ref = ReferenceKernel(OpKind::kGlobalAvgPool);
  std::mt19937 rng(19);
  std::uniform_real_distribution<float> real(-2.0f, 2.0f);
  const float inf = std::numeric_limits<float>::infinity();
  int64_t compared = 0, differing = 0;
  for (const std::string layout : {"NCHW", "NHWC"})
    for (auto [h, w] : {std::pair<int64_t, int64_t>{1, 1}, {3, 5}, {8, 8}, {17, 241}})
      for (int64_t c : {1, 5, 13}) {
        const ir::Shape shape = layout == "NCHW" ? ir::Shape{2, c, h, w} : ir::Shape{2, h, w, c};
        std::vector<float> x(static_cast<size_t>(ir::ElementCount(shape)));
        for (auto& v : x) v = real(rng);
        // Specials in channel 0 (NaN), 1 (+inf), 2 (+-100, denormals) of image 0.
        auto at = [&](int64_t ch, int64_t pixel) {
          return static_cast<size_t>(layout == "NCHW" ? ch * h * w + pixel : pixel * c + ch);
        };
        x[at(0, h * w / 2)] = std::nanf("");
        if (c > 1) x[at(1, 0)] = inf;
        if (c > 2)
          for (int64_t p = 0; p < h * w; ++p) x[at(2, p)] = p % 3 == 0 ? 100.0f : p % 3 == 1 ? -100.0f : 1e-40f;
        ir::Shape out_shape;
        const auto got = RunPool(*fast, layout, shape, x, &out_shape);
        const auto want = RunPool(ref, layout, shape, x, &out_shape);
        for (size_t i = 0; i < got.size(); ++i) {
          if (std::isnan(want[i]) || std::isinf(want[i])) {
            EXPECT_EQ(std::isnan(got[i]), std::isnan(want[i]));
            if (std::isinf(want[i])) {
              EXPECT_EQ(got[i], want[i]);
            }
            continue;
          }
          EXPECT_NEAR(got[i], want[i], std::ldexp(std::fabs(want[i]), -23) + 1e-15 * 100) << layout << " i " << i;
          ++compared;
          differing += got[i] != want[i];
        }
      }
  std::cout << "GlobalAvgPool avx2: " << differing << " of " << compared << " values differ from the reference\n";
}

// Element (n, c, p) of an nChw`b`c tensor of `channels` and `pixels`.
int64_t Blocked(int64_t n, int64_t c, int64_t p, int64_t channels, int64_t pixels, int64_t b) {
  return ((n * (channels / b) + c / b) * pixels + p) * b + c % b;
}

TEST(GlobalAvgPoolAvx2, BlockedInputsMatchTheReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const KernelDef& ref = ReferenceKernel(OpKind::kGlobalAvgPool);
  std::mt19937 rng(23);
  std::uniform_real_distribution<float> real(-2.0f, 2.0f);
  for (const bool half : {false, true})
    for (const MemoryLayout layout : {MemoryLayout::kBlocked8, MemoryLayout::kBlocked16})
      for (const ir::Shape& shape : {ir::Shape{2, 32, 7, 7}, ir::Shape{1, 16, 1, 1}, ir::Shape{1, 48, 13, 11}}) {
        const KernelDef* def = FindKernel(OpKind::kGlobalAvgPool, half ? "avx2-f16" : "avx2");
        ASSERT_NE(def, nullptr);
        const int64_t n = shape[0], c = shape[1], pixels = shape[2] * shape[3], b = BlockChannels(layout);
        std::vector<float> x(static_cast<size_t>(ir::ElementCount(shape)));
        for (auto& v : x) v = half ? HalfToFloat(FloatToHalf(real(rng))) : real(rng);
        x[5] = 100.0f;  // a large value in one plane
        // The kernel's input, blocked (and float16 where asked).
        std::vector<float> xb(x.size());
        std::vector<uint16_t> xh(x.size());
        for (int64_t i = 0; i < n; ++i)
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t p = 0; p < pixels; ++p) {
              const size_t from = static_cast<size_t>((i * c + ch) * pixels + p);
              const size_t to = static_cast<size_t>(Blocked(i, ch, p, c, pixels, b));
              xb[to] = x[from];
              xh[to] = FloatToHalf(x[from]);
            }
        ir::AttrMap attrs;
        attrs.Set("layout", std::string("NCHW"));
        const DataType storage = half ? DataType::FLOAT16 : DataType::FLOAT32;
        ValueInfo xi{storage, shape, nullptr, nullptr, half, layout};
        std::vector<ValueInfo> outs = {ValueInfo{DataType::FLOAT32, {n, c, 1, 1}, nullptr, nullptr, false}};
        std::vector<const ValueInfo*> ins = {&xi};
        KernelInit init(attrs, ins, outs);
        ASSERT_TRUE(def->supports(init)) << def->name;
        std::vector<bool> in_slots, out_slots;
        xi.layout = MemoryLayout::kPlain;
        def->blocked_slots(KernelInit(attrs, ins, outs), layout, &in_slots, &out_slots);
        EXPECT_TRUE(in_slots[0]);
        EXPECT_FALSE(out_slots[0]) << "the output stays plain";
        xi.layout = layout;
        std::unique_ptr<Kernel> kernel;
        ASSERT_TRUE(def->make(init, &kernel).ok());
        std::vector<float> got(static_cast<size_t>(n * c));
        ASSERT_TRUE(kernel
                        ->Run({TensorView{storage, shape, half ? static_cast<void*>(xh.data()) : xb.data(), nullptr}},
                              {TensorView{DataType::FLOAT32, {n, c, 1, 1}, got.data(), nullptr}})
                        .ok());
        ir::Shape out_shape;
        const auto want = RunPool(ref, "NCHW", shape, x, &out_shape);
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_EQ(got[i], want[i]) << def->name << " block " << b << " channel " << i;
      }
}

}  // namespace
}  // namespace mixq::ops
