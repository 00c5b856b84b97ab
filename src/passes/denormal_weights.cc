#include "passes/denormal_weights.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

namespace mixq::passes {

namespace {

bool IsWeightSlot(const ir::Node& node, size_t slot) {
  switch (node.op) {
    case OpKind::kConv2D:
    case OpKind::kConvTranspose2D:
    case OpKind::kFullyConnected:
      return slot == 1;
    case OpKind::kMatMul:
      return slot <= 1;
    default:
      return false;
  }
}

bool IsDenormal(float v) {
  return v != 0.0f && std::fabs(v) < std::numeric_limits<float>::min();
}

}  // namespace

int FlushDenormalWeights(ir::Graph* graph, int* tensors) {
  *tensors = 0;
  // Readers of each value: whether every one takes it as weights.
  std::vector<int> weight_reads(graph->value_count(), 0), other_reads(graph->value_count(), 0);
  for (size_t n = 0; n < graph->node_count(); ++n) {
    const ir::Node& node = *graph->node(static_cast<int>(n));
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int v = node.inputs[i];
      if (v < 0) continue;
      (IsWeightSlot(node, i) ? weight_reads : other_reads)[static_cast<size_t>(v)]++;
    }
  }
  for (int v : graph->outputs()) other_reads[static_cast<size_t>(v)]++;
  int changed = 0;
  for (size_t n = 0; n < graph->node_count(); ++n) {
    ir::Node& node = *graph->node(static_cast<int>(n));
    if (node.op != OpKind::kConstant || !node.constant || node.outputs.size() != 1) continue;
    const size_t out = static_cast<size_t>(node.outputs[0]);
    const ir::Value& value = *graph->value(node.outputs[0]);
    if (value.dtype != DataType::FLOAT32 || weight_reads[out] == 0 || other_reads[out] != 0) continue;
    const auto* from = static_cast<const float*>(node.constant->data());
    if (!from) continue;
    const size_t count = node.constant->size() / sizeof(float);
    size_t denormals = 0;
    for (size_t i = 0; i < count; ++i) denormals += IsDenormal(from[i]);
    if (denormals == 0) continue;
    std::vector<float> flushed(from, from + count);
    for (float& w : flushed)
      if (IsDenormal(w)) w = std::copysign(0.0f, w);
    auto buffer = std::make_shared<ir::Buffer>(flushed.data(), count * sizeof(float));
    if (!buffer->ok()) continue;  // no memory for the copy: the weights stay as they are
    node.constant = std::move(buffer);
    changed += static_cast<int>(denormals);
    ++*tensors;
  }
  return changed;
}

}  // namespace mixq::passes
