// The AVX2 Softmax against the reference (exp in double): within 1e-6
// relative (a few float ulp) on rows of 1 to 6625 values (vector tails),
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

TEST(SoftmaxAvx2, MatchesTheReferenceWithinAFewUlp) {
  const KernelDef* fast = FindKernel(OpKind::kSoftmax, "avx2");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2 || kernels::BestIsa() < kernels::Isa::kAvx2)
    GTEST_SKIP() << "no AVX2+FMA";
  const KernelDef& ref = ReferenceKernel(OpKind::kSoftmax);
  std::mt19937 rng(11);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t n : {1, 7, 8, 33, 6625}) {
    for (float spread : {0.5f, 20.0f, 3000.0f}) {
      const int64_t rows = 6;
      std::uniform_real_distribution<float> real(-spread, spread);
      std::vector<float> x(static_cast<size_t>(rows * n));
      for (auto& v : x) v = real(rng);
      x[static_cast<size_t>(1 * n + n / 2)] = nan;                               // row 1: NaN
      x[static_cast<size_t>(2 * n)] = inf;                                       // row 2: +inf
      for (int64_t k = 0; k < n; ++k) x[static_cast<size_t>(3 * n + k)] = -inf;  // row 3: all -inf
      x[static_cast<size_t>(4 * n + n - 1)] = -inf;                              // row 4: one -inf is a 0
      const auto got = RunSoftmax(*fast, {rows, n}, x);
      const auto want = RunSoftmax(ref, {rows, n}, x);
      for (size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(want[i])) {
          EXPECT_TRUE(std::isnan(got[i])) << "n " << n << " element " << i;
          continue;
        }
        EXPECT_NEAR(got[i], want[i], 1e-6 * std::fabs(want[i]) + 1e-37)
            << "n " << n << " spread " << spread << " i " << i;
      }
    }
  }
}

// "avx512" (softmax_row_avx512.cc) gives "avx2"'s bits on every row:
// lengths around its 16- and 8-value steps, NaN / inf rows included.
TEST(SoftmaxAvx512, SameBitsAsTheAvx2Kernel) {
  const KernelDef* avx2 = FindKernel(OpKind::kSoftmax, "avx2");
  const KernelDef* avx512 = FindKernel(OpKind::kSoftmax, "avx512");
  ASSERT_NE(avx2, nullptr);
  ASSERT_NE(avx512, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx512) GTEST_SKIP() << "no AVX-512";
  std::mt19937 rng(12);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  int compared = 0;
  for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40, 47, 48, 49, 56, 63, 64, 65, 100, 6625}) {
    for (float spread : {0.5f, 20.0f, 3000.0f}) {
      const int64_t rows = 5;
      std::uniform_real_distribution<float> real(-spread, spread);
      std::vector<float> x(static_cast<size_t>(rows * n));
      for (auto& v : x) v = real(rng);
      x[static_cast<size_t>(1 * n + n / 2)] = nan;
      x[static_cast<size_t>(2 * n)] = inf;
      for (int64_t k = 0; k < n; ++k) x[static_cast<size_t>(3 * n + k)] = -inf;
      const auto a = RunSoftmax(*avx2, {rows, n}, x);
      const auto b = RunSoftmax(*avx512, {rows, n}, x);
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        if (std::isnan(a[i])) {
          EXPECT_TRUE(std::isnan(b[i])) << "n " << n << " element " << i;
          continue;
        }
        EXPECT_EQ(std::memcmp(&a[i], &b[i], sizeof(float)), 0)
            << "n " << n << " spread " << spread << " i " << i << ": " << a[i] << " vs " << b[i];
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 10000);
}

}  // namespace
}  // namespace mixq::ops
