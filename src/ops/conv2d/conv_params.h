// Geometry of a 2-D convolution, shared by Conv2D and ConvTranspose2D.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "ir/attr.h"
#include "ops/layout.h"
#include "ops/op_schema.h"

namespace mixq::ops {

struct ConvGeometry {
  AxisMap input_axes, filter_axes, output_axes;
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0, kernel_h = 0, kernel_w = 0;
  int64_t stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
};

// The attributes every 2-D convolution has (Conv2D and ConvTranspose2D).
std::vector<AttrSpec> ConvAttrSpecs(const char* default_filter_layout);

// The full geometry of a Conv2D (padding resolved, output size computed).
Status ComputeConv2DGeometry(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                             ConvGeometry* geometry);

// Quantization traits shared by Conv2D and ConvTranspose2D: per-axis filter
// scales run along the filter's logical O axis (wherever filter_layout puts
// it), and the accumulators' channel axis is the output layout's C.
int64_t FilterOutputAxis(const ir::AttrMap& attrs, int64_t rank);
int64_t ConvOutputChannelAxis(const ir::AttrMap& attrs, int64_t rank);

// Reads attributes and input shapes (input, filter, optional bias) into
// `geometry` and checks them; out_h / out_w are left for the caller.
// `transposed`: ConvTranspose filters are (I, O/group, KH, KW) in logical terms.
Status ReadConvGeometry(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, bool transposed,
                        ConvGeometry* geometry);

}  // namespace mixq::ops
