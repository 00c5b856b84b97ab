#include "quant/range_algorithms.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "quant/range_auto.h"
#include "util/status_util.h"

namespace mixq::quant {
namespace {

constexpr int kMinBits = 2;
constexpr int kMaxBits = 16;

double MaxPositive(int bits) {
  return static_cast<double>((int64_t{1} << (bits - 1)) - 1);
}

// The observed range clipped to ±t (see the header for why not [-t, t]).
Range ClipToThreshold(const TensorObserver& observer, double t) {
  const float threshold = static_cast<float>(std::min(t, static_cast<double>(observer.max_abs())));
  return Range{std::max(observer.min(), -threshold), std::min(observer.max(), threshold)};
}

// Value below which `fraction` of the |x| histogram lies, interpolating
// linearly inside the bin where the cumulative count crosses it.
double AbsQuantile(const std::vector<uint64_t>& bins, double width, double fraction) {
  double total = 0.0;
  for (uint64_t b : bins) total += static_cast<double>(b);
  const double target = fraction * total;
  double cumulative = 0.0;
  for (size_t k = 0; k < bins.size(); ++k) {
    if (bins[k] == 0) continue;
    const double next = cumulative + static_cast<double>(bins[k]);
    if (next >= target) {
      const double inside = std::clamp((target - cumulative) / static_cast<double>(bins[k]), 0.0, 1.0);
      return (static_cast<double>(k) + inside) * width;
    }
    cumulative = next;
  }
  return static_cast<double>(bins.size()) * width;
}

// Quantile of the signed distribution: the negative histogram read from its
// largest magnitude down (most negative values first), then the non-negative
// histogram upwards. Each bin spans one bin width, interpolated linearly.
double SignedQuantile(const TensorObserver& observer, double fraction) {
  const auto& negative = observer.negative_bins();
  const auto& positive = observer.positive_bins();
  const double width = observer.bin_width();
  const double target = fraction * static_cast<double>(observer.count());
  const size_t num_bins = positive.size();
  double cumulative = 0.0;
  // Steps over a bin whose values run from `low` upwards; returns true with
  // *value set when the target falls inside it.
  auto step = [&](uint64_t count, double low, double* value) {
    if (count == 0) return false;
    const double next = cumulative + static_cast<double>(count);
    if (next >= target) {
      const double inside = std::clamp((target - cumulative) / static_cast<double>(count), 0.0, 1.0);
      *value = low + inside * width;
      return true;
    }
    cumulative = next;
    return false;
  };
  double value = 0.0;
  for (size_t k = num_bins; k-- > 0;) {
    if (step(negative[k], -(static_cast<double>(k) + 1.0) * width, &value)) return value;
  }
  for (size_t k = 0; k < num_bins; ++k) {
    if (step(positive[k], static_cast<double>(k) * width, &value)) return value;
  }
  return observer.max();
}

Range PercentileRange(const TensorObserver& observer, const RangeOptions& options) {
  if (options.symmetric) {
    const double t = AbsQuantile(observer.AbsBins(), observer.bin_width(), options.percentile / 100.0);
    return ClipToThreshold(observer, t);
  }
  // Cut half of the excluded mass from each tail, as ONNX Runtime does, so a
  // skewed tensor keeps its own low and high ends.
  const double tail = (100.0 - options.percentile) / 200.0;
  const double lo = SignedQuantile(observer, tail);
  const double hi = SignedQuantile(observer, 1.0 - tail);
  const float min = observer.min();
  const float max = observer.max();
  Range range{std::clamp(static_cast<float>(lo), min, max), std::clamp(static_cast<float>(hi), min, max)};
  if (range.min > range.max) range.min = range.max;  // Rounding guard; unreachable in exact arithmetic.
  return range;
}

// Minimizes rounding noise + clipping error over thresholds at bin edges. The
// noise model (uniform rounding error, step^2/12) is the textbook one; the
// clipping error treats each bin's values as sitting at its centre.
double EqnmThreshold(const TensorObserver& observer, int bits) {
  const std::vector<uint64_t> bins = observer.AbsBins();
  const size_t num_bins = bins.size();
  const double width = observer.bin_width();
  const double max_abs = observer.max_abs();
  const double p = MaxPositive(bits);
  // Suffix sums of count, count*centre and count*centre^2 give each
  // candidate's clipping error sum(c * (centre - T)^2) in O(1).
  std::vector<double> s0(num_bins + 1, 0.0), s1(num_bins + 1, 0.0), s2(num_bins + 1, 0.0);
  for (size_t k = num_bins; k-- > 0;) {
    const double c = static_cast<double>(bins[k]);
    const double centre = (static_cast<double>(k) + 0.5) * width;
    s0[k] = s0[k + 1] + c;
    s1[k] = s1[k + 1] + c * centre;
    s2[k] = s2[k + 1] + c * centre * centre;
  }
  const double total = s0[0];
  double best_t = max_abs;
  double best_error = std::numeric_limits<double>::infinity();
  for (size_t i = 1; i <= num_bins; ++i) {
    const double t = std::min(static_cast<double>(i) * width, max_abs);
    const double step = t / p;
    const double in_range = total - s0[i];
    const double clipping = std::max(0.0, s2[i] - 2.0 * t * s1[i] + t * t * s0[i]);
    const double error = in_range * step * step / 12.0 + clipping;
    if (error < best_error) {
      best_error = error;
      best_t = t;
    }
  }
  return best_t;
}

// KL(P || Q) for one candidate threshold of TensorRT's entropy calibration.
// P: the first `i` bins with every count beyond them folded into bin i-1 (what
// clipping at bin i does). Q: the first `i` bins (without the outliers) merged
// into `levels` groups and spread back evenly over each group's non-empty
// bins, i.e. what the quantized grid can represent. Q gets additive smoothing
// so bins where P has mass but Q none (the folded outliers) cost a large but
// finite penalty instead of log(0).
double CandidateDivergence(const std::vector<uint64_t>& bins, size_t i, size_t levels, double outliers,
                           std::vector<double>* q_scratch) {
  std::vector<double>& q = *q_scratch;
  q.assign(i, 0.0);
  double q_total = 0.0;
  for (size_t g = 0; g < levels; ++g) {
    const size_t start = g * i / levels;
    const size_t stop = (g + 1) * i / levels;
    double sum = 0.0;
    size_t non_empty = 0;
    for (size_t k = start; k < stop; ++k) {
      sum += static_cast<double>(bins[k]);
      non_empty += bins[k] != 0 ? 1 : 0;
    }
    if (non_empty == 0) continue;
    const double share = sum / static_cast<double>(non_empty);
    for (size_t k = start; k < stop; ++k) {
      if (bins[k] != 0) q[k] = share;
    }
    q_total += sum;
  }
  if (q_total == 0.0) return std::numeric_limits<double>::infinity();
  constexpr double kSmoothing = 1e-4;  // In counts, as MXNet's calibration uses.
  const double q_norm = q_total + kSmoothing * static_cast<double>(i);
  const double p_total = q_total + outliers;
  double divergence = 0.0;
  for (size_t k = 0; k < i; ++k) {
    double pk = static_cast<double>(bins[k]);
    if (k + 1 == i) pk += outliers;
    if (pk == 0.0) continue;
    const double p_prob = pk / p_total;
    const double q_prob = (q[k] + kSmoothing) / q_norm;
    divergence += p_prob * std::log(p_prob / q_prob);
  }
  return divergence;
}

double EntropyThreshold(const TensorObserver& observer, int bits) {
  std::vector<uint64_t> bins = observer.AbsBins();
  const size_t num_bins = bins.size();
  const size_t levels = size_t{1} << (bits - 1);
  const double max_abs = observer.max_abs();
  if (num_bins <= levels) return max_abs;  // Histogram coarser than the grid: nothing to choose.
  // Bin 0 holds the exact zeros, a spike of up to half the values after a
  // ReLU. Zero is exact on every grid, so the spike carries no quantization
  // error, yet smearing it over a merged group dominates the divergence and
  // drags the threshold far down (6.5 -> 1.5 on the small ResNet's ReLU
  // outputs, with a 30x larger output error). As NVIDIA's pytorch-quantization
  // does, bin 0 is given its neighbour's count; a smooth distribution barely
  // changes.
  bins[0] = bins[1];
  std::vector<double> outliers_from(num_bins + 1, 0.0);  // outliers_from[i] = sum(bins[i:]).
  for (size_t k = num_bins; k-- > 0;) outliers_from[k] = outliers_from[k + 1] + static_cast<double>(bins[k]);
  std::vector<double> q_scratch;
  size_t best_i = num_bins;
  double best_divergence = std::numeric_limits<double>::infinity();
  for (size_t i = levels; i <= num_bins; ++i) {
    const double divergence = CandidateDivergence(bins, i, levels, outliers_from[i], &q_scratch);
    if (divergence < best_divergence) {
      best_divergence = divergence;
      best_i = i;
    }
  }
  return std::min(static_cast<double>(best_i) * observer.bin_width(), max_abs);
}

Status ValidateOptions(const RangeOptions& options) {
  if (options.bits < kMinBits || options.bits > kMaxBits) {
    return InvalidArgument("range: bits ", options.bits, " outside [", kMinBits, ", ", kMaxBits, "]");
  }
  switch (options.algorithm) {
    case RangeAlgorithm::kLinear:
    case RangeAlgorithm::kEntropy:
      return Status::OK();
    case RangeAlgorithm::kEqnm:
      if (!options.symmetric) return InvalidArgument("eqnm supports symmetric quantization only");
      return Status::OK();
    case RangeAlgorithm::kPercentile:
    case RangeAlgorithm::kAuto:  // percentile is one of its candidates
      // Written so NaN fails too.
      if (!(options.percentile > 0.0 && options.percentile <= 100.0)) {
        return InvalidArgument("percentile ", options.percentile, " outside (0, 100]");
      }
      return Status::OK();
  }
  return InvalidArgument("unknown range algorithm ", static_cast<int>(options.algorithm));
}

}  // namespace

bool ParseRangeAlgorithm(const std::string& name, RangeAlgorithm* algorithm) {
  static constexpr RangeAlgorithm kAll[] = {RangeAlgorithm::kLinear, RangeAlgorithm::kEqnm, RangeAlgorithm::kEntropy,
                                            RangeAlgorithm::kPercentile, RangeAlgorithm::kAuto};
  for (RangeAlgorithm candidate : kAll) {
    if (name == RangeAlgorithmName(candidate)) {
      if (algorithm != nullptr) *algorithm = candidate;
      return true;
    }
  }
  return false;
}

const char* RangeAlgorithmName(RangeAlgorithm algorithm) {
  switch (algorithm) {
    case RangeAlgorithm::kLinear:
      return "linear";
    case RangeAlgorithm::kEqnm:
      return "eqnm";
    case RangeAlgorithm::kEntropy:
      return "entropy";
    case RangeAlgorithm::kPercentile:
      return "percentile";
    case RangeAlgorithm::kAuto:
      return "auto";
  }
  return "unknown";
}

Status ComputeRange(const TensorObserver& observer, const RangeOptions& options, Range* out) {
  if (out == nullptr) return InvalidArgument("range: null output");
  MIXQ_RETURN_IF_ERROR(ValidateOptions(options));
  if (observer.empty()) {
    return FailedPrecondition("range: no data was observed (no finite values; ", observer.nan_count(), " NaN and ",
                              observer.inf_count(), " Inf ignored)");
  }
  if (observer.max_abs() == 0.0f) {  // All zero: degenerate, the caller picks the scale.
    *out = Range{0.0f, 0.0f};
    return Status::OK();
  }
  if (observer.ranges_only() && options.algorithm != RangeAlgorithm::kLinear)
    return FailedPrecondition("range: algorithm ", RangeAlgorithmName(options.algorithm),
                              " needs a histogram, and these statistics hold ranges only (calibrated with 0 "
                              "histogram bins, for linear): calibrate again with bins (SetHistogramBins)");
  switch (options.algorithm) {
    case RangeAlgorithm::kLinear:
      *out = Range{observer.min(), observer.max()};
      break;
    case RangeAlgorithm::kEqnm:
      *out = ClipToThreshold(observer, EqnmThreshold(observer, options.bits));
      break;
    case RangeAlgorithm::kEntropy:
      *out = ClipToThreshold(observer, EntropyThreshold(observer, options.bits));
      break;
    case RangeAlgorithm::kPercentile:
      *out = PercentileRange(observer, options);
      break;
    case RangeAlgorithm::kAuto:
      return AutoRange(observer, options, out, nullptr);
  }
  return Status::OK();
}

double QuantizationMse(const float* x, int64_t n, Range r, int bits) {
  if (x == nullptr || n <= 0) return 0.0;
  if (bits < kMinBits || bits > kMaxBits) return std::numeric_limits<double>::quiet_NaN();
  const double p = MaxPositive(bits);
  double scale = std::max(std::fabs(static_cast<double>(r.min)), std::fabs(static_cast<double>(r.max))) / p;
  if (!(scale > 0.0) || !std::isfinite(scale)) scale = 1.0;  // SPEC §1 degenerate range.
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    // nearbyint rounds half to even under the default rounding mode.
    const double q = std::clamp(std::nearbyint(v / scale), -p - 1.0, p);
    const double error = v - q * scale;
    sum += error * error;
  }
  return sum / static_cast<double>(n);
}

}  // namespace mixq::quant
