#include "kernels/u8s8_gemm_amx.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (GCC bug 105593:
// their unmasked forms pass an "undefined" vector as the merge source).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mixq::kernels {

namespace {

#define MIXQ_AMX __attribute__((target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,ssse3")))

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
// kRowBlocks / kPanels (1 or 2) say which of them exist. C tile (i, j)
// starts from the 16 x 16 tile init[i][j]; C's rows are ldc apart.
// kSignedA: A s8 and B u8 (TDPBSUD, convolutions), else A u8 and B s8
// (TDPBUSD, activations times weights).
// init == nullptr: the C tiles start from zero.
template <int kRowBlocks, int kPanels, bool kSignedA>
MIXQ_AMX void Tiles(const int8_t* a0, int64_t a_block_stride, const uint8_t* b0, int64_t panel_stride, int64_t chunks,
                    const int32_t* const init[2][2], int32_t* c, int64_t ldc) {
  const int64_t c_stride = ldc * static_cast<int64_t>(sizeof(int32_t));
  if (init) {
    _tile_loadd(0, init[0][0], 64);
    if constexpr (kPanels == 2) _tile_loadd(1, init[0][1], 64);
    if constexpr (kRowBlocks == 2) _tile_loadd(2, init[1][0], 64);
    if constexpr (kRowBlocks == 2 && kPanels == 2) _tile_loadd(3, init[1][1], 64);
  } else {
    _tile_zero(0);
    if constexpr (kPanels == 2) _tile_zero(1);
    if constexpr (kRowBlocks == 2) _tile_zero(2);
    if constexpr (kRowBlocks == 2 && kPanels == 2) _tile_zero(3);
  }
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const int8_t* a = a0 + chunk * kTileBytes;
    const uint8_t* b = b0 + chunk * kTileBytes;
    _tile_loadd(4, a, 64);
    _tile_loadd(6, b, 64);
    if constexpr (kPanels == 2) _tile_loadd(7, b + panel_stride, 64);
    if constexpr (kSignedA) {
      _tile_dpbsud(0, 4, 6);
      if constexpr (kPanels == 2) _tile_dpbsud(1, 4, 7);
    } else {
      _tile_dpbusd(0, 4, 6);
      if constexpr (kPanels == 2) _tile_dpbusd(1, 4, 7);
    }
    if constexpr (kRowBlocks == 2) {
      _tile_loadd(5, a + a_block_stride, 64);
      if constexpr (kSignedA) {
        _tile_dpbsud(2, 5, 6);
        if constexpr (kPanels == 2) _tile_dpbsud(3, 5, 7);
      } else {
        _tile_dpbusd(2, 5, 6);
        if constexpr (kPanels == 2) _tile_dpbusd(3, 5, 7);
      }
    }
  }
  _tile_stored(0, c, c_stride);
  if constexpr (kPanels == 2) _tile_stored(1, c + kU8S8Panel, c_stride);
  if constexpr (kRowBlocks == 2) _tile_stored(2, c + kAmxRows * ldc, c_stride);
  if constexpr (kRowBlocks == 2 && kPanels == 2) _tile_stored(3, c + kAmxRows * ldc + kU8S8Panel, c_stride);
}

// Row blocks [0, blocks) of A (a_block_stride apart) against panels [0,
// panels) of B, in 2 x 2 groups of tiles; init_of(block, panel) gives each C
// tile's starting tile.
template <bool kSignedA, typename InitOf>
MIXQ_AMX void Product(const int8_t* a, int64_t a_block_stride, int64_t blocks, const uint8_t* b, int64_t panel_stride,
                      int64_t panels, int64_t chunks, const InitOf& init_of, int32_t* c, int64_t ldc) {
  for (int64_t block = 0; block < blocks; block += 2) {
    const bool two_rows = block + 1 < blocks;
    const int8_t* ab = a + block * a_block_stride;
    int32_t* cb = c + block * kAmxRows * ldc;
    for (int64_t p = 0; p < panels; p += 2) {
      const bool two_panels = p + 1 < panels;
      const int32_t* const init[2][2] = {{init_of(block, p), init_of(block, p + two_panels)},
                                         {init_of(block + two_rows, p), init_of(block + two_rows, p + two_panels)}};
      const uint8_t* bp = b + p * panel_stride;
      int32_t* cp = cb + p * kU8S8Panel;
      if (two_rows && two_panels)
        Tiles<2, 2, kSignedA>(ab, a_block_stride, bp, panel_stride, chunks, init, cp, ldc);
      else if (two_rows)
        Tiles<2, 1, kSignedA>(ab, a_block_stride, bp, panel_stride, chunks, init, cp, ldc);
      else if (two_panels)
        Tiles<1, 2, kSignedA>(ab, a_block_stride, bp, panel_stride, chunks, init, cp, ldc);
      else
        Tiles<1, 1, kSignedA>(ab, a_block_stride, bp, panel_stride, chunks, init, cp, ldc);
    }
  }
}

// Where 16 consecutive C columns go in an output row: each run of them
// that lands on consecutive output bytes is the codes from lane `from` on,
// moved to lane 0 (`shift`, a pshufb index), stored as the mask's bytes at
// `offset`.
struct Segment {
  __m128i shift;
  __mmask16 mask = 0;
  int64_t offset = 0;
};

MIXQ_AMX Segment MakeSegment(int64_t from, int64_t count, int64_t offset) {
  Segment s;
  s.shift = _mm_add_epi8(_mm_set1_epi8(static_cast<char>(from)),
                         _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  s.mask = static_cast<__mmask16>((1u << count) - 1);
  s.offset = offset;
  return s;
}

// The segments of columns [col, col + 16) of C (col counted from the job's
// first, `first`): pointwise (phase_w == 0) one run at first + col; else
// virtual column v is output (v / phase_w, v % phase_w), kept when the
// latter is below out_w. Returns the count.
MIXQ_AMX int MapColumns(const AmxInt8Epilogue& e, int64_t col, Segment* segments) {
  const int64_t valid = std::min<int64_t>(kU8S8Panel, e.cols - col);
  if (valid <= 0) return 0;
  if (e.phase_w == 0) {
    segments[0] = MakeSegment(0, valid, e.first + col);
    return 1;
  }
  int count = 0;
  for (int64_t k = 0; k < valid;) {
    const int64_t v = e.first + col + k, oh = v / e.phase_w, ow = v % e.phase_w;
    const int64_t run = std::min(valid - k, e.phase_w - ow), keep = std::min(run, e.out_w - ow);
    if (keep > 0) segments[count++] = MakeSegment(k, keep, oh * e.out_w + ow);
    k += run;
  }
  return count;
}

// One 2 x 2 group's C tiles (in `tile`, 32 ints per row) requantized into
// rows [row0, row0 + 16 * row_blocks) of the int8 output, each half's
// columns through its segments, as RequantizeRowToInt8 does: f32(acc +
// int_bias) + bias, times the multiplier, plus the zero point, clamped,
// rounded half to even. This file is built with -ffp-contract=off: the
// multiply and the add stay two roundings.
MIXQ_AMX void RequantizeGroup(const int32_t* tile, int64_t row0, int64_t row_blocks, const Segment* const segments[2],
                              const int counts[2], const PackedAmxA& a, int64_t first_row, int32_t zero_point_in,
                              const AmxInt8Epilogue& e) {
  const __m512 zp = _mm512_set1_ps(static_cast<float>(e.zero_point));
  const __m512 flo = _mm512_set1_ps(static_cast<float>(e.lo)), fhi = _mm512_set1_ps(static_cast<float>(e.hi));
  const int64_t rows = std::min(kAmxRows * row_blocks, e.rows - row0);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t row = row0 + r;
    // The zero-point term the C tiles did not start from.
    const int32_t int_bias = e.int_bias[row] - zero_point_in * a.row_sums[static_cast<size_t>(first_row + row)];
    const __m512i ib = _mm512_set1_epi32(int_bias);
    const __m512 bias = _mm512_set1_ps(e.bias[row]), mult = _mm512_set1_ps(e.multiplier[row]);
    int8_t* out_row = e.out + row * e.ld_out;
    for (int half = 0; half < 2 && counts[half] > 0; ++half) {
      const __m512i acc = _mm512_loadu_si512(tile + r * 2 * kU8S8Panel + half * kU8S8Panel);
      const __m512 value = _mm512_add_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc, ib)), bias);
      __m512 v = _mm512_add_ps(_mm512_mul_ps(value, mult), zp);
      v = _mm512_min_ps(_mm512_max_ps(v, flo), fhi);
      const __m128i bytes = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v));
      for (int k = 0; k < counts[half]; ++k) {
        const Segment& seg = segments[half][k];
        _mm_mask_storeu_epi8(out_row + seg.offset, seg.mask, _mm_shuffle_epi8(bytes, seg.shift));
      }
    }
  }
}

}  // namespace

MIXQ_AMX void ConfigureAmxTiles() {
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.rows[t] = kAmxRows;
    config.colsb[t] = 64;
  }
  // GCC 12 does not count _tile_loadconfig as reading the configuration: out
  // of line, it dropped the stores above (tiles of 0 rows: SIGILL).
  __asm__ volatile("" : : "r"(&config) : "memory");
  _tile_loadconfig(&config);
}

MIXQ_AMX void ReleaseAmxTiles() {
  _tile_release();
}

MIXQ_AMX void GemmU8S8TileAmxToInt8(const PackedAmxA& a, int64_t first_block, int64_t last_block, const uint8_t* b,
                                    int64_t panels, int32_t zero_point, const AmxInt8Epilogue& e) {
  ConfigureAmxTiles();
  const int64_t a_block_stride = a.chunks * kTileBytes, panel_stride = a.quads * 4 * kU8S8Panel;
  alignas(64) int32_t tile[2 * kAmxRows * 2 * kU8S8Panel];
  const int64_t blocks = last_block - first_block;
  for (int64_t block = 0; block < blocks; block += 2) {
    const bool two_rows = block + 1 < blocks;
    const int8_t* ab = a.data.data() + (first_block + block) * a_block_stride;
    for (int64_t p = 0; p < panels; p += 2) {
      const bool two_panels = p + 1 < panels;
      const uint8_t* bp = b + p * panel_stride;
      const int64_t ldc = 2 * kU8S8Panel;
      if (two_rows && two_panels)
        Tiles<2, 2, true>(ab, a_block_stride, bp, panel_stride, a.chunks, nullptr, tile, ldc);
      else if (two_rows)
        Tiles<2, 1, true>(ab, a_block_stride, bp, panel_stride, a.chunks, nullptr, tile, ldc);
      else if (two_panels)
        Tiles<1, 2, true>(ab, a_block_stride, bp, panel_stride, a.chunks, nullptr, tile, ldc);
      else
        Tiles<1, 1, true>(ab, a_block_stride, bp, panel_stride, a.chunks, nullptr, tile, ldc);
      Segment first_half[kU8S8Panel + 1], second_half[kU8S8Panel + 1];
      const Segment* const segments[2] = {first_half, second_half};
      const int counts[2] = {MapColumns(e, p * kU8S8Panel, first_half),
                             two_panels ? MapColumns(e, (p + 1) * kU8S8Panel, second_half) : 0};
      RequantizeGroup(tile, block * kAmxRows, two_rows ? 2 : 1, segments, counts, a, first_block * kAmxRows, zero_point,
                      e);
    }
  }
  _tile_release();
}

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
  ConfigureAmxTiles();
  // Each row block's starting tile: -zero_point * its row's sum, in every column.
  const int64_t blocks = last_block - first_block;
  std::vector<int32_t> init(static_cast<size_t>(blocks * kAmxRows * kAmxRows));
  for (int64_t block = 0; block < blocks; ++block)
    for (int64_t r = 0; r < kAmxRows; ++r)
      std::fill_n(init.data() + (block * kAmxRows + r) * kAmxRows, kAmxRows,
                  -zero_point * a.row_sums[static_cast<size_t>((first_block + block) * kAmxRows + r)]);
  const int64_t a_block_stride = a.chunks * kTileBytes;
  Product<true>(
      a.data.data() + first_block * a_block_stride, a_block_stride, blocks, b, a.quads * 4 * kU8S8Panel, panels,
      a.chunks, [&](int64_t block, int64_t) { return init.data() + block * kAmxRows * kAmxRows; }, c, ldc);
  _tile_release();
}

void PackAmxU8A(const int8_t* a, int64_t m, int64_t k, int64_t lda, PackedAmxA* packed) {
  packed->m = m;
  packed->quads = (k + 3) / 4;
  packed->chunks = (packed->quads + kAmxQuads - 1) / kAmxQuads;
  packed->blocks = (m + kAmxRows - 1) / kAmxRows;
  packed->data.assign(static_cast<size_t>(packed->blocks * packed->chunks * kTileBytes), 0);
  packed->row_sums.clear();
  const int64_t chunk_taps = 4 * kAmxQuads;
  for (int64_t i = 0; i < m; ++i) {
    const int64_t block = i / kAmxRows, row = i % kAmxRows;
    const int8_t* src = a + i * lda;
    for (int64_t t0 = 0; t0 < k; t0 += chunk_taps) {
      auto* dst = reinterpret_cast<uint8_t*>(packed->data.data()) +
                  (block * packed->chunks + t0 / chunk_taps) * kTileBytes + row * 64;
      const int64_t n = std::min(chunk_taps, k - t0);
      for (int64_t t = 0; t < n; ++t) dst[t] = static_cast<uint8_t>(static_cast<uint8_t>(src[t0 + t]) ^ 0x80);
    }
  }
}

MIXQ_AMX void GemmU8S8WeightsTileAmx(const PackedAmxA& a, const PackedS8B& b, int64_t first_panel, int64_t panels,
                                     int32_t zero_point, int32_t* c, int64_t ldc) {
  ConfigureAmxTiles();
  // Each panel's starting tile: -zero_point * its column's sum, in every row.
  std::vector<int32_t> init(static_cast<size_t>(panels * kAmxRows * kAmxRows));
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t r = 0; r < kAmxRows; ++r)
      for (int64_t j = 0; j < kU8S8Panel; ++j)
        init[static_cast<size_t>((p * kAmxRows + r) * kAmxRows + j)] =
            -zero_point * b.col_sums[static_cast<size_t>((first_panel + p) * kU8S8Panel + j)];
  const int64_t panel_stride = b.quads * 4 * kU8S8Panel;
  Product<false>(
      a.data.data(), a.chunks * kTileBytes, a.blocks, b.data.data() + first_panel * panel_stride, panel_stride, panels,
      a.chunks, [&](int64_t, int64_t p) { return init.data() + p * kAmxRows * kAmxRows; }, c, ldc);
  _tile_release();
}

}  // namespace mixq::kernels
