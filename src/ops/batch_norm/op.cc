// BatchNorm (inference): y = (x - mean) / sqrt(variance + epsilon) * scale + bias,
// per channel along `axis`, with the running statistics as inputs.
#include <cmath>

#include "ops/op_util.h"

namespace mixq::ops {

namespace {

// Input order: the statistics first, as the public AddIBatchNormNode takes them.
constexpr const char* kParamNames[] = {"mean", "variance", "scale", "bias"};

struct BatchNormParams {
  int64_t outer = 1, channels = 0, inner = 1;  // x viewed as (outer, channels, inner)
  double epsilon = 0.0;
};

Status ReadParams(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, int64_t* axis) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  const ValueInfo& input = *inputs[0];
  MIXQ_RETURN_IF_ERROR(ExpectFloat(input, "input"));
  const int64_t rank = static_cast<int64_t>(input.shape.size());
  if (!ir::NormalizeAxis(attrs.Int("axis"), rank, axis))
    return InvalidArgument("attribute 'axis' (", attrs.Int("axis"), ") is out of range for input ",
                           ir::ShapeString(input.shape));
  const float epsilon = attrs.Float("epsilon");
  if (!(epsilon >= 0.0f)) return InvalidArgument("attribute 'epsilon' must be >= 0, got ", epsilon);
  const int64_t channels = input.shape[static_cast<size_t>(*axis)];
  for (size_t i = 0; i < 4; ++i) {
    MIXQ_RETURN_IF_ERROR(RequireInput(inputs, i + 1, kParamNames[i]));
    const ValueInfo& param = *inputs[i + 1];
    MIXQ_RETURN_IF_ERROR(ExpectFloat(param, kParamNames[i]));
    if (param.shape.size() != 1 || (param.shape[0] >= 0 && channels >= 0 && param.shape[0] != channels))
      return InvalidArgument("input '", kParamNames[i], "' must have dims [", channels, "] (the channels of axis ",
                             *axis, " of input ", ir::ShapeString(input.shape), "), got ",
                             ir::ShapeString(param.shape));
  }
  return Status::OK();
}

Status InferBatchNorm(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                      std::vector<ValueInfo>& outputs) {
  int64_t axis = 0;
  MIXQ_RETURN_IF_ERROR(ReadParams(attrs, inputs, &axis));
  outputs[0].dtype = DataType::FLOAT32;
  outputs[0].shape = inputs[0]->shape;
  return Status::OK();
}

// The statistics may be run-time tensors, so they are read at every run.
Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  int64_t axis = 0;
  MIXQ_RETURN_IF_ERROR(ReadParams(init.attrs, init.inputs, &axis));
  const ir::Shape& shape = init.inputs[0]->shape;
  BatchNormParams p;
  p.channels = shape[static_cast<size_t>(axis)];
  for (int64_t i = 0; i < axis; ++i) p.outer *= shape[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < shape.size(); ++i) p.inner *= shape[i];
  p.epsilon = init.attrs.Float("epsilon");
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const float* x = in[0].Data<float>();
        const float* mean = in[1].Data<float>();
        const float* variance = in[2].Data<float>();
        const float* scale = in[3].Data<float>();
        const float* bias = in[4].Data<float>();
        float* y = out[0].Data<float>();
        for (int64_t o = 0; o < p.outer; ++o)
          for (int64_t c = 0; c < p.channels; ++c) {
            const double inv_std = 1.0 / std::sqrt(static_cast<double>(variance[c]) + p.epsilon);
            for (int64_t i = 0; i < p.inner; ++i) {
              const int64_t k = (o * p.channels + c) * p.inner + i;
              y[k] = static_cast<float>((x[k] - static_cast<double>(mean[c])) * inv_std * scale[c] + bias[c]);
            }
          }
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& BatchNormSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kBatchNorm;
    s.name = "BatchNorm";
    s.summary = "Inference batch normalization with given mean and variance, per channel.";
    s.input_names = {"input", "mean", "variance", "scale", "bias"};
    s.min_inputs = 5;
    s.attrs = {
        {"epsilon", 1e-5f, "added to the variance before the square root"},
        {"axis", int64_t{-1}, "channel axis; -1 (last) for NHWC, 1 for NCHW"},
    };
    s.infer = InferBatchNorm;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
