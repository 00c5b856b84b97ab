// FullyConnected "onednn-bf16" against an independent double-precision
// product of the same bfloat16 values plus the bias, rounded once to
// bfloat16 (fully_connected/cpu_onednn.cc): weights [N, K] and [K, N], bias
// or none, a FLOAT32 output; and weights bfloat16 cannot hold, declined.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

struct Case {
  int64_t m, k, n;
  bool transpose_b = true, bias = true, float_output = false;
};

// The outputs and the reference; empty outputs when the kernel declines.
std::pair<std::vector<float>, std::vector<float>> RunCase(const Case& c, uint32_t seed, float weight_override = 0.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::vector<float> a(static_cast<size_t>(c.m * c.k)), w(static_cast<size_t>(c.k * c.n)),
      bias(static_cast<size_t>(c.n));
  for (auto& v : a) v = RoundToBFloat16(real(rng));
  for (auto& v : w) v = RoundToBFloat16(real(rng));
  if (weight_override != 0.0f) w[2] = weight_override;
  for (auto& v : bias) v = real(rng);
  std::vector<float> expected;
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      double s = c.bias ? bias[static_cast<size_t>(j)] : 0.0;
      for (int64_t t = 0; t < c.k; ++t)
        s += double(a[static_cast<size_t>(i * c.k + t)]) *
             w[static_cast<size_t>(c.transpose_b ? j * c.k + t : t * c.n + j)];
      expected.push_back(c.float_output ? static_cast<float>(s) : RoundToBFloat16(static_cast<float>(s)));
    }
  ir::AttrMap attrs;
  for (const AttrSpec& spec : GetSchema(OpKind::kFullyConnected).attrs) attrs.Set(spec.name, spec.default_value);
  attrs.Set("transpose_b", int64_t{c.transpose_b ? 1 : 0});
  const ir::Shape w_shape = c.transpose_b ? ir::Shape{c.n, c.k} : ir::Shape{c.k, c.n};
  ValueInfo ai{DataType::BFLOAT16, {c.m, c.k}, nullptr, nullptr, true};
  ValueInfo wi{DataType::FLOAT32, w_shape, w.data(), nullptr, false};
  ValueInfo bi{DataType::FLOAT32, {c.n}, bias.data(), nullptr, false};
  std::vector<ValueInfo> outs = {c.float_output ? ValueInfo{DataType::FLOAT32, {c.m, c.n}, nullptr, nullptr, false}
                                                : ValueInfo{DataType::BFLOAT16, {c.m, c.n}, nullptr, nullptr, true}};
  std::vector<const ValueInfo*> ins = {&ai, &wi, c.bias ? &bi : nullptr};
  KernelInit init(attrs, ins, outs);
  const KernelDef* def = FindKernel(OpKind::kFullyConnected, "onednn-bf16");
  EXPECT_NE(def, nullptr);
  if (!def || !def->supports(init)) return {{}, expected};
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def->make(init, &kernel).ok());
  EXPECT_STREQ(kernel->Name(), "onednn-bf16");
  std::vector<uint16_t> a16(a.size()), y16(static_cast<size_t>(c.m * c.n));
  for (size_t i = 0; i < a.size(); ++i) a16[i] = FloatToBFloat16(a[i]);
  std::vector<float> y32(y16.size());
  TensorView bv = c.bias ? TensorView{DataType::FLOAT32, {c.n}, bias.data(), nullptr} : TensorView{};
  TensorView yv = c.float_output ? TensorView{DataType::FLOAT32, {c.m, c.n}, y32.data(), nullptr}
                                 : TensorView{DataType::BFLOAT16, {c.m, c.n}, y16.data(), nullptr};
  EXPECT_TRUE(kernel
                  ->Run({{DataType::BFLOAT16, {c.m, c.k}, a16.data(), nullptr},
                         {DataType::FLOAT32, w_shape, w.data(), nullptr},
                         bv},
                        {yv})
                  .ok());
  std::vector<float> got = y32;
  if (!c.float_output)
    for (size_t i = 0; i < y16.size(); ++i) got[i] = BFloat16ToFloat(y16[i]);
  return {got, expected};
}

TEST(FullyConnectedOneDnnBFloat16, MatchesTheDoubleReference) {
  if (!kernels::DetectedCpuFeatures().avx512bf16) GTEST_SKIP() << "no AVX512_BF16";
  const Case cases[] = {{1, 2048, 1000}, {3, 40, 17, false}, {5, 33, 9, true, false}, {2, 64, 24, true, true, true}};
  uint32_t seed = 2;
  for (const Case& c : cases) {
    const auto [got, expected] = RunCase(c, seed++);
    ASSERT_EQ(got.size(), expected.size()) << "m " << c.m << " k " << c.k << " n " << c.n << ": declined";
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], expected[i], std::ldexp(std::max(std::fabs(expected[i]), 0.05f), -7)) << i;
  }
}

TEST(FullyConnectedOneDnnBFloat16, DeclinesWeightsBFloat16CannotHold) {
  if (!kernels::DetectedCpuFeatures().avx512bf16) GTEST_SKIP() << "no AVX512_BF16";
  EXPECT_FALSE(RunCase({2, 8, 4}, 1).first.empty());
  EXPECT_TRUE(RunCase({2, 8, 4}, 1, 0.1f).first.empty());
}

}  // namespace
}  // namespace mixq::ops
