// Empirical bias correction of quantized Conv2D / FullyConnected weights (see ptq_transforms.h).
#include <cmath>

#include "ops/layout.h"
#include "passes/graph_edit.h"
#include "passes/ptq_transforms.h"
#include "quant/quant_math.h"
#include "util/status_util.h"

namespace mixq::passes {

namespace {

// The weights as the quantized network sees them: quantized and dequantized
// with the plan's binding.
Status RoundTrip(const float* w, const ir::Shape& shape, const ir::QuantBinding& b, std::vector<float>* out) {
  quant::QuantParams params;
  params.bits = b.bits;
  params.symmetric = b.symmetric;
  params.axis = b.axis < 0 ? quant::kPerTensor : b.axis;
  params.scales = b.scales;
  params.zero_points = b.zero_points;
  const int64_t count = ir::ElementCount(shape);
  std::vector<int16_t> q(static_cast<size_t>(count));  // int8 codes fit too, but are stored as int8
  std::vector<int8_t> q8(b.bits == 8 ? static_cast<size_t>(count) : 0);
  void* codes = b.bits == 8 ? static_cast<void*>(q8.data()) : static_cast<void*>(q.data());
  MIXQ_RETURN_IF_ERROR(quant::QuantizeTensor(w, shape, params, codes));
  out->resize(static_cast<size_t>(count));
  return quant::DequantizeTensor(codes, shape, params, out->data());
}

// shift[o] = sum over the weights of output channel o of dW * mean[input channel].
bool ConvShift(const ir::Node& node, const ir::Shape& shape, const std::vector<float>& dw,
               const std::vector<double>& mean, std::vector<double>* shift) {
  ops::AxisMap axes;
  if (!ops::FilterAxes(node.attrs.Str("filter_layout", "OHWI"), &axes) || shape.size() != 4) return false;
  const auto dims = ops::Logical(shape, axes);
  const auto strides = ops::LogicalStrides(shape, axes);
  const int64_t group = node.attrs.Int("group", 1);
  if (group < 1 || dims[0] % group != 0 || static_cast<int64_t>(mean.size()) != dims[1] * group) return false;
  const int64_t oc_per_group = dims[0] / group;
  shift->assign(static_cast<size_t>(dims[0]), 0.0);
  for (int64_t o = 0; o < dims[0]; ++o)
    for (int64_t i = 0; i < dims[1]; ++i) {
      const double m = mean[static_cast<size_t>((o / oc_per_group) * dims[1] + i)];
      for (int64_t h = 0; h < dims[2]; ++h)
        for (int64_t w = 0; w < dims[3]; ++w)
          (*shift)[static_cast<size_t>(o)] +=
              dw[static_cast<size_t>(o * strides[0] + i * strides[1] + h * strides[2] + w * strides[3])] * m;
    }
  return true;
}

bool FullyConnectedShift(const ir::Node& node, const ir::Shape& shape, const std::vector<float>& dw,
                         const std::vector<double>& mean, std::vector<double>* shift) {
  if (shape.size() != 2) return false;
  // FullyConnected stores [N, K] by default, MatMul [K, N].
  const bool transpose_b = node.attrs.Int("transpose_b", node.op == OpKind::kFullyConnected ? 1 : 0) != 0;
  const int64_t n = transpose_b ? shape[0] : shape[1], k = transpose_b ? shape[1] : shape[0];
  if (static_cast<int64_t>(mean.size()) != k) return false;
  shift->assign(static_cast<size_t>(n), 0.0);
  for (int64_t o = 0; o < n; ++o)
    for (int64_t j = 0; j < k; ++j)
      (*shift)[static_cast<size_t>(o)] +=
          dw[static_cast<size_t>(transpose_b ? o * k + j : j * n + o)] * mean[static_cast<size_t>(j)];
  return true;
}

}  // namespace

bool InputChannelAxis(const ir::Node& node, int64_t rank, int64_t* axis) {
  if (node.op == OpKind::kConv2D) {
    ops::AxisMap axes;
    if (rank != 4 || !ops::ActivationAxes(node.attrs.Str("input_layout", "NHWC"), &axes)) return false;
    *axis = axes.pos[1];
    return true;
  }
  if (node.op == OpKind::kFullyConnected) {
    if (rank != 2) return false;
    *axis = node.attrs.Int("transpose_a", 0) != 0 ? 0 : 1;
    return true;
  }
  if (node.op == OpKind::kMatMul) {
    if (rank < 2 || node.attrs.Int("transpose_a", 0) != 0) return false;
    *axis = rank - 1;
    return true;
  }
  return false;
}

bool BiasOf(const ir::Graph& graph, const ir::Node& node, int* bias_node, size_t* bias_input) {
  if (node.op == OpKind::kConv2D || node.op == OpKind::kFullyConnected) {
    if (node.inputs.size() < 3 || node.inputs[2] < 0) return false;
    *bias_node = node.id;
    *bias_input = 2;
    return true;
  }
  if (node.op != OpKind::kMatMul || node.outputs.empty()) return false;
  // MatMul then an Add of a 1-D constant: the Add's constant is the bias. Other
  // readers of the product (or the product as a network output) keep the
  // uncorrected product, as without the correction.
  const int product = node.outputs[0];
  int reader = -1;
  size_t other = 0;
  for (size_t n = 0; n < graph.node_count(); ++n) {
    const ir::Node& add = *graph.node(static_cast<int>(n));
    if (add.op != OpKind::kElementwise || add.attrs.Str("op", "") != "add" || add.inputs.size() != 2) continue;
    if (add.inputs[0] != product && add.inputs[1] != product) continue;
    const size_t k = add.inputs[0] == product ? 1 : 0;
    if (add.inputs[k] == product || !FloatConstant(graph, add.inputs[k], -1)) continue;
    if (graph.value(add.inputs[k])->shape.size() != 1) continue;  // one value per output column
    if (reader >= 0) return false;                                // two candidates: neither
    reader = static_cast<int>(n);
    other = k;
  }
  if (reader < 0) return false;
  *bias_node = reader;
  *bias_input = other;
  return true;
}

Status CorrectBias(ir::Graph* graph, const std::map<std::string, std::vector<double>>& means, int* corrected) {
  *corrected = 0;
  const size_t node_count = graph->node_count();
  for (size_t n = 0; n < node_count; ++n) {
    const ir::Node& node = *graph->node(static_cast<int>(n));
    const bool conv = node.op == OpKind::kConv2D, fc = node.op == OpKind::kFullyConnected;
    int bias_node = -1;
    size_t bias_input = 0;
    if (node.inputs.size() < 2 || node.inputs[0] < 0 || !BiasOf(*graph, node, &bias_node, &bias_input)) continue;
    if (node.input_quant.size() < 2 || !node.input_quant[1] || node.input_quant[1]->dynamic) continue;
    const ir::QuantBinding& binding = *node.input_quant[1];
    if (binding.bits != 8 && binding.bits != 16) continue;
    const auto mean = means.find(graph->value(node.inputs[0])->name);
    if (mean == means.end()) continue;
    const ir::Value& w = *graph->value(node.inputs[1]);
    const float* weights = FloatConstant(*graph, node.inputs[1], -1);
    if (!weights || (node.op == OpKind::kMatMul && w.shape.size() != 2)) continue;
    std::vector<float> rounded;
    MIXQ_RETURN_IF_ERROR(WithContext(RoundTrip(weights, w.shape, binding, &rounded),
                                     "bias correction of " + ir::NodeLabel(*graph, node)));
    for (size_t e = 0; e < rounded.size(); ++e) rounded[e] -= weights[e];
    std::vector<double> shift;
    const bool ok = conv ? ConvShift(node, w.shape, rounded, mean->second, &shift)
                         : FullyConnectedShift(node, w.shape, rounded, mean->second, &shift);
    if (!ok)
      return InvalidArgument("bias correction of ", ir::NodeLabel(*graph, node), ": the mean of '", mean->first,
                             "' has ", mean->second.size(), " channels, which does not match the weights ",
                             ir::ShapeString(w.shape));
    // Gemm: y = alpha * (A B) + beta * bias.
    const double alpha = fc ? node.attrs.Float("alpha", 1.0f) : 1.0;
    const double beta = fc ? node.attrs.Float("beta", 1.0f) : 1.0;
    const int bias_id = graph->node(bias_node)->inputs[bias_input];
    const float* bias = FloatConstant(*graph, bias_id, static_cast<int64_t>(shift.size()));
    if (!bias || beta == 0.0) continue;
    std::vector<float> new_bias(shift.size());
    for (size_t c = 0; c < shift.size(); ++c) new_bias[c] = static_cast<float>(bias[c] - alpha * shift[c] / beta);
    const ir::Value& b = *graph->value(bias_id);
    const std::string name = b.name + "_corrected";
    const ir::Shape shape = b.shape;
    const int id = AddConstant(graph, name, shape, new_bias);  // may grow the node list
    graph->node(bias_node)->inputs[bias_input] = id;
    ++*corrected;
  }
  return Status::OK();
}

}  // namespace mixq::passes
