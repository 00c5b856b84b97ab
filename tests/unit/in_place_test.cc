// In-place outputs (KernelDef::output_aliases, runtime/lowering.cc
// InPlaceRoots): a step's output takes the bytes of an input its kernel
// names when that input dies at the step. A convolution's fused residual
// add accumulates onto its addend's own bytes (no copy of the addend), an
// element-by-element step overwrites its operand. The numbers stay the
// reference's; near misses (an input read again later, an input in two
// slots) keep their own bytes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fusion_test_util.h"
#include "runtime/engine.h"

namespace mixq::testing {
namespace {

constexpr char kFloat32[] = R"({"precision_config": {"precision_mode": "force_float32"}})";
constexpr char kBFloat16[] = R"({"precision_config": {"precision_mode": "force_bfloat16"}})";

ITensor* Conv(INetwork* n, ITensor* x, int64_t cin, int64_t cout, uint32_t seed, const std::string& name) {
  return Named(PaddedConv3x3(n, x, cin, cout, seed), name);
}

struct Planned {
  std::vector<float> y;
  int64_t arena = 0;
  // Arena offsets of the step of `anchor`: its inputs' and its output's.
  std::vector<int64_t> in_offsets;
  int64_t out_offset = -1;
  std::string kernel;
};

Planned Plan(IModel* model, const std::string& anchor, const std::vector<float>& x, const Dims& dims,
             bool reference = false) {
  ContextOptions options;
  options.force_reference = reference;
  auto context = model->CreateIEngine()->CreateIContext(options);
  EXPECT_TRUE(context->Prepare({dims}).ok());
  const runtime::ExecutionPlan& plan = ImplOf(context.get())->plan();
  const ir::Graph& graph = ImplOf(context.get())->graph();
  Planned p;
  p.arena = plan.arena_bytes;
  for (const auto& step : plan.steps) {
    if (step.node < 0 || graph.node(step.node)->name != anchor) continue;
    p.kernel = step.def ? step.def->name : "?";
    for (int b : step.inputs) p.in_offsets.push_back(b >= 0 ? plan.buffers[static_cast<size_t>(b)].offset : -1);
    p.out_offset = plan.buffers[static_cast<size_t>(step.outputs[0])].offset;
  }
  p.y = EnqueueFirst(context.get(), x);
  return p;
}

// x -> conv a (+ relu) = r -> conv m (+ relu) -> conv b + r -> relu -> conv
// c [-> * r -> conv d when `r_read_again`]: a bottleneck's residual; the
// addend r dies at conv b unless read again.
std::unique_ptr<IModel> Residual(bool r_read_again, const char* config = kFloat32) {
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 16, 11, 9}));
  ITensor* r = Named(n->AddIActivationNode(Conv(n, x, 16, 16, 1, "a"), ActivationType::RELU), "relu_a");
  ITensor* mid = Named(n->AddIActivationNode(Conv(n, r, 16, 16, 2, "m"), ActivationType::RELU), "relu_m");
  ITensor* sum = Binary(n, Conv(n, mid, 16, 16, 3, "b"), r, ElementwiseOp::ADD, "add");
  ITensor* y = Conv(n, Named(n->AddIActivationNode(sum, ActivationType::RELU), "relu_b"), 16, 16, 5, "c");
  if (r_read_again) y = Conv(n, Binary(n, y, r, ElementwiseOp::MUL, "mul"), 16, 16, 9, "d");
  EXPECT_TRUE(y->SetTensorName("y").ok());
  EXPECT_TRUE(n->MarkOutput(y).ok());
  return BuildOrDie(n, config);
}

TEST(InPlace, ResidualConvolutionAccumulatesOntoItsAddendsBytes) {
  if (!HaveOneDnn()) GTEST_SKIP();
  auto model = Residual(false);
  ASSERT_NE(model, nullptr);
  const auto x = RandomFloats(16 * 11 * 9, 7, -1.0f, 1.0f);
  const Planned fast = Plan(model.get(), "b", x, Dims({1, 16, 11, 9}));
  const Planned ref = Plan(model.get(), "b", x, Dims({1, 16, 11, 9}), /*reference=*/true);
  ASSERT_EQ(fast.kernel.rfind("onednn", 0), 0u) << fast.kernel;
  ASSERT_EQ(fast.in_offsets.size(), 4u) << "x, filter, bias, the residual addend";
  EXPECT_EQ(fast.out_offset, fast.in_offsets[3]) << "the sum is written over the addend";
  EXPECT_NE(fast.out_offset, fast.in_offsets[0]) << "never over the convolution's own input";
  EXPECT_NE(ref.out_offset, ref.in_offsets.back()) << "the reference plan keeps its own bytes";
  EXPECT_LT(fast.arena, ref.arena);
  ExpectClose(fast.y, ref.y, 1e-4);
}

// The same on bfloat16 storage (force_bfloat16): onednn-bf16's sum post-op
// accumulates onto the addend's bytes instead of copying the addend into
// its output first (a single-threaded memcpy per residual block).
TEST(InPlace, BFloat16ResidualConvolutionAccumulatesOntoItsAddendsBytes) {
  if (!HaveOneDnn()) GTEST_SKIP();
  auto model = Residual(false, kBFloat16);
  ASSERT_NE(model, nullptr);
  const auto x = RandomFloats(16 * 11 * 9, 7, -1.0f, 1.0f);
  const Planned fast = Plan(model.get(), "b", x, Dims({1, 16, 11, 9}));
  if (fast.kernel != "onednn-bf16") GTEST_SKIP() << "no native bfloat16 convolution here: " << fast.kernel;
  const Planned ref = Plan(model.get(), "b", x, Dims({1, 16, 11, 9}), /*reference=*/true);
  ASSERT_EQ(fast.in_offsets.size(), 4u) << "x, filter, bias, the residual addend";
  EXPECT_EQ(fast.out_offset, fast.in_offsets[3]) << "the sum is written over the addend";
  EXPECT_NE(fast.out_offset, fast.in_offsets[0]) << "never over the convolution's own input";
  // bfloat16 keeps 8 bits: the two plans round at different points of the chain.
  ExpectClose(fast.y, ref.y, 0.05);
}

TEST(InPlace, AnAddendReadAgainKeepsItsBytes) {
  if (!HaveOneDnn()) GTEST_SKIP();
  auto model = Residual(true);
  ASSERT_NE(model, nullptr);
  const auto x = RandomFloats(16 * 11 * 9, 8, -1.0f, 1.0f);
  const Planned fast = Plan(model.get(), "b", x, Dims({1, 16, 11, 9}));
  const Planned ref = Plan(model.get(), "b", x, Dims({1, 16, 11, 9}), /*reference=*/true);
  ASSERT_EQ(fast.in_offsets.size(), 4u);
  EXPECT_NE(fast.out_offset, fast.in_offsets[3]) << "r is read again by the last multiply";
  ExpectClose(fast.y, ref.y, 1e-4);
}

// The int8 residual add of an integer chain (qint8_mixed_float32, every
// tensor with a range) writes its sum over an operand that dies at it: the
// second convolution's output or the block's input, whichever comes first.
TEST(InPlace, Int8ResidualAddOverwritesAnOperand) {
  if (!HaveOneDnn()) GTEST_SKIP();
  auto network = CreateINetwork();
  INetwork* n = network.get();
  const Dims dims({1, 16, 11, 9});
  ITensor* x = n->AddIInput(DataType::FLOAT32, dims);
  ASSERT_TRUE(x->SetDynamicRange(Range{-1.0f, 1.0f}, true).ok());
  ITensor* r = Named(n->AddIActivationNode(Conv(n, x, 16, 16, 1, "a"), ActivationType::RELU), "relu_a");
  ASSERT_TRUE(r->SetDynamicRange(Range{0.0f, 2.0f}, true).ok());
  ITensor* b = Conv(n, r, 16, 16, 2, "b");
  ASSERT_TRUE(b->SetDynamicRange(Range{-2.5f, 2.0f}, true).ok());
  ITensor* sum = Binary(n, b, r, ElementwiseOp::ADD, "add");
  ASSERT_TRUE(sum->SetDynamicRange(Range{-2.0f, 3.5f}, true).ok());
  ITensor* y = Conv(n, sum, 16, 8, 5, "c");
  ASSERT_TRUE(y->SetTensorName("y").ok());
  ASSERT_TRUE(n->MarkOutput(y).ok());
  auto model = BuildOrDie(n, R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})");
  ASSERT_NE(model, nullptr);
  const auto input = RandomFloats(16 * 11 * 9, 31, -1.0f, 1.0f);
  const Planned fast = Plan(model.get(), "add", input, dims);
  const Planned ref = Plan(model.get(), "add", input, dims, /*reference=*/true);
  if (fast.kernel.find("int8") == std::string::npos) GTEST_SKIP() << "no int8 add kernel here: " << fast.kernel;
  ASSERT_EQ(fast.in_offsets.size(), 2u);
  EXPECT_TRUE(Contains(fast.in_offsets, fast.out_offset)) << "the sum is written over an operand";
  EXPECT_FALSE(Contains(ref.in_offsets, ref.out_offset)) << "the reference plan keeps its own bytes";
  ASSERT_EQ(fast.y.size(), ref.y.size());
  EXPECT_EQ(fast.y, ref.y) << "integers throughout: the reference's numbers exactly";
}

// conv -> sigmoid -> * constant -> x * x: the sigmoid and the multiply
// overwrite their operands; the square reads one tensor twice and keeps its
// output apart.
TEST(InPlace, ElementwiseStepsOverwriteTheirOperand) {
  if (!HaveOneDnn()) GTEST_SKIP();
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 8, 7, 13}));
  ITensor* c = Conv(n, x, 8, 8, 11, "conv");
  ITensor* s = Named(n->AddIActivationNode(c, ActivationType::SIGMOID), "sigmoid");
  ITensor* scale = RandomConst(n, {1, 8, 7, 13}, 12, 2.0f);
  ITensor* m = Binary(n, s, scale, ElementwiseOp::SUB, "sub");
  ITensor* y = Binary(n, m, m, ElementwiseOp::MUL, "square");
  ASSERT_TRUE(y->SetTensorName("y").ok());
  ASSERT_TRUE(n->MarkOutput(y).ok());
  auto model = BuildOrDie(n, kFloat32);
  ASSERT_NE(model, nullptr);
  const auto input = RandomFloats(8 * 7 * 13, 13, -2.0f, 2.0f);
  const Dims dims({1, 8, 7, 13});
  const Planned sigmoid = Plan(model.get(), "sigmoid", input, dims);
  const Planned sub = Plan(model.get(), "sub", input, dims);
  const Planned square = Plan(model.get(), "square", input, dims);
  const Planned ref = Plan(model.get(), "sigmoid", input, dims, /*reference=*/true);
  if (sigmoid.kernel == "avx2-fma") {
    ASSERT_EQ(sigmoid.in_offsets.size(), 1u);
    EXPECT_EQ(sigmoid.out_offset, sigmoid.in_offsets[0]);
  }
  ASSERT_EQ(sub.kernel, "cpu-fast");
  EXPECT_EQ(sub.out_offset, sub.in_offsets[0]) << "the sigmoid's output is overwritten by the difference";
  EXPECT_EQ(sub.in_offsets[1], -1) << "the constant lives outside the arena";
  ASSERT_EQ(square.in_offsets.size(), 2u);
  EXPECT_FALSE(Contains(square.in_offsets, square.out_offset)) << "an operand read through two slots keeps its bytes";
  ExpectClose(sigmoid.y, ref.y, 1e-5);
}

// Shape-only steps are views: conv -> Reshape -> Flatten -> sigmoid writes
// each reshaped tensor over its input's bytes (the copy is skipped); a
// Reshape whose input is read again later keeps its own bytes.
TEST(InPlace, ReshapeAndFlattenAreViews) {
  if (!HaveOneDnn()) GTEST_SKIP();
  for (bool read_again : {false, true}) {
    SCOPED_TRACE(read_again ? "conv output read again" : "conv output dies at the reshape");
    auto network = CreateINetwork();
    INetwork* n = network.get();
    ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 8, 6, 10}));
    ITensor* c = Conv(n, x, 8, 8, 21, "conv");
    IReshapeNode* reshape = n->AddIReshapeNode(c, Dims({1, 8, 60}));
    ASSERT_TRUE(reshape->SetNodeName("reshape").ok());
    IFlattenNode* flatten = n->AddIFlattenNode(reshape->GetOutput(0), 1);
    ASSERT_TRUE(flatten->SetNodeName("flatten").ok());
    ITensor* y = Named(n->AddIActivationNode(flatten->GetOutput(0), ActivationType::SIGMOID), "sigmoid");
    if (read_again) {
      IFlattenNode* c_flat = n->AddIFlattenNode(c, 1);
      ASSERT_TRUE(c_flat->SetNodeName("c_flat").ok());
      y = Binary(n, y, c_flat->GetOutput(0), ElementwiseOp::ADD, "add");
    }
    ASSERT_TRUE(y->SetTensorName("y").ok());
    ASSERT_TRUE(n->MarkOutput(y).ok());
    auto model = BuildOrDie(n, kFloat32);
    ASSERT_NE(model, nullptr);
    const auto input = RandomFloats(8 * 6 * 10, 22, -1.0f, 1.0f);
    const Dims dims({1, 8, 6, 10});
    const Planned r = Plan(model.get(), "reshape", input, dims);
    const Planned f = Plan(model.get(), "flatten", input, dims);
    const Planned ref = Plan(model.get(), "reshape", input, dims, /*reference=*/true);
    ASSERT_EQ(r.in_offsets.size(), 1u);
    ASSERT_EQ(f.in_offsets.size(), 1u);
    ASSERT_GE(r.in_offsets[0], 0);
    if (read_again)
      EXPECT_NE(r.out_offset, r.in_offsets[0]) << "the conv output is read again: the reshape copies it";
    else
      EXPECT_EQ(r.out_offset, r.in_offsets[0]) << "the reshape is a view of the conv output";
    EXPECT_EQ(f.out_offset, f.in_offsets[0]) << "the flatten is a view of the reshape's output";
    EXPECT_NE(ref.out_offset, ref.in_offsets[0]) << "the reference plan copies";
    ExpectClose(r.y, ref.y, 1e-5);
  }
}

}  // namespace
}  // namespace mixq::testing
