#include "passes/precision_planner.h"

#include <cmath>

#include "ops/op_schema.h"
#include "passes/int32_bias.h"
#include "passes/integer_chain.h"
#include "quant/quant_math.h"
#include "util/status_util.h"

namespace mixq::passes {

namespace {

constexpr float kSevenBitWidening = 127.0f / 63.0f;

struct ModePrecision {
  std::optional<DataType> quantized;  // for quantizable inputs
  DataType floating = DataType::FLOAT32;
};

ModePrecision ParseMode(const std::string& mode) {
  ModePrecision m;
  if (mode == "force_float16" || mode.ends_with("_float16")) m.floating = DataType::FLOAT16;
  if (mode.ends_with("_bfloat16")) m.floating = DataType::BFLOAT16;
  if (mode.starts_with("qint8")) m.quantized = DataType::QINT8;
  if (mode.starts_with("qint16")) m.quantized = DataType::QINT16;
  return m;
}

bool IsFloat(DataType t) {
  return t == DataType::FLOAT32 || t == DataType::FLOAT16 || t == DataType::BFLOAT16;
}
bool IsQuantized(DataType t) {
  return t == DataType::QINT8 || t == DataType::QINT16;
}

std::string QuantizableOps() {
  std::string names;
  for (const ops::OpSchema* s : ops::AllSchemas())
    if (!s->quant.quantizable_inputs.empty()) names += (names.empty() ? "" : ", ") + s->name;
  return names;
}

// Exact parameters from a QAT model, checked against how the input is consumed.
Status UseFixedParameters(const ir::Value& v, int bits, std::optional<int64_t> weight_axis, const std::string& where,
                          ir::QuantBinding* binding) {
  const ir::QuantBinding& fixed = *v.fixed_quant;
  if (fixed.bits != bits)
    return InvalidArgument(where, ": tensor '", v.name, "' carries ", fixed.bits,
                           "-bit quantization parameters (QAT) but is consumed in QINT", bits);
  if (fixed.axis >= 0 && !weight_axis)
    return Unimplemented(where, ": tensor '", v.name, "' is an activation with per-axis quantization parameters (axis ",
                         fixed.axis, "); activations are quantized per tensor");
  if (fixed.axis >= 0 && *weight_axis != fixed.axis)
    return InvalidArgument(where, ": the weights '", v.name, "' are quantized along axis ", fixed.axis,
                           " but this operator's output channels are on axis ", *weight_axis);
  *binding = fixed;
  return Status::OK();
}

Status BindWeights(const ir::Graph& graph, const ir::Node& node, size_t input, const ops::OpSchema& schema,
                   const BuildOptions& options, ir::QuantBinding* binding) {
  const ir::Value& v = *graph.value(node.inputs[input]);
  if (v.fixed_quant && !(v.range && v.range->force)) {
    const int64_t rank = static_cast<int64_t>(v.shape.size());
    const std::optional<int64_t> axis = static_cast<int>(input) == schema.quant.weight_input && rank >= 2
                                            ? schema.quant.WeightAxis(node.attrs, rank)
                                            : -1;
    return UseFixedParameters(v, binding->bits, axis, StrCat(ir::NodeLabel(graph, node), " input ", input), binding);
  }
  const ir::Node& producer = *graph.node(v.producer);
  const float* data = static_cast<const float*>(producer.constant->data());
  const int64_t rank = static_cast<int64_t>(v.shape.size());
  const bool per_axis = static_cast<int>(input) == schema.quant.weight_input &&
                        options.weight_quant_granularity == "per_axis" && rank >= 2;
  std::vector<Range> ranges;
  int64_t axis = -1;
  if (per_axis) {
    axis = schema.quant.WeightAxis(node.attrs, rank);
    MIXQ_RETURN_IF_ERROR(quant::PerAxisMinMax(data, v.shape, axis, &ranges));
  } else {
    ranges = {quant::MinMax(data, ir::ElementCount(v.shape))};
  }
  // A range the user set on the weights by hand wins over the data's.
  if (v.range && v.range->force) {
    if (v.range->ranges.size() == 1 && !per_axis)
      ranges = v.range->ranges;
    else if (per_axis && v.range->ranges.size() == ranges.size())
      ranges = v.range->ranges;
    else
      return InvalidArgument("tensor '", v.name, "' has ", v.range->ranges.size(), " hand-set ranges; ",
                             ir::NodeLabel(graph, node), " quantizes it with ", ranges.size());
  }
  // The 7-bit weight policy: the range widened by 127 / 63 gives the scale
  // max|w| / 63, so every code lands in [-63, 63].
  if (binding->bits == 8 && options.int8_weight_range == "7bit" && static_cast<int>(input) == schema.quant.weight_input)
    for (Range& r : ranges) {
      r.min *= kSevenBitWidening;
      r.max *= kSevenBitWidening;
    }
  quant::QuantParams params;
  MIXQ_RETURN_IF_ERROR(
      WithContext(quant::MakeQuantParams(ranges, binding->bits, true, per_axis ? axis : quant::kPerTensor, &params),
                  "weights '" + v.name + "'"));
  binding->symmetric = true;
  binding->axis = axis;
  binding->scales = params.scales;
  binding->zero_points = params.zero_points;
  return Status::OK();
}

}  // namespace

std::optional<Range> ActivationRange(const ir::Value& v, const BuildOptions& options,
                                     const CalibratedRanges& calibrated) {
  if (v.range && v.range->force && v.range->ranges.size() == 1) return v.range->ranges[0];
  if (auto it = options.custom_ranges.find(v.name); it != options.custom_ranges.end()) return it->second;
  if (auto it = calibrated.find(v.name); it != calibrated.end()) return it->second;
  if (v.range && v.range->ranges.size() == 1) return v.range->ranges[0];
  return std::nullopt;
}

Status PlanPrecision(ir::Graph* graph, const BuildOptions& options, const CalibratedRanges& calibrated,
                     PrecisionReport* report, bool require_activation_ranges) {
  const ModePrecision mode = ParseMode(options.precision_mode);
  const bool dynamic = options.activation_quant_mode == "dynamic";
  report->precision_mode = options.precision_mode;
  report->int8_weight_range = options.int8_weight_range;
  report->nodes.clear();
  std::vector<int> order;
  MIXQ_RETURN_IF_ERROR(graph->TopologicalOrder(&order));
  std::vector<std::string> missing;  // QINT activations without a range
  for (int id : order) {
    ir::Node& node = *graph->node(id);
    if (node.op == OpKind::kConstant) continue;
    const ops::OpSchema& schema = ops::GetSchema(node.op);
    const std::string label = ir::NodeLabel(*graph, node);
    // The kernel is chosen per input shape, when a context lowers the model.
    NodePrecision row{node.name, schema.name, {}, {}, "(per shape)", "", {}, ""};
    node.input_compute.assign(node.inputs.size(), DataType::FLOAT32);
    node.input_quant.assign(node.inputs.size(), std::nullopt);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i] < 0) continue;
      const ir::Value& v = *graph->value(node.inputs[i]);
      const bool is_float = IsFloat(v.dtype);
      // Quantized execution needs the op's exact integer reference kernel.
      const bool has_integer_kernel = schema.integer_reference != nullptr;
      const bool quantizable = schema.quant.IsQuantizable(static_cast<int>(i)) && has_integer_kernel;
      const bool awaiting_kernel = schema.quant.IsQuantizable(static_cast<int>(i)) && !has_integer_kernel;
      DataType requested;
      std::string by = "network";
      std::string note;
      std::optional<DataType> actual_override;
      if (auto it = node.input_precision.find(i); it != node.input_precision.end()) {
        requested = it->second;
        by = "node";
      } else if (v.boundary_precision && quantizable) {
        requested = *v.boundary_precision;
        by = "input";
      } else if (mode.quantized && quantizable && is_float) {
        requested = *mode.quantized;
        if (auto keep = options.keep_float.find(node.name); keep != options.keep_float.end()) {
          // The speed check measured the float kernels faster here.
          actual_override = mode.floating;
          note = keep->second;
        }
      } else if (mode.quantized && awaiting_kernel && is_float) {
        requested = *mode.quantized;
        note = StrCat(schema.name, " has no quantized kernel yet; input ", i, " runs in ", DataTypeName(mode.floating));
      } else {
        requested = is_float ? mode.floating : v.dtype;
      }
      const std::string where = StrCat(label, " input ", i, " (", schema.InputName(i), ", tensor '", v.name, "')");
      // An INT32 bias joins the integer accumulator (needs the static scales of
      // inputs 0 and the weights, planned before it: the bias comes last).
      if (static_cast<int>(i) == schema.quant.bias_input && node.input_quant.size() > 0 && node.input_quant[0]) {
        bool int32_bias = requested == DataType::INT32 && by == "node";
        if (!int32_bias && by == "network" && options.bias_precision == "int32") {
          const std::string obstacle = Int32BiasObstacle(*graph, node, i, schema);
          if (obstacle.empty())
            int32_bias = true;
          else
            note = StrCat("bias_precision int32 not applied to input ", i, ": ", obstacle);
        }
        if (int32_bias) {
          ir::QuantBinding binding;
          MIXQ_RETURN_IF_ERROR(BindInt32Bias(*graph, node, i, schema, where, &binding));
          node.input_quant[i] = binding;
          node.input_compute[i] = DataType::INT32;
          row.inputs.push_back(
              {v.name, requested == DataType::INT32 ? requested : DataType::INT32, by, DataType::INT32, ""});
          continue;
        }
      }
      if (requested == DataType::INT32 && static_cast<int>(i) == schema.quant.bias_input && by == "node")
        return InvalidArgument(where,
                               " cannot be consumed in INT32: the node's data input is not quantized (an "
                               "INT32 bias is added to the integer accumulator)");
      if (IsQuantized(requested) && awaiting_kernel && by != "network")
        return Unimplemented(where, ": quantized execution of ", schema.name, " is not implemented yet");
      if (IsQuantized(requested) && !quantizable && !awaiting_kernel)
        return InvalidArgument(where, " cannot be consumed in ", DataTypeName(requested),
                               " (operators with quantizable inputs: ", QuantizableOps(), "; see docs/operators.md)");
      if ((IsQuantized(requested) || IsFloat(requested)) && !is_float)
        return InvalidArgument(where, " holds ", DataTypeName(v.dtype), " values and cannot be consumed in ",
                               DataTypeName(requested));
      if (!IsQuantized(requested) && !IsFloat(requested) && requested != v.dtype)
        return InvalidArgument(where, " is ", DataTypeName(v.dtype), "; it cannot be consumed in ",
                               DataTypeName(requested));
      DataType actual = IsQuantized(requested) && awaiting_kernel ? mode.floating : requested;
      if (actual_override) actual = *actual_override;
      if (v.boundary_precision && !quantizable && by == "network") {
        note = StrCat("input '", v.name, "' is declared ", DataTypeName(*v.boundary_precision), " but ", schema.name,
                      " cannot consume quantized values; it runs in ", DataTypeName(actual));
        requested = *v.boundary_precision;
        by = "input";
      }
      if (IsQuantized(actual)) {
        ir::QuantBinding binding;
        binding.bits = actual == DataType::QINT8 ? 8 : 16;
        const bool constant = v.producer >= 0 && graph->node(v.producer)->op == OpKind::kConstant;
        if (constant) {
          MIXQ_RETURN_IF_ERROR(BindWeights(*graph, node, i, schema, options, &binding));
        } else {
          binding.symmetric = SymmetricActivations(options, binding.bits);
          const bool user_range = (v.range && v.range->force) || options.custom_ranges.count(v.name);
          if (binding.bits == 16 && options.activation_quant_algo != "symmetric" && !(v.fixed_quant && !user_range))
            note = StrCat(note.empty() ? "" : note + "; ", "input ", i,
                          ": activation_quant_algo asymmetric applies to 8-bit activations; this 16-bit one is "
                          "symmetric (zero point 0)");
          if (v.fixed_quant && !user_range) {
            MIXQ_RETURN_IF_ERROR(UseFixedParameters(v, binding.bits, std::nullopt, where, &binding));
          } else if (dynamic) {
            binding.dynamic = true;
          } else if (auto range = ActivationRange(v, options, calibrated)) {
            quant::QuantParams params;
            MIXQ_RETURN_IF_ERROR(WithContext(
                quant::MakeQuantParams({*range}, binding.bits, binding.symmetric, quant::kPerTensor, &params),
                "range of tensor '" + v.name + "'"));
            binding.scales = params.scales;
            binding.zero_points = params.zero_points;
          } else {
            missing.push_back(
                StrCat("'", v.name, "' (", DataTypeName(actual), " input ", i, " of node '", node.name, "')"));
          }
        }
        node.input_quant[i] = binding;
      }
      node.input_compute[i] = actual;
      if (!note.empty() && row.reason.find(note) == std::string::npos)
        row.reason += (row.reason.empty() ? "" : "; ") + note;
      row.inputs.push_back({v.name, requested, by, actual, ""});
    }
    node.output_compute.assign(node.outputs.size(), DataType::FLOAT32);
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const ir::Value& v = *graph->value(node.outputs[o]);
      const bool is_float = IsFloat(v.dtype);
      DataType requested = is_float ? mode.floating : v.dtype;
      std::string by = "network";
      if (auto it = node.output_type.find(o); it != node.output_type.end()) {
        requested = it->second;
        by = "node";
        if (!IsFloat(requested) || !is_float)
          return InvalidArgument(label, " output ", o, " (tensor '", v.name, "', ", DataTypeName(v.dtype),
                                 ") cannot be produced as ", DataTypeName(requested),
                                 ": outputs are FLOAT32, FLOAT16 or BFLOAT16");
      }
      node.output_compute[o] = requested;
      row.outputs.push_back({v.name, requested, by, requested, ""});
    }
    report->nodes.push_back(row);
  }
  MIXQ_RETURN_IF_ERROR(PlanIntegerChains(graph, options, calibrated, require_activation_ranges, report));
  MIXQ_RETURN_IF_ERROR(PlanQdqIntegerChains(graph, options, report));
  if (!missing.empty() && require_activation_ranges) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return FailedPrecondition(missing.size(), " quantized input(s) have no range: ", list,
                              ". Calibrate, set one with ITensor::SetDynamicRange or precision_config.custom_ranges, "
                              "or use activation_quant_mode \"dynamic\"");
  }
  return Status::OK();
}

}  // namespace mixq::passes
