#include "analysis/error_accumulator.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mixq::analysis {

void ErrorAccumulator::Add(const float* reference, const float* test, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double r = reference[i], t = test[i];
    if (!std::isfinite(r) || !std::isfinite(t)) {
      ++nonfinite_;
      continue;
    }
    const double e = t - r;
    reference_squares_ += r * r;
    test_squares_ += t * t;
    error_squares_ += e * e;
    dot_ += r * t;
    max_abs_ = std::max(max_abs_, std::fabs(e));
  }
  elements_ += n;
}

void ErrorAccumulator::Finish(TensorError* error) const {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  error->elements = elements_;
  error->nonfinite = nonfinite_;
  error->max_abs = max_abs_;
  if (error_squares_ == 0) {
    error->sqnr_db = kInf;
  } else {
    // A zero reference with a nonzero error has no signal at all: -inf dB.
    error->sqnr_db = reference_squares_ > 0 ? 10.0 * std::log10(reference_squares_ / error_squares_) : -kInf;
  }
  error->relative_l2 =
      reference_squares_ > 0 ? std::sqrt(error_squares_ / reference_squares_) : (error_squares_ > 0 ? kInf : 0.0);
  if (reference_squares_ > 0 && test_squares_ > 0)
    error->cosine = dot_ / std::sqrt(reference_squares_ * test_squares_);
  else
    error->cosine = reference_squares_ == test_squares_ ? 1.0 : 0.0;
}

}  // namespace mixq::analysis
