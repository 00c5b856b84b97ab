// Conv2D: 2-D convolution with groups (depthwise when group == channels),
// dilation, strides, explicit or SAME padding, NCHW / NHWC activations and
// OIHW / OHWI / HWCN filters.
#include "ops/conv2d/conv_params.h"
#include "ops/conv2d/cpu.h"
#include "ops/op_util.h"

namespace mixq::ops {

namespace {

Status InferConv(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                 std::vector<ValueInfo>& outputs) {
  ConvGeometry g;
  MIXQ_RETURN_IF_ERROR(ComputeConv2DGeometry(attrs, inputs, &g));
  outputs[0].dtype = DataType::FLOAT32;
  outputs[0].shape = Physical({g.batch, g.out_channels, g.out_h, g.out_w}, g.output_axes);
  return Status::OK();
}

// Direct convolution, plain loops: the oracle for optimized kernels. T is the
// element type (float, or int32 centered integers), Acc the accumulator
// (double, or int64 for exact integer sums), Out the stored result.
template <typename T, typename Acc, typename Out>
void ConvLoops(const ConvGeometry& g, const std::array<int64_t, 4>& in_s, const std::array<int64_t, 4>& f_s,
               const std::array<int64_t, 4>& out_s, const T* x, const T* w, const float* bias, Out* y) {
  const int64_t oc_per_group = g.out_channels / g.group;
  const int64_t ic_per_group = g.in_channels / g.group;
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t oc = 0; oc < g.out_channels; ++oc) {
      const int64_t ic0 = (oc / oc_per_group) * ic_per_group;
      for (int64_t oh = 0; oh < g.out_h; ++oh)
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          Acc acc = bias ? static_cast<Acc>(bias[oc]) : Acc{0};
          for (int64_t ic = 0; ic < ic_per_group; ++ic)
            for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
              const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
              if (ih < 0 || ih >= g.in_h) continue;
              for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
                if (iw < 0 || iw >= g.in_w) continue;
                acc += static_cast<Acc>(x[n * in_s[0] + (ic0 + ic) * in_s[1] + ih * in_s[2] + iw * in_s[3]]) *
                       static_cast<Acc>(w[oc * f_s[0] + ic * f_s[1] + kh * f_s[2] + kw * f_s[3]]);
              }
            }
          y[n * out_s[0] + oc * out_s[1] + oh * out_s[2] + ow * out_s[3]] = static_cast<Out>(acc);
        }
    }
}

template <typename T, typename Acc, typename Out>
Status MakeConvKernel(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  ConvGeometry g;
  MIXQ_RETURN_IF_ERROR(ComputeConv2DGeometry(init.attrs, init.inputs, &g));
  const auto in_s = LogicalStrides(init.inputs[0]->shape, g.input_axes);
  const auto f_s = LogicalStrides(init.inputs[1]->shape, g.filter_axes);
  const auto out_s = LogicalStrides(init.outputs[0].shape, g.output_axes);
  return MakeFunctionKernel(
      [g, in_s, f_s, out_s](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const float* bias = in.size() > 2 ? in[2].Data<float>() : nullptr;
        ConvLoops<T, Acc, Out>(g, in_s, f_s, out_s, in[0].Data<T>(), in[1].Data<T>(), bias, out[0].Data<Out>());
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& Conv2DSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kConv2D;
    s.name = "Conv2D";
    s.summary = "2-D convolution (grouped, depthwise, dilated, strided, padded).";
    s.input_names = {"input", "filter", "bias"};
    s.min_inputs = 2;
    s.attrs = ConvAttrSpecs("OHWI");
    s.infer = InferConv;
    s.reference = MakeConvKernel<float, double, float>;
    s.integer_reference = MakeConvKernel<int32_t, int64_t, int64_t>;
    s.quant.quantizable_inputs = {0, 1};
    s.quant.weight_input = 1;
    s.quant.bias_input = 2;
    s.quant.resolve_weight_axis = FilterOutputAxis;
    s.quant.output_channel_axis = ConvOutputChannelAxis;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
