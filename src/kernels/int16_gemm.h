// An exact int16 x int16 -> int32 GEMM on AVX2 (vpmaddwd), the building
// block of mixq's int8 kernels (DESIGN rule 9: the exact int16 path; no
// vpmaddubsw saturation). Sums are exact while K * max|a| * max|b| < 2^31.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace mixq::kernels {

constexpr int64_t kInt16Panel = 16;  // columns of B per packed panel
// Deepest K for centered int8 operands (|a|, |b| <= 255): K * 255 * 255 < 2^31.
constexpr int64_t kInt8GemmMaxDepth = 33000;

// B (K x N) packed in panels of 16 columns, K in pairs: [panel][k / 2][16][2],
// K padded to even and N to a multiple of 16 with zeros.
struct PackedInt16B {
  int64_t k = 0, n = 0, pairs = 0, panels = 0;
  std::vector<int16_t> data;
};

// `value(k, n)` for every element; called once per element.
void PackInt16B(int64_t k, int64_t n, const std::function<int16_t(int64_t, int64_t)>& value, PackedInt16B* packed);

// K rounded up to even: the row length A needs (pad with zeros).
inline int64_t Int16GemmDepth(int64_t k) {
  return (k + 1) / 2 * 2;
}

// C[i][j] = sum_k A[i][k] * B[k][j] for i < m, j < packed.panels * 16 (ldc
// >= that), A rows of Int16GemmDepth(packed.k) int16 (stride lda). Row blocks
// are spread over OpenMP threads; each output is summed by one thread in one
// order, so the result does not depend on the thread count. Needs AVX2.
void GemmInt16Avx2(const int16_t* a, int64_t lda, int64_t m, const PackedInt16B& b, int32_t* c, int64_t ldc);

}  // namespace mixq::kernels
