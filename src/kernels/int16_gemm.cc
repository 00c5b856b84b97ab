#include "kernels/int16_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu_features.h"
#include "kernels/int16_requant.h"
#include "kernels/parallel.h"

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (GCC bug 105593:
// their unmasked forms pass an "undefined" vector as the merge source).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace mixq::kernels {

namespace {

#define MIXQ_AVX2 __attribute__((target("avx2,fma")))

// C[r][0..16) = sum_p A[r][2p..2p+1] . B[p][0..16)[2] for kRows rows.
template <int kRows>
MIXQ_AVX2 void PanelKernel(const int16_t* a, int64_t lda, const int16_t* b, int64_t pairs, int32_t* c, int64_t ldc) {
  __m256i acc[kRows][2];
  for (int r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (int64_t p = 0; p < pairs; ++p) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + p * 2 * kInt16Panel));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + p * 2 * kInt16Panel + kInt16Panel));
    for (int r = 0; r < kRows; ++r) {
      int32_t pair;
      std::memcpy(&pair, a + r * lda + 2 * p, sizeof(pair));
      const __m256i av = _mm256_set1_epi32(pair);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(av, b0));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(av, b1));
    }
  }
  for (int r = 0; r < kRows; ++r) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc), acc[r][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc + 8), acc[r][1]);
  }
}

// C[0..6)[0..16) (+)= sum over `pairs` of packed A pairs x packed B pairs:
// 12 accumulators in named registers (GCC spills an accumulator array to the
// stack), A broadcast from one contiguous stream.
MIXQ_AVX2 void BlockKernel6x16(const int32_t* a, const int16_t* b, int64_t pairs, int32_t* c, int64_t ldc,
                               bool accumulate) {
  static_assert(kInt16RowBlock == 6);
  // (Macros, not lambdas: a lambda does not inherit the target attribute.)
#define MIXQ_LOAD_C(r, half) \
  (accumulate ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + (r)*ldc + 8 * (half))) : _mm256_setzero_si256())
  __m256i c00 = MIXQ_LOAD_C(0, 0), c01 = MIXQ_LOAD_C(0, 1), c10 = MIXQ_LOAD_C(1, 0), c11 = MIXQ_LOAD_C(1, 1);
  __m256i c20 = MIXQ_LOAD_C(2, 0), c21 = MIXQ_LOAD_C(2, 1), c30 = MIXQ_LOAD_C(3, 0), c31 = MIXQ_LOAD_C(3, 1);
  __m256i c40 = MIXQ_LOAD_C(4, 0), c41 = MIXQ_LOAD_C(4, 1), c50 = MIXQ_LOAD_C(5, 0), c51 = MIXQ_LOAD_C(5, 1);
#undef MIXQ_LOAD_C
  for (int64_t p = 0; p < pairs; ++p, a += 6, b += 2 * kInt16Panel) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + kInt16Panel));
    __m256i av = _mm256_set1_epi32(a[0]);
    c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(av, b0));
    c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(av, b1));
    av = _mm256_set1_epi32(a[1]);
    c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(av, b0));
    c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(av, b1));
    av = _mm256_set1_epi32(a[2]);
    c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(av, b0));
    c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(av, b1));
    av = _mm256_set1_epi32(a[3]);
    c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(av, b0));
    c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(av, b1));
    av = _mm256_set1_epi32(a[4]);
    c40 = _mm256_add_epi32(c40, _mm256_madd_epi16(av, b0));
    c41 = _mm256_add_epi32(c41, _mm256_madd_epi16(av, b1));
    av = _mm256_set1_epi32(a[5]);
    c50 = _mm256_add_epi32(c50, _mm256_madd_epi16(av, b0));
    c51 = _mm256_add_epi32(c51, _mm256_madd_epi16(av, b1));
  }
#define MIXQ_STORE_C(r, half, v) _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + (r)*ldc + 8 * (half)), v)
  MIXQ_STORE_C(0, 0, c00), MIXQ_STORE_C(0, 1, c01), MIXQ_STORE_C(1, 0, c10), MIXQ_STORE_C(1, 1, c11);
  MIXQ_STORE_C(2, 0, c20), MIXQ_STORE_C(2, 1, c21), MIXQ_STORE_C(3, 0, c30), MIXQ_STORE_C(3, 1, c31);
  MIXQ_STORE_C(4, 0, c40), MIXQ_STORE_C(4, 1, c41), MIXQ_STORE_C(5, 0, c50), MIXQ_STORE_C(5, 1, c51);
#undef MIXQ_STORE_C
}

// BlockKernel6x16 on AVX-512 VNNI: a pair of a panel is 16 columns x 2
// int16, one zmm; vpdpwssd adds each column's two products to its int32
// accumulator (the sum vpmaddwd + vpaddd computes, wrapping the same way),
// 6 accumulators for the 6 rows. Bit-exact with the AVX2 kernel.
#define MIXQ_VNNI16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
MIXQ_VNNI16 void BlockKernel6x16Vnni(const int32_t* a, const int16_t* b, int64_t pairs, int32_t* c, int64_t ldc,
                                     bool accumulate) {
  static_assert(kInt16RowBlock == 6 && kInt16Panel == 16);
#define MIXQ_LOAD_C(r) (accumulate ? _mm512_loadu_si512(c + (r)*ldc) : _mm512_setzero_si512())
  __m512i c0 = MIXQ_LOAD_C(0), c1 = MIXQ_LOAD_C(1), c2 = MIXQ_LOAD_C(2), c3 = MIXQ_LOAD_C(3), c4 = MIXQ_LOAD_C(4),
          c5 = MIXQ_LOAD_C(5);
#undef MIXQ_LOAD_C
  for (int64_t p = 0; p < pairs; ++p, a += 6, b += 2 * kInt16Panel) {
    const __m512i bv = _mm512_loadu_si512(b);
    c0 = _mm512_dpwssd_epi32(c0, _mm512_set1_epi32(a[0]), bv);
    c1 = _mm512_dpwssd_epi32(c1, _mm512_set1_epi32(a[1]), bv);
    c2 = _mm512_dpwssd_epi32(c2, _mm512_set1_epi32(a[2]), bv);
    c3 = _mm512_dpwssd_epi32(c3, _mm512_set1_epi32(a[3]), bv);
    c4 = _mm512_dpwssd_epi32(c4, _mm512_set1_epi32(a[4]), bv);
    c5 = _mm512_dpwssd_epi32(c5, _mm512_set1_epi32(a[5]), bv);
  }
  _mm512_storeu_si512(c, c0);
  _mm512_storeu_si512(c + ldc, c1);
  _mm512_storeu_si512(c + 2 * ldc, c2);
  _mm512_storeu_si512(c + 3 * ldc, c3);
  _mm512_storeu_si512(c + 4 * ldc, c4);
  _mm512_storeu_si512(c + 5 * ldc, c5);
}

using BlockKernel = void (*)(const int32_t*, const int16_t*, int64_t, int32_t*, int64_t, bool);

BlockKernel BlockKernelFor(Isa isa) {
  return isa >= Isa::kAvx512Vnni ? BlockKernel6x16Vnni : BlockKernel6x16;
}

// The widest block kernel this CPU runs (the AVX2 one where VNNI is absent).
Isa DefaultInt16Isa() {
  static const Isa isa = BestIsa() >= Isa::kAvx512Vnni ? Isa::kAvx512Vnni : Isa::kAvx2;
  return isa;
}

constexpr int64_t kPairChunk = 128;  // A chunk 3 KiB, B chunk 8 KiB per panel: a block's 4 panels stay in L1

}  // namespace

void PackInt16A(int64_t m, int64_t k, const std::function<int16_t(int64_t, int64_t)>& value, PackedInt16A* packed) {
  packed->m = m;
  packed->pairs = (k + 1) / 2;
  packed->blocks = (m + kInt16RowBlock - 1) / kInt16RowBlock;
  packed->data.assign(static_cast<size_t>(packed->blocks * packed->pairs * kInt16RowBlock), 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < packed->pairs; ++p) {
      // vpmaddwd pairs the low halves and the high halves: A[2p] goes low.
      const auto lo = static_cast<uint16_t>(value(i, 2 * p));
      const auto hi = static_cast<uint16_t>(2 * p + 1 < k ? value(i, 2 * p + 1) : 0);
      const int64_t block = i / kInt16RowBlock, row = i % kInt16RowBlock;
      packed->data[static_cast<size_t>((block * packed->pairs + p) * kInt16RowBlock + row)] =
          static_cast<int32_t>(static_cast<uint32_t>(lo) | static_cast<uint32_t>(hi) << 16);
    }
}

void PackInt16SplitA(const int16_t* a, int64_t lda, int64_t m, int64_t k, PackedInt16A* hi, PackedInt16A* lo) {
  for (PackedInt16A* p : {hi, lo}) {
    p->m = m;
    p->pairs = (k + 1) / 2;
    p->blocks = (m + kInt16RowBlock - 1) / kInt16RowBlock;
    p->data.assign(static_cast<size_t>(p->blocks * p->pairs * kInt16RowBlock), 0);
  }
  const int64_t pairs = hi->pairs;
  for (int64_t i = 0; i < m; ++i) {
    const int16_t* row = a + i * lda;
    const int64_t block = i / kInt16RowBlock, r = i % kInt16RowBlock;
    for (int64_t p = 0; p < pairs; ++p) {
      const int32_t v0 = row[2 * p], v1 = 2 * p + 1 < k ? row[2 * p + 1] : 0;
      // vpmaddwd pairs the low halves and the high halves: element 2p goes low.
      const auto pack = [](int32_t x0, int32_t x1) {
        return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(x0)) |
                                    static_cast<uint32_t>(static_cast<uint16_t>(x1)) << 16);
      };
      const size_t at = static_cast<size_t>((block * pairs + p) * kInt16RowBlock + r);
      hi->data[at] = pack(v0 >> 8, v1 >> 8);
      lo->data[at] = pack(v0 & 0xFF, v1 & 0xFF);
    }
  }
}

void GemmInt16TileAvx2(const PackedInt16A& a, int64_t first_block, int64_t last_block, const int16_t* b, int64_t panels,
                       int32_t* c, int64_t ldc) {
  GemmInt16TileIsa(DefaultInt16Isa(), a, first_block, last_block, b, panels, c, ldc);
}

void GemmInt16TileIsa(Isa isa, const PackedInt16A& a, int64_t first_block, int64_t last_block, const int16_t* b,
                      int64_t panels, int32_t* c, int64_t ldc) {
  const BlockKernel block_kernel = BlockKernelFor(isa);
  const int64_t pairs = a.pairs;
  for (int64_t kc = 0; kc < pairs; kc += kPairChunk) {
    const int64_t len = std::min(kPairChunk, pairs - kc);
    for (int64_t block = first_block; block < last_block; ++block) {
      const int32_t* ab = a.data.data() + (block * pairs + kc) * kInt16RowBlock;
      int32_t* cb = c + (block - first_block) * kInt16RowBlock * ldc;
      for (int64_t panel = 0; panel < panels; ++panel)
        block_kernel(ab, b + (panel * pairs + kc) * 2 * kInt16Panel, len, cb + panel * kInt16Panel, ldc, kc > 0);
    }
  }
}

MIXQ_AVX2 void PackInt16PanelsAvx2(const int16_t* rows, int64_t row_stride, int64_t k, int64_t cols, int16_t* panels) {
  const int64_t pairs = (k + 1) / 2;
  for (int64_t p = 0; p < pairs; ++p) {
    const int16_t* r0 = rows + 2 * p * row_stride;
    const int16_t* r1 = 2 * p + 1 < k ? r0 + row_stride : nullptr;
    for (int64_t q = 0; q * kInt16Panel < cols; ++q) {
      const int64_t at = q * kInt16Panel, n = std::min(kInt16Panel, cols - at);
      __m256i x0, x1 = _mm256_setzero_si256();
      if (n == kInt16Panel) {
        x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0 + at));
        if (r1) x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1 + at));
      } else {  // the row's end: never read past it
        alignas(32) int16_t t0[kInt16Panel] = {}, t1[kInt16Panel] = {};
        std::memcpy(t0, r0 + at, static_cast<size_t>(n) * sizeof(int16_t));
        if (r1) std::memcpy(t1, r1 + at, static_cast<size_t>(n) * sizeof(int16_t));
        x0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(t0));
        x1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(t1));
      }
      // unpack works within 128-bit lanes: lo = cols 0-3 | 8-11, hi = 4-7 | 12-15.
      const __m256i lo = _mm256_unpacklo_epi16(x0, x1), hi = _mm256_unpackhi_epi16(x0, x1);
      int16_t* dst = panels + (q * pairs + p) * 2 * kInt16Panel;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_permute2x128_si256(lo, hi, 0x20));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + kInt16Panel), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
  }
}

MIXQ_AVX2 void PackInt16PanelsFromOffsetsAvx2(const int16_t* base, const int64_t* offsets, int64_t k, int64_t cols,
                                              int16_t* panels) {
  const int64_t pairs = (k + 1) / 2;
  for (int64_t p = 0; p < pairs; ++p) {
    const int16_t* r0 = base + offsets[2 * p];
    const int16_t* r1 = 2 * p + 1 < k ? base + offsets[2 * p + 1] : nullptr;
    for (int64_t q = 0; q * kInt16Panel < cols; ++q) {
      const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0 + q * kInt16Panel));
      const __m256i x1 =
          r1 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1 + q * kInt16Panel)) : _mm256_setzero_si256();
      const __m256i lo = _mm256_unpacklo_epi16(x0, x1), hi = _mm256_unpackhi_epi16(x0, x1);
      int16_t* dst = panels + (q * pairs + p) * 2 * kInt16Panel;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_permute2x128_si256(lo, hi, 0x20));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + kInt16Panel), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
  }
}

MIXQ_AVX2 void PackInt8PanelsAvx2(const int8_t* rows, int64_t row_stride, int64_t k, int64_t cols, int32_t zero_point,
                                  int16_t* panels) {
  const int64_t pairs = (k + 1) / 2, panel_count = (cols + kInt16Panel - 1) / kInt16Panel;
  const __m256i zp = _mm256_set1_epi16(static_cast<int16_t>(zero_point));
  for (int64_t p = 0; p < pairs; ++p) {
    const int8_t* r0 = rows + 2 * p * row_stride;
    const int8_t* r1 = 2 * p + 1 < k ? r0 + row_stride : nullptr;
    for (int64_t q = 0; q < panel_count; ++q) {
      const int64_t at = q * kInt16Panel, n = std::min(kInt16Panel, cols - at);
      __m128i raw0, raw1 = _mm_setzero_si128();
      if (n == kInt16Panel) {
        raw0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + at));
        if (r1) raw1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + at));
      } else {  // the row's end: never read past it
        alignas(16) int8_t t0[kInt16Panel] = {}, t1[kInt16Panel] = {};
        std::memcpy(t0, r0 + at, static_cast<size_t>(n));
        if (r1) std::memcpy(t1, r1 + at, static_cast<size_t>(n));
        raw0 = _mm_load_si128(reinterpret_cast<const __m128i*>(t0));
        raw1 = _mm_load_si128(reinterpret_cast<const __m128i*>(t1));
      }
      const __m256i x0 = _mm256_sub_epi16(_mm256_cvtepi8_epi16(raw0), zp);
      // An odd K's last pair: the missing row is the centered 0.
      const __m256i x1 = r1 ? _mm256_sub_epi16(_mm256_cvtepi8_epi16(raw1), zp) : _mm256_setzero_si256();
      const __m256i lo = _mm256_unpacklo_epi16(x0, x1), hi = _mm256_unpackhi_epi16(x0, x1);
      int16_t* dst = panels + (q * pairs + p) * 2 * kInt16Panel;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_permute2x128_si256(lo, hi, 0x20));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + kInt16Panel), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
  }
}

void PackInt16B(int64_t k, int64_t n, const std::function<int16_t(int64_t, int64_t)>& value, PackedInt16B* packed) {
  packed->k = k;
  packed->n = n;
  packed->pairs = Int16GemmDepth(k) / 2;
  packed->panels = (n + kInt16Panel - 1) / kInt16Panel;
  packed->data.assign(static_cast<size_t>(packed->panels * packed->pairs * 2 * kInt16Panel), 0);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t t = 0; t < k; ++t) {
      const size_t at = static_cast<size_t>(((j / kInt16Panel) * packed->pairs + t / 2) * 2 * kInt16Panel +
                                            (j % kInt16Panel) * 2 + t % 2);
      packed->data[at] = value(t, j);
    }
}

void GemmInt16Avx2(const int16_t* a, int64_t lda, int64_t m, const PackedInt16B& b, int32_t* c, int64_t ldc) {
  const int64_t blocks = (m + 3) / 4, panels = b.panels, pairs = b.pairs;
  const int16_t* packed = b.data.data();
#pragma omp parallel for schedule(static) if (blocks * panels * pairs * 4 * 2 * kInt16Panel > kMinParallelMacs)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t row = block * 4;
    for (int64_t panel = 0; panel < panels; ++panel) {
      const int16_t* bp = packed + panel * pairs * 2 * kInt16Panel;
      int32_t* out = c + row * ldc + panel * kInt16Panel;
      if (row + 4 <= m) {
        PanelKernel<4>(a + row * lda, lda, bp, pairs, out, ldc);
      } else {
        for (int64_t r = row; r < m; ++r) PanelKernel<1>(a + r * lda, lda, bp, pairs, out + (r - row) * ldc, ldc);
      }
    }
  }
}

void PackInt16SplitB(int64_t k, int64_t n, const std::function<int16_t(int64_t, int64_t)>& value,
                     PackedInt16SplitB* packed) {
  PackInt16B(
      k, n, [&](int64_t t, int64_t j) { return static_cast<int16_t>(value(t, j) >> 8); }, &packed->hi);
  PackInt16B(
      k, n, [&](int64_t t, int64_t j) { return static_cast<int16_t>(value(t, j) & 0xFF); }, &packed->lo);
}

namespace {

// rows x 16 int64 outputs (+)= 256 * hi + lo, from two int32 tiles (ld 16).
MIXQ_AVX2 void AddSplitTile(const int32_t* hi, const int32_t* lo, int rows, int64_t* c, int64_t ldc, int64_t cols,
                            bool accumulate) {
  for (int r = 0; r < rows; ++r) {
    int64_t* out = c + r * ldc;
    if (cols == kInt16Panel) {
      for (int q = 0; q < 4; ++q) {
        const __m256i h = _mm256_cvtepi32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(hi + r * 16 + 4 * q)));
        const __m256i l = _mm256_cvtepi32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lo + r * 16 + 4 * q)));
        __m256i v = _mm256_add_epi64(_mm256_slli_epi64(h, 8), l);
        if (accumulate) v = _mm256_add_epi64(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(out + 4 * q)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 4 * q), v);
      }
      continue;
    }
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t v = static_cast<int64_t>(hi[r * 16 + j]) * 256 + lo[r * 16 + j];
      out[j] = accumulate ? out[j] + v : v;
    }
  }
}

template <int kRows>
MIXQ_AVX2 void ExactPanel(const int16_t* a, int64_t lda, const PackedInt16SplitB& b, int64_t panel, int64_t* c,
                          int64_t ldc, int64_t cols) {
  alignas(32) int32_t hi[kRows * 16], lo[kRows * 16];
  const int64_t pairs = b.hi.pairs;
  for (int64_t kc = 0; kc < pairs; kc += kInt16ExactPairChunk) {
    const int64_t len = std::min(kInt16ExactPairChunk, pairs - kc);
    const int64_t at = (panel * pairs + kc) * 2 * kInt16Panel;
    PanelKernel<kRows>(a + 2 * kc, lda, b.hi.data.data() + at, len, hi, 16);
    PanelKernel<kRows>(a + 2 * kc, lda, b.lo.data.data() + at, len, lo, 16);
    AddSplitTile(hi, lo, kRows, c, ldc, cols, kc > 0);
  }
}

}  // namespace

void GemmInt16ExactAvx2(const int16_t* a, int64_t lda, int64_t m, const PackedInt16SplitB& b, int64_t n, int64_t* c,
                        int64_t ldc) {
  const int64_t blocks = (m + 3) / 4, panels = b.hi.panels, pairs = b.hi.pairs;
#pragma omp parallel for schedule(static) if (blocks * panels * pairs * 8 * 2 * kInt16Panel > kMinParallelMacs)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t row = block * 4;
    for (int64_t panel = 0; panel < panels; ++panel) {
      const int64_t cols = std::min(kInt16Panel, n - panel * kInt16Panel);
      int64_t* out = c + row * ldc + panel * kInt16Panel;
      if (row + 4 <= m) {
        ExactPanel<4>(a + row * lda, lda, b, panel, out, ldc, cols);
      } else {
        for (int64_t r = row; r < m; ++r) ExactPanel<1>(a + r * lda, lda, b, panel, out + (r - row) * ldc, ldc, cols);
      }
    }
  }
}

void GemmInt16SplitTileAvx2(const PackedInt16A& a_hi, const PackedInt16A& a_lo, int64_t first_block, int64_t last_block,
                            const int16_t* b, int64_t panels, int64_t* c, int64_t ldc) {
  GemmInt16SplitTileIsa(DefaultInt16Isa(), a_hi, a_lo, first_block, last_block, b, panels, c, ldc);
}

namespace {

// The split product on AVX-512 VNNI in one pass: C[0..6)[0..16 * kPanels)
// (+)= 256 * (A_hi . B) + A_lo . B over `pairs` pairs (at most
// kInt16ExactPairChunk: the int32 sums stay exact), B as kPanels panels
// `panel_stride` int16 apart. Both halves of A against each B vector while
// it is in a register, 12 * kPanels accumulators, combined into int64 from
// the registers. The two-call form (BlockKernel6x16Vnni for hi, then lo,
// then AddSplitTile through memory) loads B twice and keeps only 6
// accumulators in flight: MobileNetV2 qint16's 1 x 1 layers ran at about
// half of vpdpwssd's rate that way. Bit-exact with it (the same int32 sums).
// Named accumulators, not arrays, GCC's partial-redundancy elimination off
// and no clones: with it GCC 12 renamed every accumulator through a register
// copy per pair and, for two panels, spilled half of them to the stack
// (about half the speed); a clone for the constant chunk length did the
// same.
#if defined(__GNUC__) && !defined(__clang__)
#define MIXQ_NO_TREE_PRE __attribute__((optimize("no-tree-pre"), noclone))
#else
#define MIXQ_NO_TREE_PRE
#endif
// The epilogue's row `row` as kernels/int16_requant.h takes it.
inline Int16Requant RequantOfRow(const Int16RequantEpilogue& e, int64_t row) {
  Int16Requant r;
  r.int_bias = e.int_bias[row];
  r.bias = e.bias[row];
  r.multiplier = e.multiplier[row];
  r.zero_point = e.zero_point;
  r.lo = e.lo;
  r.hi = e.hi;
  return r;
}

// Where the tile's sums go: added into int64 C, or requantized (kToInt16)
// into the epilogue's rows `row0`.. and columns `col0`...
struct SplitSink {
  int64_t* c = nullptr;
  int64_t ldc = 0;
  bool accumulate = false;
  const Int16RequantEpilogue* e = nullptr;
  int64_t row0 = 0, col0 = 0;
};

template <bool kToInt16>
MIXQ_VNNI16 inline void SinkSums(__m512i hi, __m512i lo, const SplitSink& sink, int r, int j) {
  if constexpr (kToInt16) {
    if (!sink.accumulate) {  // one K chunk: straight from the byte sums
      const Int16RequantEpilogue& e = *sink.e;
      const int64_t row = sink.row0 + r, col = sink.col0 + j * kInt16Panel;
      if (row < e.rows && col < e.cols)
        StoreRequantizedInt16FromSplit(hi, lo, VectorsOf(RequantOfRow(e, row)), e.out + row * e.ld_out + col,
                                       e.cols - col);
      return;
    }
  }
  const __m512i h0 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(hi));
  const __m512i h1 = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(hi, 1));
  const __m512i s0 = _mm512_add_epi64(_mm512_slli_epi64(h0, 8), _mm512_cvtepi32_epi64(_mm512_castsi512_si256(lo)));
  const __m512i s1 =
      _mm512_add_epi64(_mm512_slli_epi64(h1, 8), _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(lo, 1)));
  int64_t* c = sink.c ? sink.c + r * sink.ldc + j * kInt16Panel : nullptr;
  if constexpr (kToInt16) {
    const Int16RequantEpilogue& e = *sink.e;
    const int64_t row = sink.row0 + r, col = sink.col0 + j * kInt16Panel;
    if (row >= e.rows || col >= e.cols) return;
    if (sink.accumulate)  // the earlier chunks' sums
      StoreRequantizedInt16(_mm512_add_epi64(s0, _mm512_loadu_si512(c)),
                            _mm512_add_epi64(s1, _mm512_loadu_si512(c + 8)), VectorsOf(RequantOfRow(e, row)),
                            e.out + row * e.ld_out + col, e.cols - col);
    else
      StoreRequantizedInt16(s0, s1, VectorsOf(RequantOfRow(e, row)), e.out + row * e.ld_out + col, e.cols - col);
    return;
  }
  _mm512_storeu_si512(c, sink.accumulate ? _mm512_add_epi64(s0, _mm512_loadu_si512(c)) : s0);
  _mm512_storeu_si512(c + 8, sink.accumulate ? _mm512_add_epi64(s1, _mm512_loadu_si512(c + 8)) : s1);
}

// A 6-row tile's byte sums (hi, lo: [row][panel][16] int32, as
// SplitKernelVnni held them) requantized into the epilogue's rows: each
// row's constants once, and the int32 form of kernels/int16_requant.h where
// all the row's lanes are within its bounds. Out of line, after the tile's
// registers are stored: inlined per output vector (twelve copies of both
// forms) it made MobileNetV2 qint16's 1 x 1 layers slower.
MIXQ_VNNI16 __attribute__((noinline)) void RequantizeSplitTile(const int32_t* hi, const int32_t* lo, int panels,
                                                               const SplitSink& sink) {
  const Int16RequantEpilogue& e = *sink.e;
  for (int r = 0; r < kInt16RowBlock; ++r) {
    const int64_t row = sink.row0 + r;
    if (row >= e.rows) return;
    const Int16RequantVectors v = VectorsOf(RequantOfRow(e, row));
    for (int j = 0; j < panels; ++j) {
      const int64_t col = sink.col0 + j * kInt16Panel;
      if (col >= e.cols) break;
      const int at = (r * panels + j) * kInt16Panel;
      StoreRequantizedInt16FromSmallSplit(_mm512_loadu_si512(hi + at), _mm512_loadu_si512(lo + at), v,
                                          e.out + row * e.ld_out + col, e.cols - col);
    }
  }
}

template <int kPanels, bool kToInt16>
MIXQ_VNNI16 MIXQ_NO_TREE_PRE void SplitKernelVnni(const int32_t* a_hi, const int32_t* a_lo, const int16_t* b,
                                                  int64_t panel_stride, int64_t pairs, const SplitSink& sink) {
  static_assert(kInt16RowBlock == 6 && kInt16Panel == 16 && (kPanels == 1 || kPanels == 2));
#define MIXQ_Z _mm512_setzero_si512()
  __m512i h00 = MIXQ_Z, h10 = MIXQ_Z, h20 = MIXQ_Z, h30 = MIXQ_Z, h40 = MIXQ_Z, h50 = MIXQ_Z;
  __m512i l00 = MIXQ_Z, l10 = MIXQ_Z, l20 = MIXQ_Z, l30 = MIXQ_Z, l40 = MIXQ_Z, l50 = MIXQ_Z;
  __m512i h01 = MIXQ_Z, h11 = MIXQ_Z, h21 = MIXQ_Z, h31 = MIXQ_Z, h41 = MIXQ_Z, h51 = MIXQ_Z;
  __m512i l01 = MIXQ_Z, l11 = MIXQ_Z, l21 = MIXQ_Z, l31 = MIXQ_Z, l41 = MIXQ_Z, l51 = MIXQ_Z;
#undef MIXQ_Z
  for (int64_t p = 0; p < pairs; ++p, a_hi += 6, a_lo += 6, b += 2 * kInt16Panel) {
    const __m512i b0 = _mm512_loadu_si512(b);
    const __m512i b1 = kPanels == 2 ? _mm512_loadu_si512(b + panel_stride) : b0;
#define MIXQ_SPLIT_ROW(r)                                                           \
  {                                                                                 \
    const __m512i ah = _mm512_set1_epi32(a_hi[r]), al = _mm512_set1_epi32(a_lo[r]); \
    h##r##0 = _mm512_dpwssd_epi32(h##r##0, ah, b0);                                 \
    l##r##0 = _mm512_dpwssd_epi32(l##r##0, al, b0);                                 \
    if constexpr (kPanels == 2) {                                                   \
      h##r##1 = _mm512_dpwssd_epi32(h##r##1, ah, b1);                               \
      l##r##1 = _mm512_dpwssd_epi32(l##r##1, al, b1);                               \
    }                                                                               \
  }
    MIXQ_SPLIT_ROW(0) MIXQ_SPLIT_ROW(1) MIXQ_SPLIT_ROW(2) MIXQ_SPLIT_ROW(3) MIXQ_SPLIT_ROW(4) MIXQ_SPLIT_ROW(5)
#undef MIXQ_SPLIT_ROW
  }
  if constexpr (kToInt16) {
    if (!sink.accumulate) {  // one K chunk: requantized from the byte sums, out of line
      alignas(64) int32_t hi[kInt16RowBlock * kPanels * kInt16Panel], lo[kInt16RowBlock * kPanels * kInt16Panel];
#define MIXQ_SPLIT_KEEP(r)                                             \
  _mm512_store_si512(hi + (r * kPanels) * kInt16Panel, h##r##0);       \
  _mm512_store_si512(lo + (r * kPanels) * kInt16Panel, l##r##0);       \
  if constexpr (kPanels == 2) {                                        \
    _mm512_store_si512(hi + (r * kPanels + 1) * kInt16Panel, h##r##1); \
    _mm512_store_si512(lo + (r * kPanels + 1) * kInt16Panel, l##r##1); \
  }
      MIXQ_SPLIT_KEEP(0)
      MIXQ_SPLIT_KEEP(1) MIXQ_SPLIT_KEEP(2) MIXQ_SPLIT_KEEP(3) MIXQ_SPLIT_KEEP(4) MIXQ_SPLIT_KEEP(5)
#undef MIXQ_SPLIT_KEEP
          RequantizeSplitTile(hi, lo, kPanels, sink);
      return;
    }
  }
#define MIXQ_SPLIT_STORE(r)                         \
  SinkSums<kToInt16>(h##r##0, l##r##0, sink, r, 0); \
  if constexpr (kPanels == 2) SinkSums<kToInt16>(h##r##1, l##r##1, sink, r, 1);
  MIXQ_SPLIT_STORE(0)
  MIXQ_SPLIT_STORE(1) MIXQ_SPLIT_STORE(2) MIXQ_SPLIT_STORE(3) MIXQ_SPLIT_STORE(4) MIXQ_SPLIT_STORE(5)
#undef MIXQ_SPLIT_STORE
}
#undef MIXQ_NO_TREE_PRE

// Every row block and panel pair of one K chunk (pairs [kc, kc + len)).
template <bool kToInt16>
void SplitChunkVnni(const PackedInt16A& a_hi, const PackedInt16A& a_lo, int64_t first_block, int64_t last_block,
                    const int16_t* b, int64_t panels, int64_t kc, int64_t len, SplitSink sink) {
  const int64_t pairs = a_hi.pairs, panel_stride = pairs * 2 * kInt16Panel;
  int64_t* c = sink.c;
  for (int64_t block = first_block; block < last_block; ++block) {
    const int64_t at = (block * pairs + kc) * kInt16RowBlock;
    const int32_t *ah = a_hi.data.data() + at, *al = a_lo.data.data() + at;
    sink.row0 = (block - first_block) * kInt16RowBlock;
    for (int64_t panel = 0; panel < panels; panel += 2) {
      sink.col0 = panel * kInt16Panel;
      if (c) sink.c = c + sink.row0 * sink.ldc + sink.col0;
      const int16_t* bp = b + panel * panel_stride + kc * 2 * kInt16Panel;
      if (panel + 2 <= panels)
        SplitKernelVnni<2, kToInt16>(ah, al, bp, panel_stride, len, sink);
      else
        SplitKernelVnni<1, kToInt16>(ah, al, bp, panel_stride, len, sink);
    }
  }
}

void GemmInt16SplitTileVnni(const PackedInt16A& a_hi, const PackedInt16A& a_lo, int64_t first_block, int64_t last_block,
                            const int16_t* b, int64_t panels, int64_t* c, int64_t ldc) {
  for (int64_t kc = 0; kc < a_hi.pairs; kc += kInt16ExactPairChunk) {
    SplitSink sink;
    sink.c = c;
    sink.ldc = ldc;
    sink.accumulate = kc > 0;
    SplitChunkVnni<false>(a_hi, a_lo, first_block, last_block, b, panels, kc,
                          std::min(kInt16ExactPairChunk, a_hi.pairs - kc), sink);
  }
}

}  // namespace

void GemmInt16SplitTileVnniToInt16(const PackedInt16A& a_hi, const PackedInt16A& a_lo, int64_t first_block,
                                   int64_t last_block, const int16_t* b, int64_t panels, int64_t* partial,
                                   int64_t ld_partial, const Int16RequantEpilogue& e) {
  const int64_t pairs = a_hi.pairs, last = (pairs - 1) / kInt16ExactPairChunk * kInt16ExactPairChunk;
  SplitSink sink;
  sink.c = partial;
  sink.ldc = ld_partial;
  for (int64_t kc = 0; kc < last; kc += kInt16ExactPairChunk) {  // all but the last chunk: int64 partial sums
    sink.accumulate = kc > 0;
    SplitChunkVnni<false>(a_hi, a_lo, first_block, last_block, b, panels, kc, kInt16ExactPairChunk, sink);
  }
  sink.e = &e;
  sink.accumulate = last > 0;
  SplitChunkVnni<true>(a_hi, a_lo, first_block, last_block, b, panels, last, pairs - last, sink);
}

void GemmInt16SplitTileIsa(Isa isa, const PackedInt16A& a_hi, const PackedInt16A& a_lo, int64_t first_block,
                           int64_t last_block, const int16_t* b, int64_t panels, int64_t* c, int64_t ldc) {
  static_assert(kInt16ExactPairChunk == kPairChunk, "the int8 tiles' K chunk is the exact bound's");
  if (isa >= Isa::kAvx512Vnni) return GemmInt16SplitTileVnni(a_hi, a_lo, first_block, last_block, b, panels, c, ldc);
  const BlockKernel block_kernel = BlockKernelFor(isa);
  alignas(32) int32_t hi[kInt16RowBlock * kInt16Panel], lo[kInt16RowBlock * kInt16Panel];
  const int64_t pairs = a_hi.pairs;
  for (int64_t kc = 0; kc < pairs; kc += kInt16ExactPairChunk) {
    const int64_t len = std::min(kInt16ExactPairChunk, pairs - kc);
    for (int64_t block = first_block; block < last_block; ++block) {
      const int64_t at = (block * pairs + kc) * kInt16RowBlock;
      int64_t* cb = c + (block - first_block) * kInt16RowBlock * ldc;
      for (int64_t panel = 0; panel < panels; ++panel) {
        const int16_t* bp = b + (panel * pairs + kc) * 2 * kInt16Panel;
        block_kernel(a_hi.data.data() + at, bp, len, hi, kInt16Panel, false);
        block_kernel(a_lo.data.data() + at, bp, len, lo, kInt16Panel, false);
        AddSplitTile(hi, lo, kInt16RowBlock, cb + panel * kInt16Panel, ldc, kInt16Panel, kc > 0);
      }
    }
  }
}

}  // namespace mixq::kernels
