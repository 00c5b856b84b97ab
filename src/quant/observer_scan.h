// The two passes of TensorObserver::Observe over a batch of floats, scalar and
// AVX2 (picked at run time; both give identical results, bit for bit, which
// tests/unit/observer_scan_test.cc checks on the path the CPU would not pick
// too). Calibration observes every tensor of the network on every sample, so
// these loops are as hot as the float kernels themselves.
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

ValueScan ScanValues(const float* x, int64_t n, bool avx2);

// For every finite x[i]: bin min(size_t(|double(x[i])| * scale), num_bins - 1)
// of `negative` (x < 0) or `positive` (x >= 0, -0.0 included) gains one. Every
// finite |x| * scale must be below 2^31 (the observer's edge covers the batch).
void AddToHistogram(const float* x, int64_t n, double scale, size_t num_bins, uint64_t* negative, uint64_t* positive,
                    bool avx2);

}  // namespace mixq::quant
