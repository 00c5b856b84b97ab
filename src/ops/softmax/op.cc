// Softmax along one axis (ONNX opset 13 semantics: each slice along `axis` is
// normalized on its own, whatever the rank).
#include <cmath>
#include <limits>

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

Status InferSoftmax(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                    std::vector<ValueInfo>& outputs) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  MIXQ_RETURN_IF_ERROR(ExpectFloat(*inputs[0], "input"));
  int64_t axis;
  MIXQ_RETURN_IF_ERROR(ResolveAxis(attrs, *inputs[0], &axis));
  outputs[0].dtype = DataType::FLOAT32;
  outputs[0].shape = inputs[0]->shape;
  return Status::OK();
}

// The tensor seen as [outer, n, inner] with the softmax over n.
struct SoftmaxParams {
  int64_t outer = 1, n = 1, inner = 1;
};

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  const ir::Shape& shape = init.inputs[0]->shape;
  int64_t axis;
  MIXQ_RETURN_IF_ERROR(ResolveAxis(init.attrs, *init.inputs[0], &axis));
  SoftmaxParams p;
  for (int64_t i = 0; i < axis; ++i) p.outer *= shape[i];
  p.n = shape[axis];
  for (size_t i = static_cast<size_t>(axis) + 1; i < shape.size(); ++i) p.inner *= shape[i];
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const float* x = in[0].Data<float>();
        float* y = out[0].Data<float>();
        for (int64_t o = 0; o < p.outer; ++o)
          for (int64_t i = 0; i < p.inner; ++i) {
            const int64_t base = o * p.n * p.inner + i;
            // Subtracting the maximum keeps exp in range for large inputs
            // without changing the result.
            float max = -std::numeric_limits<float>::infinity();
            for (int64_t k = 0; k < p.n; ++k) {
              const float v = x[base + k * p.inner];
              if (v > max || v != v) max = v;
              if (max != max) break;
            }
            double sum = 0.0;
            for (int64_t k = 0; k < p.n; ++k) sum += std::exp(static_cast<double>(x[base + k * p.inner]) - max);
            for (int64_t k = 0; k < p.n; ++k)
              y[base + k * p.inner] =
                  static_cast<float>(std::exp(static_cast<double>(x[base + k * p.inner]) - max) / sum);
          }
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& SoftmaxSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kSoftmax;
    s.name = "Softmax";
    s.summary = "exp(x) / sum(exp(x)) along one axis (ONNX opset 13), numerically stable.";
    s.input_names = {"input"};
    s.attrs = {
        {"axis", int64_t{-1}, "the axis normalized over; negative counts from the end"},
    };
    s.infer = InferSoftmax;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
