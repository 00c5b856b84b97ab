// Blocked activation layouts through the plan (runtime/layout_pass.h): a
// tensor between oneDNN convolutions (and the element-by-element steps
// between them) stays in oneDNN's nChw8c / nChw16c, with the same numbers as
// the all-plain plan (the same oneDNN arithmetic, minus the reorders) and as
// the reference kernels. Network outputs, observed tensors, channels that are
// not a multiple of the block and NHWC tensors stay plain.
#include "runtime/layout_pass.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "fusion_test_util.h"
#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"
#include "runtime/engine.h"

namespace mixq::testing {
namespace {

constexpr char kFloat32[] = R"({"precision_config": {"precision_mode": "force_float32"}})";

IConvNode* Conv(INetwork* n, ITensor* x, int64_t cin, int64_t cout, uint32_t seed, bool nchw = true, int64_t k = 3) {
  const std::vector<int64_t> w = nchw ? std::vector<int64_t>{cout, cin, k, k} : std::vector<int64_t>{cout, k, k, cin};
  IConvNode* conv = n->AddIConvNode(x, RandomConst(n, w, seed, 0.4f), RandomConst(n, {cout}, seed + 1, 0.3f));
  const int64_t p = k / 2;
  EXPECT_TRUE(conv->SetAttr("pads", std::vector<int64_t>{p, p, p, p}).ok());
  EXPECT_TRUE(conv->SetAttr("input_layout", std::string(nchw ? "NCHW" : "NHWC")).ok());
  EXPECT_TRUE(conv->SetAttr("output_layout", std::string(nchw ? "NCHW" : "NHWC")).ok());
  EXPECT_TRUE(conv->SetAttr("filter_layout", std::string(nchw ? "OIHW" : "OHWI")).ok());
  return conv;
}

struct Ran {
  std::vector<float> y;
  std::vector<std::string> blocked;  // names of the buffers the plan keeps blocked
  std::vector<std::string> plain;    // the other activation buffers steps write
};

Ran RunPlan(IModel* model, const std::vector<float>& x, const Dims& dims, bool blocked, bool reference = false) {
  ContextOptions options;
  options.force_reference = reference;
  auto context = model->CreateIEngine()->CreateIContext(options);
  ImplOf(context.get())->SetBlockedLayouts(blocked);
  EXPECT_TRUE(context->Prepare({dims}).ok());
  Ran r;
  for (const auto& b : ImplOf(context.get())->plan().buffers) {
    if (b.first < 0 || b.info.const_data) continue;
    (b.info.layout == ops::MemoryLayout::kPlain ? r.plain : r.blocked).push_back(b.name);
  }
  r.y = EnqueueFirst(context.get(), x);
  return r;
}

// conv 8 -> 16 (+ relu) -> conv 16 -> 16 + the first relu's output (a
// residual, oneDNN's sum) + relu -> conv 1x1 16 -> 24 -> x * sigmoid(x)
// spelled out (element-by-element steps, or one SiLU once fused) -> conv
// 24 -> 5, the output. Odd spatial dims (9 x 7) leave every kernel tails.
TEST(LayoutPass, ConvChainsStayBlockedWithTheSameNumbers) {
  if (!HaveOneDnn()) GTEST_SKIP();
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 8, 9, 7}));
  IConvNode* c1 = Conv(n, x, 8, 16, 1);
  ITensor* r1 = n->AddIActivationNode(c1->GetOutput(0), ActivationType::RELU)->GetOutput(0);
  IConvNode* c2 = Conv(n, r1, 16, 16, 3);
  ITensor* sum = n->AddIElementwiseNode(c2->GetOutput(0), r1, ElementwiseOp::ADD)->GetOutput(0);
  ITensor* r2 = n->AddIActivationNode(sum, ActivationType::RELU)->GetOutput(0);
  IConvNode* c3 = Conv(n, r2, 16, 24, 5, true, 1);
  ITensor* s3 = n->AddIActivationNode(c3->GetOutput(0), ActivationType::SIGMOID)->GetOutput(0);
  ITensor* m3 = n->AddIElementwiseNode(s3, c3->GetOutput(0), ElementwiseOp::MUL)->GetOutput(0);  // SiLU, spelled out
  IConvNode* c4 = Conv(n, m3, 24, 5, 7);
  ASSERT_TRUE(c4->GetOutput(0)->SetTensorName("y").ok());
  ASSERT_TRUE(n->MarkOutput(c4->GetOutput(0)).ok());
  auto model = BuildOrDie(n, kFloat32);
  ASSERT_NE(model, nullptr);
  const auto input = RandomFloats(8 * 9 * 7, 11, -1.5f, 1.5f);
  const Ran blocked = RunPlan(model.get(), input, Dims({1, 8, 9, 7}), true);
  const Ran plain = RunPlan(model.get(), input, Dims({1, 8, 9, 7}), false);
  const Ran ref = RunPlan(model.get(), input, Dims({1, 8, 9, 7}), true, /*reference=*/true);
  EXPECT_TRUE(plain.blocked.empty());
  EXPECT_TRUE(ref.blocked.empty()) << "force_reference lowers every buffer plain";
  // Between the convolutions: r1 (conv + relu), r2 (conv + sum + relu), the
  // sigmoid chain (unless SiLU was fused into one op, then its output); in
  // nChw16c (AVX-512) the 24 channels of the sigmoid chain stay plain.
  const bool block16 = runtime::NativeBlockLayout(kernels::BestIsa()) == ops::MemoryLayout::kBlocked16;
  // Below AVX2 (MIXQ_MAX_ISA=generic) the sigmoid chain runs on the reference: plain too.
  EXPECT_GE(blocked.blocked.size(), block16 || kernels::BestIsa() < kernels::Isa::kAvx2 ? 2u : 3u);
  EXPECT_FALSE(Contains(blocked.blocked, "y")) << "network outputs stay plain";
  ASSERT_EQ(blocked.y.size(), plain.y.size());
  if (kernels::DetectedCpuFeatures().avx512f) {  // oneDNN's own dispatch: MIXQ_MAX_ISA does not cap it
    // oneDNN runs plain activations in NHWC brgemm kernels there, blocked
    // ones in its direct blocked kernels: other sums, the same values.
    ExpectClose(blocked.y, plain.y, 1e-5);
  } else {
    // The same oneDNN arithmetic without the reorders: the same floats.
    EXPECT_EQ(std::memcmp(blocked.y.data(), plain.y.data(), blocked.y.size() * sizeof(float)), 0);
  }
  ExpectClose(blocked.y, ref.y, 1e-4);
}

// force_float16: the float16 tensors between the convolutions stay blocked
// too (onednn-f16 converts them straight to and from oneDNN's float32
// buffers), a residual addend with them.
TEST(LayoutPass, Float16StorageStaysBlockedBetweenConvolutions) {
  if (!HaveOneDnn() || !ops::FindKernel(OpKind::kConv2D, "onednn-f16") || kernels::BestIsa() < kernels::Isa::kAvx2)
    GTEST_SKIP();
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 8, 9, 7}));
  IConvNode* c1 = Conv(n, x, 8, 16, 1);
  ITensor* r1 = n->AddIActivationNode(c1->GetOutput(0), ActivationType::RELU6)->GetOutput(0);
  IConvNode* c2 = Conv(n, r1, 16, 16, 3);
  ITensor* sum = n->AddIElementwiseNode(c2->GetOutput(0), r1, ElementwiseOp::ADD)->GetOutput(0);
  IConvNode* c3 = Conv(n, sum, 16, 8, 5, true, 1);
  ASSERT_TRUE(n->MarkOutput(c3->GetOutput(0)).ok());
  auto model = BuildOrDie(n, R"({"precision_config": {"precision_mode": "force_float16"}})");
  ASSERT_NE(model, nullptr);
  const auto input = RandomFloats(8 * 9 * 7, 12, -1.5f, 1.5f);
  const Ran blocked = RunPlan(model.get(), input, Dims({1, 8, 9, 7}), true);
  const Ran plain = RunPlan(model.get(), input, Dims({1, 8, 9, 7}), false);
  const Ran ref = RunPlan(model.get(), input, Dims({1, 8, 9, 7}), true, /*reference=*/true);
  EXPECT_GE(blocked.blocked.size(), 2u);  // r1 (read by c2 and, as the addend, by c2's sum) and c2 + r1
  EXPECT_TRUE(plain.blocked.empty());
  ASSERT_EQ(blocked.y.size(), plain.y.size());
  EXPECT_EQ(std::memcmp(blocked.y.data(), plain.y.data(), blocked.y.size() * sizeof(float)), 0);
  ExpectClose(blocked.y, ref.y, 1e-2);  // float16 storage, rounded at every step
}

// Without blocked layouts (MIXQ_PLAIN_LAYOUTS=1, SetBlockedLayouts(false))
// the float16 kernels that run only in them give their steps back: a
// force_float16 pointwise -> depthwise -> pointwise chain (MobileNetV2's
// 24 -> 144 -> 24 included) prepares and runs. It failed to prepare before
// (the depthwise kernel made on plain tensors).
TEST(LayoutPass, Float16KernelsGiveBackStepsWithoutBlockedLayouts) {
  if (!HaveOneDnn() || !ops::FindKernel(OpKind::kConv2D, "onednn-f16") || kernels::BestIsa() < kernels::Isa::kAvx2)
    GTEST_SKIP();
  for (int64_t narrow : {24, 32}) {
    auto network = CreateINetwork();
    INetwork* n = network.get();
    ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, narrow, 10, 9}));
    IConvNode* expand = Conv(n, x, narrow, 144, 3, true, 1);
    IConvNode* dw =
        n->AddIConvNode(expand->GetOutput(0), RandomConst(n, {144, 1, 3, 3}, 5, 0.4f), RandomConst(n, {144}, 6, 0.3f));
    ASSERT_TRUE(dw->SetAttr("group", int64_t{144}).ok());
    ASSERT_TRUE(dw->SetAttr("pads", std::vector<int64_t>{1, 1, 1, 1}).ok());
    for (const char* attr : {"input_layout", "output_layout"}) ASSERT_TRUE(dw->SetAttr(attr, std::string("NCHW")).ok());
    ASSERT_TRUE(dw->SetAttr("filter_layout", std::string("OIHW")).ok());
    IConvNode* project = Conv(n, dw->GetOutput(0), 144, narrow, 7, true, 1);
    ASSERT_TRUE(n->MarkOutput(project->GetOutput(0)).ok());
    auto model = BuildOrDie(n, R"({"precision_config": {"precision_mode": "force_float16"}})");
    ASSERT_NE(model, nullptr);
    const auto input = RandomFloats(narrow * 90, 13, -1.5f, 1.5f);
    const Ran blocked = RunPlan(model.get(), input, Dims({1, narrow, 10, 9}), true);
    const Ran plain = RunPlan(model.get(), input, Dims({1, narrow, 10, 9}), false);
    const Ran ref = RunPlan(model.get(), input, Dims({1, narrow, 10, 9}), true, /*reference=*/true);
    EXPECT_TRUE(plain.blocked.empty());
    ASSERT_EQ(plain.y.size(), ref.y.size());
    SCOPED_TRACE(narrow);
    ExpectClose(plain.y, ref.y, 1e-2);
    ExpectClose(blocked.y, ref.y, 1e-2);
  }
}

TEST(LayoutPass, WhatCannotBeBlockedStaysPlain) {
  if (!HaveOneDnn()) GTEST_SKIP();
  // 12 channels: not a multiple of the block.
  {
    auto network = CreateINetwork();
    INetwork* n = network.get();
    ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 8, 6, 6}));
    IConvNode* c1 = Conv(n, x, 8, 12, 1);
    IConvNode* c2 = Conv(n, c1->GetOutput(0), 12, 8, 3);
    ASSERT_TRUE(n->MarkOutput(c2->GetOutput(0)).ok());
    auto model = BuildOrDie(n, kFloat32);
    ASSERT_NE(model, nullptr);
    const auto input = RandomFloats(8 * 36, 2);
    const Ran r = RunPlan(model.get(), input, Dims({1, 8, 6, 6}), true);
    EXPECT_TRUE(r.blocked.empty());
    ExpectClose(r.y, RunPlan(model.get(), input, Dims({1, 8, 6, 6}), true, true).y, 1e-4);
  }
  // A tensor between convolutions that is also a network output, and one
  // read by a step with no blocked kernel (MaxPool2D).
  {
    auto network = CreateINetwork();
    INetwork* n = network.get();
    ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 8, 6, 6}));
    IConvNode* c1 = Conv(n, x, 8, 16, 1);
    ASSERT_TRUE(c1->GetOutput(0)->SetTensorName("also_out").ok());
    IConvNode* c2 = Conv(n, c1->GetOutput(0), 16, 16, 3);
    ASSERT_TRUE(c2->GetOutput(0)->SetTensorName("pooled_in").ok());
    IMaxPool2DNode* pool = n->AddIMaxPool2DNode(c2->GetOutput(0), false);
    ASSERT_TRUE(pool->SetKernel(2, 2).ok());
    ASSERT_TRUE(pool->SetStride(2, 2).ok());
    ASSERT_TRUE(pool->SetLayout(Layout::NCHW).ok());
    ASSERT_TRUE(n->MarkOutput(pool->GetOutput(0)).ok());
    ASSERT_TRUE(n->MarkOutput(c1->GetOutput(0)).ok());
    auto model = BuildOrDie(n, kFloat32);
    ASSERT_NE(model, nullptr);
    const auto input = RandomFloats(8 * 36, 4);
    const Ran r = RunPlan(model.get(), input, Dims({1, 8, 6, 6}), true);
    EXPECT_FALSE(Contains(r.blocked, "also_out"));
    EXPECT_FALSE(Contains(r.blocked, "pooled_in"));
    ExpectClose(r.y, RunPlan(model.get(), input, Dims({1, 8, 6, 6}), true, true).y, 1e-4);
  }
  // NHWC convolutions: dim 1 is not the channels.
  {
    auto network = CreateINetwork();
    INetwork* n = network.get();
    ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 8, 8, 8}));
    IConvNode* c1 = Conv(n, x, 8, 16, 1, /*nchw=*/false);
    IConvNode* c2 = Conv(n, c1->GetOutput(0), 16, 8, 3, /*nchw=*/false);
    ASSERT_TRUE(n->MarkOutput(c2->GetOutput(0)).ok());
    auto model = BuildOrDie(n, kFloat32);
    ASSERT_NE(model, nullptr);
    const auto input = RandomFloats(8 * 64, 5);
    const Ran r = RunPlan(model.get(), input, Dims({1, 8, 8, 8}), true);
    EXPECT_TRUE(r.blocked.empty());
    ExpectClose(r.y, RunPlan(model.get(), input, Dims({1, 8, 8, 8}), true, true).y, 1e-4);
  }
}

}  // namespace
}  // namespace mixq::testing

namespace mixq::testing {
namespace {

// qint8: conv (+ relu) -> max-pool (3x3, stride 2, padded) -> conv -> + the
// pool's output (an int8 residual add) -> conv -> conv (float out). Where
// onednn-int8 runs the convolutions (AVX-512 VNNI or AMX), every int8
// tensor between them is stored NHWC (MemoryLayout::kChannelsLast), and the
// plan computes the same integers as the all-plain plan and the reference.
// (The last conv's float output is not onednn-int8's: its input, read by
// an own kernel, stays plain.)
TEST(LayoutPass, Int8ChainsStayChannelsLastWithTheSameIntegers) {
  if (!ops::FindKernel(OpKind::kConv2D, "onednn-int8") || kernels::BestIsa() < kernels::Isa::kAvx512Vnni)
    GTEST_SKIP() << "no onednn-int8 on this CPU";
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 16, 13, 11}));
  ASSERT_TRUE(x->SetDynamicRange(Range{-1.5f, 1.5f}, true).ok());
  IConvNode* c1 = Conv(n, x, 16, 32, 1);
  ITensor* r1 = n->AddIActivationNode(c1->GetOutput(0), ActivationType::RELU)->GetOutput(0);
  ASSERT_TRUE(r1->SetDynamicRange(Range{0.0f, 3.0f}, true).ok());
  IMaxPool2DNode* pool = n->AddIMaxPool2DNode(r1, false);
  ASSERT_TRUE(pool->SetAttr("kernel", std::vector<int64_t>{3, 3}).ok());
  ASSERT_TRUE(pool->SetAttr("strides", std::vector<int64_t>{2, 2}).ok());
  ASSERT_TRUE(pool->SetAttr("pads", std::vector<int64_t>{1, 1, 1, 1}).ok());
  ASSERT_TRUE(pool->SetAttr("layout", std::string("NCHW")).ok());
  ITensor* p = pool->GetOutput(0);
  ASSERT_TRUE(p->SetDynamicRange(Range{0.0f, 3.0f}, true).ok());
  IConvNode* c2 = Conv(n, p, 32, 32, 3);
  ASSERT_TRUE(c2->GetOutput(0)->SetDynamicRange(Range{-4.0f, 4.0f}, true).ok());
  ITensor* sum = n->AddIElementwiseNode(c2->GetOutput(0), p, ElementwiseOp::ADD)->GetOutput(0);
  ASSERT_TRUE(sum->SetDynamicRange(Range{-5.0f, 6.0f}, true).ok());
  IConvNode* c3 = Conv(n, sum, 32, 24, 5);
  ASSERT_TRUE(c3->GetOutput(0)->SetDynamicRange(Range{-3.0f, 3.0f}, true).ok());
  IConvNode* c4 = Conv(n, c3->GetOutput(0), 24, 8, 7);
  ITensor* y = c4->GetOutput(0);
  ASSERT_TRUE(y->SetTensorName("y").ok());
  ASSERT_TRUE(n->MarkOutput(y).ok());
  auto model = BuildOrDie(n, R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})");
  ASSERT_NE(model, nullptr);
  const auto input = RandomFloats(16 * 13 * 11, 21, -1.5f, 1.5f);
  const Dims dims({1, 16, 13, 11});
  const Ran nhwc = RunPlan(model.get(), input, dims, true);
  const Ran plain = RunPlan(model.get(), input, dims, false);
  const Ran ref = RunPlan(model.get(), input, dims, true, /*reference=*/true);
  EXPECT_TRUE(plain.blocked.empty());
  EXPECT_TRUE(ref.blocked.empty());
  for (ITensor* t : {r1, p, c2->GetOutput(0), sum})
    EXPECT_TRUE(Contains(nhwc.blocked, t->GetTensorName())) << t->GetTensorName() << " is not stored NHWC";
  // The last int8 tensor is read by a kernel that takes plain tensors only
  // (the float-output convolution): onednn-int8 writes it NCHW (a 3x3
  // convolution keeps it with one NHWC side; a 1x1 one would give the step
  // back, KernelDef::keep_with_layouts).
  EXPECT_TRUE(Contains(nhwc.plain, c3->GetOutput(0)->GetTensorName()));
  EXPECT_FALSE(Contains(nhwc.blocked, "y"));
  ASSERT_FALSE(nhwc.y.empty());
  EXPECT_EQ(nhwc.y, plain.y);
  EXPECT_EQ(nhwc.y, ref.y);
}

// Weights consumed in BFLOAT16 are rounded once when an engine is made; a
// model read from a file already holds bfloat16 values (its payloads are
// bfloat16), so the engine keeps those constants instead of a second,
// rounded copy. The numbers are the same either way.
TEST(LayoutPass, BFloat16WeightsFromAFileAreNotCopiedAgain) {
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 8, 9, 7}));
  IConvNode* c = Conv(n, x, 8, 16, 4);
  ASSERT_TRUE(c->SetOutputType(0, DataType::FLOAT32).ok());  // read back as floats
  ASSERT_TRUE(n->MarkOutput(c->GetOutput(0)).ok());
  auto built = BuildOrDie(n, R"({"precision_config": {"precision_mode": "force_bfloat16"}})");
  ASSERT_NE(built, nullptr);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(built->SerializeToMemory(&bytes).ok());
  auto read = CreateIModel();
  ASSERT_TRUE(read->DeserializeFromMemory(bytes.data(), bytes.size()).ok());
  auto rounded_constants = [](IModel* model) {
    auto context = model->CreateIEngine()->CreateIContext();
    EXPECT_TRUE(context->Prepare({Dims({1, 8, 9, 7})}).ok());
    int count = 0;
    const ir::Graph& graph = ImplOf(context.get())->graph();
    for (size_t i = 0; i < graph.node_count(); ++i) {
      const ir::Node& node = *graph.node(static_cast<int>(i));
      if (node.op == OpKind::kConstant && node.name.ends_with("/BFLOAT16")) ++count;
    }
    return count;
  };
  EXPECT_EQ(rounded_constants(built.get()), 2);  // the filter and the bias, rounded from float32
  EXPECT_EQ(rounded_constants(read.get()), 0);   // already bfloat16 values
  const auto input = RandomFloats(8 * 9 * 7, 3);
  const Dims dims({1, 8, 9, 7});
  EXPECT_EQ(RunPlan(built.get(), input, dims, true).y, RunPlan(read.get(), input, dims, true).y);
}

// force_bfloat16 on a CPU with bfloat16 dot products: onednn-bf16 runs the
// convolutions, the bfloat16 tensors between them (the residual addend too)
// are stored NHWC, the numbers are the all-plain plan's bit for bit (the
// same oneDNN arithmetic, other copies), and within bfloat16's rounding of
// the reference, which rounds at every operator boundary.
TEST(LayoutPass, BFloat16ChainsStayChannelsLastWithTheSameNumbers) {
  if (!ops::FindKernel(OpKind::kConv2D, "onednn-bf16") ||
      !(kernels::DetectedCpuFeatures().avx512bf16 && kernels::BestIsa() >= kernels::Isa::kAvx512))
    GTEST_SKIP() << "no bfloat16 dot products on this CPU";
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 16, 13, 11}));
  IConvNode* c1 = Conv(n, x, 16, 32, 1, true, 1);
  ITensor* r1 = n->AddIActivationNode(c1->GetOutput(0), ActivationType::RELU)->GetOutput(0);
  IConvNode* c2 = Conv(n, r1, 32, 32, 3);
  ITensor* sum = n->AddIElementwiseNode(c2->GetOutput(0), r1, ElementwiseOp::ADD)->GetOutput(0);
  IConvNode* c3 = Conv(n, sum, 32, 24, 5, true, 5);
  IConvNode* c4 = Conv(n, c3->GetOutput(0), 24, 8, 7);
  ASSERT_TRUE(c4->SetOutputType(0, DataType::FLOAT32).ok());
  ITensor* y = c4->GetOutput(0);
  ASSERT_TRUE(y->SetTensorName("y").ok());
  ASSERT_TRUE(n->MarkOutput(y).ok());
  auto model = BuildOrDie(n, R"({"precision_config": {"precision_mode": "force_bfloat16"}})");
  ASSERT_NE(model, nullptr);
  const auto input = RandomFloats(16 * 13 * 11, 22, -1.5f, 1.5f);
  const Dims dims({1, 16, 13, 11});
  const Ran nhwc = RunPlan(model.get(), input, dims, true);
  const Ran plain = RunPlan(model.get(), input, dims, false);
  const Ran ref = RunPlan(model.get(), input, dims, true, /*reference=*/true);
  EXPECT_TRUE(plain.blocked.empty());
  EXPECT_TRUE(ref.blocked.empty());
  for (ITensor* t : {r1, sum, c3->GetOutput(0)})
    EXPECT_TRUE(Contains(nhwc.blocked, t->GetTensorName())) << t->GetTensorName() << " is not stored NHWC";
  EXPECT_FALSE(Contains(nhwc.blocked, "y"));
  ASSERT_FALSE(nhwc.y.empty());
  EXPECT_EQ(nhwc.y, plain.y);
  // Against float32: bfloat16 keeps 8 bits, and these sums cancel (outputs
  // up to ~130 from terms as large): both plans err by ~0.6 % of the largest
  // output. The fast plan must err no more than the reference does (the
  // same values rounded at fewer boundaries), and stay within 2^-6 of the
  // output scale of it.
  auto f32 = BuildOrDie(n, R"({"precision_config": {"precision_mode": "force_float32"}})");
  const Ran exact = RunPlan(f32.get(), input, dims, false);
  ASSERT_EQ(exact.y.size(), nhwc.y.size());
  double fast_error = 0, ref_error = 0, apart = 0, scale = 0;
  for (size_t i = 0; i < exact.y.size(); ++i) {
    fast_error = std::max(fast_error, std::fabs(double(nhwc.y[i]) - exact.y[i]));
    ref_error = std::max(ref_error, std::fabs(double(ref.y[i]) - exact.y[i]));
    apart = std::max(apart, std::fabs(double(nhwc.y[i]) - ref.y[i]));
    scale = std::max(scale, std::fabs(double(exact.y[i])));
  }
  EXPECT_GT(ref_error, 0.0);
  EXPECT_LE(fast_error, 1.25 * ref_error);
  EXPECT_LE(apart, std::ldexp(scale, -6));
  EXPECT_NE(nhwc.y, ref.y);  // fused steps round once: not the reference's bits
}

}  // namespace
}  // namespace mixq::testing

namespace mixq::testing {
namespace {

// KernelDef::keep_with_layouts: conv 3x3 -> conv 1x1 -> conv (float out).
// The 1x1 would write its int8 output plain (its reader takes plain
// only): onednn-int8 gives it back, then the 3x3 one, left with both sides
// plain, too. No step runs onednn-int8, nothing is NHWC, and the integers
// are the reference's.
TEST(LayoutPass, OneDnnInt8GivesBackConvolutionsLeftPlain) {
  if (!ops::FindKernel(OpKind::kConv2D, "onednn-int8") || kernels::BestIsa() < kernels::Isa::kAvx512Vnni)
    GTEST_SKIP() << "no onednn-int8 on this CPU";
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 16, 9, 10}));
  ASSERT_TRUE(x->SetDynamicRange(Range{-1.0f, 1.0f}, true).ok());
  IConvNode* c1 = Conv(n, x, 16, 32, 1);
  ASSERT_TRUE(c1->GetOutput(0)->SetDynamicRange(Range{-3.0f, 3.0f}, true).ok());
  IConvNode* c2 = Conv(n, c1->GetOutput(0), 32, 32, 3, true, 1);
  ASSERT_TRUE(c2->GetOutput(0)->SetDynamicRange(Range{-3.0f, 3.0f}, true).ok());
  IConvNode* c3 = Conv(n, c2->GetOutput(0), 32, 8, 5);
  ASSERT_TRUE(n->MarkOutput(c3->GetOutput(0)).ok());
  auto model = BuildOrDie(n, R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})");
  ASSERT_NE(model, nullptr);
  auto context = model->CreateIEngine()->CreateIContext();
  ASSERT_TRUE(context->Prepare({Dims({1, 16, 9, 10})}).ok());
  for (const auto& step : ImplOf(context.get())->plan().steps)
    EXPECT_NE(std::string(step.def ? step.def->name : ""), "onednn-int8");
  const auto input = RandomFloats(16 * 9 * 10, 4, -1.0f, 1.0f);
  const Ran fast = RunPlan(model.get(), input, Dims({1, 16, 9, 10}), true);
  const Ran ref = RunPlan(model.get(), input, Dims({1, 16, 9, 10}), true, /*reference=*/true);
  EXPECT_TRUE(fast.blocked.empty());
  ASSERT_FALSE(fast.y.empty());
  EXPECT_EQ(fast.y, ref.y);
}

}  // namespace
}  // namespace mixq::testing
