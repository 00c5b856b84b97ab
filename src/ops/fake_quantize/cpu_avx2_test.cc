// The AVX2 FakeQuantize against the reference, bit for bit: 8- and 16-bit
// grids, per tensor and per axis, odd sizes (vector tails), values at the
// grid's half steps (ties to even), beyond its range, NaN, +-inf and huge.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "ops/kernel_registry.h"
#include "test_util/float_kernel_run.h"

namespace mixq::ops {
namespace {

std::vector<float> RunFq(const KernelDef& def, const ir::Shape& shape, const std::vector<float>& x, int bits,
                         const std::vector<float>& scales, const std::vector<int64_t>& zero_points, int64_t axis) {
  ir::AttrMap attrs;
  attrs.Set("bits", int64_t{bits});
  attrs.Set("scales", scales);
  attrs.Set("zero_points", zero_points);
  attrs.Set("axis", axis);
  return test_util::RunFloatKernel(def, attrs, shape, x);
}

TEST(FakeQuantizeAvx2, BitExactWithTheReference) {
  const KernelDef* fast = FindKernel(OpKind::kFakeQuantize, "avx2");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const KernelDef& ref = ReferenceKernel(OpKind::kFakeQuantize);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> real(-40.0f, 40.0f);
  const ir::Shape shape = {2, 3, 7, 5};
  std::vector<float> x(2 * 3 * 7 * 5);
  for (size_t e = 0; e < x.size(); ++e) {
    switch (e % 11) {
      case 0:
        x[e] = std::numeric_limits<float>::quiet_NaN();
        break;
      case 1:
        x[e] = (e % 2 ? 1 : -1) * std::numeric_limits<float>::infinity();
        break;
      case 2:
        x[e] = (e % 2 ? 1 : -1) * 3e38f;
        break;
      case 3:
        x[e] = (static_cast<float>(e % 9) - 4.0f + 0.5f) * 0.25f;
        break;  // half steps of 0.25
      case 4:
        x[e] = -0.0f;
        break;
      default:
        x[e] = real(rng);
    }
  }
  struct Grid {
    int bits;
    std::vector<float> scales;
    std::vector<int64_t> zero_points;
    int64_t axis;
  };
  const Grid grids[] = {
      {8, {0.25f}, {-3}, -1},
      {8, {0.1f}, {-128}, -1},
      {16, {0.001f}, {7}, -1},
      {8, {0.25f, 0.05f, 3.0f}, {0, 10, -100}, 1},
      {16, {0.5f, 1e-4f, 2.0f, 0.25f, 0.125f}, {0, 1, 2, 3, 4}, 3},
  };
  for (size_t i = 0; i < std::size(grids); ++i) {
    const Grid& g = grids[i];
    const auto got = RunFq(*fast, shape, x, g.bits, g.scales, g.zero_points, g.axis);
    const auto want = RunFq(ref, shape, x, g.bits, g.scales, g.zero_points, g.axis);
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << "grid " << i;
  }
  // Per tensor past the parallel threshold, on two threads: chunks of the
  // one block over the threads, and a tail.
  const int prior = omp_get_max_threads();
  omp_set_num_threads(2);
  const ir::Shape big = {1, 17, 130, 131};
  std::vector<float> xb(static_cast<size_t>(ir::ElementCount(big)));
  for (size_t e = 0; e < xb.size(); ++e) xb[e] = e % 7 == 0 ? x[e % x.size()] : real(rng);
  const auto got = RunFq(*fast, big, xb, 8, {0.25f}, {-3}, -1);
  const auto want = RunFq(ref, big, xb, 8, {0.25f}, {-3}, -1);
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0);
  omp_set_num_threads(prior);
}

}  // namespace
}  // namespace mixq::ops
