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

#define MIXQ_AMX_BF16 __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")))

// C (+)= A . B for R (1, 2) row tiles and C (1, 2) column tiles: `full`
// K chunks of A read at a (rows lda elements apart), then, where `tail` is
// given, one more chunk from it (32 values a row, zero past K); B's tiles
// for one column tile consecutive, the next column tile b_stride words on.
// The C tiles land in c, kCols floats a row.
template <int R, int C>
MIXQ_AMX_BF16 void Tiles(const uint16_t* a, int64_t lda, int64_t full, const uint16_t* tail, const uint32_t* b,
                         int64_t b_stride, float* c) {
  _tile_zero(0);
  if constexpr (C == 2) _tile_zero(1);
  if constexpr (R == 2) _tile_zero(2);
  if constexpr (R == 2 && C == 2) _tile_zero(3);
  auto chunk = [&](const uint16_t* a0, int64_t a_stride, const uint32_t* b0) MIXQ_AMX_BF16 {
    const int64_t a_bytes = a_stride * static_cast<int64_t>(sizeof(uint16_t));
    _tile_loadd(4, a0, a_bytes);
    _tile_loadd(6, b0, 64);
    if constexpr (C == 2) _tile_loadd(7, b0 + b_stride, 64);
    _tile_dpbf16ps(0, 4, 6);
    if constexpr (C == 2) _tile_dpbf16ps(1, 4, 7);
    if constexpr (R == 2) {
      _tile_loadd(5, a0 + kTile * a_stride, a_bytes);
      _tile_dpbf16ps(2, 5, 6);
      if constexpr (C == 2) _tile_dpbf16ps(3, 5, 7);
    }
  };
  for (int64_t k = 0; k < full; ++k) chunk(a + k * kChunk, lda, b + k * kTileWords);
  if (tail) chunk(tail, kChunk, b + full * kTileWords);
  constexpr int64_t kStride = kCols * sizeof(float);
  _tile_stored(0, c, kStride);
  if constexpr (C == 2) _tile_stored(1, c + kTile, kStride);
  if constexpr (R == 2) _tile_stored(2, c + kTile * kCols, kStride);
  if constexpr (R == 2 && C == 2) _tile_stored(3, c + kTile * kCols + kTile, kStride);
}

MIXQ_AMX_BF16 void ReleaseTiles() {
  _tile_release();
}

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

// One block of rows against column pair `pair`: the tiles, then the epilogue.
MIXQ_AMX_BF16 void Compute(const AmxRowBlock<uint16_t>& ba, int64_t pair, const AmxBFloat16B& b,
                           const AmxBFloat16Out& out, float* c) {
  const int64_t block = 2 * pair, col0 = block * kTile, b_stride = b.chunks * kTileWords;
  const bool two_cols = block + 1 < b.n_blocks, two_rows = ba.rows > kTile;
  const uint32_t* bt = b.tiles + block * b_stride;
  if (two_rows && two_cols)
    Tiles<2, 2>(ba.a, ba.lda, ba.full, ba.tail, bt, b_stride, c);
  else if (two_rows)
    Tiles<2, 1>(ba.a, ba.lda, ba.full, ba.tail, bt, b_stride, c);
  else if (two_cols)
    Tiles<1, 2>(ba.a, ba.lda, ba.full, ba.tail, bt, b_stride, c);
  else
    Tiles<1, 1>(ba.a, ba.lda, ba.full, ba.tail, bt, b_stride, c);
  const int64_t cols = std::min(kCols, b.n - col0);
  Epilogue e{b.bias + col0,
             out.chain,
             out.addend ? out.addend + ba.m0 * out.ld_addend + col0 : nullptr,
             out.ld_addend,
             out.y + ba.m0 * out.ldy + col0,
             out.ldy,
             static_cast<__mmask16>(cols >= kTile ? 0xFFFF : (1u << cols) - 1),
             static_cast<__mmask16>(cols >= kCols  ? 0xFFFF
                                    : cols > kTile ? (1u << (cols - kTile)) - 1
                                                   : 0)};
  if (cols == kCols)
    RunEpilogue<true>(c, ba.rows, e);
  else
    RunEpilogue<false>(c, ba.rows, e);
}

}  // namespace

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
    float* c = GrownTo64(&w.c, kRows * kCols);
    kernels::ConfigureAmxTiles();
#pragma omp for schedule(static)
    for (int64_t item = 0; item < plan.items; ++item)
      RunAmxJob(plan, item, a, lda, m, b.k, kChunk, b.chunks, &w.tail, &w.rows, &w.blocks,
                [&](const AmxRowBlock<uint16_t>& block, int64_t pair) { Compute(block, pair, b, out, c); });
    ReleaseTiles();
  }
}

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON
