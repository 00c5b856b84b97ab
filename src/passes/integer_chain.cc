#include "passes/integer_chain.h"

#include <algorithm>

#include "ops/op_schema.h"
#include "passes/qdq_placement.h"
#include "quant/quant_math.h"
#include "util/status_util.h"

namespace mixq::passes {

namespace {

bool IsConstant(const ir::Graph& g, int value) {
  const ir::Value& v = *g.value(value);
  return v.producer >= 0 && g.node(v.producer)->op == OpKind::kConstant;
}

using Uses = std::vector<std::vector<std::pair<int, size_t>>>;

// Every use of `value` consumes it as static QINT8, directly or through an
// operator that runs on the integers (Reshape, Flatten, Concat, ...: the
// Q/DQ placement moves the quantize of its output above it) whose every
// output is consumed so.
bool ConsumedAsStaticInt8(const ir::Graph& g, int value, const Uses& uses, const std::vector<bool>& is_output) {
  const auto& list = uses[static_cast<size_t>(value)];
  if (is_output[static_cast<size_t>(value)] || list.empty()) return false;
  for (const auto& [id, i] : list) {
    const ir::Node& c = *g.node(id);
    if (i >= c.input_compute.size()) return false;
    if (c.input_compute[i] == DataType::QINT8) {
      if (i >= c.input_quant.size() || !c.input_quant[i] || c.input_quant[i]->dynamic || c.input_quant[i]->bits != 8)
        return false;
      continue;
    }
    const bool data_input = c.op == OpKind::kConcat || i == 0;
    if (!data_input || !RunsOnIntegers(c, g) || c.outputs.empty() || !c.input_precision.empty() ||
        !c.output_type.empty())
      return false;
    for (int out : c.outputs)
      if (!ConsumedAsStaticInt8(g, out, uses, is_output)) return false;
  }
  return true;
}

// Rescaling steps (ops/int8_chain.h): an add of two tensors, the average
// pools; the others are table steps (one data input, constants besides).
bool RescaleStep(const ir::Graph& g, const ir::Node& node) {
  if (node.op == OpKind::kAvgPool2D || node.op == OpKind::kGlobalAvgPool) return true;
  if (node.op != OpKind::kElementwise || node.inputs.size() != 2) return false;
  for (int in : node.inputs)
    if (in < 0 || IsConstant(g, in)) return false;
  return true;
}

}  // namespace

Status PlanIntegerChains(ir::Graph* graph, const BuildOptions& options, const CalibratedRanges& calibrated,
                         bool require_ranges, PrecisionReport* report) {
  ir::Graph& g = *graph;
  const bool tables = options.int8_table_chains == "on", rescales = options.int8_rescale_chains == "on";
  if (!(tables || rescales) || !options.precision_mode.starts_with("qint8") ||
      options.activation_quant_mode == "dynamic")
    return Status::OK();
  std::vector<int> order;
  MIXQ_RETURN_IF_ERROR(g.TopologicalOrder(&order));
  Uses uses(g.value_count());
  for (int id : order) {
    const ir::Node& node = *g.node(id);
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (node.inputs[i] >= 0) uses[static_cast<size_t>(node.inputs[i])].push_back({id, i});
  }
  std::vector<bool> is_output(g.value_count(), false);
  for (int out : g.outputs()) is_output[static_cast<size_t>(out)] = true;
  const bool symmetric = options.activation_quant_algo == "symmetric";
  // Consumers first, so a node sees whether the chain nodes after it joined.
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    ir::Node& node = *g.node(*it);
    const ops::OpSchema& schema = ops::GetSchema(node.op);
    if (!schema.quant.chain_input || !schema.quant.chain_reference) continue;
    const bool rescale = RescaleStep(g, node);
    if (!(rescale ? rescales : tables)) continue;
    if (!node.input_precision.empty() || !node.output_type.empty() || node.outputs.size() != 1) continue;
    if (!ConsumedAsStaticInt8(g, node.outputs[0], uses, is_output)) continue;
    std::vector<std::pair<size_t, ir::QuantBinding>> bound;
    bool ok = true;
    for (size_t i = 0; i < node.inputs.size() && ok; ++i) {
      if (node.inputs[i] < 0 || !schema.quant.chain_input(g, node, i)) continue;
      const ir::Value& v = *g.value(node.inputs[i]);
      ok = v.dtype == DataType::FLOAT32 && !IsConstant(g, v.id) && !v.fixed_quant && !v.boundary_precision &&
           i < node.input_compute.size() && node.input_compute[i] != DataType::QINT16;
      if (!ok) break;
      ir::QuantBinding binding;
      binding.bits = 8;
      binding.symmetric = symmetric;
      if (auto range = ActivationRange(v, options, calibrated)) {
        quant::QuantParams params;
        MIXQ_RETURN_IF_ERROR(WithContext(quant::MakeQuantParams({*range}, 8, symmetric, quant::kPerTensor, &params),
                                         "range of tensor '" + v.name + "'"));
        binding.scales = params.scales;
        binding.zero_points = params.zero_points;
      } else if (require_ranges) {
        ok = false;  // no range: the float path stays
      }
      bound.push_back({i, binding});
    }
    if (!ok || bound.empty()) continue;
    NodePrecision* row = nullptr;
    for (NodePrecision& r : report->nodes)
      if (r.node == node.name) row = &r;
    for (const auto& [i, binding] : bound) {
      node.input_compute[i] = DataType::QINT8;
      node.input_quant[i] = binding;
      if (!row) continue;
      for (TensorPrecision& t : row->inputs)
        if (t.tensor == g.value(node.inputs[i])->name) t.requested = t.actual = DataType::QINT8;
    }
    if (row)
      row->reason +=
          StrCat(row->reason.empty() ? "" : "; ",
                 rescale ? "integer chain: rescales int8 inputs to an int8 output between quantized operators"
                         : "integer chain: runs on int8 between quantized operators");
  }
  return Status::OK();
}

}  // namespace mixq::passes
