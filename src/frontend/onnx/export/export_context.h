// State of one export: the ONNX names of mixq values, and the Q/DQ, Cast and
// Transpose steps that present each node's inputs the way mixq computes them.
#pragma once

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "frontend/onnx/export/graph_writer.h"
#include "ir/graph.h"

namespace mixq::onnx_export {

class ExportContext {
 public:
  ExportContext(GraphWriter* writer, const ir::Graph& graph) : w_(writer), graph_(graph) {}

  // Registers the ONNX name of a value (graph inputs, node outputs).
  void SetName(int value_id, const std::string& name) { names_[value_id] = name; }

  // Starts exporting `node`, whose outputs must be written to `outputs`.
  void Begin(const ir::Node& node, std::vector<std::string> outputs);

  // The ONNX name holding input `i` as node `node_` consumes it (quantized and
  // dequantized, or rounded to float16, as planned), with its dims permuted by
  // `perm` when given (constants are permuted in place, others by a
  // Transpose). "" for an omitted optional input.
  Status Input(size_t i, std::string* name, const std::vector<int64_t>& perm = {});

  const ir::Node& node() const { return *node_; }
  // The node's attributes with the schema's defaults filled in.
  const ir::AttrMap& attrs() const { return attrs_; }
  const ir::Graph& graph() const { return graph_; }
  GraphWriter& w() { return *w_; }
  const ir::Shape& InShape(size_t i) const { return graph_.value(node_->inputs[i])->shape; }
  const ir::Shape& OutShape(size_t o) const { return graph_.value(node_->outputs[o])->shape; }
  bool HasInput(size_t i) const { return i < node_->inputs.size() && node_->inputs[i] >= 0; }
  const std::string& Out(size_t o) const { return outputs_[o]; }
  // A constant input's values (null when the input is not a constant).
  const void* ConstantData(size_t i) const;

  // Writes a Transpose of `from` into `to` (or a fresh name when `to` is "").
  std::string Transpose(const std::string& from, const std::vector<int64_t>& perm, const std::string& to = "");

 private:
  Status Materialize(size_t i, std::string* name);
  std::string ConstantInitializer(const ir::Value& v, const std::vector<int64_t>& perm, std::vector<int64_t>* dims);

  GraphWriter* w_;
  const ir::Graph& graph_;
  const ir::Node* node_ = nullptr;
  std::vector<std::string> outputs_;
  ir::AttrMap attrs_;
  std::map<int, std::string> names_;
  // (value id, how it is consumed, permutation) -> ONNX name, so a tensor read
  // by several nodes in the same way is quantized / cast / transposed once.
  std::map<std::tuple<int, std::string, std::vector<int64_t>>, std::string> cache_;
};

// Permutation of the dims of a rank-`rank` tensor that swaps the last two.
std::vector<int64_t> SwapLastTwo(size_t rank);

}  // namespace mixq::onnx_export
