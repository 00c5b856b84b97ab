// Pieces the observer's passes share (observer_scan.cc, observer_count.cc):
// how a batch splits over threads and how the chunks' scans combine.
#pragma once

#include <cstdint>

#include "quant/observer_scan.h"

namespace mixq::quant::scan_parts {

// Chunk t of `threads` near-equal chunks of n values: [*begin, *end).
inline void Chunk(int64_t n, int threads, int t, int64_t* begin, int64_t* end) {
  *begin = n * t / threads;
  *end = n * (t + 1) / threads;
}

// The scalar loop keeps the first of equal extremes; only zeros of both signs
// can be equal with different bits, so a zero extreme is the first zero.
inline float FirstZero(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (x[i] == 0.0f) return x[i];
  return 0.0f;
}

// `later`'s scan appended to `earlier`'s, as one pass over both would give
// (the earlier of equal extremes wins).
inline void Append(ValueScan* earlier, const ValueScan& later) {
  ValueScan& s = *earlier;
  if (later.finite > 0 && (s.finite == 0 || later.lo < s.lo)) s.lo = later.lo;
  if (later.finite > 0 && (s.finite == 0 || later.hi > s.hi)) s.hi = later.hi;
  s.finite += later.finite;
  s.nan += later.nan;
  s.inf += later.inf;
}

}  // namespace mixq::quant::scan_parts
