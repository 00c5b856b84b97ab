// The state of one ONNX import (values by ONNX name, the network being filled)
// and the view a mapping rule gets of one ONNX node.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frontend/onnx/onnx_value.h"
#include "mixq/network.h"
#include "onnx/onnx.pb.h"

namespace mixq::onnx_import {

// What an ONNX value name stands for during import: a tensor of the network,
// a value known at import time, or both (a constant already handed to the
// network as a Const node).
struct ImportedValue {
  ITensor* tensor = nullptr;
  std::shared_ptr<const FoldValue> constant;
};

class Importer {
 public:
  Importer(INetwork* network, std::string base_dir) : network_(network), base_dir_(std::move(base_dir)) {}

  INetwork* network() const { return network_; }
  const std::string& base_dir() const { return base_dir_; }
  ImportedValue* Find(const std::string& name);
  void Define(const std::string& name, ImportedValue value) { values_[name] = std::move(value); }
  // The value as a network tensor; a constant becomes a Const node (once).
  Status TensorOf(const std::string& name, ITensor** out);
  // A fresh tensor / node name that no ONNX name uses.
  std::string UniqueName(const std::string& base);
  void ReserveName(const std::string& name) { used_names_[name] = 1; }

 private:
  INetwork* network_;
  std::string base_dir_;
  std::map<std::string, ImportedValue> values_;
  std::map<std::string, int> used_names_;
  std::map<std::string, int> next_suffix_;  // per base: the next "__k" to try
};

// One ONNX node as a mapping rule sees it. Messages returned by the accessors
// name the input / attribute; the driver prefixes the node.
class NodeContext {
 public:
  NodeContext(Importer* importer, const onnx::NodeProto& node, std::string node_name, int opset)
      : importer_(importer), node_(node), node_name_(std::move(node_name)), opset_(opset) {}

  const onnx::NodeProto& node() const { return node_; }
  const std::string& name() const { return node_name_; }
  const std::string& op_type() const { return node_.op_type(); }
  int opset() const { return opset_; }
  INetwork* network() const { return importer_->network(); }
  Importer* importer() const { return importer_; }

  // --- inputs
  int InputCount() const { return node_.input_size(); }
  bool HasInput(int i) const { return i < node_.input_size() && !node_.input(i).empty(); }
  // "" for an index past the listed inputs.
  std::string InputName(int i) const { return i >= 0 && i < node_.input_size() ? node_.input(i) : std::string(); }
  Status Tensor(int i, ITensor** out);
  // Null when the input is absent or only known at run time.
  const FoldValue* Constant(int i) const;
  // The known value of input i; an error when it is absent or not known.
  Status KnownInput(int i, const FoldValue** out) const;
  bool AllInputsKnown() const;
  // An error naming the first input that is only known at run time (for ops
  // that are folded only).
  Status RequireKnownInputs() const;
  // The input's elements, which must be known at import time (after folding).
  Status ConstInts(int i, const char* role, std::vector<int64_t>* out) const;
  Status ConstFloats(int i, const char* role, std::vector<float>* out) const;
  // Dims (-1 where only known at run time) and element type of an input.
  Status InputDims(int i, Dims* out);
  Status InputType(int i, DataType* out);
  Status InputRank(int i, int64_t* rank);

  // --- attributes (type-checked; a wrong type is an error naming the attribute)
  bool HasAttr(const std::string& name) const { return FindAttr(name) != nullptr; }
  Status AttrInt(const std::string& name, int64_t fallback, int64_t* out) const;
  Status AttrFloat(const std::string& name, float fallback, float* out) const;
  Status AttrString(const std::string& name, const std::string& fallback, std::string* out) const;
  Status AttrInts(const std::string& name, const std::vector<int64_t>& fallback, std::vector<int64_t>* out) const;
  Status AttrFloats(const std::string& name, const std::vector<float>& fallback, std::vector<float>* out) const;
  Status AttrTensor(const std::string& name, FoldValue* out) const;
  // Attributes the rule ignores must hold one of the given values (or be absent).
  Status ExpectAttrInt(const std::string& name, int64_t allowed, const char* why) const;

  // --- outputs
  int OutputCount() const { return node_.output_size(); }
  bool HasOutput(int i) const { return i < node_.output_size() && !node_.output(i).empty(); }
  // Only the first `n` outputs are produced: an error if a later one is used.
  Status ExpectOutputsAtMost(int n) const;
  // Names the node after the ONNX node and binds its outputs to the ONNX outputs.
  Status Bind(INode* node);
  Status SetOutput(int i, ITensor* tensor);
  Status SetConstOutput(int i, FoldValue value);
  // A node just added (null on failure: then the network's last status).
  template <typename T>
  Status Added(T* node) const {
    if (node) return Status::OK();
    return network()->GetLastStatus();
  }
  // A name for a helper node / tensor the rule adds beside the main one.
  std::string HelperName(const std::string& suffix) { return importer_->UniqueName(node_name_ + "/" + suffix); }
  Status NameHelper(INode* node, const std::string& suffix);

 private:
  const onnx::AttributeProto* FindAttr(const std::string& name) const;
  Status AttrOfType(const std::string& name, int type, const onnx::AttributeProto** out) const;

  Importer* importer_;
  const onnx::NodeProto& node_;
  std::string node_name_;
  int opset_;
};

}  // namespace mixq::onnx_import
