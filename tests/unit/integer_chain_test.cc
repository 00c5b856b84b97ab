// Integer chains through operators without an accumulator (SPEC §1.5,
// passes/integer_chain.h): between two int8 convolutions, hard_swish / sigmoid
// and arithmetic with a scalar constant run on int8 (lookup tables), so the
// plan has no Dequantize / Quantize pair around them; fast and reference plans
// agree bit for bit; where the output is not consumed quantized the float
// path stays.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "api_test_util.h"
#include "calib_test_util.h"
#include "kernels/cpu_features.h"
#include "ops/int8_chain.h"
#include "runtime/engine.h"

namespace mixq::testing {
namespace {

using nlohmann::json;

runtime::ContextImpl* Impl(IContext* context) {
  return dynamic_cast<runtime::ContextImpl*>(context);
}

ITensor* Weights(INetwork* network, std::vector<int64_t> dims, uint32_t seed, float scale = 0.3f) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  const auto values = RandomFloats(static_cast<size_t>(count), seed, -scale, scale);
  return network->AddIConstNode(DataType::FLOAT32, Dims(dims), values.data())->GetOutput(0);
}

IConvNode* ConvNode(INetwork* network, ITensor* x, int64_t in, int64_t out, uint32_t seed) {
  IConvNode* conv =
      network->AddIConvNode(x, Weights(network, {out, 3, 3, in}, seed), Weights(network, {out}, seed + 1));
  EXPECT_TRUE(conv->SetAttr("pads", std::vector<int64_t>{1, 1, 1, 1}).ok());
  return conv;
}

ITensor* Conv(INetwork* network, ITensor* x, int64_t in, int64_t out, uint32_t seed) {
  return ConvNode(network, x, in, out, seed)->GetOutput(0);
}

ITensor* Scalar(INetwork* network, float value) {
  return network->AddIConstNode(DataType::FLOAT32, Dims({1}), &value)->GetOutput(0);
}

struct Chain {
  std::unique_ptr<INetwork> network;
  std::vector<INode*> chain_nodes;  // between the convolutions
  INode* last = nullptr;            // the second convolution
};

// conv -> [activation] -> * 0.5 -> + 0.25 -> conv, every tensor with a range.
// `tail`: the last chain node's output also feeds a network output.
Chain MakeChain(ActivationType type, bool tail_is_output) {
  Chain c;
  c.network = CreateINetwork();
  INetwork* n = c.network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 8, 8, 3}));
  EXPECT_TRUE(x->SetDynamicRange(Range{-1.0f, 1.0f}, true).ok());
  ITensor* y = Conv(n, x, 3, 8, 1);
  EXPECT_TRUE(y->SetDynamicRange(Range{-2.0f, 2.5f}, true).ok());
  IActivationNode* act = n->AddIActivationNode(y, type);
  EXPECT_TRUE(act->GetOutput(0)->SetDynamicRange(Range{-0.5f, 2.5f}, true).ok());
  IElementwiseNode* mul = n->AddIElementwiseNode(Scalar(n, 0.5f), act->GetOutput(0), ElementwiseOp::MUL);
  EXPECT_TRUE(mul->GetOutput(0)->SetDynamicRange(Range{-0.25f, 1.25f}, true).ok());
  IElementwiseNode* add = n->AddIElementwiseNode(mul->GetOutput(0), Scalar(n, 0.25f), ElementwiseOp::ADD);
  EXPECT_TRUE(add->GetOutput(0)->SetDynamicRange(Range{0.0f, 1.5f}, true).ok());
  c.last = ConvNode(n, add->GetOutput(0), 8, 4, 3);
  EXPECT_TRUE(n->MarkOutput(c.last->GetOutput(0)).ok());
  if (tail_is_output) {
    EXPECT_TRUE(n->MarkOutput(add->GetOutput(0)).ok());
  }
  c.chain_nodes = {act, mul, add};
  return c;
}

int ConvertSteps(IContext* context) {
  int converts = 0;
  for (const auto& step : Impl(context)->plan().steps) {
    converts += step.op == OpKind::kConvert;
  }
  return converts;
}

const json* Row(const json& report, const std::string& node) {
  for (const auto& row : report["nodes"])
    if (row["node"] == node) return &row;
  return nullptr;
}

TEST(IntegerChain, ActivationAndScalarArithmeticRunOnInt8BetweenConvolutions) {
  for (ActivationType type : {ActivationType::HARD_SWISH, ActivationType::SIGMOID, ActivationType::LEAKY_RELU})
    for (const char* algo : {"symmetric", "asymmetric"}) {
      SCOPED_TRACE(std::string(algo) + " type " + std::to_string(static_cast<int>(type)));
      Chain c = MakeChain(type, false);
      auto model = BuildOrDie(c.network.get(),
                              std::string(R"({"precision_config": {"precision_mode": )") +
                                  R"("qint8_mixed_float32", "int8_table_chains": "on", "activation_quant_algo": ")" +
                                  algo + "\"}}");
      ASSERT_NE(model, nullptr);
      auto engine = model->CreateIEngine();
      ContextOptions reference;
      reference.force_reference = true;
      auto fast = engine->CreateIContext();
      auto ref = engine->CreateIContext(reference);
      auto input = RandomFloats(8 * 8 * 3, 5);
      const auto a = RunOnce(fast.get(), Dims({1, 8, 8, 3}), input);
      const auto b = RunOnce(ref.get(), Dims({1, 8, 8, 3}), input);
      ASSERT_EQ(a.size(), 4u * 8 * 8);
      EXPECT_EQ(a, b);
      // Only the network input is quantized: no Dequantize / Quantize around the chain.
      EXPECT_EQ(ConvertSteps(fast.get()), 1);
      EXPECT_EQ(ConvertSteps(ref.get()), 1);
      const bool avx2 = kernels::BestIsa() >= kernels::Isa::kAvx2;
      for (IContext* context : {fast.get(), ref.get()}) {
        const json report = json::parse(context->GetPrecisionReportJson());
        for (INode* node : c.chain_nodes) {
          const json* row = Row(report, node->GetNodeName());
          ASSERT_NE(row, nullptr) << node->GetNodeName();
          const std::string kernel = context == ref.get()             ? "reference-quantized"
                                     : ops::Int8LookupVbmiAvailable() ? "avx512vbmi-int8-lut"
                                     : avx2                           ? "avx2-int8-lut"
                                                                      : "reference-quantized";
          EXPECT_EQ((*row)["kernel"], kernel) << node->GetNodeName();
          EXPECT_EQ((*row)["outputs"][0]["storage"], "INT8") << node->GetNodeName();
          bool qint8_input = false;
          for (const auto& in : (*row)["inputs"]) qint8_input = qint8_input || in["actual"] == "QINT8";
          EXPECT_TRUE(qint8_input) << node->GetNodeName();
        }
      }
      // Close to float32 (three int8 steps of about 0.01 between the convolutions).
      auto float_model = BuildOrDie(c.network.get());
      auto float_context = float_model->CreateIEngine()->CreateIContext();
      const auto f = RunOnce(float_context.get(), Dims({1, 8, 8, 3}), input);
      float max_err = 0.0f, max_abs = 0.0f;
      for (size_t i = 0; i < f.size(); ++i) {
        max_err = std::max(max_err, std::abs(a[i] - f[i]));
        max_abs = std::max(max_abs, std::abs(f[i]));
      }
      EXPECT_LT(max_err, 0.1f * max_abs);
      EXPECT_GT(max_err, 0.0f);  // it is quantized
    }
}

// In qint8_mixed_float16 the chain is the same int8 chain (no float16 tensor
// exists between the convolutions); fast and reference agree.
TEST(IntegerChain, Float16ModeRunsTheSameChain) {
  Chain c = MakeChain(ActivationType::GELU_TANH, false);
  ASSERT_TRUE(c.last->SetOutputType(0, DataType::FLOAT32).ok());  // RunOnce reads float32
  auto model = BuildOrDie(
      c.network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float16", "int8_table_chains": "on"}})");
  ASSERT_NE(model, nullptr);
  auto engine = model->CreateIEngine();
  ContextOptions reference;
  reference.force_reference = true;
  auto fast = engine->CreateIContext();
  auto ref = engine->CreateIContext(reference);
  auto input = RandomFloats(8 * 8 * 3, 9);
  const auto a = RunOnce(fast.get(), Dims({1, 8, 8, 3}), input);
  EXPECT_EQ(a, RunOnce(ref.get(), Dims({1, 8, 8, 3}), input));
  EXPECT_EQ(ConvertSteps(fast.get()), 1);
}

// Calibration observes what the build quantizes: the chain's input is the
// output of the hard_swish the build folds x * clip(x + 3, 0, 6) / 6 into, so
// the calibrator must plan on the folded graph to give it a range.
TEST(IntegerChain, CalibrationGivesTheFoldedHardSwishItsRange) {
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 8, 8, 3}));
  ITensor* y = Conv(n, x, 3, 8, 21);
  ITensor* shifted = n->AddIElementwiseNode(y, Scalar(n, 3.0f), ElementwiseOp::ADD)->GetOutput(0);
  IActivationNode* clip = n->AddIActivationNode(shifted, ActivationType::CLIP);
  ASSERT_TRUE(clip->SetAttr("alpha", 0.0f).ok());
  ASSERT_TRUE(clip->SetAttr("beta", 6.0f).ok());
  ITensor* product = n->AddIElementwiseNode(y, clip->GetOutput(0), ElementwiseOp::MUL)->GetOutput(0);
  ITensor* swish = n->AddIElementwiseNode(product, Scalar(n, 6.0f), ElementwiseOp::DIV)->GetOutput(0);
  ASSERT_TRUE(n->MarkOutput(Conv(n, swish, 8, 4, 23)).ok());
  std::vector<VectorCalibData::Sample> samples;
  for (uint32_t s = 0; s < 4; ++s) samples.push_back({Dims({1, 8, 8, 3}), RandomFloats(8 * 8 * 3, 30 + s)});
  VectorCalibData data(samples);
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config
                  ->ParseFromString(
                      R"({"precision_config": {"precision_mode": "qint8_mixed_float32", "int8_table_chains": "on"}})")
                  .ok());
  ASSERT_TRUE(CreateICalibrator(&data)->Calibrate(n, config.get()).ok());
  auto builder = CreateIBuilder();
  auto model = builder->BuildModel("calibrated", n, config.get());
  ASSERT_NE(model, nullptr) << builder->GetLastStatus().ToString();
  auto context = model->CreateIEngine()->CreateIContext();
  ASSERT_TRUE(context->Prepare({Dims({1, 8, 8, 3})}).ok());
  int lut_steps = 0;
  for (const auto& step : Impl(context.get())->plan().steps) {
    lut_steps += step.op == OpKind::kActivation &&
                 Impl(context.get())->graph().node(step.node)->attrs.Str("type") == "hard_swish" && step.def &&
                 std::string(step.def->name) != "avx2";
  }
  EXPECT_EQ(lut_steps, 1);
  EXPECT_EQ(ConvertSteps(context.get()), 1);
}

TEST(IntegerChain, OutputsNotConsumedQuantizedKeepTheFloatPath) {
  Chain c = MakeChain(ActivationType::HARD_SWISH, true);
  auto model = BuildOrDie(
      c.network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float32", "int8_table_chains": "on"}})");
  ASSERT_NE(model, nullptr);
  auto context = model->CreateIEngine()->CreateIContext();
  auto input = RandomFloats(8 * 8 * 3, 5);
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  ASSERT_TRUE(context->Prepare({Dims({1, 8, 8, 3})}).ok());
  const json report = json::parse(context->GetPrecisionReportJson());
  for (INode* node : c.chain_nodes) {
    const json* row = Row(report, node->GetNodeName());
    ASSERT_NE(row, nullptr);
    EXPECT_EQ((*row)["outputs"][0]["storage"], "FLOAT32") << node->GetNodeName();
    // No table: the float step, or fused into the convolution's float output (fuse_float_chain.cc).
    EXPECT_EQ(std::string((*row)["kernel"]).find("lut"), std::string::npos) << node->GetNodeName();
  }
  // The network input, and the add's output for the second convolution.
  EXPECT_EQ(ConvertSteps(context.get()), 2);
}

// Off unless asked (each table step quantizes its output: an accuracy cost,
// docs/precision.md), and never in qint16 or dynamic modes.
TEST(IntegerChain, OffByDefaultAndNotAppliedInQint16OrDynamicModes) {
  for (const char* config : {R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})",
                             R"({"precision_config": {"precision_mode": "qint16_mixed_float32"}})",
                             R"({"precision_config": {"precision_mode": "qint8_mixed_float32",
                                  "int8_table_chains": "on", "activation_quant_mode": "dynamic"}})"}) {
    Chain c = MakeChain(ActivationType::SIGMOID, false);
    auto model = BuildOrDie(c.network.get(), config);
    ASSERT_NE(model, nullptr);
    auto context = model->CreateIEngine()->CreateIContext();
    ASSERT_TRUE(context->Prepare({Dims({1, 8, 8, 3})}).ok());
    const json report = json::parse(context->GetPrecisionReportJson());
    const json* row = Row(report, c.chain_nodes[0]->GetNodeName());
    ASSERT_NE(row, nullptr);
    EXPECT_EQ((*row)["inputs"][0]["actual"], "FLOAT32") << config;
  }
}

}  // namespace
}  // namespace mixq::testing
