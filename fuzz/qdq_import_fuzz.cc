// libFuzzer target for the QDQ importer (QAT models, frontend/onnx/qdq_import):
// the fuzz input does not replace the ONNX bytes (onnx_parser_fuzz does that)
// but fills in a fixed QDQ graph, so every run reaches the QDQ rules:
//
//   x -> QuantizeLinear(sx, zx) -> DequantizeLinear(sx', zx') -> Conv(DQ(wq, sw, zw), bias)
//     -> QuantizeLinear(sy, zy) -> DequantizeLinear(sy', zy') -> y
//
// Scales are arbitrary float bits (NaN, inf, 0, denormals, negative), zero
// points int8 or uint8 (possibly mismatched), weights per-tensor or per-axis
// with any axis, shapes small. Whatever the values, parsing, building and one
// run must give a Status, never a crash or a sanitizer report.
//
// Seed corpus: fuzz/corpus/qdq_import/ (committed; any bytes work as seeds).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mixq/mixq.h"
#include "mixq/parser.h"
#include "onnx/onnx.pb.h"

namespace {

using onnx::TensorProto;

void AddInit(onnx::GraphProto* g, const std::string& name, int type, const std::vector<int64_t>& dims,
             const std::string& raw) {
  TensorProto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(raw);
}

onnx::NodeProto* AddNode(onnx::GraphProto* g, const std::string& op, const std::vector<std::string>& in,
                         const std::string& out) {
  onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(out + "_node");
  for (const auto& i : in) n->add_input(i);
  n->add_output(out);
  return n;
}

// `count` values of `width` bytes each from the fuzzer (zero-filled when it runs dry).
std::string Raw(FuzzedDataProvider& fdp, size_t count, size_t width) {
  std::string raw = fdp.ConsumeBytesAsString(count * width);
  raw.resize(count * width, '\0');
  return raw;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const int64_t c = fdp.ConsumeIntegralInRange<int64_t>(1, 4), k = fdp.ConsumeIntegralInRange<int64_t>(1, 4);
  const int64_t h = fdp.ConsumeIntegralInRange<int64_t>(1, 6), w = fdp.ConsumeIntegralInRange<int64_t>(1, 6);
  const int64_t kernel = fdp.ConsumeIntegralInRange<int64_t>(1, 3);
  const int act_type = fdp.ConsumeBool() ? TensorProto::INT8 : TensorProto::UINT8;
  const int act_type2 = fdp.ConsumeIntegralInRange(0, 7) == 0 ? TensorProto::INT16 : act_type;
  const bool per_axis = fdp.ConsumeBool();
  const int64_t axis = fdp.ConsumeIntegralInRange<int64_t>(-4, 4);
  const int64_t scales = per_axis ? (fdp.ConsumeBool() ? k : fdp.ConsumeIntegralInRange<int64_t>(1, 5)) : 1;

  onnx::ModelProto model;
  model.set_ir_version(8);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(fdp.ConsumeBool() ? 13 : 19);
  onnx::GraphProto* g = model.mutable_graph();
  auto* x = g->add_input();
  x->set_name("x");
  auto* tt = x->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(TensorProto::FLOAT);
  for (int64_t d : {int64_t{1}, c, h, w}) tt->mutable_shape()->add_dim()->set_dim_value(d);
  g->add_output()->set_name("y");

  AddInit(g, "sx", TensorProto::FLOAT, {}, Raw(fdp, 1, 4));
  AddInit(g, "zx", act_type, {}, Raw(fdp, 1, 1));
  AddInit(g, "sx2", TensorProto::FLOAT, {}, fdp.ConsumeBool() ? g->initializer(0).raw_data() : Raw(fdp, 1, 4));
  AddInit(g, "zx2", act_type2, {}, Raw(fdp, 1, act_type2 == TensorProto::INT16 ? 2 : 1));
  AddInit(g, "wq", TensorProto::INT8, {k, c, kernel, kernel},
          Raw(fdp, static_cast<size_t>(k * c * kernel * kernel), 1));
  std::vector<int64_t> sdims = per_axis ? std::vector<int64_t>{scales} : std::vector<int64_t>{};
  AddInit(g, "sw", TensorProto::FLOAT, sdims, Raw(fdp, static_cast<size_t>(scales), 4));
  AddInit(g, "zw", TensorProto::INT8, sdims, Raw(fdp, static_cast<size_t>(scales), 1));
  AddInit(g, "bias", TensorProto::FLOAT, {k}, Raw(fdp, static_cast<size_t>(k), 4));
  AddInit(g, "sy", TensorProto::FLOAT, {}, Raw(fdp, 1, 4));
  AddInit(g, "zy", act_type, {}, Raw(fdp, 1, 1));

  AddNode(g, "QuantizeLinear", {"x", "sx", "zx"}, "xq");
  AddNode(g, "DequantizeLinear", {"xq", "sx2", "zx2"}, "xd");
  auto* wd = AddNode(g, "DequantizeLinear", {"wq", "sw", "zw"}, "wd");
  if (per_axis) {
    auto* a = wd->add_attribute();
    a->set_name("axis");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(axis);
  }
  auto* conv = AddNode(g, "Conv", {"xd", "wd", "bias"}, "conv");
  auto* pads = conv->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(fdp.ConsumeIntegralInRange<int64_t>(0, 1));
  AddNode(g, "QuantizeLinear", {"conv", "sy", "zy"}, "yq");
  AddNode(g, "DequantizeLinear", {"yq", "sy", "zy"}, "y");

  const std::string bytes = model.SerializeAsString();
  auto network = mixq::CreateINetwork();
  auto parser = mixq::CreateIParser(mixq::ModelKind::kOnnx);
  if (!parser->ParseFromMemory(network.get(), bytes.data(), bytes.size()).ok()) return 0;
  auto config = mixq::CreateIBuilderConfig();
  const char* modes[] = {"force_float32", "qint8_mixed_float32", "qint16_mixed_float16"};
  const std::string mode = modes[fdp.ConsumeIntegralInRange(0, 2)];
  if (!config->ParseFromString(R"({"precision_config": {"precision_mode": ")" + mode + "\"}}").ok()) return 0;
  auto builder = mixq::CreateIBuilder();
  auto built = builder->BuildModel("qdq", network.get(), config.get());
  if (!built) return 0;
  auto engine = built->CreateIEngine();
  if (!engine) return 0;
  auto context = engine->CreateIContext();
  std::vector<std::unique_ptr<mixq::IRTTensor>> inputs, outputs;
  if (!context->CreateInputTensors(&inputs).ok() || !context->CreateOutputTensors(&outputs).ok()) return 0;
  std::vector<float> image(static_cast<size_t>(c * h * w));
  for (size_t i = 0; i < image.size(); ++i) image[i] = fdp.ConsumeFloatingPoint<float>();
  if (!inputs[0]->SetDimensions(mixq::Dims({1, c, h, w})).ok()) return 0;
  if (!inputs[0]->SetData(image.data(), image.size() * sizeof(float)).ok()) return 0;
  (void)context->Enqueue(inputs, outputs);
  return 0;
}
