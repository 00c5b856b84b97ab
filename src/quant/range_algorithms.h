// Turns calibration statistics (a TensorObserver) into a quantization range,
// the second stage of SPEC §3: linear (min/max), eqnm (minimum expected
// quantization noise), entropy (KL divergence) and percentile.
#pragma once

#include <cstdint>
#include <string>

#include "mixq/types.h"
#include "quant/observer.h"

namespace mixq::quant {

// kAuto picks one of the other four per tensor (quant/range_auto.h).
enum class RangeAlgorithm { kLinear, kEqnm, kEntropy, kPercentile, kAuto };

// "linear", "eqnm", "entropy", "percentile", "auto" (lower case, as in the config).
bool ParseRangeAlgorithm(const std::string& name, RangeAlgorithm* algorithm);
const char* RangeAlgorithmName(RangeAlgorithm algorithm);

struct RangeOptions {
  RangeAlgorithm algorithm = RangeAlgorithm::kLinear;
  int bits = 8;  // SPEC §1 uses 8 and 16; anything in [2, 16] is accepted.
  bool symmetric = true;
  double percentile = 99.99;  // kPercentile and kAuto only; must lie in (0, 100].
};

// Computes the range of the observed tensor.
//
// Clipping algorithms choose a threshold T on |x| and return the observed
// range clipped to it, [max(min, -T), min(max, T)], rather than [-T, T]: a
// symmetric caller takes max(|lo|, |hi|) == T either way, while the clipped
// form keeps one-sided tensors (e.g. after ReLU) one-sided for callers that
// look at the sign. T never exceeds the observed max |x|.
//
//  - linear:     [min, max].
//  - eqnm:       T minimizes, over the histogram bin edges, the expected squared
//                error: rounding noise step^2/12 per value below T (step =
//                T / p) plus clipping error sum(count * (centre - T)^2) over
//                the bins above T. Symmetric only.
//  - entropy:    TensorRT's KL-divergence search over thresholds of the |x|
//                histogram, 2^(bits-1) quantized levels. When the histogram
//                has no more bins than levels (16 bits with 2048 bins) the
//                quantized grid is finer than the histogram, no threshold can
//                be told apart, and T is the full max |x|. With
//                symmetric == false T clips both sides alike.
//  - percentile: symmetric: T = the given percentile of |x|. Asymmetric: the
//                (100 - p)/2 % tail is cut from each side of the signed
//                distribution, independently, so lo and hi may differ.
//  - auto:       the candidate above (eqnm only when symmetric) whose range has
//                the smallest expected quantize-dequantize error on the
//                histogram (AutoRange in quant/range_auto.h).
//
// Errors: INVALID_ARGUMENT for bad options (bits, percentile, eqnm with
// symmetric == false), FAILED_PRECONDITION when nothing finite was observed.
// Data that is all zero gives [0, 0]; the caller applies SPEC §1's degenerate
// scale.
Status ComputeRange(const TensorObserver& observer, const RangeOptions& options, Range* out);

// Mean squared error of symmetric quantize-dequantize of x with range r and
// the given bits (SPEC §1: s = max(|min|, |max|) / p, round half to even,
// clamp to [-p-1, p]; a zero range uses s = 1). 0 for n <= 0. For tests and
// tools that compare algorithms on real data.
double QuantizationMse(const float* x, int64_t n, Range r, int bits);

}  // namespace mixq::quant
