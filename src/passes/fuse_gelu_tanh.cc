// 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))) -> Activation
// gelu_tanh (the "approximate" GELU of GPT-2 / BERT exports), x^3 as
// Pow(x, 3), (x * x) * x or x * (x * x); the tail as for the erf form.
#include <cmath>
#include <numbers>

#include "passes/fusion_match.h"

namespace mixq::passes {

namespace {

// `value` is x^3 of some x: its nodes appended, x returned; -1 otherwise.
int MatchCube(const ir::Graph& g, int value, std::vector<int>* nodes) {
  const ir::Node* n = Producer(g, value);
  if (!n) return -1;
  double e = 0;
  if (IsElementwise(*n, "pow") && ScalarConstant(g, n->inputs[1], &e) && Near(e, 3.0)) {
    nodes->push_back(n->id);
    return n->inputs[0];
  }
  if (!IsElementwise(*n, "mul")) return -1;
  for (int i : {0, 1}) {  // x * (x * x) or (x * x) * x
    const int x = n->inputs[static_cast<size_t>(1 - i)];
    const ir::Node* square = Producer(g, n->inputs[static_cast<size_t>(i)]);
    if (square && IsElementwise(*square, "mul") && square->inputs[0] == x && square->inputs[1] == x) {
      nodes->insert(nodes->end(), {square->id, n->id});
      return x;
    }
  }
  return -1;
}

}  // namespace

bool MatchGeluTanh(const ir::Graph& g, const Readers& readers, int anchor, Fusion* fusion) {
  const ir::Node& tanh = *g.node(anchor);
  if (!IsActivation(tanh, "tanh")) return false;
  const ir::Node* scale = Producer(g, tanh.inputs[0]);
  int inner = -1, v = -1;
  double k = 0;
  if (!scale || !AsScale(g, *scale, &inner, &k) || !Near(k, std::sqrt(2.0 / std::numbers::pi))) return false;
  const ir::Node* sum = Producer(g, inner);  // x + 0.044715 * x^3
  if (!sum || !IsElementwise(*sum, "add")) return false;
  int x = -1;
  std::vector<int> nodes;
  for (int i : {0, 1}) {
    const ir::Node* cubic = Producer(g, sum->inputs[static_cast<size_t>(i)]);
    int cube = -1;
    if (!cubic || !AsScale(g, *cubic, &cube, &k) || !Near(k, 0.044715)) continue;
    nodes = {cubic->id};
    const int base = MatchCube(g, cube, &nodes);
    if (base >= 0 && base == sum->inputs[static_cast<size_t>(1 - i)]) {
      x = base;
      break;
    }
  }
  if (x < 0) return false;
  const int add = readers.Sole(tanh.outputs[0]);
  if (add < 0 || !AsShift(g, *g.node(add), &v, &k) || v != tanh.outputs[0] || !Near(k, 1.0)) return false;
  nodes.insert(nodes.end(), {sum->id, scale->id, anchor, add});
  if (!MatchHalfXTimes(g, readers, g.node(add)->outputs[0], x, &nodes)) return false;
  fusion->nodes = nodes;
  fusion->x = x;
  fusion->op = OpKind::kActivation;
  fusion->suffix = "gelu";
  fusion->attrs = {};
  fusion->attrs.Set("type", std::string("gelu_tanh"));
  fusion->constants.clear();
  return true;
}

}  // namespace mixq::passes
