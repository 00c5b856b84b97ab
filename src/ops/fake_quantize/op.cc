// FakeQuantize: quantize then dequantize with fixed parameters (SPEC §1),
// y = s * (clamp(round(x / s) + z, n, p) - z), float32 in and out. It is what
// an ONNX QuantizeLinear -> DequantizeLinear pair means in front of an
// operator that runs in float: the values are snapped to the integer grid
// (and clamped to its range, which is how QDQ models express a ReLU).
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"
#include "quant/quant_math.h"

namespace mixq::ops {

namespace {

struct Params {
  quant::QuantParams q;
  int64_t inner = 1, channels = 1;  // per axis: [outer, channels, inner]
};

Status ReadParams(const ir::AttrMap& attrs, const ir::Shape& shape, Params* p) {
  p->q.bits = static_cast<int>(attrs.Int("bits", 8));
  p->q.symmetric = false;
  p->q.scales = attrs.Floats("scales");
  for (int64_t z : attrs.Ints("zero_points")) {
    if (z < INT32_MIN || z > INT32_MAX) return InvalidArgument("attribute 'zero_points' holds ", z);
    p->q.zero_points.push_back(static_cast<int32_t>(z));
  }
  const int64_t axis = attrs.Int("axis", -1);
  p->q.axis = axis < 0 ? quant::kPerTensor : axis;
  Status valid = quant::ValidateQuantParams(p->q);
  if (!valid.ok()) return InvalidArgument("attributes 'bits' / 'scales' / 'zero_points': ", valid.message());
  if (axis < -1 || axis >= static_cast<int64_t>(shape.size()))
    return InvalidArgument("attribute 'axis' is ", axis, " for an input of rank ", shape.size(), " (-1: per tensor)");
  if (axis >= 0) {
    p->channels = shape[static_cast<size_t>(axis)];
    if (p->channels >= 0 && p->channels != static_cast<int64_t>(p->q.scales.size()))
      return InvalidArgument("input 'input' has ", p->channels, " slices along axis ", axis, " but ",
                             p->q.scales.size(), " scales");
    for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) p->inner *= shape[d];
  }
  return Status::OK();
}

Status InferFakeQuantize(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                         std::vector<ValueInfo>& outputs) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  MIXQ_RETURN_IF_ERROR(ExpectFloat(*inputs[0], "input"));
  Params p;
  MIXQ_RETURN_IF_ERROR(ReadParams(attrs, inputs[0]->shape, &p));
  outputs[0].dtype = DataType::FLOAT32;
  outputs[0].shape = inputs[0]->shape;
  return Status::OK();
}

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[0], "input"));
  Params p;
  MIXQ_RETURN_IF_ERROR(ReadParams(init.attrs, init.inputs[0]->shape, &p));
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const float* x = in[0].Data<float>();
        float* y = out[0].Data<float>();
        const int64_t n = in[0].Count();
        for (int64_t e = 0; e < n; ++e) {
          const size_t c = p.q.axis == quant::kPerTensor ? 0 : static_cast<size_t>((e / p.inner) % p.channels);
          const float s = p.q.scales[c];
          const int32_t z = p.q.zero_points[c];
          y[e] = quant::Dequantize(quant::Quantize(x[e], s, z, p.q.bits), s, z);
        }
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& FakeQuantizeSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kFakeQuantize;
    s.name = "FakeQuantize";
    s.summary = "Quantize then dequantize with fixed scales / zero points (an ONNX Q -> DQ pair).";
    s.input_names = {"input"};
    s.attrs = {
        {"bits", int64_t{8}, "8 or 16 (signed integer grid)"},
        {"scales", std::vector<float>{1.0f}, "one scale, or one per slice along 'axis'"},
        {"zero_points", std::vector<int64_t>{0}, "as many as scales, within the grid"},
        {"axis", int64_t{-1}, "-1: per tensor; else the axis the scales run along"},
    };
    s.infer = InferFakeQuantize;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
