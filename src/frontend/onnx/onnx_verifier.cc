#include "frontend/onnx/onnx_verifier.h"

#include <map>
#include <set>
#include <string>

#include "frontend/onnx/rules.h"
#include "util/status_util.h"

namespace mixq::onnx_import {

namespace {

std::string NodeLabel(const onnx::NodeProto& node, int index) {
  return StrCat("node ", index, " '", node.name(), "' (", node.op_type(), ")");
}

// Names end up in model files, reports and JSON, which need valid UTF-8.
bool ValidUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

Status CheckNames(const onnx::GraphProto& graph) {
  auto check = [](const std::string& name, const char* what) {
    return ValidUtf8(name) ? Status::OK() : InvalidArgument(what, " name is not valid UTF-8");
  };
  for (const auto& v : graph.input()) MIXQ_RETURN_IF_ERROR(check(v.name(), "a graph input"));
  for (const auto& v : graph.output()) MIXQ_RETURN_IF_ERROR(check(v.name(), "a graph output"));
  for (const auto& v : graph.initializer()) MIXQ_RETURN_IF_ERROR(check(v.name(), "an initializer"));
  for (const auto& n : graph.node()) {
    MIXQ_RETURN_IF_ERROR(check(n.name(), "a node"));
    MIXQ_RETURN_IF_ERROR(check(n.op_type(), "an op type"));
    MIXQ_RETURN_IF_ERROR(check(n.domain(), "a domain"));
    for (const auto& v : n.input()) MIXQ_RETURN_IF_ERROR(check(v, "a node input"));
    for (const auto& v : n.output()) MIXQ_RETURN_IF_ERROR(check(v, "a node output"));
    for (const auto& a : n.attribute()) MIXQ_RETURN_IF_ERROR(check(a.name(), "an attribute"));
  }
  return Status::OK();
}

}  // namespace

Status DefaultOpset(const onnx::ModelProto& model, int* opset) {
  *opset = -1;
  for (const auto& entry : model.opset_import()) {
    if (entry.domain().empty() || entry.domain() == "ai.onnx") {
      if (*opset >= 0) return InvalidArgument("the default ONNX domain is imported twice");
      if (entry.version() < 1 || entry.version() > 1000)
        return InvalidArgument("opset version ", entry.version(), " is not valid");
      *opset = static_cast<int>(entry.version());
    }
  }
  if (*opset < 0) return InvalidArgument("the model imports no default-domain ONNX opset");
  if (*opset < kMinOpset || *opset > kMaxOpset)
    return Unimplemented("ONNX opset ", *opset, " is not supported (", kMinOpset, " to ", kMaxOpset,
                         "); convert the model with onnx.version_converter");
  return Status::OK();
}

Status VerifyModel(const onnx::ModelProto& model, std::vector<int>* order) {
  if (!model.has_graph()) return InvalidArgument("the model has no graph");
  int opset = 0;
  MIXQ_RETURN_IF_ERROR(DefaultOpset(model, &opset));
  const onnx::GraphProto& graph = model.graph();
  MIXQ_RETURN_IF_ERROR(CheckNames(graph));

  // Name -> producing node (-1: graph input or initializer).
  std::map<std::string, int> producer;
  for (const auto& init : graph.initializer()) {
    if (init.name().empty()) return InvalidArgument("an initializer has no name");
    if (!producer.emplace(init.name(), -1).second)
      return InvalidArgument("initializer '", init.name(), "' is defined twice");
  }
  if (graph.sparse_initializer_size() > 0) return Unimplemented("sparse initializers are not supported");
  for (const auto& input : graph.input()) {
    if (input.name().empty()) return InvalidArgument("a graph input has no name");
    // Before IR version 4, initializers are listed as graph inputs too.
    if (producer.count(input.name())) continue;
    producer.emplace(input.name(), -1);
    if (!input.type().has_tensor_type())
      return Unimplemented("graph input '", input.name(), "' is not a tensor (sequences and maps are not supported)");
    const auto& tensor_type = input.type().tensor_type();
    DataType type;
    if (!FromOnnxType(tensor_type.elem_type(), &type))
      return Unimplemented("graph input '", input.name(), "' has element type ", OnnxTypeName(tensor_type.elem_type()),
                           ", which mixq does not support");
    if (!tensor_type.has_shape())
      return Unimplemented("graph input '", input.name(), "' has no shape (its rank must be known)");
    if (tensor_type.shape().dim_size() > 16)
      return InvalidArgument("graph input '", input.name(), "' has rank ", tensor_type.shape().dim_size());
    for (const auto& dim : tensor_type.shape().dim())
      // -1 is how some exporters (paddle2onnx) spell "dynamic"; ONNX Runtime accepts it too.
      if (dim.has_dim_value() && (dim.dim_value() < -1 || dim.dim_value() > kMaxElements))
        return InvalidArgument("graph input '", input.name(), "' has dim ", dim.dim_value());
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    if (node.op_type().empty()) return InvalidArgument("node ", i, " '", node.name(), "' has no op_type");
    std::set<std::string> attr_names;
    for (const auto& attr : node.attribute())
      if (!attr_names.insert(attr.name()).second)
        return InvalidArgument(NodeLabel(node, i), ": attribute '", attr.name(), "' is given twice");
    for (const auto& out : node.output()) {
      if (out.empty()) continue;
      if (!producer.emplace(out, i).second)
        return InvalidArgument(NodeLabel(node, i), ": output '", out, "' is already defined elsewhere");
    }
  }
  // Kahn's algorithm over the producers; inputs must all be defined.
  std::vector<int> pending(static_cast<size_t>(graph.node_size()), 0);
  std::vector<std::vector<int>> consumers(static_cast<size_t>(graph.node_size()));
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    for (const auto& in : node.input()) {
      if (in.empty()) continue;
      auto it = producer.find(in);
      if (it == producer.end())
        return InvalidArgument(NodeLabel(node, i), ": input '", in,
                               "' is not a graph input, an initializer or any node's output");
      if (it->second >= 0) {
        ++pending[static_cast<size_t>(i)];
        consumers[static_cast<size_t>(it->second)].push_back(i);
      }
    }
  }
  order->clear();
  for (int i = 0; i < graph.node_size(); ++i)
    if (pending[static_cast<size_t>(i)] == 0) order->push_back(i);
  for (size_t k = 0; k < order->size(); ++k)
    for (int c : consumers[static_cast<size_t>((*order)[k])])
      if (--pending[static_cast<size_t>(c)] == 0) order->push_back(c);
  if (order->size() != static_cast<size_t>(graph.node_size())) {
    for (int i = 0; i < graph.node_size(); ++i)
      if (pending[static_cast<size_t>(i)] > 0)
        return InvalidArgument("the graph has a cycle through ", NodeLabel(graph.node(i), i));
  }
  if (graph.output_size() == 0) return InvalidArgument("the graph has no outputs");
  std::set<std::string> outputs;
  for (const auto& out : graph.output()) {
    if (!producer.count(out.name())) return InvalidArgument("graph output '", out.name(), "' is never produced");
    if (!outputs.insert(out.name()).second) return InvalidArgument("graph output '", out.name(), "' is listed twice");
  }
  return Status::OK();
}

}  // namespace mixq::onnx_import
