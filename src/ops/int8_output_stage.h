// The output stage of SPEC §1.5 (quant/requantize.h) over a row of int32
// accumulators that share one output channel, vectorized for AVX2 and
// bit-exact with the scalar formula: every operation is the same float32
// operation in the same order (built with -ffp-contract=off, so no
// multiply-add can be contracted), and rounding is the CPU's round half to
// even. Used by the fused int8 kernels, which hand over one channel's row of
// accumulators at a time.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "ops/kernel_registry.h"

namespace mixq::ops {

// One channel's constants. `int_bias` is added to the accumulator as an
// integer (an INT32 bias input), `bias` in float32 (bias_acc of SPEC §1.5).
struct ChannelStage {
  int32_t int_bias = 0;
  float bias = 0.0f;
  float multiplier = 1.0f;  // integer output: s_in * s_w / s_out; float output: s_in * s_w
};

// Integer output: q = clamp(rint((f32(acc + int_bias) + bias) * multiplier + zp), lo, hi),
// lo / hi already narrowed by fused activations (IntegerActivationBounds).
void RequantizeRowToInt8(const int32_t* acc, int64_t n, const ChannelStage& c, int32_t zero_point, int32_t lo,
                         int32_t hi, int8_t* out);
// The same on 8 lanes (AVX2) and on 16 (AVX-512 F + BW + VL), with the same
// float32 operations in the same order: RequantizeRowToInt8 takes the
// widest kernels::BestIsa() allows (MIXQ_MAX_ISA caps it); tests call both.
void RequantizeRowToInt8Avx2(const int32_t* acc, int64_t n, const ChannelStage& c, int32_t zero_point, int32_t lo,
                             int32_t hi, int8_t* out);
void RequantizeRowToInt8Avx512(const int32_t* acc, int64_t n, const ChannelStage& c, int32_t zero_point, int32_t lo,
                               int32_t hi, int8_t* out);

// Float output: y = (f32(acc + int_bias) + bias) * multiplier, then each fused
// post-op in order (activations as ApplyFloatActivation; a residual add reads
// `addends[i]` at element `addend_offset + j`, FLOAT32 or FLOAT16 storage),
// stored as FLOAT32 or FLOAT16.
struct FloatAddend {
  DataType dtype = DataType::FLOAT32;
  const void* data = nullptr;
};
// Post-ops decoded once per kernel: kClip covers relu (0, +inf), relu6 and
// clip; kHardSwish, kMul, kAddScalar are the float chain post-ops of
// kernel_registry.h (a kQuantize post-op is not decoded: the caller runs
// DequantizeQuantizeRowToInt8).
struct StagePostOp {
  enum class Kind { kClip, kLeaky, kAdd, kHardSwish, kMul, kAddScalar };
  Kind kind = Kind::kClip;
  float lo = 0.0f, hi = 0.0f;  // kLeaky: lo is the slope; kMul / kAddScalar: lo is the constant
  int addend = -1;             // kAdd: index into the addends
};
std::vector<StagePostOp> DecodePostOps(const std::vector<PostOp>& post_ops);

// The constants of the AVX-512 rows' shortcut for hard_swish chains
// (hard_swish, optionally a Mul and / or an AddScalar, then a Quantize:
// int8_output_stage_avx512.cc says why it gives the exact codes), planned
// once per kernel run: HardSwishInt16ShortcutFor for symmetric INT16 codes
// (the zero point 0), HardSwishInt8ShortcutFor for INT8 ones (any zero
// point); `applies` is false where the chain, the zero point, the scale or
// a constant does not allow it.
struct HardSwishShortcut {
  bool applies = false, affine = false;
  float k = 0.0f;                  // hard_swish alone: RN(1 / (6 s)); affine: RN(a / 6)
  float b = 0.0f, inverse = 0.0f;  // affine: the shift b and RN(1 / s)
};
HardSwishShortcut HardSwishInt16ShortcutFor(const std::vector<StagePostOp>& post_ops, float scale, int32_t zero_point);
HardSwishShortcut HardSwishInt8ShortcutFor(const std::vector<StagePostOp>& post_ops, float scale);

void DequantizeRow(const int32_t* acc, int64_t n, const ChannelStage& c, const std::vector<StagePostOp>& post_ops,
                   const std::vector<FloatAddend>& addends, int64_t addend_offset, DataType out_type, void* out,
                   int64_t out_offset);

// The float output above, then quantized as a Quantize step quantizes:
// q = clamp(rint(y / scale) + zero_point) to int8, NaN -> zero_point (a
// fused Quantize post-op: float chain post-ops between an int8 convolution
// and the next quantized operator, with no float tensor in between).
// `shortcut`: HardSwishInt8ShortcutFor(post_ops, scale), planned by the
// caller (nullptr: planned here, per call).
void DequantizeQuantizeRowToInt8(const int32_t* acc, int64_t n, const ChannelStage& c,
                                 const std::vector<StagePostOp>& post_ops, const std::vector<FloatAddend>& addends,
                                 int64_t addend_offset, float scale, int32_t zero_point, int8_t* out,
                                 const HardSwishShortcut* shortcut = nullptr);
// Its two forms (the dispatcher above picks the widest this CPU runs; the
// AVX-512 one needs F, BW and VL: Isa::kAvx512).
void DequantizeQuantizeRowToInt8Avx2(const int32_t* acc, int64_t n, const ChannelStage& c,
                                     const std::vector<StagePostOp>& post_ops, const std::vector<FloatAddend>& addends,
                                     int64_t addend_offset, float scale, int32_t zero_point, int8_t* out,
                                     const HardSwishShortcut* shortcut = nullptr);
void DequantizeQuantizeRowToInt8Avx512(const int32_t* acc, int64_t n, const ChannelStage& c,
                                       const std::vector<StagePostOp>& post_ops,
                                       const std::vector<FloatAddend>& addends, int64_t addend_offset, float scale,
                                       int32_t zero_point, int8_t* out, const HardSwishShortcut* shortcut = nullptr);

// The same two forms along a row whose columns are output channels (a GEMM
// against per-column weights): column j uses int_bias[j] (may be null: 0),
// bias[j] and multiplier[j]. `finite`: every constant is finite (else the
// scalar formula runs). DequantizeColumns' `column_add` (may be null): a
// value per column added in float32 right after the dequantization, before
// the post-ops (a fused Linear bias: what the separate Add step computes).
void RequantizeColumnsToInt8(const int32_t* acc, int64_t n, const int32_t* int_bias, const float* bias,
                             const float* multiplier, bool finite, int32_t zero_point, int32_t lo, int32_t hi,
                             int8_t* out);
void DequantizeColumns(const int32_t* acc, int64_t n, const int32_t* int_bias, const float* bias,
                       const float* multiplier, bool finite, const std::vector<StagePostOp>& post_ops,
                       const std::vector<FloatAddend>& addends, int64_t addend_offset, DataType out_type, void* out,
                       int64_t out_offset, const float* column_add = nullptr);

// The same two row forms over int64 accumulators (the exact int16 kernels):
// f32(acc + int_bias) is converted per element (as the reference's
// int64 -> float32), the rest is the vector arithmetic above. Integer output
// is INT16.
void RequantizeRow64ToInt16(const int64_t* acc, int64_t n, const ChannelStage& c, int32_t zero_point, int32_t lo,
                            int32_t hi, int16_t* out);
// Its AVX2 (8 lanes) and AVX-512 F (16 lanes) forms, the same operations in
// the same order; RequantizeRow64ToInt16 takes the widest this CPU runs
// (MIXQ_MAX_ISA caps it), tests call both.
void RequantizeRow64ToInt16Avx2(const int64_t* acc, int64_t n, const ChannelStage& c, int32_t zero_point, int32_t lo,
                                int32_t hi, int16_t* out);
void RequantizeRow64ToInt16Avx512(const int64_t* acc, int64_t n, const ChannelStage& c, int32_t zero_point, int32_t lo,
                                  int32_t hi, int16_t* out);
void DequantizeRow64(const int64_t* acc, int64_t n, const ChannelStage& c, const std::vector<StagePostOp>& post_ops,
                     const std::vector<FloatAddend>& addends, int64_t addend_offset, DataType out_type, void* out,
                     int64_t out_offset);
// DequantizeRow64's float32 values quantized as a Quantize step into INT16
// (a fused Quantize, the last post-op): DequantizeQuantizeRowToInt8's form.
// `shortcut`: HardSwishInt16ShortcutFor(post_ops, scale, zero_point),
// planned by the caller (nullptr: planned here, per call).
void DequantizeQuantizeRow64ToInt16(const int64_t* acc, int64_t n, const ChannelStage& c,
                                    const std::vector<StagePostOp>& post_ops, const std::vector<FloatAddend>& addends,
                                    int64_t addend_offset, float scale, int32_t zero_point, int16_t* out,
                                    const HardSwishShortcut* shortcut = nullptr);
// Their two forms each (the dispatchers above take the widest this CPU runs;
// the AVX-512 ones need F, BW and VL: Isa::kAvx512); tests call every form.
void DequantizeRow64Avx2(const int64_t* acc, int64_t n, const ChannelStage& c, const std::vector<StagePostOp>& post_ops,
                         const std::vector<FloatAddend>& addends, int64_t addend_offset, DataType out_type, void* out,
                         int64_t out_offset);
void DequantizeRow64Avx512(const int64_t* acc, int64_t n, const ChannelStage& c,
                           const std::vector<StagePostOp>& post_ops, const std::vector<FloatAddend>& addends,
                           int64_t addend_offset, DataType out_type, void* out, int64_t out_offset);
void DequantizeQuantizeRow64ToInt16Avx2(const int64_t* acc, int64_t n, const ChannelStage& c,
                                        const std::vector<StagePostOp>& post_ops,
                                        const std::vector<FloatAddend>& addends, int64_t addend_offset, float scale,
                                        int32_t zero_point, int16_t* out);
void DequantizeQuantizeRow64ToInt16Avx512(const int64_t* acc, int64_t n, const ChannelStage& c,
                                          const std::vector<StagePostOp>& post_ops,
                                          const std::vector<FloatAddend>& addends, int64_t addend_offset, float scale,
                                          int32_t zero_point, int16_t* out,
                                          const HardSwishShortcut* shortcut = nullptr);

// The AVX-512 forms of DequantizeRow64 / DequantizeQuantizeRow64ToInt16 for
// accumulators held as doubles, each an exact integer below 2^51 (the int16
// depthwise kernel's double FMA sums): the int64 round trip skipped, the
// same bits. The last n % 16 through the AVX2 forms.
void DequantizeRowF64Avx512(const double* sums, int64_t n, const ChannelStage& c,
                            const std::vector<StagePostOp>& post_ops, const std::vector<FloatAddend>& addends,
                            int64_t addend_offset, DataType out_type, void* out, int64_t out_offset);
void DequantizeQuantizeRowF64ToInt16Avx512(const double* sums, int64_t n, const ChannelStage& c,
                                           const std::vector<StagePostOp>& post_ops,
                                           const std::vector<FloatAddend>& addends, int64_t addend_offset, float scale,
                                           int32_t zero_point, int16_t* out,
                                           const HardSwishShortcut* shortcut = nullptr);
// DequantizeQuantizeRowF64ToInt16Avx512 for `rows` channels at once where
// `shortcut` applies (the chain has no addends): row r's sums at sums + r *
// ld_sums, its constants c[r], its n codes at out + r * ld_out. One call for
// a block's rows: with PP-OCRv4 rec's 64-pixel blocks the per-call setup had
// cost about as much as a row's chain.
void DequantizeQuantizeRowsF64ToInt16Avx512(const double* sums, int64_t ld_sums, int64_t rows, int64_t n,
                                            const ChannelStage* c, const std::vector<StagePostOp>& post_ops,
                                            float scale, int16_t* out, int64_t ld_out,
                                            const HardSwishShortcut& shortcut);
// n such sums as int64.
void SumsToInt64Avx512(const double* sums, int64_t n, int64_t* acc);

// RequantizeRow64ToInt16 and DequantizeRow64 (no post-ops) along a row
// whose columns are output channels (a GEMM against per-column int16
// weights): column j uses bias[j] and multiplier[j], int bias 0. `finite`:
// every constant is finite (else the scalar formula runs). AVX2.
void RequantizeColumns64ToInt16(const int64_t* acc, int64_t n, const float* bias, const float* multiplier, bool finite,
                                int32_t zero_point, int32_t lo, int32_t hi, int16_t* out);
void DequantizeColumns64(const int64_t* acc, int64_t n, const float* bias, const float* multiplier, bool finite,
                         DataType out_type, void* out, int64_t out_offset);

// Element e of a FLOAT32 / FLOAT16 / BFLOAT16 tensor (a bias input) as float.
float LoadReal(DataType type, const void* data, int64_t e);

// The largest |value| of input `bias_input` when it is consumed as an INT32
// constant (0 when it is absent or not INT32; -1 when INT32 but not a
// constant): what the fused kernels add to their int32 sums.
int64_t MaxAbsIntBias(const KernelInit& init, int bias_input);

// True when the vector row functions compute exactly the scalar formula for
// these constants (finite ones); kernels use the scalar reference otherwise.
// Inline: the row functions ask once per (often short) row.
inline bool StageIsFinite(const ChannelStage& c) {
  return std::isfinite(c.bias) && std::isfinite(c.multiplier);
}

}  // namespace mixq::ops
