// LayerNorm: normalizes over the trailing axes [axis, rank), then applies
// scale and optional bias (ONNX LayerNormalization, first output only).
#include <cmath>

#include "ops/op_util.h"

namespace mixq::ops {

namespace {

Status ResolveAxis(const ir::AttrMap& attrs, const ValueInfo& input, int64_t* axis) {
  const int64_t rank = static_cast<int64_t>(input.shape.size());
  const int64_t given = attrs.Int("axis");
  if (!ir::NormalizeAxis(given, rank, axis))
    return InvalidArgument("attribute 'axis' (", given, ") is out of range for input 'input' of rank ", rank);
  return Status::OK();
}

// scale / bias must broadcast to the normalized dims input[axis:] without
// changing them (unidirectional, as ONNX). Dynamic dims match anything here;
// the kernel factory checks again with concrete shapes.
Status CheckParamShape(const ValueInfo& param, const char* name, const ir::Shape& input, int64_t axis) {
  const ir::Shape normalized(input.begin() + axis, input.end());
  const bool fits = [&] {
    if (param.shape.size() > normalized.size()) return false;
    const size_t lead = normalized.size() - param.shape.size();
    for (size_t i = 0; i < param.shape.size(); ++i) {
      const int64_t p = param.shape[i], n = normalized[lead + i];
      if (p != 1 && p >= 0 && n >= 0 && p != n) return false;
    }
    return true;
  }();
  if (!fits)
    return InvalidArgument("input '", name, "' ", ir::ShapeString(param.shape),
                           " does not broadcast to the normalized dims ", ir::ShapeString(normalized),
                           " of input 'input' ", ir::ShapeString(input));
  return ExpectFloat(param, name);
}

Status CheckInputs(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, int64_t* axis) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 1, "scale"));
  MIXQ_RETURN_IF_ERROR(ExpectFloat(*inputs[0], "input"));
  MIXQ_RETURN_IF_ERROR(ResolveAxis(attrs, *inputs[0], axis));
  const float epsilon = attrs.Float("epsilon");
  if (!(epsilon >= 0)) return InvalidArgument("attribute 'epsilon' must be >= 0, got ", epsilon);
  MIXQ_RETURN_IF_ERROR(CheckParamShape(*inputs[1], "scale", inputs[0]->shape, *axis));
  if (inputs.size() > 2 && inputs[2])
    MIXQ_RETURN_IF_ERROR(CheckParamShape(*inputs[2], "bias", inputs[0]->shape, *axis));
  return Status::OK();
}

Status InferLayerNorm(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                      std::vector<ValueInfo>& outputs) {
  int64_t axis;
  MIXQ_RETURN_IF_ERROR(CheckInputs(attrs, inputs, &axis));
  outputs[0].dtype = DataType::FLOAT32;
  outputs[0].shape = inputs[0]->shape;
  return Status::OK();
}

// For every element of the normalized block, its offset in a broadcast
// parameter (scale or bias).
std::vector<int64_t> ParamIndex(const ir::Shape& param, const ir::Shape& normalized) {
  const size_t lead = normalized.size() - param.size();
  const std::vector<int64_t> dense = ir::Strides(param);
  std::vector<int64_t> strides(normalized.size(), 0);
  for (size_t i = 0; i < param.size(); ++i) strides[lead + i] = param[i] == 1 ? 0 : dense[i];
  std::vector<int64_t> index(static_cast<size_t>(ir::ElementCount(normalized)), 0);
  std::vector<int64_t> pos(normalized.size(), 0);
  for (size_t flat = 0; flat < index.size(); ++flat) {
    int64_t offset = 0;
    for (size_t a = 0; a < pos.size(); ++a) offset += pos[a] * strides[a];
    index[flat] = offset;
    for (size_t a = pos.size(); a-- > 0;) {
      if (++pos[a] < normalized[a]) break;
      pos[a] = 0;
    }
  }
  return index;
}

struct LayerNormParams {
  int64_t rows = 1, row_size = 1;
  double epsilon = 0.0;
  bool has_bias = false;
  std::vector<int64_t> scale_index, bias_index;
};

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  int64_t axis;
  MIXQ_RETURN_IF_ERROR(CheckInputs(init.attrs, init.inputs, &axis));
  const ir::Shape& shape = init.inputs[0]->shape;
  const ir::Shape normalized(shape.begin() + axis, shape.end());
  LayerNormParams p;
  for (int64_t i = 0; i < axis; ++i) p.rows *= shape[i];
  p.row_size = ir::ElementCount(normalized);
  p.epsilon = init.attrs.Float("epsilon");
  p.scale_index = ParamIndex(init.inputs[1]->shape, normalized);
  p.has_bias = init.inputs.size() > 2 && init.inputs[2];
  if (p.has_bias) p.bias_index = ParamIndex(init.inputs[2]->shape, normalized);
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const float* x = in[0].Data<float>();
        const float* scale = in[1].Data<float>();
        const float* bias = p.has_bias ? in[2].Data<float>() : nullptr;
        float* y = out[0].Data<float>();
        for (int64_t r = 0; r < p.rows; ++r) {
          const float* row = x + r * p.row_size;
          // Two passes in double: E[(x - mean)^2] does not cancel catastrophically
          // the way E[x^2] - mean^2 does for rows with a large mean.
          double mean = 0.0;
          for (int64_t j = 0; j < p.row_size; ++j) mean += row[j];
          mean /= static_cast<double>(p.row_size);
          double var = 0.0;
          for (int64_t j = 0; j < p.row_size; ++j) var += (row[j] - mean) * (row[j] - mean);
          var /= static_cast<double>(p.row_size);
          const double inv_std = 1.0 / std::sqrt(var + p.epsilon);
          for (int64_t j = 0; j < p.row_size; ++j) {
            double v = (row[j] - mean) * inv_std * scale[p.scale_index[j]];
            if (bias) v += bias[p.bias_index[j]];
            y[r * p.row_size + j] = static_cast<float>(v);
          }
        }
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& LayerNormSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kLayerNorm;
    s.name = "LayerNorm";
    s.summary = "(x - mean) / sqrt(var + epsilon) * scale + bias over the axes [axis, rank).";
    s.input_names = {"input", "scale", "bias"};
    s.min_inputs = 2;
    s.attrs = {
        {"axis", int64_t{-1}, "the first normalized axis; axes [axis, rank) are normalized together"},
        {"epsilon", 1e-5f, "added to the variance before the square root"},
    };
    s.infer = InferLayerNorm;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
