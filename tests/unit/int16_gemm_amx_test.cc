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
  const int64_t panels = (c.n + kInt16Panel - 1) / kInt16Panel, ldc = panels * kInt16Panel;
  const size_t split_bytes = static_cast<size_t>(panels * ((c.k + 3) / 4) * 64 + kAmxPanelSlack);
  std::vector<uint8_t> hi(split_bytes, 0x5a), lo(split_bytes, 0xa5);  // the slack's bytes must not matter
  PackSplitInt16RowsAmx(b.data(), c.n, c.k, c.n, hi.data(), lo.data());
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

// B's byte panels, from rows with a stride and from an implicit im2col's
// offsets, against the layout computed here byte by byte ([panel][quad]
// [column][tap], b >> 8 and b & 0xFF, zero past K and past the columns):
// K of every residue mod 4 (a last quad of 1-3 taps), a last panel of 1-15
// columns.
TEST(Int16GemmAmx, SplitPackingPutsEachByteInItsPlace) {
  if (BestIsa() < Isa::kAvx512) GTEST_SKIP() << "needs AVX-512";
  std::mt19937 rng(41);
  std::uniform_int_distribution<int> value(-32768, 32767);
  for (const int64_t k : {1, 2, 3, 4, 5, 67, 300})
    for (const int64_t cols : {16, 7, 37}) {
      SCOPED_TRACE(testing::Message() << "k " << k << " cols " << cols);
      const int64_t stride = cols + 5;  // rows of `cols` values, some slack between them
      std::vector<int16_t> b(static_cast<size_t>(k * stride + 16), 0);
      for (auto& v : b) v = static_cast<int16_t>(value(rng));
      const int64_t panels = (cols + 15) / 16, panel_bytes = (k + 3) / 4 * 64;
      const size_t bytes = static_cast<size_t>(panels * panel_bytes);
      std::vector<uint8_t> want_hi(bytes), want_lo(bytes);
      for (size_t i = 0; i < bytes; ++i) {
        const int64_t at = static_cast<int64_t>(i), panel = at / panel_bytes, quad = at % panel_bytes / 64;
        const int64_t column = panel * 16 + at % 64 / 4, tap = quad * 4 + at % 4;
        const int16_t v = tap < k && column < cols ? b[static_cast<size_t>(tap * stride + column)] : 0;
        want_hi[i] = static_cast<uint8_t>(static_cast<uint16_t>(v) >> 8);
        want_lo[i] = static_cast<uint8_t>(v & 0xFF);
      }
      std::vector<uint8_t> hi(bytes, 0x33), lo(bytes, 0x33);
      PackSplitInt16RowsAmx(b.data(), stride, k, cols, hi.data(), lo.data());
      ASSERT_EQ(hi, want_hi);
      ASSERT_EQ(lo, want_lo);
      // Offsets: row r at r * stride; columns past `cols` are B's own slack there, not compared.
      std::vector<int64_t> offsets(static_cast<size_t>(k));
      for (int64_t r = 0; r < k; ++r) offsets[static_cast<size_t>(r)] = r * stride;
      std::fill(hi.begin(), hi.end(), 0x33);
      std::fill(lo.begin(), lo.end(), 0x33);
      PackSplitInt16FromOffsetsAmx(b.data(), offsets.data(), k, cols, hi.data(), lo.data());
      for (size_t i = 0; i < bytes; ++i) {
        const int64_t at = static_cast<int64_t>(i);
        if (at / panel_bytes * 16 + at % 64 / 4 >= cols) continue;
        ASSERT_EQ(hi[i], want_hi[i]) << "byte " << i;
        ASSERT_EQ(lo[i], want_lo[i]) << "byte " << i;
      }
    }
}

}  // namespace
}  // namespace mixq::kernels
