#include "passes/build_pipeline.h"

#include "ops/graph_verifier.h"
#include "ops/op_schema.h"
#include "passes/denormal_weights.h"
#include "passes/graph_edit.h"
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

Status PrepareForPlanning(ir::Graph* graph, const BuildOptions& options, const ChannelStatistics* channels,
                          std::map<std::string, std::vector<std::string>>* folded,
                          std::vector<std::string>* transforms) {
  MIXQ_RETURN_IF_ERROR(ApplyNodePrecision(options, graph));
  EliminateDeadNodes(graph);
  FoldBatchNorms(graph, folded);
  FuseDecomposedOps(graph, options, folded);
  FoldElementwisePatterns(graph, folded);
  if (options.cross_layer_equalization) {
    int relu6 = 0;
    const int pairs = EqualizeCrossLayer(graph, options.cle_relu6, &relu6);
    if (transforms)
      transforms->push_back(StrCat("cross_layer_equalization: ", pairs, " Conv2D pair(s) equalized",
                                   options.cle_relu6 == "replace_with_relu"
                                       ? StrCat(", ", relu6, " ReLU6 / clip(0, c) replaced by ReLU")
                                       : std::string(", pairs joined by ReLU6 / clip skipped")));
  }
  if (options.smooth_quant_alpha >= 0.0) {
    if (!channels || channels->absmax.empty()) {
      if (!SmoothQuantCandidates(*graph).empty())
        return FailedPrecondition(
            "precision_config.smooth_quant_alpha needs per-channel activation maxima from calibration: "
            "call Calibrate with this config (calibration files and range tables do not carry them)");
    } else {
      const int nodes = SmoothActivations(graph, options.smooth_quant_alpha, channels->absmax);
      if (transforms)
        transforms->push_back(StrCat("smooth_quant (alpha ", options.smooth_quant_alpha, "): ", nodes,
                                     " FullyConnected / MatMul weight(s) scaled"));
    }
  }
  if (options.denormal_weights == "flush") {
    // Last: folding and the transforms above make new weights.
    int tensors = 0;
    const int values = FlushDenormalWeights(graph, &tensors);
    if (transforms && values > 0)
      transforms->push_back(StrCat("denormal_weights: ", values, " float32 weight value(s) below 2^-126 in ", tensors,
                                   " tensor(s) set to zero"));
  }
  return Status::OK();
}

namespace {

// Conv2D / FullyConnected / MatMul nodes whose constant weights the plan quantizes statically.
bool HasStaticQuantizedWeights(const ir::Graph& graph) {
  for (size_t n = 0; n < graph.node_count(); ++n) {
    const ir::Node& node = *graph.node(static_cast<int>(n));
    if (node.op != OpKind::kConv2D && node.op != OpKind::kFullyConnected && node.op != OpKind::kMatMul) continue;
    if (node.inputs.size() < 2 || !FloatConstant(graph, node.inputs[1], -1)) continue;
    if (node.input_quant.size() > 1 && node.input_quant[1] && !node.input_quant[1]->dynamic) return true;
  }
  return false;
}

}  // namespace

Status BuildModelData(const std::string& name, const ir::Graph& network, const BuildOptions& options,
                      const CalibratedRanges& calibrated, const std::string& config_json, format::ModelData* model,
                      const ChannelStatistics* channels) {
  if (name.empty()) return InvalidArgument("BuildModel: the model name must not be empty");
  model->name = name;
  model->graph = network;
  model->build_config_json = config_json;
  ir::Graph& graph = model->graph;
  MIXQ_RETURN_IF_ERROR(ir::VerifyGraph(graph));
  MIXQ_RETURN_IF_ERROR(CheckCustomRangeNames(graph, options));
  MIXQ_RETURN_IF_ERROR(CheckInputTypes(graph));
  std::map<std::string, std::vector<std::string>> folded;
  PrecisionReport report;
  MIXQ_RETURN_IF_ERROR(PrepareForPlanning(&graph, options, channels, &folded, &report.transforms));
  MIXQ_RETURN_IF_ERROR(PlanPrecision(&graph, options, calibrated, &report));
  for (NodePrecision& row : report.nodes)
    if (auto it = folded.find(row.node); it != folded.end()) row.fused = it->second;
  if (options.bias_correction) {
    if (!channels || channels->mean.empty()) {
      if (HasStaticQuantizedWeights(graph))
        return FailedPrecondition(
            "precision_config.bias_correction needs per-channel activation means from calibration: "
            "call Calibrate with this config (calibration files and range tables do not carry them)");
      report.transforms.push_back("bias_correction: 0 bias(es) corrected");
    } else {
      int corrected = 0;
      MIXQ_RETURN_IF_ERROR(CorrectBias(&graph, channels->mean, &corrected));
      report.transforms.push_back(StrCat("bias_correction: ", corrected, " bias(es) corrected"));
    }
  }
  MIXQ_RETURN_IF_ERROR(QuantizeWeights(&graph));
  EliminateDeadNodes(&graph);  // the float originals of quantized weights
  MIXQ_RETURN_IF_ERROR(ir::VerifyGraph(graph));
  model->report_json = PrecisionReportToJson(report);
  return Status::OK();
}

}  // namespace mixq::passes
