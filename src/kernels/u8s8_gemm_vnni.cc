// The u8 x s8 tiles of kernels/u8s8_gemm.h on AVX-512 VNNI. The packed
// layouts are the AVX2 tiles' own: a B panel quad is 16 columns x 4 taps =
// 64 bytes, one zmm register, and A's quad of a row is one int32 broadcast.
// vpdpbusd multiplies the 64 u8 x s8 byte pairs and adds each column's 4
// products into its int32 lane, exactly (no int16 intermediate, so no
// saturation and no pair bound on the weights), in one instruction where the
// AVX2 tile needs vpmaddubsw + vpmaddwd + vpaddd per 8 columns.
//
// Per quad the micro-kernel loads kPanels B vectors and, for each of the 6
// rows, broadcasts A's word and issues kPanels vpdpbusd: 6 x kPanels
// independent accumulators (18 of the 32 zmm registers at 3 panels), enough
// to cover vpdpbusd's latency at two per cycle.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "kernels/u8s8_gemm.h"

namespace mixq::kernels {

namespace {

#define MIXQ_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

constexpr int64_t kRows = kU8S8RowBlock;
constexpr int64_t kQuadBytes = 4 * kU8S8Panel;  // one quad of a B panel: 64 bytes
static_assert(kRows == 6 && kU8S8Panel == 16);

// C[0..6)[0..16 kPanels) (+)= the product over `quads` quads. B's panels at
// b, b + panel_stride, ...; A one int32 per row and quad (6 per quad).
// kUnsignedB: B the u8 operand, A the s8 one (convolutions); else A u8 and B
// s8 (MatMul / FullyConnected weights). The sums start from row_init (one
// per row), col_init (16 kPanels, one per column) or C. kUnsignedB only:
// `rest_steps` steps of the split remainder (one entry per row, at its
// quad's byte offset within each panel's chunk) follow.
template <int kPanels, bool kUnsignedB>
MIXQ_VNNI inline void Block(const int32_t* a, const uint8_t* b, int64_t panel_stride, int64_t quads, int32_t* c,
                            int64_t ldc, const int32_t* row_init, const int32_t* col_init, const S8RestEntry* rest,
                            int64_t rest_steps) {
  __m512i acc[kRows][kPanels];
#pragma GCC unroll 6
  for (int r = 0; r < kRows; ++r)
#pragma GCC unroll 4
    for (int p = 0; p < kPanels; ++p)
      acc[r][p] = row_init   ? _mm512_set1_epi32(row_init[r])
                  : col_init ? _mm512_loadu_si512(col_init + 16 * p)
                             : _mm512_loadu_si512(c + r * ldc + 16 * p);
  const uint8_t* bq = b;
  for (int64_t q = 0; q < quads; ++q, a += kRows, bq += kQuadBytes) {
    __m512i bv[kPanels];
#pragma GCC unroll 4
    for (int p = 0; p < kPanels; ++p) bv[p] = _mm512_loadu_si512(bq + p * panel_stride);
#pragma GCC unroll 6
    for (int r = 0; r < kRows; ++r) {
      const __m512i w = _mm512_set1_epi32(a[r]);
#pragma GCC unroll 4
      for (int p = 0; p < kPanels; ++p)
        acc[r][p] = kUnsignedB ? _mm512_dpbusd_epi32(acc[r][p], bv[p], w) : _mm512_dpbusd_epi32(acc[r][p], w, bv[p]);
    }
  }
  if constexpr (kUnsignedB) {
    for (int64_t s = 0; s < rest_steps; ++s, rest += kRows) {
#pragma GCC unroll 6
      for (int r = 0; r < kRows; ++r) {
        const __m512i w = _mm512_set1_epi32(rest[r].word);
#pragma GCC unroll 4
        for (int p = 0; p < kPanels; ++p)
          acc[r][p] = _mm512_dpbusd_epi32(acc[r][p], _mm512_loadu_si512(b + p * panel_stride + rest[r].offset), w);
      }
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < kRows; ++r)
#pragma GCC unroll 4
    for (int p = 0; p < kPanels; ++p) _mm512_storeu_si512(c + r * ldc + 16 * p, acc[r][p]);
}

// The tile's panels in groups of 3 (the widest that keeps every
// accumulator and B vector in registers), then the 1 or 2 left. Arguments
// as Block's, for the first panel; `col_init` (16 per panel) and C advance
// by a panel's 16 columns, B by panel_stride.
template <bool kUnsignedB>
MIXQ_VNNI void Panels(const int32_t* a, const uint8_t* b, int64_t panel_stride, int64_t panels, int64_t quads,
                      int32_t* c, int64_t ldc, const int32_t* row_init, const int32_t* col_init,
                      const S8RestEntry* rest, int64_t rest_steps) {
  int64_t p = 0;
  auto at = [&](int64_t panel) { return col_init ? col_init + panel * kU8S8Panel : nullptr; };
  for (; p + 3 <= panels; p += 3)
    Block<3, kUnsignedB>(a, b + p * panel_stride, panel_stride, quads, c + p * kU8S8Panel, ldc, row_init, at(p), rest,
                         rest_steps);
  if (panels - p == 2)
    Block<2, kUnsignedB>(a, b + p * panel_stride, panel_stride, quads, c + p * kU8S8Panel, ldc, row_init, at(p), rest,
                         rest_steps);
  else if (panels - p == 1)
    Block<1, kUnsignedB>(a, b + p * panel_stride, panel_stride, quads, c + p * kU8S8Panel, ldc, row_init, at(p), rest,
                         rest_steps);
}

// Block's weights form (A u8, B s8) for a block holding one row of A (a
// batch-1 FullyConnected or MatMul): Block computes all 6 rows whatever
// their number, 6x the work and 3 accumulator chains per quad; here one
// broadcast feeds kPanels independent accumulators. ResNet-50's 2048 ->
// 1000 head: 0.157 -> 0.113-0.126 ms (1 thread, AMD Zen 4).
template <int kPanels>
MIXQ_VNNI inline void OneRowBlock(const int32_t* a, const uint8_t* b, int64_t panel_stride, int64_t quads, int32_t* c,
                                  const int32_t* col_init) {
  __m512i acc[kPanels];
#pragma GCC unroll 8
  for (int p = 0; p < kPanels; ++p)
    acc[p] = col_init ? _mm512_loadu_si512(col_init + 16 * p) : _mm512_loadu_si512(c + 16 * p);
  for (int64_t q = 0; q < quads; ++q, a += kRows, b += kQuadBytes) {
    const __m512i w = _mm512_set1_epi32(a[0]);
#pragma GCC unroll 8
    for (int p = 0; p < kPanels; ++p) acc[p] = _mm512_dpbusd_epi32(acc[p], w, _mm512_loadu_si512(b + p * panel_stride));
  }
#pragma GCC unroll 8
  for (int p = 0; p < kPanels; ++p) _mm512_storeu_si512(c + 16 * p, acc[p]);
}

// Panels for OneRowBlock: 8 at a time, then 4, 2 and 1.
MIXQ_VNNI void OneRowPanels(const int32_t* a, const uint8_t* b, int64_t panel_stride, int64_t panels, int64_t quads,
                            int32_t* c, const int32_t* col_init) {
  int64_t p = 0;
  auto at = [&](int64_t panel) { return col_init ? col_init + panel * kU8S8Panel : nullptr; };
  for (; p + 8 <= panels; p += 8) OneRowBlock<8>(a, b + p * panel_stride, panel_stride, quads, c + p * 16, at(p));
  if (panels - p >= 4) {
    OneRowBlock<4>(a, b + p * panel_stride, panel_stride, quads, c + p * 16, at(p));
    p += 4;
  }
  if (panels - p >= 2) {
    OneRowBlock<2>(a, b + p * panel_stride, panel_stride, quads, c + p * 16, at(p));
    p += 2;
  }
  if (panels - p == 1) OneRowBlock<1>(a, b + p * panel_stride, panel_stride, quads, c + p * 16, at(p));
}

}  // namespace

MIXQ_VNNI void GemmU8S8TileVnni(const PackedS8A& a, int64_t first_block, int64_t last_block, const uint8_t* b,
                                int64_t panels, int32_t zero_point, int32_t* c, int64_t ldc) {
  const int64_t quads = a.quads, chunks = (quads + kU8S8QuadChunk - 1) / kU8S8QuadChunk;
  const int64_t panel_stride = quads * kQuadBytes;
  for (int64_t kc = 0; kc < quads; kc += kU8S8QuadChunk) {
    const int64_t len = std::min(kU8S8QuadChunk, quads - kc);
    for (int64_t block = first_block; block < last_block; ++block) {
      const int32_t* ab = a.data.data() + (block * quads + kc) * kRows;
      int32_t* cb = c + (block - first_block) * kRows * ldc;
      int32_t init[kRows];  // the zero-point term, -zero_point * sum_k A[row][k]
      for (int64_t r = 0; r < kRows; ++r) init[r] = -zero_point * a.row_sums[static_cast<size_t>(block * kRows + r)];
      const int64_t chunk = block * chunks + kc / kU8S8QuadChunk;
      const int64_t first_step = a.rest_begin[static_cast<size_t>(chunk)];
      const S8RestEntry* rest = a.rest.data() + first_step * kRows;
      const int64_t rest_steps = a.rest_begin[static_cast<size_t>(chunk + 1)] - first_step;
      Panels<true>(ab, b + kc * kQuadBytes, panel_stride, panels, len, cb, ldc, kc == 0 ? init : nullptr, nullptr, rest,
                   rest_steps);
    }
  }
}

MIXQ_VNNI void GemmU8S8WeightsTileVnni(const PackedS8A& a, int64_t first_block, int64_t last_block, const PackedS8B& b,
                                       int64_t first_panel, int64_t panels, int32_t zero_point, int32_t* c,
                                       int64_t ldc) {
  const int64_t quads = a.quads, panel_stride = quads * kQuadBytes;
  // The zero-point term, -zero_point * sum_k B[k][j], for the tile's columns.
  std::vector<int32_t> init(static_cast<size_t>(panels * kU8S8Panel));
  for (int64_t j = 0; j < panels * kU8S8Panel; ++j)
    init[static_cast<size_t>(j)] = -zero_point * b.col_sums[static_cast<size_t>(first_panel * kU8S8Panel + j)];
  for (int64_t kc = 0; kc < quads; kc += kU8S8QuadChunk) {
    const int64_t len = std::min(kU8S8QuadChunk, quads - kc);
    for (int64_t block = first_block; block < last_block; ++block) {
      const int32_t* ab = a.data.data() + (block * quads + kc) * kRows;
      int32_t* cb = c + (block - first_block) * kRows * ldc;
      const uint8_t* bb = b.data.data() + first_panel * panel_stride + kc * kQuadBytes;
      const int32_t* col_init = kc == 0 ? init.data() : nullptr;
      if (a.m - block * kRows == 1)  // rows past A's m are never read: only row 0 is written
        OneRowPanels(ab, bb, panel_stride, panels, len, cb, col_init);
      else
        Panels<false>(ab, bb, panel_stride, panels, len, cb, ldc, nullptr, col_init, nullptr, 0);
    }
  }
}

}  // namespace mixq::kernels
