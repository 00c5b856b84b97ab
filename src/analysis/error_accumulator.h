// Running sums behind TensorError (include/mixq/analysis.h), so the metrics
// over many samples never need the samples kept in memory.
#pragma once

#include <cstdint>

#include "mixq/analysis.h"

namespace mixq::analysis {

class ErrorAccumulator {
 public:
  // reference: the float32 run; test: the run under analysis; n elements each.
  void Add(const float* reference, const float* test, int64_t n);
  // The metrics of everything added so far, labelled with `error`'s names.
  void Finish(TensorError* error) const;

 private:
  // Sums in double: a tensor of 10^7 elements keeps ~9 significant digits.
  double reference_squares_ = 0, test_squares_ = 0, error_squares_ = 0, dot_ = 0, max_abs_ = 0;
  int64_t elements_ = 0, nonfinite_ = 0;
};

}  // namespace mixq::analysis
