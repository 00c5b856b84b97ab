// Range algorithms on synthetic data whose answers are known, plus the
// option and precondition errors.
#include "quant/range_algorithms.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "quant/observer.h"

namespace mixq::testing {
namespace {

using quant::ComputeRange;
using quant::QuantizationMse;
using quant::RangeAlgorithm;
using quant::RangeOptions;
using quant::TensorObserver;

constexpr RangeAlgorithm kAllAlgorithms[] = {RangeAlgorithm::kLinear, RangeAlgorithm::kEqnm, RangeAlgorithm::kEntropy,
                                             RangeAlgorithm::kPercentile};

// N(0, 1) samples followed by `outliers` values alternating +magnitude / -magnitude.
std::vector<float> GaussianWithOutliers(size_t n, size_t outliers, float magnitude, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> values(n);
  for (float& v : values) v = dist(rng);
  for (size_t i = 0; i < outliers; ++i) values.push_back(i % 2 == 0 ? magnitude : -magnitude);
  return values;
}

std::vector<float> Uniform(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> values(n);
  for (float& v : values) v = dist(rng);
  return values;
}

TensorObserver Observed(const std::vector<float>& values) {
  TensorObserver observer;
  observer.Observe(values.data(), static_cast<int64_t>(values.size()));
  return observer;
}

Range MustCompute(const TensorObserver& observer, RangeAlgorithm algorithm, bool symmetric = true, int bits = 8) {
  RangeOptions options;
  options.algorithm = algorithm;
  options.symmetric = symmetric;
  options.bits = bits;
  Range range;
  const Status status = ComputeRange(observer, options, &range);
  EXPECT_TRUE(status.ok()) << quant::RangeAlgorithmName(algorithm) << ": " << status.ToString();
  return range;
}

double Mse(const std::vector<float>& values, Range range) {
  return QuantizationMse(values.data(), static_cast<int64_t>(values.size()), range, 8);
}

TEST(RangeAlgorithms, ParsesNames) {
  RangeAlgorithm algorithm = RangeAlgorithm::kLinear;
  for (RangeAlgorithm expected : kAllAlgorithms) {
    ASSERT_TRUE(quant::ParseRangeAlgorithm(quant::RangeAlgorithmName(expected), &algorithm));
    EXPECT_EQ(algorithm, expected);
  }
  EXPECT_TRUE(quant::ParseRangeAlgorithm("eqnm", &algorithm));
  EXPECT_EQ(algorithm, RangeAlgorithm::kEqnm);
  EXPECT_FALSE(quant::ParseRangeAlgorithm("minmax", &algorithm));
  EXPECT_FALSE(quant::ParseRangeAlgorithm("", &algorithm));
  EXPECT_FALSE(quant::ParseRangeAlgorithm("Linear", &algorithm));
  EXPECT_EQ(algorithm, RangeAlgorithm::kEqnm);  // Unchanged on failure.
}

// A stream rather than string concatenation: GCC 12 at -O3 reports a false
// -Wrestrict on "[" + std::to_string(...).
std::string Show(Range r) {
  std::ostringstream out;
  out << "[" << r.min << ", " << r.max << "]";
  return out.str();
}

// The brief's reference case: 200k N(0,1) samples plus 20 outliers at ±50.
TEST(RangeAlgorithms, GaussianWithOutliers) {
  const std::vector<float> values = GaussianWithOutliers(200000, 20, 50.0f, 11);
  const TensorObserver observer = Observed(values);
  const Range linear = MustCompute(observer, RangeAlgorithm::kLinear);
  const Range percentile = MustCompute(observer, RangeAlgorithm::kPercentile);
  const Range entropy = MustCompute(observer, RangeAlgorithm::kEntropy);
  const Range eqnm = MustCompute(observer, RangeAlgorithm::kEqnm);
  const double linear_mse = Mse(values, linear);
  const double eqnm_mse = Mse(values, eqnm);
  ::testing::Test::RecordProperty("linear_mse", std::to_string(linear_mse));
  ::testing::Test::RecordProperty("eqnm_mse", std::to_string(eqnm_mse));

  EXPECT_EQ(linear.min, -50.0f);
  EXPECT_EQ(linear.max, 50.0f);
  EXPECT_GT(percentile.max, 3.5f) << Show(percentile);
  EXPECT_LT(percentile.max, 4.5f) << Show(percentile);
  EXPECT_EQ(percentile.min, -percentile.max);
  EXPECT_GT(entropy.max, 2.5f) << Show(entropy);
  EXPECT_LT(entropy.max, 10.0f) << Show(entropy);
  EXPECT_EQ(entropy.min, -entropy.max);
  // eqnm minimizes squared error, and 20 outliers in 200k are costly to clip
  // at 8 bits (clipping one costs ~(50 - T)^2, far more than the rounding
  // noise it saves), so its threshold stays near 50 (47.5 here); it still
  // measures lower than linear.
  EXPECT_LE(eqnm.max, 50.0f) << Show(eqnm);
  EXPECT_LT(eqnm_mse, linear_mse) << Show(eqnm);
}

// Smallest measured MSE over thresholds on a 0.25 grid: what eqnm estimates
// from the histogram alone.
double BruteForceMinMse(const std::vector<float>& values, float max_abs) {
  double best = std::numeric_limits<double>::infinity();
  for (float t = 0.25f; t <= max_abs + 0.25f; t += 0.25f) best = std::min(best, Mse(values, Range{-t, t}));
  return best;
}

TEST(RangeAlgorithms, EqnmFindsTheMseMinimumWhenClippingPays) {
  // One outlier: clipping it costs (50 - T)^2 once, widening the grid costs
  // every sample rounding noise; the optimum is T = 100 / (N / (6 p^2) + 2) = 24.6.
  const std::vector<float> one_outlier = GaussianWithOutliers(200000, 1, 50.0f, 12);
  const TensorObserver observer = Observed(one_outlier);
  const Range eqnm = MustCompute(observer, RangeAlgorithm::kEqnm);
  EXPECT_GT(eqnm.max, 20.0f) << Show(eqnm);
  EXPECT_LT(eqnm.max, 30.0f) << Show(eqnm);
  const double eqnm_mse = Mse(one_outlier, eqnm);
  EXPECT_LT(eqnm_mse, 0.6 * Mse(one_outlier, MustCompute(observer, RangeAlgorithm::kLinear)));
  EXPECT_LT(eqnm_mse, 1.05 * BruteForceMinMse(one_outlier, 50.0f));

  // Heavy tail without outliers: Laplace(0, 1) clips well inside its maximum.
  std::mt19937 rng(13);
  std::exponential_distribution<float> exponential(1.0f);
  std::vector<float> laplace(100000);
  for (size_t i = 0; i < laplace.size(); ++i) laplace[i] = (i % 2 == 0 ? 1.0f : -1.0f) * exponential(rng);
  const TensorObserver laplace_observer = Observed(laplace);
  const Range laplace_eqnm = MustCompute(laplace_observer, RangeAlgorithm::kEqnm);
  EXPECT_LT(laplace_eqnm.max, 0.95f * laplace_observer.max_abs()) << Show(laplace_eqnm);
  EXPECT_LT(Mse(laplace, laplace_eqnm), 1.05 * BruteForceMinMse(laplace, laplace_observer.max_abs()));
}

TEST(RangeAlgorithms, UniformKeepsTheFullRange) {
  const std::vector<float> values = Uniform(100000, -1.0f, 1.0f, 14);
  const TensorObserver observer = Observed(values);
  const float tolerance = 0.01f;  // ~20 bins of 1/2048; eqnm's optimum is ~7 bins in.
  for (RangeAlgorithm algorithm : kAllAlgorithms) {
    const Range range = MustCompute(observer, algorithm);
    EXPECT_NEAR(range.min, -1.0f, tolerance) << quant::RangeAlgorithmName(algorithm) << Show(range);
    EXPECT_NEAR(range.max, 1.0f, tolerance) << quant::RangeAlgorithmName(algorithm) << Show(range);
    if (algorithm == RangeAlgorithm::kEqnm) continue;
    const Range asymmetric = MustCompute(observer, algorithm, /*symmetric=*/false);
    EXPECT_NEAR(asymmetric.min, -1.0f, tolerance) << quant::RangeAlgorithmName(algorithm) << Show(asymmetric);
    EXPECT_NEAR(asymmetric.max, 1.0f, tolerance) << quant::RangeAlgorithmName(algorithm) << Show(asymmetric);
  }
}

TEST(RangeAlgorithms, AsymmetricPercentileCutsEachTailSeparately) {
  const std::vector<float> values = Uniform(100000, -1.0f, 3.0f, 15);
  const TensorObserver observer = Observed(values);
  RangeOptions options;
  options.algorithm = RangeAlgorithm::kPercentile;
  options.symmetric = false;
  options.percentile = 90.0;  // 5% off each end of U(-1, 3): [-0.8, 2.8].
  Range range;
  ASSERT_TRUE(ComputeRange(observer, options, &range).ok());
  EXPECT_NEAR(range.min, -0.8f, 0.02f) << Show(range);
  EXPECT_NEAR(range.max, 2.8f, 0.02f) << Show(range);
  options.symmetric = true;  // 90% of |x| lies below 2.6.
  ASSERT_TRUE(ComputeRange(observer, options, &range).ok());
  EXPECT_NEAR(range.max, 2.6f, 0.02f) << Show(range);
  EXPECT_EQ(range.min, observer.min());  // Clipped to the observed min, not -2.6.
}

TEST(RangeAlgorithms, OneSidedDataStaysOneSided) {
  std::vector<float> relu = GaussianWithOutliers(50000, 4, 30.0f, 16);
  for (float& v : relu) v = std::max(v, 0.0f);
  const TensorObserver observer = Observed(relu);
  for (RangeAlgorithm algorithm : kAllAlgorithms) {
    const Range range = MustCompute(observer, algorithm);
    EXPECT_EQ(range.min, 0.0f) << quant::RangeAlgorithmName(algorithm);
    EXPECT_GT(range.max, 2.0f) << quant::RangeAlgorithmName(algorithm);
  }
}

// After a ReLU half the values are exact zeros. Zero is exact on every grid,
// so the spike must not move entropy's threshold: the threshold for the
// ReLU output equals (within a few bins) the one for its positive half alone.
TEST(RangeAlgorithms, EntropyIgnoresTheZeroSpikeOfReluOutputs) {
  std::vector<float> relu = GaussianWithOutliers(200000, 0, 0.0f, 21);
  std::vector<float> positive;
  for (float& v : relu) {
    v = std::max(v, 0.0f);
    if (v > 0.0f) positive.push_back(v);
  }
  const Range with_zeros = MustCompute(Observed(relu), RangeAlgorithm::kEntropy);
  const Range without = MustCompute(Observed(positive), RangeAlgorithm::kEntropy);
  EXPECT_EQ(with_zeros.min, 0.0f);
  EXPECT_GT(with_zeros.max, 2.5f) << Show(with_zeros);
  EXPECT_NEAR(with_zeros.max, without.max, 0.05f * without.max) << Show(with_zeros) << " vs " << Show(without);
}

TEST(RangeAlgorithms, SixteenBitEntropyFallsBackToTheFullRange) {
  const std::vector<float> values = GaussianWithOutliers(20000, 20, 50.0f, 17);
  const TensorObserver observer = Observed(values);
  // 2^15 levels exceed the 2048 bins: no threshold can be told apart.
  const Range range = MustCompute(observer, RangeAlgorithm::kEntropy, true, 16);
  EXPECT_EQ(range.min, -50.0f);
  EXPECT_EQ(range.max, 50.0f);
  // At 16 bits rounding noise is tiny, so eqnm keeps the outliers too.
  EXPECT_GT(MustCompute(observer, RangeAlgorithm::kEqnm, true, 16).max, 45.0f);
}

TEST(RangeAlgorithms, RestoredStateGivesTheSameRanges) {
  const std::vector<float> values = GaussianWithOutliers(20000, 6, 20.0f, 18);
  const TensorObserver observer = Observed(values);
  TensorObserver restored;
  ASSERT_TRUE(TensorObserver::FromState(observer.State(), &restored).ok());
  for (RangeAlgorithm algorithm : kAllAlgorithms) {
    const Range a = MustCompute(observer, algorithm);
    const Range b = MustCompute(restored, algorithm);
    EXPECT_EQ(a.min, b.min) << quant::RangeAlgorithmName(algorithm);
    EXPECT_EQ(a.max, b.max) << quant::RangeAlgorithmName(algorithm);
  }
}

TEST(RangeAlgorithms, EqnmRejectsAsymmetric) {
  const std::vector<float> values = Uniform(100, -1.0f, 1.0f, 19);
  RangeOptions options;
  options.algorithm = RangeAlgorithm::kEqnm;
  options.symmetric = false;
  Range range;
  const Status status = ComputeRange(Observed(values), options, &range);
  EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.message(), "eqnm supports symmetric quantization only");
}

TEST(RangeAlgorithms, RejectsBadPercentileAndBits) {
  const TensorObserver observer = Observed(Uniform(1000, -2.0f, 2.0f, 20));
  RangeOptions options;
  options.algorithm = RangeAlgorithm::kPercentile;
  Range range;
  for (double bad : {0.0, -1.0, 100.5, std::numeric_limits<double>::quiet_NaN()}) {
    options.percentile = bad;
    const Status status = ComputeRange(observer, options, &range);
    EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_NE(status.message().find("percentile"), std::string::npos) << status.message();
  }
  options.percentile = 100.0;
  ASSERT_TRUE(ComputeRange(observer, options, &range).ok());
  EXPECT_EQ(range.max, observer.max());
  options.symmetric = false;
  ASSERT_TRUE(ComputeRange(observer, options, &range).ok());
  EXPECT_EQ(range.min, observer.min());
  EXPECT_EQ(range.max, observer.max());

  options = RangeOptions();
  for (int bad_bits : {0, 1, 17}) {
    options.bits = bad_bits;
    const Status status = ComputeRange(observer, options, &range);
    EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT) << bad_bits;
    EXPECT_NE(status.message().find("bits"), std::string::npos) << status.message();
  }
  EXPECT_EQ(ComputeRange(observer, RangeOptions(), nullptr).code(), StatusCode::INVALID_ARGUMENT);
}

TEST(RangeAlgorithms, EmptyObserverFails) {
  TensorObserver only_nan;
  const std::vector<float> nans(3, std::numeric_limits<float>::quiet_NaN());
  only_nan.Observe(nans.data(), 3);
  for (RangeAlgorithm algorithm : kAllAlgorithms) {
    RangeOptions options;
    options.algorithm = algorithm;
    Range range;
    const Status status = ComputeRange(only_nan, options, &range);
    EXPECT_EQ(status.code(), StatusCode::FAILED_PRECONDITION) << quant::RangeAlgorithmName(algorithm);
    EXPECT_NE(status.message().find("no data was observed"), std::string::npos) << status.message();
  }
  Range range;
  EXPECT_EQ(ComputeRange(TensorObserver(), RangeOptions(), &range).code(), StatusCode::FAILED_PRECONDITION);
}

TEST(RangeAlgorithms, AllZeroGivesZeroRange) {
  const std::vector<float> zeros(1000, 0.0f);
  const TensorObserver observer = Observed(zeros);
  for (RangeAlgorithm algorithm : kAllAlgorithms) {
    for (bool symmetric : {true, false}) {
      if (algorithm == RangeAlgorithm::kEqnm && !symmetric) continue;
      const Range range = MustCompute(observer, algorithm, symmetric);
      EXPECT_EQ(range.min, 0.0f) << quant::RangeAlgorithmName(algorithm);
      EXPECT_EQ(range.max, 0.0f) << quant::RangeAlgorithmName(algorithm);
    }
  }
}

TEST(RangeAlgorithms, QuantizationMseMatchesHandComputedValues) {
  // Range ±127 at 8 bits: scale 1, so integers are exact.
  const std::vector<float> on_grid = {0.0f, 1.0f, -5.0f, 127.0f, -128.0f};
  EXPECT_EQ(QuantizationMse(on_grid.data(), 5, Range{-127.0f, 127.0f}, 8), 0.0);
  // Half-way values are off by 0.5 whichever way they round; 200 clamps to 127.
  const std::vector<float> off_grid = {0.5f, 2.5f, 200.0f};
  EXPECT_DOUBLE_EQ(QuantizationMse(off_grid.data(), 3, Range{-127.0f, 127.0f}, 8), (0.25 + 0.25 + 73.0 * 73.0) / 3);
  // Degenerate range: scale 1 (SPEC §1), not a division by zero.
  const std::vector<float> quarter = {0.25f};
  EXPECT_DOUBLE_EQ(QuantizationMse(quarter.data(), 1, Range{0.0f, 0.0f}, 8), 0.0625);
  EXPECT_EQ(QuantizationMse(nullptr, 4, Range{-1.0f, 1.0f}, 8), 0.0);
  EXPECT_TRUE(std::isnan(QuantizationMse(quarter.data(), 1, Range{-1.0f, 1.0f}, 1)));
}

}  // namespace
}  // namespace mixq::testing
