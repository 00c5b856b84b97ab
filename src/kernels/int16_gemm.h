// An exact int16 x int16 -> int32 GEMM on AVX2 (vpmaddwd), the building
// block of mixq's int8 kernels (DESIGN rule 9: the exact int16 path; no
// vpmaddubsw saturation). Sums are exact while K * max|a| * max|b| < 2^31.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "kernels/cpu_features.h"

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

// A (m x K) packed for GemmInt16TileAvx2: blocks of kInt16RowBlock rows
// (m padded with zero rows), each stored K-pair-major, [block][pair][row] as
// int32 holding (A[row][2p], A[row][2p+1]); K odd: a zero last column.
constexpr int64_t kInt16RowBlock = 6;
struct PackedInt16A {
  int64_t m = 0, pairs = 0, blocks = 0;
  std::vector<int32_t> data;
};
void PackInt16A(int64_t m, int64_t k, const std::function<int16_t(int64_t, int64_t)>& value, PackedInt16A* packed);
// A (m x k int16, row i at a + i * lda) split into bytes as
// GemmInt16SplitTileIsa takes it: hi = A >> 8, lo = A & 0xFF, each packed
// as PackInt16A packs (no per-element callback: cheap enough per run, for
// an activation A).
void PackInt16SplitA(const int16_t* a, int64_t lda, int64_t m, int64_t k, PackedInt16A* hi, PackedInt16A* lo);

// One thread's tile of the product: C[i][j] = sum_k A[i][k] * B[k][j] for the
// row blocks [first_block, last_block) of A and j < panels * 16, B given as
// `panels` consecutive packed panels ([panel][pair][16][2] int16, a.pairs
// pairs each). C has a row for each row of the blocks (padding rows too).
// K is swept in chunks so that a chunk of A (a 6-row block) stays in L1 and
// the chunk of B in L2 while every panel / every block reuses them. Needs
// AVX2.
void GemmInt16TileAvx2(const PackedInt16A& a, int64_t first_block, int64_t last_block, const int16_t* b, int64_t panels,
                       int32_t* c, int64_t ldc);
// The same on the block kernel of `isa`: Isa::kAvx2 (vpmaddwd + vpaddd), or
// Isa::kAvx512Vnni and above (vpdpwssd, a 16-column panel pair per zmm;
// bit-exact with the AVX2 one). GemmInt16TileAvx2 and GemmInt16SplitTileAvx2
// take the widest this CPU runs; tests run both.
void GemmInt16TileIsa(Isa isa, const PackedInt16A& a, int64_t first_block, int64_t last_block, const int16_t* b,
                      int64_t panels, int32_t* c, int64_t ldc);

// Packs K rows of int16 (row r at rows + r * row_stride, `cols` values each,
// any count; never read past) into the panel layout GemmInt16TileAvx2 takes:
// (cols / 16 rounded up) panels of (K + 1) / 2 pairs, columns past `cols`
// zero; an odd K's last pair takes a zero row. Needs AVX2.
void PackInt16PanelsAvx2(const int16_t* rows, int64_t row_stride, int64_t k, int64_t cols, int16_t* panels);

// The same with row r at base + offsets[r] (an implicit im2col: each row a
// shifted view of a padded image). Reads whole panels: up to `cols` rounded
// up to 16 values past each row start must be readable.
void PackInt16PanelsFromOffsetsAvx2(const int16_t* base, const int64_t* offsets, int64_t k, int64_t cols,
                                    int16_t* panels);

// The same from int8 rows (`cols` values each, any count), centered on the
// fly (x - zero_point, exact in int16): a 1x1 convolution's B needs no
// im2col. Columns past `cols` in the last panel hold unspecified values.
void PackInt8PanelsAvx2(const int8_t* rows, int64_t row_stride, int64_t k, int64_t cols, int32_t zero_point,
                        int16_t* panels);

// Exact int16 x int16 products summed in int64 (the qint16 modes), on the
// same vpmaddwd: B is split once as B = 256 * hi + lo with lo = B & 0xFF in
// [0, 255] and hi = B >> 8 in [-128, 127], both packed like PackInt16B. Per
// chunk of kInt16ExactPairChunk pairs the two int32 products A * hi and A * lo
// cannot overflow (|a| <= 32768: 128 * 2 * 32768 * 255 < 2^31), and are
// combined into the int64 sum as 256 * (A * hi) + A * lo. Twice the
// multiplies of the int8 path, none of the reference's int64 loop.
constexpr int64_t kInt16ExactPairChunk = 128;
struct PackedInt16SplitB {
  PackedInt16B hi, lo;
};
void PackInt16SplitB(int64_t k, int64_t n, const std::function<int16_t(int64_t, int64_t)>& value,
                     PackedInt16SplitB* packed);

// C[i][j] = sum_k A[i][k] * B[k][j] exactly, for i < m, j < n (ldc >= n),
// A rows of Int16GemmDepth(k) int16 (stride lda, an odd K's last column
// zero). Row blocks over OpenMP threads, each output summed by one thread in
// one order. Needs AVX2.
void GemmInt16ExactAvx2(const int16_t* a, int64_t lda, int64_t m, const PackedInt16SplitB& b, int64_t n, int64_t* c,
                        int64_t ldc);

// GemmInt16TileAvx2 with exact int64 sums for int16 operands: A given split
// as A = 256 * a_hi + a_lo (both packed like PackInt16A; a_lo in [0, 255],
// a_hi in [-128, 127]), B's values in int16. Per kInt16ExactPairChunk pairs
// two int32 tiles (6 x 16) are summed and added to C (int64, ldc) as 256 *
// hi + lo. Needs AVX2. On AVX-512 VNNI (GemmInt16SplitTileIsa's
// Isa::kAvx512Vnni, the one the Avx2 entry takes there) both halves run in
// one pass over B, 6 rows x 32 columns x 2 halves in registers, and are
// widened to int64 from them: the same sums.
void GemmInt16SplitTileAvx2(const PackedInt16A& a_hi, const PackedInt16A& a_lo, int64_t first_block, int64_t last_block,
                            const int16_t* b, int64_t panels, int64_t* c, int64_t ldc);
void GemmInt16SplitTileIsa(Isa isa, const PackedInt16A& a_hi, const PackedInt16A& a_lo, int64_t first_block,
                           int64_t last_block, const int16_t* b, int64_t panels, int64_t* c, int64_t ldc);

// The plain requantization to INT16 of ops/int8_output_stage.h
// (RequantizeRow64ToInt16: q = clamp(rint((f32(acc + int_bias) + bias) *
// multiplier + zero_point), lo, hi), the same float32 operations in the same
// order), per row of C (an output channel): its constants at [row], the
// output row at out + row * ld_out, `cols` columns. The constants must be
// finite.
struct Int16RequantEpilogue {
  const int32_t* int_bias = nullptr;
  const float* bias = nullptr;
  const float* multiplier = nullptr;
  int32_t zero_point = 0, lo = -32768, hi = 32767;
  int16_t* out = nullptr;
  int64_t ld_out = 0, rows = 0, cols = 0;
};
// GemmInt16SplitTileIsa on AVX-512 VNNI, requantized from the registers
// after the last K chunk: no int64 sums in memory where K fits one chunk
// (2 * kInt16ExactPairChunk); otherwise the earlier chunks' sums go to
// `partial` (one int64 row of ld_partial per row of the blocks, as
// GemmInt16SplitTileIsa's C) and the last adds them. Row r of the blocks
// [first_block, last_block) is the epilogue's row r (rows past e.rows are
// dropped). Exact while K < kInt16DirectMaxDepth (the sums and the bias
// below 2^51, converted to float32 through double). Needs Isa::kAvx512Vnni.
constexpr int64_t kInt16DirectMaxDepth = int64_t{1} << 20;
void GemmInt16SplitTileVnniToInt16(const PackedInt16A& a_hi, const PackedInt16A& a_lo, int64_t first_block,
                                   int64_t last_block, const int16_t* b, int64_t panels, int64_t* partial,
                                   int64_t ld_partial, const Int16RequantEpilogue& e);

}  // namespace mixq::kernels
