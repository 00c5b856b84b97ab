#include "kernels/u8s8_gemm_amx.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace mixq::kernels {

namespace {

#define MIXQ_AMX __attribute__((target("amx-tile,amx-int8,avx512f")))

constexpr int64_t kTileBytes = kAmxRows * 64;  // one A or B tile: 16 rows of 64 bytes

// The tile configuration (palette 1): tmm0-3 the 2 x 2 C tiles (16 rows of
// 16 int32), tmm4-5 two A tiles, tmm6-7 two B tiles, all 16 rows of 64 bytes.
struct alignas(64) TileConfig {
  uint8_t palette_id = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// 2 x 2 C tiles (row blocks r, r + 1; panels p, p + 1) over every K chunk;
// kRowBlocks / kPanels (1 or 2) say which of them exist. `init`: each row
// block's 16 x 16 starting tile (the zero-point term); C's rows ldc apart.
template <int kRowBlocks, int kPanels>
MIXQ_AMX void Tiles(const int8_t* a0, int64_t a_block_stride, const uint8_t* b0, int64_t panel_stride, int64_t chunks,
                    const int32_t* init, int32_t* c, int64_t ldc) {
  const int64_t c_stride = ldc * static_cast<int64_t>(sizeof(int32_t));
  _tile_loadd(0, init, 64);
  if constexpr (kPanels == 2) _tile_loadd(1, init, 64);
  if constexpr (kRowBlocks == 2) _tile_loadd(2, init + kAmxRows * kAmxRows, 64);
  if constexpr (kRowBlocks == 2 && kPanels == 2) _tile_loadd(3, init + kAmxRows * kAmxRows, 64);
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const int8_t* a = a0 + chunk * kTileBytes;
    const uint8_t* b = b0 + chunk * kTileBytes;
    _tile_loadd(4, a, 64);
    _tile_loadd(6, b, 64);
    if constexpr (kPanels == 2) _tile_loadd(7, b + panel_stride, 64);
    _tile_dpbsud(0, 4, 6);
    if constexpr (kPanels == 2) _tile_dpbsud(1, 4, 7);
    if constexpr (kRowBlocks == 2) {
      _tile_loadd(5, a + a_block_stride, 64);
      _tile_dpbsud(2, 5, 6);
      if constexpr (kPanels == 2) _tile_dpbsud(3, 5, 7);
    }
  }
  _tile_stored(0, c, c_stride);
  if constexpr (kPanels == 2) _tile_stored(1, c + kU8S8Panel, c_stride);
  if constexpr (kRowBlocks == 2) _tile_stored(2, c + kAmxRows * ldc, c_stride);
  if constexpr (kRowBlocks == 2 && kPanels == 2) _tile_stored(3, c + kAmxRows * ldc + kU8S8Panel, c_stride);
}

}  // namespace

void PackAmxA(const int16_t* a, int64_t m, int64_t k, int64_t lda, PackedAmxA* packed) {
  packed->m = m;
  packed->quads = (k + 3) / 4;
  packed->chunks = (packed->quads + kAmxQuads - 1) / kAmxQuads;
  packed->blocks = (m + kAmxRows - 1) / kAmxRows;
  packed->data.assign(static_cast<size_t>(packed->blocks * packed->chunks * kTileBytes), 0);
  packed->row_sums.assign(static_cast<size_t>(packed->blocks * kAmxRows), 0);
  for (int64_t i = 0; i < m; ++i) {
    const int64_t block = i / kAmxRows, row = i % kAmxRows;
    for (int64_t t = 0; t < k; ++t) {
      const int16_t w = a[i * lda + t];
      packed->row_sums[static_cast<size_t>(i)] += w;
      const int64_t chunk = t / (4 * kAmxQuads), byte = t % (4 * kAmxQuads);
      packed->data[static_cast<size_t>((block * packed->chunks + chunk) * kTileBytes + row * 64 + byte)] =
          static_cast<int8_t>(w);
    }
  }
}

MIXQ_AMX void GemmU8S8TileAmx(const PackedAmxA& a, int64_t first_block, int64_t last_block, const uint8_t* b,
                              int64_t panels, int32_t zero_point, int32_t* c, int64_t ldc) {
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.rows[t] = kAmxRows;
    config.colsb[t] = 64;
  }
  _tile_loadconfig(&config);
  // Each row block's starting tile: -zero_point * its row's sum, in every column.
  const int64_t blocks = last_block - first_block;
  std::vector<int32_t> init(static_cast<size_t>(blocks * kAmxRows * kAmxRows));
  for (int64_t block = 0; block < blocks; ++block)
    for (int64_t r = 0; r < kAmxRows; ++r)
      std::fill_n(init.data() + (block * kAmxRows + r) * kAmxRows, kAmxRows,
                  -zero_point * a.row_sums[static_cast<size_t>((first_block + block) * kAmxRows + r)]);
  const int64_t panel_stride = a.quads * 4 * kU8S8Panel, a_block_stride = a.chunks * kTileBytes;
  for (int64_t block = 0; block < blocks; block += 2) {
    const bool two_rows = block + 1 < blocks;
    const int8_t* ab = a.data.data() + (first_block + block) * a_block_stride;
    const int32_t* ib = init.data() + block * kAmxRows * kAmxRows;
    int32_t* cb = c + block * kAmxRows * ldc;
    for (int64_t p = 0; p < panels; p += 2) {
      const bool two_panels = p + 1 < panels;
      const uint8_t* bp = b + p * panel_stride;
      int32_t* cp = cb + p * kU8S8Panel;
      if (two_rows && two_panels)
        Tiles<2, 2>(ab, a_block_stride, bp, panel_stride, a.chunks, ib, cp, ldc);
      else if (two_rows)
        Tiles<2, 1>(ab, a_block_stride, bp, panel_stride, a.chunks, ib, cp, ldc);
      else if (two_panels)
        Tiles<1, 2>(ab, a_block_stride, bp, panel_stride, a.chunks, ib, cp, ldc);
      else
        Tiles<1, 1>(ab, a_block_stride, bp, panel_stride, a.chunks, ib, cp, ldc);
    }
  }
  _tile_release();
}

}  // namespace mixq::kernels
