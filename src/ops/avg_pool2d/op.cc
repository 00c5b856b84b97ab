// AvgPool2D: mean over 2-D windows, ONNX AveragePool semantics for the
// divisor (count_include_pad) and for ceil_mode. On int8 inside an integer
// chain: a rescaling step (ops/int8_chain.h).
#include <algorithm>

#include "ops/int8_chain.h"
#include "ops/op_util.h"
#include "ops/pool_params.h"
#include "ops/quantized_reference.h"
#include "quant/requantize.h"

namespace mixq::ops {

namespace {

Status InferAvgPool(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                    std::vector<ValueInfo>& outputs) {
  PoolGeometry g;
  MIXQ_RETURN_IF_ERROR(ReadPoolGeometry(attrs, inputs, /*with_dilations=*/false, &g));
  outputs[0].dtype = inputs[0]->dtype;
  outputs[0].shape = Physical({g.batch, g.channels, g.out_h, g.out_w}, g.axes);
  return Status::OK();
}

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  PoolGeometry g;
  MIXQ_RETURN_IF_ERROR(ReadPoolGeometry(init.attrs, init.inputs, /*with_dilations=*/false, &g));
  const bool count_include_pad = init.attrs.Int("count_include_pad") != 0;
  const auto in_s = LogicalStrides(init.inputs[0]->shape, g.axes);
  const auto out_s = LogicalStrides(init.outputs[0].shape, g.axes);
  return MakeFunctionKernel(
      [g, in_s, out_s, count_include_pad](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const float* x = in[0].Data<float>();
        float* y = out[0].Data<float>();
        for (int64_t n = 0; n < g.batch; ++n)
          for (int64_t c = 0; c < g.channels; ++c)
            for (int64_t oh = 0; oh < g.out_h; ++oh)
              for (int64_t ow = 0; ow < g.out_w; ++ow) {
                const int64_t h0 = oh * g.stride_h - g.pad_top, w0 = ow * g.stride_w - g.pad_left;
                double sum = 0.0;
                for (int64_t ih = std::max<int64_t>(h0, 0); ih < std::min(h0 + g.kernel_h, g.in_h); ++ih)
                  for (int64_t iw = std::max<int64_t>(w0, 0); iw < std::min(w0 + g.kernel_w, g.in_w); ++iw)
                    sum += x[n * in_s[0] + c * in_s[1] + ih * in_s[2] + iw * in_s[3]];
                const int64_t count =
                    AvgPoolAxisCount(h0, g.kernel_h, g.in_h, g.pad_top, g.pad_bottom, count_include_pad) *
                    AvgPoolAxisCount(w0, g.kernel_w, g.in_w, g.pad_left, g.pad_right, count_include_pad);
                // A window wholly inside an end padding larger than the kernel
                // covers nothing; 0 rather than 0/0 = NaN.
                y[n * out_s[0] + c * out_s[1] + oh * out_s[2] + ow * out_s[3]] =
                    count > 0 ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
              }
        return Status::OK();
      },
      kernel);
}

// The int8 mean (ops/int8_chain.h, a rescaling step): the reference's
// windows and divisor, the centered codes summed in int32, the output stage
// with MeanMultiplier / MeanScale of that divisor.
Status MakeChainReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  if (!RescaleStepSupported(init) || init.inputs.size() != 1)
    return Internal("the int8 AvgPool2D reference does not take this step");
  PoolGeometry g;
  std::vector<ValueInfo> real;
  MIXQ_RETURN_IF_ERROR(ReadPoolGeometry(init.attrs, RealValuedInfos(init, 1, &real), /*with_dilations=*/false, &g));
  const bool count_include_pad = init.attrs.Int("count_include_pad") != 0;
  const auto in_s = LogicalStrides(init.inputs[0]->shape, g.axes);
  const auto out_s = LogicalStrides(init.outputs[0].shape, g.axes);
  const Int8Params in = ParamsOf(*init.inputs[0]), out = ParamsOf(init.outputs[0]);
  const bool int_out = init.outputs[0].dtype == DataType::INT8;
  return MakeFunctionKernel(
      [g, in_s, out_s, count_include_pad, in, out, int_out](const std::vector<TensorView>& inputs,
                                                            const std::vector<TensorView>& outputs) {
        const int8_t* x = inputs[0].Data<const int8_t>();
        for (int64_t n = 0; n < g.batch; ++n)
          for (int64_t c = 0; c < g.channels; ++c)
            for (int64_t oh = 0; oh < g.out_h; ++oh)
              for (int64_t ow = 0; ow < g.out_w; ++ow) {
                const int64_t h0 = oh * g.stride_h - g.pad_top, w0 = ow * g.stride_w - g.pad_left;
                int32_t acc = 0;
                for (int64_t ih = std::max<int64_t>(h0, 0); ih < std::min(h0 + g.kernel_h, g.in_h); ++ih)
                  for (int64_t iw = std::max<int64_t>(w0, 0); iw < std::min(w0 + g.kernel_w, g.in_w); ++iw)
                    acc += x[n * in_s[0] + c * in_s[1] + ih * in_s[2] + iw * in_s[3]] - in.zero_point;
                const int64_t count =
                    AvgPoolAxisCount(h0, g.kernel_h, g.in_h, g.pad_top, g.pad_bottom, count_include_pad) *
                    AvgPoolAxisCount(w0, g.kernel_w, g.in_w, g.pad_left, g.pad_right, count_include_pad);
                const int64_t e = n * out_s[0] + c * out_s[1] + oh * out_s[2] + ow * out_s[3];
                if (int_out)
                  outputs[0].Data<int8_t>()[e] = static_cast<int8_t>(quant::RequantizeOutput(
                      acc, 0.0f, MeanMultiplier(in.scale, count, out.scale), out.zero_point, 8));
                else
                  outputs[0].Data<float>()[e] = quant::DequantizeOutput(acc, 0.0f, MeanScale(in.scale, count));
              }
        return Status::OK();
      },
      kernel, "reference-quantized");
}

bool ChainInput(const ir::Graph&, const ir::Node&, size_t input) {
  return input == 0;
}

}  // namespace

const OpSchema& AvgPool2DSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kAvgPool2D;
    s.name = "AvgPool2D";
    s.summary = "Mean over 2-D windows (default 2x2, stride 2).";
    s.input_names = {"input"};
    s.attrs = PoolAttrSpecs(/*with_dilations=*/false);
    s.attrs.push_back({"count_include_pad", int64_t{0}, "1: padded positions count in the divisor"});
    s.infer = InferAvgPool;
    s.reference = MakeReference;
    s.quant.chain_input = ChainInput;
    s.quant.chain_reference = MakeChainReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
