// The observer's AVX2 passes against its scalar ones, bit for bit: lengths
// around the vector width, NaN, +-inf, both zeros (the first of equal
// extremes must win, as in the scalar loop), denormals, values on bin edges
// and at the histogram's upper edge. The scalar loop is the oracle, and the
// AVX2 loop is checked on any AVX2 machine whichever one Observe would pick.
#include "quant/observer_scan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace mixq::quant {
namespace {

uint32_t Bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof(b));
  return b;
}

std::vector<float> Values(size_t n, uint32_t seed, int flavour) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t pick = rng() % 23;
    float v = normal(rng);
    if (flavour == 1) v = std::fabs(v);   // relu-like: zeros are the minimum
    if (flavour == 2) v = -std::fabs(v);  // all <= 0: zeros are the maximum
    if (pick == 0) v = 0.0f;
    if (pick == 1) v = -0.0f;
    if (flavour == 0 && pick == 2) v = std::numeric_limits<float>::quiet_NaN();
    if (flavour == 0 && pick == 3) v = (i % 2) ? inf : -inf;
    if (pick == 4) v = std::numeric_limits<float>::denorm_min() * static_cast<float>(i % 5 + 1);
    if (pick == 5) v = 0.5f * static_cast<float>(i % 9);  // on bin edges
    x[i] = v;
  }
  return x;
}

TEST(ObserverScan, Avx2PassesMatchTheScalarOnes) {
  if (!__builtin_cpu_supports("avx2")) GTEST_SKIP() << "no AVX2";
  int checked = 0;
  for (size_t n :
       {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{31}, size_t{1000}, size_t{4099}, size_t{20000}})
    for (int flavour = 0; flavour < 3; ++flavour)
      for (uint32_t seed = 0; seed < 4; ++seed) {
        const std::vector<float> x = Values(n, seed * 131 + static_cast<uint32_t>(n), flavour);
        const ValueScan a = ScanValues(x.data(), static_cast<int64_t>(n), true);
        const ValueScan s = ScanValues(x.data(), static_cast<int64_t>(n), false);
        EXPECT_EQ(a.finite, s.finite);
        EXPECT_EQ(a.nan, s.nan);
        EXPECT_EQ(a.inf, s.inf);
        if (s.finite > 0) {
          EXPECT_EQ(Bits(a.lo), Bits(s.lo)) << n << " " << flavour << " " << seed << ": " << a.lo << " vs " << s.lo;
          EXPECT_EQ(Bits(a.hi), Bits(s.hi)) << n << " " << flavour << " " << seed << ": " << a.hi << " vs " << s.hi;
          // The histogram with the edge at exactly the largest |value|, and a wider one.
          const double edge = std::max(std::fabs(static_cast<double>(s.lo)), std::fabs(static_cast<double>(s.hi)));
          for (double e : {edge, edge * 4.0}) {
            if (e == 0.0) continue;
            for (size_t bins : {size_t{1}, size_t{7}, size_t{2048}}) {
              std::vector<uint64_t> an(bins), ap(bins), sn(bins), sp(bins);
              const double scale = static_cast<double>(bins) / e;
              AddToHistogram(x.data(), static_cast<int64_t>(n), scale, bins, an.data(), ap.data(), true);
              AddToHistogram(x.data(), static_cast<int64_t>(n), scale, bins, sn.data(), sp.data(), false);
              EXPECT_EQ(an, sn);
              EXPECT_EQ(ap, sp);
              ++checked;
            }
          }
        }
      }
  EXPECT_GT(checked, 200);
}

// The AVX2 scan assumes a batch holds no NaN and no infinity and falls back
// to the exact loop when it sees one: a single one at every position (in the
// 32-value blocks, either vector of a compared pair, and the tail) must
// still be counted, and the extremes must stay those of the finite values.
TEST(ObserverScan, Avx2ScanCountsOneNonFiniteValueAnywhere) {
  if (!__builtin_cpu_supports("avx2")) GTEST_SKIP() << "no AVX2";
  const float inf = std::numeric_limits<float>::infinity();
  int checked = 0;
  for (size_t n : {size_t{32}, size_t{45}, size_t{96}, size_t{131}})
    for (float odd : {std::numeric_limits<float>::quiet_NaN(), inf, -inf})
      for (size_t at = 0; at < n; ++at) {
        std::vector<float> x = Values(n, static_cast<uint32_t>(n + at), 1 + static_cast<int>(at % 2));
        x[at] = odd;
        const ValueScan a = ScanValues(x.data(), static_cast<int64_t>(n), true);
        const ValueScan s = ScanValues(x.data(), static_cast<int64_t>(n), false);
        ASSERT_EQ(a.finite, s.finite) << n << " " << odd << " at " << at;
        ASSERT_EQ(a.nan, s.nan) << n << " " << odd << " at " << at;
        ASSERT_EQ(a.inf, s.inf) << n << " " << odd << " at " << at;
        ASSERT_EQ(Bits(a.lo), Bits(s.lo)) << n << " " << odd << " at " << at;
        ASSERT_EQ(Bits(a.hi), Bits(s.hi)) << n << " " << odd << " at " << at;
        ++checked;
      }
  EXPECT_EQ(checked, 3 * (32 + 45 + 96 + 131));
}

TEST(ObserverScan, ScalarPassesOnAHandCase) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {-0.0f, 2.0f, nan, 0.0f, -inf, -1.5f, 4.0f, 3.99f};
  for (bool avx2 : {false, true}) {
    if (avx2 && !__builtin_cpu_supports("avx2")) continue;
    const ValueScan s = ScanValues(x.data(), static_cast<int64_t>(x.size()), avx2);
    EXPECT_EQ(s.lo, -1.5f);
    EXPECT_EQ(s.hi, 4.0f);
    EXPECT_EQ(s.finite, 6u);
    EXPECT_EQ(s.nan, 1u);
    EXPECT_EQ(s.inf, 1u);
    std::vector<uint64_t> neg(4), pos(4);  // edge 4: bins of width 1
    AddToHistogram(x.data(), static_cast<int64_t>(x.size()), 1.0, 4, neg.data(), pos.data(), avx2);
    EXPECT_EQ(neg, (std::vector<uint64_t>{0, 1, 0, 0}));  // -1.5
    EXPECT_EQ(pos, (std::vector<uint64_t>{2, 0, 1, 2}));  // -0.0, 0.0 | 2.0 | 4.0 (closed last bin), 3.99
  }
}

// Batches split over threads (calibration with num_threads > 1) give what one
// pass gives, bit for bit: counts add up, and the chunks' extremes combine in
// order so the first of equal ones (0.0 vs -0.0) still wins, also when the
// zero extreme sits in a later chunk than an equal one of the other sign.
TEST(ObserverScan, ThreadSplitPassesMatchOnePass) {
  const int64_t n = 3 * kMinValuesPerThread + 5;
  int checked = 0;
  for (int flavour = 0; flavour < 3; ++flavour)
    for (int zeros = 0; zeros < 2; ++zeros) {
      std::vector<float> x = Values(static_cast<size_t>(n), 77 + static_cast<uint32_t>(flavour), flavour);
      if (zeros) {
        // Only zeros of both signs and positives / negatives: the zero extreme
        // is -0.0 in the first chunk and 0.0 in the others.
        for (int64_t i = 0; i < n; ++i)
          x[static_cast<size_t>(i)] = std::isfinite(x[static_cast<size_t>(i)])
                                          ? (flavour == 2 ? -1.0f : 1.0f) * std::fabs(x[static_cast<size_t>(i)])
                                          : 1.0f;
        x[5] = -0.0f;
        x[static_cast<size_t>(n) - 3] = 0.0f;
      }
      for (bool avx2 : {false, true}) {
        if (avx2 && !__builtin_cpu_supports("avx2")) continue;
        const ValueScan one = ScanValues(x.data(), n, avx2, 1);
        const double edge =
            std::max(std::fabs(static_cast<double>(one.lo)), std::fabs(static_cast<double>(one.hi))) * 1.5;
        std::vector<uint64_t> n1(2048), p1(2048);
        AddToHistogram(x.data(), n, 2048 / edge, 2048, n1.data(), p1.data(), avx2, 1);
        for (int threads : {2, 3, 4}) {
          const ValueScan split = ScanValues(x.data(), n, avx2, threads);
          EXPECT_EQ(Bits(split.lo), Bits(one.lo)) << flavour << " " << zeros << " " << threads;
          EXPECT_EQ(Bits(split.hi), Bits(one.hi)) << flavour << " " << zeros << " " << threads;
          EXPECT_EQ(split.finite, one.finite);
          EXPECT_EQ(split.nan, one.nan);
          EXPECT_EQ(split.inf, one.inf);
          std::vector<uint64_t> nt(2048), pt(2048);
          AddToHistogram(x.data(), n, 2048 / edge, 2048, nt.data(), pt.data(), avx2, threads);
          EXPECT_EQ(nt, n1);
          EXPECT_EQ(pt, p1);
          ++checked;
        }
      }
    }
  EXPECT_GE(checked, 18);
  // The hand case: the zero extremes are -0.0 (first) and 0.0.
  std::vector<float> z(static_cast<size_t>(n), 1.0f);
  z[3] = -0.0f;
  z[static_cast<size_t>(n) - 1] = 0.0f;
  const ValueScan s = ScanValues(z.data(), n, false, 4);
  EXPECT_EQ(Bits(s.lo), Bits(-0.0f));
  EXPECT_EQ(s.hi, 1.0f);
  EXPECT_EQ(s.finite, static_cast<uint64_t>(n));
  // Threads: none inside a parallel region, at most one per kMinValuesPerThread values.
  EXPECT_EQ(PassThreads(kMinValuesPerThread - 1), 1);
  EXPECT_LE(PassThreads(2 * kMinValuesPerThread), 2);
}

// Values that stress ScanAndCount's float32 bins: products on and within a
// few ulps of every bin edge, values clipped at the histogram's edge (as
// ReLU6 outputs are at 6), and magnitudes whose scale leaves the float range
// (the double path). `edge`: the edge the values are made for.
std::vector<float> EdgeValues(size_t num_bins, double edge, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> x;
  const double scale = static_cast<double>(num_bins) / edge;
  for (size_t k = 0; k <= num_bins; ++k) {
    float v = static_cast<float>(static_cast<double>(k) / scale);
    for (int step = 0; step < 4; ++step) v = std::nextafter(v, 0.0f);
    for (int step = 0; step < 9; ++step, v = std::nextafter(v, 2.0f * static_cast<float>(edge) + 1.0f))
      if (std::fabs(static_cast<double>(v)) <= edge) x.push_back(rng() % 2 ? v : -v);
  }
  for (size_t k = 0; k < num_bins; ++k) x.push_back(static_cast<float>(edge));  // clipped
  std::shuffle(x.begin(), x.end(), rng);
  return x;
}

// ScanAndCount against the two scalar passes, bit for bit: the same scan,
// and the same bins when the batch fits under the edge, untouched bins when
// it does not. On both loops, split over threads, for the random values
// above, values on bin edges, clipped values, and edges whose scale leaves the
// float range.
TEST(ObserverScan, ScanAndCountMatchesTheTwoScalarPasses) {
  std::vector<std::vector<float>> batches;
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{1000}, size_t{4099}, size_t{20000}})
    for (int flavour = 0; flavour < 3; ++flavour) batches.push_back(Values(n, 9 + static_cast<uint32_t>(n), flavour));
  for (double edge : {6.0, 0.37, 1e-25, 1e30})
    for (size_t bins : {size_t{7}, size_t{2048}}) batches.push_back(EdgeValues(bins, edge, 5));
  int checked = 0, not_counted = 0;
  for (const std::vector<float>& x : batches) {
    const int64_t n = static_cast<int64_t>(x.size());
    const ValueScan reference = ScanValues(x.data(), n, false);
    const double max_abs =
        std::max(std::fabs(static_cast<double>(reference.lo)), std::fabs(static_cast<double>(reference.hi)));
    for (double factor : {1.0, 4.0, 0.5}) {
      const double edge = reference.finite > 0 && max_abs > 0.0 ? max_abs * factor : 1.0;
      for (size_t bins : {size_t{1}, size_t{7}, size_t{2048}}) {
        // Bins that already hold counts: the pass must add to them.
        std::vector<uint64_t> want_negative(bins, 3), want_positive(bins, 5);
        const bool fits = reference.finite == 0 || max_abs <= edge;
        if (fits)
          AddToHistogram(x.data(), n, static_cast<double>(bins) / edge, bins, want_negative.data(),
                         want_positive.data(), false);
        for (bool avx2 : {false, true}) {
          if (avx2 && !__builtin_cpu_supports("avx2")) continue;
          for (int threads : {1, 2, 3}) {
            std::vector<uint64_t> negative(bins, 3), positive(bins, 5);
            bool counted = !fits;
            const ValueScan s =
                ScanAndCount(x.data(), n, edge, bins, negative.data(), positive.data(), avx2, threads, &counted);
            const std::string where = "n " + std::to_string(n) + " edge " + std::to_string(edge) + " bins " +
                                      std::to_string(bins) + (avx2 ? " avx2" : " scalar") + " threads " +
                                      std::to_string(threads);
            EXPECT_EQ(counted, fits) << where;
            EXPECT_EQ(s.finite, reference.finite) << where;
            EXPECT_EQ(s.nan, reference.nan) << where;
            EXPECT_EQ(s.inf, reference.inf) << where;
            if (reference.finite > 0) {
              EXPECT_EQ(Bits(s.lo), Bits(reference.lo)) << where;
              EXPECT_EQ(Bits(s.hi), Bits(reference.hi)) << where;
            }
            EXPECT_EQ(negative, want_negative) << where;
            EXPECT_EQ(positive, want_positive) << where;
            ++checked;
            not_counted += counted ? 0 : 1;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 500);
  EXPECT_GT(not_counted, 100);
}

// The hand case, on both loops: edge 4 over 4 bins, so bins of width 1.
TEST(ObserverScan, ScanAndCountOnAHandCase) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {-0.0f, 2.0f, nan, 0.0f, -inf, -1.5f, 4.0f, 3.99f, -1.0f};
  for (bool avx2 : {false, true}) {
    if (avx2 && !__builtin_cpu_supports("avx2")) continue;
    std::vector<uint64_t> neg(4), pos(4);
    bool counted = false;
    const ValueScan s =
        ScanAndCount(x.data(), static_cast<int64_t>(x.size()), 4.0, 4, neg.data(), pos.data(), avx2, 1, &counted);
    EXPECT_TRUE(counted);
    EXPECT_EQ(s.lo, -1.5f);
    EXPECT_EQ(s.hi, 4.0f);
    EXPECT_EQ(s.finite, 7u);
    EXPECT_EQ(s.nan, 1u);
    EXPECT_EQ(s.inf, 1u);
    EXPECT_EQ(neg, (std::vector<uint64_t>{0, 2, 0, 0}));  // -1.5, -1.0 (a bin edge)
    EXPECT_EQ(pos, (std::vector<uint64_t>{2, 0, 1, 2}));  // -0.0, 0.0 | 2.0 | 4.0 (closed last bin), 3.99
    // An edge of 3.5 does not cover 4.0: the scan, and no counts.
    std::vector<uint64_t> neg2(4, 1), pos2(4, 1);
    const ValueScan t =
        ScanAndCount(x.data(), static_cast<int64_t>(x.size()), 3.5, 4, neg2.data(), pos2.data(), avx2, 1, &counted);
    EXPECT_FALSE(counted);
    EXPECT_EQ(t.hi, 4.0f);
    EXPECT_EQ(neg2, (std::vector<uint64_t>(4, 1)));
    EXPECT_EQ(pos2, (std::vector<uint64_t>(4, 1)));
  }
}

}  // namespace
}  // namespace mixq::quant
