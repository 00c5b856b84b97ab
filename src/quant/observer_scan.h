// The passes of TensorObserver::Observe over a batch of floats: a scan
// (range and counts), a histogram, and both in one pass. Scalar and AVX2
// loops are picked at run time; both give identical results, bit for bit,
// which tests/unit/observer_scan_test.cc checks on the path the CPU would not
// pick too. Calibration observes every tensor of the network on
// every sample, so these loops are as hot as the float kernels themselves.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mixq::quant {

struct ValueScan {
  float lo = 0.0f, hi = 0.0f;  // min / max of the finite values (the first of equal ones: -0.0 vs 0.0)
  uint64_t finite = 0, nan = 0, inf = 0;
};

// True when this CPU runs the AVX2 loops.
bool ObserverUsesAvx2();

// Threads the two passes over a batch of n values may use: the OpenMP
// threads available here (inside Enqueue, the calibration context's
// num_threads) but at least kMinValuesPerThread values each, and 1 inside a
// parallel region. Splitting changes no result: the chunks' scans combine in
// order (the first of equal extremes still wins) and their counts add up.
constexpr int64_t kMinValuesPerThread = int64_t{1} << 16;
int PassThreads(int64_t n);

ValueScan ScanValues(const float* x, int64_t n, bool avx2, int threads = 1);

// For every finite x[i]: bin min(size_t(|double(x[i])| * scale), num_bins - 1)
// of `negative` (x < 0) or `positive` (x >= 0, -0.0 included) gains one. Every
// finite |x| * scale must be below 2^31 (the observer's edge covers the batch).
void AddToHistogram(const float* x, int64_t n, double scale, size_t num_bins, uint64_t* negative, uint64_t* positive,
                    bool avx2, int threads = 1);

// ScanValues and AddToHistogram at scale num_bins / edge (edge > 0) in one
// pass over x, for a batch that the histogram's edge already covers (the
// common case once an observer has seen a sample). When every finite |x| is
// at most `edge` the bins gain the batch and *counted is true; otherwise the
// bins are left as they were and *counted is false: the caller grows the edge
// and calls AddToHistogram. Either way the scan is returned. The same results,
// bit for bit, as the two passes, on either path. Its counts go through
// num_bins-sized uint32 scratch per thread, so it pays from about
// 2 * num_bins values on (kMinCountedPerBin).
constexpr int64_t kMinCountedPerBin = 2;
ValueScan ScanAndCount(const float* x, int64_t n, double edge, size_t num_bins, uint64_t* negative, uint64_t* positive,
                       bool avx2, int threads, bool* counted);

}  // namespace mixq::quant
