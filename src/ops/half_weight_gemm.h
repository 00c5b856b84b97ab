// Products of activation rows and constant weights kept as float16, on
// float16 storage (or all float32), shared by FullyConnected ("avx2-f16-gemv",
// "avx512-f16-gemv" and their float32 twins, batch 1 to 4) and MatMul with a
// constant b ("avx2-f16-gemm", "avx512-f16-gemm", any number of rows).
//
// Why: a float16 step's weights are float16 values (constants consumed in
// float16 are rounded when the plan is made), yet the generic float16 path
// runs the float32 kernel on float32 copies of them, between Cast steps or
// widened copies outside the arena. Kept as float16 they are half the bytes
// streamed (SPEC §6); the rows are widened once per call and the output is
// rounded from the kernel's own sums, so the step needs no float32 tensor in
// the arena (PP-OCRv4 rec's 40 x 6625 head held a 1.06 MB float32 output
// there, three quarters of force_float16's activation memory).
//
// How: the weights are packed in groups of three vectors of output columns,
// [group][k][3 vectors of lanes], one contiguous stream per group (columns
// past N zero). Each thread takes whole groups (or its own rows); for each
// block of up to eight rows (AVX-512; four on AVX2, whose 16 registers hold
// 4 x 3 accumulators), the group's three weight vectors at each k are loaded
// (widened with F16C) and multiplied into the rows' accumulators, the k-th
// value of each row broadcast. The sums plus the op's own bias (FullyConnected's) go to
// the output stage (ops/half_output_stage.h), which rounds to float16 and
// applies the fused post-ops as the separate steps would.
//
// A MatMul's bias add fused on float16 storage (runtime/fusion/fuse_bias_add.cc)
// is the first post-op, a constant FLOAT32 [N] or [1, ..., 1, N]: the sums are
// rounded to float16 (the MatMul's output), the bias added in float32, and the
// output stage rounds that (the Add's output) before the post-ops after it.
//
// Accuracy: float32 products of the same float16 values, summed in float32
// in k order from zero, then the bias: within one float16 step of the
// reference's result, as the float32 kernels' differently ordered sums are
// (tests: ops/fully_connected/cpu_half_gemv_test.cc,
// ops/matmul/cpu_half_gemm_test.cc). A row's sums do not depend on the rows
// or threads around it.
#pragma once

#include <memory>
#include <vector>

#include "ops/kernel_registry.h"

namespace mixq::ops {

class HalfOutputStage;

struct HalfWeightGemmShape {
  int64_t m = 0, k = 0, n = 0;      // rows (batch dims folded in), depth, output columns
  bool weights_transposed = false;  // W stored [N, K] rather than [K, N]
  int bias_input = -1;              // the op's own bias (FullyConnected's input 2), -1: none
};

// True when the kernel computes the step: input 0 and output 0 plain,
// float16 storage both (`half`, with float16 weights) or everything plain
// float32; constant float32 weights of K x N values; the op's bias (if any)
// N constant float32 values; post-ops the output stage takes, after a
// column bias add (float16 only). The caller has checked its own geometry
// into `shape` (and that input 0 holds M x K values in row order).
bool HalfWeightGemmComputes(const KernelInit& init, const HalfWeightGemmShape& shape, bool half);

// The first post-op when it is a float16 step's fused bias add (+ a
// constant FLOAT32 value per output column, rounded as the separate Add
// step rounds), or null; and the post-ops after it (all of them without
// one), which the output stage applies. `half`: float16 storage (the bias
// add fuses only there).
const PostOp* ColumnBiasOp(const KernelInit& init, bool half);
std::vector<PostOp> StagePostOps(const KernelInit& init, bool half);

// The end of a float16 MatMul whose float32 product a GEMM of its own
// wrote ("onednn-f16", "amx-f16-gemm"): each row through
// HalfOutputStage::ApplyBiased, the fused column bias (ColumnBiasOp, copied
// at construction) and the post-ops after it (StagePostOps).
class HalfGemmRowStage {
 public:
  HalfGemmRowStage(const KernelInit& init, int64_t n);
  ~HalfGemmRowStage();
  // The column bias's input slot (the kernel need not read it), or -1.
  int column_bias_input() const { return column_bias_input_; }
  // `m` rows of `n` floats at product (overwritten) into the output.
  void Apply(float* product, int64_t m, int64_t n, const std::vector<TensorView>& in, const TensorView& out) const;

 private:
  int column_bias_input_ = -1;
  bool column_bias_first_ = false;
  std::vector<float> column_bias_;
  std::unique_ptr<HalfOutputStage> stage_;
};

// A kernel for a step HalfWeightGemmComputes takes: `avx512` picks the
// 16-lane form (else 8 lanes, AVX2), `name` is the registered name.
Status MakeHalfWeightGemm(const KernelInit& init, const HalfWeightGemmShape& shape, bool half, bool avx512,
                          const char* name, std::unique_ptr<Kernel>* kernel);

}  // namespace mixq::ops
