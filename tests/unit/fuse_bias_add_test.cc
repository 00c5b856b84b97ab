// Bias add fusion (runtime/fusion/fuse_bias_add.cc) and what fuses after it:
// a float32 MatMul / FullyConnected with constant weights, + a constant bias
// per output column ([N] or [1, ..., 1, N], either operand order), then GELU
// (erf or tanh form), relu or clip, then a residual add, runs as one step,
// on avx2-f32 (6 rows and K >= 256) or oneDNN (smaller products), and agrees
// with force_reference (which fuses nothing) within the kernels' tolerance:
// the product's 1e-5 * sqrt(K) * sum_k |a_k w_k| and one rounding per add,
// times GELU's slope (below 1.13), plus the vector GELU's 1e-5 relative
// (cpu_avx2_float.cc states 2e-6 / 4e-6; oneDNN's eltwise is within that)
// and 1e-7 absolute. Near misses stay separate steps.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "fusion_test_util.h"
#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"
#include "runtime/engine.h"
#include "test_util/prefer_avx2_f32.h"
#include "util/half.h"

namespace mixq::testing {
namespace {

enum class Tail { kNone, kGeluErf, kGeluTanh, kRelu, kClip, kResidual, kGeluResidual };

struct Pattern {
  int64_t m = 20, k = 300, n = 40;
  std::vector<int64_t> bias_dims;  // empty: {n}
  bool bias_first = false;         // bias + y instead of y + bias
  bool fully_connected = false;    // FullyConnected [m, k] x [n, k]^T (+ its own bias) instead of MatMul
  Tail tail = Tail::kNone;
};

struct Built {
  std::unique_ptr<INetwork> network;
  std::vector<float> w, bias, fc_bias;
  Dims x_dims;
  std::string product_name = "product";
  ITensor* product = nullptr;
  ITensor* biased = nullptr;
};

// x -> MatMul / FullyConnected -> + bias -> tail (marked as the output).
Built Make(const Pattern& p) {
  Built b;
  b.network = CreateINetwork();
  INetwork* n = b.network.get();
  b.x_dims = p.fully_connected ? Dims({p.m, p.k}) : Dims({1, p.m, p.k});
  ITensor* x = n->AddIInput(DataType::FLOAT32, b.x_dims);
  b.w = RandomFloats(static_cast<size_t>(p.k * p.n), 3, -0.3f, 0.3f);
  b.bias = RandomFloats(static_cast<size_t>(p.n), 4, -1.0f, 1.0f);
  if (p.fully_connected) {
    b.fc_bias = RandomFloats(static_cast<size_t>(p.n), 5, -0.5f, 0.5f);
    ITensor* wt = Constant(n, Dims({p.n, p.k}), b.w);  // [N, K]: W[k][j] = w[j * K + k]
    b.product = Named(n->AddIFullyConnectedNode(x, wt, Constant(n, Dims({p.n}), b.fc_bias)), b.product_name);
  } else {
    ITensor* wt = Constant(n, Dims({p.k, p.n}), b.w);
    b.product = Named(n->AddIMatMulNode(x, wt), b.product_name);
  }
  ITensor* bias = Constant(n, p.bias_dims.empty() ? Dims({p.n}) : Dims(p.bias_dims), b.bias);
  b.biased = p.bias_first ? Binary(n, bias, b.product, ElementwiseOp::ADD, "bias_add")
                          : Binary(n, b.product, bias, ElementwiseOp::ADD, "bias_add");
  ITensor* y = b.biased;
  switch (p.tail) {
    case Tail::kGeluErf:
    case Tail::kGeluResidual:
      y = Named(n->AddIActivationNode(y, ActivationType::GELU_ERF), "act");
      break;
    case Tail::kGeluTanh:
      y = Named(n->AddIActivationNode(y, ActivationType::GELU_TANH), "act");
      break;
    case Tail::kRelu:
      y = Named(n->AddIActivationNode(y, ActivationType::RELU), "act");
      break;
    case Tail::kClip: {
      IActivationNode* clip = n->AddIActivationNode(y, ActivationType::CLIP);
      EXPECT_TRUE(clip->SetAttr("alpha", -0.4f).ok());
      EXPECT_TRUE(clip->SetAttr("beta", 0.6f).ok());
      y = Named(clip, "act");
      break;
    }
    default:
      break;
  }
  if (p.tail == Tail::kResidual || p.tail == Tail::kGeluResidual) y = Binary(n, y, x, ElementwiseOp::ADD, "residual");
  EXPECT_TRUE(n->MarkOutput(y).ok());
  return b;
}

struct StepInfo {
  std::string kernel;
  std::vector<std::string> fused;  // the fused nodes' names
  std::vector<ops::PostOp::Kind> post_ops;
  size_t steps = 0;
};

StepInfo StepOf(IContext* context, const std::string& name) {
  StepInfo s;
  const runtime::ExecutionPlan& plan = ImplOf(context)->plan();
  const ir::Graph& graph = ImplOf(context)->graph();
  s.steps = plan.steps.size();
  for (const auto& step : plan.steps) {
    if (step.node < 0 || graph.node(step.node)->name != name) continue;
    s.kernel = step.def ? step.def->name : "?";
    for (int f : step.fused) s.fused.push_back(graph.node(f)->name);
    for (const auto& op : step.post_ops) s.post_ops.push_back(op.kind);
  }
  return s;
}

// sum_k |x_k w_k| per output in double: the product's error scale.
std::vector<double> AbsProducts(const Pattern& p, const Built& b, const std::vector<float>& x) {
  std::vector<double> s(static_cast<size_t>(p.m * p.n), 0.0);
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t j = 0; j < p.n; ++j)
      for (int64_t t = 0; t < p.k; ++t) {
        const float w =
            p.fully_connected ? b.w[static_cast<size_t>(j * p.k + t)] : b.w[static_cast<size_t>(t * p.n + j)];
        s[static_cast<size_t>(i * p.n + j)] += std::fabs(static_cast<double>(x[static_cast<size_t>(i * p.k + t)]) * w);
      }
  return s;
}

struct Ran {
  StepInfo step;
  std::vector<float> fast, reference;
};

// Builds `p`, runs it with the fast kernels and with force_reference, and
// checks the two agree within the tolerance of the file's header.
Ran RunAndCompare(const Pattern& p) {
  Built b = Make(p);
  auto model = BuildOrDie(b.network.get(), R"({"precision_config": {"precision_mode": "force_float32"}})");
  EXPECT_NE(model, nullptr);
  Ran r;
  if (!model) return r;
  auto engine = model->CreateIEngine();
  auto fast = engine->CreateIContext();
  ContextOptions reference_only;
  reference_only.force_reference = true;
  auto slow = engine->CreateIContext(reference_only);
  EXPECT_TRUE(fast->Prepare({b.x_dims}).ok());
  EXPECT_TRUE(slow->Prepare({b.x_dims}).ok());
  r.step = StepOf(fast.get(), b.product_name);
  EXPECT_TRUE(StepOf(slow.get(), b.product_name).fused.empty());
  std::vector<float> x = RandomFloats(static_cast<size_t>(p.m * p.k), 6, -1.0f, 1.0f);
  r.fast = RunOnce(fast.get(), b.x_dims, x);
  r.reference = RunOnce(slow.get(), b.x_dims, x);
  EXPECT_EQ(r.fast.size(), r.reference.size());
  EXPECT_EQ(r.fast.size(), static_cast<size_t>(p.m * p.n));
  if (r.fast.size() != r.reference.size() || r.fast.empty()) return r;
  const std::vector<double> scale = AbsProducts(p, b, x);
  for (size_t i = 0; i < r.fast.size(); ++i) {
    const double want = r.reference[i];
    const double bound =
        1.13 * (1e-5 * std::sqrt(static_cast<double>(p.k)) * scale[i] + std::ldexp(std::fabs(want) + 4.0, -22)) +
        1e-5 * std::fabs(want) + 1e-7;
    EXPECT_LE(std::fabs(r.fast[i] - want), bound) << "element " << i;
  }
  return r;
}

bool HaveAvx2F32() {
  return ops::FindKernel(OpKind::kMatMul, "avx2-f32") && kernels::BestIsa() >= kernels::Isa::kAvx2;
}

using Kind = ops::PostOp::Kind;

TEST(FuseBiasAdd, MatMulBiasGeluIsOneStepOnAvx2F32) {
  const test_util::PreferAvx2F32 prefer_avx2_f32;  // whatever the CPU vendor
  if (!HaveAvx2F32()) GTEST_SKIP() << "no AVX2";
  for (const Tail tail : {Tail::kGeluErf, Tail::kGeluTanh, Tail::kRelu, Tail::kClip}) {
    SCOPED_TRACE(static_cast<int>(tail));
    Pattern p;
    p.tail = tail;
    const Ran r = RunAndCompare(p);
    EXPECT_EQ(r.step.steps, 1u);
    EXPECT_EQ(r.step.kernel, "avx2-f32");
    EXPECT_EQ(r.step.fused, (std::vector<std::string>{"bias_add", "act"}));
    EXPECT_EQ(r.step.post_ops, (std::vector<Kind>{Kind::kAdd, Kind::kActivation}));
  }
}

TEST(FuseBiasAdd, BiasThenResidualAndBiasGeluResidual) {
  const test_util::PreferAvx2F32 prefer_avx2_f32;  // whatever the CPU vendor
  if (!HaveAvx2F32()) GTEST_SKIP() << "no AVX2";
  Pattern p;
  p.k = p.n = 256;  // the residual is x itself
  p.tail = Tail::kResidual;
  p.bias_first = true;        // bias + y
  p.bias_dims = {1, 1, 256};  // [1, 1, N]
  Ran r = RunAndCompare(p);
  EXPECT_EQ(r.step.kernel, "avx2-f32");
  EXPECT_EQ(r.step.fused, (std::vector<std::string>{"bias_add", "residual"}));
  EXPECT_EQ(r.step.post_ops, (std::vector<Kind>{Kind::kAdd, Kind::kAdd}));
  p.tail = Tail::kGeluResidual;
  r = RunAndCompare(p);
  EXPECT_EQ(r.step.steps, 1u);
  EXPECT_EQ(r.step.fused, (std::vector<std::string>{"bias_add", "act", "residual"}));
  EXPECT_EQ(r.step.post_ops, (std::vector<Kind>{Kind::kAdd, Kind::kActivation, Kind::kAdd}));
}

TEST(FuseBiasAdd, FullyConnectedWithItsOwnBiasThenABiasAddAndGelu) {
  const test_util::PreferAvx2F32 prefer_avx2_f32;  // whatever the CPU vendor
  if (!ops::FindKernel(OpKind::kFullyConnected, "avx2-f32") || kernels::BestIsa() < kernels::Isa::kAvx2)
    GTEST_SKIP() << "no AVX2";
  Pattern p;
  p.fully_connected = true;
  p.tail = Tail::kGeluErf;
  const Ran r = RunAndCompare(p);
  EXPECT_EQ(r.step.kernel, "avx2-f32");
  EXPECT_EQ(r.step.fused, (std::vector<std::string>{"bias_add", "act"}));
}

TEST(FuseBiasAdd, SmallProductsFuseIntoOneDnn) {
  // 4 rows, K = 40: below avx2-f32's preference, oneDNN's matmul with a
  // binary_add per-column post-op, eltwise GELU, and a binary_add residual.
  if (!ops::FindKernel(OpKind::kMatMul, "onednn")) GTEST_SKIP() << "no oneDNN";
  for (const Tail tail : {Tail::kGeluErf, Tail::kGeluTanh, Tail::kRelu}) {
    SCOPED_TRACE(static_cast<int>(tail));
    Pattern p;
    p.m = 4;
    p.k = 40;
    p.n = 24;
    p.tail = tail;
    const Ran r = RunAndCompare(p);
    EXPECT_EQ(r.step.kernel, "onednn");
    EXPECT_EQ(r.step.fused, (std::vector<std::string>{"bias_add", "act"}));
  }
  Pattern p;
  p.m = 4;
  p.k = p.n = 24;
  p.tail = Tail::kGeluResidual;
  p.bias_dims = {1, 24};
  const Ran r = RunAndCompare(p);
  EXPECT_EQ(r.step.kernel, "onednn");
  EXPECT_EQ(r.step.fused, (std::vector<std::string>{"bias_add", "act", "residual"}));
}

// Runs `context` on x and returns its 16-bit (bfloat16 or float16) output widened.
std::vector<float> RunNarrowOutput(IContext* context, const Dims& dims, std::vector<float> x, DataType type) {
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  EXPECT_TRUE(context->CreateInputTensors(&inputs).ok());
  EXPECT_TRUE(context->CreateOutputTensors(&outputs).ok());
  EXPECT_TRUE(inputs[0]->SetDimensions(dims).ok());
  EXPECT_TRUE(inputs[0]->SetData(x.data(), x.size() * sizeof(float)).ok());
  EXPECT_TRUE(context->Enqueue(inputs, outputs).ok());
  EXPECT_EQ(outputs[0]->GetDataType(), type);
  const auto* h = static_cast<const uint16_t*>(outputs[0]->GetData());
  std::vector<float> y;
  for (int64_t i = 0; i < outputs[0]->GetDimensions().GetElementCount(); ++i)
    y.push_back(type == DataType::BFLOAT16 ? BFloat16ToFloat(h[i]) : HalfToFloat(h[i]));
  return y;
}

// force_bfloat16 where the CPU has bfloat16 dot products: MatMul + bias +
// GELU + residual on BFLOAT16 storage is one onednn-bf16 step, which rounds
// once after the chain; force_reference rounds after every node, so the two
// agree within a few bfloat16 steps of the intermediates (2^-6 of the
// output plus the bias, GELU and residual inputs, all below 4 here). A
// missing bias or residual would be off by up to 1.
TEST(FuseBiasAdd, BFloat16ChainIsOneOneDnnBFloat16Step) {
  if (!(kernels::DetectedCpuFeatures().avx512bf16 && kernels::BestIsa() >= kernels::Isa::kAvx512))
    GTEST_SKIP() << "no AVX512_BF16";
  Pattern p;
  p.k = p.n = 256;
  p.tail = Tail::kGeluResidual;
  Built b = Make(p);
  auto model = BuildOrDie(b.network.get(), R"({"precision_config": {"precision_mode": "force_bfloat16"}})");
  ASSERT_NE(model, nullptr);
  auto engine = model->CreateIEngine();
  auto fast = engine->CreateIContext();
  ContextOptions reference_only;
  reference_only.force_reference = true;
  auto slow = engine->CreateIContext(reference_only);
  ASSERT_TRUE(fast->Prepare({b.x_dims}).ok());
  ASSERT_TRUE(slow->Prepare({b.x_dims}).ok());
  const StepInfo step = StepOf(fast.get(), b.product_name);
  EXPECT_EQ(step.kernel, "onednn-bf16");
  EXPECT_EQ(step.fused, (std::vector<std::string>{"bias_add", "act", "residual"}));
  EXPECT_EQ(step.post_ops, (std::vector<Kind>{Kind::kAdd, Kind::kActivation, Kind::kAdd}));
  std::vector<float> x = RandomFloats(static_cast<size_t>(p.m * p.k), 6, -1.0f, 1.0f);
  const std::vector<float> got = RunNarrowOutput(fast.get(), b.x_dims, x, DataType::BFLOAT16),
                           want = RunNarrowOutput(slow.get(), b.x_dims, x, DataType::BFLOAT16);
  ASSERT_EQ(got.size(), static_cast<size_t>(p.m * p.n));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_LE(std::fabs(got[i] - want[i]), std::ldexp(std::fabs(want[i]) + 4.0, -6)) << "element " << i;
}

// The near miss: the bias add produces FLOAT32 (SetOutputType), so its
// output is not bfloat16 storage like the product's; the bfloat16 rule
// leaves it (and what follows) separate steps.
TEST(FuseBiasAdd, BFloat16ChainWithAFloat32SumStaysSeparate) {
  if (!(kernels::DetectedCpuFeatures().avx512bf16 && kernels::BestIsa() >= kernels::Isa::kAvx512))
    GTEST_SKIP() << "no AVX512_BF16";
  Pattern p;
  p.k = p.n = 256;
  p.tail = Tail::kGeluResidual;
  Built b = Make(p);
  for (INode* node : b.network->GetAllNodes()) {
    if (node->GetNodeName() == "bias_add") {
      ASSERT_TRUE(node->SetOutputType(0, DataType::FLOAT32).ok());
    }
  }
  auto model = BuildOrDie(b.network.get(), R"({"precision_config": {"precision_mode": "force_bfloat16"}})");
  ASSERT_NE(model, nullptr);
  auto context = model->CreateIEngine()->CreateIContext();
  ASSERT_TRUE(context->Prepare({b.x_dims}).ok());
  const StepInfo step = StepOf(context.get(), b.product_name);
  // A bfloat16 product: oneDNN's, or mixq's own on AMX-BF16 CPUs.
  EXPECT_TRUE(step.kernel == "onednn-bf16" || step.kernel == "amx-bf16-gemm") << step.kernel;
  EXPECT_TRUE(step.fused.empty());
}

// force_float16 where the CPU has AVX2: MatMul (or FullyConnected) + bias
// + residual on FLOAT16 storage is one step of the float16-weight GEMM
// (ops/half_weight_gemm.h), which rounds after each node as the separate
// steps do, and agrees with force_reference (nothing fused) within a
// float16 step of the magnitudes involved: the float32 sum may round to the
// double sum's float16 neighbour, and each later rounding may then differ
// by a step too (|y|, |y + b|, |out| < 4 + |want| here: 2^-8 of that). A
// missing or doubled bias (values up to 1) or residual would be off by far
// more in most of the outputs.
struct HalfRun {
  StepInfo step;
  size_t checked = 0;
};

HalfRun RunFloat16AndCompare(const Pattern& p) {
  HalfRun r;
  Built b = Make(p);
  auto model = BuildOrDie(b.network.get(), R"({"precision_config": {"precision_mode": "force_float16"}})");
  EXPECT_NE(model, nullptr);
  if (!model) return r;
  auto engine = model->CreateIEngine();
  auto fast = engine->CreateIContext();
  ContextOptions reference_only;
  reference_only.force_reference = true;
  auto slow = engine->CreateIContext(reference_only);
  EXPECT_TRUE(fast->Prepare({b.x_dims}).ok());
  EXPECT_TRUE(slow->Prepare({b.x_dims}).ok());
  r.step = StepOf(fast.get(), b.product_name);
  std::vector<float> x = RandomFloats(static_cast<size_t>(p.m * p.k), 6, -1.0f, 1.0f);
  const std::vector<float> got = RunNarrowOutput(fast.get(), b.x_dims, x, DataType::FLOAT16),
                           want = RunNarrowOutput(slow.get(), b.x_dims, x, DataType::FLOAT16);
  EXPECT_EQ(got.size(), static_cast<size_t>(p.m * p.n));
  EXPECT_EQ(got.size(), want.size());
  if (got.size() != want.size()) return r;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_LE(std::fabs(got[i] - want[i]), std::ldexp(std::fabs(want[i]) + 4.0, -8)) << "element " << i;
    ++r.checked;
  }
  return r;
}

TEST(FuseBiasAdd, Float16BiasAndResidualFuseIntoTheHalfWeightGemm) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  // 16 rows or more run on the AMX split GEMM where the CPU has AMX-BF16.
  const kernels::CpuFeatures& cpu = kernels::DetectedCpuFeatures();
  const std::string gemm = cpu.amx_bf16 && cpu.avx512bf16                ? "amx-f16-gemm"
                           : kernels::BestIsa() >= kernels::Isa::kAvx512 ? "avx512-f16-gemm"
                                                                         : "avx2-f16-gemm";
  Pattern p;  // 20 rows x 300 -> 40, y + bias
  HalfRun r = RunFloat16AndCompare(p);
  EXPECT_EQ(r.checked, 800u);
  EXPECT_EQ(r.step.kernel, gemm);
  EXPECT_EQ(r.step.fused, (std::vector<std::string>{"bias_add"}));
  p.k = p.n = 72;  // bias + y, a [1, 1, N] bias, then the residual add of x
  p.bias_first = true;
  p.bias_dims = {1, 1, 72};
  p.tail = Tail::kResidual;
  r = RunFloat16AndCompare(p);
  EXPECT_EQ(r.checked, 20u * 72u);
  EXPECT_EQ(r.step.kernel, gemm);
  EXPECT_EQ(r.step.fused, (std::vector<std::string>{"bias_add", "residual"}));
  EXPECT_EQ(r.step.post_ops, (std::vector<Kind>{Kind::kAdd, Kind::kAdd}));
  EXPECT_EQ(r.step.steps, 2u);  // the float32 input's Cast, then this one
  // FullyConnected of 3 rows: its own bias, then the fused bias add and relu.
  Pattern fc;
  fc.fully_connected = true;
  fc.m = 3;
  fc.tail = Tail::kRelu;
  r = RunFloat16AndCompare(fc);
  EXPECT_EQ(r.checked, 120u);
  EXPECT_EQ(r.step.kernel, kernels::BestIsa() >= kernels::Isa::kAvx512 ? "avx512-f16-gemv" : "avx2-f16-gemv");
  EXPECT_EQ(r.step.fused, (std::vector<std::string>{"bias_add", "act"}));
  // GELU (both forms) after the bias, and before a residual add: the output
  // stage runs the float32 Activation kernel's loop between its roundings.
  for (const Tail tail : {Tail::kGeluErf, Tail::kGeluTanh, Tail::kGeluResidual}) {
    SCOPED_TRACE(static_cast<int>(tail));
    Pattern g;
    g.k = g.n = 64;
    g.tail = tail;
    r = RunFloat16AndCompare(g);
    EXPECT_EQ(r.checked, 20u * 64u);
    EXPECT_EQ(r.step.kernel, gemm);
    EXPECT_EQ(r.step.fused, tail == Tail::kGeluResidual ? (std::vector<std::string>{"bias_add", "act", "residual"})
                                                        : (std::vector<std::string>{"bias_add", "act"}));
  }
}

TEST(FuseBiasAdd, NearMissesStaySeparate) {
  const test_util::PreferAvx2F32 prefer_avx2_f32;  // whatever the CPU vendor
  if (!HaveAvx2F32()) GTEST_SKIP() << "no AVX2";
  // A bias along another axis ([1, M, 1]: one value per row): no fusion, still right.
  {
    Pattern p;
    p.bias_dims = {1, p.m, 1};
    const Ran r = RunAndCompare(p);
    EXPECT_EQ(r.step.kernel, "avx2-f32");
    EXPECT_TRUE(r.step.fused.empty());
    EXPECT_EQ(r.step.steps, 2u);
  }
  // The product also feeds a second node: it must exist, nothing fuses.
  {
    Pattern p;
    p.tail = Tail::kGeluErf;
    Built b = Make(p);
    ASSERT_TRUE(b.network->MarkOutput(b.product).ok());
    auto model = BuildOrDie(b.network.get(), R"({"precision_config": {"precision_mode": "force_float32"}})");
    ASSERT_NE(model, nullptr);
    auto context = model->CreateIEngine()->CreateIContext();
    ASSERT_TRUE(context->Prepare({b.x_dims}).ok());
    const StepInfo s = StepOf(context.get(), "product");
    EXPECT_TRUE(s.fused.empty());
  }
  // The biased sum also feeds a second node: the bias fuses, GELU does not.
  {
    Pattern p;
    p.tail = Tail::kGeluErf;
    Built b = Make(p);
    ASSERT_TRUE(b.network->MarkOutput(b.biased).ok());
    auto model = BuildOrDie(b.network.get(), R"({"precision_config": {"precision_mode": "force_float32"}})");
    ASSERT_NE(model, nullptr);
    auto context = model->CreateIEngine()->CreateIContext();
    ASSERT_TRUE(context->Prepare({b.x_dims}).ok());
    const StepInfo s = StepOf(context.get(), "product");
    EXPECT_EQ(s.fused, (std::vector<std::string>{"bias_add"}));
  }
  // A 1-D b ([K]: the output [1, M] has no column dim of b's): a bias [M]
  // would broadcast along a's rows in oneDNN's dst [1, M, 1]; not fused, and
  // the separate steps agree with the reference.
  {
    auto n = CreateINetwork();
    ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 5, 24}));
    const auto w = RandomFloats(24, 3, -0.3f, 0.3f);
    const auto bias_values = RandomFloats(5, 4);
    ITensor* y = Named(n->AddIMatMulNode(x, Constant(n.get(), Dims({24}), w)), "product");
    ITensor* sum = Binary(n.get(), y, Constant(n.get(), Dims({5}), bias_values), ElementwiseOp::ADD, "bias_add");
    ASSERT_TRUE(n->MarkOutput(sum).ok());
    auto model = BuildOrDie(n.get(), R"({"precision_config": {"precision_mode": "force_float32"}})");
    ASSERT_NE(model, nullptr);
    auto engine = model->CreateIEngine();
    auto fast = engine->CreateIContext();
    ContextOptions reference_only;
    reference_only.force_reference = true;
    auto slow = engine->CreateIContext(reference_only);
    ASSERT_TRUE(fast->Prepare({Dims({1, 5, 24})}).ok());
    ASSERT_TRUE(slow->Prepare({Dims({1, 5, 24})}).ok());
    EXPECT_TRUE(StepOf(fast.get(), "product").fused.empty());
    std::vector<float> x_values = RandomFloats(5 * 24, 7);
    const auto got = RunOnce(fast.get(), Dims({1, 5, 24}), x_values);
    const auto want = RunOnce(slow.get(), Dims({1, 5, 24}), x_values);
    ASSERT_EQ(got.size(), 5u);
    ASSERT_EQ(want.size(), 5u);
    for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * (1 + std::fabs(want[i]))) << i;
  }
  // force_float16: the bias fuses into the float16 GEMM (where the CPU has
  // AVX2); GELU does not when the biased sum also feeds a network output.
  if (kernels::BestIsa() >= kernels::Isa::kAvx2) {
    Pattern p;
    p.tail = Tail::kGeluErf;
    Built b = Make(p);
    ASSERT_TRUE(b.network->MarkOutput(b.biased).ok());
    auto model = BuildOrDie(b.network.get(), R"({"precision_config": {"precision_mode": "force_float16"}})");
    ASSERT_NE(model, nullptr);
    auto context = model->CreateIEngine()->CreateIContext();
    ASSERT_TRUE(context->Prepare({b.x_dims}).ok());
    const StepInfo s = StepOf(context.get(), "product");
    EXPECT_EQ(s.fused, (std::vector<std::string>{"bias_add"}));
    EXPECT_EQ(s.post_ops, (std::vector<Kind>{Kind::kAdd}));
  }
  // A bias that is not a constant (a second network input): not fused.
  {
    auto n = CreateINetwork();
    ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 20, 300}));
    ITensor* bias = n->AddIInput(DataType::FLOAT32, Dims({40}));
    const auto w = RandomFloats(300 * 40, 3, -0.3f, 0.3f);
    ITensor* y = Named(n->AddIMatMulNode(x, Constant(n.get(), Dims({300, 40}), w)), "product");
    ITensor* sum = Binary(n.get(), y, bias, ElementwiseOp::ADD, "bias_add");
    ASSERT_TRUE(n->MarkOutput(sum).ok());
    auto model = BuildOrDie(n.get(), R"({"precision_config": {"precision_mode": "force_float32"}})");
    ASSERT_NE(model, nullptr);
    auto context = model->CreateIEngine()->CreateIContext();
    ASSERT_TRUE(context->Prepare({Dims({1, 20, 300}), Dims({40})}).ok());
    const StepInfo s = StepOf(context.get(), "product");
    EXPECT_EQ(s.kernel, "avx2-f32");
    EXPECT_TRUE(s.fused.empty());
  }
}

}  // namespace
}  // namespace mixq::testing
