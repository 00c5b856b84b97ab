#include "kernels/int16_gemm_amx.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/avx512_warnings.h"
#include "kernels/int16_requant.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::kernels {

namespace {

#define MIXQ_AMX_INT16 __attribute__((target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl")))

constexpr int64_t kTileBytes = kAmxRows * 64;  // one A or B tile: 16 rows of 64 bytes
constexpr int64_t kPassChunks = kAmxInt16PassTaps / 64;

// The tiles (kernels::ConfigureAmxTiles, 16 rows of 64 bytes each): tmm0-2
// the high, middle and low int32 sums, tmm4-5 A's high and low bytes,
// tmm6-7 B's.

// The 16 x 16 outputs of one A block and one B panel over `chunks` tiles of
// 64 taps from the pass's first: high, middle and low sums into sums[0..2]
// (16 x 16 int32 each).
MIXQ_AMX_INT16 void PassTiles(const int8_t* a_hi, const int8_t* a_lo, const uint8_t* b_hi, const uint8_t* b_lo,
                              int64_t chunks, int32_t sums[3][kAmxRows * kAmxRows]) {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const int64_t at = chunk * kTileBytes;
    _tile_loadd(4, a_hi + at, 64);
    _tile_loadd(5, a_lo + at, 64);
    _tile_loadd(6, b_hi + at, 64);
    _tile_loadd(7, b_lo + at, 64);
    _tile_dpbssd(0, 4, 6);  // a_hi * b_hi
    _tile_dpbsud(1, 4, 7);  // a_hi * b_lo
    _tile_dpbusd(1, 5, 6);  // a_lo * b_hi
    _tile_dpbuud(2, 5, 7);  // a_lo * b_lo
  }
  _tile_stored(0, sums[0], 64);
  _tile_stored(1, sums[1], 64);
  _tile_stored(2, sums[2], 64);
}

// 8 int32 sums from `at` widened to int64 (a function: GCC lambdas do not
// take the enclosing function's target).
MIXQ_AMX_INT16 inline __m512i Wide(const int32_t* at) {
  return _mm512_cvtepi32_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(at)));
}

// The same 8 sums as doubles.
MIXQ_AMX_INT16 inline __m512d WideDouble(const int32_t* at) {
  return _mm512_cvtepi32_pd(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(at)));
}

// c (16 rows of 16, ldc apart) = (or +=, `add`) 65536 * high + 256 * middle + low.
MIXQ_AMX_INT16 void Combine(const int32_t sums[3][kAmxRows * kAmxRows], bool add, int64_t* c, int64_t ldc) {
  for (int64_t r = 0; r < kAmxRows; ++r)
    for (int64_t half = 0; half < 2; ++half) {
      const int64_t at = r * kAmxRows + half * 8;
      __m512i v = _mm512_add_epi64(
          _mm512_add_epi64(_mm512_slli_epi64(Wide(sums[0] + at), 16), _mm512_slli_epi64(Wide(sums[1] + at), 8)),
          Wide(sums[2] + at));
      int64_t* out = c + r * ldc + half * 8;
      if (add) v = _mm512_add_epi64(v, _mm512_loadu_si512(out));
      _mm512_storeu_si512(out, v);
    }
}

// Combine into doubles: 65536 * high + 256 * middle + low is an
// integer below 2^53 (|high| <= K * 2^14, K < 2^22), so both fused
// multiply-adds and the accumulation round nothing.
MIXQ_AMX_INT16 void Combine(const int32_t sums[3][kAmxRows * kAmxRows], bool add, double* c, int64_t ldc) {
  const __m512d k65536 = _mm512_set1_pd(65536.0), k256 = _mm512_set1_pd(256.0);
  for (int64_t r = 0; r < kAmxRows; ++r)
    for (int64_t half = 0; half < 2; ++half) {
      const int64_t at = r * kAmxRows + half * 8;
      __m512d v = _mm512_fmadd_pd(WideDouble(sums[0] + at), k65536,
                                  _mm512_fmadd_pd(WideDouble(sums[1] + at), k256, WideDouble(sums[2] + at)));
      double* out = c + r * ldc + half * 8;
      if (add) v = _mm512_add_pd(v, _mm512_loadu_pd(out));
      _mm512_storeu_pd(out, v);
    }
}

// Per tap pair and column, bytes (k0 lo, k0 hi, k1 lo, k1 hi) -> (k0 lo,
// k1 lo, k0 hi, k1 hi): then a quad's low bytes are the first pair's low
// word and the second's, its high bytes the two high words. `first` and
// `second`: two tap pairs of 16 columns in the pair layout (16 x 2 int16).
MIXQ_AMX_INT16 inline void StoreQuad(__m512i first, __m512i second, uint8_t* hi, uint8_t* lo) {
  const __m512i order = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15));
  const __m512i low_word = _mm512_set1_epi32(0x0000FFFF);
  first = _mm512_shuffle_epi8(first, order);
  second = _mm512_shuffle_epi8(second, order);
  _mm512_storeu_si512(lo, _mm512_or_si512(_mm512_and_si512(first, low_word), _mm512_slli_epi32(second, 16)));
  _mm512_storeu_si512(hi, _mm512_or_si512(_mm512_srli_epi32(first, 16), _mm512_andnot_si512(low_word, second)));
}

// 16 columns of two taps' rows (x1 null: zeros) in the pair layout, as
// kernels::PackInt16PanelsAvx2 stores it: column c's (x0[c], x1[c]).
MIXQ_AMX_INT16 inline __m512i PairOf(__m256i x0, __m256i x1) {
  const __m256i lo = _mm256_unpacklo_epi16(x0, x1), hi = _mm256_unpackhi_epi16(x0, x1);  // cols 0-3|8-11, 4-7|12-15
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_permute2x128_si256(lo, hi, 0x20)),
                            _mm256_permute2x128_si256(lo, hi, 0x31), 1);
}

MIXQ_AMX_INT16 inline __m256i Row16(const int16_t* row) {
  return row ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row)) : _mm256_setzero_si256();
}

}  // namespace

void PackAmxInt16A(int64_t m, int64_t k, const std::function<int16_t(int64_t, int64_t)>& value,
                   PackedAmxInt16A* packed) {
  std::vector<int16_t> hi(static_cast<size_t>(m * k)), lo(static_cast<size_t>(m * k));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t t = 0; t < k; ++t) {
      const int16_t v = value(i, t);
      hi[static_cast<size_t>(i * k + t)] = static_cast<int16_t>(v >> 8);
      // PackAmxA stores each value's low byte: 0..255 keeps its bits as u8.
      lo[static_cast<size_t>(i * k + t)] = static_cast<int16_t>(v & 0xFF);
    }
  PackAmxA(hi.data(), m, k, k, &packed->hi);
  PackAmxA(lo.data(), m, k, k, &packed->lo);
}

// Row i's taps [64 c, 64 c + 64) are row i % 16 of block i / 16's tile c:
// `row`'s high and low bytes from hi + base and lo + base on.
MIXQ_AMX_INT16 static void PackAmxInt16Row(const int16_t* row, int64_t k, int64_t base, int8_t* hi, int8_t* lo) {
  for (int64_t t = 0; t < k; t += 32) {
    const int64_t n = std::min<int64_t>(32, k - t);
    const __m512i v = _mm512_maskz_loadu_epi16(n == 32 ? ~__mmask32{0} : (__mmask32{1} << n) - 1, row + t);
    const int64_t at = base + t / 64 * kTileBytes + t % 64;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(hi + at), _mm512_cvtepi16_epi8(_mm512_srai_epi16(v, 8)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(lo + at), _mm512_cvtepi16_epi8(v));  // the low bytes as u8
  }
}

// Not a target function itself: Clang outlines the OpenMP region without
// the caller's target, so the vector code stays in PackAmxInt16Row.
void PackAmxInt16ARows(const int16_t* a, int64_t lda, int64_t m, int64_t k, bool parallel, PackedAmxInt16A* packed) {
  for (PackedAmxA* p : {&packed->hi, &packed->lo}) {
    p->m = m;
    p->quads = (k + 3) / 4;
    p->chunks = (p->quads + kAmxQuads - 1) / kAmxQuads;
    p->blocks = (m + kAmxRows - 1) / kAmxRows;
    const size_t size = static_cast<size_t>(p->blocks * p->chunks * kTileBytes);
    if (p->data.size() != size) p->data.assign(size, 0);  // padding rows and taps: zero once
  }
  const int64_t chunks = packed->hi.chunks;
  int8_t* hi = packed->hi.data.data();
  int8_t* lo = packed->lo.data.data();
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t i = 0; i < m; ++i)
    PackAmxInt16Row(a + i * lda, k, (i / kAmxRows * chunks) * kTileBytes + i % kAmxRows * 64, hi, lo);
}

MIXQ_AMX_INT16 void PackSplitInt16FromOffsetsAmx(const int16_t* base, const int64_t* offsets, int64_t k, int64_t cols,
                                                 uint8_t* hi, uint8_t* lo) {
  const int64_t quads = (k + 3) / 4, panel_bytes = quads * 64;
  for (int64_t q = 0; q < quads; ++q) {
    const int16_t* r[4];
    for (int64_t t = 0; t < 4; ++t) r[t] = 4 * q + t < k ? base + offsets[4 * q + t] : nullptr;
    for (int64_t panel = 0; panel * 16 < cols; ++panel) {
      const int64_t at = panel * 16;
      auto row = [&](int t) { return r[t] ? r[t] + at : nullptr; };
      StoreQuad(PairOf(Row16(row(0)), Row16(row(1))), PairOf(Row16(row(2)), Row16(row(3))),
                hi + panel * panel_bytes + q * 64, lo + panel * panel_bytes + q * 64);
    }
  }
}

MIXQ_AMX_INT16 void PackSplitInt16RowsAmx(const int16_t* rows, int64_t row_stride, int64_t k, int64_t cols, uint8_t* hi,
                                          uint8_t* lo) {
  const int64_t quads = (k + 3) / 4, panel_bytes = quads * 64;
  for (int64_t q = 0; q < quads; ++q)
    for (int64_t panel = 0; panel * 16 < cols; ++panel) {
      const int64_t at = panel * 16, n = std::min<int64_t>(16, cols - at);
      __m256i x[4];
      for (int64_t t = 0; t < 4; ++t) {
        const int64_t tap = 4 * q + t;
        if (tap >= k) {
          x[t] = _mm256_setzero_si256();
        } else if (n == 16) {
          x[t] = Row16(rows + tap * row_stride + at);
        } else {  // the row's end: never read past it
          alignas(32) int16_t tail[16] = {};
          std::memcpy(tail, rows + tap * row_stride + at, static_cast<size_t>(n) * sizeof(int16_t));
          x[t] = _mm256_load_si256(reinterpret_cast<const __m256i*>(tail));
        }
      }
      StoreQuad(PairOf(x[0], x[1]), PairOf(x[2], x[3]), hi + panel * panel_bytes + q * 64,
                lo + panel * panel_bytes + q * 64);
    }
}

namespace {

// GemmInt16SplitTileAmx's body for either form of the sums (Combine's
// int64 or double overload).
template <typename Sum>
MIXQ_AMX_INT16 void GemmSplitTiles(const PackedAmxInt16A& a, int64_t first_block, int64_t last_block,
                                   const uint8_t* b_hi, const uint8_t* b_lo, int64_t panels, Sum* c, int64_t ldc) {
  ConfigureAmxTiles();
  const int64_t block_bytes = a.hi.chunks * kTileBytes, panel_bytes = a.hi.quads * 64;
  alignas(64) int32_t sums[3][kAmxRows * kAmxRows];
  for (int64_t block = first_block; block < last_block; ++block) {
    const int8_t* ah = a.hi.data.data() + block * block_bytes;
    const int8_t* al = a.lo.data.data() + block * block_bytes;
    Sum* cb = c + (block - first_block) * kAmxRows * ldc;
    for (int64_t p = 0; p < panels; ++p)
      for (int64_t chunk = 0; chunk < a.hi.chunks; chunk += kPassChunks) {
        const int64_t at = chunk * kTileBytes;
        PassTiles(ah + at, al + at, b_hi + p * panel_bytes + at, b_lo + p * panel_bytes + at,
                  std::min(kPassChunks, a.hi.chunks - chunk), sums);
        Combine(sums, chunk > 0, cb + p * kAmxRows, ldc);
      }
  }
  _tile_release();
}

}  // namespace

MIXQ_AMX_INT16 void GemmInt16SplitTileAmx(const PackedAmxInt16A& a, int64_t first_block, int64_t last_block,
                                          const uint8_t* b_hi, const uint8_t* b_lo, int64_t panels, int64_t* c,
                                          int64_t ldc) {
  GemmSplitTiles(a, first_block, last_block, b_hi, b_lo, panels, c, ldc);
}

MIXQ_AMX_INT16 void GemmInt16SplitTileAmxToDouble(const PackedAmxInt16A& a, int64_t first_block, int64_t last_block,
                                                  const uint8_t* b_hi, const uint8_t* b_lo, int64_t panels, double* c,
                                                  int64_t ldc) {
  GemmSplitTiles(a, first_block, last_block, b_hi, b_lo, panels, c, ldc);
}

MIXQ_AMX_INT16 void GemmInt16SplitTileAmxToInt16(const PackedAmxInt16A& a, int64_t first_block, int64_t last_block,
                                                 const uint8_t* b_hi, const uint8_t* b_lo, int64_t panels,
                                                 const Int16RequantEpilogue& e) {
  ConfigureAmxTiles();
  const int64_t block_bytes = a.hi.chunks * kTileBytes, panel_bytes = a.hi.quads * 64;
  alignas(64) int32_t sums[3][kAmxRows * kAmxRows];
  alignas(64) double block_sums[kAmxRows * kAmxRows];
  Int16RequantVectors rows[kAmxRows];
  for (int64_t block = first_block; block < last_block; ++block) {
    const int64_t row0 = (block - first_block) * kAmxRows, valid_rows = std::min(kAmxRows, e.rows - row0);
    if (valid_rows <= 0) break;
    for (int64_t r = 0; r < valid_rows; ++r) {  // the channels' constants broadcast once per block
      Int16Requant q;
      q.int_bias = e.int_bias[row0 + r];
      q.bias = e.bias[row0 + r];
      q.multiplier = e.multiplier[row0 + r];
      q.zero_point = e.zero_point;
      q.lo = e.lo;
      q.hi = e.hi;
      rows[r] = VectorsOf(q);
    }
    const int8_t* ah = a.hi.data.data() + block * block_bytes;
    const int8_t* al = a.lo.data.data() + block * block_bytes;
    for (int64_t p = 0; p < panels && p * kAmxRows < e.cols; ++p) {
      for (int64_t chunk = 0; chunk < a.hi.chunks; chunk += kPassChunks) {
        const int64_t at = chunk * kTileBytes;
        PassTiles(ah + at, al + at, b_hi + p * panel_bytes + at, b_lo + p * panel_bytes + at,
                  std::min(kPassChunks, a.hi.chunks - chunk), sums);
        Combine(sums, chunk > 0, block_sums, kAmxRows);
      }
      const int64_t cols = std::min(kAmxRows, e.cols - p * kAmxRows);
      for (int64_t r = 0; r < valid_rows; ++r)  // the int bias added in double: exact
        StoreRequantizedInt16FromDoubles(
            _mm512_add_pd(_mm512_load_pd(block_sums + r * kAmxRows), rows[r].int_bias_d),
            _mm512_add_pd(_mm512_load_pd(block_sums + r * kAmxRows + 8), rows[r].int_bias_d), rows[r],
            e.out + (row0 + r) * e.ld_out + p * kAmxRows, cols);
    }
  }
  _tile_release();
}

}  // namespace mixq::kernels

MIXQ_AVX512_WARNINGS_ON
