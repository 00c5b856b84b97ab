// The float32 products with constant weights in a real plan: a BERT-shaped
// MatMul ([1, 128, 768] x [768, 768]) and FullyConnected ([128, 768] x
// [768, 768] + bias), each followed by a residual add, run on avx2-f32 with
// the add fused into the step, and agree with the force_reference context
// within the kernel's tolerance, 1e-5 * sqrt(K) * sum_k |a_k w_k| (+ one
// rounding of the add).
#include <gtest/gtest.h>

#include <cmath>

#include "api_test_util.h"
#include "kernels/cpu_features.h"
#include "runtime/engine.h"
#include "test_util/prefer_avx2_f32.h"

namespace mixq::testing {
namespace {

constexpr int64_t kRows = 128, kDepth = 768, kCols = 768;

runtime::ContextImpl* Impl(IContext* context) {
  return dynamic_cast<runtime::ContextImpl*>(context);
}

// y = x * W (+ bias) + x, x [1, 128, 768] (MatMul) or [128, 768] (FullyConnected).
void CheckPlanAndValues(bool fully_connected) {
  const std::vector<float> w = RandomFloats(static_cast<size_t>(kDepth * kCols), 3, -0.3f, 0.3f);
  const std::vector<float> bias = RandomFloats(static_cast<size_t>(kCols), 4);
  auto network = CreateINetwork();
  const Dims x_dims = fully_connected ? Dims({kRows, kDepth}) : Dims({1, kRows, kDepth});
  ITensor* x = network->AddIInput(DataType::FLOAT32, x_dims);
  ITensor* product = nullptr;
  if (fully_connected) {
    // weight [N, K] (transpose_b = 1, the default); w read as W[k][n] = w[n * K + k].
    ITensor* wt = network->AddIConstNode(DataType::FLOAT32, Dims({kCols, kDepth}), w.data())->GetOutput(0);
    ITensor* b = network->AddIConstNode(DataType::FLOAT32, Dims({kCols}), bias.data())->GetOutput(0);
    product = network->AddIFullyConnectedNode(x, wt, b)->GetOutput(0);
  } else {
    ITensor* wt = network->AddIConstNode(DataType::FLOAT32, Dims({kDepth, kCols}), w.data())->GetOutput(0);
    product = network->AddIMatMulNode(x, wt)->GetOutput(0);
  }
  IElementwiseNode* add = network->AddIElementwiseNode(product, x, ElementwiseOp::ADD);
  ASSERT_TRUE(network->MarkOutput(add->GetOutput(0)).ok());
  auto model = BuildOrDie(network.get(), R"({"precision_config": {"precision_mode": "force_float32"}})");
  ASSERT_NE(model, nullptr);
  auto engine = model->CreateIEngine();
  auto fast = engine->CreateIContext();
  ContextOptions reference_only;
  reference_only.force_reference = true;
  auto slow = engine->CreateIContext(reference_only);
  ASSERT_TRUE(fast->Prepare({x_dims}).ok());
  const runtime::ExecutionPlan& plan = Impl(fast.get())->plan();
  ASSERT_EQ(plan.steps.size(), 1u);  // the product, the residual add fused into it
  EXPECT_STREQ(plan.steps[0].def->name, "avx2-f32");
  EXPECT_EQ(plan.steps[0].fused.size(), 1u);
  ASSERT_EQ(plan.steps[0].post_ops.size(), 1u);
  EXPECT_EQ(plan.steps[0].post_ops[0].kind, ops::PostOp::Kind::kAdd);

  std::vector<float> input = RandomFloats(static_cast<size_t>(kRows * kDepth), 5);
  const std::vector<float> got = RunOnce(fast.get(), x_dims, input);
  const std::vector<float> want = RunOnce(slow.get(), x_dims, input);
  ASSERT_EQ(got.size(), static_cast<size_t>(kRows * kCols));
  ASSERT_EQ(want.size(), got.size());
  for (int64_t i = 0; i < kRows; ++i)
    for (int64_t j = 0; j < kCols; ++j) {
      double scale = fully_connected ? std::fabs(bias[static_cast<size_t>(j)]) : 0.0;
      for (int64_t t = 0; t < kDepth; ++t)
        scale += std::fabs(input[static_cast<size_t>(i * kDepth + t)]) *
                 std::fabs(w[static_cast<size_t>(fully_connected ? j * kDepth + t : t * kCols + j)]);
      const size_t e = static_cast<size_t>(i * kCols + j);
      const double bound = 1e-5 * std::sqrt(static_cast<double>(kDepth)) * scale + std::ldexp(std::fabs(want[e]), -22);
      ASSERT_LE(std::fabs(static_cast<double>(got[e]) - want[e]), bound) << "row " << i << " column " << j;
    }
}

TEST(FloatGemmPlan, BertMatMulRunsAvx2F32WithTheResidualAddFused) {
  const test_util::PreferAvx2F32 prefer_avx2_f32;  // whatever the CPU vendor
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  CheckPlanAndValues(false);
}

TEST(FloatGemmPlan, FullyConnectedRunsAvx2F32WithTheResidualAddFused) {
  const test_util::PreferAvx2F32 prefer_avx2_f32;  // whatever the CPU vendor
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  CheckPlanAndValues(true);
}

}  // namespace
}  // namespace mixq::testing
