#include "kernels/sgemm.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "kernels/parallel.h"
#include "kernels/thread_scratch.h"
#include "kernels/vector_math.h"

namespace mixq::kernels {

namespace {

#define MIXQ_AVX2 __attribute__((target("avx2,fma")))

constexpr int64_t kSgemmChunkBlocks = 24;  // 144 rows: their packed K block, 144 KiB, stays in L2
constexpr int kSgemmScratchSlot = 3;
constexpr int64_t kSgemmRowsPerThreadForRowSplit = 48;  // SgemmAvx2: rows per thread for the row partition       // of
                                                        // kernels::ThreadScratch; no other kernel runs inside this one

// Lanes 0-7 and 8-15 of a 16-column row that are below `cols`.
struct ColumnMask {
  bool full = true;
  __m256i lo, hi;
};

MIXQ_AVX2 inline ColumnMask MakeMask(int64_t cols) {
  ColumnMask m;
  m.full = cols >= kSgemmPanel;
  const __m256i n = _mm256_set1_epi32(static_cast<int>(std::min<int64_t>(cols, kSgemmPanel)));
  m.lo = _mm256_cmpgt_epi32(n, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  m.hi = _mm256_cmpgt_epi32(n, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15));
  return m;
}

MIXQ_AVX2 inline __m256 LoadHalf(const float* p, int half, const ColumnMask& m) {
  return m.full ? _mm256_loadu_ps(p + 8 * half) : _mm256_maskload_ps(p + 8 * half, half ? m.hi : m.lo);
}

MIXQ_AVX2 inline void StoreHalf(float* p, int half, const ColumnMask& m, __m256 v) {
  if (m.full)
    _mm256_storeu_ps(p + 8 * half, v);
  else
    _mm256_maskstore_ps(p + 8 * half, half ? m.hi : m.lo, v);
}

// The epilogue of a micro-tile: `rows` rows of 16 sums (the tile's
// accumulators, row r at sums + 16 r) through the epilogue's operations in
// order, stored to C (row r at c + r * ldc, `mask` its columns). `at` is the
// tile's first element in C (the addends), `col` its first column (the
// biases). Out of line, after the accumulators are dead: a call inside the
// micro-tile would make them live across it (no callee-saved ymm registers),
// and GCC then keeps them in memory through the FMA loop.
MIXQ_AVX2 __attribute__((noinline)) void StoreWithEpilogue(float* sums, int rows, float* c, int64_t ldc,
                                                           const ColumnMask& mask, const SgemmEpilogue& e, int64_t at,
                                                           int64_t col) {
  const int vectors = 2 * rows;  // vector i: row i / 2, columns 8 (i % 2) on
  // One operation at a time over the tile's vectors (the dispatch hoisted
  // out of the element loop); the tile stays in L1 in between.
  for (const SgemmEpilogueOp& op : e.ops) {
    switch (op.kind) {
      case SgemmEpilogueOp::Kind::kBias: {
        const __m256 b0 = LoadHalf(op.data + col, 0, mask), b1 = LoadHalf(op.data + col, 1, mask);
        for (int i = 0; i < vectors; ++i)
          _mm256_store_ps(sums + 8 * i, _mm256_add_ps(_mm256_load_ps(sums + 8 * i), i % 2 ? b1 : b0));
        break;
      }
      case SgemmEpilogueOp::Kind::kAdd:
        for (int i = 0; i < vectors; ++i)
          _mm256_store_ps(sums + 8 * i, _mm256_add_ps(_mm256_load_ps(sums + 8 * i),
                                                      LoadHalf(op.data + at + (i / 2) * ldc, i % 2, mask)));
        break;
      case SgemmEpilogueOp::Kind::kClamp: {
        const __m256 lo = _mm256_set1_ps(op.lo), hi = _mm256_set1_ps(op.hi);
        for (int i = 0; i < vectors; ++i)
          _mm256_store_ps(sums + 8 * i, _mm256_min_ps(_mm256_max_ps(_mm256_load_ps(sums + 8 * i), lo), hi));
        break;
      }
      case SgemmEpilogueOp::Kind::kLeakyRelu: {
        const __m256 slope = _mm256_set1_ps(op.lo);
        for (int i = 0; i < vectors; ++i) {
          const __m256 v = _mm256_load_ps(sums + 8 * i);
          _mm256_store_ps(sums + 8 * i, _mm256_blendv_ps(v, _mm256_mul_ps(v, slope),
                                                         _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ)));
        }
        break;
      }
      case SgemmEpilogueOp::Kind::kGeluErf:
        for (int i = 0; i < vectors; ++i) _mm256_store_ps(sums + 8 * i, GeluErfAvx2(_mm256_load_ps(sums + 8 * i)));
        break;
      case SgemmEpilogueOp::Kind::kGeluTanh:
        for (int i = 0; i < vectors; ++i) _mm256_store_ps(sums + 8 * i, GeluTanhAvx2(_mm256_load_ps(sums + 8 * i)));
        break;
    }
  }
  for (int i = 0; i < vectors; ++i) StoreHalf(c + (i / 2) * ldc, i % 2, mask, _mm256_load_ps(sums + 8 * i));
}

// C[0..R)[0..cols) = (accumulate ? C : 0) + sum over kc taps of A x B,
// then, with `epilogue` (the last K block), its operations. A packed for
// the block (tap t of row r at a[t * 6 + r]), B the panel's block (16 floats
// per tap). `at` is the tile's element index in C (for the addends),
// `col` its first column (for the biases).
template <int R>
MIXQ_AVX2 void MicroTile(const float* a, const float* b, int64_t kc, float* c, int64_t ldc, const ColumnMask& mask,
                         bool accumulate, const SgemmEpilogue* epilogue, int64_t at, int64_t col) {
  // Fewer than 3 rows leave the FMAs' latency (4 cycles, 2 per cycle)
  // uncovered: S independent sums over alternate taps, added at the end.
  constexpr int S = R == 1 ? 4 : R == 2 ? 2 : 1;
  __m256 acc[S][R][2];
#pragma GCC unroll 6
  for (int s = 0; s < S; ++s)
    for (int r = 0; r < R; ++r) acc[s][r][0] = acc[s][r][1] = _mm256_setzero_ps();
  int64_t t = 0;
#pragma GCC unroll 4
  for (; t + S <= kc; t += S) {
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s) {
      const float* bt = b + (t + s) * kSgemmPanel;
      const __m256 b0 = _mm256_loadu_ps(bt), b1 = _mm256_loadu_ps(bt + 8);
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) {
        const __m256 av = _mm256_broadcast_ss(a + (t + s) * kSgemmRows + r);
        acc[s][r][0] = _mm256_fmadd_ps(av, b0, acc[s][r][0]);
        acc[s][r][1] = _mm256_fmadd_ps(av, b1, acc[s][r][1]);
      }
    }
  }
  for (; t < kc; ++t) {  // S > 1 only
    const __m256 b0 = _mm256_loadu_ps(b + t * kSgemmPanel), b1 = _mm256_loadu_ps(b + t * kSgemmPanel + 8);
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + t * kSgemmRows + r);
      acc[0][r][0] = _mm256_fmadd_ps(av, b0, acc[0][r][0]);
      acc[0][r][1] = _mm256_fmadd_ps(av, b1, acc[0][r][1]);
    }
  }
  for (int s = 1; s < S; ++s)
    for (int r = 0; r < R; ++r) {
      acc[0][r][0] = _mm256_add_ps(acc[0][r][0], acc[s][r][0]);
      acc[0][r][1] = _mm256_add_ps(acc[0][r][1], acc[s][r][1]);
    }
  if (epilogue) {
    // The sums through the epilogue, then one store (not C written twice).
    alignas(32) float sums[R * kSgemmPanel];
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r)
      for (int h = 0; h < 2; ++h) {
        __m256 v = acc[0][r][h];
        if (accumulate) v = _mm256_add_ps(LoadHalf(c + r * ldc, h, mask), v);
        _mm256_store_ps(sums + r * kSgemmPanel + 8 * h, v);
      }
    StoreWithEpilogue(sums, R, c, ldc, mask, *epilogue, at, col);
    return;
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    float* row = c + r * ldc;
    for (int h = 0; h < 2; ++h) {
      __m256 v = acc[0][r][h];
      if (accumulate) v = _mm256_add_ps(LoadHalf(row, h, mask), v);
      StoreHalf(row, h, mask, v);
    }
  }
}

struct Problem {
  const float* a;
  int64_t m, lda;
  const PackedSgemmB* b;
  const SgemmEpilogue* epilogue;
  float* c;
  int64_t ldc;
};

// Row block `block` of A (6 rows from 6 * block) packed tap-major: tap t of
// row r at dst[t * 6 + r] (one stream for the broadcasts, no L1 set
// conflicts between rows 4 KiB apart). Rows past M are left as they are.
void PackRowBlock(const Problem& p, int64_t block, float* dst) {
  const int64_t row = block * kSgemmRows, rows = std::min(kSgemmRows, p.m - row);
  const float* src = p.a + row * p.lda;
  for (int64_t t = 0; t < p.b->k; ++t)
    for (int64_t r = 0; r < rows; ++r) dst[t * kSgemmRows + r] = src[r * p.lda + t];
}

// Rows [6 * first_block, 6 * last_block) x panels [first_panel, last_panel),
// A packed by PackRowBlock (block b at packed_a + b * K * 6). Per K block,
// each panel's block (16 KiB) stays in L1 while every row block of the chunk
// runs against it (their K block, 6 KiB each, from L2): BLIS's loop order.
MIXQ_AVX2 void RunTile(const Problem& p, int64_t first_block, int64_t last_block, int64_t first_panel,
                       int64_t last_panel, const float* packed_a) {
  const PackedSgemmB& b = *p.b;
  for (int64_t k0 = 0; k0 == 0 || k0 < b.k; k0 += kSgemmDepthBlock) {
    const int64_t kc = std::min(kSgemmDepthBlock, b.k - k0);
    const bool last = k0 + kSgemmDepthBlock >= b.k;
    const SgemmEpilogue* epilogue = last && !p.epilogue->ops.empty() ? p.epilogue : nullptr;
    for (int64_t panel = first_panel; panel < last_panel; ++panel) {
      const int64_t col = panel * kSgemmPanel;
      const ColumnMask mask = MakeMask(b.n - col);
      const float* bp = b.Panel(panel) + k0 * kSgemmPanel;
      for (int64_t block = first_block; block < last_block; ++block) {
        const int64_t row = block * kSgemmRows, rows = std::min(kSgemmRows, p.m - row);
        const float* a = packed_a + (block * b.k + k0) * kSgemmRows;
        const int64_t at = row * p.ldc + col;
        float* c = p.c + at;
        switch (rows) {
          case 6:
            MicroTile<6>(a, bp, kc, c, p.ldc, mask, k0 > 0, epilogue, at, col);
            break;
          case 5:
            MicroTile<5>(a, bp, kc, c, p.ldc, mask, k0 > 0, epilogue, at, col);
            break;
          case 4:
            MicroTile<4>(a, bp, kc, c, p.ldc, mask, k0 > 0, epilogue, at, col);
            break;
          case 3:
            MicroTile<3>(a, bp, kc, c, p.ldc, mask, k0 > 0, epilogue, at, col);
            break;
          case 2:
            MicroTile<2>(a, bp, kc, c, p.ldc, mask, k0 > 0, epilogue, at, col);
            break;
          default:
            MicroTile<1>(a, bp, kc, c, p.ldc, mask, k0 > 0, epilogue, at, col);
            break;
        }
      }
    }
  }
}

int64_t CeilDiv(int64_t x, int64_t y) {
  return (x + y - 1) / y;
}

}  // namespace

void PackSgemmB(const float* b, int64_t k, int64_t n, bool transposed, PackedSgemmB* packed) {
  packed->k = k;
  packed->n = n;
  packed->panels = CeilDiv(n, kSgemmPanel);
  const auto count = static_cast<size_t>(packed->panels * k * kSgemmPanel);
  packed->storage.assign(count + 16, 0.0f);  // + up to 64 bytes to align the panels
  const auto address = reinterpret_cast<uintptr_t>(packed->storage.data());
  packed->offset = (64 - address % 64) % 64 / sizeof(float);
  float* dst = packed->storage.data() + packed->offset;
  auto at = [&](int64_t t, int64_t j) { return (j / kSgemmPanel * k + t) * kSgemmPanel + j % kSgemmPanel; };
  if (transposed) {
    for (int64_t j = 0; j < n; ++j)
      for (int64_t t = 0; t < k; ++t) dst[at(t, j)] = b[j * k + t];
  } else {
    for (int64_t t = 0; t < k; ++t)
      for (int64_t j = 0; j < n; ++j) dst[at(t, j)] = b[t * n + j];
  }
}

bool SgemmAvx2(const float* a, int64_t m, int64_t lda, const PackedSgemmB& b, const SgemmEpilogue& epilogue, float* c,
               int64_t ldc) {
  if (m <= 0 || b.n <= 0) return true;
  const Problem p{a, m, lda, &b, &epilogue, c, ldc};
  const int64_t row_blocks = CeilDiv(m, kSgemmRows), column_blocks = CeilDiv(b.panels, kSgemmBlockPanels);
  const int threads = std::max(1, omp_get_max_threads());
  const bool parallel = threads > 1 && m * b.n * b.k >= kMinParallelMacs;
  // Row chunks of at most kSgemmChunkBlocks row blocks (their packed K block
  // stays in L2), and enough tiles (about 4 per thread) for dynamic
  // scheduling to even out the threads.
  int64_t chunks = CeilDiv(row_blocks, kSgemmChunkBlocks);
  // Enough rows for every thread: one row chunk per thread (or a multiple),
  // tiles handed out statically chunk by chunk, so each thread packs and
  // writes its own contiguous rows, the partition the row-wise steps after
  // it use (LayerNorm, Softmax, adds read them from their own core's
  // caches; at 2 threads on AMD Zen 4 a step that read rows another core
  // wrote paid several times its time).
  // Each thread then streams all of B: only for weights of at most 4 MiB
  // (BERT's 768 x 768: 0.94 -> 0.82 ms at 2 threads; its 768 x 3072, 9.4 MB,
  // 3.26 -> 3.63).
  const bool by_rows = parallel && m >= kSgemmRowsPerThreadForRowSplit * threads &&
                       b.k * b.n * static_cast<int64_t>(sizeof(float)) <= (int64_t{4} << 20);
  if (by_rows)
    chunks = CeilDiv(chunks, threads) * threads;
  else if (parallel)
    chunks = std::max(chunks, std::min(row_blocks, CeilDiv(4 * threads, column_blocks)));
  const int64_t chunk_blocks = CeilDiv(row_blocks, chunks);
  chunks = CeilDiv(row_blocks, chunk_blocks);
  const int64_t tiles = chunks * column_blocks;
  // A packed once per call on the calling thread's scratch, shared by the threads.
  auto* packed_a = static_cast<float*>(ThreadScratch(
      kSgemmScratchSlot, static_cast<size_t>(row_blocks * kSgemmRows * std::max<int64_t>(b.k, 1)) * sizeof(float)));
  if (!packed_a) return false;
  auto run_tile = [&](int64_t tile) {
    const int64_t chunk = tile / column_blocks, column_block = tile % column_blocks;
    const int64_t first_panel = column_block * kSgemmBlockPanels;
    RunTile(p, chunk * chunk_blocks, std::min(row_blocks, (chunk + 1) * chunk_blocks), first_panel,
            std::min(b.panels, first_panel + kSgemmBlockPanels), packed_a);
  };
  if (by_rows) {
    // Each thread packs the rows of its own chunks (static: the same split).
#pragma omp parallel
    {
#pragma omp for schedule(static)
      for (int64_t chunk = 0; chunk < chunks; ++chunk)
        for (int64_t block = chunk * chunk_blocks; block < std::min(row_blocks, (chunk + 1) * chunk_blocks); ++block)
          PackRowBlock(p, block, packed_a + block * b.k * kSgemmRows);
#pragma omp for schedule(static)
      for (int64_t tile = 0; tile < tiles; ++tile) run_tile(tile);
    }
    return true;
  }
#pragma omp parallel if (parallel)
  {
    // Dynamic: on a shared machine a descheduled thread must not hold up a
    // fixed half of the packing while the other waits at the barrier.
#pragma omp for schedule(dynamic, 1)
    for (int64_t block = 0; block < row_blocks; ++block) PackRowBlock(p, block, packed_a + block * b.k * kSgemmRows);
#pragma omp for schedule(dynamic, 1)
    for (int64_t tile = 0; tile < tiles; ++tile) run_tile(tile);
  }
  return true;
}

}  // namespace mixq::kernels
