// Test helper: runs ONE quantizable operator through the public API in a
// quantized precision mode and writes its output, so that an independent
// NumPy implementation of SPEC §1 can check it bit for bit
// (tests/python/test_quantized_kernels.py).
//
//   mixq_quant_probe DIR      reads DIR/spec.json and the .npy files it names,
//                             writes DIR/y.npy
//
// spec.json: {"op": "Conv2D", "attrs": {...}, "config": {precision_config...},
//             "inputs": [{"file": "x.npy", "kind": "input", "range": [lo, hi]},
//                        {"file": "w.npy", "kind": "const",
//                         "qparams": {"bits": 8, "scales": [...], "zero_points": [...], "axis": 0}}, ...],
//             "precision": {"2": "INT32"}}
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mixq/mixq.h"
#include "util/npy.h"

namespace mixq {
namespace {

using nlohmann::json;

Status SetAttrFromJson(INode* node, const std::string& name, const json& value) {
  if (value.is_string()) return node->SetAttr(name, value.get<std::string>());
  if (value.is_number_integer()) return node->SetAttr(name, value.get<int64_t>());
  if (value.is_number_float()) return node->SetAttr(name, value.get<float>());
  if (value.is_array() && !value.empty() && value[0].is_number_float())
    return node->SetAttr(name, value.get<std::vector<float>>());
  if (value.is_array()) return node->SetAttr(name, value.get<std::vector<int64_t>>());
  return Status(StatusCode::INVALID_ARGUMENT, "attribute '" + name + "' has an unsupported JSON type");
}

INode* AddNode(INetwork* network, const std::string& op, const std::vector<ITensor*>& in) {
  ITensor* third = in.size() > 2 ? in[2] : nullptr;
  if (op == "Conv2D") return network->AddIConvNode(in[0], in[1], third);
  if (op == "ConvTranspose2D") return network->AddIConvTranspose2DNode(in[0], in[1], third);
  if (op == "FullyConnected") return network->AddIFullyConnectedNode(in[0], in[1], third);
  if (op == "MatMul") return network->AddIMatMulNode(in[0], in[1]);
  return nullptr;
}

Status Probe(const std::string& dir) {
  std::ifstream file(dir + "/spec.json");
  const json spec = json::parse(file, nullptr, /*allow_exceptions=*/false);
  if (spec.is_discarded()) return Status(StatusCode::INVALID_ARGUMENT, dir + "/spec.json is not valid JSON");
  auto network = CreateINetwork();
  std::vector<ITensor*> inputs;
  std::vector<NpyArray> arrays;
  std::vector<std::vector<float>> feeds;
  for (const auto& in : spec["inputs"]) {
    NpyArray array;
    Status s = ReadNpy(dir + "/" + in["file"].get<std::string>(), &array);
    if (!s.ok()) return s;
    if (array.dtype != DataType::FLOAT32) return Status(StatusCode::INVALID_ARGUMENT, "inputs must be float32");
    ITensor* tensor = nullptr;
    if (in["kind"] == "const") {
      tensor = network->AddIConstNode(DataType::FLOAT32, Dims(array.shape), array.bytes.data())->GetOutput(0);
    } else {
      tensor = network->AddIInput(DataType::FLOAT32, Dims(array.shape));
      if (in.contains("range")) {
        s = tensor->SetDynamicRange(Range{in["range"][0].get<float>(), in["range"][1].get<float>()}, true);
        if (!s.ok()) return s;
      }
      arrays.push_back(array);
    }
    if (in.contains("qparams")) {
      const json& q = in["qparams"];
      QuantizationParameters params{q["bits"].get<int>(), q["scales"].get<std::vector<float>>(),
                                    q["zero_points"].get<std::vector<int32_t>>(), q["axis"].get<int64_t>()};
      s = tensor->SetQuantizationParameters(params);
      if (!s.ok()) return s;
    }
    inputs.push_back(tensor);
  }
  INode* node = AddNode(network.get(), spec["op"].get<std::string>(), inputs);
  if (!node) return network->GetLastStatus();
  // Named copies: iterating items() of a temporary would dangle.
  const json attrs = spec.value("attrs", json::object());
  const json precisions = spec.value("precision", json::object());
  for (const auto& [name, value] : attrs.items()) {
    Status s = SetAttrFromJson(node, name, value);
    if (!s.ok()) return s;
  }
  for (const auto& [index, type] : precisions.items()) {
    DataType precision;
    if (!ParseDataType(type.get<std::string>(), &precision))
      return Status(StatusCode::INVALID_ARGUMENT, "unknown data type " + type.get<std::string>());
    Status s = node->SetPrecision(std::stoul(index), precision);
    if (!s.ok()) return s;
  }
  // "chain": more nodes after the first, each reading the previous output:
  // {"op": "Activation" | "MaxPool2D", "attrs": {...}} or {"op": "Conv2D",
  // "weights": "w2.npy", "bias": "b2.npy", "attrs": {...}, "range": [lo, hi]}
  // (the range of the tensor it reads).
  const json chain = spec.value("chain", json::array());
  for (const auto& link : chain) {
    ITensor* previous = node->GetOutput(0);
    const std::string op = link["op"].get<std::string>();
    if (link.contains("range")) {
      Status r = previous->SetDynamicRange(Range{link["range"][0].get<float>(), link["range"][1].get<float>()}, true);
      if (!r.ok()) return r;
    }
    if (op == "Activation") {
      node = network->AddIActivationNode(previous, link.value("type", std::string("relu")) == "relu6"
                                                      ? ActivationType::RELU6
                                                      : ActivationType::RELU);
    } else if (op == "MaxPool2D") {
      node = network->AddIMaxPool2DNode(previous, false);
    } else {
      std::vector<ITensor*> conv_in = {previous};
      for (const char* key : {"weights", "bias"}) {
        if (!link.contains(key)) continue;
        NpyArray w;
        Status r = ReadNpy(dir + "/" + link[key].get<std::string>(), &w);
        if (!r.ok()) return r;
        conv_in.push_back(network->AddIConstNode(DataType::FLOAT32, Dims(w.shape), w.bytes.data())->GetOutput(0));
      }
      node = AddNode(network.get(), op, conv_in);
    }
    if (!node) return network->GetLastStatus();
    const json link_attrs = link.value("attrs", json::object());
    for (const auto& [name, value] : link_attrs.items()) {
      Status r = SetAttrFromJson(node, name, value);
      if (!r.ok()) return r;
    }
  }
  Status s = network->MarkOutput(node->GetOutput(0));
  if (!s.ok()) return s;
  auto config = CreateIBuilderConfig();
  s = config->ParseFromString(json{{"precision_config", spec["config"]}}.dump());
  if (!s.ok()) return s;
  auto builder = CreateIBuilder();
  auto model = builder->BuildModel("probe", network.get(), config.get());
  if (!model) return builder->GetLastStatus();
  std::printf("%s", model->GetPrecisionReport().c_str());
  // Through the model file, as deployment would.
  std::vector<uint8_t> bytes;
  s = model->SerializeToMemory(&bytes);
  if (!s.ok()) return s;
  auto loaded = CreateIModel();
  s = loaded->DeserializeFromMemory(bytes.data(), bytes.size());
  if (!s.ok()) return s;
  auto engine = loaded->CreateIEngine();
  if (!engine) return loaded->GetLastStatus();
  auto context = engine->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> rt_in, rt_out;
  s = context->CreateInputTensors(&rt_in);
  if (!s.ok()) return s;
  s = context->CreateOutputTensors(&rt_out);
  if (!s.ok()) return s;
  for (size_t i = 0; i < rt_in.size(); ++i) {
    s = rt_in[i]->SetDimensions(Dims(arrays[i].shape));
    if (!s.ok()) return s;
    s = rt_in[i]->SetData(arrays[i].bytes.data(), arrays[i].bytes.size());
    if (!s.ok()) return s;
  }
  s = context->Enqueue(rt_in, rt_out);
  if (!s.ok()) return s;
  std::printf("%s%s\n", context->GetPrecisionReport().c_str(), context->GetExecutionPlan(false).c_str());
  return WriteNpy(dir + "/y.npy", rt_out[0]->GetDataType(), rt_out[0]->GetDimensions().GetDims(), rt_out[0]->GetData());
}

}  // namespace
}  // namespace mixq

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: mixq_quant_probe DIR\n");
    return 2;
  }
  mixq::Status s = mixq::Probe(argv[1]);
  if (!s.ok()) {
    std::fprintf(stderr, "mixq_quant_probe: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
