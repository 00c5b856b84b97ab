#include "passes/fusion_match.h"

#include <algorithm>
#include <cmath>

#include "passes/graph_edit.h"

namespace mixq::passes {

bool Near(double got, double want) {
  return std::fabs(got - want) <= kConstantTolerance * std::fabs(want);
}

Readers::Readers(const ir::Graph& graph) {
  Grow(graph.value_count());
  for (size_t n = 0; n < graph.node_count(); ++n) Add(static_cast<int>(n), graph.node(static_cast<int>(n))->inputs);
  for (int out : graph.outputs()) is_output_[static_cast<size_t>(out)] = true;
}

void Readers::Grow(size_t values) {
  if (readers_.size() < values) {
    readers_.resize(values);
    is_output_.resize(values, false);
  }
}

const std::vector<int>& Readers::Of(int value) const {
  static const std::vector<int> kNone;
  return static_cast<size_t>(value) < readers_.size() ? readers_[static_cast<size_t>(value)] : kNone;
}

int Readers::Sole(int value) const {
  if (value < 0 || IsOutput(value)) return -1;
  const std::vector<int>& r = Of(value);
  return r.size() == 1 ? r[0] : -1;
}

void Readers::Remove(int node, const std::vector<int>& inputs) {
  for (int in : inputs) {
    if (in < 0) continue;
    std::vector<int>& r = readers_[static_cast<size_t>(in)];
    auto it = std::find(r.begin(), r.end(), node);
    if (it != r.end()) r.erase(it);
  }
}

void Readers::Add(int node, const std::vector<int>& inputs) {
  for (int in : inputs) {
    if (in < 0) continue;
    Grow(static_cast<size_t>(in) + 1);
    readers_[static_cast<size_t>(in)].push_back(node);
  }
}

bool IsElementwise(const ir::Node& node, const char* op) {
  return node.op == OpKind::kElementwise && node.inputs.size() == 2 && node.outputs.size() == 1 &&
         node.attrs.Str("op") == op;
}

bool IsActivation(const ir::Node& node, const char* type) {
  return node.op == OpKind::kActivation && node.inputs.size() == 1 && node.outputs.size() == 1 &&
         node.attrs.Str("type") == type;
}

bool IsUnary(const ir::Node& node, const char* op) {
  return node.op == OpKind::kUnary && node.inputs.size() == 1 && node.outputs.size() == 1 && node.attrs.Str("op") == op;
}

bool IsReduceMean(const ir::Node& node) {
  return node.op == OpKind::kReduce && node.inputs.size() == 1 && node.outputs.size() == 1 &&
         node.attrs.Str("op") == "mean";
}

bool ScalarConstant(const ir::Graph& g, int value, double* c) {
  const float* k = FloatConstant(g, value, 1);
  if (!k) return false;
  *c = *k;
  return true;
}

int OtherOperand(const ir::Node& node, int value) {
  if (node.inputs.size() != 2 || node.inputs[0] == node.inputs[1]) return -1;
  return node.inputs[0] == value ? node.inputs[1] : node.inputs[1] == value ? node.inputs[0] : -1;
}

bool AsScale(const ir::Graph& g, const ir::Node& node, int* value, double* factor) {
  double c = 0, unused = 0;
  if (IsElementwise(node, "mul")) {
    for (int i : {0, 1})
      if (ScalarConstant(g, node.inputs[static_cast<size_t>(i)], &c) &&
          !ScalarConstant(g, node.inputs[static_cast<size_t>(1 - i)], &unused)) {
        *value = node.inputs[static_cast<size_t>(1 - i)];
        *factor = c;
        return true;
      }
    return false;
  }
  if (IsElementwise(node, "div") && ScalarConstant(g, node.inputs[1], &c) &&
      !ScalarConstant(g, node.inputs[0], &unused) && c != 0) {
    *value = node.inputs[0];
    *factor = 1.0 / c;
    return true;
  }
  return false;
}

bool AsShift(const ir::Graph& g, const ir::Node& node, int* value, double* shift) {
  double c = 0, unused = 0;
  if (IsElementwise(node, "add")) {
    for (int i : {0, 1})
      if (ScalarConstant(g, node.inputs[static_cast<size_t>(i)], &c) &&
          !ScalarConstant(g, node.inputs[static_cast<size_t>(1 - i)], &unused)) {
        *value = node.inputs[static_cast<size_t>(1 - i)];
        *shift = c;
        return true;
      }
    return false;
  }
  if (IsElementwise(node, "sub") && ScalarConstant(g, node.inputs[1], &c) &&
      !ScalarConstant(g, node.inputs[0], &unused)) {
    *value = node.inputs[0];
    *shift = -c;
    return true;
  }
  return false;
}

const ir::Node* Producer(const ir::Graph& g, int value) {
  if (value < 0) return nullptr;
  const int p = g.value(value)->producer;
  return p < 0 ? nullptr : g.node(p);
}

bool MatchHalfXTimes(const ir::Graph& g, const Readers& readers, int e, int x, std::vector<int>* nodes) {
  const int m1 = readers.Sole(e);
  if (m1 < 0) return false;
  const ir::Node& first = *g.node(m1);
  int v = -1;
  double k = 0;
  if (AsScale(g, first, &v, &k)) {  // x * (e * 0.5)
    if (v != e || !Near(k, 0.5)) return false;
    const int m2 = readers.Sole(first.outputs[0]);
    if (m2 < 0 || !IsElementwise(*g.node(m2), "mul") || OtherOperand(*g.node(m2), first.outputs[0]) != x) return false;
    nodes->insert(nodes->end(), {m1, m2});
    return true;
  }
  if (!IsElementwise(first, "mul")) return false;
  const int other = OtherOperand(first, e);
  if (other < 0) return false;
  if (other == x) {  // (x * e) * 0.5
    const int m2 = readers.Sole(first.outputs[0]);
    if (m2 < 0 || !AsScale(g, *g.node(m2), &v, &k) || v != first.outputs[0] || !Near(k, 0.5)) return false;
    nodes->insert(nodes->end(), {m1, m2});
    return true;
  }
  const ir::Node* half = Producer(g, other);  // (x * 0.5) * e
  if (!half || !AsScale(g, *half, &v, &k) || v != x || !Near(k, 0.5)) return false;
  nodes->insert(nodes->end(), {half->id, m1});
  return true;
}

namespace {

// A range or exact quantization parameters (a QAT model's Q/DQ) the user
// gave for this tensor: it would vanish with the tensor.
bool UserRange(const ir::Value& v, const BuildOptions& options) {
  return v.range.has_value() || v.fixed_quant.has_value() || options.custom_ranges.count(v.name) != 0;
}

bool CanFuse(const Fusion& f, const BuildOptions& options, const ir::Graph& g, const Readers& readers) {
  if (f.nodes.empty() || f.x < 0) return false;
  std::vector<int> sorted = f.nodes;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) return false;
  auto inside = [&](int node) { return std::binary_search(sorted.begin(), sorted.end(), node); };
  const ir::Value& x = *g.value(f.x);
  if (x.producer >= 0 && inside(x.producer)) return false;
  const ir::Node& last = *g.node(f.nodes.back());
  const ir::Value& result = *g.value(last.outputs[0]);
  if (x.dtype != DataType::FLOAT32 || result.dtype != DataType::FLOAT32 || x.shape != result.shape) return false;
  for (int id : f.nodes) {
    const ir::Node& n = *g.node(id);
    if (n.inputs.empty() || n.outputs.size() != 1 || !n.input_precision.empty() || !n.output_type.empty() ||
        options.node_precision.count(n.name))
      return false;
    if (id == f.nodes.back()) continue;
    const int out = n.outputs[0];
    if (readers.IsOutput(out) || UserRange(*g.value(out), options)) return false;
    for (int reader : readers.Of(out))
      if (!inside(reader)) return false;
  }
  return true;
}

}  // namespace

bool ApplyFusion(const Fusion& f, const BuildOptions& options, ir::Graph* graph, Readers* readers,
                 std::map<std::string, std::vector<std::string>>* folded) {
  if (!CanFuse(f, options, *graph, *readers)) return false;
  std::vector<int> inputs = {f.x};
  for (const NewConstant& c : f.constants)
    inputs.push_back(c.base.empty() ? -1 : AddConstant(graph, c.base, c.shape, c.values));
  const int last_id = f.nodes.back();
  std::vector<std::string> labels;
  for (int id : f.nodes) labels.push_back(ir::NodeLabel(*graph, *graph->node(id)));
  const std::string name = graph->UniqueName(graph->node(last_id)->name + "_" + f.suffix);
  ir::Node* fused = graph->AddNode(f.op, name, inputs, 1);
  fused->attrs = f.attrs;
  const int fused_id = fused->id, placeholder = fused->outputs[0];
  // The fused node writes the last node's output; the old nodes read nothing
  // and are left for dead-node elimination.
  const int out = graph->node(last_id)->outputs[0];
  fused->outputs[0] = out;
  ir::Value& v = *graph->value(out);
  v.producer = fused_id;
  v.producer_output = 0;
  graph->node(last_id)->outputs = {placeholder};
  graph->value(placeholder)->producer = last_id;
  for (int id : f.nodes) {
    ir::Node& n = *graph->node(id);
    readers->Remove(id, n.inputs);
    n.inputs.clear();
  }
  readers->Add(fused_id, inputs);
  (*folded)[name] = labels;
  return true;
}

}  // namespace mixq::passes
