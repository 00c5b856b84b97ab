#include "runtime/engine.h"

#include "util/status_util.h"

namespace mixq::runtime {

DataType RuntimeOutputType(const ir::Graph& graph, int value_id) {
  const ir::Value* v = graph.value(value_id);
  if (v->producer < 0 || v->dtype != DataType::FLOAT32) return v->dtype;
  const ir::Node& producer = *graph.node(v->producer);
  const size_t o = static_cast<size_t>(v->producer_output);
  return o < producer.output_compute.size() ? producer.output_compute[o] : v->dtype;
}

Status MakePlan(std::shared_ptr<const format::ModelData> model, std::shared_ptr<const Plan>* out) {
  auto plan = std::make_shared<Plan>();
  plan->model = std::move(model);
  const ir::Graph& graph = plan->model->graph;
  std::vector<int> order;
  MIXQ_RETURN_IF_ERROR(graph.TopologicalOrder(&order));
  for (int id : order) {
    const ir::Node& node = *graph.node(id);
    if (node.op == OpKind::kConstant) continue;
    if (!ops::GetSchema(node.op).reference)
      return Unimplemented(ir::NodeLabel(graph, node), " has no kernel");
    plan->steps.push_back(id);
  }
  for (int id : graph.inputs()) plan->input_types.push_back(graph.value(id)->dtype);
  for (int id : graph.outputs()) plan->output_types.push_back(RuntimeOutputType(graph, id));
  *out = std::move(plan);
  return Status::OK();
}

std::unique_ptr<IContext> EngineImpl::CreateIContext(const ContextOptions& options) const {
  return std::make_unique<ContextImpl>(plan_, options);
}

std::vector<std::string> EngineImpl::GetInputNames() const {
  std::vector<std::string> names;
  for (int id : plan_->model->graph.inputs()) names.push_back(plan_->model->graph.value(id)->name);
  return names;
}

std::vector<std::string> EngineImpl::GetOutputNames() const {
  std::vector<std::string> names;
  for (int id : plan_->model->graph.outputs()) names.push_back(plan_->model->graph.value(id)->name);
  return names;
}

std::vector<Dims> EngineImpl::GetInputDimensions() const {
  std::vector<Dims> dims;
  for (int id : plan_->model->graph.inputs()) dims.emplace_back(plan_->model->graph.value(id)->shape);
  return dims;
}

}  // namespace mixq::runtime
