// Float32 activations fused into oneDNN's convolution and MatMul as eltwise
// post-ops (ops/onednn_support.cc): relu, relu6, clip, leaky_relu,
// hard_swish and the scalar * c / + c after them run inside the step, with
// the numbers of the separate steps (force_reference lowers with no fusion at
// all) within float32 reassociation, and NaN treated alike: the clamps map it
// to their lower bound (ops/clamp.h), the others propagate it. Near misses
// stay separate steps.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "fusion_test_util.h"
#include "ops/kernel_registry.h"
#include "runtime/engine.h"

namespace mixq::testing {
namespace {

constexpr char kFloat32[] = R"({"precision_config": {"precision_mode": "force_float32"}})";

ITensor* ScalarConst(INetwork* network, float value) {
  return network->AddIConstNode(DataType::FLOAT32, Dims({1}), &value)->GetOutput(0);
}

IConvNode* Conv(INetwork* n, ITensor* x, int64_t cin, int64_t cout, uint32_t seed) {
  IConvNode* conv =
      n->AddIConvNode(x, RandomConst(n, {cout, cin, 3, 3}, seed, 0.6f), RandomConst(n, {cout}, seed + 1, 0.5f));
  EXPECT_TRUE(conv->SetAttr("pads", std::vector<int64_t>{1, 1, 1, 1}).ok());
  EXPECT_TRUE(conv->SetAttr("input_layout", std::string("NCHW")).ok());
  EXPECT_TRUE(conv->SetAttr("output_layout", std::string("NCHW")).ok());
  EXPECT_TRUE(conv->SetAttr("filter_layout", std::string("OIHW")).ok());
  return conv;
}

struct Act {
  const char* name;
  ActivationType type;
  float alpha, beta;  // NaN: unset
  bool clamp;         // maps NaN to its lower bound
};

const float kUnset = std::nanf("");

const Act kActs[] = {
    {"relu", ActivationType::RELU, kUnset, kUnset, true},
    {"relu6", ActivationType::RELU6, kUnset, kUnset, true},
    {"clip", ActivationType::CLIP, -0.7f, 0.9f, true},
    {"leaky_relu", ActivationType::LEAKY_RELU, 0.2f, kUnset, false},
    {"hard_swish", ActivationType::HARD_SWISH, kUnset, kUnset, false},
};

ITensor* Activation(INetwork* n, ITensor* x, const Act& act) {
  IActivationNode* node = n->AddIActivationNode(x, act.type);
  if (!std::isnan(act.alpha)) {
    EXPECT_TRUE(node->SetAlpha(act.alpha).ok());
  }
  if (!std::isnan(act.beta)) {
    EXPECT_TRUE(node->SetBeta(act.beta).ok());
  }
  return node->GetOutput(0);
}

// Same NaN positions; elsewhere within float32 reassociation of the
// convolution (oneDNN sums in another order than the reference) and hard_swish
// in float32 (oneDNN) against double (the reference), rounded once.
void ExpectSameNumbers(const std::vector<float>& fast, const std::vector<float>& ref) {
  ASSERT_EQ(fast.size(), ref.size());
  ASSERT_FALSE(fast.empty());
  for (size_t i = 0; i < fast.size(); ++i) {
    ASSERT_EQ(std::isnan(fast[i]), std::isnan(ref[i])) << i;
    if (!std::isnan(ref[i])) {
      EXPECT_NEAR(fast[i], ref[i], 2e-5 * (1 + std::fabs(ref[i]))) << i;
    }
  }
}

bool HaveOneDnn() {
  return ops::FindKernel(OpKind::kConv2D, "onednn") != nullptr;
}

// conv (5 -> 8, 3x3, 7x9) -> activation -> * 0.37 -> + (-0.2), the output.
TEST(OneDnnPostOps, ConvActivationAndScalarsAreOneStepWithTheSameNumbers) {
  if (!HaveOneDnn()) GTEST_SKIP();
  for (const Act& act : kActs) {
    SCOPED_TRACE(act.name);
    auto network = CreateINetwork();
    INetwork* n = network.get();
    ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 5, 7, 9}));
    IConvNode* conv = Conv(n, x, 5, 8, 1);
    ITensor* a = Activation(n, conv->GetOutput(0), act);
    ITensor* scaled = n->AddIElementwiseNode(a, ScalarConst(n, 0.37f), ElementwiseOp::MUL)->GetOutput(0);
    ITensor* y = n->AddIElementwiseNode(scaled, ScalarConst(n, -0.2f), ElementwiseOp::ADD)->GetOutput(0);
    ASSERT_TRUE(n->MarkOutput(y).ok());
    auto model = BuildOrDie(n, kFloat32);
    ASSERT_NE(model, nullptr);
    auto input = RandomFloats(5 * 7 * 9, 6, -2.0f, 2.0f);
    input[31] = std::nanf("");  // reaches a 3x3 window of every output channel
    const Ran fast = RunPlan(model.get(), conv->GetNodeName(), false, input, Dims({1, 5, 7, 9}));
    const Ran ref = RunPlan(model.get(), conv->GetNodeName(), true, input, Dims({1, 5, 7, 9}));
    EXPECT_EQ(fast.kernel, "onednn");
    EXPECT_EQ(fast.fused, (std::vector<std::string>{"Activation", "Elementwise", "Elementwise"}));
    EXPECT_EQ(fast.steps, 1u);
    EXPECT_TRUE(ref.fused.empty());
    ExpectSameNumbers(fast.y, ref.y);
    int nan = 0, at_bound = 0;
    const float lo = act.type == ActivationType::CLIP ? act.alpha : 0.0f;
    for (float v : fast.y) {
      nan += std::isnan(v);
      at_bound += v == lo * 0.37f - 0.2f;
    }
    if (act.clamp) {
      EXPECT_EQ(nan, 0) << "a clamp maps NaN to its lower bound";
      EXPECT_GE(at_bound, 8 * 9) << "every output the NaN reached is the bound, then * 0.37 - 0.2";
    } else {
      EXPECT_EQ(nan, 8 * 9) << "the NaN reaches a 3x3 window of 8 channels and stays NaN";
    }
  }
}

// ResNet's tail: conv + residual add + relu, one step (sum, then eltwise).
TEST(OneDnnPostOps, ResidualAddThenReluIsOneStep) {
  if (!HaveOneDnn()) GTEST_SKIP();
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 8, 6, 5}));
  IConvNode* first = Conv(n, x, 8, 8, 3);
  IConvNode* second = Conv(n, first->GetOutput(0), 8, 8, 5);
  ITensor* sum = n->AddIElementwiseNode(second->GetOutput(0), x, ElementwiseOp::ADD)->GetOutput(0);
  ITensor* y = n->AddIActivationNode(sum, ActivationType::RELU)->GetOutput(0);
  ASSERT_TRUE(n->MarkOutput(y).ok());
  auto model = BuildOrDie(n, kFloat32);
  ASSERT_NE(model, nullptr);
  const auto input = RandomFloats(8 * 6 * 5, 9, -1.5f, 1.5f);
  const Ran fast = RunPlan(model.get(), second->GetNodeName(), false, input, Dims({1, 8, 6, 5}));
  const Ran ref = RunPlan(model.get(), second->GetNodeName(), true, input, Dims({1, 8, 6, 5}));
  EXPECT_EQ(fast.fused, (std::vector<std::string>{"Elementwise", "Activation"}));
  EXPECT_EQ(fast.steps, 2u);
  ExpectSameNumbers(fast.y, ref.y);
  int zeros = 0;
  for (float v : fast.y) zeros += v == 0.0f;
  EXPECT_GT(zeros, 0);  // the relu did clamp something
}

// MatMul with a constant operand, then relu6.
TEST(OneDnnPostOps, MatMulThenRelu6IsOneStep) {
  if (!HaveOneDnn()) GTEST_SKIP();
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({3, 17}));
  IMatMulNode* mm = n->AddIMatMulNode(x, RandomConst(n, {17, 11}, 4, 1.5f));
  ITensor* y = n->AddIActivationNode(mm->GetOutput(0), ActivationType::RELU6)->GetOutput(0);
  ASSERT_TRUE(n->MarkOutput(y).ok());
  auto model = BuildOrDie(n, kFloat32);
  ASSERT_NE(model, nullptr);
  auto input = RandomFloats(3 * 17, 2, -3.0f, 3.0f);
  input[20] = std::nanf("");  // row 1: every output of that row is relu6(NaN) = 0
  const Ran fast = RunPlan(model.get(), mm->GetNodeName(), false, input, Dims({3, 17}));
  const Ran ref = RunPlan(model.get(), mm->GetNodeName(), true, input, Dims({3, 17}));
  ASSERT_EQ(fast.fused, (std::vector<std::string>{"Activation"}));
  ExpectSameNumbers(fast.y, ref.y);
  for (int j = 0; j < 11; ++j) EXPECT_EQ(fast.y[11 + j], 0.0f) << j;
  int six = 0;
  for (float v : fast.y) six += v == 6.0f;
  EXPECT_GT(six, 0);  // the upper bound was hit too
}

TEST(OneDnnPostOps, NearMissesStaySeparate) {
  if (!HaveOneDnn()) GTEST_SKIP();
  // The convolution's output has a second consumer: its unclamped values must
  // exist, so the relu stays a step.
  {
    auto network = CreateINetwork();
    INetwork* n = network.get();
    ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 4, 5, 5}));
    IConvNode* conv = Conv(n, x, 4, 8, 7);
    ITensor* r = n->AddIActivationNode(conv->GetOutput(0), ActivationType::RELU)->GetOutput(0);
    ITensor* y = n->AddIElementwiseNode(r, conv->GetOutput(0), ElementwiseOp::ADD)->GetOutput(0);
    ASSERT_TRUE(n->MarkOutput(y).ok());
    auto model = BuildOrDie(n, kFloat32);
    ASSERT_NE(model, nullptr);
    const auto input = RandomFloats(4 * 5 * 5, 3);
    const Ran fast = RunPlan(model.get(), conv->GetNodeName(), false, input, Dims({1, 4, 5, 5}));
    const Ran ref = RunPlan(model.get(), conv->GetNodeName(), true, input, Dims({1, 4, 5, 5}));
    EXPECT_TRUE(fast.fused.empty());
    EXPECT_EQ(fast.steps, 3u);
    ExpectSameNumbers(fast.y, ref.y);
  }
  // leaky_relu with a slope of 0 would take oneDNN's maxps path (NaN -> 0)
  // where leaky_relu propagates NaN: it stays a step.
  {
    auto network = CreateINetwork();
    INetwork* n = network.get();
    ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 4, 5, 5}));
    IConvNode* conv = Conv(n, x, 4, 8, 7);
    ITensor* y = Activation(n, conv->GetOutput(0), Act{"leaky_relu", ActivationType::LEAKY_RELU, 0.0f, kUnset, false});
    ASSERT_TRUE(n->MarkOutput(y).ok());
    auto model = BuildOrDie(n, kFloat32);
    ASSERT_NE(model, nullptr);
    auto input = RandomFloats(4 * 5 * 5, 3);
    input[12] = std::nanf("");
    const Ran fast = RunPlan(model.get(), conv->GetNodeName(), false, input, Dims({1, 4, 5, 5}));
    EXPECT_TRUE(fast.fused.empty());
    int nan = 0;
    for (float v : fast.y) nan += std::isnan(v);
    EXPECT_EQ(nan, 8 * 9);
  }
}

// ConvTranspose2D + ReLU (+ a scalar): one onednn-col2im step, whose output
// stage applies them; the same numbers as the separate reference steps. A
// second reader of the transposed convolution's output keeps the ReLU a step.
IConvTranspose2DNode* Upsample(INetwork* n, ITensor* x) {
  IConvTranspose2DNode* up = n->AddIConvTranspose2DNode(x, RandomConst(n, {4, 6, 2, 2}, 8, 0.5f), nullptr);
  EXPECT_TRUE(up->SetAttr("strides", std::vector<int64_t>{2, 2}).ok());
  EXPECT_TRUE(up->SetAttr("input_layout", std::string("NCHW")).ok());
  EXPECT_TRUE(up->SetAttr("output_layout", std::string("NCHW")).ok());
  EXPECT_TRUE(up->SetAttr("filter_layout", std::string("IOHW")).ok());
  return up;
}

TEST(OneDnnPostOps, ConvTransposeReluIsOneCol2ImStep) {
  if (ops::FindKernel(OpKind::kConvTranspose2D, "onednn-col2im") == nullptr || kernels::BestIsa() < kernels::Isa::kAvx2)
    GTEST_SKIP() << "no onednn-col2im on this CPU";
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 4, 5, 5}));
  IConvTranspose2DNode* up = Upsample(n, x);
  ITensor* y = n->AddIActivationNode(up->GetOutput(0), ActivationType::RELU)->GetOutput(0);
  ASSERT_TRUE(n->MarkOutput(y).ok());
  auto model = BuildOrDie(n, kFloat32);
  ASSERT_NE(model, nullptr);
  const auto input = RandomFloats(4 * 5 * 5, 3);
  const Ran fast = RunPlan(model.get(), up->GetNodeName(), false, input, Dims({1, 4, 5, 5}));
  const Ran ref = RunPlan(model.get(), up->GetNodeName(), true, input, Dims({1, 4, 5, 5}));
  EXPECT_EQ(fast.kernel, "onednn-col2im");
  EXPECT_EQ(fast.fused.size(), 1u);
  EXPECT_EQ(fast.steps, 1u);
  ExpectSameNumbers(fast.y, ref.y);
  int zeros = 0;
  for (float v : fast.y) zeros += v == 0.0f;
  EXPECT_GT(zeros, 0);  // the ReLU did clamp
}

TEST(OneDnnPostOps, ConvTransposeWithASecondReaderKeepsItsRelu) {
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 4, 5, 5}));
  IConvTranspose2DNode* up = Upsample(n, x);
  ITensor* r = n->AddIActivationNode(up->GetOutput(0), ActivationType::RELU)->GetOutput(0);
  ITensor* y = n->AddIElementwiseNode(r, up->GetOutput(0), ElementwiseOp::ADD)->GetOutput(0);
  ASSERT_TRUE(n->MarkOutput(y).ok());
  auto model = BuildOrDie(n, kFloat32);
  ASSERT_NE(model, nullptr);
  const auto input = RandomFloats(4 * 5 * 5, 3);
  const Ran fast = RunPlan(model.get(), up->GetNodeName(), false, input, Dims({1, 4, 5, 5}));
  const Ran ref = RunPlan(model.get(), up->GetNodeName(), true, input, Dims({1, 4, 5, 5}));
  EXPECT_TRUE(fast.fused.empty());
  EXPECT_EQ(fast.steps, 3u);
  ExpectSameNumbers(fast.y, ref.y);
}

}  // namespace
}  // namespace mixq::testing
