#include "passes/node_precision.h"

#include "ops/op_schema.h"
#include "util/status_util.h"

namespace mixq::passes {

namespace {

bool IsRealFloat(DataType t) {
  return t == DataType::FLOAT32 || t == DataType::FLOAT16 || t == DataType::BFLOAT16;
}

}  // namespace

bool IsNodePrecisionName(const std::string& name) {
  return name == "qint8" || name == "qint16" || name == "float16" || name == "float32";
}

Status ApplyNodePrecision(const BuildOptions& options, ir::Graph* graph) {
  std::string unknown;
  for (const auto& [name, precision] : options.node_precision) {
    const ir::Node* found = graph->FindNode(name);
    if (!found) {
      unknown += (unknown.empty() ? "" : ", ") + name;
      continue;
    }
    ir::Node& node = *graph->node(found->id);
    node.input_precision.clear();
    node.output_type.clear();
    if (precision == "qint8" || precision == "qint16") {
      const DataType q = precision == "qint8" ? DataType::QINT8 : DataType::QINT16;
      const auto& traits = ops::GetSchema(node.op).quant;
      for (int i : traits.quantizable_inputs)
        if (static_cast<size_t>(i) < node.inputs.size() && node.inputs[static_cast<size_t>(i)] >= 0)
          node.input_precision[static_cast<size_t>(i)] = q;
      continue;
    }
    const DataType f = precision == "float16" ? DataType::FLOAT16 : DataType::FLOAT32;
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (node.inputs[i] >= 0 && IsRealFloat(graph->value(node.inputs[i])->dtype)) node.input_precision[i] = f;
    for (size_t o = 0; o < node.outputs.size(); ++o)
      if (IsRealFloat(graph->value(node.outputs[o])->dtype)) node.output_type[o] = f;
  }
  if (!unknown.empty())
    return NotFound("precision_config.node_precision names nodes the network does not have: ", unknown);
  return Status::OK();
}

}  // namespace mixq::passes
