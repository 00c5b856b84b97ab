// Geometry of 2-D pooling windows, shared by MaxPool2D and AvgPool2D.
#pragma once

#include <vector>

#include "ir/attr.h"
#include "ops/layout.h"
#include "ops/op_schema.h"

namespace mixq::ops {

struct PoolGeometry {
  AxisMap axes;
  int64_t batch = 0, channels = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  bool ceil_mode = false;
};

// kernel, strides, pads, ceil_mode, padding_mode, layout (+ dilations when asked).
std::vector<AttrSpec> PoolAttrSpecs(bool with_dilations);

// Reads attributes and the input shape; computes the output size (-1 when dynamic).
Status ReadPoolGeometry(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, bool with_dilations,
                        PoolGeometry* geometry);

// For output row `oh`: the filter rows inside the image, [kh0, kh1) (ih grows
// with kh, so they are contiguous; empty: kh0 == kh1), and the output
// columns whose whole window lies inside the input columns, [ow0, ow1)
// (ow0 <= ow1 <= out_w). Pooling kernels run those windows at fixed tap
// offsets and the rest through PoolWindowTaps.
struct WholeWindows {
  int64_t kh0 = 0, kh1 = 0, ow0 = 0, ow1 = 0;
};
WholeWindows WholeWindowsOf(const PoolGeometry& g, int64_t oh);

// AvgPool2D's divisor along one axis for a window starting at `start` (may
// be negative): the real input positions it covers, plus with
// count_include_pad the padded ones; positions past in + pad_end exist only
// because of ceil_mode and never count (ONNX / PyTorch).
int64_t AvgPoolAxisCount(int64_t start, int64_t kernel, int64_t in, int64_t pad_begin, int64_t pad_end,
                         bool count_include_pad);

// The window of output pixel (oh, ow) over one channels-last (or blocked)
// image: a pointer to each tap's vector of `pixel` values inside the image,
// in row-major window order; returns how many (padding taps are skipped).
template <typename T>
size_t PoolWindowTaps(const PoolGeometry& g, const T* image, int64_t oh, int64_t ow, int64_t pixel, const T** taps) {
  size_t count = 0;
  for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
    const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
    if (ih < 0 || ih >= g.in_h) continue;
    for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
      const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
      if (iw >= 0 && iw < g.in_w) taps[count++] = image + (ih * g.in_w + iw) * pixel;
    }
  }
  return count;
}

}  // namespace mixq::ops
