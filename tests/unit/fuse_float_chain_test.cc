// Float chain fusion (runtime/fusion/fuse_float_chain.cc, kernel_registry.h):
// an int8 convolution followed by hard_swish, * a, + b and the Quantize of
// the next quantized convolution's input runs as one step that writes int8,
// with the same numbers as the separate steps (force_reference lowers with no
// fusion at all), on odd sizes that leave vector tails everywhere, in NCHW
// and NHWC, through the depthwise kernel too. Near misses stay separate.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fusion_test_util.h"
#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"
#include "runtime/engine.h"
#include "util/half.h"

namespace mixq::testing {
namespace {

ITensor* ScalarConst(INetwork* network, float value) {
  return network->AddIConstNode(DataType::FLOAT32, Dims({1}), &value)->GetOutput(0);
}

void SetLayouts(IConvNode* conv, bool nchw) {
  EXPECT_TRUE(conv->SetAttr("input_layout", std::string(nchw ? "NCHW" : "NHWC")).ok());
  EXPECT_TRUE(conv->SetAttr("output_layout", std::string(nchw ? "NCHW" : "NHWC")).ok());
  EXPECT_TRUE(conv->SetAttr("filter_layout", std::string(nchw ? "OIHW" : "OHWI")).ok());
}

struct Chain {
  std::unique_ptr<INetwork> network;
  IConvNode* first = nullptr;
  ITensor* chain_out = nullptr;  // the + b output, quantized for the second convolution
};

// conv (7 -> 9 channels, or depthwise 7 -> 7) -> hard_swish -> * 0.37 -> + (-0.2) -> conv (-> 5), on 9 x `width`.
Chain MakeChain(bool nchw, bool depthwise, bool mul_by_tensor = false, int64_t width = 11) {
  Chain c;
  c.network = CreateINetwork();
  INetwork* n = c.network.get();
  const int64_t cin = 7, mid = depthwise ? 7 : 9;
  ITensor* x = n->AddIInput(DataType::FLOAT32, nchw ? Dims({1, cin, 9, width}) : Dims({1, 9, width, cin}));
  EXPECT_TRUE(x->SetDynamicRange(Range{-1.0f, 1.0f}, true).ok());
  const std::vector<int64_t> w1 = nchw ? std::vector<int64_t>{mid, depthwise ? 1 : cin, 3, 3}
                                       : std::vector<int64_t>{mid, 3, 3, depthwise ? 1 : cin};
  c.first = n->AddIConvNode(x, RandomConst(n, w1, 1, 0.6f), RandomConst(n, {mid}, 2, 0.5f));
  EXPECT_TRUE(c.first->SetAttr("pads", std::vector<int64_t>{1, 1, 1, 1}).ok());
  if (depthwise) {
    EXPECT_TRUE(c.first->SetAttr("group", mid).ok());
  }
  SetLayouts(c.first, nchw);
  IActivationNode* hs = n->AddIActivationNode(c.first->GetOutput(0), ActivationType::HARD_SWISH);
  ITensor* a =
      mul_by_tensor
          ? RandomConst(n, nchw ? std::vector<int64_t>{1, mid, 1, 1} : std::vector<int64_t>{1, 1, 1, mid}, 3, 0.5f)
          : ScalarConst(n, 0.37f);
  ITensor* scaled = n->AddIElementwiseNode(a, hs->GetOutput(0), ElementwiseOp::MUL)->GetOutput(0);
  c.chain_out = n->AddIElementwiseNode(scaled, ScalarConst(n, -0.2f), ElementwiseOp::ADD)->GetOutput(0);
  EXPECT_TRUE(c.chain_out->SetDynamicRange(Range{-0.5f, 1.5f}, true).ok());
  const std::vector<int64_t> w2 = nchw ? std::vector<int64_t>{5, mid, 1, 1} : std::vector<int64_t>{5, 1, 1, mid};
  IConvNode* second = n->AddIConvNode(c.chain_out, RandomConst(n, w2, 4, 0.5f), RandomConst(n, {5}, 5, 0.3f));
  SetLayouts(second, nchw);
  EXPECT_TRUE(n->MarkOutput(second->GetOutput(0)).ok());
  return c;
}

struct Ran {
  std::vector<float> y;
  std::vector<std::string> fused;  // the first convolution's step: what it swallowed
  std::string kernel;
  DataType first_output = DataType::FLOAT32;
};

Ran RunChain(IModel* model, const std::string& first_name, bool reference, const std::vector<float>& x,
             const Dims& dims) {
  ContextOptions options;
  options.force_reference = reference;
  auto context = model->CreateIEngine()->CreateIContext(options);
  EXPECT_TRUE(context->Prepare({dims}).ok());
  Ran r;
  const runtime::ExecutionPlan& plan = ImplOf(context.get())->plan();
  const ir::Graph& graph = ImplOf(context.get())->graph();
  for (const auto& step : plan.steps) {
    if (step.node < 0 || graph.node(step.node)->name != first_name) continue;
    r.kernel = step.def ? step.def->name : "?";
    for (int f : step.fused) r.fused.push_back(std::string(ops::GetSchema(graph.node(f)->op).name));
    r.first_output = plan.buffers[static_cast<size_t>(step.outputs[0])].info.dtype;
  }
  std::vector<std::unique_ptr<IRTTensor>> in, out;
  EXPECT_TRUE(context->CreateInputTensors(&in).ok());
  EXPECT_TRUE(context->CreateOutputTensors(&out).ok());
  EXPECT_TRUE(in[0]->SetDimensions(dims).ok());
  std::vector<float> input = x;
  EXPECT_TRUE(in[0]->SetData(input.data(), input.size() * sizeof(float)).ok());
  const Status s = context->Enqueue(in, out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return r;
  const int64_t count = out[0]->GetDimensions().GetElementCount();
  for (int64_t i = 0; i < count; ++i)  // float16 outputs in the _float16 modes
    r.y.push_back(out[0]->GetDataType() == DataType::FLOAT16
                      ? HalfToFloat(static_cast<const uint16_t*>(out[0]->GetData())[i])
                      : static_cast<const float*>(out[0]->GetData())[i]);
  return r;
}

TEST(FuseFloatChain, ConvHardSwishScalarsQuantizeIsOneStepWithTheSameNumbers) {
  for (const bool nchw : {true, false})
    for (const bool depthwise : {false, true}) {
      if (depthwise && !nchw) continue;  // the depthwise kernels are NCHW
      SCOPED_TRACE(std::string(nchw ? "NCHW" : "NHWC") + (depthwise ? " depthwise" : ""));
      Chain c = MakeChain(nchw, depthwise);
      auto model = BuildOrDie(c.network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})");
      ASSERT_NE(model, nullptr);
      const Dims dims = nchw ? Dims({1, 7, 9, 11}) : Dims({1, 9, 11, 7});
      auto x = RandomFloats(7 * 9 * 11, 6, -1.2f, 1.2f);  // beyond the range too: clamped codes
      const std::string name = c.first->GetNodeName();
      const Ran fast = RunChain(model.get(), name, false, x, dims);
      const Ran ref = RunChain(model.get(), name, true, x, dims);
      if (!ops::FindKernel(OpKind::kConv2D, "avx2-int8") || kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP();
      // 11 columns: avx2-int8-dw8c's case (narrow rows), through its per-channel row path.
      const kernels::Isa isa = kernels::BestIsa();
      const char* gemm = isa >= kernels::Isa::kAmx          ? "amx-int8"
                         : isa >= kernels::Isa::kAvx512Vnni ? "avx512vnni-int8"
                                                            : "avx2-int8";
      EXPECT_EQ(fast.kernel, depthwise ? "avx2-int8-dw8c" : gemm);
      EXPECT_EQ(fast.fused, (std::vector<std::string>{"Activation", "Elementwise", "Elementwise", "Convert"}));
      EXPECT_EQ(fast.first_output, DataType::INT8);
      EXPECT_TRUE(ref.fused.empty());
      EXPECT_EQ(ref.first_output, DataType::FLOAT32);
      ASSERT_EQ(fast.y.size(), ref.y.size());
      ASSERT_FALSE(fast.y.empty());
      EXPECT_EQ(fast.y, ref.y);  // the same float32 arithmetic and the same quantize
    }
}

// The qint16 convolutions take the same chain, quantized into INT16 (their
// int64 accumulators, DequantizeQuantizeRow64ToInt16): rows of 37 columns
// leave a 32-wide block, an 8-wide one and a scalar tail.
TEST(FuseFloatChain, Int16ConvHardSwishScalarsQuantizeIsOneStepWithTheSameNumbers) {
  for (const bool depthwise : {false, true}) {
    SCOPED_TRACE(depthwise ? "depthwise" : "dense");
    Chain c = MakeChain(/*nchw=*/true, depthwise, /*mul_by_tensor=*/false, /*width=*/37);
    auto model = BuildOrDie(c.network.get(), R"({"precision_config": {"precision_mode": "qint16_mixed_float32"}})");
    ASSERT_NE(model, nullptr);
    const Dims dims({1, 7, 9, 37});
    auto x = RandomFloats(7 * 9 * 37, 8, -1.2f, 1.2f);
    const std::string name = c.first->GetNodeName();
    const Ran fast = RunChain(model.get(), name, false, x, dims);
    const Ran ref = RunChain(model.get(), name, true, x, dims);
    if (!ops::FindKernel(OpKind::kConv2D, "avx2-int16") || kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP();
    // On AVX-512 CPUs the depthwise 3 x 3 runs avx512-int16-dw (double FMAs, its int64 sums through the stage).
    const bool dw512 = kernels::BestIsa() >= kernels::Isa::kAvx512;
    EXPECT_EQ(fast.kernel, !depthwise ? "avx2-int16" : dw512 ? "avx512-int16-dw" : "avx2-int16-dw");
    EXPECT_EQ(fast.fused, (std::vector<std::string>{"Activation", "Elementwise", "Elementwise", "Convert"}));
    EXPECT_EQ(fast.first_output, DataType::INT16);
    EXPECT_TRUE(ref.fused.empty());
    EXPECT_EQ(ref.first_output, DataType::FLOAT32);
    ASSERT_EQ(fast.y.size(), ref.y.size());
    ASSERT_FALSE(fast.y.empty());
    EXPECT_EQ(fast.y, ref.y);
  }
}

TEST(FuseFloatChain, NearMissesStaySeparate) {
  // The chain fuses into mixq's own int8 convolutions (AVX2 and up).
  if (!ops::FindKernel(OpKind::kConv2D, "avx2-int8") || kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP();
  // The + b output is also a network output: the float value must exist, so
  // no Quantize is fused (the activation and scalars still are).
  {
    Chain c = MakeChain(true, false);
    ASSERT_TRUE(c.network->MarkOutput(c.chain_out).ok());
    auto model = BuildOrDie(c.network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})");
    ASSERT_NE(model, nullptr);
    const Ran fast =
        RunChain(model.get(), c.first->GetNodeName(), false, RandomFloats(7 * 9 * 11, 6), Dims({1, 7, 9, 11}));
    EXPECT_EQ(fast.fused, (std::vector<std::string>{"Activation", "Elementwise", "Elementwise"}));
    EXPECT_EQ(fast.first_output, DataType::FLOAT32);
  }
  // qint8_mixed_float16: the convolution's float output is stored as float16
  // and hard_swish reads the rounded values; fusing it would skip that
  // rounding, so nothing fuses and the fast plan equals the reference's.
  {
    Chain c = MakeChain(true, false);
    auto model = BuildOrDie(c.network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float16"}})");
    ASSERT_NE(model, nullptr);
    const auto x = RandomFloats(7 * 9 * 11, 6);
    const Ran fast = RunChain(model.get(), c.first->GetNodeName(), false, x, Dims({1, 7, 9, 11}));
    const Ran ref = RunChain(model.get(), c.first->GetNodeName(), true, x, Dims({1, 7, 9, 11}));
    EXPECT_TRUE(fast.fused.empty());
    ASSERT_FALSE(fast.y.empty());
    EXPECT_EQ(fast.y, ref.y);
  }
  // * a per channel (not a scalar): hard_swish fuses, the product stays a step.
  {
    Chain c = MakeChain(true, false, /*mul_by_tensor=*/true);
    auto model = BuildOrDie(c.network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})");
    ASSERT_NE(model, nullptr);
    const Ran fast =
        RunChain(model.get(), c.first->GetNodeName(), false, RandomFloats(7 * 9 * 11, 6), Dims({1, 7, 9, 11}));
    EXPECT_EQ(fast.fused, (std::vector<std::string>{"Activation"}));
    EXPECT_EQ(fast.first_output, DataType::FLOAT32);
  }
}

}  // namespace
}  // namespace mixq::testing
