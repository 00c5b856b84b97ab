// Test helper: an optimized Conv2D / ConvTranspose2D kernel against the
// reference (DESIGN rule 1) on one configuration.
//
// Tolerance (float32): |opt - ref| <= (8 * K * 2^-24 + 1e-7) * max|x| * max|w|,
// K = the products summed per output: the reference sums in double, oneDNN in
// float in another order (and with FMA), so each may round up to K times.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/op_kind.h"

namespace mixq::testing {

struct ConvCase {
  const char* name;
  int64_t n, c, h, w, o, kh, kw, group;
  std::vector<int64_t> strides, pads, dilations;
  std::string padding_mode, input_layout, filter_layout, output_layout;
  bool constant_filter, bias;
  float magnitude;                           // inputs are uniform in [-magnitude, magnitude]
  std::vector<int64_t> output_padding = {};  // ConvTranspose2D only
};

// `kind`: OpKind::kConv2D (filters OIHW / OHWI / HWCN) or
// OpKind::kConvTranspose2D (filters IOHW / IHWO). `kernel`: the registered
// kernel to run (null: the one selection picks).
void ExpectOptimizedConvMatchesReference(OpKind kind, const ConvCase& c, const char* kernel = nullptr);

}  // namespace mixq::testing
