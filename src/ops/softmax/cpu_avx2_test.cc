// The AVX2 and AVX-512 Softmax against the reference (exp in double): within
// 1e-6 relative (a few float ulp) on rows of 1 to 6625 values (vector tails),
// wide and narrow spreads, and the same NaN / inf results: a NaN or +inf in a
// row, or a row of -inf, makes the whole row NaN in both.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "ops/kernel_registry.h"
#include "test_util/float_kernel_run.h"

namespace mixq::ops {
namespace {

std::vector<float> RunSoftmax(const KernelDef& def, const ir::Shape& shape, const std::vector<float>& x) {
  ir::AttrMap attrs;
  attrs.Set("axis", int64_t{-1});
  return test_util::RunFloatKernel(def, attrs, shape, x);
}

// Both kernels: "avx2" and "avx512" (softmax_row_avx512.cc: its own exp
// reduction, not avx2's bits). Lengths around the 8-, 16-, 32- and 64-value
// steps and tails.
void ExpectMatchesTheReference(const char* kernel, uint32_t seed) {
  const KernelDef* fast = FindKernel(OpKind::kSoftmax, kernel);
  ASSERT_NE(fast, nullptr);
  const KernelDef& ref = ReferenceKernel(OpKind::kSoftmax);
  std::mt19937 rng(seed);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  int compared = 0;
  for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100, 128, 6625}) {
    for (float spread : {0.5f, 20.0f, 3000.0f}) {
      const int64_t rows = 7;
      std::uniform_real_distribution<float> real(-spread, spread);
      std::vector<float> x(static_cast<size_t>(rows * n));
      for (auto& v : x) v = real(rng);
      x[static_cast<size_t>(1 * n + n / 2)] = nan;                               // row 1: NaN
      x[static_cast<size_t>(2 * n)] = inf;                                       // row 2: +inf
      for (int64_t k = 0; k < n; ++k) x[static_cast<size_t>(3 * n + k)] = -inf;  // row 3: all -inf
      x[static_cast<size_t>(4 * n + n - 1)] = -inf;                              // row 4: one -inf is a 0
      // row 5: the extremes of float32 (x - max overflows to -inf: a 0)
      x[static_cast<size_t>(5 * n)] = std::numeric_limits<float>::max();
      x[static_cast<size_t>(5 * n + n - 1)] = std::numeric_limits<float>::lowest();
      const auto got = RunSoftmax(*fast, {rows, n}, x);
      const auto want = RunSoftmax(ref, {rows, n}, x);
      for (size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(want[i])) {
          EXPECT_TRUE(std::isnan(got[i])) << kernel << " n " << n << " element " << i;
          continue;
        }
        EXPECT_NEAR(got[i], want[i], 1e-6 * std::fabs(want[i]) + 1e-37)
            << kernel << " n " << n << " spread " << spread << " i " << i;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 80000);
}

TEST(SoftmaxAvx2, MatchesTheReferenceWithinAFewUlp) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2+FMA";
  ExpectMatchesTheReference("avx2", 11);
}

TEST(SoftmaxAvx512, MatchesTheReferenceWithinAFewUlp) {
  if (kernels::BestIsa() < kernels::Isa::kAvx512) GTEST_SKIP() << "no AVX-512";
  ExpectMatchesTheReference("avx512", 12);
}

// Rows of -100 and 0: e^-100 is a float32 denormal, which the reference
// gives (exp in double, then float32) and the AVX-512 row too (its 2^n is a
// vscalefps).
TEST(SoftmaxAvx512, DenormalResultsAsTheReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx512) GTEST_SKIP() << "no AVX-512";
  std::vector<float> x(40, -100.0f);
  x[17] = 0.0f;
  const auto got = RunSoftmax(*FindKernel(OpKind::kSoftmax, "avx512"), {1, 40}, x);
  const auto want = RunSoftmax(ReferenceKernel(OpKind::kSoftmax), {1, 40}, x);
  ASSERT_GT(want[0], 0.0f);
  ASSERT_LT(want[0], std::numeric_limits<float>::min());
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-6 * std::fabs(want[i]) + 2e-45) << "element " << i;
}

}  // namespace
}  // namespace mixq::ops
