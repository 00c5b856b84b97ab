// Float chain fusion rules (kernel_registry.h): a scalar product / sum and a
// Quantize after an anchor whose kernel computes a float output. With
// hard_swish (fuse_activation.cc) they let an int8 convolution write the
// next quantized operator's int8 input through PP-OCR's hard_swish, * a, + b
// without float tensors, computing what the separate float steps compute.
#include "runtime/fusion/fusion_rule.h"

namespace mixq::runtime {

namespace {

// The value of a one-element FLOAT32 constant, if `value` is one.
bool ScalarConstant(const FusionSite& site, int value, float* c) {
  if (value < 0) return false;
  const ir::Value& v = *site.graph.value(value);
  if (v.producer < 0 || v.dtype != DataType::FLOAT32 || ir::ElementCount(v.shape) != 1) return false;
  const ir::Node& producer = *site.graph.node(v.producer);
  if (producer.op != OpKind::kConstant || !producer.constant) return false;
  *c = *static_cast<const float*>(producer.constant->data());
  return true;
}

}  // namespace

bool ProposeScalarFusion(const FusionSite& site, OpKind anchor_op, int output, FusionProposal* proposal) {
  if (!IsFusionAnchor(anchor_op)) return false;
  const int consumer = SoleConsumer(site, output);
  if (consumer < 0) return false;
  const ir::Node& node = *site.graph.node(consumer);
  const std::string op = node.attrs.Str("op");
  if (node.op != OpKind::kElementwise || (op != "mul" && op != "add") || node.inputs.size() != 2) return false;
  const int other = node.inputs[0] == output ? node.inputs[1] : node.inputs[0];
  if (other == output) return false;
  float c = 0.0f;
  if (!ScalarConstant(site, other, &c)) return false;
  // float32 in and out, the output's shape: y * c and y + c are what the
  // Elementwise kernel computes (both commute exactly in IEEE arithmetic).
  // Or float16 storage in and out after a convolution reading float16: the
  // Elementwise kernel widens y, computes in float32 and rounds, as the
  // float16 output stage of the convolution does (ops/half_output_stage.h).
  // Not after MatMul / FullyConnected: their float16 kernels run a float32
  // kernel's post-ops and round once, at the end.
  const auto& y = site.storage[static_cast<size_t>(output)];
  const auto& out = site.storage[static_cast<size_t>(node.outputs[0])];
  const bool half = anchor_op == OpKind::kConv2D && IsHalf(y) && IsHalf(out) && AnchorReadsHalf(site);
  // bfloat16 storage after a convolution reading it: rounded once after the chain.
  const bool bfloat16 =
      IsBFloat16(y) && IsBFloat16(out) &&
      ((anchor_op == OpKind::kConv2D && AnchorReadsBFloat16(site)) || BFloat16ProductAnchor(site, anchor_op));
  if (!((PlainFloat32(y) && PlainFloat32(out)) || half || bfloat16) || y.shape != out.shape) return false;
  proposal->fused_node = consumer;
  proposal->post_op = ops::PostOp{};
  proposal->post_op.kind = ops::PostOp::Kind::kScalar;
  proposal->post_op.activation = op;
  proposal->post_op.lo = c;
  proposal->new_output = node.outputs[0];
  proposal->extra_input = -1;
  return true;
}

bool ProposeQuantizeFusion(const FusionSite& site, OpKind anchor_op, int output, FusionProposal* proposal) {
  if (!IsFusionAnchor(anchor_op)) return false;
  const int consumer = SoleConsumer(site, output);
  if (consumer < 0) return false;
  const ir::Node& node = *site.graph.node(consumer);
  if (node.op != OpKind::kConvert || node.inputs.size() != 1 || node.outputs.size() != 1) return false;
  const auto& y = site.storage[static_cast<size_t>(output)];
  const auto& q = site.storage[static_cast<size_t>(node.outputs[0])];
  // A static per-tensor quantize of float32 into INT8 (or INT16: the qint16
  // convolutions take it too).
  if (!PlainFloat32(y) || (q.dtype != DataType::INT8 && q.dtype != DataType::INT16) || !q.quant || q.quant->dynamic ||
      q.quant->scales.size() != 1 || q.shape != y.shape)
    return false;
  proposal->fused_node = consumer;
  proposal->post_op = ops::PostOp{};
  proposal->post_op.kind = ops::PostOp::Kind::kQuantize;
  proposal->new_output = node.outputs[0];
  proposal->extra_input = -1;
  return true;
}

}  // namespace mixq::runtime
