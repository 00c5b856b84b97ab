// TunePrecision (issue 13, part 2): on a network with one operator that int8
// cannot carry, tuning promotes exactly that operator, and the config it
// writes reproduces the tuned build.
#include "mixq/tune.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api_test_util.h"
#include "calib_test_util.h"
#include "mixq/mixq.h"

namespace mixq::testing {
namespace {

// x [B, 16] -> fc1 -> relu1 -> fc2 -> relu2 -> fc3 -> y. Channel 0 of relu1
// is ~40x larger than the others, and fc2 reads it with a 40x smaller
// weight: per-tensor int8 on fc2's input spends its 255 levels on channel 0
// and rounds the 31 channels that carry the signal to a few levels. 16 bits
// (or float) fix it; fc1 and fc3 are fine in int8.
struct SensitiveNet {
  std::vector<float> w1 = RandomFloats(32 * 16, 31, -0.4f, 0.4f);
  std::vector<float> w2 = RandomFloats(32 * 32, 32, -0.3f, 0.3f);
  std::vector<float> w3 = RandomFloats(8 * 32, 33, -0.3f, 0.3f);
  SensitiveNet() {
    for (int i = 0; i < 16; ++i) w1[static_cast<size_t>(i)] = 4.0f;  // row 0: channel 0
    for (int o = 0; o < 32; ++o) w2[static_cast<size_t>(o * 32)] /= 40.0f;
  }
  std::unique_ptr<INetwork> Make() const {
    auto network = CreateINetwork();
    ITensor* t = network->AddIInput(DataType::FLOAT32, Dims({-1, 16}));
    t->SetTensorName("x");
    const std::vector<float>* weights[] = {&w1, &w2, &w3};
    const int64_t shapes[3][2] = {{32, 16}, {32, 32}, {8, 32}};
    for (int l = 0; l < 3; ++l) {
      auto* fc = network->AddIFullyConnectedNode(
          t,
          network->AddIConstNode(DataType::FLOAT32, Dims({shapes[l][0], shapes[l][1]}), weights[l]->data())
              ->GetOutput(0),
          nullptr);
      const std::string name = "fc" + std::to_string(l + 1);
      fc->SetNodeName(name);
      fc->GetOutput(0)->SetTensorName(name);
      t = fc->GetOutput(0);
      if (l < 2) {
        t = network->AddIActivationNode(t, ActivationType::RELU)->GetOutput(0);
        t->SetTensorName("relu" + std::to_string(l + 1));
      }
    }
    EXPECT_TRUE(network->MarkOutput(t).ok());
    return network;
  }
};

std::vector<VectorCalibData::Sample> Samples(int count, uint32_t seed) {
  std::vector<VectorCalibData::Sample> samples;
  for (int s = 0; s < count; ++s)
    samples.push_back({Dims({4, 16}), RandomFloats(4 * 16, seed + static_cast<uint32_t>(s), 0.0f, 1.0f)});
  return samples;
}

// The network above calibrated for qint8_mixed_float32 on 8 samples.
struct CalibratedNet {
  SensitiveNet net;
  std::unique_ptr<INetwork> network = net.Make();
  VectorCalibData data{Samples(8, 500)};
  std::unique_ptr<IBuilderConfig> config = CreateIBuilderConfig();
  Status Calibrate() {
    if (Status s = config->ParseFromString(kQint8MixedFloat32); !s.ok()) return s;
    return CreateICalibrator(&data)->Calibrate(network.get(), config.get());
  }
};

TEST(TunePrecision, PromotesExactlyTheSensitiveOperator) {
  CalibratedNet c;
  const Status calibrated = c.Calibrate();
  ASSERT_TRUE(calibrated.ok()) << calibrated.ToString();
  auto& network = c.network;
  auto& config = c.config;
  VectorCalibData& data = c.data;

  TuneOptions options;
  options.min_cosine = 0.9999;
  options.latency_runs = 1;
  options.prefer_faster = false;  // the first plan that meets the target (faster variants: below)
  std::vector<std::string> messages;
  options.progress = [&](int64_t, const std::string& m) { messages.push_back(m); };
  TuneResult result;
  const Status s = TunePrecision(network.get(), config.get(), {&data}, options, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const auto& m : messages) std::printf("%s\n", m.c_str());
  ASSERT_GE(result.trajectory.size(), 2u);
  EXPECT_FALSE(result.trajectory.front().meets_target);  // int8 everywhere misses it
  EXPECT_LT(result.trajectory.front().output_cosine, 0.9999);
  EXPECT_TRUE(result.target_met) << result.stop_reason;
  EXPECT_EQ(result.stop_reason, "target met");
  const std::map<std::string, std::string> want = {{"fc2", "qint16"}};
  EXPECT_EQ(result.chosen.node_precision, want);
  EXPECT_GE(result.chosen.output_cosine, 0.9999);
  EXPECT_EQ(messages.size(), result.trajectory.size());

  // The config it wrote builds the same plan: fc2 runs in QINT16.
  const auto json = nlohmann::json::parse(result.config_json);
  EXPECT_EQ(json["precision_config"]["node_precision"]["fc2"], "qint16");
  EXPECT_EQ(json["precision_config"]["precision_mode"], "qint8_mixed_float32");
  auto tuned = CreateIBuilderConfig();
  ASSERT_TRUE(tuned->ParseFromString(result.config_json).ok());
  auto model = BuildOrDie(network.get(), result.config_json);
  ASSERT_NE(model, nullptr);
  const auto report = nlohmann::json::parse(model->GetPrecisionReportJson());
  int qint16_inputs = 0;
  for (const auto& row : report["nodes"])
    if (row["node"] == "fc2")
      for (const auto& in : row["inputs"]) qint16_inputs += in["actual"] == "QINT16";
  EXPECT_EQ(qint16_inputs, 2) << report.dump();
}

// prefer_faster: once fc2 in qint16 meets the target, fc2 in float16 and in
// float32 are tried on that plan too (two more candidates), and the chosen
// one meets the target with no meeting candidate measured under 0.95x its
// latency. Which precision wins depends on this machine's timings; that the
// search tried them and kept the rule does not.
TEST(TunePrecision, PreferFasterTriesThePromotedOperatorsOtherPrecisions) {
  CalibratedNet c;
  const Status calibrated = c.Calibrate();
  ASSERT_TRUE(calibrated.ok()) << calibrated.ToString();
  auto& network = c.network;
  auto& config = c.config;
  VectorCalibData& data = c.data;
  TuneOptions options;
  options.min_cosine = 0.9999;
  options.latency_runs = 3;
  TuneResult result;
  const Status s = TunePrecision(network.get(), config.get(), {&data}, options, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(result.target_met) << result.stop_reason;
  size_t first_met = 0;
  while (!result.trajectory[first_met].meets_target) ++first_met;
  EXPECT_EQ(result.trajectory[first_met].node_precision, (std::map<std::string, std::string>{{"fc2", "qint16"}}));
  // Dropping fc2's promotion is tried first (the start plan again: misses), then fc2's other precisions.
  ASSERT_EQ(result.trajectory.size(), first_met + 4);
  EXPECT_TRUE(result.trajectory[first_met + 1].node_precision.empty());
  EXPECT_FALSE(result.trajectory[first_met + 1].meets_target);
  EXPECT_EQ(result.trajectory[first_met + 2].node_precision.at("fc2"), "float16");
  EXPECT_EQ(result.trajectory[first_met + 3].node_precision.at("fc2"), "float32");
  EXPECT_TRUE(result.chosen.meets_target);
  EXPECT_EQ(result.chosen.node_precision.size(), 1u);  // still only fc2
  // Each variant that met the target was timed in turn with the best plan
  // before it and kept exactly when 5 % faster; the chosen plan is the last
  // one kept (or the first that met the target).
  std::map<std::string, std::string> best = result.trajectory[first_met].node_precision;
  size_t compared = 0;
  for (size_t i = first_met + 1; i < result.trajectory.size(); ++i) {
    if (!result.trajectory[i].meets_target) continue;
    ASSERT_LT(compared, result.comparisons.size());
    const TuneComparison& c = result.comparisons[compared++];
    EXPECT_EQ(c.best, best);
    EXPECT_EQ(c.variant, result.trajectory[i].node_precision);
    EXPECT_GT(c.best_ms, 0.0);
    EXPECT_GT(c.variant_ms, 0.0);
    EXPECT_FALSE(c.dropped);  // fc2 is the only promotion, and the plan without it misses the target
    EXPECT_EQ(c.kept, c.variant_ms < 0.95 * c.best_ms);
    if (c.kept) best = c.variant;
  }
  EXPECT_EQ(compared, result.comparisons.size());
  EXPECT_EQ(result.chosen.node_precision, best);
  const auto json = nlohmann::json::parse(result.config_json);
  EXPECT_EQ(json["precision_config"]["node_precision"]["fc2"], result.chosen.node_precision.at("fc2"));
}

// start_modes: every mode is timed in turn and the search starts from the
// fastest here; which one that is depends on this machine, that the
// configuration written is that one's does not.
TEST(TunePrecision, StartsFromTheFastestOfTheStartModes) {
  CalibratedNet c;
  const Status calibrated = c.Calibrate();
  ASSERT_TRUE(calibrated.ok()) << calibrated.ToString();
  auto& network = c.network;
  auto& config = c.config;
  VectorCalibData& data = c.data;
  TuneOptions options;
  options.min_cosine = 0.9999;
  options.latency_runs = 2;
  options.prefer_faster = false;
  options.start_modes = {"qint8_mixed_float32", "qint8_mixed_float16"};
  TuneResult result;
  Status s = TunePrecision(network.get(), config.get(), {&data}, options, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(result.start_ms.size(), 2u);
  const bool f32 = result.start_ms.at("qint8_mixed_float32") <= result.start_ms.at("qint8_mixed_float16");
  for (const auto& [mode, ms] : result.start_ms) EXPECT_GT(ms, 0.0) << mode;
  auto json = nlohmann::json::parse(result.config_json);
  EXPECT_EQ(json["precision_config"]["precision_mode"], f32 ? "qint8_mixed_float32" : "qint8_mixed_float16");
  EXPECT_TRUE(result.target_met) << result.stop_reason;
  EXPECT_EQ(result.chosen.node_precision, (std::map<std::string, std::string>{{"fc2", "qint16"}}));

  // One mode: no choice, but the start is that mode, not the configured one.
  options.start_modes = {"qint8_mixed_float16"};
  s = TunePrecision(network.get(), config.get(), {&data}, options, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  json = nlohmann::json::parse(result.config_json);
  EXPECT_EQ(json["precision_config"]["precision_mode"], "qint8_mixed_float16");
  EXPECT_EQ(result.start_ms.size(), 1u);
  auto model = BuildOrDie(network.get(), result.config_json);
  ASSERT_NE(model, nullptr);
  const auto report = nlohmann::json::parse(model->GetPrecisionReportJson());
  int fc3_rows = 0;
  for (const auto& row : report["nodes"]) {
    if (row["node"] != "fc3") continue;
    ++fc3_rows;
    EXPECT_EQ(row["outputs"][0]["actual"], "FLOAT16") << row.dump();  // mixed_float16: float outputs in float16
  }
  EXPECT_EQ(fc3_rows, 1);

  // A mode that does not exist: named.
  options.start_modes = {"qint8_mixed_float32", "qint4_mixed_float32"};
  s = TunePrecision(network.get(), config.get(), {&data}, options, &result);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT) << s.ToString();
  EXPECT_NE(s.message().find("start mode 'qint4_mixed_float32'"), std::string::npos) << s.message();
}

TEST(TunePrecision, NodePrecisionKeyIsChecked) {
  auto config = CreateIBuilderConfig();
  Status s = config->ParseFromString(R"({"precision_config": {"node_precision": {"fc2": "int4"}}})");
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("node_precision.fc2"), std::string::npos) << s.message();
  SensitiveNet net;
  auto network = net.Make();
  ASSERT_TRUE(config->ParseFromString(R"({"precision_config": {"node_precision": {"nope": "float16"}}})").ok());
  auto builder = CreateIBuilder();
  EXPECT_EQ(builder->BuildModel("m", network.get(), config.get()), nullptr);
  EXPECT_EQ(builder->GetLastStatus().code(), StatusCode::NOT_FOUND) << builder->GetLastStatus().ToString();
  EXPECT_NE(builder->GetLastStatus().message().find("nope"), std::string::npos);
}

}  // namespace
}  // namespace mixq::testing
