#include "ops/conv2d/conv_params.h"

#include "ops/op_util.h"

namespace mixq::ops {

std::vector<AttrSpec> ConvAttrSpecs(const char* default_filter_layout) {
  return {
      {"strides", std::vector<int64_t>{1, 1}, "stride (h, w)"},
      {"pads", std::vector<int64_t>{0, 0, 0, 0}, "padding (top, bottom, left, right), EXPLICIT mode"},
      {"dilations", std::vector<int64_t>{1, 1}, "dilation (h, w)"},
      {"group", int64_t{1}, "number of groups; = channels for depthwise"},
      {"padding_mode", std::string("EXPLICIT"), "EXPLICIT, SAME_UPPER, SAME_LOWER or VALID"},
      {"input_layout", std::string("NHWC"), "NCHW or NHWC"},
      {"filter_layout", std::string(default_filter_layout), "filter layout"},
      {"output_layout", std::string("NHWC"), "NCHW or NHWC"},
  };
}

namespace {
Status ReadPair(const ir::AttrMap& attrs, const char* name, int64_t min_value, int64_t* a, int64_t* b) {
  auto v = attrs.Ints(name);
  if (v.size() != 2 || v[0] < min_value || v[1] < min_value)
    return InvalidArgument("attribute '", name, "' must be 2 values >= ", min_value, ", got ", ir::ShapeString(v));
  MIXQ_RETURN_IF_ERROR(CheckWindowAttr(name, v));
  *a = v[0];
  *b = v[1];
  return Status::OK();
}
}  // namespace

Status ReadConvGeometry(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, bool transposed,
                        ConvGeometry* g) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 1, "filter"));
  const ValueInfo& input = *inputs[0];
  const ValueInfo& filter = *inputs[1];
  MIXQ_RETURN_IF_ERROR(ExpectRank(input, 4, "input"));
  MIXQ_RETURN_IF_ERROR(ExpectRank(filter, 4, "filter"));
  if (!ActivationAxes(attrs.Str("input_layout"), &g->input_axes))
    return InvalidArgument("attribute 'input_layout' must be NCHW or NHWC, got '", attrs.Str("input_layout"), "'");
  if (!ActivationAxes(attrs.Str("output_layout"), &g->output_axes))
    return InvalidArgument("attribute 'output_layout' must be NCHW or NHWC, got '", attrs.Str("output_layout"), "'");
  if (!FilterAxes(attrs.Str("filter_layout"), &g->filter_axes))
    return InvalidArgument("attribute 'filter_layout' must be OIHW, OHWI, HWCN, IOHW or IHWO, got '",
                           attrs.Str("filter_layout"), "'");
  MIXQ_RETURN_IF_ERROR(ReadPair(attrs, "strides", 1, &g->stride_h, &g->stride_w));
  MIXQ_RETURN_IF_ERROR(ReadPair(attrs, "dilations", 1, &g->dilation_h, &g->dilation_w));
  auto pads = attrs.Ints("pads");
  if (pads.size() != 4 || pads[0] < 0 || pads[1] < 0 || pads[2] < 0 || pads[3] < 0)
    return InvalidArgument("attribute 'pads' must be 4 values >= 0 (top, bottom, left, right), got ",
                           ir::ShapeString(pads));
  MIXQ_RETURN_IF_ERROR(CheckWindowAttr("pads", pads));
  g->pad_top = pads[0];
  g->pad_bottom = pads[1];
  g->pad_left = pads[2];
  g->pad_right = pads[3];
  g->group = attrs.Int("group");
  if (g->group < 1) return InvalidArgument("attribute 'group' must be >= 1, got ", g->group);

  auto in = Logical(input.shape, g->input_axes);
  auto f = Logical(filter.shape, g->filter_axes);
  g->batch = in[0];
  g->in_channels = in[1];
  g->in_h = in[2];
  g->in_w = in[3];
  g->kernel_h = f[2];
  g->kernel_w = f[3];
  if (g->kernel_h < 1 || g->kernel_w < 1)
    return InvalidArgument("filter ", ir::ShapeString(filter.shape), " has an empty kernel");
  // Conv filters are (O, I/group, ...); ConvTranspose filters are (I, O/group, ...),
  // where I is always the channels of the op's input.
  const int64_t filter_in = transposed ? f[1] : f[1] * g->group;
  g->out_channels = transposed ? f[0] * g->group : f[0];
  if (g->in_channels >= 0 && g->in_channels != filter_in)
    return InvalidArgument("input has ", g->in_channels, " channels but filter ", ir::ShapeString(filter.shape),
                           " with group ", g->group, " expects ", filter_in);
  if (!transposed && g->out_channels % g->group != 0)
    return InvalidArgument("filter output channels ", g->out_channels, " are not divisible by group ", g->group);
  if (transposed && filter_in % g->group != 0)
    return InvalidArgument("input channels ", filter_in, " are not divisible by group ", g->group);
  if (inputs.size() > 2 && inputs[2]) {
    const ValueInfo& bias = *inputs[2];
    if (bias.shape.size() != 1 || (bias.shape[0] >= 0 && bias.shape[0] != g->out_channels))
      return InvalidArgument("bias must have dims [", g->out_channels, "], got ", ir::ShapeString(bias.shape));
    MIXQ_RETURN_IF_ERROR(ExpectFloat(bias, "bias"));
  }
  MIXQ_RETURN_IF_ERROR(ExpectFloat(input, "input"));
  MIXQ_RETURN_IF_ERROR(ExpectFloat(filter, "filter"));
  return Status::OK();
}

int64_t FilterOutputAxis(const ir::AttrMap& attrs, int64_t) {
  AxisMap map;
  return FilterAxes(attrs.Str("filter_layout"), &map) ? map.pos[0] : 0;
}

int64_t ConvOutputChannelAxis(const ir::AttrMap& attrs, int64_t) {
  AxisMap map;
  return ActivationAxes(attrs.Str("output_layout"), &map) ? map.pos[1] : -1;
}

Status ComputeConv2DGeometry(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, ConvGeometry* g) {
  MIXQ_RETURN_IF_ERROR(ReadConvGeometry(attrs, inputs, /*transposed=*/false, g));
  const std::string mode = attrs.Str("padding_mode");
  MIXQ_RETURN_IF_ERROR(
      ResolvePadding(mode, g->in_h, g->kernel_h, g->stride_h, g->dilation_h, &g->pad_top, &g->pad_bottom));
  MIXQ_RETURN_IF_ERROR(
      ResolvePadding(mode, g->in_w, g->kernel_w, g->stride_w, g->dilation_w, &g->pad_left, &g->pad_right));
  g->out_h = WindowOutputSize(g->in_h, g->kernel_h, g->stride_h, g->pad_top, g->pad_bottom, g->dilation_h, false);
  g->out_w = WindowOutputSize(g->in_w, g->kernel_w, g->stride_w, g->pad_left, g->pad_right, g->dilation_w, false);
  if (g->out_h == 0 || g->out_w == 0)
    return InvalidArgument("the dilated kernel (", g->kernel_h, "x", g->kernel_w, ") is larger than the padded input (",
                           g->in_h, "x", g->in_w, ")");
  return Status::OK();
}

}  // namespace mixq::ops
