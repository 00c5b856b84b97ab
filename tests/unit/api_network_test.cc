// Public API: the seed's snippet, the small ResNet end to end, model files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <thread>

#include "../../examples/seed_network.h"
#include "../../examples/small_resnet.h"
#include "api_test_util.h"

namespace mixq::testing {
namespace {

TEST(NetworkNames, RenamedNodeLeavesNoNameForTheNextOne) {
  // The first node's output keeps the name it was created with ("<op>:0");
  // a second node of the same op, created after the rename, must not reuse it.
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({1, 4}));
  IActivationNode* first = network->AddIActivationNode(x, ActivationType::RELU);
  const std::string first_output = first->GetOutput(0)->GetTensorName();
  ASSERT_TRUE(first->SetNodeName("renamed").ok());
  IActivationNode* second = network->AddIActivationNode(first->GetOutput(0), ActivationType::RELU);
  EXPECT_NE(second->GetOutput(0)->GetTensorName(), first_output);
  ASSERT_TRUE(network->MarkOutput(second->GetOutput(0)).ok());
  auto model = BuildOrDie(network.get());
  ASSERT_NE(model, nullptr);
  std::vector<float> in = {-1.0f, 2.0f, -3.0f, 4.0f};
  EXPECT_EQ(RunOnce(model->CreateIEngine()->CreateIContext().get(), Dims({1, 4}), in),
            (std::vector<float>{0.0f, 2.0f, 0.0f, 4.0f}));
}

TEST(SeedSnippet, CompilesAndBuildsTheGraphAsWritten) {
  auto network = CreateINetwork();
  ASSERT_TRUE(examples::BuildSeedNetworkAsWritten(network.get(), examples::MakeSeedWeights(1)).ok());
  INode* conv = network->FindNodeByName("Conv2D");
  ASSERT_NE(conv, nullptr);
  DataType t;
  ASSERT_TRUE(conv->GetPrecision(0, &t));
  EXPECT_EQ(t, DataType::QINT8);
  ASSERT_TRUE(conv->GetPrecision(2, &t));
  EXPECT_EQ(t, DataType::FLOAT16);
  ASSERT_TRUE(conv->GetOutputType(0, &t));
  EXPECT_EQ(t, DataType::FLOAT16);
  EXPECT_EQ(network->GetOutput(0)->GetDimension(), Dims({-1, -1, -1, 16}));
  EXPECT_EQ(network->GetInput(0)->GetDataType(), DataType::QINT8);
  // Without a range for the quantized input the build names the tensor.
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config->ParseFromString(R"({"precision_config": {"precision_mode": "qint8_mixed_float16"}})").ok());
  auto builder = CreateIBuilder();
  EXPECT_EQ(builder->BuildModel("seed", network.get(), config.get()), nullptr);
  EXPECT_EQ(builder->GetLastStatus().code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(builder->GetLastStatus().message().find("'input0'"), std::string::npos)
      << builder->GetLastStatus().message();
}

TEST(SeedSnippet, RunsQuantizedWithAHandSetRange) {
  auto weights = examples::MakeSeedWeights(1);
  auto network = CreateINetwork();
  ASSERT_TRUE(examples::BuildSeedNetworkAsWritten(network.get(), weights).ok());
  ASSERT_TRUE(network->GetInput(0)->SetDynamicRange(Range{-1.0f, 1.0f}, true).ok());
  auto model = BuildOrDie(network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float16"}})");
  ASSERT_NE(model, nullptr);
  const std::string report = model->GetPrecisionReportJson();
  // conv: input and filter QINT8, bias FLOAT16, output FLOAT16; pool output FLOAT16.
  EXPECT_NE(report.find(R"("actual":"QINT8","requested":"QINT8","requested_by":"node","tensor":"input0")"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find(R"("actual":"FLOAT16","requested":"FLOAT16","requested_by":"node","tensor":"Constant_1:0")"),
            std::string::npos)
      << report;
  EXPECT_EQ(model->GetOutputDataTypes()[0], DataType::FLOAT16);
  // Float reference of the same network.
  auto float_net = CreateINetwork();
  ASSERT_TRUE(examples::BuildSeedNetworkFloat(float_net.get(), weights).ok());
  auto float_model = BuildOrDie(float_net.get());
  Dims dims({1, 8, 8, 3});
  auto input = RandomFloats(static_cast<size_t>(dims.GetElementCount()), 2);
  auto expected = RunOnce(float_model->CreateIEngine()->CreateIContext().get(), dims, input);
  auto context = model->CreateIEngine()->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  context->CreateInputTensors(&inputs);
  context->CreateOutputTensors(&outputs);
  inputs[0]->SetDimensions(dims);
  inputs[0]->SetData(input.data(), input.size() * 4);
  ASSERT_TRUE(context->Enqueue(inputs, outputs).ok());
  ASSERT_EQ(outputs[0]->GetDataType(), DataType::FLOAT16);
  const uint16_t* half = static_cast<const uint16_t*>(outputs[0]->GetData());
  // Error bound: input step 1/127 times the L1 norm of a filter (27 taps of
  // |w| < 1.5) plus weight steps, plus float16 rounding: generously 0.15.
  double max_err = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    uint16_t h = half[i];
    // float16 -> float32 by hand to stay independent of the code under test.
    int exp = (h >> 10) & 31, mant = h & 1023;
    double v = exp == 0 ? mant * std::ldexp(1.0, -24) : (1024 + mant) * std::ldexp(1.0, exp - 25);
    if (h & 0x8000) v = -v;
    max_err = std::max(max_err, std::fabs(v - expected[i]));
  }
  EXPECT_LT(max_err, 0.15);
  EXPECT_GT(max_err, 0.0);  // it really ran quantized
}

TEST(SeedSnippet, OperatorOverrideBeatsNetworkMode) {
  auto network = CreateINetwork();
  ASSERT_TRUE(examples::BuildSeedNetworkAsWritten(network.get(), examples::MakeSeedWeights(1)).ok());
  network->GetInput(0)->SetDataType(DataType::FLOAT32);
  INode* conv = network->FindNodeByName("Conv2D");
  ASSERT_TRUE(conv->SetPrecision(0, DataType::FLOAT32).ok());
  ASSERT_TRUE(conv->SetPrecision(1, DataType::FLOAT32).ok());
  auto model = BuildOrDie(network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})");
  ASSERT_NE(model, nullptr);
  const std::string report = model->GetPrecisionReportJson();
  EXPECT_EQ(report.find("QINT8"), std::string::npos) << report;
  // Kernels are chosen per shape: the build-time report says so.
  EXPECT_NE(report.find(R"x("kernel":"(per shape)")x"), std::string::npos) << report;
  EXPECT_NE(report.find(R"("stage":"build")"), std::string::npos) << report;
}

TEST(SeedSnippet, QuantizedPrecisionOnNonQuantizableOpIsAnError) {
  auto network = CreateINetwork();
  ASSERT_TRUE(examples::BuildSeedNetworkFloat(network.get(), examples::MakeSeedWeights(1)).ok());
  INode* pool = network->FindNodeByName("MaxPool2D");
  ASSERT_TRUE(pool->SetPrecision(0, DataType::QINT16).ok());
  auto builder = CreateIBuilder();
  EXPECT_EQ(builder->BuildModel("seed", network.get(), nullptr), nullptr);
  EXPECT_EQ(builder->GetLastStatus().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(builder->GetLastStatus().message().find("node 'MaxPool2D' (MaxPool2D) input 0"), std::string::npos)
      << builder->GetLastStatus().message();
}

TEST(SeedNetwork, Float32RunsOnTwoSizes) {
  auto network = CreateINetwork();
  ASSERT_TRUE(examples::BuildSeedNetworkFloat(network.get(), examples::MakeSeedWeights(1)).ok());
  auto model = BuildOrDie(network.get(), R"({"precision_config": {"precision_mode": "force_float32"}})");
  ASSERT_NE(model, nullptr);
  auto engine = model->CreateIEngine();
  auto context = engine->CreateIContext();
  for (auto dims : {Dims({1, 9, 11, 3}), Dims({2, 16, 13, 3})}) {
    auto input = RandomFloats(static_cast<size_t>(dims.GetElementCount()), 3);
    Dims out_dims;
    auto y = RunOnce(context.get(), dims, input, &out_dims);
    // conv 3x3 valid, then 2x2 / 2 pooling.
    EXPECT_EQ(out_dims, Dims({dims[0], (dims[1] - 2) / 2, (dims[2] - 2) / 2, 16}));
    std::vector<Dims> inferred;
    ASSERT_TRUE(context->InferOutputShape({dims}, &inferred).ok());
    EXPECT_EQ(inferred[0], out_dims);
  }
}

class SmallResNetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    network_ = CreateINetwork();
    ASSERT_TRUE(examples::BuildSmallResNet(network_.get()).ok());
    model_ = BuildOrDie(network_.get());
    ASSERT_NE(model_, nullptr);
    input_ = RandomFloats(2 * 16 * 16 * 3, 9);
  }
  std::unique_ptr<INetwork> network_;
  std::unique_ptr<IModel> model_;
  std::vector<float> input_;
  const Dims dims_{2, 16, 16, 3};
};

TEST_F(SmallResNetTest, RunsAndOutputsProbabilities) {
  auto context = model_->CreateIEngine()->CreateIContext();
  Dims out_dims;
  auto y = RunOnce(context.get(), dims_, input_, &out_dims);
  ASSERT_EQ(out_dims, Dims({2, 10}));
  for (int b = 0; b < 2; ++b) {
    double sum = 0;
    for (int i = 0; i < 10; ++i) {
      EXPECT_GT(y[b * 10 + i], 0.0f);
      sum += y[b * 10 + i];
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
  EXPECT_GT(context->GetActivationBytes(), 0);
}

TEST_F(SmallResNetTest, SerializeDeserializeGivesIdenticalResults) {
  auto engine = model_->CreateIEngine();
  auto before = RunOnce(engine->CreateIContext().get(), dims_, input_);
  const std::string path = ::testing::TempDir() + "/small_resnet.mixq";
  ASSERT_TRUE(model_->SerializeToFile(path).ok());
  auto loaded = CreateIModel();
  Status s = loaded->DeserializeFromFile(path);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(loaded->GetInputNames(), model_->GetInputNames());
  EXPECT_EQ(loaded->GetOutputNames(), (std::vector<std::string>{"probabilities"}));
  EXPECT_EQ(loaded->GetInputDimensions()[0], Dims({-1, 16, 16, 3}));
  EXPECT_EQ(loaded->GetWeightBytes(), model_->GetWeightBytes());
  EXPECT_EQ(loaded->GetPrecisionReport(), model_->GetPrecisionReport());
  auto after = RunOnce(loaded->CreateIEngine()->CreateIContext().get(), dims_, input_);
  EXPECT_EQ(before, after);  // bit-identical
  std::remove(path.c_str());
}

TEST_F(SmallResNetTest, SameContextTwiceIsBitIdentical) {
  auto context = model_->CreateIEngine()->CreateIContext();
  auto first = RunOnce(context.get(), dims_, input_);
  auto other = RandomFloats(input_.size() * 2, 4);
  RunOnce(context.get(), Dims({4, 16, 16, 3}), other);  // a different shape in between
  auto second = RunOnce(context.get(), dims_, input_);
  EXPECT_EQ(first, second);
}

TEST_F(SmallResNetTest, ContextsOnManyThreadsAgree) {
  auto engine = model_->CreateIEngine();
  auto expected = RunOnce(engine->CreateIContext().get(), dims_, input_);
  std::vector<std::vector<float>> results(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      auto context = engine->CreateIContext();
      std::vector<float> input = input_;
      for (int k = 0; k < 3; ++k) results[static_cast<size_t>(t)] = RunOnce(context.get(), dims_, input);
    });
  for (auto& th : threads) th.join();
  for (const auto& r : results) EXPECT_EQ(r, expected);
}

TEST_F(SmallResNetTest, PrecisionReportListsEveryComputeNode) {
  const std::string report = model_->GetPrecisionReport();
  EXPECT_NE(report.find("precision mode: force_float32"), std::string::npos) << report;
  EXPECT_NE(report.find("Softmax"), std::string::npos);
  EXPECT_NE(report.find("FLOAT32"), std::string::npos);
  EXPECT_EQ(report.find("Constant"), std::string::npos);
}

TEST_F(SmallResNetTest, MemoryPlanReusesBuffers) {
  auto context = model_->CreateIEngine()->CreateIContext();
  RunOnce(context.get(), dims_, input_);
  // Sum of every activation (conv outputs alone: 2*16*16*8 floats x several).
  int64_t all_activations = 0;
  for (INode* node : network_->GetAllNodes()) {
    if (node->GetOpType() == "Constant") continue;
    Dims d = node->GetOutput(0)->GetDimension();
    d.SetDimValue(0, 2);
    all_activations += d.GetElementCount() * 4;
  }
  EXPECT_LT(context->GetActivationBytes(), all_activations / 2);
}

}  // namespace
}  // namespace mixq::testing

namespace mixq::testing {
namespace {

// Float32 Conv2D runs on optimized kernels (this channels-last network's
// few channels: the direct NHWC kernels, ops/conv2d/cpu_direct_nhwc.cc)
// unless the context forces the reference kernels; both agree within
// float32 summation-order rounding.
TEST(OptimizedKernels, ForceReferenceAgreesWithTheFastKernels) {
  auto network = CreateINetwork();
  ASSERT_TRUE(examples::BuildSmallResNet(network.get()).ok());
  auto model = BuildOrDie(network.get());
  auto engine = model->CreateIEngine();
  auto x = RandomFloats(2 * 16 * 16 * 3, 21);
  ContextOptions reference_only;
  reference_only.force_reference = true;
  auto fast_context = engine->CreateIContext();
  auto slow_context = engine->CreateIContext(reference_only);
  auto fast = RunOnce(fast_context.get(), Dims({2, 16, 16, 3}), x);
  auto slow = RunOnce(slow_context.get(), Dims({2, 16, 16, 3}), x);
  // The plan reports name the kernels that ran.
  EXPECT_NE(fast_context->GetPrecisionReportJson().find("-f32-direct\""), std::string::npos);
  EXPECT_EQ(slow_context->GetPrecisionReportJson().find("-f32-direct\""), std::string::npos);
  EXPECT_NE(slow_context->GetPrecisionReportJson().find("\"kernel\":\"reference\""), std::string::npos);
  ASSERT_EQ(fast.size(), slow.size());
  for (size_t i = 0; i < fast.size(); ++i) EXPECT_NEAR(fast[i], slow[i], 1e-5f);
}

}  // namespace
}  // namespace mixq::testing
