// 0.5 * x * (1 + erf(x / sqrt(2))) -> Activation gelu_erf, as PyTorch and
// PaddlePaddle export GELU below opset 20: x / 1.4142135 or x * 0.70710678,
// then Erf, + 1, and the halving and the product with x in any order
// (MatchHalfXTimes).
#include <cmath>

#include "passes/fusion_match.h"

namespace mixq::passes {

bool MatchGeluErf(const ir::Graph& g, const Readers& readers, int anchor, Fusion* fusion) {
  const ir::Node& erf = *g.node(anchor);
  if (!IsUnary(erf, "erf")) return false;
  const ir::Node* scale = Producer(g, erf.inputs[0]);
  int x = -1, v = -1;
  double k = 0;
  if (!scale || !AsScale(g, *scale, &x, &k) || !Near(k, 1.0 / std::sqrt(2.0))) return false;
  const int add = readers.Sole(erf.outputs[0]);
  if (add < 0 || !AsShift(g, *g.node(add), &v, &k) || v != erf.outputs[0] || !Near(k, 1.0)) return false;
  fusion->nodes = {scale->id, anchor, add};
  if (!MatchHalfXTimes(g, readers, g.node(add)->outputs[0], x, &fusion->nodes)) return false;
  fusion->x = x;
  fusion->op = OpKind::kActivation;
  fusion->suffix = "gelu";
  fusion->attrs = {};
  fusion->attrs.Set("type", std::string("gelu_erf"));
  fusion->constants.clear();
  return true;
}

}  // namespace mixq::passes
