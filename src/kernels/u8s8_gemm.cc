#include "kernels/u8s8_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace mixq::kernels {

namespace {

#define MIXQ_AVX2 __attribute__((target("avx2,fma")))

// The int16 ones vpmaddwd widens vpmaddubsw's pair sums by, named for the
// assembly below (an asm operand would be its 31st, over GCC's limit).
alignas(32) __attribute__((used)) const int16_t kOnes[16] asm("mixq_u8s8_ones") = {1, 1, 1, 1, 1, 1, 1, 1,
                                                                                   1, 1, 1, 1, 1, 1, 1, 1};

// C[0..6)[0..16) (+)= sum over `quads` of packed A quads x packed B quads,
// 12 int32 accumulators in named registers; B = 16 columns of 4 taps (two
// ymm), A one int32 of 4 taps per row, broadcast. kUnsignedB: B holds the u8
// operand and A the s8 one (convolutions: B the image); else A is u8 and B
// s8 (MatMul / FullyConnected: B the weights). The first chunk starts from
// `row_init` (6 values, one per row) or `col_init` (16, one per column)
// instead of C.
//
// kUnsignedB only: then `rest_steps` groups of the split weights' remainder
// (PackedS8A::rest, one entry per row) are added into the same registers:
// each entry multiplies its quad of this chunk of B (at b + entry.offset) by
// its 4 remainder taps. No read-modify-write of C, no branch per entry.
template <bool kUnsignedB>
MIXQ_AVX2 void BlockKernel6x16(const int32_t* a, const uint8_t* b, int64_t quads, int32_t* c, int64_t ldc,
                               const int32_t* row_init, const int32_t* col_init, const S8RestEntry* rest = nullptr,
                               int64_t rest_steps = 0) {
  const uint8_t* const b_chunk = b;
  static_assert(kU8S8RowBlock == 6 && kU8S8Panel == 16);
  const __m256i col0 = col_init ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(col_init)) : __m256i{};
  const __m256i col1 = col_init ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(col_init + 8)) : __m256i{};
#define MIXQ_LOAD_C(r, half)                   \
  (row_init   ? _mm256_set1_epi32(row_init[r]) \
   : col_init ? ((half) ? col1 : col0)         \
              : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + (r)*ldc + 8 * (half))))
  __m256i c00 = MIXQ_LOAD_C(0, 0), c01 = MIXQ_LOAD_C(0, 1), c10 = MIXQ_LOAD_C(1, 0), c11 = MIXQ_LOAD_C(1, 1);
  __m256i c20 = MIXQ_LOAD_C(2, 0), c21 = MIXQ_LOAD_C(2, 1), c30 = MIXQ_LOAD_C(3, 0), c31 = MIXQ_LOAD_C(3, 1);
  __m256i c40 = MIXQ_LOAD_C(4, 0), c41 = MIXQ_LOAD_C(4, 1), c50 = MIXQ_LOAD_C(5, 0), c51 = MIXQ_LOAD_C(5, 1);
#undef MIXQ_LOAD_C
  // The loop in assembly: 12 accumulators, 2 B vectors, the broadcast and
  // one product register are all 16 ymm registers, with the ones vpmaddwd
  // widens by as a memory operand. From intrinsics GCC kept the ones in a
  // 17th register and spilled an accumulator to the stack on every step.
  // (AT&T order: "vpmaddubsw s, u, dst" multiplies unsigned u by signed s.)
#define MIXQ_ROW(r, acc0, acc1, U0, S0, U1, S1)          \
  "vpbroadcastd " #r                                     \
  "*4(%[a]), %%ymm14\n\t"                                \
  "vpmaddubsw " S0 ", " U0                               \
  ", %%ymm15\n\t"                                        \
  "vpmaddwd mixq_u8s8_ones(%%rip), %%ymm15, %%ymm15\n\t" \
  "vpaddd %%ymm15, %[" #acc0 "], %[" #acc0               \
  "]\n\t"                                                \
  "vpmaddubsw " S1 ", " U1                               \
  ", %%ymm15\n\t"                                        \
  "vpmaddwd mixq_u8s8_ones(%%rip), %%ymm15, %%ymm15\n\t" \
  "vpaddd %%ymm15, %[" #acc1 "], %[" #acc1 "]\n\t"
#define MIXQ_LOOP(U0, S0, U1, S1) \
  asm volatile(                                                                                                      \
      "1:\n\t"                                                                                                       \
      "vmovdqu (%[b]), %%ymm12\n\t"                                                                                  \
      "vmovdqu 32(%[b]), %%ymm13\n\t" MIXQ_ROW(0, c00, c01, U0, S0, U1, S1) MIXQ_ROW(1, c10, c11, U0, S0, U1, S1)     \
          MIXQ_ROW(2, c20, c21, U0, S0, U1, S1) MIXQ_ROW(3, c30, c31, U0, S0, U1, S1)                                 \
              MIXQ_ROW(4, c40, c41, U0, S0, U1, S1) MIXQ_ROW(5, c50, c51, U0, S0, U1, S1) "add $24, %[a]\n\t"         \
                                                                                          "add $64, %[b]\n\t"         \
                                                                                          "dec %[n]\n\t"              \
                                                                                          "jnz 1b\n\t"                \
      : [c00] "+x"(c00), [c01] "+x"(c01), [c10] "+x"(c10), [c11] "+x"(c11), [c20] "+x"(c20), [c21] "+x"(c21),        \
        [c30] "+x"(c30), [c31] "+x"(c31), [c40] "+x"(c40), [c41] "+x"(c41), [c50] "+x"(c50), [c51] "+x"(c51),        \
        [a] "+r"(a), [b] "+r"(b), [n] "+r"(quads)                                                                    \
      :                                                                                                              \
      : "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory")
  if (quads > 0) {
    if constexpr (kUnsignedB)
      MIXQ_LOOP("%%ymm12", "%%ymm14", "%%ymm13", "%%ymm14");
    else
      MIXQ_LOOP("%%ymm14", "%%ymm12", "%%ymm14", "%%ymm13");
  }
#undef MIXQ_LOOP
#undef MIXQ_ROW
  // The remainder: per step one entry for each of the 6 rows (rows with
  // fewer entries in this chunk repeat a zero word), so the loop runs the
  // block's largest count for every row, predictably.
#define MIXQ_REST_ROW(r, acc0, acc1)                     \
  "movslq " #r                                           \
  "*8(%[e]), %[t]\n\t"                                   \
  "vmovdqu (%[b],%[t]), %%ymm12\n\t"                     \
  "vmovdqu 32(%[b],%[t]), %%ymm13\n\t"                   \
  "vpbroadcastd " #r                                     \
  "*8+4(%[e]), %%ymm14\n\t"                              \
  "vpmaddubsw %%ymm14, %%ymm12, %%ymm15\n\t"             \
  "vpmaddwd mixq_u8s8_ones(%%rip), %%ymm15, %%ymm15\n\t" \
  "vpaddd %%ymm15, %[" #acc0 "], %[" #acc0               \
  "]\n\t"                                                \
  "vpmaddubsw %%ymm14, %%ymm13, %%ymm15\n\t"             \
  "vpmaddwd mixq_u8s8_ones(%%rip), %%ymm15, %%ymm15\n\t" \
  "vpaddd %%ymm15, %[" #acc1 "], %[" #acc1 "]\n\t"
  if constexpr (kUnsignedB) {
    if (rest_steps > 0) {
      static_assert(sizeof(S8RestEntry) == 8 && kU8S8RowBlock * sizeof(S8RestEntry) == 48);
      int64_t t;
      asm volatile("2:\n\t" MIXQ_REST_ROW(0, c00, c01) MIXQ_REST_ROW(1, c10, c11) MIXQ_REST_ROW(2, c20, c21)
                       MIXQ_REST_ROW(3, c30, c31) MIXQ_REST_ROW(4, c40, c41) MIXQ_REST_ROW(5, c50, c51)
                   "add $48, %[e]\n\t"
                   "dec %[n]\n\t"
                   "jnz 2b\n\t"
                   : [c00] "+x"(c00), [c01] "+x"(c01), [c10] "+x"(c10), [c11] "+x"(c11), [c20] "+x"(c20),
                     [c21] "+x"(c21), [c30] "+x"(c30), [c31] "+x"(c31), [c40] "+x"(c40), [c41] "+x"(c41),
                     [c50] "+x"(c50), [c51] "+x"(c51), [e] "+r"(rest), [n] "+r"(rest_steps), [t] "=&r"(t)
                   : [b] "r"(b_chunk)
                   : "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
    }
  }
#undef MIXQ_REST_ROW
#define MIXQ_STORE_C(r, half, v) _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + (r)*ldc + 8 * (half)), v)
  MIXQ_STORE_C(0, 0, c00), MIXQ_STORE_C(0, 1, c01), MIXQ_STORE_C(1, 0, c10), MIXQ_STORE_C(1, 1, c11);
  MIXQ_STORE_C(2, 0, c20), MIXQ_STORE_C(2, 1, c21), MIXQ_STORE_C(3, 0, c30), MIXQ_STORE_C(3, 1, c31);
  MIXQ_STORE_C(4, 0, c40), MIXQ_STORE_C(4, 1, c41), MIXQ_STORE_C(5, 0, c50), MIXQ_STORE_C(5, 1, c51);
#undef MIXQ_STORE_C
}

constexpr int64_t kQuadChunk = kU8S8QuadChunk;

// A pair vpmaddubsw cannot sum exactly for every u8, or with a value s8
// cannot hold (128, a centered weight with a zero point): FitsU8S8's test.
inline bool PairTooLarge(int32_t w1, int32_t w2) {
  return std::abs(w1) + std::abs(w2) > kU8S8MaxPairMagnitude || w1 > 127 || w2 > 127;
}

// Four 16-byte rows -> one panel quad: for each column j the bytes r0[j],
// r1[j], r2[j], r3[j], columns 0-7 in the first 32 bytes, 8-15 in the next.
MIXQ_AVX2 inline void StoreQuad(__m128i x0, __m128i x1, __m128i x2, __m128i x3, uint8_t* dst) {
  const __m128i a_lo = _mm_unpacklo_epi8(x0, x1), a_hi = _mm_unpackhi_epi8(x0, x1);
  const __m128i b_lo = _mm_unpacklo_epi8(x2, x3), b_hi = _mm_unpackhi_epi8(x2, x3);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_unpacklo_epi16(a_lo, b_lo));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 16), _mm_unpackhi_epi16(a_lo, b_lo));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 32), _mm_unpacklo_epi16(a_hi, b_hi));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 48), _mm_unpackhi_epi16(a_hi, b_hi));
}

}  // namespace

bool FitsU8S8(const int16_t* a, int64_t m, int64_t k, int64_t lda) {
  for (int64_t i = 0; i < m; ++i) {
    const int16_t* row = a + i * lda;
    bool fits = true;
    for (int64_t t = 0; t + 1 < k; t += 2) fits &= !PairTooLarge(row[t], row[t + 1]);
    if (k % 2) fits &= !PairTooLarge(row[k - 1], 0);
    if (!fits) return false;
  }
  return true;
}

double U8S8SplitShare(const int16_t* a, int64_t m, int64_t k, int64_t lda) {
  const int64_t quads = (k + 3) / 4;
  if (m == 0 || quads == 0) return 0.0;
  int64_t split = 0;
  for (int64_t i = 0; i < m; ++i) {
    const int16_t* row = a + i * lda;
    for (int64_t t = 0; t < k; ++t)
      if (row[t] < -128 || row[t] > 128) return 2.0;
    for (int64_t q = 0; q < quads; ++q) {
      bool too_large = false;
      for (int64_t t = 4 * q; t < std::min(4 * q + 4, k); t += 2)
        too_large |= PairTooLarge(row[t], t + 1 < k ? row[t + 1] : 0);
      split += too_large;
    }
  }
  return static_cast<double>(split) / static_cast<double>(m * quads);
}

bool FitsS8(const int16_t* a, int64_t m, int64_t k, int64_t lda) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t t = 0; t < k; ++t)
      if (a[i * lda + t] < -128 || a[i * lda + t] > 127) return false;
  return true;
}

void PackS8A(const int16_t* a, int64_t m, int64_t k, int64_t lda, PackedS8A* packed, S8Split split) {
  packed->m = m;
  packed->quads = (k + 3) / 4;
  packed->blocks = (m + kU8S8RowBlock - 1) / kU8S8RowBlock;
  packed->data.assign(static_cast<size_t>(packed->blocks * packed->quads * kU8S8RowBlock), 0);
  packed->row_sums.assign(static_cast<size_t>(packed->blocks * kU8S8RowBlock), 0);
  const int64_t chunks = (packed->quads + kQuadChunk - 1) / kQuadChunk;
  packed->rest.clear();
  packed->rest_begin.assign(static_cast<size_t>(packed->blocks * chunks + 1), 0);
  std::vector<S8RestEntry> row_rest[kU8S8RowBlock];  // one chunk's entries of each row of the block
  auto flush_chunk = [&](int64_t block, int64_t chunk) {
    size_t steps = 0;
    for (const auto& r : row_rest) steps = std::max(steps, r.size());
    for (size_t step = 0; step < steps; ++step)
      for (auto& r : row_rest) packed->rest.push_back(step < r.size() ? r[step] : S8RestEntry{0, 0});
    for (auto& r : row_rest) r.clear();
    packed->rest_begin[static_cast<size_t>(block * chunks + chunk + 1)] =
        static_cast<int64_t>(packed->rest.size()) / kU8S8RowBlock;
  };
  for (int64_t block = 0; block < packed->blocks; ++block) {
    for (int64_t q = 0; q < packed->quads; ++q) {
      for (int64_t row = 0; row < kU8S8RowBlock; ++row) {
        const int64_t i = block * kU8S8RowBlock + row;
        if (i >= m) break;
        int32_t w[4] = {0, 0, 0, 0};  // taps 4q + t in byte t (vpmaddubsw pairs bytes 0-1, 2-3); past K: 0
        for (int64_t t = 0; t < 4 && 4 * q + t < k; ++t) w[t] = a[i * lda + 4 * q + t];
        int32_t main[4] = {w[0], w[1], w[2], w[3]};
        for (int t = 0; t < 4; t += 2)
          if (split == S8Split::kPairs ? PairTooLarge(w[t], w[t + 1]) : std::max(w[t], w[t + 1]) > 127)
            for (int u = t; u < t + 2; ++u) main[u] = std::clamp(w[u], -64, 64);
        uint32_t main_word = 0, rest_word = 0;
        for (int t = 0; t < 4; ++t) {
          packed->row_sums[static_cast<size_t>(i)] += w[t];
          main_word |= static_cast<uint32_t>(static_cast<uint8_t>(static_cast<int8_t>(main[t]))) << (8 * t);
          rest_word |= static_cast<uint32_t>(static_cast<uint8_t>(static_cast<int8_t>(w[t] - main[t]))) << (8 * t);
        }
        packed->data[static_cast<size_t>((block * packed->quads + q) * kU8S8RowBlock + row)] =
            static_cast<int32_t>(main_word);
        if (rest_word != 0)
          row_rest[row].push_back(
              {static_cast<int32_t>(q % kQuadChunk * 4 * kU8S8Panel), static_cast<int32_t>(rest_word)});
      }
      if ((q + 1) % kQuadChunk == 0 || q + 1 == packed->quads) flush_chunk(block, q / kQuadChunk);
    }
  }
}

void PackS8ASortedRows(const int16_t* a, int64_t m, int64_t k, int64_t lda, PackedS8A* packed,
                       std::vector<int64_t>* rows, int64_t group_rows, S8Split split) {
  const int64_t quads = (k + 3) / 4;
  std::vector<int64_t> splits(static_cast<size_t>(m));
  for (int64_t r = 0; r < m; ++r)
    splits[static_cast<size_t>(r)] = std::llround(U8S8SplitShare(a + r * lda, 1, k, lda) * static_cast<double>(quads));
  rows->resize(static_cast<size_t>(m));
  for (int64_t r = 0; r < m; ++r) (*rows)[static_cast<size_t>(r)] = r;
  const int64_t group = group_rows > 0 ? group_rows : std::max<int64_t>(m, 1);
  for (int64_t first = 0; first < m; first += group)
    std::stable_sort(rows->begin() + first, rows->begin() + std::min(m, first + group), [&](int64_t x, int64_t y) {
      return splits[static_cast<size_t>(x)] > splits[static_cast<size_t>(y)];
    });
  std::vector<int16_t> sorted(static_cast<size_t>(m * k));
  for (int64_t r = 0; r < m; ++r) std::copy_n(a + (*rows)[static_cast<size_t>(r)] * lda, k, sorted.data() + r * k);
  PackS8A(sorted.data(), m, k, k, packed, split);
}

double U8S8RestStepShare(const PackedS8A& packed) {
  const int64_t dense = packed.blocks * packed.quads;
  return dense == 0 || packed.rest_begin.empty()
             ? 0.0
             : static_cast<double>(packed.rest_begin.back()) / static_cast<double>(dense);
}

void GemmU8S8TileAvx2(const PackedS8A& a, int64_t first_block, int64_t last_block, const uint8_t* b, int64_t panels,
                      int32_t zero_point, int32_t* c, int64_t ldc) {
  const int64_t quads = a.quads;
  for (int64_t kc = 0; kc < quads; kc += kQuadChunk) {
    const int64_t len = std::min(kQuadChunk, quads - kc);
    for (int64_t block = first_block; block < last_block; ++block) {
      const int32_t* ab = a.data.data() + (block * quads + kc) * kU8S8RowBlock;
      int32_t* cb = c + (block - first_block) * kU8S8RowBlock * ldc;
      int32_t init[kU8S8RowBlock];  // the zero-point term, -zero_point * sum_k A[row][k]
      for (int64_t r = 0; r < kU8S8RowBlock; ++r)
        init[r] = -zero_point * a.row_sums[static_cast<size_t>(block * kU8S8RowBlock + r)];
      const int64_t chunk = block * ((quads + kQuadChunk - 1) / kQuadChunk) + kc / kQuadChunk;
      const int64_t first_step = a.rest_begin[static_cast<size_t>(chunk)];
      const S8RestEntry* rest = a.rest.data() + first_step * kU8S8RowBlock;
      const int64_t rest_steps = a.rest_begin[static_cast<size_t>(chunk + 1)] - first_step;
      for (int64_t panel = 0; panel < panels; ++panel)
        BlockKernel6x16<true>(ab, b + (panel * quads + kc) * 4 * kU8S8Panel, len, cb + panel * kU8S8Panel, ldc,
                              kc == 0 ? init : nullptr, nullptr, rest, rest_steps);
    }
  }
}

MIXQ_AVX2 void PackU8PanelsFromOffsetsAvx2(const uint8_t* base, const int64_t* offsets, int64_t k, int64_t cols,
                                           uint8_t* panels) {
  const int64_t quads = (k + 3) / 4;
  for (int64_t q = 0; q < quads; ++q) {
    const uint8_t* r[4];
    for (int64_t t = 0; t < 4; ++t) r[t] = base + offsets[std::min(4 * q + t, k - 1)];
    for (int64_t p = 0; p * kU8S8Panel < cols; ++p) {
      const int64_t at = p * kU8S8Panel;
      StoreQuad(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r[0] + at)),
                _mm_loadu_si128(reinterpret_cast<const __m128i*>(r[1] + at)),
                _mm_loadu_si128(reinterpret_cast<const __m128i*>(r[2] + at)),
                _mm_loadu_si128(reinterpret_cast<const __m128i*>(r[3] + at)),
                panels + (p * quads + q) * 4 * kU8S8Panel);
    }
  }
}

MIXQ_AVX2 void PackS8RowsAsU8PanelsAvx2(const int8_t* rows, int64_t row_stride, int64_t k, int64_t cols,
                                        uint8_t* panels) {
  const int64_t quads = (k + 3) / 4;
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  for (int64_t q = 0; q < quads; ++q) {
    const int8_t* r[4];
    for (int64_t t = 0; t < 4; ++t) r[t] = rows + std::min(4 * q + t, k - 1) * row_stride;
    for (int64_t p = 0; p * kU8S8Panel < cols; ++p) {
      const int64_t at = p * kU8S8Panel, n = std::min(kU8S8Panel, cols - at);
      __m128i x[4];
      for (int t = 0; t < 4; ++t) {
        if (n == kU8S8Panel) {
          x[t] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r[t] + at));
        } else {  // the row's end: never read past it
          alignas(16) int8_t tail[kU8S8Panel] = {};
          std::memcpy(tail, r[t] + at, static_cast<size_t>(n));
          x[t] = _mm_load_si128(reinterpret_cast<const __m128i*>(tail));
        }
        x[t] = _mm_xor_si128(x[t], flip);
      }
      StoreQuad(x[0], x[1], x[2], x[3], panels + (p * quads + q) * 4 * kU8S8Panel);
    }
  }
}

MIXQ_AVX2 void PackS8RowsAsU8ColumnPanelsAvx2(const int8_t* a, int64_t lda, int64_t rows, int64_t k, uint8_t* panels) {
  const int64_t quads = (k + 3) / 4, panel_count = (rows + kU8S8Panel - 1) / kU8S8Panel;
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  for (int64_t p = 0; p < panel_count; ++p) {
    uint8_t* panel = panels + p * quads * 4 * kU8S8Panel;
    for (int64_t r4 = 0; r4 < kU8S8Panel; r4 += 4) {  // 4 rows (columns of B) at a time
      const int64_t row = p * kU8S8Panel + r4;
      int64_t q = 0;
      if (row + 4 <= rows) {
        // 4 quads of 4 rows: a 4 x 4 transpose of 32-bit words.
        for (; 4 * q + 16 <= k; q += 4) {
          __m128i x[4];
          for (int i = 0; i < 4; ++i)
            x[i] = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + (row + i) * lda + 4 * q)), flip);
          const __m128i t0 = _mm_unpacklo_epi32(x[0], x[1]), t1 = _mm_unpackhi_epi32(x[0], x[1]);
          const __m128i t2 = _mm_unpacklo_epi32(x[2], x[3]), t3 = _mm_unpackhi_epi32(x[2], x[3]);
          const __m128i out[4] = {_mm_unpacklo_epi64(t0, t2), _mm_unpackhi_epi64(t0, t2), _mm_unpacklo_epi64(t1, t3),
                                  _mm_unpackhi_epi64(t1, t3)};
          for (int j = 0; j < 4; ++j)
            _mm_storeu_si128(reinterpret_cast<__m128i*>(panel + ((q + j) * kU8S8Panel + r4) * 4), out[j]);
        }
      }
      for (; q < quads; ++q)  // the last quads, and rows past the end: byte by byte
        for (int64_t i = 0; i < 4; ++i)
          for (int64_t t = 0; t < 4; ++t) {
            const bool inside = row + i < rows && 4 * q + t < k;
            panel[((q * kU8S8Panel) + r4 + i) * 4 + t] =
                inside ? static_cast<uint8_t>(static_cast<uint8_t>(a[(row + i) * lda + 4 * q + t]) ^ 0x80) : 0x80;
          }
    }
  }
}

void PackU8A(const int8_t* a, int64_t m, int64_t k, int64_t lda, PackedS8A* packed) {
  packed->m = m;
  packed->quads = (k + 3) / 4;
  packed->blocks = (m + kU8S8RowBlock - 1) / kU8S8RowBlock;
  packed->data.assign(static_cast<size_t>(packed->blocks * packed->quads * kU8S8RowBlock), 0);
  packed->row_sums.clear();
  for (int64_t i = 0; i < m; ++i) {
    const int64_t block = i / kU8S8RowBlock, row = i % kU8S8RowBlock;
    const int8_t* src = a + i * lda;
    for (int64_t q = 0; q < packed->quads; ++q) {
      uint32_t word = 0;  // taps past K: any value (their weights are 0); 0x80 here
      for (int64_t t = 0; t < 4; ++t) {
        const uint8_t u = 4 * q + t < k ? static_cast<uint8_t>(static_cast<uint8_t>(src[4 * q + t]) ^ 0x80) : 0x80;
        word |= static_cast<uint32_t>(u) << (8 * t);
      }
      packed->data[static_cast<size_t>((block * packed->quads + q) * kU8S8RowBlock + row)] = static_cast<int32_t>(word);
    }
  }
}

void PackS8B(const int16_t* bt, int64_t n, int64_t k, PackedS8B* packed) {
  packed->k = k;
  packed->n = n;
  packed->quads = (k + 3) / 4;
  packed->panels = (n + kU8S8Panel - 1) / kU8S8Panel;
  packed->data.assign(static_cast<size_t>(packed->panels * packed->quads * 4 * kU8S8Panel + kS8BSlack), 0);
  packed->col_sums.assign(static_cast<size_t>(packed->panels * kU8S8Panel), 0);
  for (int64_t j = 0; j < n; ++j) {
    int32_t sum = 0;
    for (int64_t t = 0; t < k; ++t) {
      const int16_t w = bt[j * k + t];
      sum += w;
      packed->data[static_cast<size_t>(((j / kU8S8Panel) * packed->quads + t / 4) * 4 * kU8S8Panel +
                                       (j % kU8S8Panel) * 4 + t % 4)] = static_cast<uint8_t>(static_cast<int8_t>(w));
    }
    packed->col_sums[static_cast<size_t>(j)] = sum;
  }
}

void GemmU8S8WeightsTileAvx2(const PackedS8A& a, int64_t first_block, int64_t last_block, const PackedS8B& b,
                             int64_t first_panel, int64_t panels, int32_t zero_point, int32_t* c, int64_t ldc) {
  const int64_t quads = a.quads;
  for (int64_t kc = 0; kc < quads; kc += kQuadChunk) {
    const int64_t len = std::min(kQuadChunk, quads - kc);
    for (int64_t block = first_block; block < last_block; ++block) {
      const int32_t* ab = a.data.data() + (block * quads + kc) * kU8S8RowBlock;
      int32_t* cb = c + (block - first_block) * kU8S8RowBlock * ldc;
      for (int64_t panel = 0; panel < panels; ++panel) {
        int32_t init[kU8S8Panel];  // the zero-point term, -zero_point * sum_k B[k][j]
        for (int64_t j = 0; j < kU8S8Panel; ++j)
          init[j] = -zero_point * b.col_sums[static_cast<size_t>((first_panel + panel) * kU8S8Panel + j)];
        BlockKernel6x16<false>(ab, b.data.data() + ((first_panel + panel) * quads + kc) * 4 * kU8S8Panel, len,
                               cb + panel * kU8S8Panel, ldc, nullptr, kc == 0 ? init : nullptr);
      }
    }
  }
}

}  // namespace mixq::kernels
