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

Status MakeEngineState(std::shared_ptr<const format::ModelData> model, std::shared_ptr<const EngineState>* out) {
  auto state = std::make_shared<EngineState>();
  state->model = std::move(model);
  const ir::Graph& built = state->model->graph;
  for (size_t n = 0; n < built.node_count(); ++n) {
    const ir::Node& node = *built.node(static_cast<int>(n));
    if (node.op != OpKind::kConstant && !ops::GetSchema(node.op).reference)
      return Unimplemented(ir::NodeLabel(built, node), " has no kernel");
  }
  // Handed-over types are those the built model promises, before placement.
  for (int id : built.inputs()) state->input_types.push_back(built.value(id)->dtype);
  for (int id : built.outputs()) state->output_types.push_back(RuntimeOutputType(built, id));
  state->graph = built;
  MIXQ_RETURN_IF_ERROR(WithContext(passes::PlaceQuantization(&state->graph, &state->placement), "placing quantization"));
  *out = std::move(state);
  return Status::OK();
}

std::unique_ptr<IContext> EngineImpl::CreateIContext(const ContextOptions& options) const {
  return std::make_unique<ContextImpl>(state_, options);
}

std::vector<std::string> EngineImpl::GetInputNames() const {
  std::vector<std::string> names;
  for (int id : state_->graph.inputs()) names.push_back(state_->graph.value(id)->name);
  return names;
}

std::vector<std::string> EngineImpl::GetOutputNames() const {
  std::vector<std::string> names;
  for (int id : state_->graph.outputs()) names.push_back(state_->graph.value(id)->name);
  return names;
}

std::vector<Dims> EngineImpl::GetInputDimensions() const {
  std::vector<Dims> dims;
  for (int id : state_->graph.inputs()) dims.emplace_back(state_->graph.value(id)->shape);
  return dims;
}

}  // namespace mixq::runtime
