// The float16 GEMV kernels (cpu_half_gemv.cc) against a double reference on
// the same float16 values, rounded at each boundary as the separate steps
// would be, within one float16 step (the kernels sum in float32):
// "avx2-f16-gemv" (run here whatever the CPU picks) and "avx512-f16-gemv"
// where the CPU has AVX-512. 1 to 4 rows, feature counts that leave a partial
// group of output vectors and a partial vector, weights [N, K] and [K, N],
// with and without a bias, 1 and 3 threads, post-ops (ReLU6; a residual add
// with ReLU6; hard_swish); and the cases they decline.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

float Half(float v) {
  return HalfToFloat(FloatToHalf(v));
}

struct Case {
  int64_t m, k, n;
  bool transpose_b, bias;
  std::string post;  // "", "relu6", "add_relu6", "hard_swish"
};

ir::AttrMap Attrs(bool transpose_b) {
  ir::AttrMap attrs;
  for (const AttrSpec& spec : GetSchema(OpKind::kFullyConnected).attrs) attrs.Set(spec.name, spec.default_value);
  attrs.Set("transpose_b", int64_t{transpose_b ? 1 : 0});
  return attrs;
}

std::vector<PostOp> PostOps(const std::string& post, int addend_input) {
  std::vector<PostOp> ops;
  if (post == "add_relu6") {
    ops.resize(2);
    ops[0].kind = PostOp::Kind::kAdd;
    ops[0].input = addend_input;
    ops[1].activation = "relu6";
    ops[1].hi = 6.0f;
  } else if (post == "relu6") {
    ops.resize(1);
    ops[0].activation = "relu6";
    ops[0].hi = 6.0f;
  } else if (post == "hard_swish") {
    ops.resize(1);
    ops[0].activation = "hard_swish";
  }
  return ops;
}

// `half`: float16 storage (the f16 kernels); otherwise all float32.
void Check(const KernelDef& def, const Case& c, int threads, uint32_t seed, bool half = true) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(c.m * c.k)), w(static_cast<size_t>(c.n * c.k)),
      bias(static_cast<size_t>(c.n)), addend(static_cast<size_t>(c.m * c.n));
  auto stored = [&](float v) { return half ? Half(v) : v; };
  for (auto& v : x) v = stored(real(rng) * 4.0f);
  for (auto& v : w) v = stored(real(rng));  // float16 weights, as a float16 step's constants are
  for (auto& v : bias) v = real(rng);
  for (auto& v : addend) v = stored(real(rng) * 3.0f);
  auto weight = [&](int64_t o, int64_t i) { return w[static_cast<size_t>(c.transpose_b ? o * c.k + i : i * c.n + o)]; };

  const ir::AttrMap attrs = Attrs(c.transpose_b);
  const ir::Shape xs{c.m, c.k}, ws = c.transpose_b ? ir::Shape{c.n, c.k} : ir::Shape{c.k, c.n}, ys{c.m, c.n};
  const DataType storage = half ? DataType::FLOAT16 : DataType::FLOAT32;
  ValueInfo xi{storage, xs, nullptr, nullptr, half};
  ValueInfo wi{DataType::FLOAT32, ws, w.data(), nullptr, false};
  ValueInfo bi{DataType::FLOAT32, {c.n}, bias.data(), nullptr, false};
  ValueInfo ai{storage, ys, nullptr, nullptr, half};
  std::vector<ValueInfo> yi = {ValueInfo{storage, ys, nullptr, nullptr, half}};
  // A missing bias is a null input, so the addend stays input 3.
  std::vector<const ValueInfo*> ins = {&xi, &wi, c.bias ? &bi : nullptr};
  if (c.post == "add_relu6") ins.push_back(&ai);
  std::vector<DataType> compute = {storage, DataType::FLOAT32, DataType::FLOAT32, storage};
  compute.resize(ins.size());
  const std::vector<PostOp> post = PostOps(c.post, 3);
  KernelInit init(attrs, ins, yi, &compute, &post);
  ASSERT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<Kernel> kernel;
  const Status made = def.make(init, &kernel);
  ASSERT_TRUE(made.ok()) << made.ToString();

  std::vector<uint16_t> x16(x.size()), a16(addend.size()), y16(addend.size(), 0x7e00);
  for (size_t i = 0; i < x.size(); ++i) x16[i] = FloatToHalf(x[i]);
  for (size_t i = 0; i < addend.size(); ++i) a16[i] = FloatToHalf(addend[i]);
  std::vector<float> y32(addend.size(), std::nanf(""));
  std::vector<TensorView> in = {{storage, xs, half ? static_cast<void*>(x16.data()) : x.data(), nullptr},
                                {DataType::FLOAT32, ws, w.data(), nullptr},
                                {DataType::FLOAT32, {c.n}, c.bias ? bias.data() : nullptr, nullptr}};
  if (c.post == "add_relu6")
    in.push_back({storage, ys, half ? static_cast<void*>(a16.data()) : addend.data(), nullptr});
  const TensorView y_view{storage, ys, half ? static_cast<void*>(y16.data()) : y32.data(), nullptr};
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  for (int run = 0; run < 2; ++run) ASSERT_TRUE(kernel->Run(in, {y_view}).ok());
  omp_set_num_threads(saved);

  int bad = 0;
  for (int64_t r = 0; r < c.m && bad < 5; ++r)
    for (int64_t o = 0; o < c.n && bad < 5; ++o) {
      double sum = c.bias ? bias[static_cast<size_t>(o)] : 0.0;
      for (int64_t i = 0; i < c.k; ++i) sum += static_cast<double>(weight(o, i)) * x[static_cast<size_t>(r * c.k + i)];
      float expected = stored(static_cast<float>(sum));
      if (c.post == "add_relu6") {
        expected = stored(expected + addend[static_cast<size_t>(r * c.n + o)]);
        expected = std::min(std::max(expected, 0.0f), 6.0f);
      } else if (c.post == "relu6") {
        expected = std::min(std::max(expected, 0.0f), 6.0f);
      } else if (c.post == "hard_swish") {
        const double e = expected;
        expected = stored(static_cast<float>(e * std::min(std::max(e / 6.0 + 0.5, 0.0), 1.0)));
      }
      const float got =
          half ? HalfToFloat(y16[static_cast<size_t>(r * c.n + o)]) : y32[static_cast<size_t>(r * c.n + o)];
      // The float32 sum may round to the float16 neighbour of the double
      // one: a step at the sum's magnitude (cpu_half_dw_test.cc says why).
      // Float32 outputs: the float32 sum's error, k products of up to 4.
      const float magnitude = std::max({std::fabs(expected), std::fabs(Half(static_cast<float>(sum))), 1.0f});
      const float tolerance = half ? std::ldexp(magnitude, -9) : 4.0f * static_cast<float>(c.k) * 1.2e-7f;
      if (!(std::fabs(got - expected) <= tolerance)) {
        ADD_FAILURE() << def.name << " t" << threads << " (" << r << ", " << o << "): " << got << " vs " << expected;
        ++bad;
      }
    }
}

const Case kCases[] = {
    {1, 1280, 1000, true, true, ""},          // MobileNetV2's classifier (weights past 1 MB: split at 3 threads)
    {1, 37, 9, true, true, "relu6"},          // one partial vector
    {2, 64, 70, false, true, "add_relu6"},    // [K, N] weights, 2 rows, a partial group
    {3, 19, 130, true, false, "hard_swish"},  // no bias, 3 rows
    {4, 100, 257, false, false, "relu6"},     // 4 rows, one feature past the last whole vector
};

TEST(FullyConnectedHalfGemv, Avx2MatchesTheReference) {
  const KernelDef* def = FindKernel(OpKind::kFullyConnected, "avx2-f16-gemv");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "needs AVX2 + FMA + F16C";
  uint32_t seed = 1;
  for (int threads : {1, 3})
    for (size_t i = 0; i < std::size(kCases); ++i) {
      SCOPED_TRACE(i);
      Check(*def, kCases[i], threads, seed++);
    }
}

TEST(FullyConnectedHalfGemv, Avx512MatchesTheReference) {
  const KernelDef* def = FindKernel(OpKind::kFullyConnected, "avx512-f16-gemv");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "no AVX-512 on this CPU";
  uint32_t seed = 101;
  for (int threads : {1, 3})
    for (size_t i = 0; i < std::size(kCases); ++i) {
      SCOPED_TRACE(i);
      Check(*def, kCases[i], threads, seed++);
    }
}

TEST(FullyConnectedFloatGemv, MatchesTheReference) {
  for (const char* name : {"avx2-f32-gemv", "avx512-f32-gemv"}) {
    const KernelDef* def = FindKernel(OpKind::kFullyConnected, name);
    ASSERT_NE(def, nullptr);
    if (def->isa > kernels::BestIsa()) continue;
    uint32_t seed = 201;
    for (int threads : {1, 3})
      for (size_t i = 0; i < std::size(kCases); ++i) {
        if (kCases[i].post == "hard_swish") continue;  // fused on float16 steps only
        SCOPED_TRACE(i);
        Check(*def, kCases[i], threads, seed++, /*half=*/false);
      }
  }
}

// Five rows, a weight float16 does not hold, a transposed input, alpha != 1,
// a float32 input.
TEST(FullyConnectedHalfGemv, DeclinesWhatItDoesNotRun) {
  const KernelDef* def = FindKernel(OpKind::kFullyConnected, "avx2-f16-gemv");
  ASSERT_NE(def, nullptr);
  std::vector<float> w(16 * 8, 0.5f);
  ir::AttrMap attrs = Attrs(true);
  ValueInfo x{DataType::FLOAT16, {1, 8}, nullptr, nullptr, true};
  ValueInfo wi{DataType::FLOAT32, {16, 8}, w.data(), nullptr, false};
  std::vector<ValueInfo> y = {ValueInfo{DataType::FLOAT16, {1, 16}, nullptr, nullptr, true}};
  auto supports = [&] {
    std::vector<const ValueInfo*> ins = {&x, &wi};
    return def->supports(KernelInit(attrs, ins, y));
  };
  EXPECT_TRUE(supports());
  x.shape = {5, 8};
  y[0].shape = {5, 16};
  EXPECT_FALSE(supports()) << "five rows";
  x.shape = {1, 8};
  y[0].shape = {1, 16};
  w[37] = 0.1f;  // not a float16 value
  EXPECT_FALSE(supports()) << "a weight float16 does not hold";
  w[37] = 0.5f;
  attrs.Set("alpha", 2.0f);
  EXPECT_FALSE(supports()) << "alpha";
  attrs = Attrs(true);
  attrs.Set("transpose_a", int64_t{1});
  EXPECT_FALSE(supports()) << "transposed input";
  attrs = Attrs(true);
  x = ValueInfo{DataType::FLOAT32, {1, 8}, nullptr, nullptr, false};
  EXPECT_FALSE(supports()) << "float32 input";
}

}  // namespace
}  // namespace mixq::ops
