// Elementwise + FakeQuantize: an imported QDQ model fake-quantizes the output
// of nearly every float operator it does not quantize (PP-OCR's decomposed
// hard_swish and affine blocks: add, clip, mul, div, each followed by a
// QuantizeLinear / DequantizeLinear pair, which mixq imports as a
// FakeQuantize). Run as two steps that is two passes over the tensor; fused,
// the Elementwise kernel fake-quantizes each chunk of its output as it writes
// it, computing what the FakeQuantize step computes.
#include "runtime/fusion/fusion_rule.h"

namespace mixq::runtime {

bool ProposeFakeQuantizeFusion(const FusionSite& site, OpKind anchor_op, int output, FusionProposal* proposal) {
  if (anchor_op != OpKind::kElementwise) return false;
  const int consumer = SoleConsumer(site, output);
  if (consumer < 0) return false;
  const ir::Node& node = *site.graph.node(consumer);
  if (node.op != OpKind::kFakeQuantize || node.inputs.size() != 1 || node.outputs.size() != 1) return false;
  // Per tensor: one scale and one zero point.
  if (node.attrs.Int("axis", -1) >= 0) return false;
  const std::vector<float> scales = node.attrs.Floats("scales");
  const std::vector<int64_t> zero_points = node.attrs.Ints("zero_points");
  if (scales.size() != 1 || zero_points.size() != 1) return false;
  // A FakeQuantize that starts a QDQ region becomes that region's table
  // step instead (fuse_qdq_region.cc): one pass for the whole region.
  FusionSite from_it = site;
  from_it.anchor = consumer;
  std::vector<int> region;
  int sink = -1;
  if (FindQdqRegion(from_it, &region, &sink)) return false;
  const auto& y = site.storage[static_cast<size_t>(output)];
  const auto& out = site.storage[static_cast<size_t>(node.outputs[0])];
  if (!PlainFloat32(y) || !PlainFloat32(out) || y.shape != out.shape) return false;
  proposal->fused_node = consumer;
  proposal->post_op = ops::PostOp{};
  proposal->post_op.kind = ops::PostOp::Kind::kFakeQuantize;
  proposal->post_op.activation = "fake_quantize";  // the plan report's name
  proposal->post_op.scale = scales[0];
  proposal->post_op.zero_point = static_cast<int32_t>(zero_points[0]);
  proposal->post_op.bits = static_cast<int>(node.attrs.Int("bits", 8));
  proposal->new_output = node.outputs[0];
  proposal->extra_input = -1;
  return true;
}

}  // namespace mixq::runtime
