// Integer chains in imported QDQ models (passes/integer_chain.h). A QDQ
// model from ONNX Runtime's quantize_static quantizes both inputs and the
// output of a residual Add (DQ, DQ -> Add -> Q), of a GlobalAvgPool and of an
// AvgPool. mixq imports each such Q / DQ pair in front of a float operator as
// a FakeQuantize (frontend/onnx/qdq_import.cc), so the add ran in float
// between FakeQuantize, Quantize and float-output convolution steps: three
// or four passes over a float32 tensor where the model itself says int8.
//
// Here those operators become the rescaling steps of an integer chain, with
// the model's own parameters:
//  1. a rescaling step whose every data input is a per-tensor 8-bit
//     FakeQuantize's output, and whose output ends quantized with one
//     parameter set (through its FakeQuantize, or read as QINT8 directly), is
//     set to consume each input as QINT8 with that FakeQuantize's parameters;
//  2. then every per-tensor 8-bit FakeQuantize whose output is only consumed
//     quantized with its own parameters (directly, through another such
//     FakeQuantize, or through operators that run on the integers such as
//     MaxPool) is bypassed: its readers read its input. Quantizing x with
//     the parameters P gives the same codes as quantizing FakeQuantize_P(x)
//     (a code's value quantizes back to the code), and MaxPool, ReLU,
//     Reshape, ... commute with both.
// The Q/DQ placement then lets the convolutions write the codes and the
// chain steps read and write int8 (qdq_placement.h). The float result the
// model defines (dequantize, add in float32, quantize) is what the int8 add
// computes (ops/int8_chain.h), so this changes no value beyond float32
// rounding of the sum.
#include <algorithm>
#include <set>

#include "ops/op_schema.h"
#include "passes/integer_chain.h"
#include "passes/qdq_placement.h"
#include "util/status_util.h"

namespace mixq::passes {

namespace {

using Uses = std::vector<std::vector<std::pair<int, size_t>>>;

// A per-tensor 8-bit FakeQuantize and its parameters as a binding (the same
// form the QDQ import's tensor parameters take: symmetric when the zero point
// is 0).
bool FakeQuantizeBinding(const ir::Node& n, ir::QuantBinding* binding) {
  if (n.op != OpKind::kFakeQuantize || n.inputs.size() != 1 || n.outputs.size() != 1 || n.inputs[0] < 0) return false;
  const std::vector<float> scales = n.attrs.Floats("scales");
  const std::vector<int64_t> zero_points = n.attrs.Ints("zero_points");
  if (n.attrs.Int("bits", 8) != 8 || n.attrs.Int("axis", -1) >= 0 || scales.size() != 1 || zero_points.size() != 1 ||
      !(scales[0] > 0.0f))
    return false;
  binding->bits = 8;
  binding->axis = -1;
  binding->dynamic = false;
  binding->scales = scales;
  binding->zero_points = {static_cast<int32_t>(zero_points[0])};
  binding->symmetric = zero_points[0] == 0;
  return true;
}

bool SameParameters(const ir::QuantBinding& a, const ir::QuantBinding& b) {
  return a.bits == b.bits && !a.dynamic && !b.dynamic && a.axis == b.axis && a.scales == b.scales &&
         a.zero_points == b.zero_points;
}

class QdqChains {
 public:
  QdqChains(ir::Graph* g, PrecisionReport* report) : g_(*g), report_(*report) {
    is_output_.assign(g_.value_count(), false);
    for (int out : g_.outputs()) is_output_[static_cast<size_t>(out)] = true;
    RebuildUses();
  }

  Status Run() {
    // Each sweep moves every Reshape one step down at least; a chain of n
    // steps takes n sweeps.
    for (size_t sweep = 0; sweep < g_.node_count() && Canonicalize(); ++sweep) {
    }
    std::vector<int> order;
    MIXQ_RETURN_IF_ERROR(g_.TopologicalOrder(&order));
    // Consumers first, so an add reading another chain step's output sees
    // it already reading QINT8.
    for (auto it = order.rbegin(); it != order.rend(); ++it) Convert(*g_.node(*it));
    for (int id : order) Bypass(*g_.node(id));
    return Status::OK();
  }

 private:
  void RebuildUses() {
    uses_.assign(g_.value_count(), {});
    for (size_t n = 0; n < g_.node_count(); ++n) {
      const ir::Node& node = *g_.node(static_cast<int>(n));
      for (size_t i = 0; i < node.inputs.size(); ++i)
        if (node.inputs[i] >= 0) uses_[static_cast<size_t>(node.inputs[i])].push_back({node.id, i});
    }
  }

  // Every reader of `v` ends up quantizing it with `p`: it consumes it as
  // static QINT8 with p, or is a FakeQuantize with p whose output ends so, or
  // runs on the integers (its data input) with every output ending so.
  bool EndsQuantized(int v, const ir::QuantBinding& p, int depth = 0) const {
    if (depth > 64 || is_output_[static_cast<size_t>(v)] || uses_[static_cast<size_t>(v)].empty()) return false;
    for (const auto& [id, i] : uses_[static_cast<size_t>(v)]) {
      const ir::Node& c = *g_.node(id);
      if (i < c.input_compute.size() && c.input_compute[i] == DataType::QINT8) {
        if (i >= c.input_quant.size() || !c.input_quant[i] || !SameParameters(*c.input_quant[i], p)) return false;
        continue;
      }
      ir::QuantBinding own;
      if (FakeQuantizeBinding(c, &own)) {
        if (!SameParameters(own, p) || !EndsQuantized(c.outputs[0], p, depth + 1)) return false;
        continue;
      }
      const bool data_input = c.op == OpKind::kConcat || i == 0;
      if (!data_input || !RunsOnIntegers(c, g_) || c.outputs.empty() || !c.input_precision.empty() ||
          !c.output_type.empty())
        return false;
      for (int out : c.outputs)
        if (!EndsQuantized(out, p, depth + 1)) return false;
    }
    return true;
  }

  // The parameters the first reader of `v` quantizes it with (followed
  // through FakeQuantize and integer operators), if any.
  std::optional<ir::QuantBinding> FirstEnd(int v, int depth = 0) const {
    const auto& list = uses_[static_cast<size_t>(v)];
    if (depth > 64 || list.empty()) return std::nullopt;
    const auto& [id, i] = list[0];
    const ir::Node& c = *g_.node(id);
    if (i < c.input_compute.size() && c.input_compute[i] == DataType::QINT8 && i < c.input_quant.size())
      return c.input_quant[i];
    ir::QuantBinding own;
    if (FakeQuantizeBinding(c, &own)) return own;
    if (RunsOnIntegers(c, g_) && !c.outputs.empty()) return FirstEnd(c.outputs[0], depth + 1);
    return std::nullopt;
  }

  // Step 0. ONNX Runtime's Gemm fusion leaves a Reshape between a
  // FullyConnected's output and its Q / DQ pair, and the pair repeated after
  // it with the same parameters (BERT: Gemm -> Q/DQ -> Reshape -> Q/DQ ->
  // Gelu -> Q/DQ). A Reshape (Flatten, Squeeze, Unsqueeze) moves below a
  // one-input elementwise step that is its only reader (which computes the
  // same values in either order), and a FakeQuantize of a FakeQuantize with
  // the same parameters goes (it changes nothing). Then the convolution or
  // GEMM, its FakeQuantize and the float steps after it are adjacent: the
  // lowering runs them as the GEMM writing codes and one table step
  // (runtime/fusion/fuse_qdq_region.cc). One sweep over the nodes per call;
  // true when it changed something.
  bool Canonicalize() {
    bool changed = false;
    for (size_t n = 0; n < g_.node_count(); ++n) {
      ir::Node& node = *g_.node(static_cast<int>(n));
      if (node.inputs.empty() || node.outputs.size() != 1) continue;
      if (SwapReshapeDown(node) || DropRepeatedFakeQuantize(node)) {
        RebuildUses();
        changed = true;
      }
    }
    return changed;
  }

  static bool PureReshape(OpKind op) {
    return op == OpKind::kReshape || op == OpKind::kFlatten || op == OpKind::kSqueeze || op == OpKind::kUnsqueeze;
  }

  bool UnaryElementwise(const ir::Node& n) const {
    ir::QuantBinding unused;
    const bool one_input = n.inputs.size() == 1 && n.outputs.size() == 1 && n.inputs[0] >= 0;
    const bool kind = n.op == OpKind::kActivation || n.op == OpKind::kUnary || FakeQuantizeBinding(n, &unused);
    return one_input && kind && n.input_precision.empty() && n.output_type.empty() && !n.input_compute.empty() &&
           n.input_compute[0] == DataType::FLOAT32;
  }

  // reshape: a -> b, then unary: b -> c  ==>  unary: a -> b, reshape: b -> c.
  bool SwapReshapeDown(ir::Node& reshape) {
    if (!PureReshape(reshape.op) || !reshape.input_precision.empty() || !reshape.output_type.empty()) return false;
    const int a = reshape.inputs[0], b = reshape.outputs[0];
    if (a < 0 || is_output_[static_cast<size_t>(b)] || uses_[static_cast<size_t>(b)].size() != 1) return false;
    ir::Node& unary = *g_.node(uses_[static_cast<size_t>(b)][0].first);
    if (!UnaryElementwise(unary) || g_.value(a)->dtype != g_.value(b)->dtype) return false;
    const int c = unary.outputs[0];
    unary.inputs[0] = a;
    unary.outputs[0] = b;
    reshape.inputs[0] = b;
    reshape.outputs[0] = c;
    ir::Value& vb = *g_.value(b);
    vb.shape = g_.value(a)->shape;
    vb.producer = unary.id;
    vb.producer_output = 0;
    ir::Value& vc = *g_.value(c);
    vc.producer = reshape.id;
    vc.producer_output = 0;
    return true;
  }

  bool DropRepeatedFakeQuantize(ir::Node& second) {
    ir::QuantBinding p, q;
    if (!FakeQuantizeBinding(second, &p) || is_output_[static_cast<size_t>(second.outputs[0])]) return false;
    const int producer = g_.value(second.inputs[0])->producer;
    if (producer < 0 || !FakeQuantizeBinding(*g_.node(producer), &q) || !SameParameters(p, q)) return false;
    for (const auto& [id, i] : uses_[static_cast<size_t>(second.outputs[0])]) g_.node(id)->inputs[i] = second.inputs[0];
    second.inputs.clear();  // dead: EliminateDeadNodes drops it
    report_.nodes.erase(std::remove_if(report_.nodes.begin(), report_.nodes.end(),
                                       [&](const NodePrecision& r) { return r.node == second.name; }),
                        report_.nodes.end());
    return true;
  }

  // Step 1: a rescaling step between FakeQuantize outputs and a quantized end.
  void Convert(ir::Node& node) {
    const ops::OpSchema& schema = ops::GetSchema(node.op);
    if (!schema.quant.chain_input || !schema.quant.chain_reference || !IsRescaleStep(g_, node)) return;
    if (!node.input_precision.empty() || !node.output_type.empty() || node.outputs.size() != 1) return;
    const int y = node.outputs[0];
    const std::optional<ir::QuantBinding> end = FirstEnd(y);
    if (!end || end->bits != 8 || !EndsQuantized(y, *end)) return;
    std::vector<std::pair<size_t, ir::QuantBinding>> bound;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i] < 0 || !schema.quant.chain_input(g_, node, i)) continue;
      const ir::Value& v = *g_.value(node.inputs[i]);
      ir::QuantBinding p;
      if (v.producer < 0 || !FakeQuantizeBinding(*g_.node(v.producer), &p) || i >= node.input_compute.size() ||
          node.input_compute[i] != DataType::FLOAT32)
        return;
      // The int8 add kernels take same-shape operands; a broadcast add stays float.
      if (node.op == OpKind::kElementwise && v.shape != g_.value(y)->shape) return;
      bound.push_back({i, p});
    }
    if (bound.empty()) return;
    for (const auto& [i, p] : bound) {
      node.input_compute[i] = DataType::QINT8;
      node.input_quant[i] = p;
    }
    if (NodePrecision* row = Row(node.name)) {
      for (const auto& [i, p] : bound)
        for (TensorPrecision& t : row->inputs)
          if (t.tensor == g_.value(node.inputs[i])->name) t.requested = t.actual = DataType::QINT8;
      row->reason += StrCat(row->reason.empty() ? "" : "; ",
                            "integer chain: rescales the QDQ model's int8 inputs to its int8 output");
    }
  }

  // Step 2: a FakeQuantize only ever quantized again with its own parameters.
  void Bypass(ir::Node& fq) {
    ir::QuantBinding p;
    if (!FakeQuantizeBinding(fq, &p)) return;
    const int from = fq.outputs[0], to = fq.inputs[0];
    if (g_.value(to)->dtype != DataType::FLOAT32 || !EndsQuantized(from, p)) return;
    for (const auto& [id, i] : uses_[static_cast<size_t>(from)]) g_.node(id)->inputs[i] = to;
    fq.inputs.clear();  // dead: EliminateDeadNodes drops it
    RebuildUses();
    report_.nodes.erase(std::remove_if(report_.nodes.begin(), report_.nodes.end(),
                                       [&](const NodePrecision& r) { return r.node == fq.name; }),
                        report_.nodes.end());
    const int producer = g_.value(to)->producer;
    if (producer < 0) return;
    if (NodePrecision* row = Row(g_.node(producer)->name))
      row->reason += StrCat(row->reason.empty() ? "" : "; ", "QDQ FakeQuantize '", fq.name,
                            "' after it folded into its readers' quantization");
  }

  NodePrecision* Row(const std::string& node) {
    for (NodePrecision& r : report_.nodes)
      if (r.node == node) return &r;
    return nullptr;
  }

  ir::Graph& g_;
  PrecisionReport& report_;
  std::vector<bool> is_output_;
  Uses uses_;
};

}  // namespace

Status PlanQdqIntegerChains(ir::Graph* graph, const BuildOptions& options, PrecisionReport* report) {
  if (options.int8_rescale_chains != "on") return Status::OK();
  bool any = false;
  for (size_t n = 0; n < graph->node_count() && !any; ++n)
    any = graph->node(static_cast<int>(n))->op == OpKind::kFakeQuantize;
  if (!any) return Status::OK();
  return QdqChains(graph, report).Run();
}

}  // namespace mixq::passes
