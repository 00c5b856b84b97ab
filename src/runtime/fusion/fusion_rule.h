// Fusion rules of the lowering (DESIGN data flow), one per file. A rule
// looks at a step whose anchor op can take post-ops and, when the pattern
// matches, folds the next node into it: the step then writes that node's
// output. The lowering keeps a fusion only when a registered kernel
// supports the fused step; force_reference lowers with no fusion at all.
#pragma once

#include <vector>

#include "ir/graph.h"
#include "ops/kernel_registry.h"
#include "runtime/execution_plan.h"

namespace mixq::runtime {

struct FusionSite {
  const ir::Graph& graph;
  const std::vector<std::vector<int>>& consumers;  // value id -> consumer node ids
  const std::vector<bool>& is_output;              // value id -> network output or observed (never fused away)
  const std::vector<ops::ValueInfo>& storage;      // value id -> storage info
  const std::vector<bool>& available;              // value id -> computed before this step
  int anchor = -1;                                 // the step's own node (the anchor)
  const std::vector<int>* topo_index = nullptr;    // node id -> position in the topological order
};

// What a rule proposes for a step: the node it swallows, the post-op, the
// new output value and (for an add) the extra input value.
struct FusionProposal {
  int fused_node = -1;
  ops::PostOp post_op;
  int new_output = -1;
  int extra_input = -1;
};

// FLOAT32 stored as such: not narrowed to float16, not quantized.
inline bool PlainFloat32(const ops::ValueInfo& v) {
  return v.dtype == DataType::FLOAT32 && !v.narrowed && !v.quant;
}

// FLOAT16 storage (a float16-narrowed tensor).
bool IsHalf(const ops::ValueInfo& v);
// The step's anchor reads its first input as float16 storage.
bool AnchorReadsHalf(const FusionSite& site);
// The same for bfloat16 storage: the bfloat16 kernels (conv2d/cpu_onednn_bf16.cc)
// compute a fused step in float32 and round its output once.
bool IsBFloat16(const ops::ValueInfo& v);
bool AnchorReadsBFloat16(const FusionSite& site);

// Conv2D, ConvTranspose2D, MatMul, FullyConnected: the ops that take post-ops.
bool IsFusionAnchor(OpKind op);

// The sole consumer of `value` (not a network output nor observed), or -1.
int SoleConsumer(const FusionSite& site, int value);

// Conv2D / ConvTranspose2D / MatMul / FullyConnected + relu / relu6 / clip /
// leaky_relu: the activation becomes a post-op (storage of both tensors equal).
// gelu_erf / gelu_tanh only after a FloatProductAnchor, between plain FLOAT32
// (or after a BFloat16ProductAnchor, between BFLOAT16 storage)
// tensors (the float32 GEMM epilogues and oneDNN's eltwise GELU take it).
bool ProposeActivationFusion(const FusionSite& site, OpKind anchor_op, int output, FusionProposal* proposal);

// ... + Add of a tensor of the output's shape (a residual connection): the
// add becomes a sum post-op; an activation after it can then fuse too. Also
// after a FLOAT32 Elementwise add / sub / mul / div / max / min (all three
// tensors plain FLOAT32): the elementwise kernel adds as it writes.
bool ProposeResidualAddFusion(const FusionSite& site, OpKind anchor_op, int output, FusionProposal* proposal);

// MatMul / FullyConnected computing in float32 (plain FLOAT32 a and b,
// nothing quantized; or bfloat16 / float16 storage, HalfProductAnchor; or
// consuming a quantized, with a plain FLOAT32 output) + Add
// of a FLOAT32 constant [N] or [1, ..., 1, N] (a bias per output column): a
// kAdd post-op whose addend broadcasts along the last axis (fuse_bias_add.cc). An activation and a residual add after
// it can then fuse too, applied after the bias as the separate steps would.
bool ProposeBiasAddFusion(const FusionSite& site, OpKind anchor_op, int output, FusionProposal* proposal);

// True for a MatMul / FullyConnected step that computes in plain float32.
bool FloatProductAnchor(const FusionSite& site, OpKind anchor_op);
// The same reading BFLOAT16 storage (b: storage or a constant), for the
// bfloat16 kernels, which round once after their post-ops.
bool BFloat16ProductAnchor(const FusionSite& site, OpKind anchor_op);
// The same reading FLOAT16 storage times a constant, for the float16 kernels
// with float16 weights, which round the product before the bias add.
bool HalfProductAnchor(const FusionSite& site, OpKind anchor_op);

// ... + mul / add with a one-element float32 constant (fuse_float_chain.cc):
// between plain FLOAT32 tensors, or between float16 tensors after an anchor
// that reads float16 (the float16 output stage rounds between the steps).
bool ProposeScalarFusion(const FusionSite& site, OpKind anchor_op, int output, FusionProposal* proposal);

// ... + a static per-tensor Quantize (Convert FLOAT32 -> INT8) of the
// step's float output: the step writes the integers (fuse_float_chain.cc).
bool ProposeQuantizeFusion(const FusionSite& site, OpKind anchor_op, int output, FusionProposal* proposal);

// Elementwise (float32) + a per-tensor FakeQuantize of its output, the pair
// an imported QDQ model leaves around each float operator: one step that
// fake-quantizes as it writes (fuse_fake_quantize.cc).
bool ProposeFakeQuantizeFusion(const FusionSite& site, OpKind anchor_op, int output, FusionProposal* proposal);

// A FakeQuantize with one positive scale and zero point, 8 bits: one that
// can start a QDQ region.
bool PerTensorInt8FakeQuantize(const ir::Node& n);

// A per-tensor 8-bit FakeQuantize (the anchor) followed by a region of float
// operators whose every value depends on its code alone, with one value
// leaving the region (fuse_qdq_region.cc): the region's nodes in
// topological order (site.topo_index) and that value.
bool FindQdqRegion(const FusionSite& site, std::vector<int>* region, int* sink);
// The region's output for each of the 256 codes (by code + 128), computed by
// its nodes' reference kernels.
Status TabulateQdqRegion(const FusionSite& site, const std::vector<int>& region, int sink, kernels::Isa max_isa,
                         std::vector<float>* table);

// `sink`'s only consumer quantizes it (a static per-tensor Convert FLOAT32
// -> INT8; `sink` is no network output): that node and its INT8 output.
bool QuantizedSink(const FusionSite& site, int sink, int* quantize_node, int* quantized);
// Each table entry y -> its code as that Convert quantizes it (q =
// clamp(rint(y / s) + z), NaN -> z), kept as a float.
void QuantizeTable(const ops::ValueInfo& quantized, std::vector<float>* table);

}  // namespace mixq::runtime
