#include "quant/range_auto.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/status_util.h"

namespace mixq::quant {

namespace {

// Points per histogram bin. The grid of a narrow range can be finer than the
// histogram (2048 bins, 127 levels: a 16x clipped range puts ~1 level per
// bin), so one point per bin would measure where the bin centre happens to
// fall rather than the rounding noise; 16 points average it out.
constexpr int kAutoSubsamples = 16;

// The quantization grid of a range, in double: the proxy needs the formula's
// shape (step, zero point, clamp), not float32 bit-exactness.
struct Grid {
  double scale = 1.0;
  double zero_point = 0.0;
  double qmin = 0.0, qmax = 0.0;

  Grid(Range range, int bits, bool symmetric) {
    qmax = std::ldexp(1.0, bits - 1) - 1.0;
    qmin = -qmax - 1.0;
    const double lo = std::min<double>(range.min, 0.0), hi = std::max<double>(range.max, 0.0);
    if (symmetric) {
      scale = std::max(std::fabs(lo), std::fabs(hi)) / qmax;
    } else {
      scale = (hi - lo) / (qmax - qmin);
      if (scale > 0.0) zero_point = std::clamp(qmin - std::nearbyint(lo / scale), qmin, qmax);
    }
    if (!(scale > 0.0) || !std::isfinite(scale)) scale = 1.0, zero_point = 0.0;  // SPEC §1 degenerate range
  }
  double Error(double x) const {
    const double q = std::clamp(std::nearbyint(x / scale) + zero_point, qmin, qmax);
    return x - scale * (q - zero_point);
  }
};

// The clip edges a range gives: [-T, T] when symmetric, the range widened to 0 otherwise.
void ClipEdges(Range range, bool symmetric, double* low_edge, double* high_edge) {
  *low_edge = std::min<double>(range.min, 0.0), *high_edge = std::max<double>(range.max, 0.0);
  if (symmetric) {
    *high_edge = std::max(std::fabs(*low_edge), *high_edge);
    *low_edge = -*high_edge;
  }
}

// Calls visit(x, weight) for kAutoSubsamples points spread evenly over every
// non-empty bin, each carrying its share of the bin's count. Points are held
// inside the observed [min, max]: the last bin may reach past the extremes,
// and a range equal to them must not seem to clip.
template <typename Visit>
void ForEachSubsample(const TensorObserver& observer, Visit&& visit) {
  const double width = observer.bin_width();
  for (int sign : {-1, 1}) {
    const auto& bins = sign < 0 ? observer.negative_bins() : observer.positive_bins();
    for (size_t k = 0; k < bins.size(); ++k) {
      if (bins[k] == 0) continue;
      const double weight = static_cast<double>(bins[k]) / kAutoSubsamples;
      for (int j = 0; j < kAutoSubsamples; ++j)
        visit(std::clamp(sign * (static_cast<double>(k) + (j + 0.5) / kAutoSubsamples) * width,
                         static_cast<double>(observer.min()), static_cast<double>(observer.max())),
              weight);
    }
  }
}

// Part of the bin [low, high) beyond `edge` (0..1).
double FractionAbove(double low, double high, double edge) {
  if (edge <= low) return 1.0;
  if (edge >= high) return 0.0;
  return (high - edge) / (high - low);
}

}  // namespace

double HistogramQuantizationMse(const TensorObserver& observer, Range range, int bits, bool symmetric) {
  if (observer.empty()) return 0.0;
  const Grid grid(range, bits, symmetric);
  double sum = 0.0;
  ForEachSubsample(observer, [&](double x, double weight) {
    const double e = grid.Error(x);
    sum += weight * e * e;
  });
  return sum / static_cast<double>(observer.count());
}

double ClippedEnergyShare(const TensorObserver& observer, Range range, bool symmetric) {
  double low_edge, high_edge;
  ClipEdges(range, symmetric, &low_edge, &high_edge);
  double energy = 0.0, clipped = 0.0;
  ForEachSubsample(observer, [&](double x, double weight) {
    energy += weight * x * x;
    const double beyond = x > high_edge ? x - high_edge : (x < low_edge ? low_edge - x : 0.0);
    clipped += weight * beyond * beyond;
  });
  return energy > 0.0 ? clipped / energy : 0.0;
}

double ClippedShare(const TensorObserver& observer, Range range, bool symmetric) {
  if (observer.empty()) return 0.0;
  double low_edge, high_edge;
  ClipEdges(range, symmetric, &low_edge, &high_edge);
  const double width = observer.bin_width();
  double clipped = 0.0;
  for (size_t k = 0; k < observer.positive_bins().size(); ++k) {
    const double low = static_cast<double>(k) * width, high = low + width;
    // Bins hold values up to their upper edge only approximately; never count
    // beyond the observed extremes, which the range may equal exactly.
    if (observer.positive_bins()[k] && observer.max() > high_edge)
      clipped += observer.positive_bins()[k] * FractionAbove(low, std::min<double>(high, observer.max()), high_edge);
    if (observer.negative_bins()[k] && observer.min() < low_edge)
      clipped += observer.negative_bins()[k] * FractionAbove(low, std::min<double>(high, -observer.min()), -low_edge);
  }
  return clipped / static_cast<double>(observer.count());
}

Status AutoRange(const TensorObserver& observer, const RangeOptions& options, Range* out, RangeAlgorithm* chosen) {
  if (out == nullptr) return InvalidArgument("auto range: null output");
  double best_error = std::numeric_limits<double>::infinity();
  RangeAlgorithm best = RangeAlgorithm::kLinear;
  for (RangeAlgorithm candidate :
       {RangeAlgorithm::kLinear, RangeAlgorithm::kEqnm, RangeAlgorithm::kEntropy, RangeAlgorithm::kPercentile}) {
    if (candidate == RangeAlgorithm::kEqnm && !options.symmetric) continue;  // eqnm is symmetric only
    RangeOptions one = options;
    one.algorithm = candidate;
    Range range;
    MIXQ_RETURN_IF_ERROR(WithContext(ComputeRange(observer, one, &range),
                                     StrCat("auto range, candidate ", RangeAlgorithmName(candidate))));
    const double error = HistogramQuantizationMse(observer, range, options.bits, options.symmetric);
    if (error < best_error) {
      best_error = error;
      best = candidate;
      *out = range;
    }
  }
  if (chosen) *chosen = best;
  return Status::OK();
}

}  // namespace mixq::quant
