#include "ops/quantized_reference.h"
#include "runtime/fusion/fusion_rule.h"

namespace mixq::runtime {

int SoleConsumer(const FusionSite& site, int value) {
  if (value < 0 || site.is_output[static_cast<size_t>(value)]) return -1;
  const auto& list = site.consumers[static_cast<size_t>(value)];
  return list.size() == 1 ? list[0] : -1;
}

bool IsFusionAnchor(OpKind op) {
  return op == OpKind::kConv2D || op == OpKind::kConvTranspose2D || op == OpKind::kMatMul ||
         op == OpKind::kFullyConnected;
}

bool ProposeActivationFusion(const FusionSite& site, OpKind anchor_op, int output, FusionProposal* proposal) {
  if (!IsFusionAnchor(anchor_op)) return false;
  const int consumer = SoleConsumer(site, output);
  if (consumer < 0) return false;
  const ir::Node& act = *site.graph.node(consumer);
  if (act.op != OpKind::kActivation || act.inputs.size() != 1 || act.inputs[0] != output) return false;
  ops::PostOp op;
  if (!ops::ActivationPostOp(act.attrs, &op)) return false;
  // The activation must read and write the same storage (float16 in and out,
  // or the same integers): then applying it inside the producer is exact.
  const ops::ValueInfo& in = site.storage[static_cast<size_t>(output)];
  const ops::ValueInfo& out = site.storage[static_cast<size_t>(act.outputs[0])];
  if (in.dtype != out.dtype || (in.quant == nullptr) != (out.quant == nullptr)) return false;
  if (in.quant && (in.quant->scales != out.quant->scales || in.quant->zero_points != out.quant->zero_points))
    return false;
  // hard_swish does not commute with a narrower storage's rounding (float16
  // in, float16 out): only between float32 tensors is fusing it exact.
  if (op.activation == "hard_swish" && (in.dtype != DataType::FLOAT32 || in.narrowed || in.quant || out.narrowed))
    return false;
  proposal->fused_node = consumer;
  proposal->post_op = op;
  proposal->new_output = act.outputs[0];
  proposal->extra_input = -1;
  return true;
}

}  // namespace mixq::runtime
