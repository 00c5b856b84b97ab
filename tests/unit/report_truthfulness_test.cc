// The precision report says what runs (issue: "a truthful report"). For the
// small ResNet and the PP-OCR det and rec models, in every precision mode,
// with fast kernels and with force_reference, an instrumented run records
// the name each kernel object gives itself for every step it executes, and
// the plan's precision report must name the same kernels in the same order.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "../../examples/random_images.h"
#include "../../examples/small_resnet.h"
#include "api_test_util.h"
#include "runtime/engine.h"

namespace mixq::testing {
namespace {

using nlohmann::json;

const char* const kModes[] = {"force_float32",       "force_float16",        "qint8_mixed_float32",
                              "qint8_mixed_float16", "qint16_mixed_float32", "qint16_mixed_float16"};

std::string ModelDir() {
  if (const char* dir = std::getenv("MIXQ_MODEL_DIR")) return dir;
  return std::string(MIXQ_SOURCE_DIR) + "/.cache/models";
}

struct Case {
  std::string name;
  std::string onnx;  // empty: the small ResNet
  Dims dims;
};

std::unique_ptr<INetwork> MakeNetwork(const Case& c) {
  auto network = CreateINetwork();
  if (c.onnx.empty()) {
    EXPECT_TRUE(examples::BuildSmallResNet(network.get()).ok());
    return network;
  }
  auto parser = CreateIParser(ModelKind::kOnnx);
  const Status s = parser->Parse(network.get(), c.onnx);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return network;
}

// Report rows of nodes that have their own step, in plan order, against the
// trace; rows of fused nodes name the step they are fused into.
void ExpectReportMatchesTrace(const json& report, const std::vector<std::string>& trace, bool reference,
                              const std::string& where) {
  std::vector<std::string> reported;
  std::map<std::string, std::string> kernel_of;
  for (const auto& row : report["nodes"]) {
    kernel_of[row["node"]] = row["kernel"];
    if (row["fused_into"] == "") reported.push_back(row["kernel"]);
  }
  ASSERT_EQ(reported, trace) << where;
  for (const auto& row : report["nodes"]) {
    if (row["fused_into"] == "") continue;
    EXPECT_FALSE(reference) << where << ": fusion under force_reference: " << row["node"];
    EXPECT_EQ(row["kernel"], kernel_of[row["fused_into"]]) << where;
  }
  if (reference) {
    for (const auto& k : trace) EXPECT_TRUE(k == "reference" || k == "reference-quantized") << where << ": " << k;
  }
}

void CheckModel(const Case& c) {
  for (const char* mode : kModes) {
    auto network = MakeNetwork(c);
    auto config = CreateIBuilderConfig();
    ASSERT_TRUE(
        config->ParseFromString(std::string(R"({"precision_config": {"precision_mode": ")") + mode + "\"}}").ok());
    if (std::string(mode).starts_with("qint")) {
      examples::RandomImages images(c.dims, 2, 3);
      auto calibrator = CreateICalibrator(&images);
      const Status s = calibrator->Calibrate(network.get(), config.get());
      ASSERT_TRUE(s.ok()) << c.name << " " << mode << ": " << s.ToString();
    }
    auto builder = CreateIBuilder();
    auto model = builder->BuildModel(c.name, network.get(), config.get());
    ASSERT_NE(model, nullptr) << c.name << " " << mode << ": " << builder->GetLastStatus().ToString();
    auto engine = model->CreateIEngine();
    ASSERT_NE(engine, nullptr);
    for (const bool reference : {false, true}) {
      const std::string where = c.name + " " + mode + (reference ? " force_reference" : "");
      ContextOptions options;
      options.force_reference = reference;
      auto context = engine->CreateIContext(options);
      auto* impl = dynamic_cast<runtime::ContextImpl*>(context.get());
      ASSERT_NE(impl, nullptr);
      impl->EnableKernelTrace(true);
      auto input = RandomFloats(static_cast<size_t>(c.dims.GetElementCount()), 17);
      std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
      ASSERT_TRUE(context->CreateInputTensors(&inputs).ok());
      ASSERT_TRUE(context->CreateOutputTensors(&outputs).ok());
      ASSERT_TRUE(inputs[0]->SetDimensions(c.dims).ok());
      ASSERT_TRUE(inputs[0]->SetData(input.data(), input.size() * sizeof(float)).ok());
      const Status s = context->Enqueue(inputs, outputs);
      ASSERT_TRUE(s.ok()) << where << ": " << s.ToString();
      const json report = json::parse(context->GetPrecisionReportJson());
      EXPECT_EQ(report["stage"], "plan");
      EXPECT_EQ(report["precision_mode"], mode);
      ASSERT_EQ(impl->KernelTrace().size(), impl->plan().steps.size()) << where;
      ExpectReportMatchesTrace(report, impl->KernelTrace(), reference, where);
      // Every output of every row has a storage type, integers only where quantized.
      for (const auto& row : report["nodes"])
        for (const auto& out : row["outputs"]) {
          ASSERT_TRUE(out.contains("storage")) << where << " " << row["node"];
          if (out["storage"] == "INT8" || out["storage"] == "INT16") {
            EXPECT_TRUE(std::string(mode).starts_with("qint")) << where << " " << row["node"];
          }
        }
    }
  }
}

TEST(ReportTruthfulness, SmallResNetEveryModeFastAndReference) {
  CheckModel({"small_resnet", "", Dims({1, 16, 16, 3})});
}

TEST(ReportTruthfulness, PpOcrDetEveryModeFastAndReference) {
  const std::string path = ModelDir() + "/ch_PP-OCRv4_det_infer.onnx";
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing: run scripts/fetch_models";
  CheckModel({"ppocr_det", path, Dims({1, 3, 32, 32})});
}

TEST(ReportTruthfulness, PpOcrRecEveryModeFastAndReference) {
  const std::string path = ModelDir() + "/ch_PP-OCRv4_rec_infer.onnx";
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing: run scripts/fetch_models";
  CheckModel({"ppocr_rec", path, Dims({1, 3, 48, 32})});
}

}  // namespace
}  // namespace mixq::testing
