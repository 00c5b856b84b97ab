// x * sigmoid(x) -> Activation silu. PaddlePaddle's swish exports as
// x * sigmoid(x * 1.0); the multiplication by one is taken in.
#include "passes/fusion_match.h"

namespace mixq::passes {

bool MatchSilu(const ir::Graph& g, const Readers& readers, int anchor, Fusion* fusion) {
  const ir::Node& sigmoid = *g.node(anchor);
  if (!IsActivation(sigmoid, "sigmoid")) return false;
  const int mul = readers.Sole(sigmoid.outputs[0]);
  if (mul < 0 || !IsElementwise(*g.node(mul), "mul")) return false;
  const int x = OtherOperand(*g.node(mul), sigmoid.outputs[0]);
  if (x < 0) return false;
  fusion->nodes.clear();
  if (sigmoid.inputs[0] != x) {  // sigmoid(x * 1.0)
    const ir::Node* scale = Producer(g, sigmoid.inputs[0]);
    int v = -1;
    double k = 0;
    if (!scale || !AsScale(g, *scale, &v, &k) || v != x || !Near(k, 1.0)) return false;
    fusion->nodes.push_back(scale->id);
  }
  fusion->nodes.insert(fusion->nodes.end(), {anchor, mul});
  fusion->x = x;
  fusion->op = OpKind::kActivation;
  fusion->suffix = "silu";
  fusion->attrs = {};
  fusion->attrs.Set("type", std::string("silu"));
  fusion->constants.clear();
  return true;
}

}  // namespace mixq::passes
