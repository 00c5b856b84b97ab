#include "quant/observer_scan.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "quant/observer_scan_parts.h"

namespace mixq::quant {

using scan_parts::Chunk;
using scan_parts::FirstZero;

namespace {

#define MIXQ_OBSERVER_AVX2 __attribute__((target("avx2")))

ValueScan ScanScalar(const float* x, int64_t n) {
  ValueScan s;
  float lo = std::numeric_limits<float>::infinity(), hi = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (std::isnan(v)) {
      ++s.nan;
    } else if (std::isinf(v)) {
      ++s.inf;
    } else {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      ++s.finite;
    }
  }
  s.lo = lo;
  s.hi = hi;
  return s;
}

MIXQ_OBSERVER_AVX2 ValueScan ScanAvx2Exact(const float* x, int64_t n) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  const __m256 neg_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 lo = inf, hi = neg_inf;
  uint64_t finite = 0, nan = 0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 ok = _mm256_cmp_ps(_mm256_and_ps(v, abs_mask), inf, _CMP_LT_OQ);  // finite (NaN: false)
    lo = _mm256_min_ps(lo, _mm256_blendv_ps(inf, v, ok));
    hi = _mm256_max_ps(hi, _mm256_blendv_ps(neg_inf, v, ok));
    finite += static_cast<uint64_t>(__builtin_popcount(static_cast<unsigned>(_mm256_movemask_ps(ok))));
    nan += static_cast<uint64_t>(
        __builtin_popcount(static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)))));
  }
  alignas(32) float l[8], h[8];
  _mm256_store_ps(l, lo);
  _mm256_store_ps(h, hi);
  ValueScan s = ScanScalar(x + i, n - i);
  for (int k = 0; k < 8; ++k) {
    s.lo = std::min(s.lo, l[k]);
    s.hi = std::max(s.hi, h[k]);
  }
  s.finite += finite;
  s.nan += nan;
  s.inf = static_cast<uint64_t>(n) - s.finite - s.nan;
  if (s.finite > 0 && s.lo == 0.0f) s.lo = FirstZero(x, n);
  if (s.finite > 0 && s.hi == 0.0f) s.hi = FirstZero(x, n);
  return s;
}

// Most batches hold no NaN and no infinity. This loop assumes so: vminps /
// vmaxps with the value first return the accumulator when the value is NaN,
// so the extremes skip NaNs; one sticky unordered compare per two vectors
// notes any NaN, and an infinite extreme shows an infinity. Either sends the
// batch to the exact loop, which counts them. Four independent accumulators
// keep the min / max latency off the critical path: PP-OCRv4 rec's
// calibration spent 0.9 ms per sample in the exact loop, whose one chain of
// min / max and two popcounts per vector ran at a third of this one's speed.
MIXQ_OBSERVER_AVX2 ValueScan ScanAvx2(const float* x, int64_t n) {
  constexpr int64_t kStep = 32;
  const int64_t whole = n / kStep * kStep;
  if (whole == 0) return ScanAvx2Exact(x, n);
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  const __m256 neg_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 lo0 = inf, lo1 = inf, lo2 = inf, lo3 = inf;
  __m256 hi0 = neg_inf, hi1 = neg_inf, hi2 = neg_inf, hi3 = neg_inf;
  __m256 unordered01 = _mm256_setzero_ps(), unordered23 = _mm256_setzero_ps();
  for (int64_t i = 0; i < whole; i += kStep) {
    const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    const __m256 v2 = _mm256_loadu_ps(x + i + 16), v3 = _mm256_loadu_ps(x + i + 24);
    lo0 = _mm256_min_ps(v0, lo0);
    lo1 = _mm256_min_ps(v1, lo1);
    lo2 = _mm256_min_ps(v2, lo2);
    lo3 = _mm256_min_ps(v3, lo3);
    hi0 = _mm256_max_ps(v0, hi0);
    hi1 = _mm256_max_ps(v1, hi1);
    hi2 = _mm256_max_ps(v2, hi2);
    hi3 = _mm256_max_ps(v3, hi3);
    unordered01 = _mm256_or_ps(unordered01, _mm256_cmp_ps(v0, v1, _CMP_UNORD_Q));
    unordered23 = _mm256_or_ps(unordered23, _mm256_cmp_ps(v2, v3, _CMP_UNORD_Q));
  }
  const __m256 lo = _mm256_min_ps(_mm256_min_ps(lo0, lo1), _mm256_min_ps(lo2, lo3));
  const __m256 hi = _mm256_max_ps(_mm256_max_ps(hi0, hi1), _mm256_max_ps(hi2, hi3));
  const bool any_nan = _mm256_movemask_ps(_mm256_or_ps(unordered01, unordered23)) != 0;
  const bool any_inf =
      _mm256_movemask_ps(_mm256_or_ps(_mm256_cmp_ps(lo, neg_inf, _CMP_EQ_OQ), _mm256_cmp_ps(hi, inf, _CMP_EQ_OQ))) != 0;
  if (any_nan || any_inf) return ScanAvx2Exact(x, n);
  alignas(32) float l[8], h[8];
  _mm256_store_ps(l, lo);
  _mm256_store_ps(h, hi);
  ValueScan s;
  s.lo = l[0];
  s.hi = h[0];
  for (int k = 1; k < 8; ++k) {
    s.lo = std::min(s.lo, l[k]);
    s.hi = std::max(s.hi, h[k]);
  }
  s.finite = static_cast<uint64_t>(whole);
  scan_parts::Append(&s, ScanAvx2Exact(x + whole, n - whole));
  // Equal zeros of both signs may have met in any order above.
  if (s.lo == 0.0f) s.lo = FirstZero(x, n);
  if (s.hi == 0.0f) s.hi = FirstZero(x, n);
  return s;
}

void HistogramScalar(const float* x, int64_t n, double scale, size_t num_bins, uint64_t* negative, uint64_t* positive) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (!std::isfinite(v)) continue;
    const double magnitude = std::fabs(static_cast<double>(v));
    // |v| == edge maps to num_bins: the last bin is closed on the right.
    const size_t index = std::min(static_cast<size_t>(magnitude * scale), num_bins - 1);
    if (v < 0.0f) {
      ++negative[index];
    } else {
      ++positive[index];
    }
  }
}

// The bin of 8 values at once (the same double product and truncation as the
// scalar loop). Short batches add each lane's count straight into the
// observer's bins. Long ones (most activations) count into a local uint32
// histogram with kCopies copies, lane k into copy k % kCopies, each copy laid
// out as [negative bins | positive bins | one slot for non-finite values];
// the slot of every lane (sign, copy, non-finite) is computed in the vector
// registers, so each lane costs one increment and no branch, and runs of
// values in one bin (most activations sit near 0) are independent chains of
// increments instead of one chain through memory. The copies are summed at
// the end.
MIXQ_OBSERVER_AVX2 void HistogramAvx2(const float* x, int64_t n, double scale, size_t num_bins, uint64_t* negative,
                                      uint64_t* positive) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  const __m256d s = _mm256_set1_pd(scale);
  const __m256i last = _mm256_set1_epi32(static_cast<int32_t>(num_bins - 1));
  constexpr int kCopies = 4;
  const size_t stride = 2 * num_bins + 1;
  const bool split =
      n >= static_cast<int64_t>(4 * num_bins) && n < (int64_t{1} << 31) && stride * kCopies < (size_t{1} << 31);
  thread_local std::vector<uint32_t> local;
  if (split) local.assign(static_cast<size_t>(kCopies) * stride, 0);
  const __m256i positive_offset = _mm256_set1_epi32(static_cast<int32_t>(num_bins));
  const __m256i non_finite_slot = _mm256_set1_epi32(static_cast<int32_t>(2 * num_bins));
  const int32_t c = static_cast<int32_t>(stride);
  const __m256i copy_offset = _mm256_setr_epi32(0, c, 2 * c, 3 * c, 0, c, 2 * c, 3 * c);
  uint32_t* counts = split ? local.data() : nullptr;
  int64_t i = 0;
  alignas(32) int32_t index[8];
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 a = _mm256_and_ps(v, abs_mask);
    const __m256 finite = _mm256_cmp_ps(a, inf, _CMP_LT_OQ);
    // v < 0.0f: the sign bit of a value that is not a zero (-0.0 counts as positive).
    const __m256 neg_sign = _mm256_and_ps(v, _mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_NEQ_OQ));
    // Non-finite lanes become 0 before the product (their bin is never used).
    const __m256 safe = _mm256_and_ps(a, finite);
    const __m128i lo = _mm256_cvttpd_epi32(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(safe)), s));
    const __m128i hi = _mm256_cvttpd_epi32(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(safe, 1)), s));
    const __m256i bin = _mm256_min_epi32(_mm256_set_m128i(hi, lo), last);
    if (split) {
      const __m256i negative_lane = _mm256_srai_epi32(_mm256_castps_si256(neg_sign), 31);
      __m256i slot = _mm256_add_epi32(bin, _mm256_andnot_si256(negative_lane, positive_offset));
      slot = _mm256_blendv_epi8(non_finite_slot, slot, _mm256_castps_si256(finite));
      _mm256_store_si256(reinterpret_cast<__m256i*>(index), _mm256_add_epi32(slot, copy_offset));
      for (int k = 0; k < 8; ++k) ++counts[index[k]];
      continue;
    }
    _mm256_store_si256(reinterpret_cast<__m256i*>(index), bin);
    const unsigned ok = static_cast<unsigned>(_mm256_movemask_ps(finite));
    const unsigned neg = static_cast<unsigned>(_mm256_movemask_ps(neg_sign));
    for (int k = 0; k < 8; ++k)
      if (ok >> k & 1) ++(neg >> k & 1 ? negative : positive)[index[k]];
  }
  if (split)
    for (int copy = 0; copy < kCopies; ++copy) {
      const uint32_t* counted = counts + static_cast<size_t>(copy) * stride;
      for (size_t b = 0; b < num_bins; ++b) {
        negative[b] += counted[b];
        positive[b] += counted[num_bins + b];
      }
    }
  HistogramScalar(x + i, n - i, scale, num_bins, negative, positive);
}

}  // namespace

bool ObserverUsesAvx2() {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
}

int PassThreads(int64_t n) {
  if (omp_in_parallel()) return 1;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), n / kMinValuesPerThread)));
}

namespace {

ValueScan ScanOne(const float* x, int64_t n, bool avx2) {
  return avx2 ? ScanAvx2(x, n) : ScanScalar(x, n);
}

void HistogramOne(const float* x, int64_t n, double scale, size_t num_bins, uint64_t* negative, uint64_t* positive,
                  bool avx2) {
  if (avx2)
    HistogramAvx2(x, n, scale, num_bins, negative, positive);
  else
    HistogramScalar(x, n, scale, num_bins, negative, positive);
}

}  // namespace

ValueScan ScanValues(const float* x, int64_t n, bool avx2, int threads) {
  if (threads <= 1) return ScanOne(x, n, avx2);
  std::vector<ValueScan> scans(static_cast<size_t>(threads));
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int t = 0; t < threads; ++t) {
    int64_t begin, end;
    Chunk(n, threads, t, &begin, &end);
    scans[static_cast<size_t>(t)] = ScanOne(x + begin, end - begin, avx2);
  }
  // In order, keeping the earlier of equal extremes, as one pass would.
  ValueScan s = scans[0];
  for (int t = 1; t < threads; ++t) scan_parts::Append(&s, scans[static_cast<size_t>(t)]);
  return s;
}

void AddToHistogram(const float* x, int64_t n, double scale, size_t num_bins, uint64_t* negative, uint64_t* positive,
                    bool avx2, int threads) {
  if (threads <= 1) return HistogramOne(x, n, scale, num_bins, negative, positive, avx2);
  // Each chunk counts into bins of its own; the counts then add up exactly.
  std::vector<uint64_t> counts(static_cast<size_t>(threads) * 2 * num_bins, 0);
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int t = 0; t < threads; ++t) {
    int64_t begin, end;
    Chunk(n, threads, t, &begin, &end);
    uint64_t* own = counts.data() + static_cast<size_t>(t) * 2 * num_bins;
    HistogramOne(x + begin, end - begin, scale, num_bins, own, own + num_bins, avx2);
  }
  for (int t = 0; t < threads; ++t) {
    const uint64_t* own = counts.data() + static_cast<size_t>(t) * 2 * num_bins;
    for (size_t b = 0; b < num_bins; ++b) {
      negative[b] += own[b];
      positive[b] += own[num_bins + b];
    }
  }
}

}  // namespace mixq::quant
