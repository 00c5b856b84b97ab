// The float32 product of activations and constant weights on AVX2 + FMA
// (kernels/sgemm.h), shared by MatMul (constant b) and FullyConnected:
// Y[m][n] = sum_k A[m][k] * W[k][n] (+ bias[n]) (+ residual addends), with W
// packed once per engine into the GEMM's panels. Fused post-ops taken: only
// kAdd of a same-shape FLOAT32 tensor (added in float32 after the product
// and the bias, as the Elementwise step it replaces adds); the activations
// stay separate steps. Float sums in another order than the reference's
// double ones: tested against it with a tolerance (ops/<op>/cpu_avx2_f32_test.cc).
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
// constant weights, the bias (if any) per output column, post-ops only
// same-shape adds. The caller has checked its own geometry into `shape`.
bool FloatWeightGemmComputes(const KernelInit& init, const FloatWeightGemmShape& shape);

// True where it is measured faster than oneDNN's gemm (the registry's pick,
// bench/float_gemm_bench.cc): at least one full 6-row tile and one full K
// block of 256. Below that (a vector times the weights, PP-OCR rec's K = 120
// and 240) oneDNN was as fast or faster on AMD Zen 3.
bool FloatWeightGemmPreferred(const FloatWeightGemmShape& shape);

// Any step FloatWeightGemmComputes takes (INVALID_ARGUMENT otherwise).
Status MakeFloatWeightGemm(const KernelInit& init, const FloatWeightGemmShape& shape, std::unique_ptr<Kernel>* kernel);

}  // namespace mixq::ops
