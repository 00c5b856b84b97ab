// The AVX2 and AVX-512 LayerNorm (cpu_avx2.cc, cpu_avx512.cc) against the
// reference: rows of 1 to 4099 values (every vector tail), scale / bias per element or one value, bias
// absent, rows holding NaN, +inf, a mean of 1e4 with a spread of 1e-2, +-100
// and denormals; within the tolerance the kernel file states (the count of
// values not bit-identical is printed: 0 when written).
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <random>

#include "ops/kernel_registry.h"

namespace mixq::ops {
namespace {

std::vector<float> RunLayerNorm(const KernelDef& def, const ir::Shape& shape, const std::vector<float>& x,
                                const std::vector<float>& scale, const std::vector<float>* bias) {
  ir::AttrMap attrs;
  attrs.Set("axis", int64_t{-1});
  attrs.Set("epsilon", 1e-5f);
  ValueInfo xi{DataType::FLOAT32, shape, nullptr, nullptr, false};
  ValueInfo si{DataType::FLOAT32, {static_cast<int64_t>(scale.size())}, nullptr, nullptr, false};
  ValueInfo bi{DataType::FLOAT32, {bias ? static_cast<int64_t>(bias->size()) : 1}, nullptr, nullptr, false};
  std::vector<ValueInfo> outs = {xi};
  std::vector<const ValueInfo*> ins = {&xi, &si};
  if (bias) ins.push_back(&bi);
  KernelInit init(attrs, ins, outs);
  EXPECT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def.make(init, &kernel).ok());
  std::vector<float> y(x.size());
  std::vector<TensorView> in = {TensorView{DataType::FLOAT32, shape, const_cast<float*>(x.data()), nullptr},
                                TensorView{DataType::FLOAT32, si.shape, const_cast<float*>(scale.data()), nullptr}};
  if (bias) in.push_back(TensorView{DataType::FLOAT32, bi.shape, const_cast<float*>(bias->data()), nullptr});
  EXPECT_TRUE(kernel->Run(in, {TensorView{DataType::FLOAT32, shape, y.data(), nullptr}}).ok());
  return y;
}

void ExpectWithinOneUlp(const char* kernel) {
  const KernelDef* fast = FindKernel(OpKind::kLayerNorm, kernel);
  ASSERT_NE(fast, nullptr);
  const KernelDef& ref = ReferenceKernel(OpKind::kLayerNorm);
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> real(-3.0f, 3.0f);
  const float inf = std::numeric_limits<float>::infinity();
  int64_t compared = 0, differing = 0;
  for (int64_t n : {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 768, 4099}) {
    const int64_t rows = 7;
    std::vector<float> x(static_cast<size_t>(rows * n));
    for (auto& v : x) v = real(rng);
    x[static_cast<size_t>(n / 2)] = std::nanf("");  // row 0: NaN
    x[static_cast<size_t>(n + n / 3)] = inf;        // row 1: +inf
    for (int64_t k = 0; k < n; ++k) {
      x[static_cast<size_t>(2 * n + k)] = 1e4f + 1e-2f * real(rng);            // row 2: large mean
      x[static_cast<size_t>(3 * n + k)] = k % 2 ? 100.0f : -100.0f;            // row 3: +-100
      x[static_cast<size_t>(4 * n + k)] = 1e-40f * static_cast<float>(k % 5);  // row 4: denormals
    }
    std::vector<float> scale(static_cast<size_t>(n)), bias(static_cast<size_t>(n));
    for (auto& v : scale) v = real(rng);
    for (auto& v : bias) v = real(rng);
    const std::vector<float> one_scale = {1.5f}, one_bias = {-0.25f};
    struct Params {
      const std::vector<float>* scale;
      const std::vector<float>* bias;
    };
    for (const Params& p : {Params{&scale, &bias}, Params{&scale, nullptr}, Params{&one_scale, &one_bias}}) {
      const auto got = RunLayerNorm(*fast, {rows, n}, x, *p.scale, p.bias);
      const auto want = RunLayerNorm(ref, {rows, n}, x, *p.scale, p.bias);
      for (size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(want[i])) {
          EXPECT_TRUE(std::isnan(got[i])) << "n " << n << " i " << i;
          continue;
        }
        const size_t j = i % static_cast<size_t>(n);
        const double b = p.bias ? std::fabs((*p.bias)[p.bias->size() == 1 ? 0 : j]) : 0.0;
        EXPECT_NEAR(got[i], want[i], std::ldexp(std::fabs(want[i]), -23) + 1e-15 * (1 + b)) << "n " << n << " i " << i;
        ++compared;
        differing += got[i] != want[i];
      }
    }
  }
  std::cout << "LayerNorm " << kernel << ": " << differing << " of " << compared
            << " values differ from the reference\n";
}

TEST(LayerNormAvx2, MatchesTheReferenceWithinOneUlp) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  ExpectWithinOneUlp("avx2");
}

// cpu_avx512.cc: the same arithmetic, eight doubles a vector.
TEST(LayerNormAvx512, MatchesTheReferenceWithinOneUlp) {
  if (kernels::BestIsa() < kernels::Isa::kAvx512) GTEST_SKIP() << "no AVX-512";
  ExpectWithinOneUlp("avx512");
}

}  // namespace
}  // namespace mixq::ops
