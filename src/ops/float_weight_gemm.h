// The float32 product of activations and constant weights on AVX2 + FMA
// (kernels/sgemm.h), shared by MatMul (constant b) and FullyConnected:
// Y[m][n] = sum_k A[m][k] * W[k][n] (+ bias[n]), then the fused post-ops in
// order, with W packed once per engine into the GEMM's panels. Post-ops
// taken, all applied in the GEMM's store epilogue: kAdd of a same-shape
// FLOAT32 tensor (a residual) or of a per-column one ([N] or [1, ..., 1, N]:
// a MatMul's bias, runtime/fusion/fuse_bias_add.cc), added in float32 as the
// Elementwise step it replaces adds; relu / relu6 / clip / leaky_relu as the
// Activation kernels compute them; gelu_erf / gelu_tanh with the float32
// Activation kernel's vector code (kernels/vector_math.h), so a fused step
// gives the numbers of the separate steps. Not hard_swish nor the float
// chain's scalars. Float sums in another order than the reference's double
// ones: tested against it with a tolerance (ops/<op>/cpu_avx2_f32_test.cc).
#pragma once

#include <memory>

#include "ops/kernel_registry.h"

namespace mixq::ops {

struct FloatWeightGemmShape {
  int64_t m = 0, k = 0, n = 0;      // A rows (batch dims folded in), depth, output columns
  bool weights_transposed = false;  // W stored [N, K]
  int bias_input = -1;              // FullyConnected's bias ([N] or [1, N]), -1: none
};

// True when this kernel computes the step: plain float32 everywhere,
// constant weights, the bias (if any) per output column, post-ops as above. The caller has checked its own geometry
// into `shape`.
bool FloatWeightGemmComputes(const KernelInit& init, const FloatWeightGemmShape& shape);

// True where it is measured faster than oneDNN's gemm (the registry's pick,
// bench/float_gemm_bench.cc): at least one full 6-row tile and one full K
// block of 256. Below that (a vector times the weights, PP-OCR rec's K = 120
// and 240) oneDNN was as fast or faster on AMD Zen 3. Never where
// kernels::OneDnnFloatGemmPays() (Intel CPUs with AVX-512).
bool FloatWeightGemmPreferred(const FloatWeightGemmShape& shape);

// Any step FloatWeightGemmComputes takes (INVALID_ARGUMENT otherwise).
Status MakeFloatWeightGemm(const KernelInit& init, const FloatWeightGemmShape& shape, std::unique_ptr<Kernel>* kernel);

}  // namespace mixq::ops
