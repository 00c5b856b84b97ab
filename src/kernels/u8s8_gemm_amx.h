// The u8 x s8 product of kernels/u8s8_gemm.h on AMX tiles (Intel AMX-INT8,
// kernels::Isa::kAmx): TDPBSUD multiplies a 16 x 64 tile of s8 (A, the
// weights) by a 16 x 64 tile of u8 (B, 16 quads of K for 16 columns) into a
// 16 x 16 tile of int32, 16,384 exact multiply-adds per instruction (int32
// sums of byte products, no saturation). B is the AVX2 / VNNI tiles' own
// panel layout ([panel][quad][16][4] u8): a quad is one 64-byte tile row,
// so the activations are packed as before. A is packed per 16 output
// channels and 64 taps as the tile's 16 rows of 64 bytes.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/u8s8_gemm.h"

namespace mixq::kernels {

constexpr int64_t kAmxRows = 16;   // rows of A (output channels) per tile
constexpr int64_t kAmxQuads = 16;  // quads of K per tile (64 taps)
// Bytes past the last B panel a tile may read: K is swept in whole tiles of
// 16 quads, and the quads past a panel's last are read (their weights in A
// are zero, so any readable bytes do).
constexpr int64_t kAmxPanelSlack = kAmxQuads * 4 * kU8S8Panel;

// A (m x K) packed for GemmU8S8TileAmx: blocks of 16 rows (m padded with
// zero rows), each K chunk of 16 quads a tile, [block][chunk][row][64] s8
// with K padded with zeros, and each row's sum (the zero-point term).
struct PackedAmxA {
  int64_t m = 0, quads = 0, chunks = 0, blocks = 0;  // quads: (K + 3) / 4, as B's panels hold
  std::vector<int8_t> data;
  std::vector<int32_t> row_sums;  // blocks * 16 entries, padding rows 0
};

// Loads the tile configuration every AMX GEMM of mixq's uses (palette 1,
// tmm0-7 each 16 rows of 64 bytes) into the calling thread's tiles; the
// caller releases them (_tile_release) when done. Needs kernels::Isa::kAmx.
void ConfigureAmxTiles();
// Releases the calling thread's tiles (their state back to init).
void ReleaseAmxTiles();

// A given as int16 values in [-128, 127] (FitsS8), row i at a + i * lda.
void PackAmxA(const int16_t* a, int64_t m, int64_t k, int64_t lda, PackedAmxA* packed);

// C[i][j] = sum_k A[i][k] * (B[k][j] - zero_point) for the 16-row blocks
// [first_block, last_block) of A and j < panels * 16, B given as `panels`
// consecutive packed panels of a.quads quads each, with kAmxPanelSlack
// readable bytes after the last. C has 16 rows per block (padding rows
// too). Configures the calling thread's tiles and releases them. Needs
// kernels::Isa::kAmx.
void GemmU8S8TileAmx(const PackedAmxA& a, int64_t first_block, int64_t last_block, const uint8_t* b, int64_t panels,
                     int32_t zero_point, int32_t* c, int64_t ldc);

// GemmU8S8TileAmx with the plain int8 output stage applied to each 2 x 2
// group of C tiles while they are in L1 (no int32 C in memory): row r of
// the blocks (output channel) and column j < cols of C go to
// out[r * ld_out + position] as q = clamp(rint((f32(acc + int_bias[r]) +
// bias[r]) * multiplier[r] + zero_point), lo, hi), the float32 operations
// of ops::RequantizeRowToInt8 in its order. Rows from first_block * 16,
// `rows` of them valid; the per-row arrays are indexed the same way. The
// column's position: first + j (phase_w == 0, a pointwise convolution's
// pixels), or for the virtual columns of an implicit im2col, v = first + j
// is output pixel (v / phase_w, v % phase_w) of an out_w-wide image,
// written only where v % phase_w < out_w.
struct AmxInt8Epilogue {
  const int32_t* int_bias = nullptr;
  const float* bias = nullptr;
  const float* multiplier = nullptr;
  int32_t zero_point = 0, lo = -128, hi = 127;
  int8_t* out = nullptr;
  int64_t ld_out = 0, rows = 0, cols = 0;
  int64_t first = 0, phase_w = 0, out_w = 0;
};
void GemmU8S8TileAmxToInt8(const PackedAmxA& a, int64_t first_block, int64_t last_block, const uint8_t* b,
                           int64_t panels, int32_t zero_point, const AmxInt8Epilogue& e);

// The activations of a MatMul / FullyConnected (A, m x K int8, row i at a
// + i * lda) as u8 (x ^ 0x80) tiles in PackedAmxA's layout, zero padded
// (row_sums unused).
void PackAmxU8A(const int8_t* a, int64_t m, int64_t k, int64_t lda, PackedAmxA* packed);

// C[i][j] = sum_k (A[i][k] - zero_point) * B[k][j] for every row block of A
// (PackAmxU8A) and the panels [first_panel, first_panel + panels) of B
// (PackS8B, any s8 weights; its kS8BSlack bytes past the last panel are
// read); C's column 0 is panel first_panel's first. TDPBUSD. Needs
// kernels::Isa::kAmx.
void GemmU8S8WeightsTileAmx(const PackedAmxA& a, const PackedS8B& b, int64_t first_panel, int64_t panels,
                            int32_t zero_point, int32_t* c, int64_t ldc);

}  // namespace mixq::kernels
