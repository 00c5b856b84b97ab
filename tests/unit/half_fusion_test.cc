// Fusion on float16 storage (runtime/fusion): hard_swish, the residual add
// and scalar products / sums after a convolution that reads float16 join its
// step (the onednn-f16 output
// stage rounds after each, as separate steps would), results match the
// unfused reference run; a quantized anchor or an intermediate with another
// consumer keeps them as separate steps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "../../examples/random_images.h"
#include "api_test_util.h"
#include "kernels/cpu_features.h"
#include "runtime/engine.h"
#include "util/half.h"

namespace mixq::testing {
namespace {

runtime::ContextImpl* Impl(IContext* context) {
  return dynamic_cast<runtime::ContextImpl*>(context);
}

ITensor* Weights(INetwork* network, std::vector<int64_t> dims, uint32_t seed, float scale = 0.3f) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  const auto values = RandomFloats(static_cast<size_t>(count), seed, -scale, scale);
  return network->AddIConstNode(DataType::FLOAT32, Dims(dims), values.data())->GetOutput(0);
}

IConvNode* Conv(INetwork* network, ITensor* x, int64_t in, int64_t out, uint32_t seed) {
  IConvNode* conv =
      network->AddIConvNode(x, Weights(network, {out, 3, 3, in}, seed), Weights(network, {out}, seed + 1));
  EXPECT_TRUE(conv->SetAttr("pads", std::vector<int64_t>{1, 1, 1, 1}).ok());
  return conv;
}

struct Built {
  std::unique_ptr<INetwork> network;
  IConvNode *conv1 = nullptr, *conv2 = nullptr;
  IActivationNode *hard_swish = nullptr, *relu = nullptr;
  IElementwiseNode* add = nullptr;
};

// x -> conv1 -> hard_swish -> conv2 -> + hard_swish's output -> relu.
// `second_reader`: conv2's output is also a network output (a near miss).
Built Network(bool second_reader) {
  Built b;
  b.network = CreateINetwork();
  INetwork* n = b.network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 9, 11, 5}));
  EXPECT_TRUE(x->SetDynamicRange(Range{-2.0f, 2.0f}, true).ok());
  b.conv1 = Conv(n, x, 5, 8, 1);
  b.hard_swish = n->AddIActivationNode(b.conv1->GetOutput(0), ActivationType::HARD_SWISH);
  b.conv2 = Conv(n, b.hard_swish->GetOutput(0), 8, 8, 3);
  b.add = n->AddIElementwiseNode(b.conv2->GetOutput(0), b.hard_swish->GetOutput(0), ElementwiseOp::ADD);
  b.relu = n->AddIActivationNode(b.add->GetOutput(0), ActivationType::RELU);
  EXPECT_TRUE(n->MarkOutput(b.relu->GetOutput(0)).ok());
  if (second_reader) {
    EXPECT_TRUE(n->MarkOutput(b.conv2->GetOutput(0)).ok());
  }
  for (ITensor* t : {b.conv1->GetOutput(0), b.hard_swish->GetOutput(0), b.conv2->GetOutput(0), b.add->GetOutput(0),
                     b.relu->GetOutput(0)})
    EXPECT_TRUE(t->SetDynamicRange(Range{-4.0f, 4.0f}, true).ok());
  return b;
}

// Names of the graph nodes fused into the step of `anchor`.
std::vector<std::string> FusedInto(IContext* context, const std::string& anchor) {
  const runtime::ExecutionPlan& plan = Impl(context)->plan();
  const ir::Graph& graph = Impl(context)->graph();
  std::vector<std::string> names;
  for (const auto& step : plan.steps) {
    if (step.node < 0 || graph.node(step.node)->name != anchor) continue;
    for (int f : step.fused) names.push_back(graph.node(f)->name);
  }
  return names;
}

// The first output as floats (force_float16 networks output FLOAT16).
std::vector<float> RunModel(IEngine* engine, bool reference, std::vector<float> input) {
  ContextOptions options;
  options.force_reference = reference;
  auto context = engine->CreateIContext(options);
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  EXPECT_TRUE(context->CreateInputTensors(&inputs).ok());
  EXPECT_TRUE(context->CreateOutputTensors(&outputs).ok());
  EXPECT_TRUE(inputs[0]->SetDimensions(Dims({1, 9, 11, 5})).ok());
  EXPECT_TRUE(inputs[0]->SetData(input.data(), input.size() * sizeof(float)).ok());
  const Status s = context->Enqueue(inputs, outputs);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return {};
  const int64_t n = outputs[0]->GetDimensions().GetElementCount();
  std::vector<float> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    y[static_cast<size_t>(i)] = outputs[0]->GetDataType() == DataType::FLOAT16
                                    ? HalfToFloat(static_cast<const uint16_t*>(outputs[0]->GetData())[i])
                                    : static_cast<const float*>(outputs[0]->GetData())[i];
  return y;
}

TEST(HalfFusion, HardSwishAndResidualAddJoinFloat16Convolutions) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "the float16 kernels need AVX2 + F16C";
  Built b = Network(false);
  auto model = BuildOrDie(b.network.get(), R"({"precision_config": {"precision_mode": "force_float16"}})");
  ASSERT_NE(model, nullptr);
  auto engine = model->CreateIEngine();
  auto context = engine->CreateIContext(ContextOptions{});
  ASSERT_TRUE(context->Prepare({Dims({1, 9, 11, 5})}).ok());
  EXPECT_EQ(FusedInto(context.get(), b.conv1->GetNodeName()), std::vector<std::string>{b.hard_swish->GetNodeName()});
  EXPECT_EQ(FusedInto(context.get(), b.conv2->GetNodeName()),
            (std::vector<std::string>{b.add->GetNodeName(), b.relu->GetNodeName()}));
  int casts = 0;
  for (const auto& step : Impl(context.get())->plan().steps) casts += step.op == OpKind::kConvert;
  EXPECT_EQ(casts, 1);  // the network input to float16; nothing around the convolutions
  // Against the reference run (no fusion, Cast steps, reference kernels):
  // the convolutions sum in another order, so within a few float16 ulps.
  auto input = RandomFloats(9 * 11 * 5, 7, -2.0f, 2.0f);
  const auto fused = RunModel(engine.get(), false, input), reference = RunModel(engine.get(), true, input);
  ASSERT_EQ(fused.size(), reference.size());
  EXPECT_GT(std::count_if(reference.begin(), reference.end(), [](float v) { return v > 0.01f; }),
            static_cast<long>(reference.size() / 4));  // relu leaves enough values to compare
  for (size_t i = 0; i < fused.size(); ++i)
    EXPECT_NEAR(fused[i], reference[i], 4e-3f * std::max(1.0f, std::fabs(reference[i]))) << i;
}

TEST(HalfFusion, NearMissesKeepSeparateSteps) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "the float16 kernels need AVX2 + F16C";
  {
    // conv2's output is read twice (a network output): no add, no relu fused into it.
    Built b = Network(true);
    auto model = BuildOrDie(b.network.get(), R"({"precision_config": {"precision_mode": "force_float16"}})");
    ASSERT_NE(model, nullptr);
    auto context = model->CreateIEngine()->CreateIContext(ContextOptions{});
    ASSERT_TRUE(context->Prepare({Dims({1, 9, 11, 5})}).ok());
    EXPECT_TRUE(FusedInto(context.get(), b.conv2->GetNodeName()).empty());
    EXPECT_EQ(FusedInto(context.get(), b.conv1->GetNodeName()), std::vector<std::string>{b.hard_swish->GetNodeName()});
  }
  {
    // Quantized convolutions with float16 outputs: hard_swish is no post-op of theirs.
    Built b = Network(false);
    auto model = BuildOrDie(b.network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float16"}})");
    ASSERT_NE(model, nullptr);
    auto context = model->CreateIEngine()->CreateIContext(ContextOptions{});
    ASSERT_TRUE(context->Prepare({Dims({1, 9, 11, 5})}).ok());
    for (const std::string& name : FusedInto(context.get(), b.conv1->GetNodeName()))
      EXPECT_NE(name, b.hard_swish->GetNodeName());
  }
}

// PP-OCR's float16 chain: conv -> hard_swish -> * a -> + b -> conv. The two
// scalar steps join the first convolution's step as kScalar post-ops (its
// output stage rounds after each, as the Elementwise steps would), so the
// float16 tensor between the convolutions has no elementwise step to read
// it. `mul_read_twice`: the product is also a network output (a near miss:
// the sum stays a separate step).
struct ScalarChain {
  std::unique_ptr<INetwork> network;
  IConvNode *conv1 = nullptr, *conv2 = nullptr;
  IActivationNode* hard_swish = nullptr;
  IElementwiseNode *mul = nullptr, *add = nullptr;
};

ScalarChain ScalarChainNetwork(bool mul_read_twice) {
  ScalarChain c;
  c.network = CreateINetwork();
  INetwork* n = c.network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 9, 11, 5}));
  c.conv1 = Conv(n, x, 5, 8, 11);
  c.hard_swish = n->AddIActivationNode(c.conv1->GetOutput(0), ActivationType::HARD_SWISH);
  const float a = 0.3711f, b = -0.0917f;
  c.mul = n->AddIElementwiseNode(n->AddIConstNode(DataType::FLOAT32, Dims({1}), &a)->GetOutput(0),
                                 c.hard_swish->GetOutput(0), ElementwiseOp::MUL);
  c.add = n->AddIElementwiseNode(c.mul->GetOutput(0), n->AddIConstNode(DataType::FLOAT32, Dims({1}), &b)->GetOutput(0),
                                 ElementwiseOp::ADD);
  c.conv2 = Conv(n, c.add->GetOutput(0), 8, 8, 13);
  EXPECT_TRUE(n->MarkOutput(c.conv2->GetOutput(0)).ok());
  if (mul_read_twice) {
    EXPECT_TRUE(n->MarkOutput(c.mul->GetOutput(0)).ok());
  }
  return c;
}

TEST(HalfFusion, ScalarProductAndSumJoinFloat16Convolutions) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "the float16 kernels need AVX2 + F16C";
  ScalarChain c = ScalarChainNetwork(false);
  auto model = BuildOrDie(c.network.get(), R"({"precision_config": {"precision_mode": "force_float16"}})");
  ASSERT_NE(model, nullptr);
  auto engine = model->CreateIEngine();
  auto context = engine->CreateIContext(ContextOptions{});
  ASSERT_TRUE(context->Prepare({Dims({1, 9, 11, 5})}).ok());
  EXPECT_EQ(FusedInto(context.get(), c.conv1->GetNodeName()),
            (std::vector<std::string>{c.hard_swish->GetNodeName(), c.mul->GetNodeName(), c.add->GetNodeName()}));
  int elementwise = 0;
  for (const auto& step : Impl(context.get())->plan().steps) elementwise += step.op == OpKind::kElementwise;
  EXPECT_EQ(elementwise, 0);
  // Against the reference run (no fusion, each step rounded to float16): the
  // convolutions sum in another order, so within a few float16 ulps.
  auto input = RandomFloats(9 * 11 * 5, 9, -2.0f, 2.0f);
  const auto fused = RunModel(engine.get(), false, input), reference = RunModel(engine.get(), true, input);
  ASSERT_EQ(fused.size(), reference.size());
  for (size_t i = 0; i < fused.size(); ++i)
    EXPECT_NEAR(fused[i], reference[i], 4e-3f * std::max(1.0f, std::fabs(reference[i]))) << i;

  // Near misses: a product read twice keeps the sum out; quantized
  // convolutions (qint8_mixed_float16) take no scalar on float16.
  ScalarChain twice = ScalarChainNetwork(true);
  model = BuildOrDie(twice.network.get(), R"({"precision_config": {"precision_mode": "force_float16"}})");
  ASSERT_NE(model, nullptr);
  context = model->CreateIEngine()->CreateIContext(ContextOptions{});
  ASSERT_TRUE(context->Prepare({Dims({1, 9, 11, 5})}).ok());
  EXPECT_EQ(FusedInto(context.get(), twice.conv1->GetNodeName()),
            (std::vector<std::string>{twice.hard_swish->GetNodeName(), twice.mul->GetNodeName()}));
  ScalarChain quantized = ScalarChainNetwork(false);
  ASSERT_TRUE(quantized.network->GetInput(0)->SetDynamicRange(Range{-2.0f, 2.0f}, true).ok());
  for (ITensor* t : {quantized.conv1->GetOutput(0), quantized.hard_swish->GetOutput(0), quantized.mul->GetOutput(0),
                     quantized.add->GetOutput(0), quantized.conv2->GetOutput(0)})
    ASSERT_TRUE(t->SetDynamicRange(Range{-4.0f, 4.0f}, true).ok());
  model = BuildOrDie(quantized.network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float16"}})");
  ASSERT_NE(model, nullptr);
  context = model->CreateIEngine()->CreateIContext(ContextOptions{});
  ASSERT_TRUE(context->Prepare({Dims({1, 9, 11, 5})}).ok());
  for (const std::string& name : FusedInto(context.get(), quantized.conv1->GetNodeName())) {
    EXPECT_NE(name, quantized.mul->GetNodeName());
    EXPECT_NE(name, quantized.add->GetNodeName());
  }
}

}  // namespace
}  // namespace mixq::testing
