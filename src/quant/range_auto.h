// The `auto` range algorithm and the histogram measures behind it and behind
// the build's clipping warning. Both read only a TensorObserver (the
// calibration histogram), so they work on reloaded statistics without running
// the data again (SPEC §3).
#pragma once

#include "mixq/types.h"
#include "quant/observer.h"
#include "quant/range_algorithms.h"

namespace mixq::quant {

// Expected squared error of quantize-dequantize (SPEC §1 with `bits` and
// `symmetric`) of the observed values, with the range `range`, estimated on
// the histogram: every bin's count is spread evenly over the bin, sampled at
// kAutoSubsamples points, each quantized with the exact formula. Rounding
// noise and clipping error both count, so a range that is too wide and one
// that is too narrow are judged on the same scale. 0 for an empty observer.
double HistogramQuantizationMse(const TensorObserver& observer, Range range, int bits, bool symmetric);

// Share (0..1) of the observed finite values outside what `range` can
// represent: [-T, T] with T = max(|min|, |max|) when symmetric, the range
// widened to include 0 otherwise. Values in a bin the edge cuts count in
// proportion to the part of the bin beyond the edge.
double ClippedShare(const TensorObserver& observer, Range range, bool symmetric);

// Share (0..1) of the observed values' energy (sum x^2) that clipping to
// `range` removes: sum over the clipped values of (|x| - edge)^2 / sum x^2,
// on the histogram as above. Unlike ClippedShare it sees that cutting a
// long tail removes few values but much of the signal (a residual add whose
// max |x| 7.35 is clipped to 0.87 loses 0.1 % of its values and most of its
// large ones). 0 for an empty or all-zero observer.
double ClippedEnergyShare(const TensorObserver& observer, Range range, bool symmetric);

// `auto`: computes every candidate (linear, eqnm when symmetric, entropy,
// percentile with options.percentile) and keeps the one with the smallest
// HistogramQuantizationMse; ties go to the earlier candidate in that order.
// *chosen (may be null) names the winner.
Status AutoRange(const TensorObserver& observer, const RangeOptions& options, Range* out, RangeAlgorithm* chosen);

}  // namespace mixq::quant
