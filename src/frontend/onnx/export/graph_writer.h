// Appends nodes and initializers to an ONNX GraphProto with unique names.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "mixq/types.h"
#include "onnx/onnx.pb.h"

namespace mixq::onnx_export {

// The ONNX TensorProto element type of a mixq data type (0 if none).
int32_t OnnxElementType(DataType type);

class GraphWriter {
 public:
  explicit GraphWriter(onnx::GraphProto* graph) : graph_(graph) {}

  // A name not used yet, derived from `base`.
  std::string Unique(const std::string& base);
  // Reserves `name` exactly (graph inputs / outputs keep their names).
  void Reserve(const std::string& name) { used_.insert(name); }

  std::string AddInitializer(const std::string& base, DataType type, const std::vector<int64_t>& dims,
                             const void* data);
  std::string AddInt64s(const std::string& base, const std::vector<int64_t>& values);
  std::string AddFloatScalar(const std::string& base, float value);

  onnx::NodeProto* AddNode(const std::string& op_type, const std::vector<std::string>& inputs,
                           const std::vector<std::string>& outputs);
  // One output with a fresh name derived from `base`; returns that name.
  std::string AddNode1(const std::string& op_type, const std::vector<std::string>& inputs, const std::string& base,
                       onnx::NodeProto** node = nullptr);

  static void SetAttr(onnx::NodeProto* node, const std::string& name, int64_t value);
  static void SetAttr(onnx::NodeProto* node, const std::string& name, float value);
  static void SetAttr(onnx::NodeProto* node, const std::string& name, const std::string& value);
  static void SetAttr(onnx::NodeProto* node, const std::string& name, const std::vector<int64_t>& values);

  onnx::GraphProto* graph() { return graph_; }

 private:
  onnx::GraphProto* graph_;
  std::set<std::string> used_;
  int64_t node_count_ = 0;
};

}  // namespace mixq::onnx_export
