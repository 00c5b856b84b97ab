// The bias add of a float32 MatMul / FullyConnected (ONNX exports a Linear
// layer as MatMul + Add of a constant [N]): MatMul -> Add(y, bias) with a
// FLOAT32 constant bias of shape [N] or [1, ..., 1, N] (N: the output's last
// dim) becomes a kAdd post-op whose addend broadcasts along the last axis.
// Kernels that take a kAdd check the addend's shape; only those that say so
// take a per-column one (ops/float_weight_gemm.h, the oneDNN MatMul, and for
// a QINT8 product with a FLOAT32 output the int8 weight GEMMs,
// ops/int8_weight_gemm.h; the int16 one declines it: slower fused).
#include "runtime/fusion/fusion_rule.h"

namespace mixq::runtime {

namespace {

// `bias` shaped [N] or [1, ..., 1, N] against `out` [..., N] of at least its rank.
bool ColumnBias(const ir::Shape& bias, const ir::Shape& out) {
  if (bias.empty() || out.empty() || bias.size() > out.size() || bias.back() != out.back() || bias.back() < 1)
    return false;
  for (size_t d = 0; d + 1 < bias.size(); ++d)
    if (bias[d] != 1) return false;
  return true;
}

bool IsConstant(const FusionSite& site, int value) {
  const int producer = site.graph.value(value)->producer;
  return producer >= 0 && site.graph.node(producer)->op == OpKind::kConstant;
}

// The step's MatMul / FullyConnected node when inputs 0 and 1 exist and
// neither is quantized; null otherwise.
const ir::Node* UnquantizedProduct(const FusionSite& site, OpKind anchor_op) {
  if (anchor_op != OpKind::kMatMul && anchor_op != OpKind::kFullyConnected) return nullptr;
  if (site.anchor < 0) return nullptr;
  const ir::Node* anchor = site.graph.node(site.anchor);
  if (anchor->inputs.size() < 2) return nullptr;
  for (size_t i = 0; i < 2; ++i)
    if (anchor->inputs[i] < 0 || (i < anchor->input_quant.size() && anchor->input_quant[i])) return nullptr;
  return anchor;
}

// A MatMul / FullyConnected consuming input 0 quantized (QINT8 / QINT16):
// the int8 weight GEMMs add a column addend in their output stage, after
// the dequantization, into a FLOAT32 output; the other quantized kernels
// decline the step (QuantizedReferenceSupports), and the add stays a step.
bool QuantizedProductAnchor(const FusionSite& site, OpKind anchor_op) {
  if (anchor_op != OpKind::kMatMul && anchor_op != OpKind::kFullyConnected) return false;
  if (site.anchor < 0) return false;
  const ir::Node& anchor = *site.graph.node(site.anchor);
  if (anchor.inputs.size() < 2 || anchor.inputs[0] < 0 || anchor.inputs[1] < 0 || anchor.input_compute.empty())
    return false;
  return anchor.input_compute[0] == DataType::QINT8 || anchor.input_compute[0] == DataType::QINT16;
}

}  // namespace

bool FloatProductAnchor(const FusionSite& site, OpKind anchor_op) {
  if (anchor_op != OpKind::kMatMul && anchor_op != OpKind::kFullyConnected) return false;
  if (site.anchor < 0) return false;
  const ir::Node& anchor = *site.graph.node(site.anchor);
  if (anchor.inputs.size() < 2) return false;
  for (size_t i = 0; i < 2; ++i) {
    const int v = anchor.inputs[i];
    if (v < 0 || !PlainFloat32(site.storage[static_cast<size_t>(v)])) return false;
    if (i < anchor.input_compute.size() && anchor.input_compute[i] != DataType::FLOAT32) return false;
    if (i < anchor.input_quant.size() && anchor.input_quant[i]) return false;
  }
  return true;
}

// The bfloat16 form: a MatMul / FullyConnected reading BFLOAT16 storage times
// BFLOAT16 storage or a constant (consumed in BFLOAT16: its values rounded),
// not quantized. The bfloat16 kernels compute its post-ops in float32 and
// round once (ops/matmul/cpu_onednn.cc, "onednn-bf16").
bool BFloat16ProductAnchor(const FusionSite& site, OpKind anchor_op) {
  const ir::Node* anchor = UnquantizedProduct(site, anchor_op);
  if (!anchor) return false;
  for (size_t i = 0; i < 2; ++i) {
    const int v = anchor->inputs[i];
    const ops::ValueInfo& s = site.storage[static_cast<size_t>(v)];
    if (!IsBFloat16(s) && !(i == 1 && IsConstant(site, v) && PlainFloat32(s))) return false;
  }
  return true;
}

// The float16 form: a MatMul / FullyConnected reading FLOAT16 storage times
// a constant, not quantized. The kernels that take the fused add round the
// product to float16 before adding, as the separate steps do
// (ops/half_weight_gemm.h).
bool HalfProductAnchor(const FusionSite& site, OpKind anchor_op) {
  const ir::Node* anchor = UnquantizedProduct(site, anchor_op);
  return anchor && IsHalf(site.storage[static_cast<size_t>(anchor->inputs[0])]) && IsConstant(site, anchor->inputs[1]);
}

bool ProposeBiasAddFusion(const FusionSite& site, OpKind anchor_op, int output, FusionProposal* proposal) {
  if (!IsFusionAnchor(anchor_op)) return false;
  const bool float32 = FloatProductAnchor(site, anchor_op), bfloat16 = BFloat16ProductAnchor(site, anchor_op),
             half = HalfProductAnchor(site, anchor_op), quantized = QuantizedProductAnchor(site, anchor_op);
  if (!float32 && !bfloat16 && !half && !quantized) return false;
  const int consumer = SoleConsumer(site, output);
  if (consumer < 0) return false;
  const ir::Node& add = *site.graph.node(consumer);
  if (add.op != OpKind::kElementwise || add.attrs.Str("op") != "add" || add.inputs.size() != 2 ||
      add.outputs.size() != 1)
    return false;
  if (add.inputs[0] == add.inputs[1]) return false;
  const int other = add.inputs[0] == output ? add.inputs[1] : add.inputs[0];
  if (other < 0 || !site.available[static_cast<size_t>(other)]) return false;
  // A constant: a bias, not an activation that happens to broadcast.
  const ir::Value& b = *site.graph.value(other);
  if (b.producer < 0) return false;
  const ir::Node& producer = *site.graph.node(b.producer);
  if (producer.op != OpKind::kConstant || !producer.constant) return false;
  const auto& y = site.storage[static_cast<size_t>(output)];
  const auto& bias = site.storage[static_cast<size_t>(other)];
  const auto& sum = site.storage[static_cast<size_t>(add.outputs[0])];
  if (!PlainFloat32(bias) || !bias.const_data) return false;
  if (!((float32 || quantized) && PlainFloat32(y) && PlainFloat32(sum)) &&
      !(bfloat16 && IsBFloat16(y) && IsBFloat16(sum)) && !(half && IsHalf(y) && IsHalf(sum)))
    return false;
  // The sum keeps y's shape (the bias broadcasts into it, never the other
  // way), and the bias has one value per output column: y + bias[j] in
  // float32, what the Elementwise kernel computes.
  if (!ir::IsStatic(y.shape) || y.shape != sum.shape || !ColumnBias(bias.shape, y.shape)) return false;
  proposal->fused_node = consumer;
  proposal->post_op = ops::PostOp{};
  proposal->post_op.kind = ops::PostOp::Kind::kAdd;
  proposal->post_op.add_first = add.inputs[0] != output;
  proposal->new_output = add.outputs[0];
  proposal->extra_input = other;
  return true;
}

}  // namespace mixq::runtime
