// Requantization (SPEC §1.5): the ONE formula by which a quantized operator
// turns its integer accumulator into its output, float or integer. Every
// kernel, reference or optimized, computes exactly this; docs/precision.md
// states it and tests/python/quant_oracle.py re-implements it in NumPy.
//
// The formula is chosen so that SIMD kernels and oneDNN's int8 primitives
// compute it natively, with float32 operations in a fixed order:
//
//   v = float32(acc) + bias_acc[c]        (bias in accumulator units)
//   float output:   y = v * scale[c]                         scale = s_in * s_w[c]
//   integer output: q = clamp(rint(v * multiplier[c] + z_out), n, p)
//                                         multiplier = s_in * s_w[c] / s_out
//
// each operation rounded to float32 (no fused multiply-add), rint rounding
// half to even. Per-channel constants are computed once in double and rounded
// once to float32: scale = f32(s_in * s_w[c] * alpha), multiplier =
// f32(s_in * s_w[c] * alpha / s_out), bias_acc = f32(beta * bias / (alpha * s_in * s_w[c]))
// (alpha = beta = 1 except for Gemm). Adding z_out before rounding (not
// after) is what oneDNN's destination zero point does.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "quant/quant_math.h"

namespace mixq::quant {

// Per-channel constants of the output stage, in double as the spec says.
inline float AccumulatorScale(double input_scale, double weight_scale, double alpha = 1.0) {
  return static_cast<float>(input_scale * weight_scale * alpha);
}
inline float RequantMultiplier(double input_scale, double weight_scale, double output_scale, double alpha = 1.0) {
  return static_cast<float>(input_scale * weight_scale * alpha / output_scale);
}
inline float BiasInAccumulatorUnits(double bias, double input_scale, double weight_scale, double alpha = 1.0,
                                    double beta = 1.0) {
  const double unit = input_scale * weight_scale * alpha;
  return static_cast<float>(beta * bias / unit);
}

// float32(acc) + bias_acc. int64 accumulators (int16 paths) round to float32
// like a cvtsi2ss; int32 ones like a cvtdq2ps.
inline float AccumulatorValue(int64_t acc, float bias_acc) {
  return static_cast<float>(acc) + bias_acc;
}

inline float DequantizeOutput(int64_t acc, float bias_acc, float scale) {
  return AccumulatorValue(acc, bias_acc) * scale;
}

// Saturating round half to even of an already offset value: clamping in float
// first keeps the conversion defined; NaN (a NaN bias) gives the zero point.
inline int32_t SaturateRound(float v, int32_t zero_point, int bits) {
  if (std::isnan(v)) return zero_point;
  const float lo = static_cast<float>(QMin(bits)), hi = static_cast<float>(QMax(bits));
  return RoundHalfToEven(std::min(std::max(v, lo), hi));
}

inline int32_t RequantizeOutput(int64_t acc, float bias_acc, float multiplier, int32_t zero_point, int bits) {
  const float v = AccumulatorValue(acc, bias_acc) * multiplier;
  return SaturateRound(v + static_cast<float>(zero_point), zero_point, bits);
}

}  // namespace mixq::quant
