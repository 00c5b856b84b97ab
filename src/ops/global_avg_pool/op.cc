// GlobalAvgPool: mean over the whole spatial extent (H, W) of each channel;
// the output keeps rank 4 with H = W = 1. On int8 inside an integer chain: a
// rescaling step (ops/int8_chain.h).
#include "ops/int8_chain.h"
#include "ops/layout.h"
#include "ops/op_util.h"
#include "ops/quantized_reference.h"
#include "quant/requantize.h"

namespace mixq::ops {

namespace {

struct GlobalPoolParams {
  AxisMap axes;
  int64_t batch = 0, channels = 0, height = 0, width = 0;
};

Status ReadParams(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, GlobalPoolParams* p) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  const ValueInfo& input = *inputs[0];
  MIXQ_RETURN_IF_ERROR(ExpectRank(input, 4, "input"));
  MIXQ_RETURN_IF_ERROR(ExpectFloat(input, "input"));
  if (!ActivationAxes(attrs.Str("layout"), &p->axes))
    return InvalidArgument("attribute 'layout' must be NCHW or NHWC, got '", attrs.Str("layout"), "'");
  auto dims = Logical(input.shape, p->axes);
  p->batch = dims[0];
  p->channels = dims[1];
  p->height = dims[2];
  p->width = dims[3];
  if (p->height == 0 || p->width == 0)
    return InvalidArgument("input ", ir::ShapeString(input.shape), " has an empty spatial extent");
  return Status::OK();
}

Status InferGlobalAvgPool(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                          std::vector<ValueInfo>& outputs) {
  GlobalPoolParams p;
  MIXQ_RETURN_IF_ERROR(ReadParams(attrs, inputs, &p));
  outputs[0].dtype = inputs[0]->dtype;
  outputs[0].shape = Physical({p.batch, p.channels, 1, 1}, p.axes);
  return Status::OK();
}

// Sums in double so large images do not lose the small pixels.
Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  GlobalPoolParams p;
  MIXQ_RETURN_IF_ERROR(ReadParams(init.attrs, init.inputs, &p));
  const auto in_s = LogicalStrides(init.inputs[0]->shape, p.axes);
  const auto out_s = LogicalStrides(init.outputs[0].shape, p.axes);
  return MakeFunctionKernel(
      [p, in_s, out_s](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const float* x = in[0].Data<float>();
        float* y = out[0].Data<float>();
        const double count = static_cast<double>(p.height * p.width);
        for (int64_t n = 0; n < p.batch; ++n)
          for (int64_t c = 0; c < p.channels; ++c) {
            double sum = 0.0;
            for (int64_t h = 0; h < p.height; ++h)
              for (int64_t w = 0; w < p.width; ++w) sum += x[n * in_s[0] + c * in_s[1] + h * in_s[2] + w * in_s[3]];
            y[n * out_s[0] + c * out_s[1]] = static_cast<float>(sum / count);
          }
        return Status::OK();
      },
      kernel);
}

// The int8 mean (ops/int8_chain.h, a rescaling step): the centered codes of
// a plane summed in int64 (exact), the output stage with MeanMultiplier /
// MeanScale of H * W.
Status MakeChainReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  if (!RescaleStepSupported(init) || init.inputs.size() != 1)
    return Internal("the int8 GlobalAvgPool reference does not take this step");
  GlobalPoolParams p;
  std::vector<ValueInfo> real;
  MIXQ_RETURN_IF_ERROR(ReadParams(init.attrs, RealValuedInfos(init, 1, &real), &p));
  const auto in_s = LogicalStrides(init.inputs[0]->shape, p.axes);
  const auto out_s = LogicalStrides(init.outputs[0].shape, p.axes);
  const Int8Params in = ParamsOf(*init.inputs[0]), out = ParamsOf(init.outputs[0]);
  const bool int_out = init.outputs[0].dtype == DataType::INT8;
  const int64_t count = p.height * p.width;
  const float multiplier = MeanMultiplier(in.scale, count, out.scale), scale = MeanScale(in.scale, count);
  return MakeFunctionKernel(
      [p, in_s, out_s, in, out, int_out, multiplier, scale](const std::vector<TensorView>& inputs,
                                                            const std::vector<TensorView>& outputs) {
        const int8_t* x = inputs[0].Data<const int8_t>();
        for (int64_t n = 0; n < p.batch; ++n)
          for (int64_t c = 0; c < p.channels; ++c) {
            int64_t acc = 0;
            for (int64_t h = 0; h < p.height; ++h)
              for (int64_t w = 0; w < p.width; ++w)
                acc += x[n * in_s[0] + c * in_s[1] + h * in_s[2] + w * in_s[3]] - in.zero_point;
            const int64_t e = n * out_s[0] + c * out_s[1];
            if (int_out)
              outputs[0].Data<int8_t>()[e] =
                  static_cast<int8_t>(quant::RequantizeOutput(acc, 0.0f, multiplier, out.zero_point, 8));
            else
              outputs[0].Data<float>()[e] = quant::DequantizeOutput(acc, 0.0f, scale);
          }
        return Status::OK();
      },
      kernel, "reference-quantized");
}

bool ChainInput(const ir::Graph&, const ir::Node&, size_t input) {
  return input == 0;
}

}  // namespace

const OpSchema& GlobalAvgPoolSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kGlobalAvgPool;
    s.name = "GlobalAvgPool";
    s.summary = "Mean over H and W of each channel; output H = W = 1.";
    s.input_names = {"input"};
    s.attrs = {{"layout", std::string("NHWC"), "NCHW or NHWC"}};
    s.infer = InferGlobalAvgPool;
    s.reference = MakeReference;
    s.quant.chain_input = ChainInput;
    s.quant.chain_reference = MakeChainReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
