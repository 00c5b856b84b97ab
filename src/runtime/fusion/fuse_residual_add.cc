#include "runtime/fusion/fusion_rule.h"

namespace mixq::runtime {

bool IsFusionAnchor(OpKind op);
bool AnchorReadsHalf(const FusionSite& site);

// A float Elementwise op whose output only an add of a same-shaped tensor
// reads (PP-OCR's squeeze-excitation blocks: y + y * s): one pass, the add
// applied to each chunk as it is written, in float32 as the add step would.
bool FloatElementwiseAnchor(const FusionSite& site, OpKind anchor_op) {
  if (anchor_op != OpKind::kElementwise || site.anchor < 0) return false;
  const std::string op = site.graph.node(site.anchor)->attrs.Str("op");
  return op == "add" || op == "sub" || op == "mul" || op == "div" || op == "max" || op == "min";
}

bool ProposeResidualAddFusion(const FusionSite& site, OpKind anchor_op, int output, FusionProposal* proposal) {
  const bool elementwise = FloatElementwiseAnchor(site, anchor_op);
  if (!IsFusionAnchor(anchor_op) && !elementwise) return false;
  const int consumer = SoleConsumer(site, output);
  if (consumer < 0) return false;
  const ir::Node& add = *site.graph.node(consumer);
  if (add.op != OpKind::kElementwise || add.attrs.Str("op") != "add" || add.inputs.size() != 2) return false;
  if (add.inputs[0] == add.inputs[1]) return false;  // x + x: the addend is the step's own output
  const int other = add.inputs[0] == output ? add.inputs[1] : add.inputs[0];
  // The fused step runs where the anchor runs: the addend must exist by then.
  if (other < 0 || !site.available[static_cast<size_t>(other)]) return false;
  const auto& y = site.storage[static_cast<size_t>(output)];
  const auto& r = site.storage[static_cast<size_t>(other)];
  const auto& sum = site.storage[static_cast<size_t>(add.outputs[0])];
  // Same shape (no broadcast), all FLOAT32 real values: the sum post-op adds
  // in float32 exactly as the Elementwise kernel would. Or all three FLOAT16
  // storage after a float anchor reading FLOAT16 (no quantized kernel takes
  // it): a float16-storage kernel rounds y, adds and rounds again, as the
  // separate steps would (ops/half_output_stage.h).
  if (y.shape != r.shape || y.shape != sum.shape) return false;
  // Or all three BFLOAT16 storage after an anchor reading BFLOAT16: the
  // bfloat16 kernels add in float32 and round once (conv2d/cpu_onednn_bf16.cc).
  bool all_float32 = true, all_half = true, all_bfloat16 = true;
  for (const auto* v : {&y, &r, &sum}) {
    all_float32 = all_float32 && v->dtype == DataType::FLOAT32 && !v->narrowed;
    all_half = all_half && v->dtype == DataType::FLOAT16 && v->narrowed;
    all_bfloat16 = all_bfloat16 && IsBFloat16(*v);
  }
  if (elementwise) {
    if (!all_float32 || y.quant || r.quant || sum.quant) return false;
  } else if (all_half) {
    if (!AnchorReadsHalf(site)) return false;
  } else if (all_bfloat16) {
    if (!AnchorReadsBFloat16(site)) return false;
  } else if (!all_float32) {
    return false;
  }
  proposal->fused_node = consumer;
  proposal->post_op.kind = ops::PostOp::Kind::kAdd;
  proposal->post_op.add_first = add.inputs[0] != output;
  proposal->new_output = add.outputs[0];
  proposal->extra_input = other;
  return true;
}

}  // namespace mixq::runtime
