#include "format/plan_checks.h"

#include <cmath>

#include "format/metadata_fields.h"
#include "ops/op_schema.h"
#include "quant/quant_math.h"
#include "util/status_util.h"

namespace mixq::format {

namespace {

bool IsQuantized(DataType t) {
  return t == DataType::QINT8 || t == DataType::QINT16;
}
bool IsFloat(DataType t) {
  return t == DataType::FLOAT32 || t == DataType::FLOAT16 || t == DataType::BFLOAT16;
}

// What the precision planner can produce, and so all the runtime sizes buffers
// for: a float tensor is produced in FLOAT32, FLOAT16 or BFLOAT16 storage;
// any other tensor in its own type. A file claiming more (a QINT8 / BOOL
// output, an INT8 input consumed by a float kernel) is refused here, before
// a kernel could write a type its buffer was not sized for.
Status CheckOutputType(const ir::Graph& graph, const ir::Node& node, size_t o, const std::string& path) {
  const ir::Value& v = *graph.value(node.outputs[o]);
  const DataType produced = node.output_compute[o];
  if (IsFloat(v.dtype) ? IsFloat(produced) : produced == v.dtype) return Status::OK();
  return FieldError(
      path, StrCat("is ", DataTypeName(produced), " for output tensor '", v.name, "' of type ", DataTypeName(v.dtype),
                   "; the plan produces ", IsFloat(v.dtype) ? "FLOAT32, FLOAT16 or BFLOAT16" : DataTypeName(v.dtype)));
}

Status CheckInputType(const ir::Graph& graph, const ir::Node& node, size_t i, const std::string& path) {
  if (node.inputs[i] < 0) return Status::OK();
  const ir::Value& v = *graph.value(node.inputs[i]);
  const DataType consumed = node.input_compute[i];
  const ops::OpSchema& schema = ops::GetSchema(node.op);
  if (IsQuantized(consumed) && schema.quant.chain_input && schema.quant.chain_input(graph, node, i)) {
    // An integer-chain input (passes/integer_chain.h): static int8 activations only.
    const bool dynamic = i < node.input_quant.size() && node.input_quant[i] && node.input_quant[i]->dynamic;
    if (consumed == DataType::QINT8 && IsFloat(v.dtype) && !dynamic) return Status::OK();
  } else if (IsQuantized(consumed)) {
    if (!schema.quant.IsQuantizable(static_cast<int>(i)) || !schema.integer_reference)
      return FieldError(path, StrCat("is ", DataTypeName(consumed), " but input ", i, " of ", schema.name,
                                     " cannot be consumed quantized"));
    // A quantized weight is stored as integers; an activation holds floats.
    const bool constant = v.producer >= 0 && graph.node(v.producer)->op == OpKind::kConstant;
    if (constant || IsFloat(v.dtype)) return Status::OK();
  } else if (consumed == DataType::INT32 && static_cast<int>(i) == schema.quant.bias_input &&
             i < node.input_quant.size() && node.input_quant[i]) {
    return Status::OK();  // an INT32 bias: its binding is checked below
  } else if (IsFloat(v.dtype) ? IsFloat(consumed) : consumed == v.dtype) {
    return Status::OK();
  }
  return FieldError(path, StrCat("is ", DataTypeName(consumed), " for input tensor '", v.name, "' of type ",
                                 DataTypeName(v.dtype), ", which the plan cannot consume that way"));
}

// Either not planned (empty) or one entry per input / output.
Status CheckPlanSize(size_t size, size_t expected, const std::string& path, const char* what) {
  if (size == 0 || size == expected) return Status::OK();
  return FieldError(path, StrCat("has ", size, " entries for ", expected, " ", what));
}

// An INT32 bias: a constant in the accumulator's scale, one positive scale per
// element (or one for all), zero points 0.
Status CheckInt32Bias(const ir::Graph& graph, const ir::Node& node, size_t input, const ir::QuantBinding& b,
                      const std::string& path) {
  if (static_cast<int>(input) != ops::GetSchema(node.op).quant.bias_input)
    return FieldError(path, StrCat("is an INT32 binding on input ", input, ", which is not the bias"));
  if (b.bits != 32 || b.dynamic || !b.symmetric)
    return FieldError(path, "an INT32 bias must have bits 32, be static and symmetric");
  const int id = node.inputs[input];
  if (id < 0) return FieldError(path, StrCat("is set for omitted input ", input));
  const ir::Value& v = *graph.value(id);
  const bool constant = v.producer >= 0 && graph.node(v.producer)->op == OpKind::kConstant;
  if (!constant || v.dtype != DataType::INT32 || v.shape.size() != 1)
    return FieldError(path, StrCat("quantizes '", v.name, "', which is not a 1-D INT32 constant"));
  const size_t expected = b.axis == 0 ? static_cast<size_t>(v.shape[0]) : 1;
  if ((b.axis != 0 && b.axis != -1) || b.scales.size() != expected || b.zero_points.size() != expected)
    return FieldError(path, StrCat("must hold ", expected, " scales and zero points along axis ", b.axis));
  for (size_t c = 0; c < b.scales.size(); ++c)
    if (!std::isfinite(b.scales[c]) || !(b.scales[c] > 0.0f) || b.zero_points[c] != 0)
      return FieldError(MemberPath(path, "scales"),
                        StrCat("entry ", c, " is not a finite scale > 0 with zero point 0"));
  return Status::OK();
}

Status CheckBinding(const ir::Graph& graph, const ir::Node& node, size_t input, const ir::QuantBinding& b,
                    const std::string& path) {
  const DataType compute = input < node.input_compute.size() ? node.input_compute[input] : DataType::FLOAT32;
  if (compute == DataType::INT32) return CheckInt32Bias(graph, node, input, b, path);
  if (!IsQuantized(compute))
    return FieldError(path, StrCat("is set but input ", input, " is consumed in ", DataTypeName(compute)));
  const int bits = compute == DataType::QINT8 ? 8 : 16;
  if (b.bits != bits)
    return FieldError(MemberPath(path, "bits"), StrCat("is ", b.bits, " for a ", DataTypeName(compute), " input"));
  const int id = node.inputs[input];
  if (id < 0) return FieldError(path, StrCat("is set for omitted input ", input));
  const ir::Value& v = *graph.value(id);
  // The runtime indexes the input's dims with the axis and zero points by channel.
  if (b.axis < -1 || b.axis >= static_cast<int64_t>(v.shape.size()))
    return FieldError(MemberPath(path, "axis"), StrCat("is ", b.axis, "; the input '", v.name, "' has rank ",
                                                       v.shape.size(), " (-1: per tensor)"));
  const bool constant = v.producer >= 0 && graph.node(v.producer)->op == OpKind::kConstant;
  if (b.dynamic) {
    if (constant)
      return FieldError(MemberPath(path, "dynamic"), "is true for a constant (weights are quantized at build)");
    if (!b.scales.empty() || !b.zero_points.empty())
      return FieldError(path, "is dynamic but holds scales or zero points");
    return Status::OK();
  }
  quant::QuantParams params;
  params.bits = b.bits;
  params.symmetric = b.symmetric;
  params.axis = b.axis < 0 ? quant::kPerTensor : b.axis;
  params.scales = b.scales;
  params.zero_points = b.zero_points;
  Status valid = quant::ValidateQuantParams(params);
  if (!valid.ok()) return FieldError(path, valid.message());
  if (b.axis >= 0) {
    const int64_t channels = v.shape[static_cast<size_t>(b.axis)];
    if (channels >= 0 && static_cast<int64_t>(b.scales.size()) != channels)
      return FieldError(MemberPath(path, "scales"), StrCat("has ", b.scales.size(), " scales but input '", v.name,
                                                           "' has ", channels, " channels on axis ", b.axis));
  }
  // Weights are stored already quantized, in the integer type of the binding.
  const DataType stored = bits == 8 ? DataType::INT8 : DataType::INT16;
  if (constant && v.dtype != stored)
    return FieldError(path, StrCat("quantizes constant '", v.name, "' stored as ", DataTypeName(v.dtype), ", not ",
                                   DataTypeName(stored)));
  return Status::OK();
}

}  // namespace

Status CheckPlannedPrecisions(const ir::Graph& graph) {
  for (size_t i = 0; i < graph.value_count(); ++i) {
    const ir::Value& v = *graph.value(static_cast<int>(i));
    if (v.boundary_precision && !IsQuantized(*v.boundary_precision))
      return FieldError(MemberPath(IndexPath("values", i), "boundary_precision"),
                        StrCat("is ", DataTypeName(*v.boundary_precision), "; only QINT8 or QINT16 inputs have one"));
  }
  for (size_t n = 0; n < graph.node_count(); ++n) {
    const ir::Node& node = *graph.node(static_cast<int>(n));
    const std::string path = IndexPath("nodes", n);
    MIXQ_RETURN_IF_ERROR(
        CheckPlanSize(node.input_compute.size(), node.inputs.size(), MemberPath(path, "input_compute"), "inputs"));
    MIXQ_RETURN_IF_ERROR(
        CheckPlanSize(node.output_compute.size(), node.outputs.size(), MemberPath(path, "output_compute"), "outputs"));
    MIXQ_RETURN_IF_ERROR(
        CheckPlanSize(node.input_quant.size(), node.inputs.size(), MemberPath(path, "input_quant"), "inputs"));
    for (size_t o = 0; o < node.output_compute.size(); ++o)
      MIXQ_RETURN_IF_ERROR(CheckOutputType(graph, node, o, IndexPath(MemberPath(path, "output_compute"), o)));
    for (size_t i = 0; i < node.input_compute.size(); ++i)
      MIXQ_RETURN_IF_ERROR(CheckInputType(graph, node, i, IndexPath(MemberPath(path, "input_compute"), i)));
    for (size_t i = 0; i < node.input_compute.size(); ++i) {
      const bool bound = i < node.input_quant.size() && node.input_quant[i].has_value();
      if (IsQuantized(node.input_compute[i]) && node.inputs[i] >= 0 && !bound)
        return FieldError(IndexPath(MemberPath(path, "input_quant"), i),
                          StrCat("is missing for a ", DataTypeName(node.input_compute[i]), " input"));
    }
    for (size_t i = 0; i < node.input_quant.size(); ++i)
      if (node.input_quant[i])
        MIXQ_RETURN_IF_ERROR(
            CheckBinding(graph, node, i, *node.input_quant[i], IndexPath(MemberPath(path, "input_quant"), i)));
  }
  return Status::OK();
}

}  // namespace mixq::format
