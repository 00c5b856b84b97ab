// The exact int16 GEMM on AMX tiles (kernels/int16_gemm_amx.h) against int64
// sums computed here: row blocks and panels with tails, K not a multiple
// of 4 (a zero last quad) or of 64 (a partial last tile), K over one pass of
// kAmxInt16PassTaps (passes added in int64), a sub-range of row blocks, and
// the extremes of each byte product: -32768 (high byte -128, low 0) and
// -32513 (high byte -128, low 255: the middle sums' largest magnitude).
#include "kernels/int16_gemm_amx.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kernels/int16_gemm.h"

namespace mixq::kernels {
namespace {

struct Case {
  int64_t m, k, n;
};

void CheckProducts(const Case& c, int16_t extreme) {
  std::mt19937 rng(static_cast<unsigned>(c.m * 131 + c.k * 7 + c.n));
  std::uniform_int_distribution<int> value(-32768, 32767);
  std::vector<int16_t> a(static_cast<size_t>(c.m * c.k)), b(static_cast<size_t>(c.k * c.n));
  for (auto& v : a) v = static_cast<int16_t>(value(rng));
  for (auto& v : b) v = static_cast<int16_t>(value(rng));
  for (int64_t t = 0; t < c.k; ++t) {  // row 0 of A and column 0 of B all at the extreme
    a[static_cast<size_t>(t)] = extreme;
    b[static_cast<size_t>(t * c.n)] = extreme;
  }
  PackedAmxInt16A packed;
  PackAmxInt16A(
      c.m, c.k, [&](int64_t i, int64_t t) { return a[static_cast<size_t>(i * c.k + t)]; }, &packed);
  const int64_t panels = (c.n + kInt16Panel - 1) / kInt16Panel, pairs = (c.k + 1) / 2, ldc = panels * kInt16Panel;
  std::vector<int16_t> panel_data(static_cast<size_t>(panels * pairs * 2 * kInt16Panel), 0);
  PackInt16PanelsAvx2(b.data(), c.n, c.k, c.n, panel_data.data());
  const size_t split_bytes = static_cast<size_t>(panels * (pairs + 1) / 2 * 64 + kAmxPanelSlack);
  std::vector<uint8_t> hi(split_bytes, 0x5a), lo(split_bytes, 0xa5);  // the slack's bytes must not matter
  SplitInt16PanelsAmx(panel_data.data(), pairs, panels, hi.data(), lo.data());
  std::vector<int64_t> got(static_cast<size_t>(packed.hi.blocks * kAmxRows * ldc), -1);
  GemmInt16SplitTileAmx(packed, 0, packed.hi.blocks, hi.data(), lo.data(), panels, got.data(), ldc);
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      int64_t want = 0;
      for (int64_t t = 0; t < c.k; ++t)
        want += int64_t{a[static_cast<size_t>(i * c.k + t)]} * b[static_cast<size_t>(t * c.n + j)];
      ASSERT_EQ(got[static_cast<size_t>(i * ldc + j)], want)
          << "m " << c.m << " k " << c.k << " n " << c.n << " at " << i << "," << j;
    }
  if (packed.hi.blocks < 2) return;
  // Row blocks from the second on: C starts at that block's first row.
  std::vector<int64_t> tail(static_cast<size_t>((packed.hi.blocks - 1) * kAmxRows * ldc), -1);
  GemmInt16SplitTileAmx(packed, 1, packed.hi.blocks, hi.data(), lo.data(), panels, tail.data(), ldc);
  for (int64_t i = kAmxRows; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j)
      ASSERT_EQ(tail[static_cast<size_t>((i - kAmxRows) * ldc + j)], got[static_cast<size_t>(i * ldc + j)]) << i;
}

TEST(Int16GemmAmx, SplitTilesGiveTheExactInt64Sums) {
  if (BestIsa() < Isa::kAmx) GTEST_SKIP() << "no AMX-INT8";
  for (const Case& c : {Case{16, 64, 16}, Case{37, 67, 40}, Case{5, 3, 7}, Case{20, 300, 33}, Case{17, 2 * 4608, 16}})
    for (const int16_t extreme : {int16_t{-32768}, int16_t{-32513}, int16_t{32767}}) {
      SCOPED_TRACE(extreme);
      CheckProducts(c, extreme);
    }
}

// K over one pass: the int32 tiles are combined into the int64 sums per
// kAmxInt16PassTaps taps, with every product at its largest magnitude.
TEST(Int16GemmAmx, PassesOverTheInt32LimitAddUpInInt64) {
  if (BestIsa() < Isa::kAmx) GTEST_SKIP() << "no AMX-INT8";
  CheckProducts(Case{18, kAmxInt16PassTaps + 70, 17}, -32513);
}

// The byte panels packed straight from B's rows (an implicit im2col's
// offsets, or rows with a stride) are the int16 panels split: K of every
// residue mod 4 (a last quad of 1-3 taps), a last panel of 1-15 columns.
TEST(Int16GemmAmx, DirectPackingMatchesTheSplitInt16Panels) {
  if (BestIsa() < Isa::kAvx512) GTEST_SKIP() << "needs AVX-512";
  std::mt19937 rng(41);
  std::uniform_int_distribution<int> value(-32768, 32767);
  for (const int64_t k : {1, 2, 3, 4, 5, 67, 300})
    for (const int64_t cols : {16, 7, 37}) {
      SCOPED_TRACE(testing::Message() << "k " << k << " cols " << cols);
      const int64_t stride = cols + 5;  // rows of `cols` values, some slack between them
      std::vector<int16_t> b(static_cast<size_t>(k * stride + 16), 0);
      for (auto& v : b) v = static_cast<int16_t>(value(rng));
      const int64_t panels = (cols + kInt16Panel - 1) / kInt16Panel, pairs = (k + 1) / 2;
      const int64_t panel_bytes = (k + 3) / 4 * 64;
      const size_t bytes = static_cast<size_t>(panels * panel_bytes);
      // Reference: the int16 panels (PackInt16PanelsAvx2 never reads past a row), split.
      std::vector<int16_t> panel_data(static_cast<size_t>(panels * pairs * 2 * kInt16Panel), 0);
      PackInt16PanelsAvx2(b.data(), stride, k, cols, panel_data.data());
      std::vector<uint8_t> want_hi(bytes), want_lo(bytes);
      SplitInt16PanelsAmx(panel_data.data(), pairs, panels, want_hi.data(), want_lo.data());
      std::vector<uint8_t> hi(bytes, 0x33), lo(bytes, 0x33);
      PackSplitInt16RowsAmx(b.data(), stride, k, cols, hi.data(), lo.data());
      for (size_t i = 0; i < bytes; ++i) {
        ASSERT_EQ(hi[i], want_hi[i]) << "rows, byte " << i;
        ASSERT_EQ(lo[i], want_lo[i]) << "rows, byte " << i;
      }
      // Offsets: row r at r * stride; the columns past `cols` are B's own slack values there, so
      // compare the valid columns of each quad only.
      std::vector<int64_t> offsets(static_cast<size_t>(k));
      for (int64_t r = 0; r < k; ++r) offsets[static_cast<size_t>(r)] = r * stride;
      std::fill(hi.begin(), hi.end(), 0x33);
      std::fill(lo.begin(), lo.end(), 0x33);
      PackSplitInt16FromOffsetsAmx(b.data(), offsets.data(), k, cols, hi.data(), lo.data());
      for (size_t i = 0; i < bytes; ++i) {
        const int64_t column = static_cast<int64_t>(i) / panel_bytes * 16 + static_cast<int64_t>(i % 64) / 4;
        if (column >= cols) continue;
        ASSERT_EQ(hi[i], want_hi[i]) << "byte " << i;
        ASSERT_EQ(lo[i], want_lo[i]) << "byte " << i;
      }
    }
}

}  // namespace
}  // namespace mixq::kernels
