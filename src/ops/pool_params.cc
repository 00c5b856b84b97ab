#include "ops/pool_params.h"

#include <algorithm>

#include "ops/op_util.h"

namespace mixq::ops {

std::vector<AttrSpec> PoolAttrSpecs(bool with_dilations) {
  std::vector<AttrSpec> specs = {
      {"kernel", std::vector<int64_t>{2, 2}, "window (h, w)"},
      {"strides", std::vector<int64_t>{2, 2}, "stride (h, w)"},
      {"pads", std::vector<int64_t>{0, 0, 0, 0}, "padding (top, bottom, left, right), EXPLICIT mode"},
      {"ceil_mode", int64_t{0}, "1: round the output size up"},
      {"padding_mode", std::string("EXPLICIT"), "EXPLICIT, SAME_UPPER, SAME_LOWER or VALID"},
      {"layout", std::string("NHWC"), "NCHW or NHWC"},
  };
  if (with_dilations) specs.push_back({"dilations", std::vector<int64_t>{1, 1}, "dilation (h, w)"});
  return specs;
}

Status ReadPoolGeometry(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, bool with_dilations,
                        PoolGeometry* g) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  const ValueInfo& input = *inputs[0];
  MIXQ_RETURN_IF_ERROR(ExpectRank(input, 4, "input"));
  MIXQ_RETURN_IF_ERROR(ExpectFloat(input, "input"));
  if (!ActivationAxes(attrs.Str("layout"), &g->axes))
    return InvalidArgument("attribute 'layout' must be NCHW or NHWC, got '", attrs.Str("layout"), "'");
  auto kernel = attrs.Ints("kernel"), strides = attrs.Ints("strides"), pads = attrs.Ints("pads");
  auto dilations = with_dilations ? attrs.Ints("dilations") : std::vector<int64_t>{1, 1};
  if (kernel.size() != 2 || kernel[0] < 1 || kernel[1] < 1)
    return InvalidArgument("attribute 'kernel' must be 2 values >= 1, got ", ir::ShapeString(kernel));
  if (strides.size() != 2 || strides[0] < 1 || strides[1] < 1)
    return InvalidArgument("attribute 'strides' must be 2 values >= 1, got ", ir::ShapeString(strides));
  if (dilations.size() != 2 || dilations[0] < 1 || dilations[1] < 1)
    return InvalidArgument("attribute 'dilations' must be 2 values >= 1, got ", ir::ShapeString(dilations));
  if (pads.size() != 4 || pads[0] < 0 || pads[1] < 0 || pads[2] < 0 || pads[3] < 0)
    return InvalidArgument("attribute 'pads' must be 4 values >= 0, got ", ir::ShapeString(pads));
  MIXQ_RETURN_IF_ERROR(CheckWindowAttr("kernel", kernel));
  MIXQ_RETURN_IF_ERROR(CheckWindowAttr("strides", strides));
  MIXQ_RETURN_IF_ERROR(CheckWindowAttr("dilations", dilations));
  MIXQ_RETURN_IF_ERROR(CheckWindowAttr("pads", pads));
  g->kernel_h = kernel[0];
  g->kernel_w = kernel[1];
  g->stride_h = strides[0];
  g->stride_w = strides[1];
  g->dilation_h = dilations[0];
  g->dilation_w = dilations[1];
  g->pad_top = pads[0];
  g->pad_bottom = pads[1];
  g->pad_left = pads[2];
  g->pad_right = pads[3];
  if (g->pad_top >= g->kernel_h * g->dilation_h || g->pad_left >= g->kernel_w * g->dilation_w)
    return InvalidArgument("padding ", ir::ShapeString(pads), " must be smaller than the kernel ",
                           ir::ShapeString(kernel));
  g->ceil_mode = attrs.Int("ceil_mode") != 0;
  auto dims = Logical(input.shape, g->axes);
  g->batch = dims[0];
  g->channels = dims[1];
  g->in_h = dims[2];
  g->in_w = dims[3];
  const std::string mode = attrs.Str("padding_mode");
  MIXQ_RETURN_IF_ERROR(
      ResolvePadding(mode, g->in_h, g->kernel_h, g->stride_h, g->dilation_h, &g->pad_top, &g->pad_bottom));
  MIXQ_RETURN_IF_ERROR(
      ResolvePadding(mode, g->in_w, g->kernel_w, g->stride_w, g->dilation_w, &g->pad_left, &g->pad_right));
  g->out_h =
      WindowOutputSize(g->in_h, g->kernel_h, g->stride_h, g->pad_top, g->pad_bottom, g->dilation_h, g->ceil_mode);
  g->out_w =
      WindowOutputSize(g->in_w, g->kernel_w, g->stride_w, g->pad_left, g->pad_right, g->dilation_w, g->ceil_mode);
  if (g->out_h == 0 || g->out_w == 0)
    return InvalidArgument("the pooling window ", ir::ShapeString(kernel), " is larger than the padded input (",
                           g->in_h, "x", g->in_w, ")");
  return Status::OK();
}

WholeWindows WholeWindowsOf(const PoolGeometry& g, int64_t oh) {
  WholeWindows w;
  w.kh0 = w.kh1 = g.kernel_h;
  for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
    const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
    if (ih < 0 || ih >= g.in_h) continue;
    if (w.kh0 == g.kernel_h) w.kh0 = kh;
    w.kh1 = kh + 1;
  }
  const int64_t span = (g.kernel_w - 1) * g.dilation_w;
  w.ow0 = std::min(g.out_w, (g.pad_left + g.stride_w - 1) / g.stride_w);
  const int64_t last = g.in_w - 1 - span + g.pad_left;  // the largest ow * stride_w whose window is inside
  w.ow1 = last < 0 ? w.ow0 : std::max(w.ow0, std::min(g.out_w, last / g.stride_w + 1));
  return w;
}

int64_t AvgPoolAxisCount(int64_t start, int64_t kernel, int64_t in, int64_t pad_begin, int64_t pad_end,
                         bool count_include_pad) {
  const int64_t lo = count_include_pad ? -pad_begin : 0;
  const int64_t hi = count_include_pad ? in + pad_end : in;
  return std::max<int64_t>(0, std::min(start + kernel, hi) - std::max(start, lo));
}

}  // namespace mixq::ops
