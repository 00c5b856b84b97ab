// The end of a float16-storage step whose float32 result comes from a
// library (oneDNN's convolution): each value rounded to float16 at the
// operator boundary, then the fused post-ops in order, each one rounded
// again, as the separate Activation / Elementwise steps it replaces would
// have rounded their outputs (SPEC §5): bit-identical with those steps.
// Values are rounded only where the step's output is FLOAT16 storage.
#pragma once

#include <utility>
#include <vector>

#include "kernels/cpu_features.h"
#include "ops/half_chain.h"
#include "ops/kernel_registry.h"

namespace mixq::ops {

class HalfOutputStage {
 public:
  // True for post-ops the stage applies: activations (relu, relu6, clip,
  // leaky_relu, and hard_swish and the smooth ones such as gelu_erf, which
  // the fusion rules propose only to float16-storage steps), adds of a same-shaped FLOAT32 or FLOAT16 tensor,
  // and products / sums with a scalar constant (kScalar).
  static bool Supports(const KernelInit& init);
  // From a supported init: its post-ops and storage types. `isa`: the
  // vector width of the hard_swish pass (kAvx512 where the CPU has it, the
  // fastest; tests force either form).
  explicit HalfOutputStage(const KernelInit& init, kernels::Isa isa = kernels::BestIsa());

  // y[0..n): the float32 results for output elements [offset, offset + n),
  // written to `out` after rounding and post-ops; `in` are the step's inputs
  // (the addends among them). Safe to call concurrently on disjoint ranges.
  void Apply(const float* y, int64_t n, int64_t offset, const std::vector<TensorView>& in, const TensorView& out) const;
  // Apply for sums that first take the op's own `bias` (float32 adds; null:
  // none) and then a fused bias add's `column_bias` (null: none), added in
  // float32 to the sums' float16 rounding in the Add step's operand order
  // (`column_bias_first`: column_bias + sums): the float16-weight GEMM's
  // row ends. Where the stage runs in registers (a table, a chain) the
  // biases are added there too, one load and one store per value: as
  // passes of their own on each row's 48 or 64 values they took 0.7 ms of
  // BERT-base force_float16's 768 -> 3072 product (Intel Xeon). `y` (n
  // values) may be overwritten.
  void ApplyBiased(float* y, int64_t n, int64_t offset, const float* bias, const float* column_bias,
                   bool column_bias_first, const std::vector<TensorView>& in, const TensorView& out) const;
  // True when the post-ops run as one 65536-entry table (table_ below).
  bool Tabulated() const { return !table_.empty(); }
  // True when Apply runs the chain's multiplies, adds and clamps in float16
  // arithmetic (HalfChainFp16; kernels::Float16ArithmeticPays).
  bool RunsFloat16Arithmetic() const { return fp16_chain_; }
  // That table, or null: Apply's result for y is table[h], h the float16
  // bits of y (rounded to nearest even), so a kernel may look its registers
  // up itself (two spare entries keep a 32-bit gather of entry h inside).
  const uint16_t* LookUpTable() const { return table_.empty() ? nullptr : table_.data(); }
  // True when the output is float16 storage and every post-op is a clamp
  // (none at all included): then min(max(y, lo), hi) for each (lo, hi) of
  // `clamps` in order, in that operand order, and one rounding to float16
  // give Apply's result, so a kernel may store its registers that way.
  bool ClampsThenRound(std::vector<std::pair<float, float>>* clamps) const {
    if (!rounding_commutes_) return false;
    clamps->clear();
    for (const Op& op : ops_) clamps->emplace_back(op.lo, op.hi);
    return true;
  }

 private:
  struct Op {
    bool add = false;
    bool leaky = false;
    bool hard_swish = false;  // float(x * clamp(x / 6 + 0.5, 0, 1)) in double, as the Activation kernels
    // sigmoid, tanh, silu, gelu_erf, gelu_tanh: the float32 Activation
    // kernel's loop (ops/activation/smooth_loop.h), bit for bit.
    void (*smooth)(const float*, float*, int64_t) = nullptr;
    bool scalar_mul = false;     // x * c (kScalar "mul"), c = lo
    bool scalar_add = false;     // x + c (kScalar "add"), c = lo
    float lo = 0.0f, hi = 0.0f;  // clip bounds (relu: 0, inf; relu6: 0, 6); leaky: lo = slope
    int input = -1;              // add: the addend's input index
    bool input_half = false;
    bool add_first = false;  // addend + y: with two NaNs, x86 keeps the first operand's payload
    bool IsClamp() const { return !add && !hard_swish && !smooth && !leaky && !scalar_mul && !scalar_add; }
  };
  std::vector<Op> ops_;
  bool out_half_ = false;
  bool avx512_ = false;
  // Float16 output and clamps only: one rounding, at the store (Apply says why).
  bool rounding_commutes_ = false;
  HalfChain clamp_chain_;  // those clamps as a chain of kClamp (ApplyBiased's register form)
  // Float16 output and post-ops that do not all commute with the rounding
  // (unary ones and residual adds): the chain runs with each vector in
  // registers (Chain512 / 256), bit for bit the op-by-op passes.
  bool chained_ = false;
  HalfChain chain_;
  // The chain runs in float16 arithmetic where it has ops that can
  // (kernels::Float16ArithmeticPays, HalfChainFp16).
  bool fp16_chain_ = false;
  // Float16 output and unary post-ops that do not commute with the rounding
  // (hard_swish, scalars, leaky_relu): the chain's input is the float16
  // rounding of the convolution, so the whole chain is a function of those
  // 16 bits, tabulated once by the chunked passes themselves (table_[h], two
  // spare entries for the 32-bit gathers). Empty: computed pass by pass.
  std::vector<uint16_t> table_;
  void ApplyTable(const float* y, int64_t n, uint16_t* out) const;
  ChainAddends AddendsAt(const std::vector<TensorView>& in, int64_t offset) const;
};

}  // namespace mixq::ops
