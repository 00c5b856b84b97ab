// The execution plan (SPEC §1.5, §6): storage types between operators,
// quantize-once, weights packed once per engine, and a precision report that
// says what actually runs.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "../../examples/random_images.h"
#include "../../examples/small_resnet.h"
#include "api_test_util.h"
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

IConvNode* Conv(INetwork* network, ITensor* x, int64_t in, int64_t out, uint32_t seed) {
  IConvNode* conv =
      network->AddIConvNode(x, Weights(network, {out, 3, 3, in}, seed), Weights(network, {out}, seed + 1));
  EXPECT_TRUE(conv->SetAttr("pads", std::vector<int64_t>{1, 1, 1, 1}).ok());
  return conv;
}

// conv(int8) -> relu -> max-pool -> conv(int8): INT8 storage between the
// convolutions and no float buffer there; the input quantized once.
TEST(ExecutionPlan, IntegerChainKeepsIntegersBetweenConvolutions) {
  for (const bool reference : {false, true}) {
    auto network = CreateINetwork();
    ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({1, 8, 8, 3}));
    ASSERT_TRUE(x->SetDynamicRange(Range{-1.0f, 1.0f}, true).ok());
    IConvNode* conv1 = Conv(network.get(), x, 3, 8, 1);
    IActivationNode* relu = network->AddIActivationNode(conv1->GetOutput(0), ActivationType::RELU);
    IMaxPool2DNode* pool = network->AddIMaxPool2DNode(relu->GetOutput(0), false);
    ASSERT_TRUE(pool->GetOutput(0)->SetDynamicRange(Range{0.0f, 2.0f}, true).ok());
    IConvNode* conv2 = Conv(network.get(), pool->GetOutput(0), 8, 4, 3);
    ASSERT_TRUE(network->MarkOutput(conv2->GetOutput(0)).ok());
    auto model = BuildOrDie(network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})");
    ASSERT_NE(model, nullptr);
    auto engine = model->CreateIEngine();
    ContextOptions options;
    options.force_reference = reference;
    auto context = engine->CreateIContext(options);
    ASSERT_TRUE(context->Prepare({Dims({1, 8, 8, 3})}).ok());
    const runtime::ExecutionPlan& plan = Impl(context.get())->plan();
    const ir::Graph& graph = Impl(context.get())->graph();
    int float_arena_buffers = 0, quantize_steps = 0;
    for (const auto& b : plan.buffers) {
      if (b.offset < 0) continue;  // the input and the weights are not activations
      if (b.info.dtype == DataType::FLOAT32) {
        ++float_arena_buffers;
        EXPECT_EQ(b.name, conv2->GetOutput(0)->GetTensorName()) << "float buffer " << b.name;
      } else {
        EXPECT_EQ(b.info.dtype, DataType::INT8) << b.name;
      }
    }
    for (const auto& step : plan.steps)
      if (step.op == OpKind::kConvert) ++quantize_steps;
    EXPECT_EQ(float_arena_buffers, 1);
    EXPECT_EQ(quantize_steps, 1);  // the network input, nothing between the convolutions
    // Storage of each named tensor.
    for (ITensor* t : {conv1->GetOutput(0), relu->GetOutput(0), pool->GetOutput(0)}) {
      const ir::Value* v = graph.FindValue(t->GetTensorName());
      ASSERT_NE(v, nullptr);
      EXPECT_EQ(v->storage, DataType::INT8) << t->GetTensorName();
    }
    // The run agrees with the plan it was given (reference and fast kernels).
    auto input = RandomFloats(8 * 8 * 3, 5);
    const auto y = RunOnce(context.get(), Dims({1, 8, 8, 3}), input);
    EXPECT_EQ(y.size(), 4u * 4 * 4);
    const json report = json::parse(context->GetPrecisionReportJson());
    EXPECT_EQ(report["stage"], "plan");
    for (const auto& row : report["nodes"]) {
      if (row["node"] == relu->GetNodeName() && !reference) {
        EXPECT_EQ(row["fused_into"], conv1->GetNodeName());
      }
      if (row["node"] == pool->GetNodeName()) {
        EXPECT_EQ(row["outputs"][0]["storage"], "INT8");
      }
      if (row["node"] == conv1->GetNodeName()) {
        EXPECT_EQ(row["outputs"][0]["storage"], "INT8");
      }
    }
  }
}

// qint16 with activation_quant_algo asymmetric: the 16-bit activation gets
// zero point 0 (the exact AVX2 int16 kernels need it; an asymmetric int16
// tensor used to send the convolution to the reference loops), the report
// says so on the node's row, and the fast kernel agrees with the reference
// bit for bit.
TEST(ExecutionPlan, SixteenBitActivationsStaySymmetricUnderAsymmetricConfig) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({1, 6, 7, 4}));
  ASSERT_TRUE(x->SetDynamicRange(Range{-0.5f, 2.0f}, true).ok());  // asymmetric would shift the zero point
  IConvNode* conv = Conv(network.get(), x, 4, 5, 41);
  ASSERT_TRUE(network->MarkOutput(conv->GetOutput(0)).ok());
  auto model = BuildOrDie(network.get(), R"({"precision_config": {"precision_mode": "qint16_mixed_float32",
      "activation_quant_algo": "asymmetric"}})");
  ASSERT_NE(model, nullptr);
  EXPECT_NE(model->GetPrecisionReport().find("this 16-bit one is symmetric (zero point 0)"), std::string::npos)
      << model->GetPrecisionReport();
  auto engine = model->CreateIEngine();
  auto input = RandomFloats(6 * 7 * 4, 43, -0.6f, 2.1f);
  std::vector<std::vector<float>> results;
  for (const bool reference : {false, true}) {
    ContextOptions options;
    options.force_reference = reference;
    auto context = engine->CreateIContext(options);
    ASSERT_TRUE(context->Prepare({Dims({1, 6, 7, 4})}).ok());
    const ir::Node* node = Impl(context.get())->graph().FindNode(conv->GetNodeName());
    ASSERT_NE(node, nullptr);
    ASSERT_TRUE(node->input_quant[0].has_value());
    EXPECT_EQ(node->input_quant[0]->bits, 16);
    EXPECT_TRUE(node->input_quant[0]->symmetric);
    ASSERT_EQ(node->input_quant[0]->zero_points.size(), 1u);
    EXPECT_EQ(node->input_quant[0]->zero_points[0], 0);
    EXPECT_FLOAT_EQ(node->input_quant[0]->scales[0], 2.0f / 32767);  // max |x| / 32767
    if (!reference && kernels::BestIsa() >= kernels::Isa::kAvx2) {
      for (const auto& step : Impl(context.get())->plan().steps)
        if (step.op == OpKind::kConv2D) {
          EXPECT_EQ(std::string(step.def->name), "avx2-int16");
        }
    }
    results.push_back(RunOnce(context.get(), Dims({1, 6, 7, 4}), input));
  }
  ASSERT_EQ(results[0].size(), 6u * 7 * 5);
  for (size_t i = 0; i < results[0].size(); ++i) EXPECT_EQ(results[0][i], results[1][i]) << i;
}

// One tensor feeding two quantized convolutions with equal parameters is
// quantized once; the plan shows one Quantize step.
TEST(ExecutionPlan, TensorWithTwoQuantizedConsumersIsQuantizedOnce) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({1, 6, 6, 4}));
  ASSERT_TRUE(x->SetDynamicRange(Range{-2.0f, 2.0f}, true).ok());
  IConvNode* a = Conv(network.get(), x, 4, 4, 11);
  IConvNode* b = Conv(network.get(), x, 4, 4, 13);
  IElementwiseNode* sum = network->AddIElementwiseNode(a->GetOutput(0), b->GetOutput(0), ElementwiseOp::ADD);
  ASSERT_TRUE(network->MarkOutput(sum->GetOutput(0)).ok());
  auto model = BuildOrDie(network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})");
  ASSERT_NE(model, nullptr);
  auto context = model->CreateIEngine()->CreateIContext();
  ASSERT_TRUE(context->Prepare({Dims({1, 6, 6, 4})}).ok());
  int quantize = 0;
  for (const auto& step : Impl(context.get())->plan().steps)
    if (step.op == OpKind::kConvert) ++quantize;
  EXPECT_EQ(quantize, 1);
  const json report = json::parse(context->GetPrecisionReportJson());
  int quantize_rows = 0;
  for (const auto& row : report["nodes"]) quantize_rows += row["op"] == "Quantize";
  EXPECT_EQ(quantize_rows, 1);
}

// Two contexts of one engine share the packed weights: the engine's bytes
// are counted once, and a second context packs nothing new. Float32 and
// float16 storage (the direct NHWC kernels of either, which pack through
// the engine's cache as every packing kernel must).
class ContextsShareWeights : public ::testing::TestWithParam<const char*> {};

TEST_P(ContextsShareWeights, PackedOncePerEngine) {
  auto network = CreateINetwork();
  ASSERT_TRUE(examples::BuildSmallResNet(network.get()).ok());
  auto model =
      BuildOrDie(network.get(), std::string(R"({"precision_config": {"precision_mode": ")") + GetParam() + R"("}})");
  auto engine = model->CreateIEngine();
  EXPECT_EQ(engine->GetPreparedWeightBytes(), 0);
  auto first = engine->CreateIContext();
  ASSERT_TRUE(first->Prepare({Dims({2, 16, 16, 3})}).ok());
  const int64_t bytes = engine->GetPreparedWeightBytes();
  EXPECT_GT(bytes, 0);
  auto second = engine->CreateIContext();
  ASSERT_TRUE(second->Prepare({Dims({2, 16, 16, 3})}).ok());
  EXPECT_EQ(engine->GetPreparedWeightBytes(), bytes);
  const json plan = json::parse(second->GetExecutionPlan(true));
  EXPECT_EQ(plan["engine_weight_bytes"], bytes);
  EXPECT_EQ(plan["context_weight_bytes"], 0);
  // Both give the same result.
  auto input = RandomFloats(2 * 16 * 16 * 3, 9);
  EXPECT_EQ(RunOnce(first.get(), Dims({2, 16, 16, 3}), input), RunOnce(second.get(), Dims({2, 16, 16, 3}), input));
}

INSTANTIATE_TEST_SUITE_P(ExecutionPlan, ContextsShareWeights, ::testing::Values("force_float32", "force_float16"));

// ContextOptions::profile: one timed entry per plan step, the per-op totals
// are the sums of their steps, the shares add up to one; off: no profile.
TEST(ExecutionPlan, ProfileAccountsForEveryStep) {
  auto network = CreateINetwork();
  ASSERT_TRUE(examples::BuildSmallResNet(network.get()).ok());
  auto model = BuildOrDie(network.get());
  auto engine = model->CreateIEngine();
  ContextOptions options;
  options.profile = true;
  auto context = engine->CreateIContext(options);
  auto plain = engine->CreateIContext();
  EXPECT_EQ(context->GetProfile(), "");  // nothing has run
  auto input = RandomFloats(2 * 16 * 16 * 3, 5);
  const auto profiled = RunOnce(context.get(), Dims({2, 16, 16, 3}), input);
  EXPECT_EQ(json::parse(context->GetProfile(true))["runs"], 1);  // only the first run: reported
  RunOnce(context.get(), Dims({2, 16, 16, 3}), input);
  RunOnce(context.get(), Dims({2, 16, 16, 3}), input);
  EXPECT_EQ(profiled, RunOnce(plain.get(), Dims({2, 16, 16, 3}), input));  // timing changes nothing
  EXPECT_EQ(plain->GetProfile(), "");
  const json profile = json::parse(context->GetProfile(true));
  EXPECT_EQ(profile["runs"], 2);  // three runs, the first left out
  EXPECT_EQ(profile["first_run_excluded"], true);
  const auto& steps = Impl(context.get())->plan().steps;
  ASSERT_EQ(profile["steps"].size(), steps.size());
  std::map<std::string, double> per_op;
  double share = 0, total = 0;
  for (size_t s = 0; s < steps.size(); ++s) {
    const json& step = profile["steps"][s];
    EXPECT_EQ(step["kernel"], steps[s].def->name);
    EXPECT_GE(step["ms"].get<double>(), 0.0);
    per_op[step["op"].get<std::string>()] += step["ms"].get<double>();
    share += step["share"].get<double>();
    total += step["ms"].get<double>();
  }
  EXPECT_NEAR(share, 1.0, 1e-9);
  EXPECT_NEAR(profile["total_ms"].get<double>(), total, 1e-9);
  ASSERT_EQ(profile["ops"].size(), per_op.size());
  for (const json& op : profile["ops"]) EXPECT_NEAR(op["ms"].get<double>(), per_op[op["op"].get<std::string>()], 1e-9);
  const std::string text = context->GetProfile();
  EXPECT_NE(text.find("profile over 2 run(s) (the first run"), std::string::npos) << text;
  EXPECT_NE(text.find("Conv2D"), std::string::npos) << text;
}

TEST(ExecutionPlan, BadThreadCountIsAnErrorNamingTheOption) {
  auto network = CreateINetwork();
  ASSERT_TRUE(examples::BuildSmallResNet(network.get()).ok());
  auto model = BuildOrDie(network.get());
  auto engine = model->CreateIEngine();
  for (int threads : {-1, 10000}) {
    ContextOptions options;
    options.num_threads = threads;
    auto context = engine->CreateIContext(options);
    const Status s = context->Prepare({Dims({1, 16, 16, 3})});
    EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.message().find("num_threads"), std::string::npos) << s.message();
  }
  ContextOptions two;
  two.num_threads = 2;
  auto context = engine->CreateIContext(two);
  auto input = RandomFloats(16 * 16 * 3, 4);
  auto one = engine->CreateIContext();
  EXPECT_EQ(RunOnce(context.get(), Dims({1, 16, 16, 3}), input), RunOnce(one.get(), Dims({1, 16, 16, 3}), input));
}

}  // namespace
}  // namespace mixq::testing

namespace mixq::testing {
namespace {

// Running an operator on the integers (the quantize moved above it) gives the
// same integers as quantizing its float output: the network is built twice,
// once plain (the op runs on integers) and once with the op's output also a
// network output (a float consumer, so nothing moves); the final outputs must
// be bit-identical. Asymmetric int8 with a nonzero zero point, a nonzero pad
// value, split, concat, nearest resize, relu6, clip, max-pool, permute, slice.
using MoveOp = std::function<ITensor*(INetwork*, ITensor*)>;

std::vector<float> RunChain(const MoveOp& op, bool keep_float_copy, std::string* storage) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({1, 6, 6, 4}));
  EXPECT_TRUE(x->SetDynamicRange(Range{-1.0f, 2.0f}, true).ok());
  ITensor* c1 = Conv(network.get(), x, 4, 4, 21)->GetOutput(0);
  ITensor* moved = op(network.get(), c1);
  EXPECT_TRUE(moved->SetDynamicRange(Range{-0.7f, 1.9f}, true).ok());
  IConvNode* c2 = Conv(network.get(), moved, 4, 3, 23);  // every op here keeps 4 channels
  EXPECT_TRUE(network->MarkOutput(c2->GetOutput(0)).ok());
  if (keep_float_copy) {
    EXPECT_TRUE(network->MarkOutput(moved).ok());
  }
  auto model = BuildOrDie(network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float32",
      "activation_quant_algo": "asymmetric"}})");
  auto context = model->CreateIEngine()->CreateIContext();
  auto input = RandomFloats(6 * 6 * 4, 31, -1.2f, 2.2f);
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  EXPECT_TRUE(context->CreateInputTensors(&inputs).ok());
  EXPECT_TRUE(context->CreateOutputTensors(&outputs).ok());
  EXPECT_TRUE(inputs[0]->SetDimensions(Dims({1, 6, 6, 4})).ok());
  EXPECT_TRUE(inputs[0]->SetData(input.data(), input.size() * sizeof(float)).ok());
  const Status s = context->Enqueue(inputs, outputs);
  EXPECT_TRUE(s.ok()) << s.ToString();
  const ir::Value* v = Impl(context.get())->graph().FindValue(moved->GetTensorName());
  *storage = v && v->storage ? DataTypeName(*v->storage) : "?";
  const float* y = static_cast<const float*>(outputs[0]->GetData());
  return std::vector<float>(y, y + outputs[0]->GetDimensions().GetElementCount());
}

TEST(ExecutionPlan, OperatorsRunOnIntegersExactly) {
  const std::vector<std::pair<std::string, MoveOp>> ops = {
      {"relu6", [](INetwork* n, ITensor* t) { return n->AddIActivationNode(t, ActivationType::RELU6)->GetOutput(0); }},
      {"clip",
       [](INetwork* n, ITensor* t) {
         IActivationNode* a = n->AddIActivationNode(t, ActivationType::CLIP);
         EXPECT_TRUE(a->SetAttr("alpha", -0.25f).ok());
         EXPECT_TRUE(a->SetAttr("beta", 0.75f).ok());
         return a->GetOutput(0);
       }},
      {"maxpool", [](INetwork* n, ITensor* t) { return n->AddIMaxPool2DNode(t, false)->GetOutput(0); }},
      {"pad",
       [](INetwork* n, ITensor* t) {
         IPadNode* p = n->AddIPadNode(t, {0, 1, 2, 0, 0, 2, 1, 0}, PadMode::CONSTANT);
         EXPECT_TRUE(p->SetValue(0.5f).ok());
         return p->GetOutput(0);
       }},
      {"split",
       [](INetwork* n, ITensor* t) {
         ISplitNode* s = n->AddISplitNode(t, 3, {1, 3});
         return n->AddIConcatNode({s->GetOutput(1), s->GetOutput(0)}, 3)->GetOutput(0);
       }},
      {"resize",
       [](INetwork* n, ITensor* t) {
         return n->AddIResizeNode(t, {1.0f, 2.0f, 1.5f, 1.0f}, ResizeMode::NEAREST)->GetOutput(0);
       }},
      {"permute-slice",
       [](INetwork* n, ITensor* t) {
         ITensor* p = n->AddIPermuteNode(t, {0, 2, 1, 3})->GetOutput(0);
         return n->AddISliceNode(p, {1}, {5}, {1}, {})->GetOutput(0);
       }},
  };
  for (const auto& [name, op] : ops) {
    std::string on_integers, kept_float;
    const auto a = RunChain(op, false, &on_integers);
    const auto b = RunChain(op, true, &kept_float);
    EXPECT_EQ(on_integers, "INT8") << name;
    EXPECT_EQ(kept_float, "FLOAT32") << name;
    ASSERT_EQ(a.size(), b.size()) << name;
    EXPECT_EQ(a, b) << name;
  }
}

}  // namespace
}  // namespace mixq::testing

namespace mixq::testing {
namespace {

// ContextOptions::max_isa caps mixq's own kernels: "generic" runs the path
// an AVX2 CPU would not pick (the reference here), "avx2" and
// "avx512_vnni" the paths an AVX-512 VNNI or AMX CPU would not pick, with
// the same bits, since every fast
// kernel is bit-exact with the reference.
TEST(ExecutionPlan, MaxIsaForcesTheGenericPathWithTheSameResults) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({2, 8, 8, 4}));
  ASSERT_TRUE(x->SetDynamicRange(Range{-1.0f, 1.0f}, true).ok());
  IConvNode* conv1 = Conv(network.get(), x, 4, 8, 41);
  ASSERT_TRUE(conv1->GetOutput(0)->SetDynamicRange(Range{-2.0f, 2.0f}, true).ok());
  IConvNode* conv2 = Conv(network.get(), conv1->GetOutput(0), 8, 4, 43);
  ASSERT_TRUE(network->MarkOutput(conv2->GetOutput(0)).ok());
  auto model = BuildOrDie(network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})");
  auto engine = model->CreateIEngine();
  ContextOptions generic, avx2, vnni;
  generic.max_isa = "generic";
  avx2.max_isa = "avx2";
  vnni.max_isa = "avx512_vnni";
  auto best = engine->CreateIContext();
  auto forced = engine->CreateIContext(generic);
  auto forced_avx2 = engine->CreateIContext(avx2);
  auto forced_vnni = engine->CreateIContext(vnni);
  auto input = RandomFloats(2 * 8 * 8 * 4, 47);
  const auto a = RunOnce(best.get(), Dims({2, 8, 8, 4}), input);
  const auto b = RunOnce(forced.get(), Dims({2, 8, 8, 4}), input);
  const auto c = RunOnce(forced_avx2.get(), Dims({2, 8, 8, 4}), input);
  const auto d = RunOnce(forced_vnni.get(), Dims({2, 8, 8, 4}), input);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  EXPECT_EQ(a, d);
  for (const auto& step : Impl(forced.get())->plan().steps)
    EXPECT_EQ(std::string(step.def->name).find("avx"), std::string::npos) << step.label << ": " << step.def->name;
  auto count = [](IContext* context, const char* prefix) {
    int steps = 0;
    for (const auto& step : Impl(context)->plan().steps) steps += std::string(step.def->name).rfind(prefix, 0) == 0;
    return steps;
  };
  if (kernels::BestIsa() >= kernels::Isa::kAvx2) {
    EXPECT_EQ(count(forced_avx2.get(), "avx2-int8"), 2);
  }
  // From AVX-512 VNNI on, oneDNN's exact int8 kernels (onednn-int8) take
  // the convolution with an INT8 output; mixq's own take the other.
  if (kernels::BestIsa() >= kernels::Isa::kAvx512Vnni) {
    EXPECT_EQ(count(forced_vnni.get(), "avx512vnni-int8") + count(forced_vnni.get(), "onednn-int8"), 2);
    EXPECT_EQ(count(forced_vnni.get(), "avx512vnni-int8"), count(forced_avx2.get(), "avx2-int8") - 1);
  }
  if (kernels::BestIsa() >= kernels::Isa::kAmx) {
    EXPECT_EQ(count(best.get(), "amx-int8") + count(best.get(), "onednn-int8"), 2);
  } else if (kernels::BestIsa() >= kernels::Isa::kAvx512Vnni) {
    EXPECT_EQ(count(best.get(), "avx512vnni-int8") + count(best.get(), "onednn-int8"), 2);
  } else if (kernels::BestIsa() >= kernels::Isa::kAvx2) {
    EXPECT_EQ(count(best.get(), "avx2-int8"), 2);
  }
  ContextOptions bad;
  bad.max_isa = "avx9000";
  EXPECT_EQ(engine->CreateIContext(bad)->Prepare({Dims({2, 8, 8, 4})}).code(), StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace mixq::testing
