#include "analysis/builds.h"

#include "ops/op_schema.h"
#include "passes/build_pipeline.h"
#include "util/status_util.h"

namespace mixq::analysis {

namespace {

bool IsRealFloat(DataType t) {
  return t == DataType::FLOAT32 || t == DataType::FLOAT16 || t == DataType::BFLOAT16;
}
// A precision the isolated build must reproduce (float32 is what the rest runs in).
bool IsReduced(DataType t) {
  return t == DataType::QINT8 || t == DataType::QINT16 || t == DataType::FLOAT16 || t == DataType::BFLOAT16;
}

// Clears what makes a network run in other precisions than its build mode says.
void ClearOverrides(ir::Graph* graph) {
  for (size_t n = 0; n < graph->node_count(); ++n) {
    ir::Node* node = graph->node(static_cast<int>(n));
    node->input_precision.clear();
    node->output_type.clear();
  }
  for (int id : graph->inputs()) graph->value(id)->boundary_precision.reset();
}

Status MarkOutputs(ir::Graph* graph, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    const ir::Value* v = graph->FindValue(name);
    if (!v) return Internal("analysis: tensor '", name, "' is not in the network");
    bool marked = false;
    for (int out : graph->outputs()) marked = marked || out == v->id;
    if (!marked) graph->MarkOutput(v->id);
  }
  return Status::OK();
}

Status Build(const std::string& name, const ir::Graph& graph, const passes::BuildOptions& options,
             const BuildInputs& in, std::shared_ptr<const format::ModelData>* model) {
  auto data = std::make_shared<format::ModelData>();
  MIXQ_RETURN_IF_ERROR(
      WithContext(passes::BuildModelData(name, graph, options, in.calibrated, in.config_json, data.get(), in.channels),
                  name + " build"));
  *model = std::move(data);
  return Status::OK();
}

std::string TypeList(const std::vector<DataType>& types) {
  std::string out;
  for (DataType t : types) out += (out.empty() ? "" : ", ") + std::string(DataTypeName(t));
  return out;
}

}  // namespace

Status PlanAnalysis(const BuildInputs& in, std::vector<std::string>* tensors, std::vector<AnalysedNode>* nodes,
                    std::string* precision_mode) {
  std::shared_ptr<const format::ModelData> model;
  MIXQ_RETURN_IF_ERROR(Build("analysis-quantized", *in.network, in.options, in, &model));
  *precision_mode = in.options.precision_mode;
  const ir::Graph& g = model->graph;
  std::vector<int> order;
  MIXQ_RETURN_IF_ERROR(g.TopologicalOrder(&order));
  for (int id : order) {
    const ir::Node& node = *g.node(id);
    // Nodes a build transform inserted (SmoothQuant's Mul) have no counterpart to compare with.
    if (node.op == OpKind::kConstant || !in.network->FindNode(node.name)) continue;
    AnalysedNode analysed;
    analysed.name = node.name;
    analysed.op_type = ops::GetSchema(node.op).name;
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const ir::Value& v = *g.value(node.outputs[o]);
      if (!IsRealFloat(v.dtype) || !in.network->FindValue(v.name)) continue;
      tensors->push_back(v.name);
      analysed.outputs.push_back(v.name);
      if (o < node.output_compute.size() && IsReduced(node.output_compute[o]))
        analysed.output_type[o] = node.output_compute[o];
    }
    const ops::OpSchema& schema = ops::GetSchema(node.op);
    for (size_t i = 0; i < node.inputs.size() && i < node.input_compute.size(); ++i) {
      if (node.inputs[i] < 0 || !IsReduced(node.input_compute[i])) continue;
      // A quantized input of an operator that takes none by request (an
      // AvgPool inside an integer chain, passes/integer_chain.h) follows its
      // neighbours; alone in a float network it runs in float.
      const bool quantized = node.input_compute[i] == DataType::QINT8 || node.input_compute[i] == DataType::QINT16;
      const bool requestable =
          !quantized || (schema.quant.IsQuantizable(static_cast<int>(i)) && schema.integer_reference);
      if (requestable) analysed.input_precision[i] = node.input_compute[i];
    }
    if (analysed.outputs.empty() || (analysed.input_precision.empty() && analysed.output_type.empty())) continue;
    analysed.precision = "in " + TypeList(node.input_compute) + "; out " + TypeList(node.output_compute);
    nodes->push_back(std::move(analysed));
  }
  return Status::OK();
}

Status BuildFloat(const BuildInputs& in, const std::vector<std::string>& extra_outputs,
                  std::shared_ptr<const format::ModelData>* model) {
  ir::Graph graph = *in.network;
  ClearOverrides(&graph);
  MIXQ_RETURN_IF_ERROR(MarkOutputs(&graph, extra_outputs));
  passes::BuildOptions options = in.options;
  options.precision_mode = "force_float32";
  options.node_precision.clear();  // the config's per-node overrides would apply after ClearOverrides
  return Build("analysis-float32", graph, options, in, model);
}

Status BuildQuantized(const BuildInputs& in, const std::vector<std::string>& extra_outputs,
                      std::shared_ptr<const format::ModelData>* model) {
  ir::Graph graph = *in.network;
  MIXQ_RETURN_IF_ERROR(MarkOutputs(&graph, extra_outputs));
  return Build("analysis-quantized", graph, in.options, in, model);
}

Status BuildIsolated(const BuildInputs& in, const AnalysedNode& node, std::shared_ptr<const format::ModelData>* model) {
  ir::Graph graph = *in.network;
  ClearOverrides(&graph);
  const ir::Node* found = graph.FindNode(node.name);
  if (!found) return Internal("analysis: node '", node.name, "' is not in the network");
  ir::Node* target = graph.node(found->id);
  target->input_precision = node.input_precision;
  target->output_type = node.output_type;
  MIXQ_RETURN_IF_ERROR(MarkOutputs(&graph, node.outputs));
  passes::BuildOptions options = in.options;
  options.precision_mode = "force_float32";
  options.node_precision.clear();  // the config's per-node overrides would apply after ClearOverrides
  return Build("analysis-isolated '" + node.name + "'", graph, options, in, model);
}

}  // namespace mixq::analysis
