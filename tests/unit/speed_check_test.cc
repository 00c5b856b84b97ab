// precision_config.speed_check ("will it be faster?", api/speed_check.h):
// the decision rule on given timings, the planner keeping a named operator in
// float with the reason in the report (and never a pinned one), and the whole
// check on a small network, whose decisions depend on this machine's timings
// but whose report must always agree with the plan it wrote.
#include "api/speed_check.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/model_impl.h"
#include "api/network_impl.h"
#include "api_test_util.h"
#include "passes/build_pipeline.h"

namespace mixq::testing {
namespace {

using nlohmann::json;

TEST(SpeedCheck, SlowerOperatorsNeedMarginAndGainAndNoPin) {
  std::vector<api::OperatorTiming> t = {
      {"slow", "avx2-int8-dw", "onednn", 0.300, 0.150, false},    // 2x slower: moves
      {"noise", "avx2-int8", "onednn", 0.110, 0.100, false},      // 10 % slower: within the margin
      {"tiny", "avx2-int8", "onednn", 0.004, 0.001, false},       // 4x but 3 us: below the gain
      {"pinned", "avx2-int8", "onednn", 0.900, 0.100, true},      // user's choice
      {"faster", "avx2-int8", "onednn", 0.100, 0.300, false},     // quantized wins
      {"edge", "avx2-int8", "onednn", 0.1200001, 0.100, false}};  // just over 20 %
  const auto slower = api::SlowerQuantizedOperators(t, "FLOAT32");
  ASSERT_EQ(slower.size(), 2u);
  ASSERT_TRUE(slower.count("slow"));
  EXPECT_TRUE(slower.count("edge"));
  EXPECT_EQ(slower.at("slow"),
            "speed_check: quantized kernel avx2-int8-dw took 0.300 ms, FLOAT32 kernel onednn 0.150 ms on this CPU "
            "(1 thread): kept in FLOAT32");
}

ITensor* Weights(INetwork* network, std::vector<int64_t> dims, uint32_t seed) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  const auto values = RandomFloats(static_cast<size_t>(count), seed, -0.3f, 0.3f);
  return network->AddIConstNode(DataType::FLOAT32, Dims(dims), values.data())->GetOutput(0);
}

// x [1, 12, 12, 8] NHWC -> conv1 3x3 -> relu -> conv2 3x3 -> y.
struct TwoConvs {
  std::unique_ptr<INetwork> network = CreateINetwork();
  INode* conv1 = nullptr;
  INode* conv2 = nullptr;
  explicit TwoConvs(int64_t batch = 1) {
    ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({batch, 12, 12, 8}));
    EXPECT_TRUE(x->SetDynamicRange(Range{-1.0f, 1.0f}, true).ok());
    IConvNode* c1 = network->AddIConvNode(x, Weights(network.get(), {8, 3, 3, 8}, 1), Weights(network.get(), {8}, 2));
    EXPECT_TRUE(c1->SetPad(1, 1, 1, 1).ok());
    EXPECT_TRUE(c1->SetNodeName("conv1").ok());
    IActivationNode* relu = network->AddIActivationNode(c1->GetOutput(0), ActivationType::RELU);
    EXPECT_TRUE(relu->GetOutput(0)->SetDynamicRange(Range{0.0f, 3.0f}, true).ok());
    IConvNode* c2 = network->AddIConvNode(relu->GetOutput(0), Weights(network.get(), {4, 3, 3, 8}, 3),
                                          Weights(network.get(), {4}, 4));
    EXPECT_TRUE(c2->SetPad(1, 1, 1, 1).ok());
    EXPECT_TRUE(c2->SetNodeName("conv2").ok());
    EXPECT_TRUE(network->MarkOutput(c2->GetOutput(0)).ok());
    conv1 = c1;
    conv2 = c2;
  }
};

json Row(const json& report, const std::string& node) {
  for (const auto& n : report["nodes"])
    if (n["node"] == node) return n;
  ADD_FAILURE() << "no report row for " << node;
  return json::object();
}

Status BuildWithKeepFloat(INetwork* network, const std::map<std::string, std::string>& keep, format::ModelData* out) {
  passes::BuildOptions options;
  options.precision_mode = "qint8_mixed_float32";
  options.keep_float = keep;
  return passes::BuildModelData("t", api::ToImpl(network)->graph(), options, {}, "{}", out);
}

TEST(SpeedCheck, KeptOperatorRunsFloatWithTheReason) {
  TwoConvs net;
  format::ModelData model;
  ASSERT_TRUE(BuildWithKeepFloat(net.network.get(), {{"conv1", "speed_check: measured"}}, &model).ok());
  const json report = json::parse(model.report_json);
  const json conv1 = Row(report, "conv1"), conv2 = Row(report, "conv2");
  for (size_t i = 0; i < 2; ++i) {  // data and weights
    EXPECT_EQ(conv1["inputs"][i]["requested"], "QINT8");
    EXPECT_EQ(conv1["inputs"][i]["requested_by"], "network");
    EXPECT_EQ(conv1["inputs"][i]["actual"], "FLOAT32");
    EXPECT_EQ(conv2["inputs"][i]["actual"], "QINT8");
  }
  EXPECT_EQ(conv1["reason"], "speed_check: measured");  // once, not once per input
  EXPECT_EQ(conv2.value("reason", ""), "");
  // The same computation as pinning conv1 to float32 by hand.
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config
                  ->ParseFromString(R"({"precision_config": {"precision_mode": "qint8_mixed_float32",
                                        "node_precision": {"conv1": "float32"}}})")
                  .ok());
  auto pinned = CreateIBuilder()->BuildModel("t", net.network.get(), config.get());
  ASSERT_NE(pinned, nullptr);
  auto kept = std::make_unique<api::ModelImpl>(std::make_shared<format::ModelData>(model));
  std::vector<float> x = RandomFloats(12 * 12 * 8, 7), x2 = x;
  const auto a = RunOnce(kept->CreateIEngine()->CreateIContext().get(), Dims({1, 12, 12, 8}), x);
  const auto b = RunOnce(pinned->CreateIEngine()->CreateIContext().get(), Dims({1, 12, 12, 8}), x2);
  ASSERT_EQ(a.size(), 12u * 12u * 4u);
  EXPECT_EQ(a, b);
}

TEST(SpeedCheck, NeverMovesAPinnedOperator) {
  TwoConvs net;
  ASSERT_TRUE(net.conv1->SetPrecision(0, DataType::QINT8).ok());
  format::ModelData model;
  ASSERT_TRUE(BuildWithKeepFloat(net.network.get(), {{"conv1", "x"}, {"conv2", "y"}}, &model).ok());
  const json report = json::parse(model.report_json);
  EXPECT_EQ(Row(report, "conv1")["inputs"][0]["actual"], "QINT8");
  EXPECT_EQ(Row(report, "conv2")["inputs"][0]["actual"], "FLOAT32");
}

// Which operators move depends on this machine; the report must match the plan.
TEST(SpeedCheck, WholeCheckReportAgreesWithThePlan) {
  TwoConvs net(4);
  auto model = BuildOrDie(net.network.get(),
                          R"({"precision_config": {"precision_mode": "qint8_mixed_float32", "speed_check": "on"}})");
  ASSERT_NE(model, nullptr);
  const json report = json::parse(model->GetPrecisionReportJson());
  ASSERT_TRUE(report.contains("transforms"));
  ASSERT_EQ(report["transforms"].size(), 1u);
  EXPECT_EQ(report["transforms"][0].get<std::string>().rfind("speed_check (1 thread): ", 0), 0u)
      << report["transforms"][0];
  const bool moved = report["transforms"][0].get<std::string>().find("kept in FLOAT32") != std::string::npos;
  int kept = 0;
  for (const char* node : {"conv1", "conv2"}) {
    const json row = Row(report, node);
    const bool speed = row.value("reason", "").find("speed_check: quantized kernel") != std::string::npos;
    kept += speed;
    EXPECT_EQ(row["inputs"][0]["actual"], speed ? "FLOAT32" : "QINT8") << node;
  }
  EXPECT_EQ(moved, kept > 0);
  // Either way the model runs and stays close to the float network.
  auto reference = BuildOrDie(net.network.get());
  std::vector<float> x = RandomFloats(4 * 12 * 12 * 8, 9), x2 = x;
  const auto y = RunOnce(model->CreateIEngine()->CreateIContext().get(), Dims({4, 12, 12, 8}), x);
  const auto yf = RunOnce(reference->CreateIEngine()->CreateIContext().get(), Dims({4, 12, 12, 8}), x2);
  ASSERT_EQ(y.size(), yf.size());
  double err = 0, energy = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    err += (y[i] - yf[i]) * (y[i] - yf[i]);
    energy += yf[i] * yf[i];
  }
  EXPECT_LT(err, 0.01 * energy);  // SQNR > 20 dB
}

TEST(SpeedCheck, NeedsStaticInputDims) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({-1, 4}));
  ASSERT_TRUE(x->SetDynamicRange(Range{-1.0f, 1.0f}, true).ok());
  static const float w[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  IFullyConnectedNode* fc = network->AddIFullyConnectedNode(
      x, network->AddIConstNode(DataType::FLOAT32, Dims({2, 4}), w)->GetOutput(0), nullptr);
  ASSERT_TRUE(fc->SetTransposeB(true).ok());
  ASSERT_TRUE(network->MarkOutput(fc->GetOutput(0)).ok());
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(
      config->ParseFromString(R"({"precision_config": {"precision_mode": "qint8_mixed_float32", "speed_check": "on"}})")
          .ok());
  auto builder = CreateIBuilder();
  EXPECT_EQ(builder->BuildModel("t", network.get(), config.get()), nullptr);
  const Status s = builder->GetLastStatus();
  EXPECT_EQ(s.code(), StatusCode::FAILED_PRECONDITION) << s.ToString();
  EXPECT_NE(s.message().find("static input dims"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("[-1,4]"), std::string::npos) << s.ToString();
}

TEST(SpeedCheck, RejectsUnknownValues) {
  auto config = CreateIBuilderConfig();
  const Status s = config->ParseFromString(R"({"precision_config": {"speed_check": "maybe"}})");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("speed_check"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace mixq::testing
