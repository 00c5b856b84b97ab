// ConvTranspose2D: the gradient of Conv2D with respect to its input (a
// "deconvolution"), with groups, dilation, strides, output padding, explicit
// or SAME padding, NCHW / NHWC activations and IHWO / IOHW filters.
#include "ops/conv2d/conv_params.h"
#include "ops/conv_transpose2d/cpu.h"
#include "ops/conv_transpose2d/geometry.h"
#include "ops/op_util.h"

namespace mixq::ops {

namespace {

Status InferConvTranspose(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                          std::vector<ValueInfo>& outputs) {
  TransposedGeometry tg;
  MIXQ_RETURN_IF_ERROR(ComputeTransposedGeometry(attrs, inputs, &tg));
  const ConvGeometry& g = tg.conv;
  outputs[0].dtype = DataType::FLOAT32;
  outputs[0].shape = Physical({g.batch, g.out_channels, g.out_h, g.out_w}, g.output_axes);
  return Status::OK();
}

// Written as a gather (each output sums the inputs that scatter onto it) so
// every output is computed once, with no read-modify-write. T is the element
// type (float, or int32 centered integers), Acc the accumulator (double, or
// int64 for exact integer sums), Out the stored result.
template <typename T, typename Acc, typename Out>
Status MakeTransposedKernel(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  TransposedGeometry tg;
  MIXQ_RETURN_IF_ERROR(ComputeTransposedGeometry(init.attrs, init.inputs, &tg));
  const ConvGeometry g = tg.conv;
  const auto in_s = LogicalStrides(init.inputs[0]->shape, g.input_axes);
  const auto f_s = LogicalStrides(init.inputs[1]->shape, g.filter_axes);
  const auto out_s = LogicalStrides(init.outputs[0].shape, g.output_axes);
  return MakeFunctionKernel(
      [g, in_s, f_s, out_s](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const T* x = in[0].Data<T>();
        const T* w = in[1].Data<T>();
        const float* bias = in.size() > 2 ? in[2].Data<float>() : nullptr;
        Out* y = out[0].Data<Out>();
        const int64_t oc_per_group = g.out_channels / g.group;
        const int64_t ic_per_group = g.in_channels / g.group;
        for (int64_t n = 0; n < g.batch; ++n)
          for (int64_t oc = 0; oc < g.out_channels; ++oc) {
            const int64_t ic0 = (oc / oc_per_group) * ic_per_group;
            const int64_t oc_in_group = oc % oc_per_group;
            for (int64_t oh = 0; oh < g.out_h; ++oh)
              for (int64_t ow = 0; ow < g.out_w; ++ow) {
                Acc acc = bias ? static_cast<Acc>(bias[oc]) : Acc{0};
                for (int64_t ic = ic0; ic < ic0 + ic_per_group; ++ic)
                  for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
                    // Input row ih reaches output row ih * stride - pad_top + kh * dilation.
                    const int64_t th = oh + g.pad_top - kh * g.dilation_h;
                    if (th < 0 || th % g.stride_h != 0 || th / g.stride_h >= g.in_h) continue;
                    const int64_t ih = th / g.stride_h;
                    for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                      const int64_t tw = ow + g.pad_left - kw * g.dilation_w;
                      if (tw < 0 || tw % g.stride_w != 0 || tw / g.stride_w >= g.in_w) continue;
                      const int64_t iw = tw / g.stride_w;
                      acc += static_cast<Acc>(x[n * in_s[0] + ic * in_s[1] + ih * in_s[2] + iw * in_s[3]]) *
                             static_cast<Acc>(w[oc_in_group * f_s[0] + ic * f_s[1] + kh * f_s[2] + kw * f_s[3]]);
                    }
                  }
                y[n * out_s[0] + oc * out_s[1] + oh * out_s[2] + ow * out_s[3]] = static_cast<Out>(acc);
              }
          }
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& ConvTranspose2DSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kConvTranspose2D;
    s.name = "ConvTranspose2D";
    s.summary = "2-D transposed convolution (grouped, dilated, strided, padded, output padding).";
    s.input_names = {"input", "filter", "bias"};
    s.min_inputs = 2;
    s.attrs = ConvAttrSpecs("IHWO");
    s.attrs.push_back({"output_padding", std::vector<int64_t>{0, 0},
                       "extra rows / columns (h, w) at the bottom / right of the output"});
    s.infer = InferConvTranspose;
    s.reference = MakeTransposedKernel<float, double, float>;
    s.integer_reference = MakeTransposedKernel<int32_t, int64_t, int64_t>;
    s.quant.quantizable_inputs = {0, 1};
    s.quant.weight_input = 1;
    s.quant.bias_input = 2;
    // Per-axis filter scales are per logical O (output channels within a
    // group): with several groups one scale serves channel c of every group.
    s.quant.resolve_weight_axis = FilterOutputAxis;
    s.quant.output_channel_axis = ConvOutputChannelAxis;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
