// The int16 GEMM tiles (kernels/int16_gemm.h) on each block kernel this CPU
// runs: AVX2 (vpmaddwd + vpaddd) and, where the CPU has it, AVX-512 VNNI
// (vpdpwssd), against integer sums computed here. Row-block and panel
// counts with tails, K odd and over one 128-pair chunk (C accumulated
// across chunks), a sub-range of row blocks, extreme values (-32768 pairs
// that vpmaddwd wraps the same way on both), and the split int64 form.
#include "kernels/int16_gemm.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace mixq::kernels {
namespace {

struct Case {
  int64_t m, k, n;
  int16_t lo, hi;  // the values' range
};

std::vector<Isa> IsasToRun() {
  std::vector<Isa> isas;
  if (DetectedCpuFeatures().avx2) isas.push_back(Isa::kAvx2);
  if (BestIsa() >= Isa::kAvx512Vnni) isas.push_back(Isa::kAvx512Vnni);
  return isas;
}

TEST(Int16Gemm, TilesOnEveryBlockKernelGiveTheIntegerSums) {
  const std::vector<Isa> isas = IsasToRun();
  if (isas.empty()) GTEST_SKIP() << "no AVX2";
  const Case cases[] = {{6, 2, 16, -255, 255},
                        {13, 37, 35, -255, 255},
                        {7, 301, 20, -128, 127},
                        {25, 260, 48, -255, 255},
                        {6, 3, 17, -32768, 32767}};
  std::mt19937 rng(5);
  for (const Case& c : cases) {
    std::uniform_int_distribution<int> value(c.lo, c.hi);
    std::vector<int16_t> a(static_cast<size_t>(c.m * c.k)), b(static_cast<size_t>(c.k * c.n));
    for (auto& v : a) v = static_cast<int16_t>(value(rng));
    for (auto& v : b) v = static_cast<int16_t>(value(rng));
    if (c.lo == -32768) a[0] = a[1] = b[0] = b[static_cast<size_t>(c.n)] = -32768;  // a wrapping pair
    PackedInt16A packed;
    PackInt16A(
        c.m, c.k, [&](int64_t i, int64_t t) { return a[static_cast<size_t>(i * c.k + t)]; }, &packed);
    const int64_t panels = (c.n + kInt16Panel - 1) / kInt16Panel, pairs = (c.k + 1) / 2;
    std::vector<int16_t> panel_data(static_cast<size_t>(panels * pairs * 2 * kInt16Panel + 64), 0);
    PackInt16PanelsAvx2(b.data(), c.n, c.k, c.n, panel_data.data());
    const int64_t ldc = panels * kInt16Panel;
    // Row blocks [first, last): all of them, then all but the first.
    for (const int64_t first : {int64_t{0}, std::min<int64_t>(1, packed.blocks - 1)}) {
      std::vector<std::vector<int32_t>> results;
      for (Isa isa : isas) {
        std::vector<int32_t> got(static_cast<size_t>((packed.blocks - first) * kInt16RowBlock * ldc), 0);
        GemmInt16TileIsa(isa, packed, first, packed.blocks, panel_data.data(), panels, got.data(), ldc);
        for (int64_t i = first * kInt16RowBlock; i < c.m; ++i)
          for (int64_t j = 0; j < c.n; ++j) {
            uint32_t want = 0;  // mod 2^32, as the 32-bit lanes wrap
            for (int64_t t = 0; t < c.k; ++t)
              want += static_cast<uint32_t>(static_cast<int32_t>(a[static_cast<size_t>(i * c.k + t)]) *
                                            b[static_cast<size_t>(t * c.n + j)]);
            ASSERT_EQ(static_cast<uint32_t>(got[static_cast<size_t>((i - first * kInt16RowBlock) * ldc + j)]), want)
                << "isa " << static_cast<int>(isa) << " m " << c.m << " k " << c.k << " row " << i << " col " << j;
          }
        results.push_back(got);
      }
      for (size_t r = 1; r < results.size(); ++r) EXPECT_EQ(results[r], results[0]);
    }
  }
}

TEST(Int16Gemm, SplitTilesOnEveryBlockKernelGiveTheExactInt64Sums) {
  const std::vector<Isa> isas = IsasToRun();
  if (isas.empty()) GTEST_SKIP() << "no AVX2";
  // Three 128-pair chunks (the int64 sums accumulate across them), tails
  // everywhere; 21 columns: one pair of panels (the VNNI kernel's two-panel
  // form), 40: a pair and a single panel, 7: one panel alone.
  for (const int64_t n : {21, 40, 7}) {
    const int64_t m = 11, k = 300;
    std::mt19937 rng(static_cast<unsigned>(6 + n));
    std::uniform_int_distribution<int> value(-32768, 32767);
    std::vector<int16_t> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n));
    for (auto& v : a) v = static_cast<int16_t>(value(rng));
    for (auto& v : b) v = static_cast<int16_t>(value(rng));
    // The extremes: every product of row 0 and column 0 is 2^30.
    for (int64_t t = 0; t < k; ++t) {
      a[static_cast<size_t>(t)] = -32768;
      b[static_cast<size_t>(t * n)] = -32768;
    }
    PackedInt16A hi, lo;
    PackInt16A(
        m, k, [&](int64_t i, int64_t t) { return static_cast<int16_t>(a[static_cast<size_t>(i * k + t)] >> 8); }, &hi);
    PackInt16A(
        m, k, [&](int64_t i, int64_t t) { return static_cast<int16_t>(a[static_cast<size_t>(i * k + t)] & 0xFF); },
        &lo);
    const int64_t panels = (n + kInt16Panel - 1) / kInt16Panel, pairs = (k + 1) / 2, ldc = panels * kInt16Panel;
    std::vector<int16_t> panel_data(static_cast<size_t>(panels * pairs * 2 * kInt16Panel + 64), 0);
    PackInt16PanelsAvx2(b.data(), n, k, n, panel_data.data());
    for (Isa isa : isas) {
      std::vector<int64_t> got(static_cast<size_t>(hi.blocks * kInt16RowBlock * ldc), 0);
      GemmInt16SplitTileIsa(isa, hi, lo, 0, hi.blocks, panel_data.data(), panels, got.data(), ldc);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          int64_t want = 0;
          for (int64_t t = 0; t < k; ++t)
            want += int64_t{a[static_cast<size_t>(i * k + t)]} * b[static_cast<size_t>(t * n + j)];
          ASSERT_EQ(got[static_cast<size_t>(i * ldc + j)], want)
              << "isa " << static_cast<int>(isa) << " n " << n << " " << i << "," << j;
        }
      // Row blocks from the second on: C starts at the first block's rows.
      std::vector<int64_t> tail(static_cast<size_t>(kInt16RowBlock * ldc), 0);
      GemmInt16SplitTileIsa(isa, hi, lo, 1, 2, panel_data.data(), panels, tail.data(), ldc);
      for (int64_t j = 0; j < n; ++j)
        ASSERT_EQ(tail[static_cast<size_t>(j)], got[static_cast<size_t>(kInt16RowBlock * ldc + j)]) << "isa n " << n;
    }
  }
}

TEST(Int16Gemm, SplitPackingOfAMatchesTheCallbackPacking) {
  // Odd rows (a padding row block) and odd depth (a zero last pair half), the extremes included.
  const int64_t m = 13, k = 37, lda = 40;
  std::mt19937 rng(8);
  std::uniform_int_distribution<int> value(-32768, 32767);
  std::vector<int16_t> a(static_cast<size_t>(m * lda));
  for (auto& v : a) v = static_cast<int16_t>(value(rng));
  a[0] = -32768;
  a[1] = 32767;
  PackedInt16A hi, lo, want_hi, want_lo;
  PackInt16SplitA(a.data(), lda, m, k, &hi, &lo);
  PackInt16A(
      m, k, [&](int64_t i, int64_t t) { return static_cast<int16_t>(a[static_cast<size_t>(i * lda + t)] >> 8); },
      &want_hi);
  PackInt16A(
      m, k, [&](int64_t i, int64_t t) { return static_cast<int16_t>(a[static_cast<size_t>(i * lda + t)] & 0xFF); },
      &want_lo);
  EXPECT_EQ(hi.m, want_hi.m);
  EXPECT_EQ(hi.pairs, want_hi.pairs);
  EXPECT_EQ(hi.blocks, want_hi.blocks);
  EXPECT_EQ(hi.data, want_hi.data);
  EXPECT_EQ(lo.data, want_lo.data);
}

}  // namespace
}  // namespace mixq::kernels
