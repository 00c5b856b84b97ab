// Cross-layer equalization of Conv2D pairs (see ptq_transforms.h).
#include <algorithm>
#include <cmath>

#include "ops/layout.h"
#include "passes/build_pipeline.h"
#include "passes/graph_edit.h"
#include "passes/ptq_transforms.h"

namespace mixq::passes {

namespace {

// A Conv2D's filter as the equalization sees it.
struct ConvFilter {
  const float* data = nullptr;
  ir::Shape shape;
  std::array<int64_t, 4> dims{};     // logical O, I/group, KH, KW
  std::array<int64_t, 4> strides{};  // logical strides
  int64_t group = 1;
  int64_t in_channels = 0;  // I/group * group
};

bool ReadFilter(const ir::Graph& g, const ir::Node& conv, ConvFilter* f) {
  if (conv.op != OpKind::kConv2D || conv.inputs.size() < 2) return false;
  ops::AxisMap axes;
  if (!ops::FilterAxes(conv.attrs.Str("filter_layout", "OHWI"), &axes)) return false;
  f->data = FloatConstant(g, conv.inputs[1], -1);
  if (!f->data) return false;
  f->shape = g.value(conv.inputs[1])->shape;
  if (f->shape.size() != 4) return false;
  f->dims = ops::Logical(f->shape, axes);
  f->strides = ops::LogicalStrides(f->shape, axes);
  f->group = conv.attrs.Int("group", 1);
  if (f->group < 1 || f->dims[0] % f->group != 0) return false;
  f->in_channels = f->dims[1] * f->group;
  for (int64_t d : f->dims)
    if (d <= 0) return false;
  return true;
}

// Calls fn(element offset, output channel, global input channel) for every filter element.
template <typename Fn>
void ForEachElement(const ConvFilter& f, Fn fn) {
  const int64_t oc_per_group = f.dims[0] / f.group;
  for (int64_t o = 0; o < f.dims[0]; ++o)
    for (int64_t i = 0; i < f.dims[1]; ++i) {
      const int64_t global_in = (o / oc_per_group) * f.dims[1] + i;
      for (int64_t h = 0; h < f.dims[2]; ++h)
        for (int64_t w = 0; w < f.dims[3]; ++w)
          fn(o * f.strides[0] + i * f.strides[1] + h * f.strides[2] + w * f.strides[3], o, global_in);
    }
}

// Readers of a value among node inputs, and whether it is a network output.
std::vector<int> Readers(const ir::Graph& g, int value_id, bool* is_output) {
  std::vector<int> readers;
  for (size_t n = 0; n < g.node_count(); ++n)
    for (int in : g.node(static_cast<int>(n))->inputs)
      if (in == value_id) readers.push_back(static_cast<int>(n));
  *is_output = std::find(g.outputs().begin(), g.outputs().end(), value_id) != g.outputs().end();
  return readers;
}

// The single node reading `value_id` through input 0, or -1.
int SoleReader(const ir::Graph& g, int value_id) {
  bool is_output = false;
  const std::vector<int> readers = Readers(g, value_id, &is_output);
  if (is_output || readers.size() != 1 || g.node(readers[0])->inputs[0] != value_id) return -1;
  return readers[0];
}

// Input `i` of node `n` takes `values` (same shape): the constant's buffer is
// replaced when nothing else reads it, else a new constant is made.
void ReplaceConstant(ir::Graph* g, int n, size_t i, const std::vector<float>& values) {
  const int id = g->node(n)->inputs[i];
  const ir::Value& v = *g->value(id);
  if (ReaderCount(*g, id) == 1) {
    g->node(v.producer)->constant = std::make_shared<ir::Buffer>(values.data(), values.size() * sizeof(float));
    return;
  }
  const std::string name = v.name + "_cle";
  const ir::Shape shape = v.shape;
  const int new_id = AddConstant(g, name, shape, values);
  g->node(n)->inputs[i] = new_id;
}

struct Pair {
  int first = -1;       // Conv2D
  int activation = -1;  // Activation between them, or -1
  int second = -1;      // Conv2D
};

bool IsRelu6Like(const ir::Node& act) {
  const std::string type = act.attrs.Str("type", "");
  if (type == "relu6") return true;
  return type == "clip" && act.attrs.Float("alpha", -1.0f) == 0.0f && act.attrs.Float("beta", -1.0f) > 0.0f;
}

std::vector<Pair> FindPairs(const ir::Graph& g, const std::string& relu6) {
  std::vector<Pair> pairs;
  for (size_t n = 0; n < g.node_count(); ++n) {
    const ir::Node& first = *g.node(static_cast<int>(n));
    ConvFilter f1, f2;
    if (first.op != OpKind::kConv2D || first.outputs.empty() || !ReadFilter(g, first, &f1)) continue;
    if (first.inputs.size() > 2 && first.inputs[2] >= 0 && !FloatConstant(g, first.inputs[2], f1.dims[0])) continue;
    Pair p{static_cast<int>(n), -1, -1};
    int next = SoleReader(g, first.outputs[0]);
    if (next < 0) continue;
    if (g.node(next)->op == OpKind::kActivation) {
      const ir::Node& act = *g.node(next);
      const std::string type = act.attrs.Str("type", "");
      const bool ok = type == "relu" || (relu6 == "replace_with_relu" && IsRelu6Like(act));
      if (!ok || act.outputs.empty()) continue;
      p.activation = next;
      next = SoleReader(g, act.outputs[0]);
      if (next < 0) continue;
    }
    const ir::Node& second = *g.node(next);
    if (second.op != OpKind::kConv2D || !ReadFilter(g, second, &f2) || f2.in_channels != f1.dims[0]) continue;
    p.second = next;
    pairs.push_back(p);
  }
  return pairs;
}

// One equalization of a pair; the largest |log s_i| applied.
double Equalize(ir::Graph* g, const Pair& p) {
  ConvFilter f1, f2;
  ReadFilter(*g, *g->node(p.first), &f1);
  ReadFilter(*g, *g->node(p.second), &f2);
  const int64_t channels = f1.dims[0];
  std::vector<double> r1(static_cast<size_t>(channels), 0.0), r2(static_cast<size_t>(channels), 0.0);
  ForEachElement(f1, [&](int64_t e, int64_t o, int64_t) {
    r1[static_cast<size_t>(o)] = std::max(r1[static_cast<size_t>(o)], std::fabs(static_cast<double>(f1.data[e])));
  });
  ForEachElement(f2, [&](int64_t e, int64_t, int64_t i) {
    r2[static_cast<size_t>(i)] = std::max(r2[static_cast<size_t>(i)], std::fabs(static_cast<double>(f2.data[e])));
  });
  std::vector<double> s(static_cast<size_t>(channels), 1.0);
  double largest = 0.0;
  for (size_t c = 0; c < s.size(); ++c) {
    if (r1[c] > 0.0 && r2[c] > 0.0) s[c] = std::sqrt(r1[c] * r2[c]) / r2[c];
    if (!std::isfinite(s[c]) || s[c] <= 0.0) s[c] = 1.0;
    largest = std::max(largest, std::fabs(std::log(s[c])));
  }
  std::vector<float> w1(f1.data, f1.data + ir::ElementCount(f1.shape));
  std::vector<float> w2(f2.data, f2.data + ir::ElementCount(f2.shape));
  ForEachElement(f1, [&](int64_t e, int64_t o, int64_t) {
    w1[static_cast<size_t>(e)] = static_cast<float>(w1[static_cast<size_t>(e)] / s[static_cast<size_t>(o)]);
  });
  ForEachElement(f2, [&](int64_t e, int64_t, int64_t i) {
    w2[static_cast<size_t>(e)] = static_cast<float>(w2[static_cast<size_t>(e)] * s[static_cast<size_t>(i)]);
  });
  const ir::Node& first = *g->node(p.first);
  const bool has_bias = first.inputs.size() > 2 && first.inputs[2] >= 0;
  std::vector<float> b1;
  if (has_bias) {
    const float* b = FloatConstant(*g, first.inputs[2], channels);
    for (int64_t c = 0; c < channels; ++c) b1.push_back(static_cast<float>(b[c] / s[static_cast<size_t>(c)]));
  }
  ReplaceConstant(g, p.first, 1, w1);
  if (has_bias) ReplaceConstant(g, p.first, 2, b1);
  ReplaceConstant(g, p.second, 1, w2);
  return largest;
}

}  // namespace

int EqualizeCrossLayer(ir::Graph* graph, const std::string& relu6, int* relu6_replaced) {
  if (relu6_replaced) *relu6_replaced = 0;
  const std::vector<Pair> pairs = FindPairs(*graph, relu6);
  for (const Pair& p : pairs) {
    if (p.activation < 0) continue;
    ir::Node& act = *graph->node(p.activation);
    if (act.attrs.Str("type", "") == "relu") continue;
    act.attrs = ir::AttrMap();
    act.attrs.Set("type", std::string("relu"));
    if (relu6_replaced) ++*relu6_replaced;
  }
  // Sweeps until no scale moves more than 0.1 % (chains share layers).
  for (int sweep = 0; sweep < 16; ++sweep) {
    double largest = 0.0;
    for (const Pair& p : pairs) largest = std::max(largest, Equalize(graph, p));
    if (largest < 1e-3) break;
  }
  EliminateDeadNodes(graph);  // constants no longer read
  return static_cast<int>(pairs.size());
}

}  // namespace mixq::passes
