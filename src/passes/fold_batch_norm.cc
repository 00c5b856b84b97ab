// Folds an inference BatchNorm into the Conv2D (or one-group ConvTranspose2D,
// whose filter holds the output channels on its O axis too) that feeds it:
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

// Conv2D, or ConvTranspose2D of one group (its filter's output-channel axis
// then holds every output channel).
bool Foldable(const ir::Node& n) {
  return n.op == OpKind::kConv2D || (n.op == OpKind::kConvTranspose2D && n.attrs.Int("group", 1) == 1);
}

// The output's and the filter's axes of the node's output channels.
bool ChannelAxes(const ir::Node& n, ops::AxisMap* out_axes, ops::AxisMap* filter_axes) {
  const ir::AttrMap& a = n.attrs;
  const char* filter_default = n.op == OpKind::kConvTranspose2D ? "IHWO" : "OHWI";
  return ops::ActivationAxes(a.Str("output_layout", "NHWC"), out_axes) &&
         ops::FilterAxes(a.Str("filter_layout", filter_default), filter_axes);
}

// A ConvTranspose2D followed by the addition of a per-channel constant (as
// PaddlePaddle exports a deconvolution's bias: [1, C, 1, 1], or [C, 1, 1]
// in NCHW) takes it as its bias, float32 sums: bias' = bias + b. Then a
// BatchNorm after it can fold too (PP-OCR det's head: ConvTranspose, Add,
// BatchNorm, ReLU, ConvTranspose). Conv2D's bias add fuses at lowering.
bool TryFoldBiasAdd(ir::Graph* g, int add_id, std::string* folded_into, std::string* add_label) {
  const ir::Node& add = *g->node(add_id);
  if (add.op != OpKind::kElementwise || add.attrs.Str("op") != "add" || add.inputs.size() != 2 ||
      !add.input_precision.empty() || !add.output_type.empty())
    return false;
  for (size_t side = 0; side < 2; ++side) {
    const int x_id = add.inputs[side], c_id = add.inputs[1 - side];
    if (x_id < 0 || c_id < 0) continue;
    const ir::Value& x = *g->value(x_id);
    if (x.producer < 0 || g->node(x.producer)->op != OpKind::kConvTranspose2D || !Foldable(*g->node(x.producer)) ||
        ReaderCount(*g, x_id) != 1 || x.shape.size() != 4)
      continue;
    const int conv_id = x.producer;
    const ir::Node& conv = *g->node(conv_id);
    ops::AxisMap out_axes, filter_axes;
    if (!ChannelAxes(conv, &out_axes, &filter_axes) || !conv.output_type.empty()) continue;
    const int64_t axis = out_axes.pos[1], channels = x.shape[static_cast<size_t>(axis)];
    // The constant's shape: [1, C, 1, 1] or [C, 1, 1] with C on the channel axis (right-aligned).
    const ir::Shape& cs = g->value(c_id)->shape;
    bool per_channel = !cs.empty() && cs.size() <= 4;
    for (size_t d = 0; d < cs.size() && per_channel; ++d) {
      const int64_t at = static_cast<int64_t>(d) + 4 - static_cast<int64_t>(cs.size());
      per_channel = cs[d] == (at == axis ? channels : 1);
    }
    const float* b = per_channel ? FloatConstant(*g, c_id, channels) : nullptr;
    if (!b || g->value(add.outputs[0])->shape != x.shape) continue;
    const bool has_bias = conv.inputs.size() > 2 && conv.inputs[2] >= 0;
    const float* bias = has_bias ? FloatConstant(*g, conv.inputs[2], channels) : nullptr;
    if (has_bias && !bias) continue;
    std::vector<float> new_bias(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) new_bias[static_cast<size_t>(c)] = (bias ? bias[c] : 0.0f) + b[c];
    *add_label = ir::NodeLabel(*g, add);
    *folded_into = conv.name;
    const int bias_id = AddConstant(g, conv.name + "_bias", {channels}, new_bias);
    ir::Node& conv_node = *g->node(conv_id);
    if (conv_node.inputs.size() < 3) conv_node.inputs.resize(3, -1);
    conv_node.inputs[2] = bias_id;
    TakeOverOutput(g, conv_id, add_id);
    return true;
  }
  return false;
}

// Folds `bn` into its producer if allowed; the label of the BatchNorm when done.
bool TryFold(ir::Graph* g, int bn_id, std::string* folded_into, std::string* bn_label) {
  const ir::Node& bn = *g->node(bn_id);
  if (bn.inputs.size() != 5 || !bn.input_precision.empty()) return false;
  const int x_id = bn.inputs[0];
  const ir::Value& x = *g->value(x_id);
  if (x.producer < 0 || !Foldable(*g->node(x.producer)) || ReaderCount(*g, x_id) != 1) return false;
  const int conv_id = x.producer;
  const ir::Node& conv = *g->node(conv_id);
  ops::AxisMap out_axes, filter_axes;
  if (!ChannelAxes(conv, &out_axes, &filter_axes) || x.shape.size() != 4) return false;
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
  const bool move_pin = bn_pin != bn.output_type.end();
  const DataType pin = move_pin ? bn_pin->second : DataType::FLOAT32;
  const int filter_id = AddConstant(g, w_name + "_bn", w_shape, new_filter);
  const int bias_id = AddConstant(g, conv_name + "_bn_bias", {channels}, new_bias);
  // AddConstant may have grown the node list: look the nodes up again.
  ir::Node& conv_node = *g->node(conv_id);
  conv_node.inputs[1] = filter_id;
  if (conv_node.inputs.size() < 3) conv_node.inputs.resize(3, -1);
  conv_node.inputs[2] = bias_id;
  if (move_pin) conv_node.output_type[0] = pin;
  // The Conv2D now produces the BatchNorm's output.
  TakeOverOutput(g, conv_id, bn_id);
  return true;
}

}  // namespace

void FoldBatchNorms(ir::Graph* graph, std::map<std::string, std::vector<std::string>>* folded) {
  const size_t count = graph->node_count();
  for (size_t n = 0; n < count; ++n) {
    std::string conv, label;
    if (TryFoldBiasAdd(graph, static_cast<int>(n), &conv, &label)) (*folded)[conv].push_back(label);
  }
  for (size_t n = 0; n < count; ++n) {
    if (graph->node(static_cast<int>(n))->op != OpKind::kBatchNorm) continue;
    std::string conv, label;
    if (TryFold(graph, static_cast<int>(n), &conv, &label)) (*folded)[conv].push_back(label);
  }
  EliminateDeadNodes(graph);
}

}  // namespace mixq::passes
