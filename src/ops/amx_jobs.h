// The job structure shared by mixq's AMX GEMMs whose A rows are read in
// place (ops/amx_bf16_gemm.cc: bfloat16; conv2d/cpu_amx_int8_pw.cc: int8):
// blocks of 32 rows of A (two A tiles) against pairs of 16-column B tiles,
// K in chunks of one tile row (64 bytes). A row block is read straight from
// A; its last partial chunk of K (zero past K) and a last block of fewer
// than 32 rows (zero rows) come from copies, so that no tile reads past A.
// The operand larger in bytes is read once: with more B than A (ResNet-50's
// 7 x 7 layers: 2 MiB of filter for 49 pixels; BERT's feed-forward
// products) each job sweeps its row blocks per column pair, the pair's
// slice of B staying in L2; otherwise per row block (in L1), every column
// pair. (Reading a 2 MiB filter once per row block made the oneDNN
// convolutions after such steps 7-20 % slower: bench/RESULTS.md stop 48.)
#pragma once

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/thread_scratch.h"
#include "kernels/u8s8_gemm_amx.h"

namespace mixq::ops {

constexpr int64_t kAmxBlockRows = 32;    // rows of A per block: two A tiles
constexpr int64_t kAmxBlockCols = 32;    // columns of a C block: two B tiles
constexpr int64_t kAmxChunkBytes = 64;   // one tile row of K
constexpr int64_t kAmxBTileWords = 256;  // a B tile: 16 rows of 16 32-bit words

// The targets of the functions that run these tiles (both kinds of tile
// product, and the AVX-512 epilogues around them).
#define MIXQ_AMX_KERNEL \
  __attribute__((target("amx-tile,amx-int8,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")))

// The C tiles a block holds: tile t covers rows (t / 2) * 16 and columns
// (t % 2) * 16 of its 32 x 32 block (AmxTileProductsAfter's numbering); rows /
// cols 0: no block.
struct AmxTileSet {
  int rows = 0, cols = 0;  // row tiles (0-2), column tiles (0-2)
  bool Has(int t) const { return t / 2 < rows && t % 2 < cols; }
  bool empty() const { return rows == 0; }
};

// Tile kT of a block to c (32 values a row). (GCC's tile intrinsics take
// the register number as a literal: it is spelled into the assembly.)
template <int kT, typename Acc>
MIXQ_AMX_KERNEL inline void StoreAmxTile(Acc* c) {
  constexpr int64_t kTile = 16, kStride = kAmxBlockCols * sizeof(Acc);
  Acc* to = c + (kT / 2) * kTile * kAmxBlockCols + (kT % 2) * kTile;
  if constexpr (kT == 0)
    _tile_stored(0, to, kStride);
  else if constexpr (kT == 1)
    _tile_stored(1, to, kStride);
  else if constexpr (kT == 2)
    _tile_stored(2, to, kStride);
  else
    _tile_stored(3, to, kStride);
}

// Zeroes C tile kT (0-3).
template <int kT>
MIXQ_AMX_KERNEL inline void ZeroAmxTile() {
  if constexpr (kT == 0)
    _tile_zero(0);
  else if constexpr (kT == 1)
    _tile_zero(1);
  else if constexpr (kT == 2)
    _tile_zero(2);
  else
    _tile_zero(3);
}

// Every tile of `set` to c.
template <typename Acc>
MIXQ_AMX_KERNEL inline void StoreAmxTiles(AmxTileSet set, Acc* c) {
  if (set.Has(0)) StoreAmxTile<0>(c);
  if (set.Has(1)) StoreAmxTile<1>(c);
  if (set.Has(2)) StoreAmxTile<2>(c);
  if (set.Has(3)) StoreAmxTile<3>(c);
}

// C tile kC (0-3) += its A tile (4 for tiles 0 and 1, 5 for 2 and 3) . its
// B tile (6 for tiles 0 and 2, 7 for 1 and 3): TDPBF16PS for bfloat16,
// TDPBSSD for int8.
template <typename T, int kC>
MIXQ_AMX_KERNEL inline void AmxTileProduct() {
  constexpr bool kBf16 = std::is_same_v<T, uint16_t>;
  if constexpr (kC == 0) {
    if constexpr (kBf16)
      _tile_dpbf16ps(0, 4, 6);
    else
      _tile_dpbssd(0, 4, 6);
  } else if constexpr (kC == 1) {
    if constexpr (kBf16)
      _tile_dpbf16ps(1, 4, 7);
    else
      _tile_dpbssd(1, 4, 7);
  } else if constexpr (kC == 2) {
    if constexpr (kBf16)
      _tile_dpbf16ps(2, 5, 6);
    else
      _tile_dpbssd(2, 5, 6);
  } else {
    if constexpr (kBf16)
      _tile_dpbf16ps(3, 5, 7);
    else
      _tile_dpbssd(3, 5, 7);
  }
}

// C = A . B for R (1, 2) row tiles and C (1, 2) column tiles of a 32 x 32
// block: `full` K chunks of A read at a (rows lda elements apart), then,
// where `tail` is given, one more chunk from it (a chunk a row, zero past
// K); B's tiles for one column tile consecutive, the next column tile
// b_stride words on; A in tiles 4 and 5, B in 6 and 7. T: uint16_t
// (bfloat16, TDPBF16PS, float C) or int8_t (TDPBSSD, int32 C). The caller
// has configured the tiles (kernels::ConfigureAmxTiles).
//
// The block follows another whose C tiles (`prev`,
// none where empty) are still in the registers: each of those is stored to
// prev_c (and zeroed) just before this block's first product into the same
// tile, while the products before it run, and this block's tiles stay in
// the registers for the next call (or StoreAmxTiles). Storing the four
// tiles after a block's last product waits for the products to drain:
// ResNet-50's 64 -> 256 layer's tile loop 8.3 -> 6.2 ns a product, against
// 5.4 for the products alone (K = 64, two chunks a block; Intel Xeon).
template <int R, int C, typename T, typename Acc>
MIXQ_AMX_KERNEL inline void AmxTileProductsAfter(const T* a, int64_t lda, int64_t full, const T* tail,
                                                 const uint32_t* b, int64_t b_stride, AmxTileSet prev, Acc* prev_c) {
  static_assert((std::is_same_v<T, uint16_t> && std::is_same_v<Acc, float>) ||
                (std::is_same_v<T, int8_t> && std::is_same_v<Acc, int32_t>));
  constexpr int64_t kChunk = kAmxChunkBytes / static_cast<int64_t>(sizeof(T)), kTile = 16;
  constexpr AmxTileSet kMine{R, C};
  // Tiles only one of the two blocks has: the previous block's stored now,
  // this block's zeroed now.
  auto settle = [&](auto tile) MIXQ_AMX_KERNEL {
    constexpr int t = decltype(tile)::value;
    if (prev.Has(t) && !kMine.Has(t)) StoreAmxTile<t>(prev_c);
    if (kMine.Has(t) && !prev.Has(t)) ZeroAmxTile<t>();
  };
  settle(std::integral_constant<int, 0>());
  settle(std::integral_constant<int, 1>());
  settle(std::integral_constant<int, 2>());
  settle(std::integral_constant<int, 3>());
  auto hand_over = [&](auto tile, bool first) MIXQ_AMX_KERNEL {
    constexpr int t = decltype(tile)::value;
    if (first && prev.Has(t)) {
      StoreAmxTile<t>(prev_c);
      ZeroAmxTile<t>();
    }
  };
  using T0 = std::integral_constant<int, 0>;
  using T1 = std::integral_constant<int, 1>;
  using T2 = std::integral_constant<int, 2>;
  using T3 = std::integral_constant<int, 3>;
  auto chunk = [&](const T* a0, int64_t a_stride, const uint32_t* b0, bool first) MIXQ_AMX_KERNEL {
    const int64_t a_bytes = a_stride * static_cast<int64_t>(sizeof(T));
    _tile_loadd(4, a0, a_bytes);
    _tile_loadd(6, b0, 64);
    if constexpr (C == 2) _tile_loadd(7, b0 + b_stride, 64);
    hand_over(T0(), first);
    AmxTileProduct<T, 0>();
    if constexpr (C == 2) {
      hand_over(T1(), first);
      AmxTileProduct<T, 1>();
    }
    if constexpr (R == 2) {
      _tile_loadd(5, a0 + kTile * a_stride, a_bytes);
      hand_over(T2(), first);
      AmxTileProduct<T, 2>();
      if constexpr (C == 2) {
        hand_over(T3(), first);
        AmxTileProduct<T, 3>();
      }
    }
  };
  for (int64_t k = 0; k < full; ++k) chunk(a + k * kChunk, lda, b + k * kAmxBTileWords, k == 0);
  if (tail) chunk(tail, kChunk, b + full * kAmxBTileWords, full == 0);
}

// AmxTileProductsAfter in the form that covers `rows` (1-32) rows of A and
// one or two column tiles; returns the tiles it leaves in the registers.
template <typename T, typename Acc>
MIXQ_AMX_KERNEL inline AmxTileSet AmxBlockProductsAfter(const T* a, int64_t lda, int64_t full, const T* tail,
                                                        int64_t rows, bool two_cols, const uint32_t* b,
                                                        int64_t b_stride, AmxTileSet prev, Acc* prev_c) {
  if (rows > 16 && two_cols) {
    AmxTileProductsAfter<2, 2>(a, lda, full, tail, b, b_stride, prev, prev_c);
    return {2, 2};
  }
  if (rows > 16) {
    AmxTileProductsAfter<2, 1>(a, lda, full, tail, b, b_stride, prev, prev_c);
    return {2, 1};
  }
  if (two_cols) {
    AmxTileProductsAfter<1, 2>(a, lda, full, tail, b, b_stride, prev, prev_c);
    return {1, 2};
  }
  AmxTileProductsAfter<1, 1>(a, lda, full, tail, b, b_stride, prev, prev_c);
  return {1, 1};
}

// One block alone: its C tiles land in c, 32 a row.
template <typename T, typename Acc>
MIXQ_AMX_KERNEL inline void AmxBlockProducts(const T* a, int64_t lda, int64_t full, const T* tail, int64_t rows,
                                             bool two_cols, const uint32_t* b, int64_t b_stride, Acc* c) {
  StoreAmxTiles(AmxBlockProductsAfter(a, lda, full, tail, rows, two_cols, b, b_stride, AmxTileSet{}, c), c);
}

// The float32 C tiles of a 32 x 32 block over one (C = 1) or two column
// tiles: tiles 0 and 2 (rows 0-15, 16-31 of the first column tile), 1 and 3
// (the second's); A tiles 4 and 5, B tiles 6 and 7. For the tile loops of
// ops/amx_split_gemm.h and the implicit-GEMM convolutions.
template <int C>
MIXQ_AMX_KERNEL inline void ZeroAmxFloatBlock() {
  _tile_zero(0);
  _tile_zero(2);
  if constexpr (C == 2) {
    _tile_zero(1);
    _tile_zero(3);
  }
}

// A's rows 0-15 (at a0) and 16-31 (at a1), `a_bytes` apart, times the B
// tiles loaded in 6 (and 7) into the C tiles (TDPBF16PS).
template <int C>
MIXQ_AMX_KERNEL inline void AmxBFloat16RowPairProducts(const void* a0, const void* a1, int64_t a_bytes) {
  _tile_loadd(4, a0, a_bytes);
  _tile_dpbf16ps(0, 4, 6);
  if constexpr (C == 2) _tile_dpbf16ps(1, 4, 7);
  _tile_loadd(5, a1, a_bytes);
  _tile_dpbf16ps(2, 5, 6);
  if constexpr (C == 2) _tile_dpbf16ps(3, 5, 7);
}

// The B tiles `ahead` tiles after bt (and b_stride words on) into L1: a
// filter streamed from memory (ResNet-50's 7 x 7 layers in float16).
template <int C>
MIXQ_AMX_KERNEL inline void PrefetchAmxBTiles(const uint32_t* bt, int64_t b_stride, int64_t ahead) {
  for (int line = 0; line < 16; ++line) {
    _mm_prefetch(reinterpret_cast<const char*>(bt + ahead * kAmxBTileWords + line * 16), _MM_HINT_T0);
    if constexpr (C == 2)
      _mm_prefetch(reinterpret_cast<const char*>(bt + b_stride + ahead * kAmxBTileWords + line * 16), _MM_HINT_T0);
  }
}

// The C tiles to c (32 floats a row).
template <int C>
MIXQ_AMX_KERNEL inline void StoreAmxFloatBlock(float* c) {
  constexpr int64_t kStride = kAmxBlockCols * sizeof(float), kTile = 16;
  _tile_stored(0, c, kStride);
  _tile_stored(2, c + kTile * kAmxBlockCols, kStride);
  if constexpr (C == 2) {
    _tile_stored(1, c + kTile, kStride);
    _tile_stored(3, c + kTile * kAmxBlockCols + kTile, kStride);
  }
}

template <typename T>
T* AlignedTo64(T* p) {
  const auto at = reinterpret_cast<uintptr_t>(p);
  return p + (64 - at % 64) % 64 / sizeof(T);
}

// At least n elements from a 64-byte boundary; never shrunk.
template <typename T>
T* GrownTo64(std::vector<T>* v, int64_t n) {
  if (v->size() < static_cast<size_t>(n + 64)) v->resize(static_cast<size_t>(n + 64));
  return AlignedTo64(v->data());
}

// What the tiles read for one block of up to 32 rows of A.
template <typename T>
struct AmxRowBlock {
  const T* a = nullptr;      // its first row
  int64_t lda = 0;           // elements between rows
  int64_t full = 0;          // whole K chunks read from a
  const T* tail = nullptr;   // the last partial K chunk (32 rows of one chunk, zero past K), or null
  int64_t m0 = 0, rows = 0;  // its first row in A, its rows (up to 32)
};

// Block `rb` of A (m rows of k elements, lda apart; chunks of `chunk`
// elements, `chunks` of them to cover k): straight from a, its K tail
// copied zero-padded into `tail` (32 x chunk) where k has one; a last
// partial block copied whole, zero-padded to 32 rows and whole chunks,
// into `staged` (32 x chunks * chunk).
template <typename T>
AmxRowBlock<T> StageAmxRowBlock(const T* a, int64_t lda, int64_t m, int64_t k, int64_t chunk, int64_t chunks,
                                int64_t rb, T* tail, T* staged) {
  AmxRowBlock<T> b;
  b.m0 = rb * kAmxBlockRows;
  b.rows = std::min(kAmxBlockRows, m - b.m0);
  b.a = a + b.m0 * lda;
  b.lda = lda;
  b.full = k / chunk;
  const int64_t k_tail = k % chunk;
  if (b.rows < kAmxBlockRows) {
    const int64_t ld = chunks * chunk;
    std::fill(staged, staged + kAmxBlockRows * ld, T{0});
    for (int64_t r = 0; r < b.rows; ++r)
      std::memcpy(staged + r * ld, b.a + r * lda, static_cast<size_t>(k) * sizeof(T));
    b.a = staged;
    b.lda = ld;
    b.full = chunks;
  } else if (k_tail) {
    std::fill(tail, tail + kAmxBlockRows * chunk, T{0});
    for (int64_t r = 0; r < kAmxBlockRows; ++r)
      std::memcpy(tail + r * chunk, b.a + r * lda + b.full * chunk, static_cast<size_t>(k_tail) * sizeof(T));
    b.tail = tail;
  }
  return b;
}

// How a product splits into jobs: items = row_groups x col_groups, job
// (rg, cg) the row blocks [row_blocks * rg / row_groups, ...) and column
// pairs [col_pairs * cg / col_groups, ...).
struct AmxJobPlan {
  int64_t row_blocks = 0, col_pairs = 0, row_groups = 0, col_groups = 0, items = 0;
  bool cols_outer = false;  // sweep the row blocks per column pair (B read once)
  bool parallel = false;
  int64_t RowBegin(int64_t item) const { return row_blocks * (item / col_groups) / row_groups; }
  int64_t RowEnd(int64_t item) const { return row_blocks * (item / col_groups + 1) / row_groups; }
  int64_t PairBegin(int64_t item) const { return col_pairs * (item % col_groups) / col_groups; }
  int64_t PairEnd(int64_t item) const { return col_pairs * (item % col_groups + 1) / col_groups; }
};

// `b_bytes` / `a_bytes`: the packed B and A's m rows; `macs`: m * k * n;
// a product splits over threads from `min_parallel_macs`.
inline AmxJobPlan PlanAmxJobs(int64_t m, int64_t col_pairs, int64_t b_bytes, int64_t a_bytes, int64_t macs, int threads,
                              int64_t min_parallel_macs) {
  AmxJobPlan p;
  p.row_blocks = (m + kAmxBlockRows - 1) / kAmxBlockRows;
  p.col_pairs = col_pairs;
  p.cols_outer = b_bytes > a_bytes;
  if (p.cols_outer) {
    p.row_groups = 1;
    p.col_groups = std::min<int64_t>(threads, col_pairs);
  } else {
    // One job per row block; few of them (small images): the column pairs split too.
    p.row_groups = p.row_blocks;
    p.col_groups = std::clamp<int64_t>((2 * threads + p.row_blocks - 1) / p.row_blocks, 1, col_pairs);
  }
  p.items = p.row_groups * p.col_groups;
  p.parallel = threads > 1 && p.items > 1 && macs >= min_parallel_macs;
  return p;
}

// One job: `compute(block, pair)` for every row block and column pair of
// item `item`, in the plan's order; tail, staged and blocks are the
// calling thread's buffers.
template <typename T, typename Compute>
void RunAmxJob(const AmxJobPlan& plan, int64_t item, const T* a, int64_t lda, int64_t m, int64_t k, int64_t chunk,
               int64_t chunks, std::vector<T>* tail, std::vector<T>* staged, std::vector<AmxRowBlock<T>>* blocks,
               const Compute& compute) {
  const int64_t rb0 = plan.RowBegin(item), rb1 = plan.RowEnd(item);
  const int64_t pair0 = plan.PairBegin(item), pair1 = plan.PairEnd(item);
  T* stage = rb1 * kAmxBlockRows > m ? GrownTo64(staged, kAmxBlockRows * chunks * chunk) : nullptr;
  if (!plan.cols_outer) {
    T* t = GrownTo64(tail, kAmxBlockRows * chunk);
    for (int64_t rb = rb0; rb < rb1; ++rb) {
      const AmxRowBlock<T> block = StageAmxRowBlock(a, lda, m, k, chunk, chunks, rb, t, stage);
      for (int64_t pair = pair0; pair < pair1; ++pair) compute(block, pair);
    }
    return;
  }
  T* tails = GrownTo64(tail, (rb1 - rb0) * kAmxBlockRows * chunk);
  blocks->clear();
  for (int64_t rb = rb0; rb < rb1; ++rb)
    blocks->push_back(
        StageAmxRowBlock(a, lda, m, k, chunk, chunks, rb, tails + (rb - rb0) * kAmxBlockRows * chunk, stage));
  for (int64_t pair = pair0; pair < pair1; ++pair)
    for (const AmxRowBlock<T>& block : *blocks) compute(block, pair);
}

// RunAmxJob with the tiles handed over between blocks: each block's
// products issued by AmxBlockProductsAfter (B tiles of column pair p at
// b_tiles + 2 p b_stride, n_blocks column tiles in all), and
// epilogue(c, rows, row0, col0) run on a block's 32 x 32 sums while the
// next block's products are under way. c holds two C blocks (2 *
// kAmxBlockRows * kAmxBlockCols values): the pending block's and the next.
template <typename T, typename Acc, typename Epilogue>
MIXQ_AMX_KERNEL void RunAmxJobHandingOver(const AmxJobPlan& plan, int64_t item, const T* a, int64_t lda, int64_t m,
                                          int64_t k, int64_t chunk, int64_t chunks, std::vector<T>* tail,
                                          std::vector<T>* staged, std::vector<AmxRowBlock<T>>* blocks,
                                          const uint32_t* b_tiles, int64_t b_stride, int64_t n_blocks, Acc* c,
                                          const Epilogue& epilogue) {
  constexpr int64_t kBlock = kAmxBlockRows * kAmxBlockCols;
  AmxTileSet pending;
  int64_t rows = 0, row0 = 0, col0 = 0;
  int buffer = 0;
  RunAmxJob(plan, item, a, lda, m, k, chunk, chunks, tail, staged, blocks,
            [&](const AmxRowBlock<T>& block, int64_t pair) MIXQ_AMX_KERNEL {
              Acc* pending_c = c + (1 - buffer) * kBlock;
              const int64_t first = 2 * pair;
              const AmxTileSet tiles =
                  AmxBlockProductsAfter(block.a, block.lda, block.full, block.tail, block.rows, first + 1 < n_blocks,
                                        b_tiles + first * b_stride, b_stride, pending, pending_c);
              if (!pending.empty()) epilogue(static_cast<const Acc*>(pending_c), rows, row0, col0);
              pending = tiles;
              rows = block.rows;
              row0 = block.m0;
              col0 = first * 16;
              buffer = 1 - buffer;
            });
  if (pending.empty()) return;
  Acc* pending_c = c + (1 - buffer) * kBlock;
  StoreAmxTiles(pending, pending_c);
  epilogue(static_cast<const Acc*>(pending_c), rows, row0, col0);
}

// The plan's jobs over OpenMP threads (a team of its own where
// plan.parallel), with nothing staged per job: compute(rb, pair, c) for
// each row block and column pair in the plan's order, c a 32 x 32 float32
// block in the thread's scratch (kernels/thread_scratch.h, slot 1), the
// tiles configured. False where that memory could not be had.
template <typename Compute>
bool RunAmxPlan(const AmxJobPlan& plan, const Compute& compute) {
  bool failed = false;
#pragma omp parallel if (plan.parallel)
  {
    auto* c = static_cast<float*>(
        kernels::ThreadScratch(1, static_cast<size_t>(kAmxBlockRows * kAmxBlockCols) * sizeof(float)));
    if (!c) {
#pragma omp atomic write
      failed = true;
    } else {
      kernels::ConfigureAmxTiles();
#pragma omp for schedule(static)
      for (int64_t item = 0; item < plan.items; ++item) {
        const int64_t rb0 = plan.RowBegin(item), rb1 = plan.RowEnd(item);
        const int64_t pair0 = plan.PairBegin(item), pair1 = plan.PairEnd(item);
        if (plan.cols_outer) {
          for (int64_t pair = pair0; pair < pair1; ++pair)
            for (int64_t rb = rb0; rb < rb1; ++rb) compute(rb, pair, c);
        } else {
          for (int64_t rb = rb0; rb < rb1; ++rb)
            for (int64_t pair = pair0; pair < pair1; ++pair) compute(rb, pair, c);
        }
      }
      kernels::ReleaseAmxTiles();
    }
  }
  return !failed;
}

}  // namespace mixq::ops
