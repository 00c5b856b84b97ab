// Weights are quantized once, at build time, and stored quantized.
#include "ops/op_schema.h"
#include "passes/int32_bias.h"
#include "passes/precision_planner.h"
#include "quant/quant_math.h"
#include "util/status_util.h"

namespace mixq::passes {

namespace {

// Replaces input `i` of node `n` by a new constant named after `source` holding `buffer`.
void RebindConstant(ir::Graph* graph, int n, size_t i, const ir::Value& source, DataType stored,
                    std::shared_ptr<ir::Buffer> buffer) {
  const std::string name = graph->UniqueName(StrCat(source.name, "_", DataTypeName(stored)));
  const ir::Shape shape = source.shape;
  ir::Node* constant = graph->AddNode(OpKind::kConstant, name, {}, 1);
  constant->attrs.Set("dtype", std::string(DataTypeName(stored)));
  constant->attrs.Set("shape", shape);
  constant->constant = std::move(buffer);
  ir::Value* out = graph->value(constant->outputs[0]);
  graph->RenameValue(out->id, name);
  out->dtype = stored;
  out->shape = shape;
  graph->node(n)->inputs[i] = out->id;
}

// A bias in the accumulator's scale; Gemm's alpha and beta are folded in.
Status QuantizeBias(ir::Graph* graph, int n, size_t i) {
  const ir::Node& node = *graph->node(n);
  const ir::Value& v = *graph->value(node.inputs[i]);
  const bool gemm = ops::GetSchema(node.op).quant.gemm_alpha_beta;
  const float alpha = gemm ? node.attrs.Float("alpha", 1.0f) : 1.0f;
  const float beta = gemm ? node.attrs.Float("beta", 1.0f) : 1.0f;
  if (gemm && alpha == 0.0f) return InvalidArgument("INT32 bias '", v.name, "' of a Gemm with alpha = 0");
  const int64_t count = ir::ElementCount(v.shape);
  auto buffer = std::make_shared<ir::Buffer>(static_cast<size_t>(count) * sizeof(int32_t));
  MIXQ_RETURN_IF_ERROR(ir::CheckAllocated(*buffer, "INT32 bias '" + v.name + "'"));
  const float* data = static_cast<const float*>(graph->node(v.producer)->constant->data());
  QuantizeInt32Bias(data, *node.input_quant[i], alpha, beta, count, static_cast<int32_t*>(buffer->mutable_data()));
  const ir::Value source = v;
  RebindConstant(graph, n, i, source, DataType::INT32, std::move(buffer));
  return Status::OK();
}

}  // namespace

Status QuantizeWeights(ir::Graph* graph) {
  const size_t node_count = graph->node_count();
  for (size_t n = 0; n < node_count; ++n) {
    for (size_t i = 0; i < graph->node(static_cast<int>(n))->inputs.size(); ++i) {
      ir::Node* node = graph->node(static_cast<int>(n));
      if (i >= node->input_quant.size() || !node->input_quant[i] || node->inputs[i] < 0) continue;
      const ir::Value& v = *graph->value(node->inputs[i]);
      if (v.producer < 0 || graph->node(v.producer)->op != OpKind::kConstant || v.dtype != DataType::FLOAT32) continue;
      const ir::QuantBinding& b = *node->input_quant[i];
      if (b.bits == 32) {
        MIXQ_RETURN_IF_ERROR(QuantizeBias(graph, static_cast<int>(n), i));
        continue;
      }
      quant::QuantParams params;
      params.bits = b.bits;
      params.symmetric = b.symmetric;
      params.axis = b.axis < 0 ? quant::kPerTensor : b.axis;
      params.scales = b.scales;
      params.zero_points = b.zero_points;
      const DataType stored = b.bits == 8 ? DataType::INT8 : DataType::INT16;
      const int64_t count = ir::ElementCount(v.shape);
      auto buffer = std::make_shared<ir::Buffer>(static_cast<size_t>(count) * DataTypeSize(stored));
      MIXQ_RETURN_IF_ERROR(ir::CheckAllocated(*buffer, "quantized weights '" + v.name + "'"));
      const float* data = static_cast<const float*>(graph->node(v.producer)->constant->data());
      MIXQ_RETURN_IF_ERROR(WithContext(quant::QuantizeTensor(data, v.shape, params, buffer->mutable_data()),
                                       "quantizing weights '" + v.name + "'"));
      const ir::Value source = v;
      RebindConstant(graph, static_cast<int>(n), i, source, stored, std::move(buffer));
    }
  }
  return Status::OK();
}

}  // namespace mixq::passes
