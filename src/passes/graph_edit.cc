#include "passes/graph_edit.h"

#include <memory>

namespace mixq::passes {

const float* FloatConstant(const ir::Graph& g, int value_id, int64_t expected_count) {
  if (value_id < 0) return nullptr;
  const ir::Value& v = *g.value(value_id);
  if (v.producer < 0 || g.node(v.producer)->op != OpKind::kConstant || v.dtype != DataType::FLOAT32) return nullptr;
  if (expected_count >= 0 && ir::ElementCount(v.shape) != expected_count) return nullptr;
  return static_cast<const float*>(g.node(v.producer)->constant->data());
}

int ReaderCount(const ir::Graph& g, int value_id) {
  int readers = 0;
  for (size_t n = 0; n < g.node_count(); ++n)
    for (int in : g.node(static_cast<int>(n))->inputs) readers += in == value_id;
  for (int out : g.outputs()) readers += out == value_id;
  return readers;
}

int AddConstant(ir::Graph* g, const std::string& base, const ir::Shape& shape, const std::vector<float>& values) {
  const std::string name = g->UniqueName(base);
  ir::Node* c = g->AddNode(OpKind::kConstant, name, {}, 1);
  c->attrs.Set("dtype", std::string("FLOAT32"));
  c->attrs.Set("shape", shape);
  c->constant = std::make_shared<ir::Buffer>(values.data(), values.size() * sizeof(float));
  ir::Value* out = g->value(c->outputs[0]);
  g->RenameValue(out->id, name);
  out->dtype = DataType::FLOAT32;
  out->shape = shape;
  return out->id;
}

void TakeOverOutput(ir::Graph* g, int producer, int dropped) {
  ir::Node& p = *g->node(producer);
  ir::Node& d = *g->node(dropped);
  const int old_out = p.outputs[0], new_out = d.outputs[0];
  p.outputs[0] = new_out;
  ir::Value& v = *g->value(new_out);
  v.producer = producer;
  v.producer_output = 0;
  d.inputs.clear();
  d.outputs = {old_out};
  g->value(old_out)->producer = dropped;
}

}  // namespace mixq::passes
