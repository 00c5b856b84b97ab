// What the fused AVX2 int8 Conv2D kernels (avx2-int8, avx2-int8-dw) share:
// the cases they take and the output stage of SPEC §1.5 per output channel
// (ops/int8_output_stage.h), with constants computed as reference-quantized
// computes them.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "kernels/int16_requant.h"
#include "ops/conv2d/conv_params.h"
#include "ops/int8_output_stage.h"
#include "ops/kernel_registry.h"

namespace mixq::ops {

// INT8 activations (NCHW; NHWC too when `nhwc_too`) and constant INT8
// weights, INT8 / FLOAT32 / FLOAT16 output, float or INT32 bias, float
// residual addends, and sums that are exact in int32 (K * 255 * 255 + |int
// bias| < 2^31). Fills `g`.
bool FusedInt8ConvSupports(const KernelInit& init, ConvGeometry* g, bool nhwc_too = false);

// NHWC inputs with up to this many channels per group run in avx2-int8
// (through NCHW planes); above it avx2-int8-nhwc's contiguous per-pixel
// gathers are cheaper than the transposes. On the bundled demo's 3- and
// 8-channel layers the planes path took 0.19 -> 0.0x ms per inference.
constexpr int64_t kNhwcPlanesMaxChannels = 64;

// The same checks without the geometry and the layouts (for ConvTranspose2D
// too): inputs, weight scales per output channel, output, bias and addend
// types.
// *int_bias: the largest |INT32 bias|, for the caller's exactness bound.
bool FusedInt8StageSupports(const KernelInit& init, int64_t out_channels, int64_t* int_bias);

// The int16 form (avx2-int16 fused, int64 sums): symmetric QINT16 operands,
// constant weights, INT16 / FLOAT32 / FLOAT16 output; NCHW or NHWC. No float
// chain post-ops (those run on the int32 rows of the int8 form only).
bool FusedInt16ConvSupports(const KernelInit& init, ConvGeometry* g);
// The int16 form of FusedInt8StageSupports: symmetric int16 operands (zero
// points 0), constant weights with a scale per output channel or one, an
// INT16 / FLOAT32 / FLOAT16 output, stage inputs the stage takes.
bool FusedInt16StageSupports(const KernelInit& init, int64_t out_channels);

// Weight (row, k) of group `grp` centered (minus its zero point), k = (c * KH
// + kh) * KW + kw: the int8 convolutions' GEMM A. T: the weights' storage.
template <typename T>
int32_t CenteredWeight(const ValueInfo& w, const ConvGeometry& g, const std::array<int64_t, 4>& f_s, int64_t grp,
                       int64_t row, int64_t k) {
  const ir::QuantBinding& wq = *w.quant;
  const int64_t o = grp * (g.out_channels / g.group) + row, c = k / (g.kernel_h * g.kernel_w);
  const int64_t kh = k / g.kernel_w % g.kernel_h, kw = k % g.kernel_w;
  const int32_t zp = wq.zero_points.empty() ? 0 : wq.zero_points[wq.axis >= 0 ? static_cast<size_t>(o) : 0];
  return static_cast<const T*>(w.const_data)[o * f_s[0] + c * f_s[1] + kh * f_s[2] + kw * f_s[3]] - zp;
}

// Group `grp`'s centered int8 weights as an [oc][depth] int16 matrix.
std::vector<int16_t> CenteredFilter(const ValueInfo& w, const ConvGeometry& g, int64_t grp);

class Int8ConvOutputStage {
 public:
  void Init(const KernelInit& init, const ConvGeometry& g);
  // Per run: the input scale may be dynamic, the bias an input.
  void Prepare(const std::vector<TensorView>& in, const TensorView& y);
  // Channel o's accumulators [0, n) -> output elements [at, at + n).
  void Row(int64_t o, const int32_t* acc, int64_t n, int64_t at, const TensorView& y) const;
  // True when Row's result does not depend on `at` beyond where it writes
  // (integer output, no float chain: no addends read by position), so that
  // a caller may run it into a buffer of its own.
  bool PositionFree() const { return int_out_ && !quantize_float_; }
  // The plain int8 requantization (INT8 output, no float chain): the
  // per-channel constants of the last Prepare, and the output's zero point
  // and clamp (RequantizeTileToInt8's arguments); null for other outputs.
  const ChannelStage* PlainInt8(int32_t* zero_point, int32_t* lo, int32_t* hi) const;
  // The same for the INT16 output of int16 operands (RequantizeRow64ToInt16's arguments).
  const ChannelStage* PlainInt16(int32_t* zero_point, int32_t* lo, int32_t* hi) const;
  // PlainInt16 as the per-channel constants of kernels/int16_requant.h
  // (requantization from the registers), empty where there is no plain
  // INT16 output or a channel's constants are not finite.
  std::vector<kernels::Int16Requant> PlainInt16Requant() const;
  // The same from int64 accumulators (int16 operands; integer output INT16).
  void Row(int64_t o, const int64_t* acc, int64_t n, int64_t at, const TensorView& y) const;
  // The same from accumulators held as doubles, each an exact integer below
  // 2^51 (avx512-int16-dw's sums); AVX-512 F, BW and VL only.
  void RowOfSums(int64_t o, const double* sums, int64_t n, int64_t at, const TensorView& y) const;
  void Row(int64_t o, const double* sums, int64_t n, int64_t at, const TensorView& y) const {
    RowOfSums(o, sums, n, at, y);
  }
  // RowOfSums for channels [o, o + rows): channel o + r's sums at sums + r *
  // ld_sums, its outputs from at + r * ld_out. In one call where the
  // hard_swish chain shortcut applies (DequantizeQuantizeRowsF64ToInt16Avx512),
  // a call per row otherwise.
  void RowsOfSums(int64_t o, int64_t rows, const double* sums, int64_t ld_sums, int64_t n, int64_t at, int64_t ld_out,
                  const TensorView& y) const;

 private:
  int64_t channels_ = 0;
  std::vector<float> w_scales_;
  bool has_bias_ = false, int_bias_ = false, round_bias_half_ = false, int_out_ = false;
  bool quantize_float_ = false;  // a fused Quantize post-op: the float output, post-ops, then Quantize
  float out_scale_ = 1.0f;
  HardSwishShortcut shortcut_;  // of a fused Quantize to INT8 / INT16 (Prepare)
  DataType bias_type_ = DataType::FLOAT32, out_type_ = DataType::FLOAT32;
  std::vector<StagePostOp> post_ops_;
  std::vector<PostOp> activations_;
  std::vector<int> addend_inputs_;
  std::vector<FloatAddend> addends_;
  std::vector<ChannelStage> stage_;
  int32_t lo_ = -128, hi_ = 127, zero_point_ = 0;
  int bits_ = 8;  // of an integer output
};

}  // namespace mixq::ops
