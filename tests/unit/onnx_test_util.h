// Builds small ONNX models in C++ (ModelProto from the generated ONNX schema)
// and runs them through the public API, for the ONNX importer tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "mixq/mixq.h"
#include "mixq/parser.h"
#include "onnx/onnx.pb.h"

namespace mixq::testing {

class OnnxBuilder {
 public:
  explicit OnnxBuilder(int opset = 17) {
    model_.set_ir_version(8);
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
  }
  onnx::ModelProto& model() { return model_; }
  onnx::GraphProto& graph() { return *model_.mutable_graph(); }

  // dims: -1 becomes a symbolic dim ("N", "N1", ...).
  OnnxBuilder& Input(const std::string& name, const std::vector<int64_t>& dims,
                     int elem_type = onnx::TensorProto::FLOAT) {
    auto* in = graph().add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    auto* shape = tt->mutable_shape();
    for (size_t i = 0; i < dims.size(); ++i) {
      auto* d = shape->add_dim();
      if (dims[i] < 0)
        d->set_dim_param(std::string("N").append(i == 0 ? "" : std::to_string(i)));
      else
        d->set_dim_value(dims[i]);
    }
    return *this;
  }
  OnnxBuilder& Output(const std::string& name) {
    graph().add_output()->set_name(name);
    return *this;
  }
  onnx::TensorProto* InitFloat(const std::string& name, const std::vector<int64_t>& dims,
                               const std::vector<float>& values) {
    auto* t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
    return t;
  }
  onnx::TensorProto* InitInt64(const std::string& name, const std::vector<int64_t>& dims,
                               const std::vector<int64_t>& values) {
    auto* t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    for (int64_t d : dims) t->add_dims(d);
    for (int64_t v : values) t->add_int64_data(v);
    return t;
  }
  onnx::NodeProto* Node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "") {
    auto* n = graph().add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? std::string(op).append("_").append(std::to_string(graph().node_size())) : name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return n;
  }
  std::string Bytes() const { return model_.SerializeAsString(); }

 private:
  onnx::ModelProto model_;
};

inline void AttrInt(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
inline void AttrFloat(onnx::NodeProto* n, const std::string& name, float v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
inline void AttrString(onnx::NodeProto* n, const std::string& name, const std::string& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}
inline void AttrInts(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

inline Status ParseBytes(const std::string& bytes, INetwork* network, IParser* parser = nullptr) {
  std::unique_ptr<IParser> own;
  if (!parser) {
    own = CreateIParser(ModelKind::kOnnx);
    parser = own.get();
  }
  return parser->ParseFromMemory(network, bytes.data(), bytes.size());
}

struct RunResult {
  Status status;
  std::vector<Dims> dims;
  std::vector<std::vector<float>> outputs;
};

// Builds a float32 model from `network` and runs it once on FLOAT32 inputs.
inline RunResult RunFloat(INetwork* network, const std::vector<Dims>& dims,
                          const std::vector<std::vector<float>>& inputs) {
  RunResult r;
  auto builder = CreateIBuilder();
  auto model = builder->BuildModel("onnx_test", network, nullptr);
  if (!model) return RunResult{builder->GetLastStatus(), {}, {}};
  auto engine = model->CreateIEngine();
  if (!engine) return RunResult{model->GetLastStatus(), {}, {}};
  auto context = engine->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> in, out;
  r.status = context->CreateInputTensors(&in);
  if (!r.status.ok()) return r;
  r.status = context->CreateOutputTensors(&out);
  if (!r.status.ok()) return r;
  std::vector<std::vector<float>> data = inputs;
  for (size_t i = 0; i < in.size() && i < data.size(); ++i) {
    r.status = in[i]->SetDimensions(dims[i]);
    if (!r.status.ok()) return r;
    r.status = in[i]->SetData(data[i].data(), data[i].size() * sizeof(float));
    if (!r.status.ok()) return r;
  }
  r.status = context->Enqueue(in, out);
  if (!r.status.ok()) return r;
  for (auto& t : out) {
    r.dims.push_back(t->GetDimensions());
    const float* p = static_cast<const float*>(t->GetData());
    r.outputs.emplace_back(p, p + t->GetDimensions().GetElementCount());
  }
  return r;
}

}  // namespace mixq::testing
