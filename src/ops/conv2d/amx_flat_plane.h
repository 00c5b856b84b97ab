// The flat padded plane of mixq's implicit-GEMM AMX convolutions
// ("amx-f16-conv", "amx-bf16-conv"): the input, zero-padded, rows `pitch`
// pixels wide (the padded width rounded up to a multiple of the stride).
// Output pixel (y, x) is GEMM row q = y * row_pitch + x (row_pitch = pitch
// / stride), and its input pixel for tap (dy, dx) is plane pixel stride * q
// + offsets[tap]: 16 consecutive rows q are one tile load, stride pixels
// apart. With stride 2 the plane's rows are stored by phase (the even
// padded rows, then the odd ones: plane row (yp % 2) * (height / 2) + yp /
// 2), so that output row y + 1's input rows for a tap follow output row
// y's, as its GEMM rows do. Rows q past the output's width read the padding
// or the next row; the kernels drop them. Zero pixels after the image keep
// the last block's loads inside the plane.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "ops/amx_jobs.h"
#include "ops/conv2d/conv_params.h"

namespace mixq::ops {

struct AmxFlatPlane {
  int64_t stride = 1;
  int64_t pitch = 0;             // plane pixels a row
  int64_t row_pitch = 0;         // GEMM rows an output row: pitch / stride
  int64_t height = 0;            // padded rows, rounded up to a multiple of the stride
  int64_t m = 0;                 // GEMM rows: out_h x row_pitch
  int64_t pixels = 0;            // plane pixels, the zero ones after the image included
  std::vector<int64_t> offsets;  // per tap: its plane pixel offset

  // The plane row of padded input row `padded_row`.
  int64_t RowOf(int64_t padded_row) const { return padded_row % stride * (height / stride) + padded_row / stride; }
};

// The plane of a convolution with stride_h == stride_w (1 or 2).
inline AmxFlatPlane AmxFlatPlaneOf(const ConvGeometry& g) {
  AmxFlatPlane p;
  p.stride = g.stride_h;
  const int64_t padded_w = g.in_w + g.pad_left + g.pad_right, padded_h = g.in_h + g.pad_top + g.pad_bottom;
  p.row_pitch = (padded_w + p.stride - 1) / p.stride;
  p.pitch = p.row_pitch * p.stride;
  p.height = (padded_h + p.stride - 1) / p.stride * p.stride;
  p.m = g.out_h * p.row_pitch;
  int64_t largest = 0;
  for (int64_t dy = 0; dy < g.kernel_h; ++dy)
    for (int64_t dx = 0; dx < g.kernel_w; ++dx) {
      // Output (y, x) reads padded (stride y + dy d, stride x + dx d): plane
      // row y + RowOf(dy d), column stride x + dx d.
      p.offsets.push_back(p.RowOf(dy * g.dilation_h) * p.pitch + dx * g.dilation_w);
      largest = std::max(largest, p.offsets.back());
    }
  // The last block's last row reads stride * (blocks * 32 - 1) + the largest offset.
  const int64_t last_q = (p.m + kAmxBlockRows - 1) / kAmxBlockRows * kAmxBlockRows - 1;
  p.pixels = std::max(p.height * p.pitch, p.stride * last_q + largest + 1);
  return p;
}

}  // namespace mixq::ops
