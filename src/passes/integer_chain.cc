#include "passes/integer_chain.h"

#include <algorithm>
#include <optional>

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

bool SameBinding(const std::optional<ir::QuantBinding>& a, const ir::QuantBinding& b) {
  return a && a->bits == b.bits && a->symmetric == b.symmetric && a->dynamic == b.dynamic && a->axis == b.axis &&
         a->scales == b.scales && a->zero_points == b.zero_points;
}

// A float step the lowering fuses into the int8 convolution before it, with
// the quantize after it (runtime/fusion/fuse_float_chain.cc): hard_swish, or
// a product or sum with a one-element constant.
bool FloatChainStep(const ir::Graph& g, const ir::Node& p) {
  if (p.op == OpKind::kActivation) return p.attrs.Str("type") == "hard_swish";
  if (p.op != OpKind::kElementwise || p.inputs.size() != 2) return false;
  const std::string op = p.attrs.Str("op");
  if (op != "mul" && op != "add") return false;
  for (size_t i = 0; i < 2; ++i)
    if (p.inputs[i] >= 0 && IsConstant(g, p.inputs[i]) && ir::ElementCount(g.value(p.inputs[i])->shape) == 1)
      return p.inputs[1 - i] >= 0 && !IsConstant(g, p.inputs[1 - i]);
  return false;
}

struct Chosen {
  int node = -1;
  bool rescale = false;
  std::vector<std::pair<size_t, ir::QuantBinding>> bound;
  std::vector<std::pair<DataType, std::optional<ir::QuantBinding>>> saved;  // per bound input, before
};

class Pruner {
 public:
  Pruner(ir::Graph* g, const Uses& uses, const std::vector<bool>& is_output, std::vector<Chosen>* chosen)
      : g_(*g), uses_(uses), is_output_(is_output), chosen_(*chosen) {}

  // Drops chosen nodes until every one's output is still consumed as static
  // int8 and every rescaling step's quantized inputs cost no Quantize step
  // the float path does not have (a chain step that needs one would add a
  // float -> int8 pass over its input, and an error, to save nothing).
  void Run() {
    bool changed = true;
    while (changed) {
      changed = false;
      for (size_t k = 0; k < chosen_.size(); ++k) {
        Chosen& c = chosen_[k];
        if (c.node < 0) continue;
        const ir::Node& node = *g_.node(c.node);
        bool keep = ConsumedAsStaticInt8(g_, node.outputs[0], uses_, is_output_);
        for (const auto& [i, binding] : c.bound) keep = keep && (!c.rescale || InputFree(c.node, i, binding));
        if (keep) continue;
        ir::Node& n = *g_.node(c.node);
        for (size_t b = 0; b < c.bound.size(); ++b) {
          n.input_compute[c.bound[b].first] = c.saved[b].first;
          n.input_quant[c.bound[b].first] = c.saved[b].second;
        }
        c.node = -1;
        changed = true;
      }
    }
  }

 private:
  bool Chain(int id) const {
    for (const Chosen& c : chosen_)
      if (c.node == id) return true;
    return false;
  }
  bool RescaleChain(int id) const {
    for (const Chosen& c : chosen_)
      if (c.node == id) return c.rescale;
    return false;
  }

  // Input i of `node` quantized with `binding` is free: another consumer
  // (not a rescaling step) quantizes it with the same parameters anyway, or
  // every consumer takes it so and its producer can write the int8 itself.
  bool InputFree(int node, size_t i, const ir::QuantBinding& binding) const {
    const int v = g_.node(node)->inputs[i];
    bool all = !is_output_[static_cast<size_t>(v)];
    for (const auto& [id, j] : uses_[static_cast<size_t>(v)]) {
      const ir::Node& c = *g_.node(id);
      const bool same = j < c.input_compute.size() && c.input_compute[j] == DataType::QINT8 &&
                        j < c.input_quant.size() && SameBinding(c.input_quant[j], binding);
      if (same && id != node && !RescaleChain(id)) return true;
      all = all && same;
    }
    return all && WritesInt8(v);
  }

  // The producer of `v` writes it as int8 once its consumers take it so: a
  // quantized operator, a chosen chain node, or an operator that runs on the
  // integers or a float chain step the lowering fuses, above such a producer
  // and the only consumer of its input.
  bool WritesInt8(int v) const {
    const int p = g_.value(v)->producer;
    if (p < 0) return false;
    const ir::Node& node = *g_.node(p);
    if (node.outputs.size() != 1) return false;
    if (Chain(p)) return true;
    if (ops::GetSchema(node.op).integer_reference)
      return !node.input_compute.empty() && node.input_compute[0] == DataType::QINT8;
    if ((RunsOnIntegers(node, g_) && node.op != OpKind::kConcat) || FloatChainStep(g_, node)) {
      size_t data = 0;  // the non-constant input of a scalar step
      while (data + 1 < node.inputs.size() && node.inputs[data] >= 0 && IsConstant(g_, node.inputs[data])) ++data;
      const int u = node.inputs.empty() ? -1 : node.inputs[data];
      if (u < 0 || is_output_[static_cast<size_t>(u)] || uses_[static_cast<size_t>(u)].size() != 1) return false;
      return WritesInt8(u);
    }
    return false;
  }

  ir::Graph& g_;
  const Uses& uses_;
  const std::vector<bool>& is_output_;
  std::vector<Chosen>& chosen_;
};

}  // namespace

// Rescaling steps (ops/int8_chain.h): an add of two tensors, the average
// pools; the others are table steps (one data input, constants besides).
bool IsRescaleStep(const ir::Graph& g, const ir::Node& node) {
  if (node.op == OpKind::kAvgPool2D || node.op == OpKind::kGlobalAvgPool) return true;
  if (node.op != OpKind::kElementwise || node.inputs.size() != 2) return false;
  for (int in : node.inputs)
    if (in < 0 || IsConstant(g, in)) return false;
  return true;
}

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
  std::vector<Chosen> chosen;
  // Consumers first, so a node sees whether the chain nodes after it joined.
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    ir::Node& node = *g.node(*it);
    const ops::OpSchema& schema = ops::GetSchema(node.op);
    if (!schema.quant.chain_input || !schema.quant.chain_reference) continue;
    const bool rescale = IsRescaleStep(g, node);
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
    Chosen c{node.id, rescale, bound, {}};
    for (const auto& [i, binding] : bound) {
      c.saved.push_back({node.input_compute[i], node.input_quant[i]});
      node.input_compute[i] = DataType::QINT8;
      node.input_quant[i] = binding;
    }
    chosen.push_back(std::move(c));
  }
  // The same decisions without ranges (the calibrator: every binding of a
  // tensor is then equally empty), so it observes what the build quantizes.
  Pruner(&g, uses, is_output, &chosen).Run();
  for (const Chosen& c : chosen) {
    if (c.node < 0) continue;
    const ir::Node& node = *g.node(c.node);
    NodePrecision* row = nullptr;
    for (NodePrecision& r : report->nodes)
      if (r.node == node.name) row = &r;
    if (!row) continue;
    for (const auto& [i, binding] : c.bound)
      for (TensorPrecision& t : row->inputs)
        if (t.tensor == g.value(node.inputs[i])->name) t.requested = t.actual = DataType::QINT8;
    row->reason +=
        StrCat(row->reason.empty() ? "" : "; ",
               c.rescale ? "integer chain: rescales int8 inputs to an int8 output between quantized operators"
                         : "integer chain: runs on int8 between quantized operators");
  }
  return Status::OK();
}

}  // namespace mixq::passes
