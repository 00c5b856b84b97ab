// clip(a * x + b, 0, 1) and clip(x + 3, 0, 6) / 6 -> Activation hard_sigmoid
// (PyTorch's and PaddlePaddle's spelled-out hardsigmoid). In general: one or
// two scalar scalings / shifts of x, a Clip (or Relu6) from 0 to h, then a
// scaling by k with h * k = 1 (none when h = 1), which is
// clip(k * a * x + k * b, 0, 1): alpha = k * a, beta = k * b.
#include <cmath>
#include <limits>

#include "passes/fusion_match.h"

namespace mixq::passes {

namespace {

// The Clip's bounds; false when `node` is not a Clip / Relu6.
bool ClipBounds(const ir::Node& node, double* lo, double* hi) {
  if (IsActivation(node, "relu6")) {
    *lo = 0.0;
    *hi = 6.0;
    return true;
  }
  if (!IsActivation(node, "clip")) return false;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  *lo = node.attrs.Float("alpha", nan);
  *hi = node.attrs.Float("beta", nan);
  return !std::isnan(*lo) && !std::isnan(*hi);
}

}  // namespace

bool MatchHardSigmoid(const ir::Graph& g, const Readers& readers, int anchor, Fusion* fusion) {
  const ir::Node& clip = *g.node(anchor);
  double lo = 0, hi = 0;
  if (!ClipBounds(clip, &lo, &hi) || lo != 0.0 || !(hi > 0.0) || !std::isfinite(hi)) return false;
  // Back from the Clip through at most two scalings / shifts read only by the next.
  std::vector<int> chain;  // last first
  int x = clip.inputs[0];
  while (chain.size() < 2) {
    const ir::Node* p = Producer(g, x);
    int v = -1;
    double c = 0;
    if (!p || readers.Sole(x) < 0 || !(AsScale(g, *p, &v, &c) || AsShift(g, *p, &v, &c))) break;
    chain.push_back(p->id);
    x = v;
  }
  if (chain.empty()) return false;
  double a = 1.0, b = 0.0;  // the chain is a * x + b
  fusion->nodes.clear();
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    int v = -1;
    double c = 0;
    if (AsScale(g, *g.node(*it), &v, &c)) {
      a *= c;
      b *= c;
    } else if (AsShift(g, *g.node(*it), &v, &c)) {
      b += c;
    }
    fusion->nodes.push_back(*it);
  }
  fusion->nodes.push_back(anchor);
  double k = 1.0;
  const int post = readers.Sole(clip.outputs[0]);
  int v = -1;
  if (post >= 0 && AsScale(g, *g.node(post), &v, &k) && k > 0 && Near(hi * k, 1.0)) {
    fusion->nodes.push_back(post);
  } else {
    k = 1.0;
    if (!Near(hi, 1.0)) return false;
  }
  fusion->x = x;
  fusion->op = OpKind::kActivation;
  fusion->suffix = "hard_sigmoid";
  fusion->attrs = {};
  fusion->attrs.Set("type", std::string("hard_sigmoid"));
  fusion->attrs.Set("alpha", static_cast<float>(k * a));
  fusion->attrs.Set("beta", static_cast<float>(k * b));
  fusion->constants.clear();
  return std::isfinite(k * a) && std::isfinite(k * b);
}

}  // namespace mixq::passes
