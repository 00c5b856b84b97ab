// The AVX2 GlobalAvgPool (cpu_avx2.cc) against the reference: NCHW and NHWC,
// planes of 1 to 4097 pixels and 1 to 13 channels (every vector tail), with
// NaN, +-inf, +-100 and denormals in some channels; within the tolerance the
// kernel file states (the count of values not bit-identical is printed).
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <random>

#include "ops/kernel_registry.h"

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

}  // namespace
}  // namespace mixq::ops
