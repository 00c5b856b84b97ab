// TensorObserver: streaming statistics, power-of-two rebinning, merging and the
// serializable state a calibration file stores.
#include "quant/observer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "quant/range_algorithms.h"

namespace mixq::testing {
namespace {

using quant::ObserverState;
using quant::RangeAlgorithm;
using quant::RangeOptions;
using quant::TensorObserver;

std::vector<float> Gaussian(size_t n, uint32_t seed, float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> values(n);
  for (float& v : values) v = dist(rng);
  return values;
}

uint64_t HistogramTotal(const TensorObserver& observer) {
  const std::vector<uint64_t> bins = observer.AbsBins();
  return std::accumulate(bins.begin(), bins.end(), uint64_t{0});
}

Range PercentileRange(const TensorObserver& observer, double percentile, bool symmetric) {
  RangeOptions options;
  options.algorithm = RangeAlgorithm::kPercentile;
  options.percentile = percentile;
  options.symmetric = symmetric;
  Range range;
  EXPECT_TRUE(quant::ComputeRange(observer, options, &range).ok());
  return range;
}

// Percentile ranges of two histograms of the same data agree to within the
// coarser of the two bin widths.
void ExpectSameQuantiles(const TensorObserver& a, const TensorObserver& b) {
  const double tolerance = std::max(a.bin_width(), b.bin_width());
  for (double percentile : {50.0, 90.0, 99.0, 99.9, 99.99}) {
    for (bool symmetric : {true, false}) {
      const Range ra = PercentileRange(a, percentile, symmetric);
      const Range rb = PercentileRange(b, percentile, symmetric);
      EXPECT_NEAR(ra.min, rb.min, tolerance) << percentile << (symmetric ? " symmetric" : " asymmetric");
      EXPECT_NEAR(ra.max, rb.max, tolerance) << percentile << (symmetric ? " symmetric" : " asymmetric");
    }
  }
}

// An independent model of the observer (SPEC §3): the edge starts at the
// first non-zero batch's max |x| and doubles until it covers each later
// batch, pairs of bins merging each time; bin k holds |x| in
// [k w, (k + 1) w), the last one closed.
struct ReferenceObserver {
  size_t bins;
  double edge = 0.0;
  float min = 0.0f, max = 0.0f;
  uint64_t count = 0;
  std::vector<uint64_t> negative, positive;
  explicit ReferenceObserver(size_t b) : bins(b), negative(b), positive(b) {}
  void Observe(const std::vector<float>& x) {
    double batch_max = 0.0;
    for (float v : x) {
      min = count == 0 ? v : std::min(min, v);
      max = count == 0 ? v : std::max(max, v);
      ++count;
      batch_max = std::max(batch_max, std::fabs(static_cast<double>(v)));
    }
    if (edge == 0.0) {
      edge = batch_max;
    } else {
      while (edge < batch_max) {
        edge *= 2.0;
        for (auto* b : {&negative, &positive}) {
          std::vector<uint64_t> merged(bins);
          for (size_t k = 0; k < bins; ++k) merged[k / 2] += (*b)[k];
          *b = merged;
        }
      }
    }
    for (float v : x) {
      const double at = edge == 0.0 ? 0.0 : std::fabs(static_cast<double>(v)) * (static_cast<double>(bins) / edge);
      const size_t k = std::min(static_cast<size_t>(at), bins - 1);
      ++(v < 0.0f ? negative : positive)[k];
    }
  }
};

// Batches large enough for the one-pass scan and count, with the edge set
// by the first and exceeded now and then by later ones (and batches clipped
// at the edge, as ReLU6 outputs are), against the independent model: the
// same extremes, count, edge and bins.
TEST(Observer, ManyLargeBatchesMatchAnIndependentModel) {
  for (size_t bins : {size_t{7}, size_t{2048}}) {
    TensorObserver observer(static_cast<int32_t>(bins));
    ReferenceObserver reference(bins);
    std::mt19937 rng(3);
    for (int batch = 0; batch < 12; ++batch) {
      const float stddev = batch % 4 == 3 ? 3.0f : 1.0f + 0.05f * static_cast<float>(batch);
      std::vector<float> x = Gaussian(5000 + 37 * static_cast<size_t>(batch), 100 + batch, stddev);
      if (batch % 3 == 1) {
        const float clip = static_cast<float>(reference.edge);
        for (float& v : x) v = std::clamp(v, -clip, clip);
      }
      observer.Observe(x.data(), static_cast<int64_t>(x.size()));
      reference.Observe(x);
      const ObserverState state = observer.State();
      EXPECT_EQ(state.min, reference.min) << batch;
      EXPECT_EQ(state.max, reference.max) << batch;
      EXPECT_EQ(state.count, reference.count) << batch;
      EXPECT_EQ(state.hist_max_abs, reference.edge) << batch;
      EXPECT_EQ(state.negative_bins, reference.negative) << bins << " bins, batch " << batch;
      EXPECT_EQ(state.positive_bins, reference.positive) << bins << " bins, batch " << batch;
    }
  }
}

TEST(Observer, TracksMinMaxAndCountsAcrossCalls) {
  TensorObserver observer;
  EXPECT_TRUE(observer.empty());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> first = {0.5f, -1.25f, nan, 2.0f};
  const std::vector<float> second = {inf, -3.0f, 1.0f, -inf};
  const std::vector<float> third = {7.5f, nan};
  observer.Observe(first.data(), static_cast<int64_t>(first.size()));
  observer.Observe(second.data(), static_cast<int64_t>(second.size()));
  observer.Observe(third.data(), static_cast<int64_t>(third.size()));
  observer.Observe(nullptr, 10);  // Ignored, never a crash.
  observer.Observe(first.data(), 0);
  EXPECT_FALSE(observer.empty());
  EXPECT_EQ(observer.min(), -3.0f);
  EXPECT_EQ(observer.max(), 7.5f);
  EXPECT_EQ(observer.max_abs(), 7.5f);
  EXPECT_EQ(observer.count(), 6u);
  EXPECT_EQ(observer.nan_count(), 2u);
  EXPECT_EQ(observer.inf_count(), 2u);
  EXPECT_EQ(HistogramTotal(observer), 6u);
  EXPECT_GE(observer.hist_max_abs(), 7.5);
  EXPECT_EQ(observer.num_bins(), TensorObserver::kDefaultNumBins);
  // Sign split: -1.25 and -3 are negative, the rest non-negative.
  const auto& neg = observer.negative_bins();
  EXPECT_EQ(std::accumulate(neg.begin(), neg.end(), uint64_t{0}), 2u);
}

TEST(Observer, RebinningKeepsCountAndQuantiles) {
  std::vector<float> values = Gaussian(100000, 7);
  TensorObserver at_once;
  at_once.Observe(values.data(), static_cast<int64_t>(values.size()));

  // Feed the same values smallest magnitude first so the edge has to double
  // many times and every earlier bin gets merged.
  std::sort(values.begin(), values.end(), [](float a, float b) { return std::fabs(a) < std::fabs(b); });
  TensorObserver incremental;
  size_t begin = 0;
  for (size_t chunk = 1000; begin < values.size(); chunk *= 2) {
    const size_t end = std::min(values.size(), begin + chunk);
    incremental.Observe(values.data() + begin, static_cast<int64_t>(end - begin));
    begin = end;
  }
  EXPECT_EQ(incremental.count(), at_once.count());
  EXPECT_EQ(HistogramTotal(incremental), values.size());
  EXPECT_EQ(incremental.min(), at_once.min());
  EXPECT_EQ(incremental.max(), at_once.max());
  EXPECT_GT(incremental.hist_max_abs(), at_once.hist_max_abs());  // It did rebin.
  EXPECT_LT(incremental.hist_max_abs(), 2.0 * at_once.hist_max_abs());
  ExpectSameQuantiles(at_once, incremental);
}

TEST(Observer, ZerosBeforeOtherValuesStayInTheFirstBin) {
  TensorObserver observer(16);
  const std::vector<float> zeros(5, 0.0f);
  observer.Observe(zeros.data(), 5);
  EXPECT_EQ(observer.hist_max_abs(), 0.0);
  const std::vector<float> later = {4.0f, -2.0f};
  observer.Observe(later.data(), 2);
  EXPECT_EQ(observer.hist_max_abs(), 4.0);
  EXPECT_EQ(observer.positive_bins()[0], 5u);
  EXPECT_EQ(observer.positive_bins()[15], 1u);  // |x| == edge goes to the last bin.
  EXPECT_EQ(observer.negative_bins()[8], 1u);   // 2 / (4 / 16) = bin 8.
}

TEST(Observer, HugeDynamicRangeCollapsesIntoTheFirstBin) {
  TensorObserver observer(8);
  const std::vector<float> tiny = {1e-30f, -1e-30f};
  const std::vector<float> huge = {3e38f};
  observer.Observe(tiny.data(), 2);
  observer.Observe(huge.data(), 1);
  EXPECT_EQ(observer.count(), 3u);
  EXPECT_EQ(observer.positive_bins()[0], 1u);
  EXPECT_EQ(observer.negative_bins()[0], 1u);
  // The edge doubled ~230 times, ending below 2 * 3e38, so 3e38 lies in the
  // upper half of the bins.
  EXPECT_TRUE(std::isfinite(observer.hist_max_abs()));
  EXPECT_LT(observer.hist_max_abs(), 6e38);
  const auto& pos = observer.positive_bins();
  EXPECT_EQ(std::accumulate(pos.begin() + 4, pos.end(), uint64_t{0}), 1u);
}

TEST(Observer, MergeEqualsObservingTheConcatenation) {
  // Both halves contain ±4 exactly, so both edges are 4 and the merge is exact.
  std::vector<float> a = Gaussian(20000, 1);
  std::vector<float> b = Gaussian(30000, 2, 0.5f);
  for (auto* v : {&a, &b}) {
    for (float& x : *v) x = std::clamp(x, -4.0f, 4.0f);
    v->push_back(4.0f);
    v->push_back(-4.0f);
  }
  b.push_back(std::numeric_limits<float>::quiet_NaN());
  TensorObserver both, left, right;
  both.Observe(a.data(), static_cast<int64_t>(a.size()));
  both.Observe(b.data(), static_cast<int64_t>(b.size()));
  left.Observe(a.data(), static_cast<int64_t>(a.size()));
  right.Observe(b.data(), static_cast<int64_t>(b.size()));
  ASSERT_TRUE(left.Merge(right).ok());
  EXPECT_EQ(left.State(), both.State());

  // Different edges (3.x vs 11.x, not a power of two apart): counts stay exact,
  // quantiles move by less than a bin.
  std::vector<float> wide = Gaussian(30000, 3, 3.0f);
  TensorObserver narrow_then_wide, narrow, wide_only;
  const std::vector<float> narrow_values = Gaussian(20000, 4);
  narrow_then_wide.Observe(narrow_values.data(), static_cast<int64_t>(narrow_values.size()));
  narrow_then_wide.Observe(wide.data(), static_cast<int64_t>(wide.size()));
  narrow.Observe(narrow_values.data(), static_cast<int64_t>(narrow_values.size()));
  wide_only.Observe(wide.data(), static_cast<int64_t>(wide.size()));
  ASSERT_TRUE(narrow.Merge(wide_only).ok());
  EXPECT_EQ(narrow.count(), narrow_then_wide.count());
  EXPECT_EQ(HistogramTotal(narrow), narrow.count());
  EXPECT_EQ(narrow.min(), narrow_then_wide.min());
  EXPECT_EQ(narrow.max(), narrow_then_wide.max());
  ExpectSameQuantiles(narrow, narrow_then_wide);
}

TEST(Observer, MergeHandlesEmptySelfAndMismatchedBins) {
  const std::vector<float> values = Gaussian(1000, 5);
  TensorObserver filled;
  filled.Observe(values.data(), static_cast<int64_t>(values.size()));

  TensorObserver empty;
  ASSERT_TRUE(empty.Merge(filled).ok());
  EXPECT_EQ(empty.State(), filled.State());
  ASSERT_TRUE(filled.Merge(TensorObserver()).ok());
  EXPECT_EQ(filled.State(), empty.State());

  ASSERT_TRUE(filled.Merge(filled).ok());
  EXPECT_EQ(filled.count(), 2 * values.size());
  EXPECT_EQ(HistogramTotal(filled), 2 * values.size());

  TensorObserver other_bins(1024);
  const Status status = filled.Merge(other_bins);
  EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.message().find("bin counts"), std::string::npos) << status.message();
  EXPECT_EQ(filled.count(), 2 * values.size());
}

TEST(Observer, StateRoundTrips) {
  const std::vector<float> values = Gaussian(5000, 6);
  TensorObserver observer(256);
  observer.Observe(values.data(), static_cast<int64_t>(values.size()));
  const ObserverState state = observer.State();
  EXPECT_EQ(state.num_bins, 256);
  TensorObserver restored;
  ASSERT_TRUE(TensorObserver::FromState(state, &restored).ok());
  EXPECT_EQ(restored.State(), state);
  EXPECT_EQ(restored.num_bins(), 256);

  TensorObserver empty_restored(8);
  ASSERT_TRUE(TensorObserver::FromState(TensorObserver(32).State(), &empty_restored).ok());
  EXPECT_TRUE(empty_restored.empty());
  EXPECT_EQ(empty_restored.num_bins(), 32);
}

// 0 bins: ranges only. The same min, max and counts as a histogram
// observer on the same values (NaN and Inf included), across calls, merges
// and a state round trip; no histogram.
TEST(Observer, RangesOnlyKeepMinMaxAndCounts) {
  std::vector<float> values = Gaussian(70000, 9);
  values[123] = std::numeric_limits<float>::quiet_NaN();
  values[4567] = std::numeric_limits<float>::infinity();
  TensorObserver full(2048), ranges(0), half_a(0), half_b(0);
  EXPECT_TRUE(ranges.ranges_only());
  EXPECT_FALSE(full.ranges_only());
  full.Observe(values.data(), 50000);
  full.Observe(values.data() + 50000, 20000);
  ranges.Observe(values.data(), 50000);
  ranges.Observe(values.data() + 50000, 20000);
  half_a.Observe(values.data(), 35000);
  half_b.Observe(values.data() + 35000, 35000);
  ASSERT_TRUE(half_a.Merge(half_b).ok());
  for (const TensorObserver* o : {&ranges, &half_a}) {
    EXPECT_EQ(o->min(), full.min());
    EXPECT_EQ(o->max(), full.max());
    EXPECT_EQ(o->count(), full.count());
    EXPECT_EQ(o->nan_count(), 1u);
    EXPECT_EQ(o->inf_count(), 1u);
    EXPECT_EQ(o->num_bins(), 0);
    EXPECT_EQ(o->hist_max_abs(), 0.0);
    EXPECT_EQ(o->bin_width(), 0.0);
  }
  EXPECT_FALSE(full.Merge(ranges).ok()) << "a histogram and a ranges-only observer do not merge";
  TensorObserver restored;
  ASSERT_TRUE(TensorObserver::FromState(ranges.State(), &restored).ok());
  EXPECT_EQ(restored.State(), ranges.State());
  EXPECT_TRUE(restored.ranges_only());
}

TEST(Observer, FromStateRejectsCorruptedStates) {
  const std::vector<float> values = Gaussian(5000, 8);
  TensorObserver observer(64);
  observer.Observe(values.data(), static_cast<int64_t>(values.size()));
  const ObserverState good = observer.State();

  struct Case {
    const char* name;
    void (*corrupt)(ObserverState*);
  };
  const Case cases[] = {
      {"short bin vector", [](ObserverState* s) { s->positive_bins.pop_back(); }},
      {"bin count field", [](ObserverState* s) { s->num_bins = 32; }},
      {"zero bins", [](ObserverState* s) { s->num_bins = 0, s->negative_bins.clear(), s->positive_bins.clear(); }},
      {"NaN edge", [](ObserverState* s) { s->hist_max_abs = std::numeric_limits<double>::quiet_NaN(); }},
      {"infinite edge", [](ObserverState* s) { s->hist_max_abs = std::numeric_limits<double>::infinity(); }},
      {"negative edge", [](ObserverState* s) { s->hist_max_abs = -1.0; }},
      {"edge below max", [](ObserverState* s) { s->hist_max_abs = s->max / 2.0; }},
      {"min > max", [](ObserverState* s) { std::swap(s->min, s->max); }},
      {"NaN min", [](ObserverState* s) { s->min = std::numeric_limits<float>::quiet_NaN(); }},
      {"count mismatch", [](ObserverState* s) { s->count += 1; }},
      {"overflowing bins",
       [](ObserverState* s) { s->positive_bins[0] = s->negative_bins[0] = std::numeric_limits<uint64_t>::max(); }},
      {"negative counts, min >= 0", [](ObserverState* s) { s->min = 0.0f; }},
  };
  for (const Case& c : cases) {
    ObserverState bad = good;
    c.corrupt(&bad);
    TensorObserver out(16);
    const Status status = TensorObserver::FromState(bad, &out);
    EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_NE(status.message().find("observer state"), std::string::npos) << c.name << ": " << status.message();
    EXPECT_EQ(out.num_bins(), 16) << c.name << ": output changed on error";
    EXPECT_TRUE(out.empty()) << c.name;
  }
  EXPECT_EQ(TensorObserver::FromState(good, nullptr).code(), StatusCode::INVALID_ARGUMENT);
}

TEST(Observer, MemoryIsBoundedByTheBinCount) {
  TensorObserver observer;
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> chunk(10000);
  for (int i = 0; i < 100; ++i) {
    // Growing magnitude forces repeated rebinning along the way.
    const float scale = 1.0f + static_cast<float>(i);
    for (float& v : chunk) v = scale * dist(rng);
    observer.Observe(chunk.data(), static_cast<int64_t>(chunk.size()));
  }
  const ObserverState state = observer.State();
  EXPECT_EQ(state.count, 1000000u);
  EXPECT_EQ(state.negative_bins.size(), static_cast<size_t>(TensorObserver::kDefaultNumBins));
  EXPECT_EQ(state.positive_bins.size(), static_cast<size_t>(TensorObserver::kDefaultNumBins));
  EXPECT_EQ(HistogramTotal(observer), 1000000u);
}

// A tensor stored nChw16c, observed as stored (calibration keeps observed
// tensors blocked between convolutions): the same state, bit for bit, as
// observing its plain copy, over two samples (n = 2, 32 channels, 3 x 5,
// Gaussian values, relu-like so that 0 is the minimum). The plain tensor's
// first zero is +0.0 at (c 0, h 0, w 1) but the blocked memory's first is
// -0.0 at (c 1, h 0, w 0): observing the blocked bytes as if plain would
// keep -0.0 as the minimum, ObserveBlocked keeps +0.0, as the plain pass.
TEST(Observer, BlockedTensorGivesThePlainStatistics) {
  const int64_t n = 2, c = 32, h = 3, w = 5, block = 16;
  std::vector<float> plain = Gaussian(static_cast<size_t>(n * c * h * w), 77, 2.0f);
  for (float& v : plain) v = std::fabs(v) + 0.01f;
  auto at = [&](int64_t in, int64_t ic, int64_t ih, int64_t iw) -> float& {
    return plain[static_cast<size_t>(((in * c + ic) * h + ih) * w + iw)];
  };
  at(0, 0, 0, 1) = 0.0f;
  at(0, 1, 0, 0) = -0.0f;
  at(1, 5, 2, 4) = -0.0f;
  std::vector<float> blocked(plain.size());
  for (int64_t in = 0; in < n; ++in)
    for (int64_t ic = 0; ic < c; ++ic)
      for (int64_t ih = 0; ih < h; ++ih)
        for (int64_t iw = 0; iw < w; ++iw)
          blocked[static_cast<size_t>((((in * (c / block) + ic / block) * h + ih) * w + iw) * block + ic % block)] =
              at(in, ic, ih, iw);
  TensorObserver want, got, naive;
  const TensorObserver::BlockedOrder order{n, c, h, w, block};
  for (int sample = 0; sample < 2; ++sample) {
    want.Observe(plain.data(), static_cast<int64_t>(plain.size()));
    got.ObserveBlocked(blocked.data(), order);
    naive.Observe(blocked.data(), static_cast<int64_t>(blocked.size()));
    for (float& v : plain) v *= 1.5f;  // the second sample: a wider range (the edge grows)
    for (float& v : blocked) v *= 1.5f;
  }
  EXPECT_TRUE(got.State() == want.State());
  EXPECT_FALSE(std::signbit(want.min()));
  EXPECT_FALSE(std::signbit(got.min()));
  EXPECT_TRUE(std::signbit(naive.min()));  // what the plain pass over blocked bytes would keep
  EXPECT_EQ(got.count(), static_cast<uint64_t>(2 * n * c * h * w));
}

}  // namespace
}  // namespace mixq::testing
