#include "quant/observer.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>

#include "quant/observer_scan.h"
#include "util/status_util.h"

namespace mixq::quant {
namespace {

// Merges pairs of bins in place: after the upper edge doubles, new bin j
// covers exactly old bins 2j and 2j+1, so no count moves to a wrong bin.
void HalveResolution(std::vector<uint64_t>* bins) {
  std::vector<uint64_t>& b = *bins;
  // Destination j/2 < j was already visited and zeroed, so the in-place
  // accumulation never reads a merged count twice.
  for (size_t j = 1; j < b.size(); ++j) {
    const uint64_t moved = b[j];
    b[j] = 0;
    b[j / 2] += moved;
  }
}

// Adds bins laid out over [0, src_edge] into a histogram over [0, dst_edge]
// (dst_edge >= src_edge), each source bin going to the bin holding its centre.
// When dst_edge / src_edge is a power of two the source bins nest in the
// destination bins and the move is exact.
void AddRebinned(const std::vector<uint64_t>& src, double src_edge, double dst_edge, std::vector<uint64_t>* dst) {
  const size_t num_bins = src.size();
  if (src_edge == 0.0 || dst_edge == 0.0) {
    // Only bin 0 (zeros) can be populated under a zero edge.
    for (size_t k = 0; k < num_bins; ++k) (*dst)[0] += src[k];
    return;
  }
  const double src_width = src_edge / static_cast<double>(num_bins);
  const double dst_scale = static_cast<double>(num_bins) / dst_edge;
  for (size_t k = 0; k < num_bins; ++k) {
    if (src[k] == 0) continue;
    const double centre = (static_cast<double>(k) + 0.5) * src_width;
    const size_t index = std::min(static_cast<size_t>(centre * dst_scale), num_bins - 1);
    (*dst)[index] += src[k];
  }
}

uint64_t Total(const std::vector<uint64_t>& bins) {
  uint64_t total = 0;
  for (uint64_t b : bins) total += b;
  return total;
}

}  // namespace

TensorObserver::TensorObserver(int32_t num_bins) {
  const int32_t clamped = std::clamp(num_bins, int32_t{0}, kMaxNumBins);
  negative_bins_.assign(static_cast<size_t>(clamped), 0);
  positive_bins_.assign(static_cast<size_t>(clamped), 0);
}

float TensorObserver::max_abs() const {
  if (empty()) return 0.0f;
  return std::max(std::fabs(min_), std::fabs(max_));
}

std::vector<uint64_t> TensorObserver::AbsBins() const {
  std::vector<uint64_t> bins(positive_bins_);
  for (size_t k = 0; k < bins.size(); ++k) bins[k] += negative_bins_[k];
  return bins;
}

void TensorObserver::GrowEdgeToCover(double max_abs) {
  if (max_abs <= hist_max_abs_) return;
  if (hist_max_abs_ == 0.0) {
    // Only zeros were seen so far; they sit in bin 0 for any edge, so the edge
    // can be the exact maximum, giving the finest grid for this data.
    hist_max_abs_ = max_abs;
    return;
  }
  int doublings = 0;
  while (hist_max_abs_ < max_abs) {  // Terminates: max_abs is finite (a float).
    hist_max_abs_ *= 2.0;
    ++doublings;
  }
  // Past log2(bins) halvings everything is already in bin 0; more are no-ops.
  const int useful = std::min(doublings, 40);
  for (int d = 0; d < useful; ++d) {
    HalveResolution(&negative_bins_);
    HalveResolution(&positive_bins_);
  }
}

void TensorObserver::Observe(const float* x, int64_t n) {
  ObserveInOrder(x, n, nullptr);
}

namespace {

// The first zero of a blocked tensor in plain (n, c, h, w) order; +0.0 if none.
float FirstZeroInPlainOrder(const float* x, const TensorObserver::BlockedOrder& o) {
  const int64_t plane = o.h * o.w;
  for (int64_t n = 0; n < o.n; ++n)
    for (int64_t c = 0; c < o.c; ++c) {
      const float* p = x + ((n * (o.c / o.block) + c / o.block) * plane) * o.block + c % o.block;
      for (int64_t s = 0; s < plane; ++s)
        if (p[s * o.block] == 0.0f) return p[s * o.block];
    }
  return 0.0f;
}

}  // namespace

void TensorObserver::ObserveBlocked(const float* x, const BlockedOrder& order) {
  ObserveInOrder(x, order.n * order.c * order.h * order.w, &order);
}

void TensorObserver::ObserveInOrder(const float* x, int64_t n, const BlockedOrder* blocked) {
  if (x == nullptr || n <= 0) return;
  // Once the edge is set, one pass scans and counts (ScanAndCount), and the
  // counts stand when the batch fits under the edge, as it mostly does after
  // the first sample. Otherwise (and for small batches, where the pass's
  // scratch bins cost more than it saves) a first pass finds the batch range,
  // so that the edge grows at most once per call rather than once per outlier,
  // and a second one counts.
  const bool avx2 = ObserverUsesAvx2();
  const int threads = PassThreads(n);
  const size_t num_bins = positive_bins_.size();
  bool counted = false;
  ValueScan scan;
  if (num_bins == 0)  // ranges only: the scan alone
    scan = ScanValues(x, n, avx2, threads);
  else if (hist_max_abs_ > 0.0 && n >= kMinCountedPerBin * static_cast<int64_t>(num_bins))
    scan = ScanAndCount(x, n, hist_max_abs_, num_bins, negative_bins_.data(), positive_bins_.data(), avx2, threads,
                        &counted);
  else
    scan = ScanValues(x, n, avx2, threads);
  if (blocked && scan.finite > 0 && (scan.lo == 0.0f || scan.hi == 0.0f)) {
    // The scan took the first zero in memory order; the plain tensor's is wanted.
    const float zero = FirstZeroInPlainOrder(x, *blocked);
    if (scan.lo == 0.0f) scan.lo = zero;
    if (scan.hi == 0.0f) scan.hi = zero;
  }
  nan_count_ += scan.nan;
  inf_count_ += scan.inf;
  if (scan.finite == 0) return;
  if (count_ == 0) {
    min_ = scan.lo;
    max_ = scan.hi;
  } else {
    min_ = std::min(min_, scan.lo);
    max_ = std::max(max_, scan.hi);
  }
  count_ += scan.finite;
  if (counted || num_bins == 0) return;
  GrowEdgeToCover(std::max(std::fabs(static_cast<double>(scan.lo)), std::fabs(static_cast<double>(scan.hi))));

  if (hist_max_abs_ == 0.0) {  // Every finite value seen is zero.
    positive_bins_[0] += scan.finite;
    return;
  }
  const double scale = static_cast<double>(num_bins) / hist_max_abs_;
  AddToHistogram(x, n, scale, num_bins, negative_bins_.data(), positive_bins_.data(), avx2, threads);
}

Status TensorObserver::Merge(const TensorObserver& other) {
  if (other.num_bins() != num_bins()) {
    return InvalidArgument("cannot merge observers with different bin counts (", num_bins(), " vs ", other.num_bins(),
                           ")");
  }
  // A copy, so merging an observer into itself reads consistent data.
  const ObserverState o = other.State();
  nan_count_ += o.nan_count;
  inf_count_ += o.inf_count;
  if (o.count == 0) return Status::OK();
  if (count_ == 0) {
    min_ = o.min;
    max_ = o.max;
    count_ = o.count;
    hist_max_abs_ = o.hist_max_abs;
    negative_bins_ = o.negative_bins;
    positive_bins_ = o.positive_bins;
    return Status::OK();
  }
  min_ = std::min(min_, o.min);
  max_ = std::max(max_, o.max);
  count_ += o.count;

  if (o.hist_max_abs > hist_max_abs_) {
    // Move our counts onto the other's coarser grid, then add its bins as is.
    std::vector<uint64_t> negative(negative_bins_.size(), 0);
    std::vector<uint64_t> positive(positive_bins_.size(), 0);
    AddRebinned(negative_bins_, hist_max_abs_, o.hist_max_abs, &negative);
    AddRebinned(positive_bins_, hist_max_abs_, o.hist_max_abs, &positive);
    negative_bins_ = std::move(negative);
    positive_bins_ = std::move(positive);
    hist_max_abs_ = o.hist_max_abs;
    for (size_t k = 0; k < positive_bins_.size(); ++k) {
      negative_bins_[k] += o.negative_bins[k];
      positive_bins_[k] += o.positive_bins[k];
    }
  } else {
    AddRebinned(o.negative_bins, o.hist_max_abs, hist_max_abs_, &negative_bins_);
    AddRebinned(o.positive_bins, o.hist_max_abs, hist_max_abs_, &positive_bins_);
  }
  return Status::OK();
}

ObserverState TensorObserver::State() const {
  ObserverState state;
  state.min = min_;
  state.max = max_;
  state.count = count_;
  state.nan_count = nan_count_;
  state.inf_count = inf_count_;
  state.hist_max_abs = hist_max_abs_;
  state.num_bins = num_bins();
  state.negative_bins = negative_bins_;
  state.positive_bins = positive_bins_;
  return state;
}

Status TensorObserver::FromState(const ObserverState& s, TensorObserver* out) {
  if (out == nullptr) return InvalidArgument("observer state: null output observer");
  if (s.num_bins < 0 || s.num_bins > kMaxNumBins) {
    return InvalidArgument("observer state: bin count ", s.num_bins, " outside [0, ", kMaxNumBins, "]");
  }
  if (s.num_bins == 0 && s.hist_max_abs != 0.0) {
    return InvalidArgument("observer state: ranges only (0 bins) with a histogram edge ", s.hist_max_abs);
  }
  const size_t num_bins = static_cast<size_t>(s.num_bins);
  if (s.negative_bins.size() != num_bins || s.positive_bins.size() != num_bins) {
    return InvalidArgument("observer state: expected ", num_bins, " bins per histogram, got ", s.negative_bins.size(),
                           " negative and ", s.positive_bins.size(), " positive");
  }
  if (!std::isfinite(s.hist_max_abs) || s.hist_max_abs < 0.0) {
    return InvalidArgument("observer state: histogram edge ", s.hist_max_abs, " is not a finite value >= 0");
  }
  // The histogram total must equal count; summed with an overflow check since
  // a corrupted file may hold arbitrary 64-bit counts.
  uint64_t total = 0;
  for (const auto* bins : {&s.negative_bins, &s.positive_bins}) {
    for (uint64_t b : *bins) {
      if (b > std::numeric_limits<uint64_t>::max() - total) {
        return InvalidArgument("observer state: histogram total overflows");
      }
      total += b;
    }
  }
  if (s.num_bins > 0 && total != s.count) {
    return InvalidArgument("observer state: histogram holds ", total, " values but count is ", s.count);
  }
  if (s.count > 0) {
    if (!std::isfinite(s.min) || !std::isfinite(s.max)) {
      return InvalidArgument("observer state: min ", s.min, " / max ", s.max, " not finite");
    }
    if (s.min > s.max) return InvalidArgument("observer state: min ", s.min, " > max ", s.max);
    const double max_abs = std::max(std::fabs(static_cast<double>(s.min)), std::fabs(static_cast<double>(s.max)));
    if (s.num_bins > 0 && max_abs > s.hist_max_abs) {
      return InvalidArgument("observer state: histogram edge ", s.hist_max_abs, " below max |x| ", max_abs);
    }
    // Signs must agree with min/max, else the asymmetric ranges would be wrong.
    if (s.min >= 0.0f && Total(s.negative_bins) != 0) {
      return InvalidArgument("observer state: negative counts but min ", s.min, " >= 0");
    }
    if (s.max < 0.0f && Total(s.positive_bins) != 0) {
      return InvalidArgument("observer state: non-negative counts but max ", s.max, " < 0");
    }
    if (s.hist_max_abs == 0.0) {
      for (size_t k = 1; k < num_bins; ++k) {
        if (s.negative_bins[k] != 0 || s.positive_bins[k] != 0) {
          return InvalidArgument("observer state: zero histogram edge but bin ", k, " is populated");
        }
      }
    }
  }
  TensorObserver observer(s.num_bins);
  observer.min_ = s.count > 0 ? s.min : 0.0f;
  observer.max_ = s.count > 0 ? s.max : 0.0f;
  observer.count_ = s.count;
  observer.nan_count_ = s.nan_count;
  observer.inf_count_ = s.inf_count;
  observer.hist_max_abs_ = s.hist_max_abs;
  observer.negative_bins_ = s.negative_bins;
  observer.positive_bins_ = s.positive_bins;
  *out = std::move(observer);
  return Status::OK();
}

}  // namespace mixq::quant
