// Exact int16 x int16 products (the qint16 modes) on AMX-INT8 tiles
// (kernels::Isa::kAmx). Both operands are split in bytes, a = 256 * a_hi +
// a_lo with a_hi = a >> 8 in [-128, 127] (s8) and a_lo = a & 0xFF in
// [0, 255] (u8), so that
//
//   a * b = 65536 * (a_hi * b_hi) + 256 * (a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
//
// and each of the four byte products is one AMX instruction (TDPBSSD,
// TDPBSUD, TDPBUSD, TDPBUUD: 16 x 16 outputs x 64 taps of exact int32 sums of
// byte products). Three int32 tiles hold the high, middle and low sums; per
// kAmxInt16PassTaps taps none can overflow (|a_hi b_lo + a_lo b_hi| <= 2 *
// 128 * 255 per tap: 65,280 * 16,384 < 2^31), and each pass is combined
// into the int64 result as 65536 * high + 256 * middle + low.
//
// Why: with two vpdpwssd per pair of products (kernels/int16_gemm.h's split
// B), the exact int16 path runs at float32's FMA rate at best; four tile
// products of 16,384 multiply-adds each beat that several times over where
// the CPU has AMX.
#pragma once

#include <cstdint>
#include <functional>

#include "kernels/int16_gemm.h"
#include "kernels/u8s8_gemm_amx.h"

namespace mixq::kernels {

// Taps per pass whose int32 tile sums stay exact (256 tiles of 64 taps).
constexpr int64_t kAmxInt16PassTaps = 16384;

// A (m x K int16, the weights) split and packed as PackAmxA packs s8 rows:
// hi holds a >> 8, lo the bytes a & 0xFF (as u8).
struct PackedAmxInt16A {
  PackedAmxA hi, lo;
};
// `value(row, k)` for every element; called once per element.
void PackAmxInt16A(int64_t m, int64_t k, const std::function<int16_t(int64_t, int64_t)>& value,
                   PackedAmxInt16A* packed);

// The same from an int16 matrix (row i at a + i * lda), 32 values per step
// with no per-element callback: for activations packed on every run
// (MatMul's amx-int16-weights). Rows over OpenMP threads when `parallel`.
// Keeps `packed`'s storage between calls of one shape (its padding stays
// zero). Needs AVX-512 (BW).
void PackAmxInt16ARows(const int16_t* a, int64_t lda, int64_t m, int64_t k, bool parallel, PackedAmxInt16A* packed);

// B (K x cols int16) split in bytes into AMX's B layout: per 16 columns a
// panel of (K + 3) / 4 quads, [panel][quad][16][4], as hi (s8, b >> 8) and
// lo (u8, b & 0xFF) bytes; taps past K are zero. Rows at base + offsets[r]
// (an implicit im2col; up to `cols` rounded up to 16 values past each row
// start must be readable, as for PackInt16PanelsFromOffsetsAvx2; columns
// past `cols` in the last panel then hold unspecified values), or at rows +
// r * row_stride (never read past `cols`; columns past it zero). Both
// outputs need room for panels * quads * 64 bytes plus kAmxPanelSlack (the
// slack is not written). Needs AVX-512 (BW).
void PackSplitInt16FromOffsetsAmx(const int16_t* base, const int64_t* offsets, int64_t k, int64_t cols, uint8_t* hi,
                                  uint8_t* lo);
void PackSplitInt16RowsAmx(const int16_t* rows, int64_t row_stride, int64_t k, int64_t cols, uint8_t* hi, uint8_t* lo);

// C[i][j] = sum_k A[i][k] * B[k][j] exactly (int64, row i at c + i * ldc)
// for the 16-row blocks [first_block, last_block) of A (C's first row is
// block first_block's first, padding rows included) and j < panels * 16,
// B as PackSplitInt16*Amx wrote it (a.hi.quads quads per panel). Configures
// the calling thread's tiles and releases them. Needs kernels::Isa::kAmx.
void GemmInt16SplitTileAmx(const PackedAmxInt16A& a, int64_t first_block, int64_t last_block, const uint8_t* b_hi,
                           const uint8_t* b_lo, int64_t panels, int64_t* c, int64_t ldc);

// GemmInt16SplitTileAmx's sums as doubles (exact integers below 2^53), for
// the convolutions' float-chain stage (ops Int8ConvOutputStage::RowOfSums),
// which then skips the int64 conversion and its range check.
void GemmInt16SplitTileAmxToDouble(const PackedAmxInt16A& a, int64_t first_block, int64_t last_block,
                                   const uint8_t* b_hi, const uint8_t* b_lo, int64_t panels, double* c, int64_t ldc);

// GemmInt16SplitTileAmx requantized to INT16 from each 16 x 16 block of
// sums while it is in L1 (kernels/int16_gemm.h's Int16RequantEpilogue and
// kernels/int16_requant.h's operations, bit for bit): row r of the blocks
// [first_block, last_block) is the epilogue's row r (rows past e.rows are
// dropped), column j < e.cols goes to e.out + r * e.ld_out + j. No int64
// sums in memory, which for shallow products (MobileNetV2's 1 x 1 layers of
// 16-32 input channels) cost more than the tiles. Exact while K <
// kInt16DirectMaxDepth. Needs kernels::Isa::kAmx.
void GemmInt16SplitTileAmxToInt16(const PackedAmxInt16A& a, int64_t first_block, int64_t last_block,
                                  const uint8_t* b_hi, const uint8_t* b_lo, int64_t panels,
                                  const Int16RequantEpilogue& e);

}  // namespace mixq::kernels
