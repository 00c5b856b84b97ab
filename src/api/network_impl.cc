#include "api/network_impl.h"

#include <algorithm>
#include <cstring>

#include "api/node_impl.h"
#include "ops/graph_verifier.h"
#include "util/status_util.h"

namespace mixq::api {

namespace {

const char* ActivationName(ActivationType type) {
  switch (type) {
    case ActivationType::RELU: return "relu";
    case ActivationType::RELU6: return "relu6";
    case ActivationType::CLIP: return "clip";
    case ActivationType::LEAKY_RELU: return "leaky_relu";
    case ActivationType::SIGMOID: return "sigmoid";
    case ActivationType::TANH: return "tanh";
    case ActivationType::HARD_SIGMOID: return "hard_sigmoid";
    case ActivationType::HARD_SWISH: return "hard_swish";
    case ActivationType::SILU: return "silu";
    case ActivationType::GELU_ERF: return "gelu_erf";
    case ActivationType::GELU_TANH: return "gelu_tanh";
  }
  return "unknown";
}

const char* ElementwiseName(ElementwiseOp op) {
  switch (op) {
    case ElementwiseOp::ADD: return "add";
    case ElementwiseOp::SUB: return "sub";
    case ElementwiseOp::MUL: return "mul";
    case ElementwiseOp::DIV: return "div";
    case ElementwiseOp::POW: return "pow";
    case ElementwiseOp::MAX: return "max";
    case ElementwiseOp::MIN: return "min";
  }
  return "unknown";
}

const char* UnaryName(UnaryOp op) {
  switch (op) {
    case UnaryOp::SQRT: return "sqrt";
    case UnaryOp::EXP: return "exp";
    case UnaryOp::LOG: return "log";
    case UnaryOp::ABS: return "abs";
    case UnaryOp::NEG: return "neg";
    case UnaryOp::ERF: return "erf";
    case UnaryOp::RECIPROCAL: return "reciprocal";
  }
  return "unknown";
}

const char* ReduceName(ReduceOp op) {
  switch (op) {
    case ReduceOp::MEAN: return "mean";
    case ReduceOp::SUM: return "sum";
    case ReduceOp::MAX: return "max";
    case ReduceOp::MIN: return "min";
  }
  return "unknown";
}

const char* PadModeName(PadMode mode) {
  switch (mode) {
    case PadMode::CONSTANT: return "constant";
    case PadMode::REFLECT: return "reflect";
    case PadMode::EDGE: return "edge";
  }
  return "unknown";
}

}  // namespace

NetworkImpl* ToImpl(INetwork* network) { return dynamic_cast<NetworkImpl*>(network); }

bool NetworkImpl::Fail(Status status) {
  last_status_ = std::move(status);
  return false;
}

int NetworkImpl::ValueIdOf(ITensor* tensor, const char* what) {
  if (!tensor) {
    Fail(InvalidArgument(what, " is null"));
    return -1;
  }
  auto* impl = dynamic_cast<TensorImpl*>(tensor);
  if (!impl || impl->network() != this) {
    Fail(InvalidArgument(what, " belongs to another network"));
    return -1;
  }
  return impl->id();
}

template <typename Iface>
Iface* NetworkImpl::AddNode(OpKind op, const std::vector<ITensor*>& inputs, int required_inputs, int num_outputs) {
  const ops::OpSchema& schema = ops::GetSchema(op);
  std::vector<int> ids;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string what = StrCat(schema.name, " input ", i, " (", schema.InputName(i), ")");
    if (!inputs[i] && static_cast<int>(i) >= required_inputs) {
      ids.push_back(-1);
      continue;
    }
    int id = ValueIdOf(inputs[i], what.c_str());
    if (id < 0) return nullptr;
    ids.push_back(id);
  }
  // Trailing omitted optional inputs are dropped so the node has no null tail.
  while (!ids.empty() && ids.back() < 0) ids.pop_back();
  ir::Node* node = graph_.AddNode(op, graph_.UniqueName(schema.name), ids, num_outputs);
  for (const auto& spec : schema.attrs) node->attrs.Set(spec.name, spec.default_value);
  auto wrapper = std::make_unique<NodeImpl<Iface>>(this, node->id);
  Iface* result = wrapper.get();
  nodes_.push_back(std::move(wrapper));
  for (int out : node->outputs) tensors_.push_back(std::make_unique<TensorImpl>(this, out));
  shapes_dirty_ = true;
  last_status_ = Status::OK();
  return result;
}

ITensor* NetworkImpl::AddIInput(DataType type, const Dims& dims) {
  if (DataTypeSize(type) == 0) return Fail(InvalidArgument("AddIInput: unknown data type")), nullptr;
  for (int64_t d : dims.GetDims())
    if (d < -1) return Fail(InvalidArgument("AddIInput: dims ", dims.ToString(), " hold a value below -1")), nullptr;
  const bool quantized = type == DataType::QINT8 || type == DataType::QINT16;
  ir::Value* v = graph_.AddInput(graph_.UniqueName(StrCat("input", graph_.inputs().size())),
                                 quantized ? DataType::FLOAT32 : type, dims.GetDims());
  if (quantized) v->boundary_precision = type;
  tensors_.push_back(std::make_unique<TensorImpl>(this, v->id));
  shapes_dirty_ = true;
  return tensors_.back().get();
}

IConstNode* NetworkImpl::AddIConstNode(DataType type, const Dims& dims, const void* data) {
  const size_t element_size = DataTypeSize(type);
  if (element_size == 0) return Fail(InvalidArgument("AddIConstNode: unknown data type")), nullptr;
  const int64_t count = dims.GetElementCount();
  if (count < 0) return Fail(InvalidArgument("AddIConstNode: dims ", dims.ToString(), " must all be known")), nullptr;
  int64_t bytes = 0;
  Status size_ok = ir::CheckedByteCount(dims.GetDims(), element_size, &bytes, "AddIConstNode: the constant");
  if (!size_ok.ok()) return Fail(size_ok), nullptr;
  if (!data && count > 0) return Fail(InvalidArgument("AddIConstNode: data is null")), nullptr;
  auto payload = std::make_shared<ir::Buffer>(data, static_cast<size_t>(bytes));
  Status allocated = ir::CheckAllocated(*payload, StrCat("AddIConstNode: the ", dims.ToString(), " constant"));
  if (!allocated.ok()) return Fail(allocated), nullptr;
  auto* node = AddNode<IConstNode>(OpKind::kConstant, {}, 0, 1);
  ir::Node& n = *graph_.node(static_cast<int>(nodes_.size()) - 1);
  n.attrs.Set("dtype", std::string(DataTypeName(type)));
  n.attrs.Set("shape", dims.GetDims());
  n.constant = std::move(payload);
  return node;
}

IConvNode* NetworkImpl::AddIConvNode(ITensor* input, ITensor* filter, ITensor* bias) {
  return AddNode<IConvNode>(OpKind::kConv2D, {input, filter, bias}, 2, 1);
}
IConvTranspose2DNode* NetworkImpl::AddIConvTranspose2DNode(ITensor* input, ITensor* filter, ITensor* bias) {
  return AddNode<IConvTranspose2DNode>(OpKind::kConvTranspose2D, {input, filter, bias}, 2, 1);
}
IMaxPool2DNode* NetworkImpl::AddIMaxPool2DNode(ITensor* input, bool return_index) {
  if (return_index)
    return Fail(Unimplemented("AddIMaxPool2DNode: return_index = true (an index output) is not supported")),
           nullptr;
  return AddNode<IMaxPool2DNode>(OpKind::kMaxPool2D, {input}, 1, 1);
}
IAvgPool2DNode* NetworkImpl::AddIAvgPool2DNode(ITensor* input) {
  return AddNode<IAvgPool2DNode>(OpKind::kAvgPool2D, {input}, 1, 1);
}
IGlobalAvgPoolNode* NetworkImpl::AddIGlobalAvgPoolNode(ITensor* input) {
  return AddNode<IGlobalAvgPoolNode>(OpKind::kGlobalAvgPool, {input}, 1, 1);
}
IBatchNormNode* NetworkImpl::AddIBatchNormNode(ITensor* input, ITensor* mean, ITensor* variance, ITensor* scale,
                                               ITensor* bias) {
  return AddNode<IBatchNormNode>(OpKind::kBatchNorm, {input, mean, variance, scale, bias}, 5, 1);
}
IActivationNode* NetworkImpl::AddIActivationNode(ITensor* input, ActivationType type) {
  auto* node = AddNode<IActivationNode>(OpKind::kActivation, {input}, 1, 1);
  if (node) node->SetAttr("type", ActivationName(type));
  return node;
}
IElementwiseNode* NetworkImpl::AddIElementwiseNode(ITensor* a, ITensor* b, ElementwiseOp op) {
  auto* node = AddNode<IElementwiseNode>(OpKind::kElementwise, {a, b}, 2, 1);
  if (node) node->SetAttr("op", ElementwiseName(op));
  return node;
}
IUnaryNode* NetworkImpl::AddIUnaryNode(ITensor* input, UnaryOp op) {
  auto* node = AddNode<IUnaryNode>(OpKind::kUnary, {input}, 1, 1);
  if (node) node->SetAttr("op", UnaryName(op));
  return node;
}
IMatMulNode* NetworkImpl::AddIMatMulNode(ITensor* a, ITensor* b) {
  return AddNode<IMatMulNode>(OpKind::kMatMul, {a, b}, 2, 1);
}
IFullyConnectedNode* NetworkImpl::AddIFullyConnectedNode(ITensor* input, ITensor* weight, ITensor* bias) {
  return AddNode<IFullyConnectedNode>(OpKind::kFullyConnected, {input, weight, bias}, 2, 1);
}
IConcatNode* NetworkImpl::AddIConcatNode(const std::vector<ITensor*>& inputs, int64_t axis) {
  if (inputs.empty()) return Fail(InvalidArgument("AddIConcatNode: no inputs")), nullptr;
  auto* node = AddNode<IConcatNode>(OpKind::kConcat, inputs, static_cast<int>(inputs.size()), 1);
  if (node) node->SetAttr("axis", axis);
  return node;
}
ISplitNode* NetworkImpl::AddISplitNode(ITensor* input, int64_t axis, const std::vector<int64_t>& sizes) {
  if (sizes.empty()) return Fail(InvalidArgument("AddISplitNode: sizes is empty")), nullptr;
  auto* node = AddNode<ISplitNode>(OpKind::kSplit, {input}, 1, static_cast<int>(sizes.size()));
  if (node) {
    node->SetAttr("axis", axis);
    node->SetAttr("sizes", sizes);
  }
  return node;
}
ISliceNode* NetworkImpl::AddISliceNode(ITensor* input, const std::vector<int64_t>& starts,
                                       const std::vector<int64_t>& ends, const std::vector<int64_t>& axes,
                                       const std::vector<int64_t>& steps) {
  auto* node = AddNode<ISliceNode>(OpKind::kSlice, {input}, 1, 1);
  if (node) {
    node->SetAttr("starts", starts);
    node->SetAttr("ends", ends);
    node->SetAttr("axes", axes);
    node->SetAttr("steps", steps);
  }
  return node;
}
IReshapeNode* NetworkImpl::AddIReshapeNode(ITensor* input, const Dims& shape) {
  auto* node = AddNode<IReshapeNode>(OpKind::kReshape, {input}, 1, 1);
  if (node) node->SetAttr("shape", shape.GetDims());
  return node;
}
IFlattenNode* NetworkImpl::AddIFlattenNode(ITensor* input, int64_t axis) {
  auto* node = AddNode<IFlattenNode>(OpKind::kFlatten, {input}, 1, 1);
  if (node) node->SetAttr("axis", axis);
  return node;
}
IPermuteNode* NetworkImpl::AddIPermuteNode(ITensor* input, const std::vector<int64_t>& perm) {
  auto* node = AddNode<IPermuteNode>(OpKind::kPermute, {input}, 1, 1);
  if (node) node->SetAttr("perm", perm);
  return node;
}
ISqueezeNode* NetworkImpl::AddISqueezeNode(ITensor* input, const std::vector<int64_t>& axes) {
  auto* node = AddNode<ISqueezeNode>(OpKind::kSqueeze, {input}, 1, 1);
  if (node) node->SetAttr("axes", axes);
  return node;
}
IUnsqueezeNode* NetworkImpl::AddIUnsqueezeNode(ITensor* input, const std::vector<int64_t>& axes) {
  auto* node = AddNode<IUnsqueezeNode>(OpKind::kUnsqueeze, {input}, 1, 1);
  if (node) node->SetAttr("axes", axes);
  return node;
}
IPadNode* NetworkImpl::AddIPadNode(ITensor* input, const std::vector<int64_t>& pads, PadMode mode) {
  auto* node = AddNode<IPadNode>(OpKind::kPad, {input}, 1, 1);
  if (node) {
    node->SetAttr("pads", pads);
    node->SetAttr("mode", PadModeName(mode));
  }
  return node;
}
IResizeNode* NetworkImpl::AddIResizeNode(ITensor* input, const std::vector<float>& scales, ResizeMode mode) {
  auto* node = AddNode<IResizeNode>(OpKind::kResize, {input}, 1, 1);
  if (node) {
    node->SetAttr("scales", scales);
    node->SetAttr("mode", mode == ResizeMode::NEAREST ? "nearest" : "linear");
  }
  return node;
}
ISoftmaxNode* NetworkImpl::AddISoftmaxNode(ITensor* input, int64_t axis) {
  auto* node = AddNode<ISoftmaxNode>(OpKind::kSoftmax, {input}, 1, 1);
  if (node) node->SetAttr("axis", axis);
  return node;
}
ILayerNormNode* NetworkImpl::AddILayerNormNode(ITensor* input, ITensor* scale, ITensor* bias, int64_t axis) {
  auto* node = AddNode<ILayerNormNode>(OpKind::kLayerNorm, {input, scale, bias}, 2, 1);
  if (node) node->SetAttr("axis", axis);
  return node;
}
IReduceNode* NetworkImpl::AddIReduceNode(ITensor* input, ReduceOp op, const std::vector<int64_t>& axes,
                                         bool keep_dims) {
  auto* node = AddNode<IReduceNode>(OpKind::kReduce, {input}, 1, 1);
  if (node) {
    node->SetAttr("op", ReduceName(op));
    node->SetAttr("axes", axes);
    node->SetAttr("keep_dims", keep_dims);
  }
  return node;
}
ICastNode* NetworkImpl::AddICastNode(ITensor* input, DataType to) {
  auto* node = AddNode<ICastNode>(OpKind::kCast, {input}, 1, 1);
  if (node) node->SetAttr("to", DataTypeName(to));
  return node;
}
IFakeQuantizeNode* NetworkImpl::AddIFakeQuantizeNode(ITensor* input, const QuantizationParameters& params) {
  auto* node = AddNode<IFakeQuantizeNode>(OpKind::kFakeQuantize, {input}, 1, 1);
  if (!node) return nullptr;
  node->SetAttr("bits", static_cast<int64_t>(params.bits));
  node->SetAttr("scales", params.scales);
  node->SetAttr("zero_points", std::vector<int64_t>(params.zero_points.begin(), params.zero_points.end()));
  node->SetAttr("axis", params.axis);
  return node;
}
IGatherNode* NetworkImpl::AddIGatherNode(ITensor* data, ITensor* indices, int64_t axis) {
  auto* node = AddNode<IGatherNode>(OpKind::kGather, {data, indices}, 2, 1);
  if (node) node->SetAttr("axis", axis);
  return node;
}

Status NetworkImpl::MarkOutput(ITensor* tensor) {
  int id = ValueIdOf(tensor, "MarkOutput: tensor");
  if (id < 0) return last_status_;
  const auto& outs = graph_.outputs();
  if (std::find(outs.begin(), outs.end(), id) != outs.end())
    return InvalidArgument("MarkOutput: tensor '", graph_.value(id)->name, "' is already an output");
  graph_.MarkOutput(id);
  return Status::OK();
}

ITensor* NetworkImpl::GetInput(int64_t index) const {
  if (index < 0 || index >= GetInputCount()) return nullptr;
  return tensor(graph_.inputs()[static_cast<size_t>(index)]);
}

ITensor* NetworkImpl::GetOutput(int64_t index) const {
  if (index < 0 || index >= GetOutputCount()) return nullptr;
  return tensor(graph_.outputs()[static_cast<size_t>(index)]);
}

INode* NetworkImpl::FindNodeByName(const std::string& name) const {
  const ir::Node* n = graph_.FindNode(name);
  return n ? node(n->id) : nullptr;
}

ITensor* NetworkImpl::FindTensorByName(const std::string& name) const {
  const ir::Value* v = graph_.FindValue(name);
  return v ? tensor(v->id) : nullptr;
}

std::vector<INode*> NetworkImpl::GetAllNodes() const {
  std::vector<INode*> all;
  for (const auto& n : nodes_) all.push_back(n.get());
  return all;
}

Status NetworkImpl::Verify() {
  ir::Graph copy = graph_;
  MIXQ_RETURN_IF_ERROR(ir::VerifyGraph(copy));
  for (size_t i = 0; i < copy.value_count(); ++i) {
    graph_.value(static_cast<int>(i))->shape = copy.value(static_cast<int>(i))->shape;
    graph_.value(static_cast<int>(i))->dtype = copy.value(static_cast<int>(i))->dtype;
  }
  shapes_dirty_ = false;
  return Status::OK();
}

void NetworkImpl::RefreshShapes() {
  if (!shapes_dirty_) return;
  ir::Graph copy = graph_;
  for (size_t i = 0; i < copy.node_count(); ++i)
    if (!ir::VerifyNodeStructure(copy, *copy.node(static_cast<int>(i))).ok()) return;
  std::vector<int> order;
  if (!copy.TopologicalOrder(&order).ok()) return;
  // Everything before a faulty node still gets its dims.
  std::vector<ops::ValueInfo> infos;
  size_t done = 0;
  Status status = ir::InferShapes(copy, order, {}, &infos, &done);
  for (size_t k = 0; k < done; ++k) {
    for (int out : copy.node(order[k])->outputs) {
      graph_.value(out)->shape = infos[static_cast<size_t>(out)].shape;
      graph_.value(out)->dtype = infos[static_cast<size_t>(out)].dtype;
    }
  }
  shapes_dirty_ = !status.ok();
}

std::unique_ptr<INetwork> CreateINetwork() { return std::make_unique<NetworkImpl>(); }

}  // namespace mixq::api

namespace mixq {
std::unique_ptr<INetwork> CreateINetwork() { return api::CreateINetwork(); }
}  // namespace mixq
