// SmoothQuant-style migration of activation outliers into the weights (see ptq_transforms.h).
#include <algorithm>
#include <cmath>

#include "passes/graph_edit.h"
#include "passes/ptq_transforms.h"

namespace mixq::passes {

namespace {

// A reader of X that can be smoothed: its weight's element index for (input channel j, output n).
struct Reader {
  int node = -1;
  int64_t k = 0, n = 0;
  bool transposed = false;  // weight stored [N, K]
  int64_t Index(int64_t j, int64_t o) const { return transposed ? o * k + j : j * n + o; }
};

// Is node `n` a FullyConnected / MatMul reading X as input 0 with a rank-2
// FLOAT32 constant weight? X's last axis must be K.
bool AsReader(const ir::Graph& g, int n, int x_id, Reader* r) {
  const ir::Node& node = *g.node(n);
  if (node.op != OpKind::kFullyConnected && node.op != OpKind::kMatMul) return false;
  if (node.inputs.size() < 2 || node.inputs[0] != x_id || node.inputs[1] == x_id) return false;
  if (node.attrs.Int("transpose_a", 0) != 0) return false;
  const ir::Value& x = *g.value(x_id);
  const ir::Value& w = *g.value(node.inputs[1]);
  if (!FloatConstant(g, node.inputs[1], -1) || w.shape.size() != 2 || x.shape.empty()) return false;
  if (node.op == OpKind::kFullyConnected && x.shape.size() != 2) return false;
  if (node.op == OpKind::kMatMul && x.shape.size() < 2) return false;
  r->node = n;
  r->transposed = node.attrs.Int("transpose_b", node.op == OpKind::kFullyConnected ? 1 : 0) != 0;
  r->k = r->transposed ? w.shape[1] : w.shape[0];
  r->n = r->transposed ? w.shape[0] : w.shape[1];
  return r->k > 0 && r->n > 0 && x.shape.back() == r->k;
}

std::vector<Reader> ReadersOf(const ir::Graph& g, int x_id) {
  std::vector<Reader> readers;
  for (size_t n = 0; n < g.node_count(); ++n) {
    Reader r;
    if (AsReader(g, static_cast<int>(n), x_id, &r)) readers.push_back(r);
  }
  return readers;
}

}  // namespace

std::map<std::string, int64_t> SmoothQuantCandidates(const ir::Graph& graph) {
  std::map<std::string, int64_t> candidates;
  for (size_t v = 0; v < graph.value_count(); ++v) {
    const ir::Value& x = *graph.value(static_cast<int>(v));
    if (x.dtype != DataType::FLOAT32) continue;
    if (x.producer >= 0 && graph.node(x.producer)->op == OpKind::kConstant) continue;
    const std::vector<Reader> readers = ReadersOf(graph, x.id);
    if (!readers.empty()) candidates[x.name] = readers[0].k;
  }
  return candidates;
}

int SmoothActivations(ir::Graph* graph, double alpha, const std::map<std::string, std::vector<double>>& absmax) {
  int smoothed = 0;
  for (const auto& [name, x_max] : absmax) {
    const ir::Value* found = graph->FindValue(name);
    if (!found) continue;
    const int x_id = found->id;
    const std::vector<Reader> readers = ReadersOf(*graph, x_id);
    if (readers.empty()) continue;
    const int64_t k = readers[0].k;
    if (static_cast<int64_t>(x_max.size()) != k) continue;
    bool same_k = true;
    for (const Reader& r : readers) same_k = same_k && r.k == k;
    if (!same_k) continue;
    std::vector<double> w_max(static_cast<size_t>(k), 0.0);
    for (const Reader& r : readers) {
      const float* w = FloatConstant(*graph, graph->node(r.node)->inputs[1], -1);
      for (int64_t j = 0; j < k; ++j)
        for (int64_t o = 0; o < r.n; ++o)
          w_max[static_cast<size_t>(j)] =
              std::max(w_max[static_cast<size_t>(j)], std::fabs(static_cast<double>(w[r.Index(j, o)])));
    }
    std::vector<double> s(static_cast<size_t>(k), 1.0);
    std::vector<float> inverse(static_cast<size_t>(k), 1.0f);
    for (size_t j = 0; j < s.size(); ++j) {
      if (x_max[j] > 0.0 && w_max[j] > 0.0) s[j] = std::pow(x_max[j], alpha) / std::pow(w_max[j], 1.0 - alpha);
      if (!std::isfinite(s[j]) || s[j] <= 0.0 || !std::isfinite(1.0 / s[j])) s[j] = 1.0;
      inverse[j] = static_cast<float>(1.0 / s[j]);
    }
    // X / s, by a Mul the smoothed readers read instead of X.
    const std::string x_name = graph->value(x_id)->name;
    const ir::Shape x_shape = graph->value(x_id)->shape;
    const int inv_id = AddConstant(graph, x_name + "_smooth_scale", {k}, inverse);
    const std::string mul_name = graph->UniqueName(x_name + "_smoothed");
    ir::Node* mul = graph->AddNode(OpKind::kElementwise, mul_name, {x_id, inv_id}, 1);
    mul->attrs.Set("op", std::string("mul"));
    ir::Value* y = graph->value(mul->outputs[0]);
    graph->RenameValue(y->id, mul_name);
    y->dtype = DataType::FLOAT32;
    y->shape = x_shape;
    const int y_id = y->id;
    for (const Reader& r : readers) {
      const ir::Value& wv = *graph->value(graph->node(r.node)->inputs[1]);
      const float* w = FloatConstant(*graph, wv.id, -1);
      std::vector<float> scaled(w, w + ir::ElementCount(wv.shape));
      for (int64_t j = 0; j < k; ++j)
        for (int64_t o = 0; o < r.n; ++o) {
          float& e = scaled[static_cast<size_t>(r.Index(j, o))];
          e = static_cast<float>(e * s[static_cast<size_t>(j)]);
        }
      const std::string w_name = wv.name + "_smoothed";
      const ir::Shape w_shape = wv.shape;
      const int w_id = AddConstant(graph, w_name, w_shape, scaled);
      ir::Node& node = *graph->node(r.node);
      node.inputs[0] = y_id;
      node.inputs[1] = w_id;
      ++smoothed;
    }
  }
  return smoothed;
}

}  // namespace mixq::passes
