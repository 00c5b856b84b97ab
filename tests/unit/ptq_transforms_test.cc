// Post-training quantization transforms (passes/ptq_transforms.h): cross-layer
// equalization, bias correction and SmoothQuant, against hand-computed
// numbers, float equivalence, and the builder config keys that turn them on.
#include "passes/ptq_transforms.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "api/network_impl.h"
#include "api_test_util.h"
#include "calib_test_util.h"
#include "calibration/calib_state.h"
#include "ops/graph_verifier.h"
#include "passes/build_pipeline.h"
#include "passes/graph_edit.h"

namespace mixq::testing {
namespace {

ITensor* Const(INetwork* n, const Dims& dims, const std::vector<float>& v) {
  return n->AddIConstNode(DataType::FLOAT32, dims, v.data())->GetOutput(0);
}

// Names a node `name` and its output `name`_out.
void Name(INode* node, const std::string& name) {
  EXPECT_TRUE(node->SetNodeName(name).ok());
  EXPECT_TRUE(node->GetOutput(0)->SetTensorName(name + "_out").ok());
}

// The network's graph, verified (constant shapes known), as the build sees it.
ir::Graph Verified(INetwork* net) {
  ir::Graph g = api::ToImpl(net)->graph();
  const Status s = ir::VerifyGraph(g);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return g;
}

// The FLOAT32 constant feeding input `i` of node `name`.
std::vector<float> ConstantInput(const ir::Graph& g, const std::string& name, size_t i) {
  const ir::Node* node = g.FindNode(name);
  EXPECT_NE(node, nullptr) << name;
  if (!node) return {};
  const ir::Value& v = *g.value(node->inputs[i]);
  const float* data = passes::FloatConstant(g, v.id, -1);
  EXPECT_NE(data, nullptr);
  if (!data) return {};
  return std::vector<float>(data, data + ir::ElementCount(v.shape));
}

// NHWC 1x1 conv 1 -> 2 channels, an activation, 1x1 conv 2 -> 1 channel.
std::unique_ptr<INetwork> TwoConvs(ActivationType act) {
  auto n = CreateINetwork();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 2, 2, 1}));
  IConvNode* c1 =
      n->AddIConvNode(x, Const(n.get(), Dims({2, 1, 1, 1}), {4.0f, 1.0f}), Const(n.get(), Dims({2}), {2.0f, 0.5f}));
  Name(c1, "conv1");
  INode* a = n->AddIActivationNode(c1->GetOutput(0), act);
  IConvNode* c2 = n->AddIConvNode(a->GetOutput(0), Const(n.get(), Dims({1, 1, 1, 2}), {1.0f, 4.0f}),
                                  Const(n.get(), Dims({1}), {0.25f}));
  Name(c2, "conv2");
  n->MarkOutput(c2->GetOutput(0));
  return n;
}

TEST(CrossLayerEqualization, HandComputedScales) {
  auto net = TwoConvs(ActivationType::RELU);
  ir::Graph g = Verified(net.get());
  int replaced = -1;
  // r1 = (4, 1), r2 = (1, 4): s = sqrt(r1 r2) / r2 = (2, 0.5).
  EXPECT_EQ(passes::EqualizeCrossLayer(&g, "skip", &replaced), 1);
  EXPECT_EQ(replaced, 0);
  EXPECT_EQ(ConstantInput(g, "conv1", 1), (std::vector<float>{2.0f, 2.0f}));  // (4 / 2, 1 / 0.5)
  EXPECT_EQ(ConstantInput(g, "conv1", 2), (std::vector<float>{1.0f, 1.0f}));  // (2 / 2, 0.5 / 0.5)
  EXPECT_EQ(ConstantInput(g, "conv2", 1), (std::vector<float>{2.0f, 2.0f}));  // (1 * 2, 4 * 0.5)
  EXPECT_EQ(ConstantInput(g, "conv2", 2), (std::vector<float>{0.25f}));
}

TEST(CrossLayerEqualization, Relu6PairsAreSkippedOrTurnedIntoRelu) {
  auto net = TwoConvs(ActivationType::RELU6);
  ir::Graph skipped = Verified(net.get()), replaced = skipped;
  int count = -1;
  EXPECT_EQ(passes::EqualizeCrossLayer(&skipped, "skip", &count), 0);
  EXPECT_EQ(count, 0);
  EXPECT_EQ(ConstantInput(skipped, "conv1", 1), (std::vector<float>{4.0f, 1.0f}));
  EXPECT_EQ(passes::EqualizeCrossLayer(&replaced, "replace_with_relu", &count), 1);
  EXPECT_EQ(count, 1);
  EXPECT_EQ(ConstantInput(replaced, "conv1", 1), (std::vector<float>{2.0f, 2.0f}));
  for (size_t n = 0; n < replaced.node_count(); ++n) {
    if (replaced.node(static_cast<int>(n))->op == OpKind::kActivation) {
      EXPECT_EQ(replaced.node(static_cast<int>(n))->attrs.Str("type"), "relu");
    }
  }
}

TEST(CrossLayerEqualization, ConvOutputReadTwiceIsLeftAlone) {
  auto net = TwoConvs(ActivationType::RELU);
  ir::Graph g = Verified(net.get());
  g.MarkOutput(g.FindNode("conv1")->outputs[0]);  // the scaled tensor would be seen
  EXPECT_EQ(passes::EqualizeCrossLayer(&g, "skip", nullptr), 0);
}

// Pointwise 4 -> 6, ReLU, depthwise 3x3 (6 groups), pointwise 6 -> 3: the
// MobileNetV2 pattern, with channel ranges 100x apart.
std::unique_ptr<INetwork> Separable() {
  auto n = CreateINetwork();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 5, 5, 4}));
  auto w1 = RandomFloats(6 * 4, 11), w2 = RandomFloats(6 * 9, 12), w3 = RandomFloats(3 * 6, 13);
  for (size_t i = 0; i < w1.size(); ++i) w1[i] *= (i / 4) % 2 ? 100.0f : 1.0f;
  IConvNode* pw1 =
      n->AddIConvNode(x, Const(n.get(), Dims({6, 1, 1, 4}), w1), Const(n.get(), Dims({6}), RandomFloats(6, 14)));
  Name(pw1, "pw1");
  INode* relu = n->AddIActivationNode(pw1->GetOutput(0), ActivationType::RELU);
  IConvNode* dw = n->AddIConvNode(relu->GetOutput(0), Const(n.get(), Dims({6, 3, 3, 1}), w2),
                                  Const(n.get(), Dims({6}), RandomFloats(6, 15)));
  Name(dw, "dw");
  EXPECT_TRUE(dw->SetGroup(6).ok());
  EXPECT_TRUE(dw->SetPad(1, 1, 1, 1).ok());
  IConvNode* pw2 = n->AddIConvNode(dw->GetOutput(0), Const(n.get(), Dims({3, 1, 1, 6}), w3),
                                   Const(n.get(), Dims({3}), RandomFloats(3, 16)));
  Name(pw2, "pw2");
  n->MarkOutput(pw2->GetOutput(0));
  return n;
}

std::vector<float> RunFloat(INetwork* net, const std::string& config, std::vector<float> x, nlohmann::json* report) {
  auto model = BuildOrDie(net, config);
  if (report) *report = nlohmann::json::parse(model->GetPrecisionReportJson());
  auto context = model->CreateIEngine()->CreateIContext();
  return RunOnce(context.get(), Dims({1, 5, 5, 4}), x);
}

// max_c r1_c / r2_c over the channels between two convs (1 when equalized).
double Imbalance(const ir::Graph& g, const std::string& first, const std::string& second, int64_t in_per_out) {
  const auto w1 = ConstantInput(g, first, 1), w2 = ConstantInput(g, second, 1);
  const size_t channels = 6, per1 = w1.size() / channels;
  double worst = 0.0;
  for (size_t c = 0; c < channels; ++c) {
    double r1 = 0.0, r2 = 0.0;
    for (size_t e = 0; e < per1; ++e) r1 = std::max(r1, std::fabs(static_cast<double>(w1[c * per1 + e])));
    if (in_per_out == 1) {  // depthwise: channel c's 9 taps
      for (size_t e = 0; e < 9; ++e) r2 = std::max(r2, std::fabs(static_cast<double>(w2[c * 9 + e])));
    } else {  // OHWI 1x1: element [o][c]
      for (size_t o = 0; o < w2.size() / channels; ++o)
        r2 = std::max(r2, std::fabs(static_cast<double>(w2[o * channels + c])));
    }
    worst = std::max(worst, std::max(r1 / r2, r2 / r1));
  }
  return worst;
}

TEST(CrossLayerEqualization, SeparableChainComputesTheSameFloatOutputsWithBalancedRanges) {
  auto net = Separable();
  auto x = RandomFloats(100, 17);
  nlohmann::json report;
  const auto plain = RunFloat(net.get(), "", x, nullptr);
  const auto equalized = RunFloat(net.get(), R"({"precision_config": {"cross_layer_equalization": true}})", x, &report);
  ASSERT_EQ(plain.size(), equalized.size());
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_NEAR(equalized[i], plain[i], 1e-5 * (1 + std::fabs(plain[i])));
  ASSERT_TRUE(report.contains("transforms"));
  EXPECT_EQ(report["transforms"][0],
            "cross_layer_equalization: 2 Conv2D pair(s) equalized, pairs joined by ReLU6 / clip skipped");

  ir::Graph g = Verified(net.get());
  EXPECT_GT(Imbalance(g, "pw1", "dw", 1), 10.0);
  EXPECT_EQ(passes::EqualizeCrossLayer(&g, "skip", nullptr), 2);
  // The sweeps stop when no scale moves more than 0.1 %.
  EXPECT_LT(Imbalance(g, "pw1", "dw", 1), 1.01);
  EXPECT_LT(Imbalance(g, "dw", "pw2", 6), 1.01);
}

// 1x1 NHWC conv, 2 input channels -> 1 output, weights (1, 0.502), bias 0.1.
// Per-axis int8: scale 1/127, 0.502 * 127 = 63.754 rounds to 64, so the
// rounded weight is 64/127 and reads 10 * (64/127 - 0.502) = 0.019370 too
// much from an input whose channel-1 mean is 10.
std::unique_ptr<INetwork> OneConv() {
  auto n = CreateINetwork();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 2, 2, 2}));
  EXPECT_TRUE(x->SetTensorName("x").ok());
  IConvNode* c =
      n->AddIConvNode(x, Const(n.get(), Dims({1, 1, 1, 2}), {1.0f, 0.502f}), Const(n.get(), Dims({1}), {0.1f}));
  Name(c, "conv");
  n->MarkOutput(c->GetOutput(0));
  return n;
}

TEST(BiasCorrection, SubtractsTheHandComputedShift) {
  auto net = OneConv();
  ir::Graph g = Verified(net.get());
  ir::Node* conv = g.FindNode("conv") ? const_cast<ir::Node*>(g.FindNode("conv")) : nullptr;
  ASSERT_NE(conv, nullptr);
  conv->input_quant.resize(3);
  ir::QuantBinding w;
  w.bits = 8;
  w.axis = 0;
  w.scales = {1.0f / 127.0f};
  w.zero_points = {0};
  conv->input_quant[1] = w;
  const std::string x = g.value(conv->inputs[0])->name;
  int corrected = -1;
  ASSERT_TRUE(passes::CorrectBias(&g, {{x, {3.0, 10.0}}}, &corrected).ok());
  EXPECT_EQ(corrected, 1);
  const double shift = 3.0 * 0.0 + 10.0 * (64.0 / 127.0 - static_cast<double>(0.502f));
  EXPECT_NEAR(ConstantInput(g, "conv", 2)[0], 0.1 - shift, 1e-6);
  EXPECT_NEAR(shift, 0.019370, 1e-5);
  // A mean with the wrong channel count is an error naming the node.
  const Status bad = passes::CorrectBias(&g, {{x, {1.0, 2.0, 3.0}}}, &corrected);
  EXPECT_EQ(bad.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.ToString().find("'conv'"), std::string::npos) << bad.ToString();
}

TEST(BiasCorrection, MatMulThenAddOfAConstantIsCorrectedThroughTheAdd) {
  // x [2, 2] times W [2, 1] = (1, 0.502), then + 0.1: the same numbers as the conv above.
  auto n = CreateINetwork();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({2, 2}));
  EXPECT_TRUE(x->SetTensorName("x").ok());
  INode* mm = n->AddIMatMulNode(x, Const(n.get(), Dims({2, 1}), {1.0f, 0.502f}));
  Name(mm, "mm");
  INode* add = n->AddIElementwiseNode(mm->GetOutput(0), Const(n.get(), Dims({1}), {0.1f}), ElementwiseOp::ADD);
  Name(add, "add");
  n->MarkOutput(add->GetOutput(0));
  ir::Graph g = Verified(n.get());
  ir::Node* node = const_cast<ir::Node*>(g.FindNode("mm"));
  node->input_quant.resize(2);
  ir::QuantBinding w;
  w.axis = 1;  // the output columns of [K, N]
  w.scales = {1.0f / 127.0f};
  w.zero_points = {0};
  node->input_quant[1] = w;
  int corrected = -1;
  ASSERT_TRUE(passes::CorrectBias(&g, {{"x", {3.0, 10.0}}}, &corrected).ok());
  EXPECT_EQ(corrected, 1);
  EXPECT_NEAR(ConstantInput(g, "add", 1)[0], 0.1 - 10.0 * (64.0 / 127.0 - static_cast<double>(0.502f)), 1e-6);
  // The product as a network output too (as mixq analyze marks it): the Add is still corrected.
  ir::Graph also_output = Verified(n.get());
  also_output.MarkOutput(also_output.FindNode("mm")->outputs[0]);
  const_cast<ir::Node*>(also_output.FindNode("mm"))->input_quant = node->input_quant;
  ASSERT_TRUE(passes::CorrectBias(&also_output, {{"x", {3.0, 10.0}}}, &corrected).ok());
  EXPECT_EQ(corrected, 1);
  // A MatMul whose product meets no constant has no bias to correct.
  ir::Graph no_bias = Verified(n.get());
  ir::Node* add_node = const_cast<ir::Node*>(no_bias.FindNode("add"));
  add_node->inputs[1] = add_node->inputs[0];  // product + product
  const_cast<ir::Node*>(no_bias.FindNode("mm"))->input_quant = node->input_quant;
  ASSERT_TRUE(passes::CorrectBias(&no_bias, {{"x", {3.0, 10.0}}}, &corrected).ok());
  EXPECT_EQ(corrected, 0);
}

// Calibrates `net` on samples whose channels are constant (3 and 10) and
// builds qint8 with `extra` keys; the output on that sample.
std::vector<float> CalibrateBuildRun(INetwork* net, const std::string& extra, nlohmann::json* report) {
  std::vector<VectorCalibData::Sample> samples;
  for (int s = 0; s < 3; ++s) samples.push_back({Dims({1, 2, 2, 2}), {3, 10, 3, 10, 3, 10, 3, 10}});
  samples[1].values[0] = -3.0f;  // channel 0's mean is 2.5; its weight (1) rounds exactly, so it does not matter
  VectorCalibData data(samples);
  auto config = CreateIBuilderConfig();
  const std::string json = R"({"precision_config": {"precision_mode": "qint8_mixed_float32")" + extra + "}}";
  EXPECT_TRUE(config->ParseFromString(json).ok()) << json;
  auto calibrator = CreateICalibrator(&data);
  Status s = calibrator->Calibrate(net, config.get());
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto model = CreateIBuilder()->BuildModel("t", net, config.get());
  EXPECT_NE(model, nullptr);
  if (!model) return {};
  if (report) *report = nlohmann::json::parse(model->GetPrecisionReportJson());
  auto context = model->CreateIEngine()->CreateIContext();
  std::vector<float> x = samples[0].values;
  return RunOnce(context.get(), Dims({1, 2, 2, 2}), x);
}

TEST(BiasCorrection, EndToEndRemovesTheWeightRoundingShift) {
  auto net = OneConv();
  const double want = 3.0 + 10.0 * static_cast<double>(0.502f) + 0.1;  // float output
  nlohmann::json report;
  const auto plain = CalibrateBuildRun(net.get(), "", nullptr);
  const auto corrected = CalibrateBuildRun(net.get(), R"(, "bias_correction": true)", &report);
  ASSERT_EQ(plain.size(), 4u);
  ASSERT_EQ(corrected.size(), 4u);
  // 3 and 10 are exact on the +-10 input grid (3 = 38.1 steps is not: 38 steps = 2.992).
  const double x_error = (38.0 / 12.7 - 3.0) * 1.0;
  EXPECT_NEAR(plain[0], want + 0.019370 + x_error, 2e-4);
  EXPECT_NEAR(corrected[0], want + x_error, 2e-4);
  ASSERT_TRUE(report.contains("transforms"));
  EXPECT_EQ(report["transforms"][0], "bias_correction: 1 bias(es) corrected");
}

TEST(BiasCorrection, BuildWithoutCalibrationStatisticsIsAClearError) {
  auto net = OneConv();
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config
                  ->ParseFromString(R"({"precision_config": {"precision_mode": "qint8_mixed_float32",
                      "bias_correction": true, "custom_ranges": {"x": [-10, 10]}}})")
                  .ok());
  auto builder = CreateIBuilder();
  EXPECT_EQ(builder->BuildModel("t", net.get(), config.get()), nullptr);
  EXPECT_EQ(builder->GetLastStatus().code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(builder->GetLastStatus().ToString().find("precision_config.bias_correction"), std::string::npos)
      << builder->GetLastStatus().ToString();
}

// x [2, 3] -> MatMul with W [3, 2] (rows j: max |W_j| = 1, 1, 4).
std::unique_ptr<INetwork> OneMatMul() {
  auto n = CreateINetwork();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({2, 3}));
  EXPECT_TRUE(x->SetTensorName("x").ok());
  INode* mm = n->AddIMatMulNode(x, Const(n.get(), Dims({3, 2}), {1.0f, -0.5f, 0.25f, -1.0f, 4.0f, 2.0f}));
  Name(mm, "mm");
  n->MarkOutput(mm->GetOutput(0));
  return n;
}

TEST(SmoothQuant, HandComputedScales) {
  auto net = OneMatMul();
  ir::Graph g = Verified(net.get());
  EXPECT_EQ(passes::SmoothQuantCandidates(g), (std::map<std::string, int64_t>{{"x", 3}}));
  // max|X_j| = (4, 1, 0.25), alpha 0.5: s = sqrt(4 / 1), sqrt(1 / 1), sqrt(0.25 / 4) = (2, 1, 0.25).
  EXPECT_EQ(passes::SmoothActivations(&g, 0.5, {{"x", {4.0, 1.0, 0.25}}}), 1);
  const ir::Node* mul = g.FindNode("x_smoothed");
  ASSERT_NE(mul, nullptr);
  EXPECT_EQ(ConstantInput(g, "x_smoothed", 1), (std::vector<float>{0.5f, 1.0f, 4.0f}));
  EXPECT_EQ(ConstantInput(g, "mm", 1), (std::vector<float>{2.0f, -1.0f, 0.25f, -1.0f, 1.0f, 0.5f}));
  EXPECT_EQ(g.value(g.FindNode("mm")->inputs[0])->name, "x_smoothed");
  // alpha 1: all of the activation range moves: s = max|X_j|.
  ir::Graph all = Verified(net.get());
  EXPECT_EQ(passes::SmoothActivations(&all, 1.0, {{"x", {4.0, 1.0, 0.25}}}), 1);
  EXPECT_EQ(ConstantInput(all, "x_smoothed", 1), (std::vector<float>{0.25f, 1.0f, 4.0f}));
}

TEST(SmoothQuant, CalibratedBuildKeepsFloatOutputsAndMovesTheRange) {
  auto net = OneMatMul();
  std::vector<VectorCalibData::Sample> samples = {{Dims({2, 3}), {4, 1, 0.25f, -2, -0.5f, 0.125f}},
                                                  {Dims({2, 3}), {1, -1, -0.25f, 3, 0.5f, 0}}};
  VectorCalibData data(samples);
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config
                  ->ParseFromString(
                      R"({"precision_config": {"precision_mode": "qint8_mixed_float32", "smooth_quant_alpha": 0.5}})")
                  .ok());
  auto calibrator = CreateICalibrator(&data);
  ASSERT_TRUE(calibrator->Calibrate(net.get(), config.get()).ok());
  // The smoothed activation's range: max_j max X_j / s_j = max(4 / 2, 1 / 1, 0.25 / 0.25) = 2 (was 4),
  // min_j min X_j / s_j = min(-2 / 2, -1 / 1, -0.25 / 0.25) = -1 (was -2).
  const quant::CalibrationState* state = api::ToImpl(net.get())->calibration();
  ASSERT_NE(state, nullptr);
  Range range;
  ASSERT_TRUE(quant::RangeFromState(*state, "x_smoothed", 8, true, &range).ok());
  EXPECT_EQ(range.min, -1.0f);
  EXPECT_EQ(range.max, 2.0f);
  EXPECT_EQ(state->channels.absmax.at("x"), (std::vector<double>{4.0, 1.0, 0.25}));
  // Files do not record the transform, so they are not written.
  const Status saved = calibrator->SaveStatistics(net.get(), ::testing::TempDir() + "ptq_smooth.mixqcal");
  EXPECT_EQ(saved.code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(saved.ToString().find("smooth_quant_alpha"), std::string::npos) << saved.ToString();
  EXPECT_EQ(calibrator->WriteRangeTable(net.get(), config.get(), ::testing::TempDir() + "ptq_smooth.txt").code(),
            StatusCode::FAILED_PRECONDITION);

  // force_float32 with the same statistics: the smoothed network computes the same.
  auto float_config = CreateIBuilderConfig();
  ASSERT_TRUE(
      float_config
          ->ParseFromString(R"({"precision_config": {"precision_mode": "force_float32", "smooth_quant_alpha": 0.5}})")
          .ok());
  auto builder = CreateIBuilder();
  auto smoothed = builder->BuildModel("t", net.get(), float_config.get());
  ASSERT_NE(smoothed, nullptr) << builder->GetLastStatus().ToString();
  const auto report = nlohmann::json::parse(smoothed->GetPrecisionReportJson());
  EXPECT_EQ(report["transforms"][0], "smooth_quant (alpha 0.5): 1 FullyConnected / MatMul weight(s) scaled");
  auto plain = BuildOrDie(net.get());
  std::vector<float> x = {1.5f, -0.75f, 0.2f, -3.0f, 0.25f, 0.1f};
  auto a = RunOnce(smoothed->CreateIEngine()->CreateIContext().get(), Dims({2, 3}), x);
  auto b = RunOnce(plain->CreateIEngine()->CreateIContext().get(), Dims({2, 3}), x);
  ASSERT_EQ(a.size(), 4u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5);

  // Statistics gathered without smoothing do not serve a smoothed build.
  auto other = CreateIBuilderConfig();
  ASSERT_TRUE(other->ParseFromString(R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})").ok());
  EXPECT_EQ(builder->BuildModel("t", net.get(), other.get()), nullptr);
  EXPECT_EQ(builder->GetLastStatus().code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(builder->GetLastStatus().ToString().find("smooth_quant_alpha = 0.5, but this config sets off"),
            std::string::npos)
      << builder->GetLastStatus().ToString();
}

TEST(PtqConfig, KeysAreParsedWrittenAndCheckedByName) {
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config
                  ->ParseFromString(R"({"precision_config": {"bias_correction": true, "cross_layer_equalization": true,
                      "cross_layer_equalization_relu6": "replace_with_relu", "smooth_quant_alpha": 0.75}})")
                  .ok());
  const auto written = nlohmann::json::parse(config->ToJson())["precision_config"];
  EXPECT_EQ(written["bias_correction"], true);
  EXPECT_EQ(written["cross_layer_equalization"], true);
  EXPECT_EQ(written["cross_layer_equalization_relu6"], "replace_with_relu");
  EXPECT_EQ(written["smooth_quant_alpha"], 0.75);
  const auto defaults = nlohmann::json::parse(CreateIBuilderConfig()->ToJson())["precision_config"];
  EXPECT_EQ(defaults["bias_correction"], false);
  EXPECT_EQ(defaults["cross_layer_equalization"], false);
  EXPECT_EQ(defaults["smooth_quant_alpha"], "off");
  for (const auto& [bad, key] : std::vector<std::pair<std::string, std::string>>{
           {R"("bias_correction": "yes")", "precision_config.bias_correction"},
           {R"("cross_layer_equalization": 1)", "precision_config.cross_layer_equalization"},
           {R"("smooth_quant_alpha": 1.5)", "precision_config.smooth_quant_alpha"},
           {R"("smooth_quant_alpha": "on")", "precision_config.smooth_quant_alpha"},
           {R"("cross_layer_equalization_relu6": "clip")", "precision_config.cross_layer_equalization_relu6"}}) {
    auto c = CreateIBuilderConfig();
    const Status s = c->ParseFromString(R"({"precision_config": {)" + bad + "}}");
    EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_NE(s.ToString().find(key), std::string::npos) << s.ToString();
  }
}

}  // namespace
}  // namespace mixq::testing
