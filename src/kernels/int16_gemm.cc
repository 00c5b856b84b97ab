#include "kernels/int16_gemm.h"

#include <immintrin.h>

#include <cstring>

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

}  // namespace

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
#pragma omp parallel for schedule(static) if (blocks * panels * pairs > 4096)
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

}  // namespace mixq::kernels
