#include "ops/amx_bf16_gemm.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/avx512_warnings.h"
#include "kernels/u8s8_gemm_amx.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {

namespace {

constexpr int64_t kTile = 16;                  // rows per A / C tile; columns per B / C tile
constexpr int64_t kChunk = 32;                 // values of K per tile row: 16 pairs of bfloat16, 64 bytes
constexpr int64_t kTileWords = kTile * kTile;  // a B tile: 16 pairs x 16 columns, one 32-bit pair each
constexpr int64_t kRows = 2 * kTile;           // rows of A per block (two A tiles)
constexpr int64_t kCols = 2 * kTile;           // columns per C block (two B tiles)

// A product splits over threads from this many multiply-adds: the tile
// products run about 500 a cycle, so below it a parallel region's few
// microseconds cost more than the second thread saves.
constexpr int64_t kMinParallelMacs = int64_t{1} << 22;

#define MIXQ_AMX_BF16 MIXQ_AMX_KERNEL  // ops/amx_jobs.h

// 16 bfloat16 (the mask's lanes) as float32.
MIXQ_AMX_BF16 inline __m512 WidenBFloat16(const uint16_t* from, __mmask16 mask) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, from)), 16));
}

// What the epilogue of one C block needs.
struct Epilogue {
  const float* bias;       // kCols floats from the block's first column (zero past the last)
  const HalfChain* chain;  // post-ops; kAddTensor reads `addend`
  const uint16_t* addend;  // the block's first row and column, or null
  int64_t ld_addend;       // elements between its rows
  uint16_t* out;           // the block's first row and column of Y
  int64_t ld;              // elements between rows of Y
  __mmask16 lo, hi;        // the block's columns in its two column tiles
};

// `rows` rows of the block: + bias, the chain, one rounding, the store. Four
// rows (eight vectors) a step, each op's constants broadcast once a step.
// kFull: all 32 columns, each row's addend read and its result written as
// one 64-byte vector (ResNet-50's 56 x 56 residual layers 0.17 -> 0.15 ms,
// against two masked halves).
template <bool kFull>
MIXQ_AMX_BF16 void RunEpilogue(const float* c, int64_t rows, const Epilogue& e) {
  const __m512 bias0 = _mm512_loadu_ps(e.bias), bias1 = _mm512_loadu_ps(e.bias + kTile);
  constexpr int kStep = 4;
  int64_t r = 0;
  auto rows_of = [&](auto n_rows) MIXQ_AMX_BF16 {
    constexpr int kN = decltype(n_rows)::value;
    __m512 v[2 * kN];
    for (int u = 0; u < kN; ++u) {
      v[2 * u] = _mm512_add_ps(_mm512_loadu_ps(c + (r + u) * kCols), bias0);
      v[2 * u + 1] = _mm512_add_ps(_mm512_loadu_ps(c + (r + u) * kCols + kTile), bias1);
    }
    if (e.addend) {
      __m512 add[2 * kN];
      for (int u = 0; u < kN; ++u) {
        const uint16_t* from = e.addend + (r + u) * e.ld_addend;
        if constexpr (kFull) {
          const __m512i both = _mm512_loadu_si512(from);
          add[2 * u] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(both)), 16));
          add[2 * u + 1] =
              _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(both, 1)), 16));
        } else {
          add[2 * u] = WidenBFloat16(from, e.lo);
          add[2 * u + 1] = WidenBFloat16(from + kTile, e.hi);
        }
      }
      ApplyBFloat16Chain<2 * kN, true>(v, *e.chain, add);
    } else {
      ApplyBFloat16Chain<2 * kN>(v, *e.chain);
    }
    for (int u = 0; u < kN; ++u) {
      uint16_t* to = e.out + (r + u) * e.ld;
      const __m256i lo = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v[2 * u]));
      const __m256i hi = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v[2 * u + 1]));
      if constexpr (kFull) {
        _mm512_storeu_si512(to, _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
      } else {
        _mm256_mask_storeu_epi16(to, e.lo, lo);
        if (e.hi) _mm256_mask_storeu_epi16(to + kTile, e.hi, hi);
      }
    }
  };
  for (; r + kStep <= rows; r += kStep) rows_of(std::integral_constant<int, kStep>());
  for (; r < rows; ++r) rows_of(std::integral_constant<int, 1>());
}

// Rows [row0, row0 + rows) of Y (and of the addend) from `rows` rows of a C
// block (32 floats a row) for the columns of pair col0 / 32.
MIXQ_AMX_BF16 void StoreRows(const float* c, int64_t rows, int64_t row0, int64_t col0, const AmxBFloat16B& b,
                             const AmxBFloat16Out& out) {
  const int64_t cols = std::min(kCols, b.n - col0);
  Epilogue e{b.bias + col0,
             out.chain,
             out.addend ? out.addend + row0 * out.ld_addend + col0 : nullptr,
             out.ld_addend,
             out.y + row0 * out.ldy + col0,
             out.ldy,
             static_cast<__mmask16>(cols >= kTile ? 0xFFFF : (1u << cols) - 1),
             static_cast<__mmask16>(cols >= kCols  ? 0xFFFF
                                    : cols > kTile ? (1u << (cols - kTile)) - 1
                                                   : 0)};
  if (cols == kCols)
    RunEpilogue<true>(c, rows, e);
  else
    RunEpilogue<false>(c, rows, e);
}

}  // namespace

void AmxBFloat16StoreRows(const float* c, int64_t rows, int64_t row0, int64_t col0, const AmxBFloat16B& b,
                          const AmxBFloat16Out& out) {
  StoreRows(c, rows, row0, col0, b, out);
}

int64_t AmxBFloat16BWords(int64_t k, int64_t n) {
  const int64_t chunks = (k + kChunk - 1) / kChunk, n_blocks = (n + kTile - 1) / kTile;
  return n_blocks * chunks * kTileWords + n_blocks * kTile + kTile + 16;  // + 16: the 64-byte alignment
}

void PackAmxBFloat16B(int64_t k, int64_t n, const std::function<float(int64_t, int64_t)>& value, const float* bias,
                      uint32_t* words) {
  const int64_t chunks = (k + kChunk - 1) / kChunk, n_blocks = (n + kTile - 1) / kTile;
  uint32_t* base = AlignedTo64(words);
  const int64_t tile_words = n_blocks * chunks * kTileWords;
  std::fill(base, base + tile_words + n_blocks * kTile + kTile, 0u);
  auto bits = [&](int64_t kk, int64_t nn) -> uint32_t {
    if (kk >= k) return 0;
    const float v = value(kk, nn);
    uint32_t f;
    std::memcpy(&f, &v, sizeof(f));
    return f >> 16;  // exact: a bfloat16 value
  };
  for (int64_t nn = 0; nn < n; ++nn)
    for (int64_t kk = 0; kk < chunks * kChunk; kk += 2) {
      const int64_t block = nn / kTile, chunk = kk / kChunk, pair = kk % kChunk / 2;
      base[((block * chunks + chunk) * kTile + pair) * kTile + nn % kTile] = bits(kk, nn) | bits(kk + 1, nn) << 16;
    }
  if (bias) std::memcpy(base + tile_words, bias, static_cast<size_t>(n) * sizeof(float));
}

AmxBFloat16B ViewAmxBFloat16B(int64_t k, int64_t n, const uint32_t* words) {
  AmxBFloat16B b;
  b.k = k;
  b.n = n;
  b.chunks = (k + kChunk - 1) / kChunk;
  b.n_blocks = (n + kTile - 1) / kTile;
  b.tiles = AlignedTo64(words);
  b.bias = reinterpret_cast<const float*>(b.tiles + b.n_blocks * b.chunks * kTileWords);
  return b;
}

void AmxBFloat16Gemm(const uint16_t* a, int64_t lda, int64_t m, const AmxBFloat16B& b, const AmxBFloat16Out& out,
                     std::vector<AmxBFloat16Scratch>* scratch) {
  if (m <= 0) return;
  const int threads = std::max(1, omp_get_max_threads());
  const AmxJobPlan plan = PlanAmxJobs(m, (b.n_blocks + 1) / 2, b.n_blocks * b.chunks * kTileWords * 4, m * b.k * 2,
                                      m * b.k * b.n, threads, kMinParallelMacs);
  if (scratch->size() < static_cast<size_t>(threads)) scratch->resize(static_cast<size_t>(threads));
#pragma omp parallel if (plan.parallel)
  {
    AmxBFloat16Scratch& w = (*scratch)[static_cast<size_t>(omp_get_thread_num())];
    // Two C blocks: with an addend, the one whose epilogue runs while the
    // next block's tile products do, and the next.
    float* c = GrownTo64(&w.c, 2 * kRows * kCols);
    kernels::ConfigureAmxTiles();
#pragma omp for schedule(static)
    for (int64_t item = 0; item < plan.items; ++item) {
      // With a residual addend the epilogue waits on the addend's reads
      // from L2 / memory: the next block's tile products run meanwhile
      // (AmxTileProductsAfter; ResNet-50's residual 1 x 1 layers 10-20 %
      // faster). Without one, the same order ran slower (its 64 -> 256
      // shortcut 0.131 -> 0.162 ms): each block's tiles stored and its
      // epilogue run right after its products.
      if (!out.addend) {
        RunAmxJob(plan, item, a, lda, m, b.k, kChunk, b.chunks, &w.tail, &w.rows, &w.blocks,
                  [&](const AmxRowBlock<uint16_t>& block, int64_t pair) MIXQ_AMX_BF16 {
                    const int64_t tile_block = 2 * pair, b_stride = b.chunks * kTileWords;
                    AmxBlockProducts(block.a, block.lda, block.full, block.tail, block.rows,
                                     tile_block + 1 < b.n_blocks, b.tiles + tile_block * b_stride, b_stride, c);
                    StoreRows(c, block.rows, block.m0, tile_block * kTile, b, out);
                  });
        continue;
      }
      RunAmxJobHandingOver(plan, item, a, lda, m, b.k, kChunk, b.chunks, &w.tail, &w.rows, &w.blocks, b.tiles,
                           b.chunks * kTileWords, b.n_blocks, c,
                           [&](const float* sums, int64_t rows, int64_t row0, int64_t col0) {
                             StoreRows(sums, rows, row0, col0, b, out);
                           });
    }
    kernels::ReleaseAmxTiles();
  }
}

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON
