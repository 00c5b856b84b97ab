// The one implementation of INode and its typed subinterfaces.
#pragma once

#include "api/network_impl.h"
#include "util/status_util.h"

namespace mixq::api {

template <typename Iface>
class NodeImpl : public Iface {
 public:
  NodeImpl(NetworkImpl* network, int node_id) : network_(network), id_(node_id) {}

  std::string GetOpType() const override { return ops::GetSchema(node().op).name; }
  std::string GetNodeName() const override { return node().name; }
  Status SetNodeName(const std::string& name) override {
    if (name.empty()) return InvalidArgument("node name must not be empty");
    const ir::Node* other = network_->graph().FindNode(name);
    if (other && other->id != id_) return InvalidArgument("a node named '", name, "' already exists");
    network_->mutable_graph().RenameNode(id_, name);
    return Status::OK();
  }
  int64_t GetInputCount() const override { return static_cast<int64_t>(node().inputs.size()); }
  int64_t GetOutputCount() const override { return static_cast<int64_t>(node().outputs.size()); }
  ITensor* GetInput(int64_t index) const override {
    if (index < 0 || index >= GetInputCount()) return nullptr;
    int id = node().inputs[static_cast<size_t>(index)];
    return id < 0 ? nullptr : network_->tensor(id);
  }
  ITensor* GetOutput(int64_t index) const override {
    if (index < 0 || index >= GetOutputCount()) return nullptr;
    return network_->tensor(node().outputs[static_cast<size_t>(index)]);
  }
  Status SetPrecision(size_t index, DataType precision) override {
    if (index >= node().inputs.size())
      return InvalidArgument(Label(), " has ", node().inputs.size(), " inputs; SetPrecision index ", index,
                             " is out of range");
    if (DataTypeSize(precision) == 0) return InvalidArgument(Label(), ": SetPrecision got an unknown data type");
    mutable_node().input_precision[index] = precision;
    return Status::OK();
  }
  Status SetOutputType(size_t index, DataType type) override {
    if (index >= node().outputs.size())
      return InvalidArgument(Label(), " has ", node().outputs.size(), " outputs; SetOutputType index ", index,
                             " is out of range");
    if (DataTypeSize(type) == 0) return InvalidArgument(Label(), ": SetOutputType got an unknown data type");
    mutable_node().output_type[index] = type;
    return Status::OK();
  }
  bool GetPrecision(size_t index, DataType* precision) const override {
    auto it = node().input_precision.find(index);
    if (it == node().input_precision.end()) return false;
    *precision = it->second;
    return true;
  }
  bool GetOutputType(size_t index, DataType* type) const override {
    auto it = node().output_type.find(index);
    if (it == node().output_type.end()) return false;
    *type = it->second;
    return true;
  }
  Status SetAttr(const std::string& name, int64_t value) override { return Set(name, value); }
  Status SetAttr(const std::string& name, float value) override { return Set(name, value); }
  Status SetAttr(const std::string& name, const std::string& value) override { return Set(name, value); }
  Status SetAttr(const std::string& name, const std::vector<int64_t>& value) override { return Set(name, value); }
  Status SetAttr(const std::string& name, const std::vector<float>& value) override { return Set(name, value); }
  using INode::SetAttr;

 private:
  const ir::Node& node() const { return *network_->graph().node(id_); }
  ir::Node& mutable_node() { return *network_->mutable_graph().node(id_); }
  std::string Label() const { return ir::NodeLabel(network_->graph(), node()); }

  Status Set(const std::string& name, ir::AttrValue value) {
    const ops::OpSchema& schema = ops::GetSchema(node().op);
    const ops::AttrSpec* spec = schema.FindAttr(name);
    if (!spec) {
      std::string known;
      for (const auto& a : schema.attrs) known += (known.empty() ? "" : ", ") + a.name;
      return InvalidArgument(Label(), " has no attribute '", name, "' (it has: ", known, ")");
    }
    if (ir::TypeOf(value) != ir::TypeOf(spec->default_value))
      return InvalidArgument(Label(), " attribute '", name, "' takes ",
                             ir::AttrTypeName(ir::TypeOf(spec->default_value)), ", got ",
                             ir::AttrTypeName(ir::TypeOf(value)));
    mutable_node().attrs.Set(name, std::move(value));
    return Status::OK();
  }

  NetworkImpl* network_;
  int id_;
};

}  // namespace mixq::api
