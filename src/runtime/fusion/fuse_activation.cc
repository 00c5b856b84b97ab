#include "ops/quantized_reference.h"
#include "runtime/fusion/fusion_rule.h"

namespace mixq::runtime {

int SoleConsumer(const FusionSite& site, int value) {
  if (value < 0 || site.is_output[static_cast<size_t>(value)]) return -1;
  const auto& list = site.consumers[static_cast<size_t>(value)];
  return list.size() == 1 ? list[0] : -1;
}

bool IsHalf(const ops::ValueInfo& v) {
  return v.dtype == DataType::FLOAT16 && v.narrowed;
}

// The step's anchor reads its first input as float16 storage.
bool AnchorReadsHalf(const FusionSite& site) {
  if (site.anchor < 0) return false;
  const ir::Node& anchor = *site.graph.node(site.anchor);
  return !anchor.inputs.empty() && anchor.inputs[0] >= 0 && IsHalf(site.storage[static_cast<size_t>(anchor.inputs[0])]);
}

bool IsBFloat16(const ops::ValueInfo& v) {
  return v.dtype == DataType::BFLOAT16 && v.narrowed;
}

bool AnchorReadsBFloat16(const FusionSite& site) {
  if (site.anchor < 0) return false;
  const ir::Node& anchor = *site.graph.node(site.anchor);
  return !anchor.inputs.empty() && anchor.inputs[0] >= 0 &&
         IsBFloat16(site.storage[static_cast<size_t>(anchor.inputs[0])]);
}

bool IsFusionAnchor(OpKind op) {
  return op == OpKind::kConv2D || op == OpKind::kConvTranspose2D || op == OpKind::kMatMul ||
         op == OpKind::kFullyConnected;
}

// A static per-tensor INT8 tensor (an integer chain's).
bool StaticInt8(const ops::ValueInfo& v) {
  return v.dtype == DataType::INT8 && v.quant && !v.quant->dynamic && v.quant->scales.size() == 1;
}

bool ProposeActivationFusion(const FusionSite& site, OpKind anchor_op, int output, FusionProposal* proposal) {
  // An int8 Elementwise step (an integer chain's residual add) takes a
  // clamping activation on its output codes too (int8_add.h).
  const bool int8_elementwise =
      anchor_op == OpKind::kElementwise && output >= 0 && StaticInt8(site.storage[static_cast<size_t>(output)]);
  if (!IsFusionAnchor(anchor_op) && !int8_elementwise) return false;
  const int consumer = SoleConsumer(site, output);
  if (consumer < 0) return false;
  const ir::Node& act = *site.graph.node(consumer);
  if (act.op != OpKind::kActivation || act.inputs.size() != 1 || act.inputs[0] != output) return false;
  ops::PostOp op;
  const ops::ValueInfo& in = site.storage[static_cast<size_t>(output)];
  const ops::ValueInfo& out = site.storage[static_cast<size_t>(act.outputs[0])];
  const std::string type = act.attrs.Str("type");
  if (type == "gelu_erf" || type == "gelu_tanh") {
    // Kernels computing a float32 product take GELU (plain FLOAT32 in and
    // out), bfloat16 ones, and float16-storage ones after an anchor reading
    // float16, whose output stage runs the float32 Activation kernel's own
    // loop between its roundings (ops/half_output_stage.h): BERT's FFN
    // GELU on float16 took 0.55 ms as a step of its own. No integer stage
    // has it.
    const bool plain = in.dtype == DataType::FLOAT32 && !in.narrowed && !in.quant && out.dtype == DataType::FLOAT32 &&
                       !out.narrowed && !out.quant;
    const bool bfloat16 = IsBFloat16(in) && IsBFloat16(out) && BFloat16ProductAnchor(site, anchor_op);
    const bool half = IsHalf(in) && IsHalf(out) && AnchorReadsHalf(site);
    if (!(plain && FloatProductAnchor(site, anchor_op)) && !bfloat16 && !half) return false;
    op.kind = ops::PostOp::Kind::kActivation;
    op.activation = type;
  } else if (!ops::ActivationPostOp(act.attrs, &op)) {
    return false;
  }
  if (int8_elementwise && op.activation != "relu" && op.activation != "relu6" && op.activation != "clip") return false;
  // The activation must read and write the same storage (float16 in and out,
  // or the same integers): then applying it inside the producer is exact.
  if (in.dtype != out.dtype || (in.quant == nullptr) != (out.quant == nullptr)) return false;
  if (in.quant && (in.quant->scales != out.quant->scales || in.quant->zero_points != out.quant->zero_points))
    return false;
  // hard_swish does not commute with quantization or with float16 rounding.
  // It fuses between plain float32 tensors (the int8 convolutions' float
  // chain post-ops, kernel_registry.h), or between float16 tensors after an
  // anchor that reads float16 (the float16-storage kernels, whose output
  // stage rounds between the steps as they would), or between bfloat16
  // tensors (below); quantized kernels never see it on float16.
  if (op.activation == "hard_swish") {
    const bool plain_float32 = in.dtype == DataType::FLOAT32 && !in.narrowed && !in.quant && !out.narrowed;
    const bool half = IsHalf(in) && IsHalf(out) && AnchorReadsHalf(site);
    // bfloat16 storage after an anchor reading bfloat16: the bfloat16 kernels
    // round once, after the fused chain (conv2d/cpu_onednn_bf16.cc).
    const bool bfloat16 = IsBFloat16(in) && IsBFloat16(out) && AnchorReadsBFloat16(site);
    if (!plain_float32 && !half && !bfloat16) return false;
  }
  proposal->fused_node = consumer;
  proposal->post_op = op;
  proposal->new_output = act.outputs[0];
  proposal->extra_input = -1;
  return true;
}

}  // namespace mixq::runtime
