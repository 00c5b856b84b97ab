// The fused AVX2 int8 product of activations and constant weights, shared by
// MatMul (constant b) and FullyConnected: Y[m][n] = stage(sum_k A[m][k] *
// W[k][n]) with A int8 rows (per-tensor scale, static or dynamic), W int8
// with per-column (output feature) scales, packed once per engine into the
// int16 GEMM's panels, and the output stage of SPEC §1.5 applied per column
// (bias, activations, a residual add) into INT8, FLOAT32 or FLOAT16. The
// rows of A are packed per run into 6-row blocks, column blocks of 256 keep
// the weights' chunk in L2 while every row block uses it, and threads split
// the column blocks. Exact int32 sums (K * 255 * 255 < 2^31), so the result
// is bit-exact with reference-quantized. Two vpmaddubsw forms (u8s8 below):
// 7-bit weights as B, and 8-bit weights split as A of the transposed product.
#pragma once

#include <functional>
#include <memory>

#include "ops/kernel_registry.h"

namespace mixq::ops {

// Fills one 6-row block of A for a run: dst[p * 6 + r] holds the centered
// pair (A[row][2p], A[row][2p + 1]) of row block * 6 + r as int16 halves (low
// = even k), zero for rows past m and for k past the depth. `a` is input 0.
using RowBlockPacker = std::function<void(const TensorView& a, int64_t block, int32_t* dst)>;

struct WeightGemmShape {
  int64_t m = 0, k = 0, n = 0;      // A rows (all batches), depth, output features
  bool weights_transposed = false;  // W stored [N, K]
  // Optional: W[k][n]'s element index in the weights when they are not a
  // plain [K, N] / [N, K] matrix (a convolution filter).
  std::function<int64_t(int64_t k, int64_t n)> weight_index;
  // Optional: how A's rows are made (default: A is a row-major [M, K] int8
  // matrix); a convolution gathers its im2col rows here.
  RowBlockPacker pack_rows;
  const char* name = "avx2-int8";  // the kernel's name in the plan (its KernelDef's)
  // vpmaddubsw on u8 activations and s8 weights (kernels/u8s8_gemm.h), for
  // weights that satisfy Int8WeightGemmFitsU8S8; plain A only (no pack_rows).
  bool u8s8 = false;
  // 8-bit weights on vpmaddubsw too, computed transposed (Y^T = W^T A^T):
  // the weights are the tile's A, split into a dense part and a remainder
  // (kernels::PackS8A), the activation rows its B's columns; for weights
  // that satisfy Int8WeightGemmSplitsU8S8; plain A only (no pack_rows).
  bool u8s8_split = false;
  // The u8s8 form on AVX-512 VNNI (vpdpbusd, kernels::GemmU8S8WeightsTileVnni):
  // any weights s8 holds (Int8WeightGemmFitsS8), no pair bound. Set with u8s8.
  bool vnni = false;
  // The same weights on AMX tiles (TDPBUSD, kernels::GemmU8S8WeightsTileAmx),
  // the activation rows packed as 16-row tiles per run. Set with u8s8.
  bool amx = false;
};

// True when the step is this kernel's: the caller has checked its own
// geometry into `shape`; `bias_input` is the bias's input index or -1.
bool Int8WeightGemmSupports(const KernelInit& init, const WeightGemmShape& shape, int bias_input);

// The weights' adjacent K pairs all have |w1| + |w2| <= 128 (the 7-bit
// weight policy): the u8s8 form is exact.
bool Int8WeightGemmFitsU8S8(const KernelInit& init, const WeightGemmShape& shape);

// The weights split for vpmaddubsw (every centered value in [-128, 128]) at a
// remainder cost of at most kernels::kU8S8MaxRestSteps: the u8s8_split form
// is taken.
bool Int8WeightGemmSplitsU8S8(const KernelInit& init, const WeightGemmShape& shape);

// Every centered weight lies in [-128, 127]: the VNNI form is exact.
bool Int8WeightGemmFitsS8(const KernelInit& init, const WeightGemmShape& shape);

// The VNNI form's KernelDef functions, shared by MatMul (bias_input -1) and
// FullyConnected (2): `shape_of` is the op's own geometry check.
using WeightGemmShapeOf = bool (*)(const KernelInit& init, WeightGemmShape* shape);
bool SupportsInt8WeightGemmVnni(const KernelInit& init, WeightGemmShapeOf shape_of, int bias_input);
Status MakeInt8WeightGemmVnni(const KernelInit& init, WeightGemmShapeOf shape_of, int bias_input,
                              std::unique_ptr<Kernel>* kernel);
// The AMX form (the same support as the VNNI one).
Status MakeInt8WeightGemmAmx(const KernelInit& init, WeightGemmShapeOf shape_of, int bias_input,
                             std::unique_ptr<Kernel>* kernel);

Status MakeInt8WeightGemm(const KernelInit& init, const WeightGemmShape& shape, int bias_input,
                          std::unique_ptr<Kernel>* kernel);

}  // namespace mixq::ops
