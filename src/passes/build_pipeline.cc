#include "passes/build_pipeline.h"

#include "ops/graph_verifier.h"
#include "ops/op_schema.h"
#include "passes/node_precision.h"
#include "passes/precision_planner.h"
#include "util/status_util.h"

namespace mixq::passes {

namespace {

// Inputs declared FLOAT16 / BFLOAT16 would hand the runtime narrow data;
// only FLOAT32 data (quantized at the boundary for QINT8 / QINT16) is taken.
Status CheckInputTypes(const ir::Graph& graph) {
  for (int id : graph.inputs()) {
    const ir::Value* v = graph.value(id);
    if (v->dtype == DataType::FLOAT16 || v->dtype == DataType::BFLOAT16)
      return Unimplemented("network input '", v->name, "' is declared ", DataTypeName(v->dtype),
                           "; inputs take FLOAT32 data (declare FLOAT32 and use SetPrecision for float16 compute)");
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

}  // namespace

Status BuildModelData(const std::string& name, const ir::Graph& network, const BuildOptions& options,
                      const CalibratedRanges& calibrated, const std::string& config_json, format::ModelData* model) {
  if (name.empty()) return InvalidArgument("BuildModel: the model name must not be empty");
  model->name = name;
  model->graph = network;
  model->build_config_json = config_json;
  ir::Graph& graph = model->graph;
  MIXQ_RETURN_IF_ERROR(ir::VerifyGraph(graph));
  MIXQ_RETURN_IF_ERROR(CheckCustomRangeNames(graph, options));
  MIXQ_RETURN_IF_ERROR(CheckInputTypes(graph));
  MIXQ_RETURN_IF_ERROR(ApplyNodePrecision(options, &graph));
  EliminateDeadNodes(&graph);
  std::map<std::string, std::vector<std::string>> folded;
  FoldBatchNorms(&graph, &folded);
  FuseDecomposedOps(&graph, options, &folded);
  FoldElementwisePatterns(&graph, &folded);
  PrecisionReport report;
  MIXQ_RETURN_IF_ERROR(PlanPrecision(&graph, options, calibrated, &report));
  for (NodePrecision& row : report.nodes)
    if (auto it = folded.find(row.node); it != folded.end()) row.fused = it->second;
  MIXQ_RETURN_IF_ERROR(QuantizeWeights(&graph));
  EliminateDeadNodes(&graph);  // the float originals of quantized weights
  MIXQ_RETURN_IF_ERROR(ir::VerifyGraph(graph));
  model->report_json = PrecisionReportToJson(report);
  return Status::OK();
}

}  // namespace mixq::passes
