#include "ops/graph_verifier.h"

#include <algorithm>
#include <climits>
#include <set>

#include "util/status_util.h"

namespace mixq::ir {

namespace {

// Every shape that inference produces or receives, whatever the op: dims >= -1,
// an element count int64 can hold and at most kMaxTensorBytes once static.
Status CheckInferredShape(const ops::ValueInfo& info, const std::string& what) {
  int64_t count = 0;
  MIXQ_RETURN_IF_ERROR(CheckedElementCount(info.shape, &count, what));
  if (count < 0) return Status::OK();
  int64_t bytes = 0;
  return CheckedByteCount(info.shape, DataTypeSize(info.dtype), &bytes, what);
}

}  // namespace

Status VerifyNodeStructure(Graph& graph, Node& node) {
  if (node.op == OpKind::kCount || static_cast<int>(node.op) < 0 || node.op > OpKind::kCount)
    return InvalidArgument("node '", node.name, "' has an unknown op kind");
  const ops::OpSchema& schema = ops::GetSchema(node.op);
  const std::string label = NodeLabel(graph, node);
  const int count = static_cast<int>(node.inputs.size());
  const int max_inputs = schema.variadic_inputs ? INT32_MAX : static_cast<int>(schema.input_names.size());
  if (count < schema.min_inputs || count > max_inputs)
    return InvalidArgument(label, " has ", count, " inputs; ", schema.name, " takes ", schema.min_inputs,
                           schema.variadic_inputs ? " or more" : StrCat(" to ", max_inputs));
  for (int i = 0; i < count; ++i) {
    int id = node.inputs[static_cast<size_t>(i)];
    if (id < 0) {
      if (i < schema.min_inputs)
        return InvalidArgument(label, " is missing its required input ", i, " (",
                               schema.InputName(static_cast<size_t>(i)), ")");
      continue;
    }
    if (static_cast<size_t>(id) >= graph.value_count())
      return InvalidArgument(label, " input ", i, " (", schema.InputName(static_cast<size_t>(i)),
                             ") refers to value id ", id, " which does not exist (dangling input)");
  }
  const int outputs = static_cast<int>(node.outputs.size());
  if (outputs < schema.min_outputs || outputs > schema.max_outputs)
    return InvalidArgument(label, " has ", outputs, " outputs; ", schema.name, " produces ", schema.min_outputs, " to ",
                           schema.max_outputs);
  for (int id : node.outputs) {
    if (id < 0 || static_cast<size_t>(id) >= graph.value_count() || graph.value(id)->producer != node.id)
      return InvalidArgument(label, " has an output that is not produced by it");
  }
  for (const auto& [name, value] : node.attrs.values()) {
    const ops::AttrSpec* spec = schema.FindAttr(name);
    if (!spec) return InvalidArgument(label, " has unknown attribute '", name, "'");
    if (TypeOf(value) != TypeOf(spec->default_value))
      return InvalidArgument(label, " attribute '", name, "' must be ", AttrTypeName(TypeOf(spec->default_value)),
                             ", got ", AttrTypeName(TypeOf(value)));
  }
  for (const auto& spec : schema.attrs)
    if (!node.attrs.Has(spec.name)) node.attrs.Set(spec.name, spec.default_value);
  if (node.op == OpKind::kConstant) {
    DataType dtype;
    if (!ParseDataType(node.attrs.Str("dtype"), &dtype)) return InvalidArgument(label, " has an invalid dtype");
    int64_t const_bytes = 0;
    MIXQ_RETURN_IF_ERROR(WithContext(
        CheckedByteCount(node.attrs.Ints("shape"), DataTypeSize(dtype), &const_bytes, "the constant"), label));
    int64_t count_elems = ElementCount(node.attrs.Ints("shape"));
    if (!node.constant || count_elems < 0 ||
        node.constant->size() != static_cast<size_t>(count_elems) * DataTypeSize(dtype))
      return InvalidArgument(label, " payload holds ", node.constant ? node.constant->size() : 0,
                             " bytes, its dims and type need ",
                             count_elems * static_cast<int64_t>(DataTypeSize(dtype)));
  }
  return Status::OK();
}

// What InferShapes puts in a constant's ValueInfo::const_data: its bytes,
// or for a narrow (float16 / bfloat16) buffer its 16-bit bytes, which marks
// the value constant without widening it (no schema's shape inference reads
// a float constant's values). The lowering, which hands constants to
// kernels, replaces those with a pinned float32 copy (ir::Buffer::Pin).
static const void* ConstantMarker(const Buffer& buffer) {
  return buffer.narrow() ? buffer.narrow_data() : buffer.data();
}

Status InferShapes(const Graph& graph, const std::vector<int>& order, const std::vector<Shape>& input_shapes,
                   std::vector<ops::ValueInfo>* infos, size_t* nodes_done) {
  if (nodes_done) *nodes_done = 0;
  infos->assign(graph.value_count(), ops::ValueInfo{});
  for (size_t i = 0; i < graph.inputs().size(); ++i) {
    const Value* v = graph.value(graph.inputs()[i]);
    auto& info = (*infos)[static_cast<size_t>(v->id)];
    info.dtype = v->dtype;
    info.shape = i < input_shapes.size() ? input_shapes[i] : v->shape;
    MIXQ_RETURN_IF_ERROR(CheckInferredShape(info, StrCat("network input '", v->name, "'")));
  }
  // Constants first: callers may leave them out of `order` (the runtime does).
  for (size_t n = 0; n < graph.node_count(); ++n) {
    const Node& node = *graph.node(static_cast<int>(n));
    if (node.op != OpKind::kConstant || !node.constant) continue;
    auto& info = (*infos)[static_cast<size_t>(node.outputs[0])];
    if (!ParseDataType(node.attrs.Str("dtype"), &info.dtype))
      return InvalidArgument(NodeLabel(graph, node), " has an invalid dtype");
    info.shape = node.attrs.Ints("shape");
    info.const_data = ConstantMarker(*node.constant);
  }
  std::vector<const ops::ValueInfo*> in;
  std::vector<ops::ValueInfo> out, logical;
  for (int id : order) {
    const Node& node = *graph.node(id);
    const ops::OpSchema& schema = ops::GetSchema(node.op);
    in.clear();
    logical.assign(node.inputs.size(), ops::ValueInfo{});
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int input = node.inputs[i];
      if (input < 0) {
        in.push_back(nullptr);
        continue;
      }
      in.push_back(&(*infos)[static_cast<size_t>(input)]);
      // A quantized input (or an INT32 bias in the accumulator's scale) holds
      // integers standing for real numbers: shape inference sees the real
      // (FLOAT32) tensor.
      const bool int_bias = i < node.input_quant.size() && node.input_quant[i] && node.input_quant[i]->bits == 32;
      if (i < node.input_compute.size() &&
          (node.input_compute[i] == DataType::QINT8 || node.input_compute[i] == DataType::QINT16 || int_bias)) {
        logical[i] = *in.back();
        logical[i].dtype = DataType::FLOAT32;
        logical[i].const_data = nullptr;
        in.back() = &logical[i];
      }
    }
    out.assign(node.outputs.size(), ops::ValueInfo{});
    Status status = schema.infer(node.attrs, in, out);
    if (!status.ok()) return WithContext(status, NodeLabel(graph, node));
    for (size_t o = 0; o < out.size(); ++o)
      MIXQ_RETURN_IF_ERROR(WithContext(
          CheckInferredShape(out[o], StrCat("output ", o, " (tensor '", graph.value(node.outputs[o])->name, "')")),
          NodeLabel(graph, node)));
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.op == OpKind::kConstant) out[o].const_data = ConstantMarker(*node.constant);
      (*infos)[static_cast<size_t>(node.outputs[o])] = out[o];
    }
    if (nodes_done) ++*nodes_done;
  }
  return Status::OK();
}

Status VerifyGraph(Graph& graph) {
  std::set<std::string> names;
  for (size_t i = 0; i < graph.value_count(); ++i) {
    const Value* v = graph.value(static_cast<int>(i));
    if (v->name.empty()) return InvalidArgument("value id ", i, " has no name");
    if (!names.insert(v->name).second) return InvalidArgument("two tensors are named '", v->name, "'");
  }
  std::set<std::string> node_names;
  for (size_t i = 0; i < graph.node_count(); ++i) {
    Node& node = *graph.node(static_cast<int>(i));
    if (!node_names.insert(node.name).second) return InvalidArgument("two nodes are named '", node.name, "'");
    MIXQ_RETURN_IF_ERROR(VerifyNodeStructure(graph, node));
  }
  for (int id : graph.inputs()) {
    if (id < 0 || static_cast<size_t>(id) >= graph.value_count() || graph.value(id)->producer != -1)
      return InvalidArgument("network input id ", id, " is not an input value");
  }
  for (size_t i = 0; i < graph.value_count(); ++i) {
    const Value* v = graph.value(static_cast<int>(i));
    if (v->producer < 0 && std::find(graph.inputs().begin(), graph.inputs().end(), v->id) == graph.inputs().end())
      return InvalidArgument("tensor '", v->name, "' has no producer and is not a network input");
  }
  if (graph.outputs().empty())
    return FailedPrecondition("the network has no outputs: mark at least one tensor with MarkOutput");
  for (int id : graph.outputs())
    if (id < 0 || static_cast<size_t>(id) >= graph.value_count())
      return InvalidArgument("network output id ", id, " does not exist");
  std::vector<int> order;
  MIXQ_RETURN_IF_ERROR(graph.TopologicalOrder(&order));
  std::vector<ops::ValueInfo> infos;
  MIXQ_RETURN_IF_ERROR(InferShapes(graph, order, {}, &infos));
  for (size_t i = 0; i < graph.value_count(); ++i) {
    Value* v = graph.value(static_cast<int>(i));
    if (v->producer < 0) continue;
    v->dtype = infos[i].dtype;
    v->shape = infos[i].shape;
  }
  return Status::OK();
}

}  // namespace mixq::ir
