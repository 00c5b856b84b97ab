// The AVX2 float32 FullyConnected (avx2-f32, kernels/sgemm.h) against the
// reference: weights [N, K] and [K, N], a bias [N], [1, N] or none, odd M /
// K / N (tile and panel tails), K past the 256-tap block, a classifier head;
// and the cases it leaves to oneDNN or the reference (alpha, beta, a
// transposed input, a bias that is not per output feature).
//
// Tolerance (float32 sums in another order than the reference's double
// ones): |opt - ref| <= 1e-5 * sqrt(K) * (sum_k |a_k w_k| + |bias|).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "ops/kernel_registry.h"
#include "test_util/op_runner.h"
#include "test_util/prefer_avx2_f32.h"

namespace mixq::testing {
namespace {

std::vector<float> Random(const ir::Shape& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-2.0f, 2.0f);
  std::vector<float> v(static_cast<size_t>(ir::ElementCount(shape)));
  for (auto& x : v) x = real(rng);
  return v;
}

bool HaveAvx2() {
  return kernels::BestIsa() >= kernels::Isa::kAvx2;
}

struct Case {
  int64_t m, k, n;
  bool transpose_b;
  ir::Shape bias;  // empty: none
};

std::vector<std::optional<HostTensor>> Inputs(const Case& c, uint32_t seed, bool absolute) {
  const ir::Shape w_shape = c.transpose_b ? ir::Shape{c.n, c.k} : ir::Shape{c.k, c.n};
  auto values = [&](const ir::Shape& s, uint32_t sd) {
    auto v = Random(s, sd);
    if (absolute)
      for (auto& x : v) x = std::fabs(x);
    return v;
  };
  std::vector<std::optional<HostTensor>> in = {HostTensor::F32({c.m, c.k}, values({c.m, c.k}, seed)),
                                               HostTensor::F32(w_shape, values(w_shape, seed + 1)).Const()};
  if (!c.bias.empty()) in.push_back(HostTensor::F32(c.bias, values(c.bias, seed + 2)).Const());
  return in;
}

TEST(FullyConnectedAvx2F32, MatchesTheReference) {
  if (!HaveAvx2()) GTEST_SKIP() << "no AVX2";
  const Case cases[] = {
      {1, 1280, 1000, true, {1000}},  // a classifier head
      {5, 7, 3, true, {}},           {4, 33, 17, false, {1, 17}}, {3, 9, 21, true, {21}},
      {17, 129, 33, true, {33}},     {7, 300, 129, false, {129}},  // two K blocks
      {129, 513, 270, true, {270}},                                // three K blocks, two column blocks, many row tiles
  };
  uint32_t seed = 1;
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.m) + "x" + std::to_string(c.k) + "x" + std::to_string(c.n));
    ir::AttrMap attrs;
    attrs.Set("transpose_b", int64_t{c.transpose_b ? 1 : 0});
    const auto in = Inputs(c, seed, false), abs_in = Inputs(c, seed, true);
    seed += 10;
    std::vector<HostTensor> ref, opt, scale;
    ASSERT_TRUE(RunOp(OpKind::kFullyConnected, attrs, in, 1, &ref, KernelKind::kReference).ok());
    ASSERT_TRUE(RunOp(OpKind::kFullyConnected, attrs, abs_in, 1, &scale, KernelKind::kReference).ok());
    const Status s = RunOpWithKernel(OpKind::kFullyConnected, attrs, in, 1, &opt, "avx2-f32");
    ASSERT_TRUE(s.ok()) << s.ToString();
    const auto r = ref[0].Floats(), o = opt[0].Floats(), sc = scale[0].Floats();
    ASSERT_EQ(r.size(), o.size());
    for (size_t i = 0; i < r.size(); ++i)
      ASSERT_LE(std::fabs(static_cast<double>(o[i]) - r[i]), 1e-5 * std::sqrt(static_cast<double>(c.k)) * sc[i])
          << "element " << i;
  }
}

TEST(FullyConnectedAvx2F32, DeclinesWhatOtherKernelsRun) {
  const test_util::PreferAvx2F32 prefer_avx2_f32;  // whatever the CPU vendor
  if (!HaveAvx2()) GTEST_SKIP() << "no AVX2";
  const Case c{4, 8, 5, true, {5}};
  std::vector<HostTensor> out;
  ir::AttrMap alpha;
  alpha.Set("alpha", 0.5f);
  EXPECT_EQ(RunOpWithKernel(OpKind::kFullyConnected, alpha, Inputs(c, 1, false), 1, &out, "avx2-f32").code(),
            StatusCode::INVALID_ARGUMENT);
  ir::AttrMap beta;
  beta.Set("beta", 2.0f);
  EXPECT_EQ(RunOpWithKernel(OpKind::kFullyConnected, beta, Inputs(c, 1, false), 1, &out, "avx2-f32").code(),
            StatusCode::INVALID_ARGUMENT);
  const Case full_bias{4, 8, 5, true, {4, 5}};  // a bias per element, not per feature
  EXPECT_EQ(RunOpWithKernel(OpKind::kFullyConnected, {}, Inputs(full_bias, 1, false), 1, &out, "avx2-f32").code(),
            StatusCode::INVALID_ARGUMENT);
  ir::AttrMap ta;
  ta.Set("transpose_a", int64_t{1});
  auto in = Inputs(c, 1, false);
  in[0]->shape = {8, 4};
  EXPECT_EQ(RunOpWithKernel(OpKind::kFullyConnected, ta, in, 1, &out, "avx2-f32").code(), StatusCode::INVALID_ARGUMENT);
  // The plain case is computed, but a product of 4 rows goes to the GEMV
  // kernels (cpu_half_gemv.cc); BERT's is picked.
  EXPECT_TRUE(RunOpWithKernel(OpKind::kFullyConnected, {}, Inputs(c, 1, false), 1, &out, "avx2-f32").ok());
  std::vector<float> w(768 * 768, 0.5f);
  for (const auto& [m, k] : std::vector<std::pair<int64_t, int64_t>>{{4, 8}, {128, 768}}) {
    ops::ValueInfo a{DataType::FLOAT32, {m, k}}, wi{DataType::FLOAT32, {768, k}, w.data()},
        bias{DataType::FLOAT32, {768}, w.data()};
    std::vector<const ops::ValueInfo*> ins = {&a, &wi, &bias};
    std::vector<ops::ValueInfo> outs = {ops::ValueInfo{DataType::FLOAT32, {m, 768}}};
    const ops::KernelDef* def = nullptr;
    ASSERT_TRUE(
        ops::SelectKernel(OpKind::kFullyConnected, ops::KernelInit({}, ins, outs), false, kernels::BestIsa(), &def)
            .ok());
    const std::string gemv = kernels::BestIsa() >= kernels::Isa::kAvx512 ? "avx512-f32-gemv" : "avx2-f32-gemv";
    EXPECT_EQ(def->name, m == 128 ? std::string("avx2-f32") : gemv) << m;
  }
}

}  // namespace
}  // namespace mixq::testing
