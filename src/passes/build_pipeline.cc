#include "passes/build_pipeline.h"

#include "ir/verifier.h"
#include "ops/op_schema.h"
#include "passes/precision_report.h"
#include "util/status_util.h"

namespace mixq::passes {

namespace {

// Until quantized and float16 execution lands, anything but float32 is refused
// loudly rather than silently run in float32.
Status CheckFloat32Only(const ir::Graph& graph, const BuildOptions& options) {
  if (options.precision_mode != "force_float32")
    return Unimplemented("precision_mode '", options.precision_mode,
                         "' is not implemented yet (only force_float32 builds today)");
  for (int id : graph.inputs()) {
    const ir::Value* v = graph.value(id);
    if (v->boundary_precision)
      return Unimplemented("network input '", v->name, "' is declared ", DataTypeName(*v->boundary_precision),
                           "; quantized execution is not implemented yet");
    if (v->dtype != DataType::FLOAT32 && v->dtype != DataType::INT32 && v->dtype != DataType::INT64 &&
        v->dtype != DataType::BOOL && v->dtype != DataType::INT8 && v->dtype != DataType::UINT8)
      return Unimplemented("network input '", v->name, "' is declared ", DataTypeName(v->dtype),
                           "; quantized and float16 inputs are not implemented yet");
  }
  for (size_t i = 0; i < graph.node_count(); ++i) {
    const ir::Node& node = *graph.node(static_cast<int>(i));
    for (const auto& [index, type] : node.input_precision)
      if (type != DataType::FLOAT32)
        return Unimplemented(ir::NodeLabel(graph, node), ": SetPrecision(", index, ", ", DataTypeName(type),
                             ") is not implemented yet (only FLOAT32)");
    for (const auto& [index, type] : node.output_type)
      if (type != DataType::FLOAT32)
        return Unimplemented(ir::NodeLabel(graph, node), ": SetOutputType(", index, ", ", DataTypeName(type),
                             ") is not implemented yet (only FLOAT32)");
  }
  return Status::OK();
}

Status CheckCustomRangeNames(const ir::Graph& graph, const BuildOptions& options) {
  std::string unknown;
  for (const auto& [name, range] : options.custom_ranges)
    if (!graph.FindValue(name)) unknown += (unknown.empty() ? "" : ", ") + name;
  if (!unknown.empty())
    return NotFound("precision_config.custom_ranges names tensors the network does not have: ", unknown);
  return Status::OK();
}

PrecisionReport MakeReport(const ir::Graph& graph, const BuildOptions& options) {
  PrecisionReport report;
  report.precision_mode = options.precision_mode;
  std::vector<int> order;
  if (!graph.TopologicalOrder(&order).ok()) return report;
  for (int id : order) {
    const ir::Node& node = *graph.node(id);
    if (node.op == OpKind::kConstant) continue;
    NodePrecision row;
    row.node = node.name;
    row.op = ops::GetSchema(node.op).name;
    row.kernel = "reference";
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i] < 0) continue;
      const ir::Value* v = graph.value(node.inputs[i]);
      auto it = node.input_precision.find(i);
      TensorPrecision t{v->name, it != node.input_precision.end() ? it->second : v->dtype,
                        it != node.input_precision.end() ? "node" : "network", v->dtype};
      row.inputs.push_back(t);
    }
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const ir::Value* v = graph.value(node.outputs[o]);
      auto it = node.output_type.find(o);
      TensorPrecision t{v->name, it != node.output_type.end() ? it->second : v->dtype,
                        it != node.output_type.end() ? "node" : "network", v->dtype};
      row.outputs.push_back(t);
    }
    report.nodes.push_back(row);
  }
  return report;
}

}  // namespace

Status BuildModelData(const std::string& name, const ir::Graph& network, const BuildOptions& options,
                      const std::string& config_json, format::ModelData* model) {
  if (name.empty()) return InvalidArgument("BuildModel: the model name must not be empty");
  model->name = name;
  model->graph = network;
  model->build_config_json = config_json;
  ir::Graph& graph = model->graph;
  MIXQ_RETURN_IF_ERROR(ir::VerifyGraph(graph));
  MIXQ_RETURN_IF_ERROR(CheckCustomRangeNames(graph, options));
  MIXQ_RETURN_IF_ERROR(CheckFloat32Only(graph, options));
  EliminateDeadNodes(&graph);
  MIXQ_RETURN_IF_ERROR(ir::VerifyGraph(graph));
  model->report_json = PrecisionReportToJson(MakeReport(graph, options));
  return Status::OK();
}

}  // namespace mixq::passes
