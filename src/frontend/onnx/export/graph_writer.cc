#include "frontend/onnx/export/graph_writer.h"

namespace mixq::onnx_export {

int32_t OnnxElementType(DataType type) {
  switch (type) {
    case DataType::FLOAT32:
      return onnx::TensorProto::FLOAT;
    case DataType::FLOAT16:
      return onnx::TensorProto::FLOAT16;
    case DataType::BFLOAT16:
      return onnx::TensorProto::BFLOAT16;
    case DataType::INT8:
      return onnx::TensorProto::INT8;
    case DataType::INT16:
      return onnx::TensorProto::INT16;
    case DataType::INT32:
      return onnx::TensorProto::INT32;
    case DataType::INT64:
      return onnx::TensorProto::INT64;
    case DataType::UINT8:
      return onnx::TensorProto::UINT8;
    case DataType::BOOL:
      return onnx::TensorProto::BOOL;
    default:
      return 0;
  }
}

std::string GraphWriter::Unique(const std::string& base) {
  std::string name = base.empty() ? "t" : base;
  for (int64_t k = 1; used_.count(name); ++k) name = base + "_" + std::to_string(k);
  used_.insert(name);
  return name;
}

std::string GraphWriter::AddInitializer(const std::string& base, DataType type, const std::vector<int64_t>& dims,
                                        const void* data) {
  onnx::TensorProto* t = graph_->add_initializer();
  const std::string name = Unique(base);
  t->set_name(name);
  t->set_data_type(OnnxElementType(type));
  int64_t count = 1;
  for (int64_t d : dims) {
    t->add_dims(d);
    count *= d;
  }
  t->set_raw_data(data, static_cast<size_t>(count) * DataTypeSize(type));
  return name;
}

std::string GraphWriter::AddInt64s(const std::string& base, const std::vector<int64_t>& values) {
  return AddInitializer(base, DataType::INT64, {static_cast<int64_t>(values.size())}, values.data());
}

std::string GraphWriter::AddFloatScalar(const std::string& base, float value) {
  return AddInitializer(base, DataType::FLOAT32, {}, &value);
}

onnx::NodeProto* GraphWriter::AddNode(const std::string& op_type, const std::vector<std::string>& inputs,
                                      const std::vector<std::string>& outputs) {
  onnx::NodeProto* node = graph_->add_node();
  node->set_op_type(op_type);
  node->set_name(Unique(op_type + "_" + std::to_string(node_count_++)));
  for (const auto& i : inputs) node->add_input(i);
  for (const auto& o : outputs) node->add_output(o);
  return node;
}

std::string GraphWriter::AddNode1(const std::string& op_type, const std::vector<std::string>& inputs,
                                  const std::string& base, onnx::NodeProto** node) {
  const std::string out = Unique(base);
  onnx::NodeProto* n = AddNode(op_type, inputs, {out});
  if (node) *node = n;
  return out;
}

void GraphWriter::SetAttr(onnx::NodeProto* node, const std::string& name, int64_t value) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

void GraphWriter::SetAttr(onnx::NodeProto* node, const std::string& name, float value) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

void GraphWriter::SetAttr(onnx::NodeProto* node, const std::string& name, const std::string& value) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(value);
}

void GraphWriter::SetAttr(onnx::NodeProto* node, const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

}  // namespace mixq::onnx_export
