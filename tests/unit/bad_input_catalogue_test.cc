// The bad-input catalogue (issue 14, item 4), C++ half: one table of inputs a
// user may get wrong through the C++ API and in files, each with the Status
// code it must give and words of the message that name the culprit. The CLI
// half is tests/python/test_bad_inputs_cli.py; docs/reliability.md counts both.
// Under the sanitizer build (scripts/build_sanitize) every case also runs
// under AddressSanitizer / LeakSanitizer / UBSan.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cfloat>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../../examples/random_images.h"
#include "../../examples/small_resnet.h"
#include "calib_test_util.h"
#include "format/file_layout.h"
#include "mixq/mixq.h"
#include "mixq/parser.h"
#include "onnx_test_util.h"
#include "util/npy.h"
#include "util/status_util.h"

namespace mixq {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Case {
  const char* name;
  std::function<Status()> run;
  StatusCode code;
  std::vector<std::string> fragments;  // each must appear in the message
};

// --- shared fixtures

const IModel& FloatModel() {
  static std::unique_ptr<IModel> model = [] {
    auto network = CreateINetwork();
    EXPECT_TRUE(examples::BuildSmallResNet(network.get()).ok());
    auto builder = CreateIBuilder();
    auto config = CreateIBuilderConfig();
    return builder->BuildModel("catalogue", network.get(), config.get());
  }();
  return *model;
}

const fs::path& Scratch() {
  static const fs::path dir = [] {
    std::string pattern = (fs::temp_directory_path() / "mixq_catalogue_XXXXXX").string();
    return fs::path(mkdtemp(pattern.data()));
  }();
  return dir;
}

std::string WriteScratch(const std::string& name, const std::string& bytes) {
  const fs::path path = Scratch() / name;
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

// Enqueue on the float small ResNet ([-1,16,16,3] -> [N,10]) after `setup`
// has had its way with the tensors.
Status Enqueue(const std::function<void(std::vector<std::unique_ptr<IRTTensor>>&,
                                        std::vector<std::unique_ptr<IRTTensor>>&)>& setup) {
  static std::vector<float> image(2 * 16 * 16 * 3, 0.5f);
  auto context = FloatModel().CreateIEngine()->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  MIXQ_RETURN_IF_ERROR(context->CreateInputTensors(&inputs));
  MIXQ_RETURN_IF_ERROR(context->CreateOutputTensors(&outputs));
  MIXQ_RETURN_IF_ERROR(inputs[0]->SetDimensions(Dims({1, 16, 16, 3})));
  MIXQ_RETURN_IF_ERROR(inputs[0]->SetData(image.data(), 16 * 16 * 3 * sizeof(float)));
  setup(inputs, outputs);
  return context->Enqueue(inputs, outputs);
}

Status Build(const std::function<void(INetwork*)>& make, const std::string& config_json = "") {
  auto network = CreateINetwork();
  make(network.get());
  auto config = CreateIBuilderConfig();
  if (!config_json.empty()) MIXQ_RETURN_IF_ERROR(config->ParseFromString(config_json));
  auto builder = CreateIBuilder();
  return builder->BuildModel("t", network.get(), config.get()) ? Status::OK() : builder->GetLastStatus();
}

// The network's last error after `add` (which must fail), e.g. a refused AddIConstNode.
Status NetworkError(const std::function<bool(INetwork*)>& add) {
  auto network = CreateINetwork();
  if (add(network.get())) return Status::OK();
  return network->GetLastStatus();
}

Status Config(const std::string& text) {
  return CreateIBuilderConfig()->ParseFromString(text);
}

Status ParseOnnx(const testing::OnnxBuilder& b, const std::string& file = "") {
  auto network = CreateINetwork();
  auto parser = CreateIParser(ModelKind::kOnnx);
  if (file.empty()) {
    const std::string bytes = b.Bytes();
    return parser->ParseFromMemory(network.get(), bytes.data(), bytes.size());
  }
  return parser->Parse(network.get(), WriteScratch(file, b.Bytes()));
}

// x[1,4] -> Relu -> y, with `edit` applied.
Status OnnxWith(const std::function<void(testing::OnnxBuilder&)>& edit, const std::string& file = "") {
  testing::OnnxBuilder b;
  b.Input("x", {1, 4});
  edit(b);
  return ParseOnnx(b, file);
}

Status ExternalData(const std::string& location) {
  return OnnxWith(
      [&](testing::OnnxBuilder& b) {
        auto* w = b.graph().add_initializer();
        w->set_name("w");
        w->set_data_type(onnx::TensorProto::FLOAT);
        w->add_dims(4);
        w->set_data_location(onnx::TensorProto::EXTERNAL);
        auto* entry = w->add_external_data();
        entry->set_key("location");
        entry->set_value(location);
        b.Node("Add", {"x", "w"}, {"y"});
        b.Output("y");
      },
      "onnx_external/model.onnx");
}

std::vector<uint8_t> FloatModelBytes() {
  std::vector<uint8_t> bytes;
  EXPECT_TRUE(FloatModel().SerializeToMemory(&bytes).ok());
  return bytes;
}

Status Deserialize(const std::vector<uint8_t>& bytes) {
  return CreateIModel()->DeserializeFromMemory(bytes.data(), bytes.size());
}

// The float model with its metadata edited behind a valid checksum.
Status DeserializeEdited(const std::function<void(json&)>& edit) {
  const std::vector<uint8_t> bytes = FloatModelBytes();
  format::FileSections sections;
  MIXQ_RETURN_IF_ERROR(format::OpenModelFile(bytes.data(), bytes.size(), &sections));
  json metadata = json::from_cbor(sections.metadata, sections.metadata + sections.metadata_size);
  std::vector<uint8_t> weights(sections.weights, sections.weights + sections.weights_size);
  edit(metadata);
  std::vector<uint8_t> out;
  const size_t offset = format::LayOutModelFile(json::to_cbor(metadata), weights.size(), &out);
  std::copy(weights.begin(), weights.end(), out.begin() + static_cast<std::ptrdiff_t>(offset));
  format::SealModelFile(&out);
  return Deserialize(out);
}

// Index of the first Constant node in the model file's metadata.
size_t FirstConstant(const json& m) {
  for (size_t i = 0; i < m["nodes"].size(); ++i)
    if (m["nodes"][i]["op"] == "Constant") return i;
  return 0;
}

Status Calibrate(std::vector<testing::VectorCalibData::Sample> samples, const std::string& mode = "qint8_mixed_float32",
                 std::vector<std::string>* warnings = nullptr) {
  auto network = CreateINetwork();
  MIXQ_RETURN_IF_ERROR(examples::BuildSmallResNet(network.get()));
  testing::VectorCalibData data(std::move(samples));
  auto calibrator = CreateICalibrator(&data);
  auto config = CreateIBuilderConfig();
  MIXQ_RETURN_IF_ERROR(config->ParseFromString(R"({"precision_config": {"precision_mode": ")" + mode + "\"}}"));
  MIXQ_RETURN_IF_ERROR(calibrator->Calibrate(network.get(), config.get()));
  if (warnings) *warnings = calibrator->GetWarnings();
  return Status::OK();
}

Status Npy(const std::string& bytes) {
  NpyArray array;
  return ParseNpy(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &array);
}

std::string NpyHeader(const std::string& dict) {
  std::string header = dict;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header;
}

std::vector<Case> Cases() {
  using Tensors = std::vector<std::unique_ptr<IRTTensor>>;
  const auto I = StatusCode::INVALID_ARGUMENT;
  std::vector<Case> c = {
      // --- run time: IContext::Enqueue and friends
      {"input of the wrong rank",
       [] { return Enqueue([](Tensors& in, Tensors&) {
              (void)in[0]->SetDimensions(Dims({16, 16, 3}));
            }); },
       I,
       {"input 'image'", "[16,16,3]", "expects [-1,16,16,3]"}},
      {"input with a wrong static dim",
       [] { return Enqueue([](Tensors& in, Tensors&) {
              (void)in[0]->SetDimensions(Dims({1, 17, 16, 3}));
            }); },
       I,
       {"input 'image'", "[1,17,16,3]"}},
      {"input dims set to a dynamic dim",
       [] {
         auto context = FloatModel().CreateIEngine()->CreateIContext();
         Tensors in;
         MIXQ_RETURN_IF_ERROR(context->CreateInputTensors(&in));
         return in[0]->SetDimensions(Dims({-1, 16, 16, 3}));
       },
       I,
       {"[-1,16,16,3]"}},
      {"input of the wrong dtype",
       [] {
         return Enqueue([](Tensors& in, Tensors&) {
           in[0] = CreateIRTTensor(DataType::INT8, "input0", Dims({1, 16, 16, 3}));
         });
       },
       I,
       {"input 'image'", "must be FLOAT32", "got INT8"}},
      {"input without data",
       [] {
         return Enqueue([](Tensors& in, Tensors&) {
           in[0] = CreateIRTTensor(DataType::FLOAT32, "input0", Dims({1, 16, 16, 3}));
         });
       },
       I,
       {"input 'image'", "has no data"}},
      {"input buffer smaller than its dims",
       [] {
         return Enqueue([](Tensors& in, Tensors&) {
           static float few[10];
           (void)in[0]->SetData(few, sizeof(few));
         });
       },
       I,
       {"input 'image'", "holds 40 bytes", "need 3072"}},
      {"null input tensor",
       [] { return Enqueue([](Tensors& in, Tensors&) { in[0].reset(); }); },
       I,
       {"input 0 ('image') is null"}},
      {"null output tensor",
       [] { return Enqueue([](Tensors&, Tensors& out) { out[0].reset(); }); },
       I,
       {"output 0", "is null"}},
      {"too many inputs",
       [] {
         return Enqueue(
             [](Tensors& in, Tensors&) { in.push_back(CreateIRTTensor(DataType::FLOAT32, "extra", Dims({1}))); });
       },
       I,
       {"the model has 1 inputs, got 2"}},
      {"no outputs given",
       [] { return Enqueue([](Tensors&, Tensors& out) { out.clear(); }); },
       I,
       {"the model has 1 outputs, got 0"}},
      {"output tensor of the wrong type",
       [] {
         return Enqueue([](Tensors&, Tensors& out) {
           out[0] = CreateIRTTensor(DataType::FLOAT16, "o", Dims({-1, 10}));
         });
       },
       I,
       {"is FLOAT16", "the model produces FLOAT32"}},
      {"InferOutputShape with two inputs for a one-input model",
       [] {
         std::vector<Dims> out;
         return FloatModel().CreateIEngine()->CreateIContext()->InferOutputShape({Dims({1, 16, 16, 3}), Dims({1})},
                                                                                 &out);
       },
       I,
       {"the model has 1 inputs, got 2"}},
      {"InferOutputShape into null",
       [] {
         return FloatModel().CreateIEngine()->CreateIContext()->InferOutputShape({Dims({1, 16, 16, 3})}, nullptr);
       },
       I,
       {"output_dims is null"}},
      {"activations over the context's memory budget",
       [] {
         ContextOptions options;
         options.max_activation_bytes = 4096;
         auto context = FloatModel().CreateIEngine()->CreateIContext(options);
         Tensors in, out;
         std::vector<float> image(16 * 16 * 3, 0.0f);
         (void)context->CreateInputTensors(&in);
         (void)context->CreateOutputTensors(&out);
         (void)in[0]->SetDimensions(Dims({1, 16, 16, 3}));
         (void)in[0]->SetData(image.data(), image.size() * sizeof(float));
         return context->Enqueue(in, out);
       },
       StatusCode::RESOURCE_EXHAUSTED,
       {"activation memory", "budget of 4096 bytes"}},

      // --- building a network through the API
      {"input of an unknown data type",
       [] {
         return NetworkError([](INetwork* n) { return n->AddIInput(static_cast<DataType>(99), Dims({1})) != nullptr; });
       },
       I,
       {"AddIInput", "unknown data type"}},
      {"input dim below -1",
       [] {
         return NetworkError([](INetwork* n) { return n->AddIInput(DataType::FLOAT32, Dims({1, -2})) != nullptr; });
       },
       I,
       {"AddIInput", "[1,-2]"}},
      {"constant with null data",
       [] {
         return NetworkError(
             [](INetwork* n) { return n->AddIConstNode(DataType::FLOAT32, Dims({4}), nullptr) != nullptr; });
       },
       I,
       {"AddIConstNode", "data is null"}},
      {"constant with a dynamic dim",
       [] {
         static float v[4];
         return NetworkError([](INetwork* n) {
           return n->AddIConstNode(DataType::FLOAT32, Dims({-1, 4}), v) != nullptr;
         });
       },
       I,
       {"AddIConstNode", "[-1,4]", "must all be known"}},
      {"constant claiming 1 TB",
       [] {
         static float v[4];
         return NetworkError(
             [](INetwork* n) { return n->AddIConstNode(DataType::FLOAT32, Dims({int64_t{1} << 39}), v) != nullptr; });
       },
       I,
       {"AddIConstNode", "[549755813888]", "1 TiB"}},
      {"network without outputs",
       [] { return Build([](INetwork* n) {
              n->AddIInput(DataType::FLOAT32, Dims({1, 4}));
            }); },
       StatusCode::FAILED_PRECONDITION,
       {"no outputs", "MarkOutput"}},
      {"input dims whose element count overflows",
       [] {
         return Build([](INetwork* n) {
           ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({int64_t{1} << 40, int64_t{1} << 40}));
           (void)n->MarkOutput(n->AddIActivationNode(x, ActivationType::RELU)->GetOutput(0));
         });
       },
       I,
       {"input0", "more elements than int64 can count"}},
      {"pads of INT64_MAX",
       [] {
         return Build([](INetwork* n) {
           ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 4}));
           (void)n->MarkOutput(
               n->AddIPadNode(x, {0, 0, 0, std::numeric_limits<int64_t>::max()}, PadMode::CONSTANT)->GetOutput(0));
         });
       },
       I,
       {"node 'Pad' (Pad)", "overflows int64"}},
      {"resize scale 1e30",
       [] {
         return Build([](INetwork* n) {
           ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 2, 2, 1}));
           (void)n->MarkOutput(n->AddIResizeNode(x, {1, 1e30f, 1, 1}, ResizeMode::NEAREST)->GetOutput(0));
         });
       },
       I,
       {"node 'Resize' (Resize)", "resizes axis 1"}},
      {"static int8 without ranges",
       [] {
         return Build([](INetwork* n) { (void)examples::BuildSmallResNet(n); },
                      R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})");
       },
       StatusCode::FAILED_PRECONDITION,
       {"have no range", "'image' (QINT8 input 0 of node 'Conv2D')"}},

      // --- builder config JSON
      {"config: unknown top-level key", [] { return Config(R"({"precision": {}})"); }, I, {"unknown key 'precision'"}},
      {"config: unknown precision_config key",
       [] { return Config(R"({"precision_config": {"mode": "x"}})"); },
       I,
       {"precision_config.mode"}},
      {"config: unknown precision mode",
       [] { return Config(R"({"precision_config": {"precision_mode": "int4"}})"); },
       I,
       {"precision_config.precision_mode", "'int4'"}},
      {"config: number where a string belongs",
       [] { return Config(R"({"precision_config": {"precision_mode": 8}})"); },
       I,
       {"precision_config.precision_mode", "must be a string"}},
      {"config: custom range with min > max",
       [] { return Config(R"({"precision_config": {"custom_ranges": {"t": [2, 1]}}})"); },
       I,
       {"custom_ranges.t", "min > max"}},
      {"config: custom range beyond float",
       [] { return Config(R"({"precision_config": {"custom_ranges": {"t": [-1e39, 1]}}})"); },
       I,
       {"custom_ranges.t", "outside the float range"}},
      {"config: -1e400",
       [] { return Config(R"({"precision_config": {"custom_ranges": {"t": [-1e400, 1]}}})"); },
       I,
       {"cannot represent"}},
      {"config: duplicate key",
       [] {
         return Config(
             R"({"precision_config": {"precision_mode": "force_float32", "precision_mode": "force_float16"}})");
       },
       I,
       {"'precision_mode' appears twice"}},
      {"config: not JSON", [] { return Config("{precision_config"); }, I, {"not valid JSON at byte"}},
      {"config: nested 100,000 deep",
       [] { return Config(std::string(100000, '[') + std::string(100000, ']')); },
       I,
       {"deeper than 64 levels"}},
      {"config: file missing",
       [] { return CreateIBuilderConfig()->ParseFromFile("/nonexistent/config.json"); },
       StatusCode::NOT_FOUND,
       {"/nonexistent/config.json"}},
      {"config: /dev/zero",
       [] { return CreateIBuilderConfig()->ParseFromFile("/dev/zero"); },
       I,
       {"'/dev/zero'", "limit of 67108864 bytes"}},

      // --- calibration
      {"calibration: empty sample set",
       [] { return Calibrate({}); },
       StatusCode::FAILED_PRECONDITION,
       {"gave no sample", "Next() ended at once"}},
      {"calibration: sample of the wrong shape",
       [] {
         return Calibrate({{Dims({1, 8, 8, 3}), std::vector<float>(192, 0.1f)}});
       },
       I,
       {"[1,8,8,3]"}},
      {"calibration: bad percentile",
       [] {
         return CreateICalibrator(std::vector<CalibDataInterface*>{})
             ->SetQuantizationAlgorithm(QuantizationAlgorithm::PERCENTILE, 0.0);
       },
       I,
       {"percentile 0 outside (0, 100]"}},
      {"calibration: negative histogram bins",
       [] { return CreateICalibrator(std::vector<CalibDataInterface*>{})->SetHistogramBins(-1); },
       I,
       {"SetHistogramBins: -1"}},

      // --- model files
      {"model file: empty", [] { return Deserialize({}); }, I, {"data is null"}},
      {"model file: truncated",
       [] {
         auto b = FloatModelBytes();
         b.resize(b.size() / 2);
         return Deserialize(b);
       },
       StatusCode::DATA_LOSS,
       {}},
      {"model file: one byte flipped",
       [] {
         auto b = FloatModelBytes();
         b[b.size() / 3] ^= 0x40;
         return Deserialize(b);
       },
       StatusCode::DATA_LOSS,
       {"checksum"}},
      {"model file: missing",
       [] { return CreateIModel()->DeserializeFromFile("/nonexistent/m.mixq"); },
       StatusCode::NOT_FOUND,
       {"model file '/nonexistent/m.mixq'"}},
      {"model file: a directory",
       [] { return CreateIModel()->DeserializeFromFile(Scratch().string()); },
       I,
       {"is a directory"}},
      {"model file: a constant claiming 1 TB",
       [] {
         return DeserializeEdited([](json& m) {
           m["nodes"][FirstConstant(m)]["attrs"]["shape"]["value"] = json::array({int64_t{1} << 38, 5});
         });
       },
       I,
       {"nodes[15].constant.size", "[274877906944,5]", "need more than the weights section holds"}},
      {"model file: output type QINT8",
       [] { return DeserializeEdited([](json& m) { m["nodes"].back()["output_compute"][0] = "QINT8"; }); },
       I,
       {"output_compute[0]", "QINT8"}},

      // --- ONNX
      {"onnx: a cycle",
       [] {
         return OnnxWith([](testing::OnnxBuilder& b) {
           b.Node("Relu", {"b"}, {"a"}, "ra");
           b.Node("Relu", {"a"}, {"b"}, "rb");
           b.Output("b");
         });
       },
       I,
       {"cycle"}},
      {"onnx: a dangling input",
       [] {
         return OnnxWith([](testing::OnnxBuilder& b) {
           b.Node("Add", {"x", "nowhere"}, {"y"}, "add");
           b.Output("y");
         });
       },
       I,
       {"'nowhere'"}},
      {"onnx: an unsupported op",
       [] {
         return OnnxWith([](testing::OnnxBuilder& b) {
           b.Node("Einsum", {"x"}, {"y"}, "ein");
           b.Output("y");
         });
       },
       StatusCode::UNIMPLEMENTED,
       {"Einsum"}},
      {"onnx: external data with '..'",
       [] { return ExternalData("../secret.bin"); },
       I,
       {"'../secret.bin'", "may not contain '..'"}},
      {"onnx: external data at an absolute path",
       [] { return ExternalData("/etc/passwd"); },
       I,
       {"'/etc/passwd'", "relative"}},
      {"onnx: not a protobuf",
       [] {
         auto n = CreateINetwork();
         std::string junk(100, '\xff');
         return CreateIParser(ModelKind::kOnnx)->ParseFromMemory(n.get(), junk.data(), junk.size());
       },
       StatusCode::DATA_LOSS,
       {}},

      // --- .npy
      {".npy: bad magic", [] { return Npy("NUMPY not really"); }, I, {"bad magic"}},
      {".npy: truncated payload",
       [] { return Npy(NpyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }") + "abc"); },
       StatusCode::DATA_LOSS,
       {"payload truncated", "3 bytes", "needs 16"}},
      {".npy: shape claiming 2^60 elements",
       [] { return Npy(NpyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824, 1073741824), }")); },
       I,
       {"too large"}},
  };
  return c;
}

TEST(BadInputCatalogue, EveryCaseGivesItsStatusAndNamesTheCulprit) {
  const std::vector<Case> cases = Cases();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Status s = c.run();
    EXPECT_EQ(s.code(), c.code) << c.name << ": " << s.ToString();
    for (const std::string& fragment : c.fragments)
      EXPECT_NE(s.message().find(fragment), std::string::npos)
          << c.name << ": no '" << fragment << "' in: " << s.message();
  }
  // docs/reliability.md states this count (plus the NaN / inf cases below and the CLI table).
  EXPECT_EQ(cases.size(), 56u);
}

}  // namespace
}  // namespace mixq
