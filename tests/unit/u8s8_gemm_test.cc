// kernels/u8s8_gemm: the split of 8-bit weights into a dense part vpmaddubsw
// sums exactly and a sparse remainder. GemmU8S8TileAvx2 against integer sums
// computed here, on weights at the ends of the range (127 next to -127, -128,
// a centered 128), several K chunks, odd K and row tails.
#include "kernels/u8s8_gemm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/u8s8_gemm_amx.h"

namespace mixq::kernels {
namespace {

struct Product {
  std::vector<int32_t> got, want;
};

// Which tile a case runs: the AVX2 one on pairs split for vpmaddubsw, or
// the AVX-512 VNNI one on A packed either way.
enum class Tile { kAvx2, kVnniPairSplit, kVnniByteSplit };

bool CanRun(Tile tile) {
  return tile == Tile::kAvx2 ? DetectedCpuFeatures().avx2 : BestIsa() >= Isa::kAvx512Vnni;
}

// C = A (m x k, values in [-128, 128]) times (B - zero_point), B u8 (k x cols).
Product Multiply(const std::vector<int16_t>& a, int64_t m, int64_t k, int64_t cols, uint32_t seed,
                 Tile tile = Tile::kAvx2) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> b(static_cast<size_t>(k * cols));
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i % 11 == 0 ? (i % 2 ? 255 : 0) : byte(rng));
  const int32_t zero_point = 131;
  PackedS8A packed;
  PackS8A(a.data(), m, k, k, &packed, tile == Tile::kVnniByteSplit ? S8Split::kBytes : S8Split::kPairs);
  const int64_t panels = (cols + kU8S8Panel - 1) / kU8S8Panel;
  std::vector<int64_t> offsets(static_cast<size_t>(k));
  for (int64_t t = 0; t < k; ++t) offsets[static_cast<size_t>(t)] = t * (panels * kU8S8Panel);
  std::vector<uint8_t> rows(static_cast<size_t>((k + 1) * panels * kU8S8Panel), 0);
  for (int64_t t = 0; t < k; ++t)
    for (int64_t j = 0; j < cols; ++j)
      rows[static_cast<size_t>(t * panels * kU8S8Panel + j)] = b[static_cast<size_t>(t * cols + j)];
  std::vector<uint8_t> panel_data(static_cast<size_t>(panels * packed.quads * 4 * kU8S8Panel));
  PackU8PanelsFromOffsetsAvx2(rows.data(), offsets.data(), k, cols, panel_data.data());
  const int64_t ldc = panels * kU8S8Panel;
  Product p;
  p.got.assign(static_cast<size_t>(packed.blocks * kU8S8RowBlock * ldc), 0);
  if (tile == Tile::kAvx2)
    GemmU8S8TileAvx2(packed, 0, packed.blocks, panel_data.data(), panels, zero_point, p.got.data(), ldc);
  else
    GemmU8S8TileVnni(packed, 0, packed.blocks, panel_data.data(), panels, zero_point, p.got.data(), ldc);
  p.want.assign(p.got.size(), 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      int64_t sum = 0;
      for (int64_t t = 0; t < k; ++t)
        sum += int64_t{a[static_cast<size_t>(i * k + t)]} * (b[static_cast<size_t>(t * cols + j)] - zero_point);
      p.want[static_cast<size_t>(i * ldc + j)] = static_cast<int32_t>(sum);
    }
  for (int64_t i = 0; i < m; ++i)  // the padding columns are not compared
    for (int64_t j = cols; j < ldc; ++j) p.got[static_cast<size_t>(i * ldc + j)] = 0;
  p.got.resize(static_cast<size_t>(m * ldc));
  p.want.resize(static_cast<size_t>(m * ldc));
  return p;
}

class U8S8GemmTiles : public ::testing::TestWithParam<Tile> {
 protected:
  void SetUp() override {
    if (!CanRun(GetParam())) GTEST_SKIP() << "this CPU lacks the tile's instructions";
  }
};

INSTANTIATE_TEST_SUITE_P(AllTiles, U8S8GemmTiles,
                         ::testing::Values(Tile::kAvx2, Tile::kVnniPairSplit, Tile::kVnniByteSplit),
                         [](const auto& info) {
                           return info.param == Tile::kAvx2            ? std::string("Avx2")
                                  : info.param == Tile::kVnniPairSplit ? std::string("VnniPairSplit")
                                                                       : std::string("VnniByteSplit");
                         });

TEST_P(U8S8GemmTiles, SplitWeightsGiveTheExactSums) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> code(-128, 127);
  // m, k, cols: a row tail, odd K, K over three chunks of 128 quads (1101
  // taps); 1 to 7 panels (the VNNI tile's groups of 3 and the 1 or 2 left).
  const int64_t shapes[][3] = {{7, 9, 5}, {13, 1101, 33}, {6, 4, 16}, {1, 3, 1}, {12, 70, 80}, {5, 515, 112}};
  int shape_index = 0;
  for (const auto& shape : shapes) {
    const int64_t m = shape[0], k = shape[1], cols = shape[2];
    std::vector<int16_t> a(static_cast<size_t>(m * k));
    for (size_t i = 0; i < a.size(); ++i) {
      const int ends[] = {127, -127, -128, 128, 100, -100};
      a[i] = static_cast<int16_t>(i % 5 == 0 ? ends[(i / 5) % 6] : code(rng) / 2);
    }
    EXPECT_LE(U8S8SplitShare(a.data(), m, k, k), 1.0);
    const Product p = Multiply(a, m, k, cols, static_cast<uint32_t>(shape_index++), GetParam());
    EXPECT_EQ(p.got, p.want) << m << "x" << k << "x" << cols;
  }
}

TEST_P(U8S8GemmTiles, RowsWithUnequalRemaindersGiveTheExactSums) {
  // Rows of one block with no split pair, a few, or nearly all of them, so
  // the padded remainder steps mix real entries and zero words; K over two
  // chunks with the splits bunched in the second.
  std::mt19937 rng(11);
  std::normal_distribution<double> normal(0.0, 1.0);
  const int64_t m = 17, k = 777, cols = 50;
  std::vector<int16_t> a(static_cast<size_t>(m * k));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t t = 0; t < k; ++t) {
      const double spread = i % 3 == 0 ? 20.0 : i % 3 == 1 ? 45.0 : (t > 600 ? 110.0 : 30.0);
      a[static_cast<size_t>(i * k + t)] =
          static_cast<int16_t>(std::clamp(std::lround(normal(rng) * spread), -128L, 128L));
    }
  const double share = U8S8SplitShare(a.data(), m, k, k);
  EXPECT_GT(share, 0.02);
  EXPECT_LE(share, 1.0);
  const Product p = Multiply(a, m, k, cols, 99, GetParam());
  EXPECT_EQ(p.got, p.want);
}

TEST(U8S8Gemm, ThePackedPartsStayInsideTheExactBound) {
  // A row of every kind of pair: (127, -127) and (-128, 128) split in both
  // elements, (100, 40) in both, (64, 64) and (127, 0) not at all.
  const std::vector<int16_t> a = {127, -127, -128, 128, 100, 40, 64, 64, 127, 0, 3, -5};
  EXPECT_DOUBLE_EQ(U8S8SplitShare(a.data(), 1, 12, 12), 2.0 / 3.0);  // quads 0, 1 of 3
  PackedS8A packed;
  PackS8A(a.data(), 1, 12, 12, &packed);
  // Two steps (row 0 has two entries, quads 0 and 1), one entry per row of
  // the block each; rows 1-5 repeat a zero word.
  ASSERT_EQ(packed.rest.size(), 2u * kU8S8RowBlock);
  EXPECT_EQ(packed.rest_begin, (std::vector<int64_t>{0, 2}));
  for (int64_t row = 1; row < kU8S8RowBlock; ++row) {
    EXPECT_EQ(packed.rest[static_cast<size_t>(row)].word, 0);
    EXPECT_EQ(packed.rest[static_cast<size_t>(kU8S8RowBlock + row)].word, 0);
  }
  const S8RestEntry first = packed.rest[0], second = packed.rest[kU8S8RowBlock];
  auto byte = [](int32_t word, int t) { return static_cast<int>(static_cast<int8_t>((word >> (8 * t)) & 0xFF)); };
  const int32_t main0 = packed.data[0], main1 = packed.data[kU8S8RowBlock], main2 = packed.data[2 * kU8S8RowBlock];
  EXPECT_EQ(byte(main0, 0), 64);
  EXPECT_EQ(byte(main0, 1), -64);
  EXPECT_EQ(byte(main0, 2), -64);
  EXPECT_EQ(byte(main0, 3), 64);
  EXPECT_EQ(byte(first.word, 0), 63);
  EXPECT_EQ(byte(first.word, 1), -63);
  EXPECT_EQ(byte(first.word, 2), -64);
  EXPECT_EQ(byte(first.word, 3), 64);
  EXPECT_EQ(byte(main1, 0), 64);
  EXPECT_EQ(byte(main1, 1), 40);
  EXPECT_EQ(byte(main1, 2), 64);
  EXPECT_EQ(byte(main1, 3), 64);
  EXPECT_EQ(byte(second.word, 0), 36);
  EXPECT_EQ(byte(second.word, 1), 0);
  EXPECT_EQ(first.offset, 0);
  EXPECT_EQ(second.offset, 4 * kU8S8Panel);  // quad 1 of the chunk
  EXPECT_EQ(byte(main2, 0), 127);
  EXPECT_EQ(packed.row_sums[0], 127 - 127 - 128 + 128 + 100 + 40 + 64 + 64 + 127 + 0 + 3 - 5);
  const std::vector<int16_t> wide = {129, 0};
  EXPECT_EQ(U8S8SplitShare(wide.data(), 1, 2, 2), 2.0);
}

TEST(U8S8Gemm, ByteSplitLeavesOnlyValuesS8CannotHold) {
  // kBytes splits only a pair holding a centered 128; 127 next to -128 stays dense.
  const std::vector<int16_t> a = {127, -128, 127, 127, 128, 5, 0, 0, -128, -128, 1, 2};
  PackedS8A packed;
  PackS8A(a.data(), 1, 12, 12, &packed, S8Split::kBytes);
  ASSERT_EQ(packed.rest.size(), 1u * kU8S8RowBlock);  // one step: quad 1's pair (128, 5)
  EXPECT_EQ(packed.rest[0].offset, 4 * kU8S8Panel);
  EXPECT_EQ(packed.data[0], static_cast<int32_t>(0x7F7F807Fu));
  EXPECT_TRUE(FitsS8(a.data(), 1, 4, 12));
  EXPECT_FALSE(FitsS8(a.data(), 1, 12, 12));
}

// GemmU8S8WeightsTile: A the u8 activations (PackU8A, or PackAmxU8A), B
// any s8 weights (the VNNI and AMX tiles) or weights within the pair bound
// (the AVX2 one).
enum class WeightsTile { kAvx2, kVnni, kAmx };
void CheckWeightsTile(WeightsTile tile) {
  const bool vnni = tile != WeightsTile::kAvx2;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> byte(-128, 127);
  for (const auto& shape :
       // {1, 1030, 200} and {7, 520, 100}: single-row blocks (the VNNI tile's
       // one-row form) over 13 and 7 panels (8 + 4 + 1, 4 + 2 + 1) and several K chunks.
       std::vector<std::array<int64_t, 3>>{
           {1, 7, 3}, {13, 300, 70}, {6, 1030, 48}, {20, 64, 160}, {40, 130, 97}, {1, 1030, 200}, {7, 520, 100}}) {
    const int64_t m = shape[0], k = shape[1], n = shape[2];
    std::vector<int8_t> act(static_cast<size_t>(m * k));
    for (size_t i = 0; i < act.size(); ++i) act[i] = static_cast<int8_t>(i % 7 == 0 ? (i % 2 ? 127 : -128) : byte(rng));
    std::vector<int16_t> bt(static_cast<size_t>(n * k));  // [n][k]
    for (size_t i = 0; i < bt.size(); ++i) {
      const int v = i % 5 == 0 ? (i % 2 ? 127 : -128) : byte(rng);
      bt[i] = static_cast<int16_t>(vnni ? v : v / 2);
    }
    const int32_t zero_point = -3 + 128;  // the activations' zero point as u8
    PackedS8A rows;
    PackU8A(act.data(), m, k, k, &rows);
    PackedS8B weights;
    PackS8B(bt.data(), n, k, &weights);
    const int64_t ldc = weights.panels * kU8S8Panel;
    std::vector<int32_t> got(static_cast<size_t>(rows.blocks * kU8S8RowBlock * ldc), 0);
    PackedAmxA tiles;
    if (tile == WeightsTile::kAmx) {
      PackAmxU8A(act.data(), m, k, k, &tiles);
      got.assign(static_cast<size_t>(tiles.blocks * kAmxRows * ldc), 0);
      GemmU8S8WeightsTileAmx(tiles, weights, 0, weights.panels, zero_point, got.data(), ldc);
    } else if (vnni)
      GemmU8S8WeightsTileVnni(rows, 0, rows.blocks, weights, 0, weights.panels, zero_point, got.data(), ldc);
    else
      GemmU8S8WeightsTileAvx2(rows, 0, rows.blocks, weights, 0, weights.panels, zero_point, got.data(), ldc);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        int64_t want = 0;
        for (int64_t t = 0; t < k; ++t)
          want += (act[static_cast<size_t>(i * k + t)] + 3) * int64_t{bt[static_cast<size_t>(j * k + t)]};
        ASSERT_EQ(got[static_cast<size_t>(i * ldc + j)], want) << m << "x" << k << "x" << n << " at " << i << "," << j;
      }
  }
}

TEST(U8S8Gemm, WeightsTileAvx2GivesTheExactSums) {
  if (!DetectedCpuFeatures().avx2) GTEST_SKIP() << "no AVX2";
  CheckWeightsTile(WeightsTile::kAvx2);
}

TEST(U8S8Gemm, WeightsTileVnniGivesTheExactSumsForAnyS8Weights) {
  if (BestIsa() < Isa::kAvx512Vnni) GTEST_SKIP() << "no AVX-512 VNNI";
  CheckWeightsTile(WeightsTile::kVnni);
}

TEST(U8S8Gemm, WeightsTileAmxGivesTheExactSumsForAnyS8Weights) {
  if (BestIsa() < Isa::kAmx) GTEST_SKIP() << "no AMX-INT8";
  CheckWeightsTile(WeightsTile::kAmx);
}

// GemmU8S8TileAmx: s8 weights (tiles of 16 rows x 64 taps) times u8 panels
// with the zero point, against integer sums: K tails inside a tile and over
// several, row and panel tails (the 2 x 2 tile groups and the 1s left), the
// ends of both ranges.
TEST(U8S8Gemm, AmxTileGivesTheExactSums) {
  if (BestIsa() < Isa::kAmx) GTEST_SKIP() << "no AMX-INT8";
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> code(-128, 127), byte(0, 255);
  for (const auto& shape :
       std::vector<std::array<int64_t, 3>>{{1, 3, 1}, {16, 64, 16}, {17, 65, 33}, {40, 300, 50}, {33, 1153, 64}}) {
    const int64_t m = shape[0], k = shape[1], cols = shape[2];
    std::vector<int16_t> a(static_cast<size_t>(m * k));
    for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<int16_t>(i % 9 == 0 ? (i % 2 ? 127 : -128) : code(rng));
    const int64_t panels = (cols + kU8S8Panel - 1) / kU8S8Panel, quads = (k + 3) / 4;
    std::vector<uint8_t> b(static_cast<size_t>(k * cols));
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i % 13 == 0 ? (i % 2 ? 255 : 0) : byte(rng));
    std::vector<int64_t> offsets(static_cast<size_t>(k));
    for (int64_t t = 0; t < k; ++t) offsets[static_cast<size_t>(t)] = t * (panels * kU8S8Panel);
    std::vector<uint8_t> rows(static_cast<size_t>((k + 1) * panels * kU8S8Panel), 0);
    for (int64_t t = 0; t < k; ++t)
      for (int64_t j = 0; j < cols; ++j)
        rows[static_cast<size_t>(t * panels * kU8S8Panel + j)] = b[static_cast<size_t>(t * cols + j)];
    // The slack past the last panel holds bytes the product must ignore.
    std::vector<uint8_t> panel_data(static_cast<size_t>(panels * quads * 4 * kU8S8Panel + kAmxPanelSlack), 0xA5);
    PackU8PanelsFromOffsetsAvx2(rows.data(), offsets.data(), k, cols, panel_data.data());
    PackedAmxA packed;
    PackAmxA(a.data(), m, k, k, &packed);
    const int64_t ldc = panels * kU8S8Panel;
    const int32_t zero_point = 140;
    std::vector<int32_t> got(static_cast<size_t>(packed.blocks * kAmxRows * ldc), 0);
    GemmU8S8TileAmx(packed, 0, packed.blocks, panel_data.data(), panels, zero_point, got.data(), ldc);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        int64_t want = 0;
        for (int64_t t = 0; t < k; ++t)
          want += int64_t{a[static_cast<size_t>(i * k + t)]} * (b[static_cast<size_t>(t * cols + j)] - zero_point);
        ASSERT_EQ(got[static_cast<size_t>(i * ldc + j)], want)
            << m << "x" << k << "x" << cols << " at " << i << "," << j;
      }
    // A sub-range of row blocks lands at C's first rows.
    if (packed.blocks > 1) {
      std::vector<int32_t> part(static_cast<size_t>(kAmxRows * ldc), 0);
      GemmU8S8TileAmx(packed, 1, 2, panel_data.data(), panels, zero_point, part.data(), ldc);
      EXPECT_TRUE(std::equal(part.begin(), part.end(), got.begin() + kAmxRows * ldc));
    }
  }
}

}  // namespace
}  // namespace mixq::kernels
