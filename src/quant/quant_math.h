// The quantization math of SPEC §1, as the one executable definition that
// quantized kernels, the calibrator, Q/DQ passes and the model reader call.
// Nothing here may be re-derived elsewhere: a second copy of "round(x / s)"
// that rounds differently is exactly the bug mixed precision cannot afford.
//
// Bit-exactness contract (so an independent NumPy float32 implementation
// matches): Quantize divides in float32 (x / s, not x * (1 / s), not in
// double) and rounds half to even; Dequantize is the float32 product s * (q - z).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "mixq/types.h"

namespace mixq::quant {

// Integer range [n, p] of a signed b-bit quantized type. Meaningful for the
// supported widths (IsSupportedBits); the formula is total for 1..31 bits so
// these never invoke UB, but callers validate bits through a Status first.
constexpr int32_t QMin(int bits) {
  return -(int32_t{1} << (bits - 1));
}
constexpr int32_t QMax(int bits) {
  return (int32_t{1} << (bits - 1)) - 1;
}
constexpr bool IsSupportedBits(int bits) {
  return bits == 8 || bits == 16;
}

// How a tensor is quantized, independent of its values.
struct QuantSpec {
  int bits = 8;
  bool symmetric = true;
};

// QuantParams::axis value meaning "one scale for the whole tensor". It is not
// -1 because -1 is a legal per-axis axis (the last one, e.g. MatMul weights
// [K, N] quantized per output column), as in ONNX QuantizeLinear.
inline constexpr int64_t kPerTensor = std::numeric_limits<int64_t>::min();

// Scales and zero points of one quantized tensor. Per-tensor: exactly one
// scale and zero point. Per-axis: one per slice along `axis` (negative counts
// from the end, resolved against the tensor's rank when the tensor is used).
struct QuantParams {
  int bits = 8;
  bool symmetric = true;
  int64_t axis = kPerTensor;
  std::vector<float> scales;
  std::vector<int32_t> zero_points;

  bool per_axis() const { return axis != kPerTensor; }
  size_t channels() const { return scales.size(); }
};

// Checks what can be checked without a shape: supported bits, equal and
// non-zero scale / zero-point counts (exactly 1 when per-tensor), every scale
// finite and > 0, every zero point inside [n, p] and 0 when symmetric.
Status ValidateQuantParams(const QuantParams& params);

// Scale and zero point for a real range (SPEC §1).
//  symmetric:  z = 0, s = max(|min|, |max|) / p.
//  asymmetric: the range is widened to include 0 (so 0 is exact, which zero
//              padding and ReLU outputs rely on), s = (max - min) / (p - n)
//              computed in double and rounded once to float (max - min of
//              two floats can overflow float), z = clamp(n - round(min / s), n, p)
//              with min / s divided in float32 as in Quantize.
// Degenerate range (after widening, max == min, i.e. both 0): s = 1, z = 0.
// Nonzero ranges whose scale would be below FLT_MIN (subnormal or 0) get
// s = FLT_MIN: subnormal scales turn into 0 under flush-to-zero in optimized
// kernels and make 1 / s overflow; FLT_MIN keeps 1 / s finite (~8.5e37) and the
// values of such a range are within FLT_MIN / 2 of 0 anyway.
// Non-finite bounds, min > max or unsupported bits: INVALID_ARGUMENT naming them.
Status ChooseScaleZeroPoint(Range range, int bits, bool symmetric, float* scale, int32_t* zero_point);

// QuantParams from ranges: one range and axis == kPerTensor for per-tensor,
// otherwise one range per channel along `axis` (any int64 but kPerTensor; the
// rank is unknown here). Errors name the index of the offending range.
Status MakeQuantParams(const std::vector<Range>& ranges, int bits, bool symmetric, int64_t axis, QuantParams* out);

// Round half to even, as ONNX QuantizeLinear / np.round / IEEE rint under the
// default mode, but implemented with floor() so it does not depend on the
// thread's floating-point rounding mode (std::rint / nearbyint would).
// Out-of-int32 values saturate to INT32_MIN / INT32_MAX (clamped in float
// first: an out-of-range float -> int conversion is UB). NaN -> 0.
int32_t RoundHalfToEven(float x);

// q = clamp(round(x / scale) + zero_point, n, p), x / scale in float32.
// NaN input -> zero_point (the quantized code of 0.0): NaN has no integer
// code; mapping it to "zero" keeps a stray NaN from saturating to an extreme
// code and mirrors what fused float kernels' max/min-based clamps produce.
// +-inf saturate to p / n. Preconditions: IsSupportedBits(bits), scale > 0.
int32_t Quantize(float x, float scale, int32_t zero_point, int bits);

// x̂ = scale * (q - zero_point). Bit-identical to the float32 product (the
// exact double product rounded once), except that a product beyond the float
// range saturates to +-FLT_MAX instead of becoming inf (this happens only for
// the extreme code of a range spanning nearly all of float).
float Dequantize(int32_t q, float scale, int32_t zero_point);

// Reference requantization of an integer accumulator (sum of q_in * q_w with
// zero points already subtracted): ((double)acc * input_scale) * weight_scale
// in double, in that order, rounded once to float and saturated to +-FLT_MAX.
// Optimized kernels must match this, not an fp32 multiplier of their own.
float DequantizeAccumulator(int64_t acc, float input_scale, float weight_scale);

// Distance between neighbouring representable values of `channel` (0 when
// per-tensor). Inside the range the rounding error per element is at most half of it.
float QuantizationStep(const QuantParams& params, size_t channel);

// Tensor quantization over row-major data. `out` / `q` hold int8_t when
// params.bits == 8 and int16_t when 16. Per-axis: params.axis (negative from
// the end) must lie inside the rank and scales.size() must equal shape[axis].
Status QuantizeTensor(const float* x, const std::vector<int64_t>& shape, const QuantParams& params, void* out);
Status DequantizeTensor(const void* q, const std::vector<int64_t>& shape, const QuantParams& params, float* out);

// Range of the non-NaN values (+-inf are kept: they are real information and
// ChooseScaleZeroPoint rejects them by name). Empty or all-NaN -> {0, 0}.
Range MinMax(const float* x, int64_t n);

// One range per slice along `axis` (negative from the end) of a row-major
// tensor: for weights the output-channel axis, so one range per kernel (all of
// its input channels and taps together), not one per kernel channel.
Status PerAxisMinMax(const float* x, const std::vector<int64_t>& shape, int64_t axis, std::vector<Range>* out);

}  // namespace mixq::quant
