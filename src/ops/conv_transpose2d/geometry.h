// Geometry of a 2-D transposed convolution (padding resolved, output size),
// shared by the reference and the oneDNN kernel.
#pragma once

#include "ops/conv2d/conv_params.h"

namespace mixq::ops {

struct TransposedGeometry {
  ConvGeometry conv;
  int64_t output_pad_h = 0, output_pad_w = 0;
};

Status ComputeTransposedGeometry(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                                 TransposedGeometry* geometry);

}  // namespace mixq::ops
