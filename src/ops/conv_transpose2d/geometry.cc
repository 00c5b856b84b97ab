#include "ops/conv_transpose2d/geometry.h"

#include <algorithm>

#include "ops/op_util.h"

namespace mixq::ops {

namespace {

// Output size of one axis; -1 when the input size is only known at run time.
int64_t TransposedOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin,
                             int64_t pad_end, int64_t output_pad) {
  if (in < 0) return -1;
  return (in - 1) * stride - pad_begin - pad_end + dilation * (kernel - 1) + output_pad + 1;
}

// ONNX ConvTranspose auto_pad: the output is in * stride and the padding is
// whatever makes the size equation hold. Negative totals (a 1x1 kernel with
// stride 2) are clamped to 0 as ONNX Runtime does: the extra output positions
// then only receive the bias.
Status ResolveTransposedPadding(const std::string& mode, int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                                int64_t output_pad, int64_t* pad_begin, int64_t* pad_end) {
  if (mode == "EXPLICIT") return Status::OK();
  if (mode == "VALID") {
    *pad_begin = *pad_end = 0;
    return Status::OK();
  }
  if (mode != "SAME_UPPER" && mode != "SAME_LOWER")
    return InvalidArgument("attribute 'padding_mode' must be EXPLICIT, SAME_UPPER, SAME_LOWER or VALID, got '", mode,
                           "'");
  if (in < 0) {  // unknown until the kernel is prepared for a concrete shape
    *pad_begin = *pad_end = 0;
    return Status::OK();
  }
  const int64_t out = in * stride;
  const int64_t total = std::max<int64_t>(0, stride * (in - 1) + output_pad + ((kernel - 1) * dilation + 1) - out);
  const int64_t small = total / 2, large = total - small;
  *pad_begin = mode == "SAME_UPPER" ? small : large;
  *pad_end = mode == "SAME_UPPER" ? large : small;
  return Status::OK();
}

}  // namespace

Status ComputeTransposedGeometry(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                                 TransposedGeometry* tg) {
  ConvGeometry* g = &tg->conv;
  MIXQ_RETURN_IF_ERROR(ReadConvGeometry(attrs, inputs, /*transposed=*/true, g));
  auto output_padding = attrs.Ints("output_padding");
  if (output_padding.size() != 2 || output_padding[0] < 0 || output_padding[1] < 0)
    return InvalidArgument("attribute 'output_padding' must be 2 values >= 0, got ", ir::ShapeString(output_padding));
  MIXQ_RETURN_IF_ERROR(CheckWindowAttr("output_padding", output_padding));
  tg->output_pad_h = output_padding[0];
  tg->output_pad_w = output_padding[1];
  const std::string mode = attrs.Str("padding_mode");
  MIXQ_RETURN_IF_ERROR(ResolveTransposedPadding(mode, g->in_h, g->kernel_h, g->stride_h, g->dilation_h,
                                                tg->output_pad_h, &g->pad_top, &g->pad_bottom));
  MIXQ_RETURN_IF_ERROR(ResolveTransposedPadding(mode, g->in_w, g->kernel_w, g->stride_w, g->dilation_w,
                                                tg->output_pad_w, &g->pad_left, &g->pad_right));
  if (mode == "SAME_UPPER" || mode == "SAME_LOWER") {
    g->out_h = g->in_h < 0 ? -1 : g->in_h * g->stride_h;
    g->out_w = g->in_w < 0 ? -1 : g->in_w * g->stride_w;
  } else {
    g->out_h = TransposedOutputSize(g->in_h, g->kernel_h, g->stride_h, g->dilation_h, g->pad_top, g->pad_bottom,
                                    tg->output_pad_h);
    g->out_w = TransposedOutputSize(g->in_w, g->kernel_w, g->stride_w, g->dilation_w, g->pad_left, g->pad_right,
                                    tg->output_pad_w);
  }
  if ((g->in_h >= 0 && g->out_h < 1) || (g->in_w >= 0 && g->out_w < 1))
    return InvalidArgument("attribute 'pads' ", ir::ShapeString(attrs.Ints("pads")), " crops the whole output (",
                           g->out_h, "x", g->out_w, ")");
  return Status::OK();
}

}  // namespace mixq::ops
