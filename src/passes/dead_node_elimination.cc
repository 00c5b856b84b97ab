#include <vector>

#include "passes/build_pipeline.h"

namespace mixq::passes {

void EliminateDeadNodes(ir::Graph* graph) {
  const size_t value_count = graph->value_count();
  std::vector<bool> live_value(value_count, false), live_node(graph->node_count(), false);
  std::vector<int> stack(graph->outputs().begin(), graph->outputs().end());
  while (!stack.empty()) {
    int v = stack.back();
    stack.pop_back();
    if (live_value[static_cast<size_t>(v)]) continue;
    live_value[static_cast<size_t>(v)] = true;
    int producer = graph->value(v)->producer;
    if (producer < 0 || live_node[static_cast<size_t>(producer)]) continue;
    live_node[static_cast<size_t>(producer)] = true;
    // All outputs of a live node stay (the node writes them all).
    for (int out : graph->node(producer)->outputs) stack.push_back(out);
    for (int in : graph->node(producer)->inputs)
      if (in >= 0) stack.push_back(in);
  }
  for (int in : graph->inputs()) live_value[static_cast<size_t>(in)] = true;  // inputs stay, even unused

  // Rebuild with dense ids.
  std::vector<int> value_map(value_count, -1), node_map(graph->node_count(), -1);
  auto& values = graph->raw_values();
  auto& nodes = graph->raw_nodes();
  std::vector<std::unique_ptr<ir::Value>> kept_values;
  std::vector<std::unique_ptr<ir::Node>> kept_nodes;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!live_node[i]) continue;
    node_map[i] = static_cast<int>(kept_nodes.size());
    kept_nodes.push_back(std::move(nodes[i]));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!live_value[i]) continue;
    value_map[i] = static_cast<int>(kept_values.size());
    kept_values.push_back(std::move(values[i]));
  }
  auto remap = [&](int id) { return id < 0 ? -1 : value_map[static_cast<size_t>(id)]; };
  for (auto& v : kept_values) {
    v->id = value_map[static_cast<size_t>(v->id)];
    if (v->producer >= 0) v->producer = node_map[static_cast<size_t>(v->producer)];
  }
  for (auto& n : kept_nodes) {
    n->id = node_map[static_cast<size_t>(n->id)];
    for (int& in : n->inputs) in = remap(in);
    for (int& out : n->outputs) out = remap(out);
  }
  for (int& in : graph->mutable_inputs()) in = remap(in);
  for (int& out : graph->mutable_outputs()) out = remap(out);
  values = std::move(kept_values);
  nodes = std::move(kept_nodes);
}

}  // namespace mixq::passes
