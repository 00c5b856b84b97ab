#include "frontend/onnx/importer.h"

#include <limits>
#include <set>

#include "frontend/onnx/import_context.h"
#include "frontend/onnx/import_pass.h"
#include "frontend/onnx/onnx_verifier.h"
#include "frontend/onnx/rules.h"
#include "util/status_util.h"

namespace mixq::onnx_import {

namespace {

int DomainOpset(const onnx::ModelProto& model, const std::string& domain) {
  for (const auto& entry : model.opset_import())
    if (entry.domain() == domain || (domain.empty() && entry.domain() == "ai.onnx"))
      return static_cast<int>(entry.version());
  return -1;
}

bool IsDefaultDomain(const std::string& domain) {
  return domain.empty() || domain == "ai.onnx";
}

// Every op without a rule, listed together so a user sees all of them at once.
Status CheckAllOpsSupported(const onnx::ModelProto& model) {
  std::vector<std::string> missing;
  for (const auto& node : model.graph().node()) {
    if (IsDefaultDomain(node.domain()) && FindRule(node.op_type())) continue;
    const std::string domain = IsDefaultDomain(node.domain()) ? "" : node.domain() + ".";
    missing.push_back(StrCat(domain, node.op_type(), " (node '", node.name(), "', opset ",
                             DomainOpset(model, IsDefaultDomain(node.domain()) ? "" : node.domain()), ")"));
  }
  if (missing.empty()) return Status::OK();
  std::string list;
  for (size_t i = 0; i < missing.size(); ++i) list += (i ? ", " : "") + missing[i];
  return Unimplemented(missing.size(), " ONNX node(s) with ops mixq cannot import: ", list);
}

// Unique node names: the ONNX name when it is set and unique, else op_type_index.
std::vector<std::string> NodeNames(const onnx::GraphProto& graph, Importer* importer) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    std::string base = node.name().empty() ? StrCat(node.op_type(), "_", i) : node.name();
    names.push_back(importer->UniqueName(base));
  }
  return names;
}

Status DefineInputs(const onnx::GraphProto& graph, const ImportOptions& options, Importer* importer) {
  std::set<std::string> initializers;
  for (const auto& init : graph.initializer()) {
    auto value = std::make_shared<FoldValue>();
    MIXQ_RETURN_IF_ERROR(WithContext(FoldValueFromProto(init, options.base_dir, value.get()),
                                     StrCat("initializer '", init.name(), "'")));
    importer->Define(init.name(), ImportedValue{nullptr, std::move(value)});
    initializers.insert(init.name());
  }
  std::set<std::string> overridden;
  for (const auto& input : graph.input()) {
    if (initializers.count(input.name())) continue;
    const auto& tensor_type = input.type().tensor_type();
    DataType type;
    FromOnnxType(tensor_type.elem_type(), &type);  // checked by the verifier
    std::vector<int64_t> dims;
    for (const auto& dim : tensor_type.shape().dim()) dims.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    auto it = options.input_shapes.find(input.name());
    if (it != options.input_shapes.end()) {
      if (it->second.GetDimsNum() != static_cast<int64_t>(dims.size()))
        return InvalidArgument("SetInputShape('", input.name(), "', ", it->second.ToString(), "): the input has rank ",
                               dims.size());
      for (size_t d = 0; d < dims.size(); ++d)
        if (dims[d] >= 0 && it->second[d] != dims[d])
          return InvalidArgument("SetInputShape('", input.name(), "', ", it->second.ToString(), "): dim ", d,
                                 " is fixed to ", dims[d], " in the model");
      dims = it->second.GetDims();
      overridden.insert(input.name());
    }
    ITensor* t = importer->network()->AddIInput(type, Dims(dims));
    if (!t) return WithContext(importer->network()->GetLastStatus(), StrCat("graph input '", input.name(), "'"));
    MIXQ_RETURN_IF_ERROR(t->SetTensorName(input.name()));
    importer->Define(input.name(), ImportedValue{t, nullptr});
  }
  for (const auto& [name, dims] : options.input_shapes)
    if (!overridden.count(name)) return NotFound("SetInputShape: the model has no graph input '", name, "'");
  return Status::OK();
}

// Marks the graph outputs. A value that already has another role (a network
// input, another output, an aliased tensor named differently) is copied by a
// shape-preserving Reshape so every output has its own tensor and name.
Status MarkOutputs(const onnx::GraphProto& graph, Importer* importer) {
  INetwork* network = importer->network();
  std::set<const ITensor*> marked;
  std::set<std::string> output_names;
  for (const auto& out : graph.output()) output_names.insert(out.name());
  for (const auto& out : graph.output()) {
    ITensor* t = nullptr;
    MIXQ_RETURN_IF_ERROR(WithContext(importer->TensorOf(out.name(), &t), StrCat("graph output '", out.name(), "'")));
    const std::string current = t->GetTensorName();
    const bool is_input = t->GetProducer() == nullptr;
    if (current != out.name() && !is_input && !marked.count(t) && !output_names.count(current)) {
      MIXQ_RETURN_IF_ERROR(t->SetTensorName(out.name()));
    } else if (current != out.name() || is_input || marked.count(t)) {
      const int64_t rank = t->GetDimension().GetDimsNum();
      IReshapeNode* copy = network->AddIReshapeNode(t, Dims(std::vector<int64_t>(static_cast<size_t>(rank), 0)));
      if (!copy) return WithContext(network->GetLastStatus(), StrCat("graph output '", out.name(), "'"));
      MIXQ_RETURN_IF_ERROR(copy->SetNodeName(importer->UniqueName(out.name() + "/copy")));
      t = copy->GetOutput(0);
      MIXQ_RETURN_IF_ERROR(t->SetTensorName(out.name()));
    }
    MIXQ_RETURN_IF_ERROR(network->MarkOutput(t));
    marked.insert(t);
  }
  return Status::OK();
}

}  // namespace

Status ParseModelProto(const void* data, size_t size, onnx::ModelProto* model) {
  if (!data && size > 0) return InvalidArgument("ONNX model data is null");
  if (size == 0) return InvalidArgument("ONNX model data is empty");
  if (size > static_cast<size_t>(std::numeric_limits<int>::max()))
    return Unimplemented("ONNX model of ", size, " bytes is over protobuf's 2 GiB limit (use external data)");
  if (!model->ParseFromArray(data, static_cast<int>(size)))
    return DataLoss("the ", size,
                    " bytes are not a valid ONNX model (protobuf decoding failed: truncated or not ONNX)");
  return Status::OK();
}

Status ImportModel(onnx::ModelProto* model, INetwork* network, const ImportOptions& options) {
  if (!network) return InvalidArgument("network is null");
  if (network->GetInputCount() > 0 || !network->GetAllNodes().empty())
    return FailedPrecondition("the network must be empty before parsing");
  std::vector<int> order;
  MIXQ_RETURN_IF_ERROR(WithContext(VerifyModel(*model, &order), "ONNX model"));
  auto passes = CreateImportPasses();
  for (auto& pass : passes) {
    MIXQ_RETURN_IF_ERROR(WithContext(pass->BeforeMapping(model), pass->name()));
    MIXQ_RETURN_IF_ERROR(WithContext(VerifyModel(*model, &order), StrCat("ONNX model after ", pass->name())));
  }
  MIXQ_RETURN_IF_ERROR(CheckAllOpsSupported(*model));
  int opset = 0;
  MIXQ_RETURN_IF_ERROR(DefaultOpset(*model, &opset));

  const onnx::GraphProto& graph = model->graph();
  Importer importer(network, options.base_dir);
  // Reserve every ONNX value name so helper names never collide with one.
  for (const auto& v : graph.input()) importer.ReserveName(v.name());
  for (const auto& v : graph.initializer()) importer.ReserveName(v.name());
  for (const auto& node : graph.node())
    for (const auto& out : node.output()) importer.ReserveName(out);
  const std::vector<std::string> node_names = NodeNames(graph, &importer);
  MIXQ_RETURN_IF_ERROR(DefineInputs(graph, options, &importer));

  for (int index : order) {
    const onnx::NodeProto& node = graph.node(index);
    NodeContext ctx(&importer, node, node_names[static_cast<size_t>(index)], opset);
    const Rule* rule = FindRule(node.op_type());
    const bool fold = rule->fold && (!rule->map || ctx.AllInputsKnown());
    Status status = fold ? rule->fold(ctx) : rule->map(ctx);
    const std::string where = StrCat("ONNX node '", ctx.name(), "' (", node.op_type(), ", opset ", opset, ")");
    MIXQ_RETURN_IF_ERROR(WithContext(status, where));
    for (int i = 0; i < node.output_size(); ++i)
      if (!node.output(i).empty() && !importer.Find(node.output(i)))
        return WithContext(Unimplemented("output ", i, " ('", node.output(i), "') is not supported"), where);
  }
  MIXQ_RETURN_IF_ERROR(MarkOutputs(graph, &importer));
  for (auto& pass : passes) MIXQ_RETURN_IF_ERROR(WithContext(pass->AfterMapping(importer), pass->name()));
  return WithContext(network->Verify(), "the imported network");
}

}  // namespace mixq::onnx_import
