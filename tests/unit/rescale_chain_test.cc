// Integer rescaling steps (passes/integer_chain.h, `int8_rescale_chains`):
// residual adds of two tensors, AvgPool2D and GlobalAvgPool between int8
// convolutions read int8 inputs with their own parameters and write int8, so
// the plan quantizes only the network input; fast and force_reference plans
// agree bit for bit on a calibrated NCHW network with residual adds; the
// report says int8; near misses (an output consumed as float, a network
// output, an input that would need its own Quantize step, the option off,
// dynamic or qint16 modes) keep the float path.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "api_test_util.h"
#include "calib_test_util.h"
#include "kernels/cpu_features.h"
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

// A 3x3 NCHW convolution, pads 1.
ITensor* Conv(INetwork* network, ITensor* x, int64_t in, int64_t out, uint32_t seed) {
  IConvNode* conv =
      network->AddIConvNode(x, Weights(network, {out, in, 3, 3}, seed), Weights(network, {out}, seed + 1));
  EXPECT_TRUE(conv->SetLayout(Layout::NCHW, Layout::OIHW, Layout::NCHW).ok());
  EXPECT_TRUE(conv->SetPad(1, 1, 1, 1).ok());
  return conv->GetOutput(0);
}

const Dims kInput({1, 3, 11, 13});

struct Net {
  std::unique_ptr<INetwork> network;
  std::vector<INode*> rescale_nodes;  // add1, pool, add2, gap
  INode* add1 = nullptr;
};

// x -> conv1 -> y1 -> conv2 -> y2; add1 = y1 + y2 -> conv3 -> y3 -> avgpool
// 3x3 / 1 pad 1 -> p -> conv4 -> y4; add2 = y4 + p -> GAP -> flatten -> FC.
// `add1_output`: add1 is a network output too; `add1_sigmoid`: add1 also
// feeds a sigmoid whose result is an output (a float consumer).
Net MakeNet(bool add1_output = false, bool add1_sigmoid = false) {
  Net net;
  net.network = CreateINetwork();
  INetwork* n = net.network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, kInput);
  ITensor* y1 = Conv(n, x, 3, 8, 1);
  ITensor* y2 = Conv(n, y1, 8, 8, 3);
  IElementwiseNode* add1 = n->AddIElementwiseNode(y1, y2, ElementwiseOp::ADD);
  ITensor* y3 = Conv(n, add1->GetOutput(0), 8, 8, 5);
  IAvgPool2DNode* pool = n->AddIAvgPool2DNode(y3);
  EXPECT_TRUE(pool->SetKernel(3, 3).ok());
  EXPECT_TRUE(pool->SetStride(1, 1).ok());
  EXPECT_TRUE(pool->SetPad(1, 1, 1, 1).ok());
  EXPECT_TRUE(pool->SetLayout(Layout::NCHW).ok());
  ITensor* y4 = Conv(n, pool->GetOutput(0), 8, 8, 7);
  IElementwiseNode* add2 = n->AddIElementwiseNode(y4, pool->GetOutput(0), ElementwiseOp::ADD);
  IGlobalAvgPoolNode* gap = n->AddIGlobalAvgPoolNode(add2->GetOutput(0));
  EXPECT_TRUE(gap->SetLayout(Layout::NCHW).ok());
  ITensor* flat = n->AddIFlattenNode(gap->GetOutput(0), 1)->GetOutput(0);
  ITensor* logits = n->AddIFullyConnectedNode(flat, Weights(n, {5, 8}, 9), Weights(n, {5}, 10))->GetOutput(0);
  EXPECT_TRUE(n->MarkOutput(logits).ok());
  if (add1_output) {
    EXPECT_TRUE(n->MarkOutput(add1->GetOutput(0)).ok());
  }
  if (add1_sigmoid) {
    EXPECT_TRUE(n->MarkOutput(n->AddIActivationNode(add1->GetOutput(0), ActivationType::SIGMOID)->GetOutput(0)).ok());
  }
  net.rescale_nodes = {add1, pool, add2, gap};
  net.add1 = add1;
  return net;
}

std::unique_ptr<IModel> Calibrated(INetwork* network, const std::string& precision_config) {
  std::vector<VectorCalibData::Sample> samples;
  const size_t count = static_cast<size_t>(3 * 11 * 13);
  for (uint32_t s = 0; s < 4; ++s) samples.push_back({kInput, RandomFloats(count, 40 + s)});
  VectorCalibData data(samples);
  auto config = CreateIBuilderConfig();
  EXPECT_TRUE(config->ParseFromString(R"({"precision_config": )" + precision_config + "}").ok());
  const bool dynamic = precision_config.find("dynamic") != std::string::npos;
  if (!dynamic) {
    EXPECT_TRUE(CreateICalibrator(&data)->Calibrate(network, config.get()).ok());
  }
  auto builder = CreateIBuilder();
  auto model = builder->BuildModel("rescale", network, config.get());
  EXPECT_NE(model, nullptr) << builder->GetLastStatus().ToString();
  return model;
}

int ConvertSteps(IContext* context) {
  int converts = 0;
  for (const auto& step : Impl(context)->plan().steps) converts += step.op == OpKind::kConvert;
  return converts;
}

const json* Row(const json& report, const std::string& node) {
  for (const auto& row : report["nodes"])
    if (row["node"] == node) return &row;
  return nullptr;
}

constexpr char kOn[] = R"({"precision_mode": "qint8_mixed_float32", "int8_rescale_chains": "on"})";

TEST(RescaleChain, ResidualAddsAndPoolsRunOnInt8FastEqualsReference) {
  for (const char* algo : {"symmetric", "asymmetric"}) {
    SCOPED_TRACE(algo);
    Net net = MakeNet();
    // On by default (symmetric: the default config; asymmetric: said explicitly).
    const std::string on = std::string(algo) == "symmetric" ? "" : R"("int8_rescale_chains": "on", )";
    auto model = Calibrated(net.network.get(), std::string(R"({"precision_mode": "qint8_mixed_float32", )") + on +
                                                   R"("activation_quant_algo": ")" + algo + "\"}");
    ASSERT_NE(model, nullptr);
    auto engine = model->CreateIEngine();
    ContextOptions reference;
    reference.force_reference = true;
    auto fast = engine->CreateIContext();
    auto ref = engine->CreateIContext(reference);
    for (uint32_t seed : {5u, 6u}) {
      auto input = RandomFloats(3 * 11 * 13, seed);
      const auto a = RunOnce(fast.get(), kInput, input);
      const auto b = RunOnce(ref.get(), kInput, input);
      ASSERT_EQ(a.size(), 5u);
      EXPECT_EQ(a, b);
      // Close to float32, but quantized.
      auto float_model = BuildOrDie(net.network.get());
      const auto f = RunOnce(float_model->CreateIEngine()->CreateIContext().get(), kInput, input);
      float max_err = 0.0f, max_abs = 0.0f;
      for (size_t i = 0; i < f.size(); ++i) {
        max_err = std::max(max_err, std::abs(a[i] - f[i]));
        max_abs = std::max(max_abs, std::abs(f[i]));
      }
      EXPECT_LT(max_err, 0.1f * max_abs);
      EXPECT_GT(max_err, 0.0f);
    }
    // Only the network input is quantized; nothing is dequantized before the FC's float output.
    EXPECT_EQ(ConvertSteps(fast.get()), 1);
    EXPECT_EQ(ConvertSteps(ref.get()), 1);
    const bool avx2 = kernels::BestIsa() >= kernels::Isa::kAvx2;
    for (IContext* context : {fast.get(), ref.get()}) {
      const json report = json::parse(context->GetPrecisionReportJson());
      for (INode* node : net.rescale_nodes) {
        const json* row = Row(report, node->GetNodeName());
        ASSERT_NE(row, nullptr) << node->GetNodeName();
        // The int8 adds take their AVX-512 form where the CPU has it.
        const bool avx512_add = (*row)["op"] == "Elementwise" && kernels::BestIsa() >= kernels::Isa::kAvx512;
        EXPECT_EQ((*row)["kernel"],
                  context == fast.get() && avx2 ? (avx512_add ? "avx512-int8" : "avx2-int8") : "reference-quantized")
            << node->GetNodeName();
        EXPECT_EQ((*row)["outputs"][0]["storage"], "INT8") << node->GetNodeName();
        for (const auto& in : (*row)["inputs"]) EXPECT_EQ(in["actual"], "QINT8") << node->GetNodeName();
        EXPECT_NE(std::string((*row)["reason"]).find("rescales int8"), std::string::npos) << node->GetNodeName();
      }
    }
  }
}

// The add's output also read as float (a sigmoid without table chains) or
// a network output: the add keeps its float inputs; the pools still rescale.
TEST(RescaleChain, AnOutputNotConsumedAsStaticInt8KeepsTheFloatPath) {
  for (bool as_output : {true, false}) {
    SCOPED_TRACE(as_output ? "network output" : "float consumer");
    Net net = MakeNet(as_output, !as_output);
    auto model = Calibrated(net.network.get(), kOn);
    ASSERT_NE(model, nullptr);
    auto engine = model->CreateIEngine();
    ContextOptions reference;
    reference.force_reference = true;
    auto fast = engine->CreateIContext();
    auto ref = engine->CreateIContext(reference);
    auto input = RandomFloats(3 * 11 * 13, 8);
    EXPECT_EQ(RunOnce(fast.get(), kInput, input), RunOnce(ref.get(), kInput, input));
    const json report = json::parse(fast->GetPrecisionReportJson());
    const json* add1 = Row(report, net.add1->GetNodeName());
    ASSERT_NE(add1, nullptr);
    EXPECT_EQ((*add1)["outputs"][0]["storage"], "FLOAT32");
    for (const auto& in : (*add1)["inputs"]) EXPECT_EQ(in["actual"], "FLOAT32");
    const json* pool = Row(report, net.rescale_nodes[1]->GetNodeName());
    ASSERT_NE(pool, nullptr);
    EXPECT_EQ((*pool)["inputs"][0]["actual"], "QINT8");
  }
}

// A squeeze-excitation block: x feeds a GlobalAvgPool and a float multiply.
// Reading x as int8 would add a Quantize of all of x (its producer must still
// write float for the multiply) to save nothing: the pool stays float. Without
// the multiply the producer writes int8 and the pool rescales.
TEST(RescaleChain, NoChainWhereItsInputWouldNeedItsOwnQuantize) {
  for (bool float_use : {true, false}) {
    SCOPED_TRACE(float_use ? "x also read as float" : "x read only by the pool");
    auto network = CreateINetwork();
    INetwork* n = network.get();
    ITensor* x = Conv(n, n->AddIInput(DataType::FLOAT32, kInput), 3, 8, 11);
    IGlobalAvgPoolNode* gap = n->AddIGlobalAvgPoolNode(x);
    ASSERT_TRUE(gap->SetLayout(Layout::NCHW).ok());
    ITensor* flat = n->AddIFlattenNode(gap->GetOutput(0), 1)->GetOutput(0);
    ASSERT_TRUE(n->MarkOutput(n->AddIFullyConnectedNode(flat, Weights(n, {5, 8}, 12), nullptr)->GetOutput(0)).ok());
    if (float_use) {
      ITensor* gate = n->AddIActivationNode(x, ActivationType::SIGMOID)->GetOutput(0);
      ASSERT_TRUE(n->MarkOutput(n->AddIElementwiseNode(x, gate, ElementwiseOp::MUL)->GetOutput(0)).ok());
    }
    auto model = Calibrated(n, kOn);
    ASSERT_NE(model, nullptr);
    auto context = model->CreateIEngine()->CreateIContext();
    ASSERT_TRUE(context->Prepare({kInput}).ok());
    const json report = json::parse(context->GetPrecisionReportJson());
    const json* row = Row(report, gap->GetNodeName());
    ASSERT_NE(row, nullptr);
    EXPECT_EQ((*row)["inputs"][0]["actual"], float_use ? "FLOAT32" : "QINT8");
    EXPECT_EQ(ConvertSteps(context.get()), float_use ? 2 : 1);  // the input; the pool's output for the FC
  }
}

TEST(RescaleChain, NotAppliedWhenOffOrInQint16OrDynamicModes) {
  for (const char* config : {R"({"precision_mode": "qint8_mixed_float32", "int8_rescale_chains": "off"})",
                             R"({"precision_mode": "qint8_mixed_float32", "int8_rescale_chains": "off",
                                 "int8_table_chains": "on"})",
                             R"({"precision_mode": "qint16_mixed_float32", "int8_rescale_chains": "on"})",
                             R"({"precision_mode": "qint8_mixed_float32", "int8_rescale_chains": "on",
                                 "activation_quant_mode": "dynamic"})"}) {
    SCOPED_TRACE(config);
    Net net = MakeNet();
    auto model = Calibrated(net.network.get(), config);
    ASSERT_NE(model, nullptr);
    auto context = model->CreateIEngine()->CreateIContext();
    ASSERT_TRUE(context->Prepare({kInput}).ok());
    const json report = json::parse(context->GetPrecisionReportJson());
    for (INode* node : net.rescale_nodes) {
      const json* row = Row(report, node->GetNodeName());
      ASSERT_NE(row, nullptr);
      for (const auto& in : (*row)["inputs"]) EXPECT_EQ(in["actual"], "FLOAT32") << node->GetNodeName();
      // (An add may be fused into its convolution's float output; its own output stays float.)
      EXPECT_EQ((*row)["outputs"][0]["storage"], "FLOAT32") << node->GetNodeName();
    }
  }
}

}  // namespace
}  // namespace mixq::testing
