// ExportToOnnx: a built model as an ONNX QDQ model (see include/mixq/onnx_export.h).
#include <fstream>

#include "api/model_impl.h"
#include "frontend/onnx/export/export_rules.h"
#include "mixq/onnx_export.h"
#include "ops/op_schema.h"
#include "util/status_util.h"

namespace mixq::onnx_export {

namespace {

constexpr int64_t kOpset = 21;      // int16 QuantizeLinear / DequantizeLinear
constexpr int64_t kIrVersion = 10;  // the IR version of opset 21

bool IsReduced(DataType t) {
  return t == DataType::FLOAT16 || t == DataType::BFLOAT16;
}

// The type a model output is handed over in (as the runtime does).
DataType HandOverType(const ir::Graph& g, const ir::Value& v) {
  if (v.producer < 0 || v.dtype != DataType::FLOAT32) return v.dtype;
  const ir::Node& p = *g.node(v.producer);
  const size_t o = static_cast<size_t>(v.producer_output);
  return o < p.output_compute.size() ? p.output_compute[o] : v.dtype;
}

void SetValueInfo(onnx::ValueInfoProto* info, const std::string& name, DataType type, const ir::Shape& shape) {
  info->set_name(name);
  auto* tensor = info->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(OnnxElementType(type));
  auto* dims = tensor->mutable_shape();
  for (size_t d = 0; d < shape.size(); ++d) {
    auto* dim = dims->add_dim();
    if (shape[d] >= 0)
      dim->set_dim_value(shape[d]);
    else
      dim->set_dim_param(name + "_d" + std::to_string(d));
  }
}

Status ExportGraph(const format::ModelData& model, onnx::ModelProto* proto) {
  const ir::Graph& g = model.graph;
  proto->set_ir_version(kIrVersion);
  proto->set_producer_name("mixq");
  proto->set_producer_version("0.1.0");
  auto* opset = proto->add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  onnx::GraphProto* graph = proto->mutable_graph();
  graph->set_name(model.name.empty() ? "mixq" : model.name);
  GraphWriter w(graph);
  ExportContext ctx(&w, g);
  for (size_t i = 0; i < g.value_count(); ++i) w.Reserve(g.value(static_cast<int>(i))->name);

  for (int id : g.inputs()) {
    const ir::Value& v = *g.value(id);
    SetValueInfo(graph->add_input(), v.name, v.dtype, v.shape);
    ctx.SetName(id, v.name);
  }
  std::vector<bool> is_output(g.value_count(), false);
  for (int id : g.outputs()) is_output[static_cast<size_t>(id)] = true;

  std::vector<int> order;
  MIXQ_RETURN_IF_ERROR(g.TopologicalOrder(&order));
  std::string unsupported;
  for (int id : order) {
    const ir::Node& node = *g.node(id);
    if (node.op == OpKind::kConstant) continue;  // becomes initializers where consumed
    const ExportRule rule = FindExportRule(node.op);
    if (!rule) {
      unsupported += (unsupported.empty() ? "" : ", ") + ir::NodeLabel(g, node);
      continue;
    }
    // float16 storage of outputs: the rule writes float32, rounded after.
    std::vector<std::string> rule_outputs;
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const ir::Value& v = *g.value(node.outputs[o]);
      const bool reduced =
          o < node.output_compute.size() && IsReduced(node.output_compute[o]) && v.dtype == DataType::FLOAT32;
      rule_outputs.push_back(reduced ? w.Unique(v.name + "_f32") : v.name);
    }
    ctx.Begin(node, rule_outputs);
    MIXQ_RETURN_IF_ERROR(rule(ctx));
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const ir::Value& v = *g.value(node.outputs[o]);
      ctx.SetName(v.id, v.name);
      if (rule_outputs[o] == v.name) continue;
      const DataType reduced = node.output_compute[o];
      if (is_output[static_cast<size_t>(v.id)]) {  // handed over as float16
        GraphWriter::SetAttr(w.AddNode("Cast", {rule_outputs[o]}, {v.name}), "to",
                             static_cast<int64_t>(OnnxElementType(reduced)));
      } else {
        onnx::NodeProto* down = nullptr;
        const std::string half = w.AddNode1("Cast", {rule_outputs[o]}, v.name + "_f16", &down);
        GraphWriter::SetAttr(down, "to", static_cast<int64_t>(OnnxElementType(reduced)));
        GraphWriter::SetAttr(w.AddNode("Cast", {half}, {v.name}), "to", static_cast<int64_t>(onnx::TensorProto::FLOAT));
      }
    }
  }
  if (!unsupported.empty()) return Unimplemented("no ONNX export rule for: ", unsupported);
  for (int id : g.outputs()) {
    const ir::Value& v = *g.value(id);
    if (v.producer >= 0 && g.node(v.producer)->op == OpKind::kConstant) {
      // A folded output: an initializer, named through an Identity.
      const std::string init = w.AddInitializer(v.name + "_value", v.dtype, v.shape, g.node(v.producer)->constant->data());
      w.AddNode("Identity", {init}, {v.name});
    }
    SetValueInfo(graph->add_output(), v.name, HandOverType(g, v), v.shape);
  }
  return Status::OK();
}

const format::ModelData* DataOf(const IModel& model) {
  const auto* impl = dynamic_cast<const api::ModelImpl*>(&model);
  return impl ? impl->data() : nullptr;
}

}  // namespace

}  // namespace mixq::onnx_export

namespace mixq {

Status ExportToOnnxBytes(const IModel& model, std::string* bytes) {
  if (!bytes) return InvalidArgument("ExportToOnnxBytes: bytes is null");
  const format::ModelData* data = onnx_export::DataOf(model);
  if (!data) return InvalidArgument("ExportToOnnx: the model is empty or was not created by mixq");
  onnx::ModelProto proto;
  MIXQ_RETURN_IF_ERROR(WithContext(onnx_export::ExportGraph(*data, &proto), "ExportToOnnx('" + data->name + "')"));
  if (!proto.SerializeToString(bytes)) return Internal("ExportToOnnx: protobuf serialization failed");
  return Status::OK();
}

Status ExportToOnnx(const IModel& model, const std::string& path) {
  std::string bytes;
  MIXQ_RETURN_IF_ERROR(ExportToOnnxBytes(model, &bytes));
  std::ofstream out(path, std::ios::binary);
  if (!out) return InvalidArgument("ExportToOnnx: cannot open '", path, "' for writing");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) return DataLoss("ExportToOnnx: writing '", path, "' failed");
  return Status::OK();
}

}  // namespace mixq
