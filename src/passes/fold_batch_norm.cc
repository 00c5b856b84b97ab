// Folds an inference BatchNorm into the Conv2D that feeds it:
//   a[c] = scale[c] / sqrt(variance[c] + epsilon)
//   filter'[c, ...] = filter[c, ...] * a[c],  bias'[c] = (bias[c] - mean[c]) * a[c] + beta[c]
// computed in double. Besides saving a pass over the activations, it keeps
// the raw running statistics out of narrow types: a running variance of 1e8
// (seen in PP-OCR det) is inf in float16, which zeroes the output of
// force_float16, while the folded filter and bias are ordinary numbers. The
// quantized modes then quantize the folded filter, as deployed int8 models do.
//
// Only when it changes nothing else: all four statistics are float32
// constants, the Conv2D's filter (and bias, if any) are float32 constants, the
// Conv2D output feeds only this BatchNorm and is no network output, the
// BatchNorm normalizes the Conv2D's output-channel axis, and no precision was
// pinned on the BatchNorm's inputs. A precision pinned on the BatchNorm's
// output moves to the Conv2D's; a conflicting one on the Conv2D's output stops
// the fold.
#include <cmath>

#include "ops/layout.h"
#include "ops/op_schema.h"
#include "passes/build_pipeline.h"
#include "passes/graph_edit.h"
#include "util/status_util.h"

namespace mixq::passes {

namespace {

// Folds `bn` into its producer if allowed; the label of the BatchNorm when done.
bool TryFold(ir::Graph* g, int bn_id, std::string* folded_into, std::string* bn_label) {
  const ir::Node& bn = *g->node(bn_id);
  if (bn.inputs.size() != 5 || !bn.input_precision.empty()) return false;
  const int x_id = bn.inputs[0];
  const ir::Value& x = *g->value(x_id);
  if (x.producer < 0 || g->node(x.producer)->op != OpKind::kConv2D || ReaderCount(*g, x_id) != 1) return false;
  const int conv_id = x.producer;
  const ir::Node& conv = *g->node(conv_id);
  ops::AxisMap out_axes, filter_axes;
  const ir::AttrMap& a = conv.attrs;
  if (!ops::ActivationAxes(a.Str("output_layout", "NHWC"), &out_axes) ||
      !ops::FilterAxes(a.Str("filter_layout", "OHWI"), &filter_axes) || x.shape.size() != 4)
    return false;
  int64_t axis = bn.attrs.Int("axis", -1);
  if (axis < 0) axis += 4;
  if (axis != out_axes.pos[1]) return false;
  const int64_t channels = x.shape[static_cast<size_t>(axis)];
  if (channels <= 0) return false;
  const float* mean = FloatConstant(*g, bn.inputs[1], channels);
  const float* var = FloatConstant(*g, bn.inputs[2], channels);
  const float* scale = FloatConstant(*g, bn.inputs[3], channels);
  const float* beta = FloatConstant(*g, bn.inputs[4], channels);
  const float* filter = FloatConstant(*g, conv.inputs[1], -1);
  const bool has_bias = conv.inputs.size() > 2 && conv.inputs[2] >= 0;
  const float* bias = has_bias ? FloatConstant(*g, conv.inputs[2], channels) : nullptr;
  if (!mean || !var || !scale || !beta || !filter || (has_bias && !bias)) return false;
  // Output precision pins: the BatchNorm's moves to the Conv2D's output.
  auto bn_pin = bn.output_type.find(0), conv_pin = conv.output_type.find(0);
  if (bn_pin != bn.output_type.end() && conv_pin != conv.output_type.end() && bn_pin->second != conv_pin->second)
    return false;

  const double epsilon = bn.attrs.Float("epsilon", 1e-5f);
  std::vector<double> factor(static_cast<size_t>(channels));
  std::vector<float> new_bias(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const double f = scale[c] / std::sqrt(static_cast<double>(var[c]) + epsilon);
    if (!std::isfinite(f)) return false;
    factor[static_cast<size_t>(c)] = f;
    new_bias[static_cast<size_t>(c)] =
        static_cast<float>(((bias ? bias[c] : 0.0) - static_cast<double>(mean[c])) * f + beta[c]);
  }
  const ir::Value& w = *g->value(conv.inputs[1]);
  const int64_t count = ir::ElementCount(w.shape);
  const auto strides = ir::Strides(w.shape);
  const size_t o_axis = static_cast<size_t>(filter_axes.pos[0]);
  if (w.shape[o_axis] != channels) return false;
  std::vector<float> new_filter(static_cast<size_t>(count));
  for (int64_t e = 0; e < count; ++e) {
    const int64_t c = (e / strides[o_axis]) % channels;
    new_filter[static_cast<size_t>(e)] = static_cast<float>(filter[e] * factor[static_cast<size_t>(c)]);
  }

  *bn_label = ir::NodeLabel(*g, bn);
  *folded_into = conv.name;
  const std::string w_name = w.name, conv_name = conv.name;
  const ir::Shape w_shape = w.shape;
  const int bn_out = bn.outputs[0];
  const bool move_pin = bn_pin != bn.output_type.end();
  const DataType pin = move_pin ? bn_pin->second : DataType::FLOAT32;
  const int filter_id = AddConstant(g, w_name + "_bn", w_shape, new_filter);
  const int bias_id = AddConstant(g, conv_name + "_bn_bias", {channels}, new_bias);
  // AddConstant may have grown the node list: look the nodes up again.
  ir::Node& conv_node = *g->node(conv_id);
  ir::Node& bn_node = *g->node(bn_id);
  conv_node.inputs[1] = filter_id;
  if (conv_node.inputs.size() < 3) conv_node.inputs.resize(3, -1);
  conv_node.inputs[2] = bias_id;
  if (move_pin) conv_node.output_type[0] = pin;
  // The Conv2D now produces the BatchNorm's output; the BatchNorm and the
  // old Conv2D output are left unreachable for dead-node elimination.
  conv_node.outputs[0] = bn_out;
  ir::Value& out = *g->value(bn_out);
  out.producer = conv_id;
  out.producer_output = 0;
  bn_node.inputs.clear();
  bn_node.outputs = {x_id};
  g->value(x_id)->producer = bn_id;
  return true;
}

}  // namespace

void FoldBatchNorms(ir::Graph* graph, std::map<std::string, std::vector<std::string>>* folded) {
  const size_t count = graph->node_count();
  for (size_t n = 0; n < count; ++n) {
    if (graph->node(static_cast<int>(n))->op != OpKind::kBatchNorm) continue;
    std::string conv, label;
    if (TryFold(graph, static_cast<int>(n), &conv, &label)) (*folded)[conv].push_back(label);
  }
  EliminateDeadNodes(graph);
}

}  // namespace mixq::passes
