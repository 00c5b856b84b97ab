// Two build-time rewrites of patterns exporters spell out op by op, common in
// PaddlePaddle's PP-LCNet (PP-OCR det / rec):
//
// 1. A Conv2D followed by a multiplication and / or additions by scalar
//    constants (a "learnable affine block": y = s * conv(x) + b) folds into
//    the Conv2D's filter and bias: filter' = filter * s, bias' = bias * s + b
//    (float32 products, as a float32 engine folding it would compute them).
// 2. x * clip(x + 3, 0, 6) / 6 (Add, Clip / Relu6, Mul, Div or Mul by 1/6) is
//    one Activation hard_swish.
//
// Each saves passes over the activations (PP-OCR rec ran 8 elementwise steps
// after most convolutions). Results change in the last bits, as with the
// BatchNorm fold. Only where it changes nothing else: every intermediate has
// exactly one reader and is no network output, the constants are FLOAT32,
// and no precision was pinned on the nodes that disappear.
#include <cmath>

#include "ops/layout.h"
#include "passes/build_pipeline.h"
#include "passes/graph_edit.h"

namespace mixq::passes {

namespace {

// The one node reading `value`, or -1 (none, several, or a network output).
int SoleReader(const ir::Graph& g, int value) {
  for (int out : g.outputs())
    if (out == value) return -1;
  int reader = -1;
  for (size_t n = 0; n < g.node_count(); ++n)
    for (int in : g.node(static_cast<int>(n))->inputs)
      if (in == value) {
        if (reader >= 0 && reader != static_cast<int>(n)) return -1;
        reader = static_cast<int>(n);
      }
  return reader;
}

bool Unpinned(const ir::Node& n) {
  return n.input_precision.empty() && n.output_type.empty();
}

// The Elementwise `node` is `value <op> c` with c a one-element FLOAT32
// constant (either side for commutative ops); true with c and the op.
bool ScalarOperand(const ir::Graph& g, const ir::Node& node, int value, std::string* op, float* c, bool* value_first) {
  if (node.op != OpKind::kElementwise || node.inputs.size() != 2 || !Unpinned(node)) return false;
  *op = node.attrs.Str("op");
  const int other = node.inputs[0] == value ? node.inputs[1] : node.inputs[1] == value ? node.inputs[0] : -2;
  if (other == -2 || node.inputs[0] == node.inputs[1]) return false;
  const float* k = FloatConstant(g, other, 1);
  if (!k) return false;
  *c = *k;
  *value_first = node.inputs[0] == value;
  return true;
}

// One scalar multiplication / addition / subtraction after Conv2D `conv_id`
// folded into it; false when the next reader is not one.
bool FoldOneAffine(ir::Graph* g, int conv_id, std::string* label) {
  const ir::Node& conv = *g->node(conv_id);
  // An output type pinned on the Conv2D would move to another tensor.
  if (!conv.output_type.empty() || conv.outputs.size() != 1) return false;
  const int reader = SoleReader(*g, conv.outputs[0]);
  if (reader < 0) return false;
  std::string op;
  float c = 0;
  bool conv_first = false;
  if (!ScalarOperand(*g, *g->node(reader), conv.outputs[0], &op, &c, &conv_first) || !std::isfinite(c)) return false;
  if (op != "mul" && op != "add" && !(op == "sub" && conv_first)) return false;
  ops::AxisMap filter_axes;
  if (!ops::FilterAxes(conv.attrs.Str("filter_layout", "OHWI"), &filter_axes)) return false;
  const ir::Value& w = *g->value(conv.inputs[1]);
  const float* filter = FloatConstant(*g, conv.inputs[1], -1);
  if (!filter || w.shape.size() != 4) return false;
  const int64_t channels = w.shape[static_cast<size_t>(filter_axes.pos[0])];
  const bool has_bias = conv.inputs.size() > 2 && conv.inputs[2] >= 0;
  const float* bias = has_bias ? FloatConstant(*g, conv.inputs[2], channels) : nullptr;
  if (has_bias && !bias) return false;

  std::vector<float> new_bias(static_cast<size_t>(channels));
  for (int64_t o = 0; o < channels; ++o) {
    const float b = bias ? bias[o] : 0.0f;
    new_bias[static_cast<size_t>(o)] = op == "mul" ? b * c : op == "add" ? b + c : b - c;
  }
  int filter_id = conv.inputs[1];
  if (op == "mul") {
    std::vector<float> new_filter(filter, filter + ir::ElementCount(w.shape));
    for (float& v : new_filter) v *= c;
    filter_id = AddConstant(g, w.name + "_scaled", w.shape, new_filter);
  }
  const int bias_id = AddConstant(g, g->node(conv_id)->name + "_affine_bias", {channels}, new_bias);
  *label = ir::NodeLabel(*g, *g->node(reader));
  ir::Node& conv_node = *g->node(conv_id);  // AddConstant may have grown the node list
  conv_node.inputs[1] = filter_id;
  if (conv_node.inputs.size() < 3) conv_node.inputs.resize(3, -1);
  conv_node.inputs[2] = bias_id;
  TakeOverOutput(g, conv_id, reader);
  return true;
}

bool IsActivation(const ir::Node& n, const char* type) {
  return n.op == OpKind::kActivation && n.attrs.Str("type") == type && n.inputs.size() == 1 && Unpinned(n);
}

// x -> Add(x, 3) -> Clip(0, 6) | Relu6 -> Mul(x, .) -> Div(., 6) | Mul(., 1/6)
// rewritten as one Activation hard_swish; the labels of the four nodes.
bool TryHardSwish(ir::Graph* g, int add_id, std::vector<std::string>* labels, std::string* name) {
  const ir::Node& add = *g->node(add_id);
  std::string op;
  float c = 0;
  bool x_first = false;
  if (add.inputs.size() != 2) return false;
  int x = -1;
  for (int candidate : add.inputs)
    if (ScalarOperand(*g, add, candidate, &op, &c, &x_first) && op == "add" && c == 3.0f &&
        !FloatConstant(*g, candidate, -1))
      x = candidate;
  if (x < 0) return false;
  const int clip_id = SoleReader(*g, add.outputs[0]);
  if (clip_id < 0) return false;
  const ir::Node& clip = *g->node(clip_id);
  const bool relu6 = IsActivation(clip, "relu6");
  const bool clip06 =
      IsActivation(clip, "clip") && clip.attrs.Float("alpha", -1.0f) == 0.0f && clip.attrs.Float("beta", -1.0f) == 6.0f;
  if (!relu6 && !clip06) return false;
  const int mul_id = SoleReader(*g, clip.outputs[0]);
  if (mul_id < 0) return false;
  const ir::Node& mul = *g->node(mul_id);
  if (mul.op != OpKind::kElementwise || mul.attrs.Str("op") != "mul" || mul.inputs.size() != 2 || !Unpinned(mul))
    return false;
  if (!((mul.inputs[0] == x && mul.inputs[1] == clip.outputs[0]) ||
        (mul.inputs[1] == x && mul.inputs[0] == clip.outputs[0])))
    return false;
  const int div_id = SoleReader(*g, mul.outputs[0]);
  if (div_id < 0) return false;
  const ir::Node& div = *g->node(div_id);
  bool mul_first = false;
  if (!ScalarOperand(*g, div, mul.outputs[0], &op, &c, &mul_first) || !mul_first) return false;
  if (!((op == "div" && c == 6.0f) || (op == "mul" && std::fabs(c - 1.0f / 6.0f) <= 1e-7f))) return false;

  *labels = {ir::NodeLabel(*g, add), ir::NodeLabel(*g, clip), ir::NodeLabel(*g, mul), ir::NodeLabel(*g, div)};
  *name = g->UniqueName(div.name + "_hard_swish");
  const int out = div.outputs[0];
  ir::Node* hs = g->AddNode(OpKind::kActivation, *name, {x}, 1);
  hs->attrs.Set("type", std::string("hard_swish"));
  const int hs_id = hs->id, placeholder = hs->outputs[0];
  // The new node writes the Div's output; the four old nodes become dead.
  hs->outputs[0] = out;
  ir::Value& v = *g->value(out);
  v.producer = hs_id;
  v.producer_output = 0;
  ir::Node& old_div = *g->node(div_id);
  old_div.outputs = {placeholder};
  g->value(placeholder)->producer = div_id;
  for (int dead : {add_id, clip_id, mul_id, div_id}) g->node(dead)->inputs.clear();
  return true;
}

}  // namespace

void FoldElementwisePatterns(ir::Graph* graph, std::map<std::string, std::vector<std::string>>* folded) {
  const size_t count = graph->node_count();
  for (size_t n = 0; n < count; ++n) {
    if (graph->node(static_cast<int>(n))->op != OpKind::kConv2D) continue;
    for (std::string label; FoldOneAffine(graph, static_cast<int>(n), &label);)
      (*folded)[graph->node(static_cast<int>(n))->name].push_back(label);
  }
  for (size_t n = 0; n < count; ++n) {  // nodes added above are constants or hard_swish: not Add
    const ir::Node& node = *graph->node(static_cast<int>(n));
    if (node.op != OpKind::kElementwise || node.attrs.Str("op") != "add" || node.inputs.empty()) continue;
    std::vector<std::string> labels;
    std::string name;
    if (TryHardSwish(graph, static_cast<int>(n), &labels, &name)) (*folded)[name] = labels;
  }
  EliminateDeadNodes(graph);
}

}  // namespace mixq::passes
