// The AVX2 + FMA float Activation kernels (cpu_avx2_float.cc) against the
// reference (double): every 1024th float in [-1e4, 1e4] plus the specials
// (+-inf, NaN, +-0, +-100, +-88, denormals, +-FLT_MAX) on lengths with every
// vector tail, within the tolerance the kernel file states; the largest
// relative error is printed (the figures in the kernel file's comment).
// hard_sigmoid is bit-exact.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <iostream>
#include <limits>

#include "ops/kernel_registry.h"
#include "test_util/float_kernel_run.h"

namespace mixq::ops {
namespace {

std::vector<float> RunKernel(const KernelDef& def, const ir::AttrMap& attrs, const std::vector<float>& x) {
  const ir::Shape shape = {static_cast<int64_t>(x.size())};
  return test_util::RunFloatKernel(def, attrs, shape, x);
}

std::vector<float> Specials() {
  const float inf = std::numeric_limits<float>::infinity();
  return {std::nanf(""), inf,     -inf,   0.0f,    -0.0f,   100.0f,   -100.0f, 88.0f,   -88.0f,
          1e-40f,        -1e-40f, 1e-30f, -1e-30f, FLT_MAX, -FLT_MAX, 0.625f,  -0.625f, 0.921875f,
          3.925f,        -5.6f,   5.6f,   -3.0e6f, 7e12f,   -7e12f,   0.5f};
}

std::vector<float> Sweep() {
  std::vector<float> x;
  for (uint32_t bits = 0; bits < 0x461C4000u; bits += 1024)  // 0 .. 1e4
    for (uint32_t sign : {0u, 0x80000000u}) {
      float v;
      const uint32_t b = bits | sign;
      std::memcpy(&v, &b, sizeof v);
      x.push_back(v);
    }
  x.push_back(1.0f);  // an odd length: a vector tail
  return x;
}

struct Tolerance {
  const char* type;
  double rel, abs;
};

TEST(ActivationAvx2Float, WithinTheStatedToleranceOfTheReference) {
  const KernelDef* fast = FindKernel(OpKind::kActivation, "avx2-fma");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2 || kernels::BestIsa() < kernels::Isa::kAvx2)
    GTEST_SKIP() << "no AVX2+FMA";
  const KernelDef& ref = ReferenceKernel(OpKind::kActivation);
  const auto sweep = Sweep();
  for (const Tolerance& t :
       {Tolerance{"sigmoid", 2e-6, 1e-37}, Tolerance{"tanh", 2e-6, 1e-37}, Tolerance{"silu", 2e-6, 2e-36},
        Tolerance{"gelu_tanh", 4e-6, 1e-14}, Tolerance{"gelu_erf", 2e-6, 5e-8}}) {
    SCOPED_TRACE(t.type);
    ir::AttrMap attrs;
    attrs.Set("type", std::string(t.type));
    double worst = 0, worst_abs = 0;
    for (int length = 1; length <= 17; length += 2) {  // the specials at every tail position
      std::vector<float> x = Specials();
      x.resize(x.size() + static_cast<size_t>(length), 0.75f);
      const auto got = RunKernel(*fast, attrs, x);
      const auto want = RunKernel(ref, attrs, x);
      for (size_t i = 0; i < x.size(); ++i) {
        if (std::isnan(want[i]) || std::isinf(want[i])) {
          EXPECT_EQ(std::isnan(got[i]), std::isnan(want[i])) << x[i];
          if (std::isinf(want[i])) {
            EXPECT_EQ(got[i], want[i]) << x[i];
          }
          continue;
        }
        EXPECT_NEAR(got[i], want[i], t.rel * std::fabs(want[i]) + t.abs) << "x = " << x[i];
      }
    }
    const auto got = RunKernel(*fast, attrs, sweep);
    const auto want = RunKernel(ref, attrs, sweep);
    int failures = 0;
    for (size_t i = 0; i < sweep.size(); ++i) {
      const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
      if (std::fabs(want[i]) > 1e-6) worst = std::max(worst, err / std::fabs(want[i]));
      worst_abs = std::max(worst_abs, err);
      if (std::isinf(want[i]) && got[i] == want[i]) continue;
      if (!(err <= t.rel * std::fabs(want[i]) + t.abs) && failures++ < 5)
        ADD_FAILURE() << "x = " << sweep[i] << " got " << got[i] << " want " << want[i];
    }
    std::cout << t.type << ": largest relative error (|ref| > 1e-6) " << worst << ", largest absolute error "
              << worst_abs << " over " << sweep.size() << " values\n";
  }
}

TEST(ActivationAvx2Float, HardSigmoidIsBitExact) {
  const KernelDef* fast = FindKernel(OpKind::kActivation, "avx2-fma");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2 || kernels::BestIsa() < kernels::Isa::kAvx2)
    GTEST_SKIP() << "no AVX2+FMA";
  const KernelDef& ref = ReferenceKernel(OpKind::kActivation);
  std::vector<float> x = Specials();
  for (int i = 0; i < 1001; ++i) x.push_back(-8.0f + 0.016f * static_cast<float>(i));
  const float unset = std::numeric_limits<float>::quiet_NaN();
  for (auto [alpha, beta] : {std::pair{unset, unset}, std::pair{1.0f / 6.0f, 0.5f}, std::pair{-0.3f, 0.1f}}) {
    ir::AttrMap attrs;
    attrs.Set("type", std::string("hard_sigmoid"));
    attrs.Set("alpha", alpha);
    attrs.Set("beta", beta);
    const auto got = RunKernel(*fast, attrs, x), want = RunKernel(ref, attrs, x);
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << alpha;
  }
}

}  // namespace
}  // namespace mixq::ops
