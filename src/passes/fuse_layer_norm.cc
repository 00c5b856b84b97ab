// LayerNorm over the last axis as exporters spell it out:
//   m = ReduceMean(x, last axis, keepdims); d = x - m
//   v = ReduceMean(d^2 | d * d, last axis, keepdims)
//   n = d / Sqrt(v + eps)  (or d * Reciprocal(Sqrt(v + eps)), Sqrt as Pow 0.5)
//   y = n * gamma + beta   (gamma, beta optional constants along the last axis)
// -> LayerNorm(x, gamma or [1], beta) with that epsilon, axis -1.
#include <cmath>

#include "passes/fusion_match.h"
#include "passes/graph_edit.h"

namespace mixq::passes {

namespace {

// A ReduceMean of `value` over its last axis only, keeping it.
bool MeanOverLastAxis(const ir::Graph& g, const ir::Node& node, int value) {
  if (!IsReduceMean(node) || node.inputs[0] != value || node.attrs.Int("keep_dims", 1) == 0) return false;
  const int64_t rank = static_cast<int64_t>(g.value(value)->shape.size());
  const std::vector<int64_t> axes = node.attrs.Ints("axes");
  return rank > 0 && axes.size() == 1 && (axes[0] == -1 || axes[0] == rank - 1);
}

// A per-channel constant of `node` (Mul / Add with a FLOAT32 constant) that
// varies along the last axis only: its values spread to `channels`
// (one value: repeated). False when the other operand is not one.
bool ChannelConstant(const ir::Graph& g, const ir::Node& node, int value, int64_t rank, int64_t channels,
                     std::vector<float>* values) {
  const int other = OtherOperand(node, value);
  const float* data = FloatConstant(g, other, -1);
  if (!data) return false;
  const ir::Shape& shape = g.value(other)->shape;
  const int64_t count = ir::ElementCount(shape);
  if (static_cast<int64_t>(shape.size()) > rank) return false;
  for (size_t i = 0; i + 1 < shape.size(); ++i)
    if (shape[i] != 1) return false;
  if (count == 1 && channels > 0) {
    values->assign(static_cast<size_t>(channels), data[0]);
    return true;
  }
  if (count != channels || channels <= 0) return false;
  values->assign(data, data + count);
  return true;
}

}  // namespace

bool MatchLayerNorm(const ir::Graph& g, const Readers& readers, int anchor, Fusion* fusion) {
  const ir::Node& mean = *g.node(anchor);
  if (!IsReduceMean(mean)) return false;
  const int x = mean.inputs[0];
  if (!MeanOverLastAxis(g, mean, x)) return false;
  const int sub_id = readers.Sole(mean.outputs[0]);
  if (sub_id < 0) return false;
  const ir::Node& sub = *g.node(sub_id);
  if (!IsElementwise(sub, "sub") || sub.inputs[0] != x || sub.inputs[1] != mean.outputs[0]) return false;
  const int d = sub.outputs[0];
  // d feeds the square and the normalization, in either order.
  const std::vector<int>& d_readers = readers.Of(d);
  if (d_readers.size() < 2 || d_readers.size() > 3 || readers.IsOutput(d)) return false;
  const ir::Node* square = nullptr;
  for (int r : d_readers) {
    const ir::Node& n = *g.node(r);
    double e = 0;
    if ((IsElementwise(n, "pow") && n.inputs[0] == d && ScalarConstant(g, n.inputs[1], &e) && e == 2.0) ||
        (IsElementwise(n, "mul") && n.inputs[0] == d && n.inputs[1] == d))
      square = &n;
  }
  if (!square) return false;
  const int var_id = readers.Sole(square->outputs[0]);
  if (var_id < 0 || !MeanOverLastAxis(g, *g.node(var_id), square->outputs[0])) return false;
  const ir::Node& var = *g.node(var_id);
  const int add_id = readers.Sole(var.outputs[0]);
  int v = -1;
  double eps = 0;
  if (add_id < 0 || !AsShift(g, *g.node(add_id), &v, &eps) || v != var.outputs[0] || !(eps >= 0)) return false;
  const ir::Node& add = *g.node(add_id);
  const int sqrt_id = readers.Sole(add.outputs[0]);
  if (sqrt_id < 0) return false;
  const ir::Node& root = *g.node(sqrt_id);
  double e = 0;
  if (!IsUnary(root, "sqrt") && !(IsElementwise(root, "pow") && root.inputs[0] == add.outputs[0] &&
                                  ScalarConstant(g, root.inputs[1], &e) && e == 0.5))
    return false;
  fusion->nodes = {anchor, sub_id, square->id, var_id, add_id, sqrt_id};
  // d / s, or d * (1 / s)
  int norm_id = readers.Sole(root.outputs[0]);
  if (norm_id < 0) return false;
  if (IsUnary(*g.node(norm_id), "reciprocal")) {
    const int recip = norm_id;
    fusion->nodes.push_back(recip);
    norm_id = readers.Sole(g.node(recip)->outputs[0]);
    if (norm_id < 0 || !IsElementwise(*g.node(norm_id), "mul") ||
        OtherOperand(*g.node(norm_id), g.node(recip)->outputs[0]) != d)
      return false;
  } else if (!IsElementwise(*g.node(norm_id), "div") || g.node(norm_id)->inputs[0] != d ||
             g.node(norm_id)->inputs[1] != root.outputs[0]) {
    return false;
  }
  fusion->nodes.push_back(norm_id);
  for (int r : d_readers)
    if (r != square->id && r != norm_id) return false;

  const ir::Shape& shape = g.value(x)->shape;
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t channels = shape.back();
  std::vector<float> gamma, beta;
  int tail = g.node(norm_id)->outputs[0];
  const int mul_id = readers.Sole(tail);
  if (mul_id >= 0 && IsElementwise(*g.node(mul_id), "mul") &&
      ChannelConstant(g, *g.node(mul_id), tail, rank, channels, &gamma)) {
    fusion->nodes.push_back(mul_id);
    tail = g.node(mul_id)->outputs[0];
  }
  const int bias_id = readers.Sole(tail);
  if (bias_id >= 0 && IsElementwise(*g.node(bias_id), "add") &&
      ChannelConstant(g, *g.node(bias_id), tail, rank, channels, &beta)) {
    fusion->nodes.push_back(bias_id);
  }
  fusion->x = x;
  fusion->op = OpKind::kLayerNorm;
  fusion->suffix = "layer_norm";
  fusion->attrs = {};
  fusion->attrs.Set("axis", int64_t{-1});
  fusion->attrs.Set("epsilon", static_cast<float>(eps));
  const std::string base = g.node(fusion->nodes.back())->name;
  fusion->constants.clear();
  if (gamma.empty())
    fusion->constants.push_back({base + "_gamma", {1}, {1.0f}});
  else
    fusion->constants.push_back({base + "_gamma", {channels}, gamma});
  if (!beta.empty()) fusion->constants.push_back({base + "_beta", {channels}, beta});
  return true;
}

}  // namespace mixq::passes
