// Streaming calibration statistics of one tensor (SPEC §3): min/max, counts and
// a magnitude histogram that later turns into a quantization range
// (range_algorithms.h). Memory is bounded by the bin count, never by the number
// of samples, so calibration over a large data set costs O(bins) per tensor.
#pragma once

#include <cstdint>
#include <vector>

#include "mixq/types.h"

namespace mixq::quant {

// Plain, serializable snapshot of a TensorObserver, what a calibration file
// stores so another range algorithm can be applied without rerunning the data.
//
// Histogram layout: two histograms of |x| sharing the same grid of `num_bins`
// bins of width hist_max_abs / num_bins over [0, hist_max_abs]: one for the
// negative values, one for the non-negative values (0 and -0 count as
// non-negative). Bin k holds |x| in [k*w, (k+1)*w); |x| == hist_max_abs falls in
// the last bin. Their sum is the |x| histogram the symmetric algorithms use;
// kept apart they give the signed distribution the asymmetric percentile needs,
// while rebinning stays one shared power-of-two merge (see TensorObserver).
struct ObserverState {
  float min = 0.0f;  // Finite values only; 0 when count == 0.
  float max = 0.0f;
  uint64_t count = 0;         // Finite values observed == total of both histograms.
  uint64_t nan_count = 0;     // NaN values, ignored by every statistic.
  uint64_t inf_count = 0;     // ±Inf values, ignored too: no finite range covers them.
  double hist_max_abs = 0.0;  // Upper edge of the histograms; >= max(|min|, |max|).
  int32_t num_bins = 0;       // Size both bin vectors must have.
  std::vector<uint64_t> negative_bins;
  std::vector<uint64_t> positive_bins;

  friend bool operator==(const ObserverState&, const ObserverState&) = default;
};

class TensorObserver {
 public:
  static constexpr int32_t kDefaultNumBins = 2048;
  // A state with more bins than this is treated as corrupted.
  static constexpr int32_t kMaxNumBins = 1 << 20;

  // num_bins is clamped to [0, kMaxNumBins]: the constructor cannot fail.
  // 0 bins: ranges only (min, max and the counts, no histogram): what the
  // LINEAR algorithm needs, at the cost of one scan per value instead of a
  // scan and a histogram increment (PP-OCRv4 rec's calibration 1.5x -> 1.1x
  // its float inference, bench/RESULTS.md stops 40-41).
  explicit TensorObserver(int32_t num_bins = kDefaultNumBins);

  // Adds n values. NaN and ±Inf are counted, not binned. A null pointer or
  // n <= 0 adds nothing. When a value exceeds the histogram's upper edge the
  // edge doubles (as often as needed) and pairs of bins merge, so the counts
  // gathered so far stay exact, only coarser.
  void Observe(const float* x, int64_t n);

  // Where the elements of a 4-D [n, c, h, w] tensor lie when it is stored
  // in blocks of `block` channels (nChw8c / nChw16c; c a multiple of block).
  struct BlockedOrder {
    int64_t n = 0, c = 0, h = 0, w = 0, block = 0;
  };
  // Observe of such a tensor as stored: the same statistics, bit for bit, as
  // Observe of its plain copy. Counts, range and histogram do not depend on
  // the order of the values; only the sign of a zero extreme does (the
  // first zero wins), and that is taken from the first zero in plain order.
  void ObserveBlocked(const float* x, const BlockedOrder& order);

  // Adds another observer's statistics, as if its samples had been observed
  // here. Fails (leaving this unchanged) if the bin counts differ. When the two
  // upper edges differ by a power of two (the common case: both started from
  // similar data) the merge is exact; otherwise each bin of the finer
  // histogram moves to the coarser bin holding its centre (error < 1 bin).
  Status Merge(const TensorObserver& other);

  ObserverState State() const;
  // Validates the state (bin counts, finite edges, min <= max, totals that
  // agree) and replaces *out with it; *out is untouched on error.
  static Status FromState(const ObserverState& state, TensorObserver* out);

  bool empty() const { return count_ == 0; }
  float min() const { return min_; }
  float max() const { return max_; }
  // max(|min|, |max|); 0 when empty.
  float max_abs() const;
  uint64_t count() const { return count_; }
  uint64_t nan_count() const { return nan_count_; }
  uint64_t inf_count() const { return inf_count_; }
  int32_t num_bins() const { return static_cast<int32_t>(positive_bins_.size()); }
  // Ranges only (0 bins): no histogram to derive a clipped range from.
  bool ranges_only() const { return positive_bins_.empty(); }
  double hist_max_abs() const { return hist_max_abs_; }
  double bin_width() const { return ranges_only() ? 0.0 : hist_max_abs_ / static_cast<double>(positive_bins_.size()); }
  const std::vector<uint64_t>& negative_bins() const { return negative_bins_; }
  const std::vector<uint64_t>& positive_bins() const { return positive_bins_; }
  // Histogram of |x|: negative_bins + positive_bins.
  std::vector<uint64_t> AbsBins() const;

 private:
  // Observe; `blocked`: the values lie in that blocked order (else plain).
  void ObserveInOrder(const float* x, int64_t n, const BlockedOrder* blocked);
  // Doubles the upper edge until it covers max_abs, merging bins each time.
  void GrowEdgeToCover(double max_abs);

  float min_ = 0.0f;
  float max_ = 0.0f;
  uint64_t count_ = 0;
  uint64_t nan_count_ = 0;
  uint64_t inf_count_ = 0;
  // 0 until a non-zero value arrives; zeros go to bin 0, valid for any edge.
  double hist_max_abs_ = 0.0;
  std::vector<uint64_t> negative_bins_;
  std::vector<uint64_t> positive_bins_;
};

}  // namespace mixq::quant
