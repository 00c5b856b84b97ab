// An exact u8 x s8 -> int32 GEMM on AVX2 with vpmaddubsw, for int8 weights
// small enough that vpmaddubsw's pairwise int16 sums cannot saturate
// (DESIGN rule 9: the 7-bit-weight policy, `int8_weight_range: 7bit`), and
// for 8-bit weights split into such a part and a sparse remainder (PackS8A
// below; convolutions, and MatMul / FullyConnected computed transposed).
//
// vpmaddubsw multiplies 32 unsigned bytes by 32 signed bytes and adds
// adjacent products into 16 saturating int16 sums; vpmaddwd by ones then
// widens them into int32. With activations u in [0, 255] and a weight pair
// (w1, w2) with |w1| + |w2| <= 128, |u1 w1 + u2 w2| <= 255 * 128 = 32640 <
// 32767: never saturated, so the sums are exact and equal the reference's.
// Weights in [-64, 63] always qualify. Per 4 taps that is 2 multiplies for
// 32 multiply-adds against vpmaddwd's 2 for 16 plus half the loads: measured
// about 1.3-1.4x the exact int16 path's rate on AMD Zen 3 (docs/precision.md).
//
// Activations stored as int8 q with zero point z enter as u = q + 128 (q ^
// 0x80) with zero point z + 128; the GEMM subtracts zero_point * sum_k A[i][k]
// from row i, so C is sum_k A[i][k] * (u_k - zero_point), the centered sum.
#pragma once

#include <cstdint>
#include <vector>

namespace mixq::kernels {

constexpr int64_t kU8S8Panel = 16;    // columns of B per packed panel
constexpr int64_t kU8S8RowBlock = 6;  // rows of A per micro-tile
// The largest |w1| + |w2| of an adjacent weight pair vpmaddubsw sums exactly
// for every u8 activation: 255 * 128 <= 32767.
constexpr int32_t kU8S8MaxPairMagnitude = 128;

// True when every row's adjacent pairs (k = 2p, 2p + 1) of A (m x k, row i
// at a + i * lda) satisfy |w1| + |w2| <= kU8S8MaxPairMagnitude.
bool FitsU8S8(const int16_t* a, int64_t m, int64_t k, int64_t lda);

// Quads of K swept per chunk by the tiles (A 3 KiB, a B panel 8 KiB).
constexpr int64_t kU8S8QuadChunk = 128;

// 8-bit weights split for vpmaddubsw: an adjacent pair with |w1| + |w2| >
// 128 enters the dense part clamped to [-64, 64] (a pair sum <= 128) and
// leaves w - clamp(w) in [-64, 64] to a sparse remainder, one entry per
// (row, quad) holding such a pair: the 4 taps' remainders as s8 in one word,
// which vpmaddubsw multiplies exactly too (pairs <= 128 again). The tile adds
// the remainder into its registers after each chunk's dense loop, in steps
// of one entry per row of the block (a row with fewer entries in the chunk
// repeats a zero word): a chunk costs its densest row's count of steps, each
// about one dense quad step.
struct S8RestEntry {
  int32_t offset;  // the quad's byte offset within its chunk of a B panel: (quad % kU8S8QuadChunk) * 64
  int32_t word;    // the 4 taps' remainders, s8, tap t in byte t
};

// A (m x K, int8) packed for GemmU8S8TileAvx2: blocks of kU8S8RowBlock rows
// (m padded with zero rows), each stored K-quad-major, [block][quad][row] as
// int32 holding A[row][4q .. 4q + 3] (K padded to a multiple of 4 with
// zeros), and each row's sum (for the zero-point term), with the remainder
// of the split weights in steps of kU8S8RowBlock entries (entry r of a step
// for row r of the block), by block, then chunk of kU8S8QuadChunk quads:
// chunk c of block b has the steps [rest_begin[b * chunks + c],
// rest_begin[b * chunks + c + 1]), chunks = ceil(quads / kU8S8QuadChunk).
struct PackedS8A {
  int64_t m = 0, quads = 0, blocks = 0;
  std::vector<int32_t> data;
  std::vector<int32_t> row_sums;  // blocks * kU8S8RowBlock entries, padding rows 0
  std::vector<S8RestEntry> rest;
  std::vector<int64_t> rest_begin;  // blocks * chunks + 1 step indices (entry index / kU8S8RowBlock)
};

// The share of A's (row, quad)s that PackS8A must split (a pair with |w1| +
// |w2| > 128), in [0, 1]; 2 when a value lies outside [-128, 128] (no split
// into two s8 parts). Row i at a + i * lda.
double U8S8SplitShare(const int16_t* a, int64_t m, int64_t k, int64_t lda);

// Which pairs PackS8A splits. kPairs: those vpmaddubsw could saturate on
// (FitsU8S8's test), for the AVX2 tiles. kBytes: only pairs holding a value
// s8 cannot (a centered 128), for the AVX-512 VNNI tiles, whose vpdpbusd
// sums u8 x s8 products in int32 without saturating: 8-bit weights then
// leave no remainder at all.
enum class S8Split { kPairs, kBytes };

// A given as int16 values in [-128, 128] (U8S8SplitShare <= 1), row i at a +
// i * lda; pairs that `split` names are split (S8RestEntry).
void PackS8A(const int16_t* a, int64_t m, int64_t k, int64_t lda, PackedS8A* packed, S8Split split = S8Split::kPairs);

// PackS8A of A's rows sorted by how many of their quads split, most first,
// so that a 6-row block holds rows with like remainders and its remainder
// steps (its densest row's count per chunk) waste little on the others;
// rows[i] is the row of A that packed row i holds (the caller maps the
// tile's row i of C back to it). group_rows > 0: rows are sorted only
// within each run of group_rows (a multiple of kU8S8RowBlock), so that a
// caller's job over those packed rows covers the same rows of A.
void PackS8ASortedRows(const int16_t* a, int64_t m, int64_t k, int64_t lda, PackedS8A* packed,
                       std::vector<int64_t>* rows, int64_t group_rows = 0, S8Split split = S8Split::kPairs);

// What the remainder costs the tile: its steps per dense quad step, summed
// over the blocks ((row-block, quad) pairs of the dense part), >= 0.
double U8S8RestStepShare(const PackedS8A& packed);

// One thread's tile of C[i][j] = sum_k A[i][k] * (B[k][j] - zero_point) for
// the row blocks [first_block, last_block) of A and j < panels * 16, B given
// as `panels` consecutive packed panels ([panel][quad][16][4] u8, a.quads
// quads each). C has a row for each row of the blocks (padding rows too).
// Needs AVX2. Exact for any A PackS8A took (its remainder included).
void GemmU8S8TileAvx2(const PackedS8A& a, int64_t first_block, int64_t last_block, const uint8_t* b, int64_t panels,
                      int32_t zero_point, int32_t* c, int64_t ldc);
// The same product on AVX-512 VNNI (vpdpbusd: 64 u8 x s8 products summed
// exactly into 16 int32 per instruction, four times vpmaddubsw's useful
// work per instruction and no saturation). Takes A packed either way (the
// remainder, if any, is added the same way); S8Split::kBytes leaves none.
// Needs AVX-512 F, BW and VNNI (kernels::Isa::kAvx512Vnni).
void GemmU8S8TileVnni(const PackedS8A& a, int64_t first_block, int64_t last_block, const uint8_t* b, int64_t panels,
                      int32_t zero_point, int32_t* c, int64_t ldc);

// Packs K rows of u8, row r at base + offsets[r] (an implicit im2col), into
// (cols / 16 rounded up) panels of (K + 3) / 4 quads. Reads whole panels: up
// to `cols` rounded up to 16 bytes past each row start must be readable.
// Rows past K (the last quad's padding) repeat row K - 1: their weights are 0.
void PackU8PanelsFromOffsetsAvx2(const uint8_t* base, const int64_t* offsets, int64_t k, int64_t cols, uint8_t* panels);

// The same from int8 rows (row r at rows + r * row_stride, `cols` values
// each, any count; never read past), each value entering as x ^ 0x80 (x +
// 128): a 1x1 convolution's B needs no im2col. Columns past `cols` in the
// last panel hold 0x80.
void PackS8RowsAsU8PanelsAvx2(const int8_t* rows, int64_t row_stride, int64_t k, int64_t cols, uint8_t* panels);

// The activations as B for a weights x activations product (a MatMul /
// FullyConnected computed transposed, so that the weights are A and take
// PackS8A's split): `rows` int8 rows of k values (row r at a + r * lda, each
// one of B's columns, e.g. a token) packed as (rows / 16 rounded up) panels
// of (k + 3) / 4 quads, [panel][quad][16][4] u8 (x ^ 0x80); rows past `rows`
// and taps past k hold 0x80. Never reads past a row's k values. Needs AVX2.
void PackS8RowsAsU8ColumnPanelsAvx2(const int8_t* a, int64_t lda, int64_t rows, int64_t k, uint8_t* panels);

// The most remainder steps per dense step (U8S8RestStepShare) for which the
// split u8s8 product is taken over the exact int16 one (measured in
// ops/conv2d/cpu_avx2_gemm.cc).
constexpr double kU8S8MaxRestSteps = 0.15;

// The product the other way round (MatMul / FullyConnected: A the int8
// activations, B the weights). A's rows packed as u8 (x ^ 0x80) quads like
// PackedS8A (row_sums unused); B (K x N, given transposed: column j at bt +
// j * k, int8 values in int16 satisfying FitsU8S8 along K) packed in panels
// of 16 columns, [panel][quad][16][4] s8, with each column's sum.
void PackU8A(const int8_t* a, int64_t m, int64_t k, int64_t lda, PackedS8A* packed);
struct PackedS8B {
  int64_t k = 0, n = 0, quads = 0, panels = 0;
  std::vector<uint8_t> data;
  std::vector<int32_t> col_sums;  // panels * 16 entries, padding columns 0
};
// data holds kS8BSlack zero bytes past the last panel: AMX tiles read B in
// whole tiles of 16 quads (kernels/u8s8_gemm_amx.h).
constexpr int64_t kS8BSlack = 16 * 4 * kU8S8Panel;
void PackS8B(const int16_t* bt, int64_t n, int64_t k, PackedS8B* packed);

// C[i][j] = sum_k (A[i][k] - zero_point) * B[k][j] for the row blocks
// [first_block, last_block) and the panels [first_panel, first_panel +
// panels) of B; C's column 0 is panel first_panel's first. zero_point: A's
// as u8 (z + 128). Needs AVX2.
void GemmU8S8WeightsTileAvx2(const PackedS8A& a, int64_t first_block, int64_t last_block, const PackedS8B& b,
                             int64_t first_panel, int64_t panels, int32_t zero_point, int32_t* c, int64_t ldc);
// The same on AVX-512 VNNI, where B may hold any s8 weights (FitsS8): no
// pair bound. A block holding a single row of A (A's m = 6 b + 1) writes
// only that row of C. Needs AVX-512 F, BW and VNNI.
void GemmU8S8WeightsTileVnni(const PackedS8A& a, int64_t first_block, int64_t last_block, const PackedS8B& b,
                             int64_t first_panel, int64_t panels, int32_t zero_point, int32_t* c, int64_t ldc);

// True when every value of A (m x k, row i at a + i * lda) lies in [-128,
// 127]: PackS8B can hold it for the VNNI tile.
bool FitsS8(const int16_t* a, int64_t m, int64_t k, int64_t lda);

}  // namespace mixq::kernels
