// The AVX2 float32 MatMul with constant weights (avx2-f32, kernels/sgemm.h)
// against the reference: M, N, K over 1, 3, 7, 17, 33, 129 (tails of the
// 6-row tile and the 16-column panel), K past the 256-tap K block, a's batch
// dims folded into M, b [1, K, N] and stored transposed, fused residual adds,
// fused biases per column, clamps and GELU (the separate steps' numbers bit
// for bit), infinities and NaN, several threads; and what it declines.
//
// Tolerance (float32 sums in another order than the reference's double ones):
// |opt - ref| <= 1e-5 * sqrt(K) * sum_k |a_k b_k| (+ one rounding of each
// fused add), which bounds an FMA chain's error for K up to ~28000.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <tuple>

#include "ops/kernel_registry.h"
#include "test_util/prefer_avx2_f32.h"

namespace mixq::ops {
namespace {

struct Problem {
  ir::Shape a_shape, b_shape;
  bool transpose_b = false;
  std::vector<float> a, b;
  int addends = 0;  // fused kAdd post-ops
};

std::vector<float> Random(const ir::Shape& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-2.0f, 2.0f);
  std::vector<float> v(static_cast<size_t>(ir::ElementCount(shape)));
  for (auto& x : v) x = real(rng);
  return v;
}

Problem Make(int64_t m, int64_t k, int64_t n, uint32_t seed, ir::Shape batch = {}, bool transpose_b = false) {
  Problem p;
  p.a_shape = batch;
  p.a_shape.insert(p.a_shape.end(), {m, k});
  p.b_shape = transpose_b ? ir::Shape{n, k} : ir::Shape{k, n};
  p.transpose_b = transpose_b;
  p.a = Random(p.a_shape, seed);
  p.b = Random(p.b_shape, seed + 1000);
  return p;
}

ir::Shape OutShape(const Problem& p) {
  ir::Shape y(p.a_shape.begin(), p.a_shape.end() - 1);
  y.push_back(p.transpose_b ? p.b_shape[p.b_shape.size() - 2] : p.b_shape.back());
  return y;
}

struct Result {
  bool supported = false;
  std::vector<float> y;
};

// Makes `def` for the problem (b constant; even where its `supports` leaves
// small products to oneDNN) with the addends (same-shape tensors, inputs 2,
// 3, ...) fused as kAdd post-ops, and runs it twice (packed weights reused).
Result Run(const KernelDef& def, const Problem& p, const std::vector<std::vector<float>>& addends) {
  ir::AttrMap attrs;
  attrs.Set("transpose_a", int64_t{0});
  attrs.Set("transpose_b", int64_t{p.transpose_b ? 1 : 0});
  const ir::Shape y_shape = OutShape(p);
  ValueInfo ai{DataType::FLOAT32, p.a_shape, nullptr, nullptr, false};
  ValueInfo bi{DataType::FLOAT32, p.b_shape, p.b.data(), nullptr, false};
  ValueInfo ri{DataType::FLOAT32, y_shape, nullptr, nullptr, false};
  std::vector<const ValueInfo*> ins = {&ai, &bi};
  std::vector<PostOp> post_ops;
  for (size_t i = 0; i < addends.size(); ++i) {
    ins.push_back(&ri);
    PostOp op;
    op.kind = PostOp::Kind::kAdd;
    op.input = static_cast<int>(ins.size()) - 1;
    post_ops.push_back(op);
  }
  std::vector<ValueInfo> outs = {ri};
  KernelInit init(attrs, ins, outs, nullptr, &post_ops);
  Result r;
  std::unique_ptr<Kernel> kernel;
  const Status made = def.make(init, &kernel);
  r.supported = made.ok();
  EXPECT_TRUE(made.ok()) << made.ToString();
  if (!made.ok()) return r;
  r.y.assign(static_cast<size_t>(ir::ElementCount(y_shape)), -1.0f);
  std::vector<TensorView> in = {TensorView{DataType::FLOAT32, p.a_shape, const_cast<float*>(p.a.data()), nullptr},
                                TensorView{DataType::FLOAT32, p.b_shape, const_cast<float*>(p.b.data()), nullptr}};
  for (const auto& add : addends)
    in.push_back(TensorView{DataType::FLOAT32, y_shape, const_cast<float*>(add.data()), nullptr});
  for (int run = 0; run < 2; ++run)
    EXPECT_TRUE(kernel->Run(in, {TensorView{DataType::FLOAT32, y_shape, r.y.data(), nullptr}}).ok());
  return r;
}

const KernelDef* Fast() {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) return nullptr;
  return FindKernel(OpKind::kMatMul, "avx2-f32");
}

// The reference (+ the addends in float32, as the Elementwise steps) and the
// fast kernel agree within the tolerance; NaN where the reference has NaN,
// the same infinity where it has one.
void ExpectMatches(const Problem& p, int addend_count = 0) {
  const KernelDef* fast = Fast();
  ASSERT_NE(fast, nullptr);
  const ir::Shape y_shape = OutShape(p);
  std::vector<std::vector<float>> addends;
  for (int i = 0; i < addend_count; ++i) addends.push_back(Random(y_shape, 77 + static_cast<uint32_t>(i)));
  const Result got = Run(*fast, p, addends);
  ASSERT_TRUE(got.supported);
  const Result want = Run(ReferenceKernel(OpKind::kMatMul), p, {});
  Problem abs = p;  // sum_k |a_k b_k| per output, for the bound
  for (auto& v : abs.a) v = std::fabs(v);
  for (auto& v : abs.b) v = std::fabs(v);
  const Result scale = Run(ReferenceKernel(OpKind::kMatMul), abs, {});
  const int64_t k = p.a_shape.back();
  ASSERT_EQ(got.y.size(), want.y.size());
  for (size_t i = 0; i < want.y.size(); ++i) {
    float expected = want.y[i];
    for (const auto& add : addends) expected = expected + add[i];
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(got.y[i])) << i;
      continue;
    }
    if (std::isinf(expected)) {
      EXPECT_EQ(got.y[i], expected) << i;
      continue;
    }
    double bound = 1e-5 * std::sqrt(static_cast<double>(k)) * scale.y[i];
    for (const auto& add : addends) bound += std::ldexp(std::fabs(add[i]) + std::fabs(expected), -23);
    ASSERT_LE(std::fabs(static_cast<double>(got.y[i]) - expected), bound) << "element " << i;
  }
}

TEST(MatMulAvx2F32, MatchesTheReferenceOnOddShapes) {
  if (!Fast()) GTEST_SKIP() << "no AVX2";
  const int64_t sizes[] = {1, 3, 7, 17, 33, 129};
  uint32_t seed = 1;
  for (int64_t m : sizes)
    for (int64_t k : sizes)
      for (int64_t n : sizes) {
        SCOPED_TRACE(std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n));
        ExpectMatches(Make(m, k, n, seed++));
      }
}

TEST(MatMulAvx2F32, DeepKBatchDimsAndTransposedWeights) {
  if (!Fast()) GTEST_SKIP() << "no AVX2";
  for (int64_t k : {255, 256, 257, 300, 513, 1100}) {  // one, two, three and five K blocks of 256
    SCOPED_TRACE(k);
    ExpectMatches(Make(13, k, 35, static_cast<uint32_t>(k)));
  }
  ExpectMatches(Make(7, 33, 17, 5, {2, 3}));      // a [2, 3, 7, 33]: 42 rows of M
  ExpectMatches(Make(128, 64, 40, 6, {1}));       // BERT-like [1, 128, K]
  ExpectMatches(Make(9, 300, 21, 7, {}, true));   // b stored [N, K]
  ExpectMatches(Make(5, 17, 290, 8, {3}, true));  // two column blocks of 256
  Problem p = Make(6, 20, 18, 9);                 // b [1, K, N]: one batch of weights
  p.b_shape = {1, 20, 18};
  ExpectMatches(p);
}

TEST(MatMulAvx2F32, FusedResidualAdds) {
  if (!Fast()) GTEST_SKIP() << "no AVX2";
  ExpectMatches(Make(17, 33, 7, 11), 1);
  ExpectMatches(Make(13, 600, 40, 12, {2}), 1);  // the add after the last of three K blocks
  ExpectMatches(Make(3, 7, 129, 13), 2);         // two adds, in order
}

// One fused epilogue entry for RunFused: an add of `tensor` (shape `shape`:
// the output's, or a bias [N] / [1, ..., 1, N]) or the activation `activation`.
struct Fused {
  std::string activation;  // empty: an add
  ir::Shape shape;
  std::vector<float> tensor;
  float lo = 0.0f, hi = 0.0f;
};

Fused Activation(const std::string& type, float lo = 0.0f, float hi = 0.0f) {
  Fused f;
  f.activation = type;
  f.lo = lo;
  f.hi = hi;
  return f;
}

// `def` with `fused` as post-ops (kAdd of inputs 2, 3, ..., activations)
// when `fuse`; otherwise the product alone followed by the separate steps as
// the unfused plan runs them: Elementwise adds in float32 (y + bias[j] or
// y + r[i]) and the float32 Activation kernel (avx2-fma) or the clamps.
std::vector<float> RunFused(const KernelDef& def, const Problem& p, const std::vector<Fused>& fused, bool fuse) {
  ir::AttrMap attrs;
  attrs.Set("transpose_a", int64_t{0});
  attrs.Set("transpose_b", int64_t{p.transpose_b ? 1 : 0});
  const ir::Shape y_shape = OutShape(p);
  ValueInfo ai{DataType::FLOAT32, p.a_shape, nullptr, nullptr, false};
  ValueInfo bi{DataType::FLOAT32, p.b_shape, p.b.data(), nullptr, false};
  ValueInfo yi{DataType::FLOAT32, y_shape, nullptr, nullptr, false};
  std::vector<ValueInfo> extra;
  extra.reserve(fused.size());
  std::vector<const ValueInfo*> ins = {&ai, &bi};
  std::vector<PostOp> post_ops;
  std::vector<TensorView> in = {TensorView{DataType::FLOAT32, p.a_shape, const_cast<float*>(p.a.data()), nullptr},
                                TensorView{DataType::FLOAT32, p.b_shape, const_cast<float*>(p.b.data()), nullptr}};
  for (const Fused& f : fused) {
    PostOp op;
    if (f.activation.empty()) {
      extra.push_back(ValueInfo{DataType::FLOAT32, f.shape, nullptr, nullptr, false});
      ins.push_back(&extra.back());
      in.push_back(TensorView{DataType::FLOAT32, f.shape, const_cast<float*>(f.tensor.data()), nullptr});
      op.kind = PostOp::Kind::kAdd;
      op.input = static_cast<int>(ins.size()) - 1;
    } else {
      op.activation = f.activation;
      op.lo = f.lo;
      op.hi = f.hi;
    }
    post_ops.push_back(op);
  }
  std::vector<ValueInfo> outs = {yi};
  const std::vector<PostOp> none;
  if (!fuse) ins.resize(2);  // the product alone
  KernelInit init(attrs, ins, outs, nullptr, fuse ? &post_ops : &none);
  std::unique_ptr<Kernel> kernel;
  const Status made = def.make(init, &kernel);
  EXPECT_TRUE(made.ok()) << made.ToString();
  if (!made.ok()) return {};
  std::vector<float> y(static_cast<size_t>(ir::ElementCount(y_shape)), -1.0f);
  if (!fuse) in.resize(2);
  EXPECT_TRUE(kernel->Run(in, {TensorView{DataType::FLOAT32, y_shape, y.data(), nullptr}}).ok());
  if (fuse) return y;
  const int64_t n = y_shape.back();
  for (const Fused& f : fused) {
    if (f.activation.empty()) {
      const bool bias = f.shape != y_shape;
      for (size_t i = 0; i < y.size(); ++i) y[i] = y[i] + f.tensor[bias ? i % static_cast<size_t>(n) : i];
      continue;
    }
    if (f.activation == "relu" || f.activation == "relu6" || f.activation == "clip") {
      for (auto& v : y) v = std::min(std::max(v, f.lo), f.hi);  // maxps then minps (ops/clamp.h)
      continue;
    }
    const KernelDef* act = FindKernel(OpKind::kActivation, "avx2-fma");
    EXPECT_NE(act, nullptr);
    if (!act) return {};
    ir::AttrMap a;
    a.Set("type", f.activation);
    std::vector<const ValueInfo*> act_in = {&yi};
    KernelInit act_init(a, act_in, outs);
    std::unique_ptr<Kernel> k;
    EXPECT_TRUE(act->make(act_init, &k).ok());
    std::vector<float> z(y.size());
    EXPECT_TRUE(k->Run({TensorView{DataType::FLOAT32, y_shape, y.data(), nullptr}},
                       {TensorView{DataType::FLOAT32, y_shape, z.data(), nullptr}})
                    .ok());
    y = z;
  }
  return y;
}

// Bit for bit: the epilogue applies what the separate steps apply, in their
// order, to the same float32 product.
void ExpectFusedEqualsSeparate(const Problem& p, const std::vector<Fused>& fused) {
  const KernelDef* fast = Fast();
  ASSERT_NE(fast, nullptr);
  const std::vector<float> together = RunFused(*fast, p, fused, true);
  const std::vector<float> apart = RunFused(*fast, p, fused, false);
  ASSERT_EQ(together.size(), apart.size());
  ASSERT_FALSE(together.empty());
  for (size_t i = 0; i < apart.size(); ++i) {
    if (std::isnan(apart[i])) {
      EXPECT_TRUE(std::isnan(together[i])) << i;
      continue;
    }
    ASSERT_EQ(together[i], apart[i]) << "element " << i;
  }
}

TEST(MatMulAvx2F32, FusedBiasActivationAndResidualGiveTheSeparateStepsNumbers) {
  if (!Fast()) GTEST_SKIP() << "no AVX2";
  if (!FindKernel(OpKind::kActivation, "avx2-fma")) GTEST_SKIP() << "no avx2-fma Activation";
  uint32_t seed = 40;
  // Tails of the 6-row tile and the 16-column panel, K over one and three blocks.
  for (const auto& [m, k, n] :
       std::vector<std::tuple<int64_t, int64_t, int64_t>>{{13, 300, 37}, {6, 256, 16}, {1, 7, 5}, {20, 600, 70}}) {
    SCOPED_TRACE(std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n));
    Problem p = Make(m, k, n, seed++, {1});
    const ir::Shape y_shape = OutShape(p);
    const Fused bias{"", {n}, Random({n}, seed++), 0.0f, 0.0f};
    const Fused bias3{"", {1, 1, n}, Random({n}, seed++), 0.0f, 0.0f};
    const Fused residual{"", y_shape, Random(y_shape, seed++), 0.0f, 0.0f};
    for (const char* gelu : {"gelu_erf", "gelu_tanh"}) {
      SCOPED_TRACE(gelu);
      ExpectFusedEqualsSeparate(p, {bias, Activation(gelu)});             // FFN: MatMul + bias + GELU
      ExpectFusedEqualsSeparate(p, {bias3, Activation(gelu), residual});  // then a residual
    }
    ExpectFusedEqualsSeparate(p, {bias, residual});  // attention output: + bias + residual
    ExpectFusedEqualsSeparate(p, {residual, bias});  // the other order
    ExpectFusedEqualsSeparate(p, {bias, Activation("relu", 0.0f, std::numeric_limits<float>::infinity())});
    ExpectFusedEqualsSeparate(p, {bias, Activation("clip", -0.5f, 0.75f)});
  }
  // NaN and infinities through the bias and GELU.
  Problem p = Make(7, 300, 19, 50, {1});
  p.a[0 * 300 + 5] = std::numeric_limits<float>::quiet_NaN();
  p.a[1 * 300 + 299] = std::numeric_limits<float>::infinity();
  Fused bias{"", {19}, Random({19}, 51), 0.0f, 0.0f};
  bias.tensor[3] = -std::numeric_limits<float>::infinity();
  ExpectFusedEqualsSeparate(p, {bias, Activation("gelu_erf")});
  ExpectFusedEqualsSeparate(p, {bias, Activation("gelu_tanh")});
}

// Against the reference: the product within the kernel's tolerance, plus
// bias, then GELU within the Activation kernel's (ops/activation/
// cpu_avx2_float.cc: gelu_erf rel 2e-6, abs 5e-8), GELU's slope below 1.13.
TEST(MatMulAvx2F32, FusedBiasGeluMatchesTheReference) {
  if (!Fast()) GTEST_SKIP() << "no AVX2";
  const Problem p = Make(30, 384, 48, 60, {1});
  const ir::Shape y_shape = OutShape(p);
  const Fused bias{"", {48}, Random({48}, 61), 0.0f, 0.0f};
  const std::vector<float> got = RunFused(*Fast(), p, {bias, Activation("gelu_erf")}, true);
  const Result want = mixq::ops::Run(ReferenceKernel(OpKind::kMatMul), p, {});
  Problem abs = p;
  for (auto& v : abs.a) v = std::fabs(v);
  for (auto& v : abs.b) v = std::fabs(v);
  const Result scale = mixq::ops::Run(ReferenceKernel(OpKind::kMatMul), abs, {});
  ASSERT_EQ(got.size(), want.y.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const double x = static_cast<double>(want.y[i]) + bias.tensor[i % 48];
    const double ref = 0.5 * x * std::erfc(-x / std::sqrt(2.0));
    const double bound =
        1.13 * (1e-5 * std::sqrt(384.0) * scale.y[i] + std::ldexp(std::fabs(x), -23)) + 2e-6 * std::fabs(ref) + 5e-8;
    ASSERT_LE(std::fabs(got[i] - ref), bound) << "element " << i;
  }
}

TEST(MatMulAvx2F32, ManyThreads) {
  if (!Fast()) GTEST_SKIP() << "no AVX2";
  const int before = omp_get_max_threads();
  omp_set_num_threads(3);  // above kMinParallelMacs: (row chunk, column block) tiles on 3 threads
  ExpectMatches(Make(130, 300, 520, 21), 1);
  ExpectMatches(Make(1, 2100, 3000, 22));
  // 2 threads, at least 48 rows each and small weights: each thread its own
  // rows (whole row blocks; 101 rows leave a partial one) over every column block.
  omp_set_num_threads(2);
  ExpectMatches(Make(130, 300, 520, 23), 1);
  ExpectMatches(Make(101, 257, 300, 24), 1);
  omp_set_num_threads(before);
}

TEST(MatMulAvx2F32, ExtremeValues) {
  if (!Fast()) GTEST_SKIP() << "no AVX2";
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  Problem p = Make(8, 40, 19, 31);
  for (auto& v : p.a) v *= 1e18f;  // products near 1e37: large, still finite sums
  ExpectMatches(p);
  p = Make(8, 300, 19, 32);
  p.a[0 * 300 + 5] = nan;    // row 0: NaN everywhere
  p.a[1 * 300 + 299] = inf;  // row 1: +-inf (b's signs) in the last K block
  p.a[2 * 300 + 7] = 1e30f;  // row 2: products overflow to +-inf
  p.b[7 * 19 + 3] = 1e30f;   //   in column 3
  p.b[10 * 19 + 4] = inf;    // column 4: inf, NaN where a row has inf * 0
  p.a[3 * 300 + 10] = 0.0f;  //   row 3: 0 * inf = NaN
  p.b[250 * 19 + 18] = nan;  // the last (tail) column: NaN
  ExpectMatches(p, 1);
}

TEST(MatMulAvx2F32, DeclinesWhatItDoesNotCompute) {
  const test_util::PreferAvx2F32 prefer_avx2_f32;  // whatever the CPU vendor
  if (!Fast()) GTEST_SKIP() << "no AVX2";
  const KernelDef& fast = *Fast();
  ir::AttrMap attrs;
  attrs.Set("transpose_a", int64_t{0});
  attrs.Set("transpose_b", int64_t{0});
  std::vector<float> w(256 * 64, 1.0f);
  ValueInfo a{DataType::FLOAT32, {1, 8, 256}, nullptr, nullptr, false};
  ValueInfo b{DataType::FLOAT32, {256, 64}, w.data(), nullptr, false};
  ValueInfo y{DataType::FLOAT32, {1, 8, 64}, nullptr, nullptr, false};
  // supports (the registry's question), and whether make takes it at all.
  auto check = [&](const ValueInfo& ai, const ValueInfo& bi, const ValueInfo& yi, const ir::AttrMap& at,
                   const std::vector<PostOp>* post = nullptr, const ValueInfo* extra = nullptr) {
    std::vector<const ValueInfo*> ins = {&ai, &bi};
    if (extra) ins.push_back(extra);
    std::vector<ValueInfo> outs = {yi};
    const KernelInit init(at, ins, outs, nullptr, post);
    std::unique_ptr<Kernel> kernel;
    return std::make_pair(fast.supports(init), fast.make(init, &kernel).ok());
  };
  EXPECT_EQ(check(a, b, y, attrs), std::make_pair(true, true));
  ValueInfo runtime_b = b;  // two activations (attention): not constant weights
  runtime_b.const_data = nullptr;
  EXPECT_EQ(check(a, runtime_b, y, attrs), std::make_pair(false, false));
  ValueInfo batched_b{DataType::FLOAT32, {2, 256, 64}, w.data(), nullptr, false};
  EXPECT_EQ(check(a, batched_b, ValueInfo{DataType::FLOAT32, {2, 8, 64}}, attrs), std::make_pair(false, false));
  ir::AttrMap ta = attrs;
  ta.Set("transpose_a", int64_t{1});
  EXPECT_EQ(check(ValueInfo{DataType::FLOAT32, {1, 256, 8}}, b, y, ta), std::make_pair(false, false));
  ValueInfo half_a = a;  // float16 storage
  half_a.dtype = DataType::FLOAT16;
  half_a.narrowed = true;
  EXPECT_EQ(check(half_a, b, y, attrs), std::make_pair(false, false));
  PostOp relu;
  relu.activation = "relu";
  const std::vector<PostOp> activation = {relu};
  EXPECT_EQ(check(a, b, y, attrs, &activation), std::make_pair(true, true));  // in the epilogue
  PostOp gelu = relu;
  gelu.activation = "gelu_tanh";
  const std::vector<PostOp> gelus = {gelu};
  EXPECT_EQ(check(a, b, y, attrs, &gelus), std::make_pair(true, true));
  PostOp hard_swish = relu;  // the reference's double arithmetic: a step of its own
  hard_swish.activation = "hard_swish";
  const std::vector<PostOp> hard_swishes = {hard_swish};
  EXPECT_EQ(check(a, b, y, attrs, &hard_swishes), std::make_pair(false, false));
  PostOp scalar;
  scalar.kind = PostOp::Kind::kScalar;
  scalar.activation = "mul";
  scalar.lo = 2.0f;
  const std::vector<PostOp> scalars = {scalar};
  EXPECT_EQ(check(a, b, y, attrs, &scalars), std::make_pair(false, false));
  PostOp add;
  add.kind = PostOp::Kind::kAdd;
  add.input = 2;
  const std::vector<PostOp> adds = {add};
  EXPECT_EQ(check(a, b, y, attrs, &adds, &y), std::make_pair(true, true));
  ValueInfo row{DataType::FLOAT32, {64}, nullptr, nullptr, false};  // a bias per column
  EXPECT_EQ(check(a, b, y, attrs, &adds, &row), std::make_pair(true, true));
  ValueInfo row3{DataType::FLOAT32, {1, 1, 64}, nullptr, nullptr, false};
  EXPECT_EQ(check(a, b, y, attrs, &adds, &row3), std::make_pair(true, true));
  ValueInfo column{DataType::FLOAT32, {1, 8, 1}, nullptr, nullptr, false};  // broadcast along the rows: no
  EXPECT_EQ(check(a, b, y, attrs, &adds, &column), std::make_pair(false, false));
  ValueInfo rows{DataType::FLOAT32, {8, 64}, nullptr, nullptr, false};  // [8, 64] into [1, 8, 64]: no
  EXPECT_EQ(check(a, b, y, attrs, &adds, &rows), std::make_pair(false, false));
  ValueInfo wide{DataType::FLOAT32, {1, 1, 1, 64}, nullptr, nullptr, false};  // would widen the output: no
  EXPECT_EQ(check(a, b, y, attrs, &adds, &wide), std::make_pair(false, false));
  // Computed, but left to oneDNN (measured as fast or faster): fewer than 6
  // rows, or K below one block of 256.
  EXPECT_EQ(check(ValueInfo{DataType::FLOAT32, {5, 256}}, b, ValueInfo{DataType::FLOAT32, {5, 64}}, attrs),
            std::make_pair(false, true));
  ValueInfo short_b{DataType::FLOAT32, {120, 64}, w.data(), nullptr, false};
  EXPECT_EQ(
      check(ValueInfo{DataType::FLOAT32, {1, 40, 120}}, short_b, ValueInfo{DataType::FLOAT32, {1, 40, 64}}, attrs),
      std::make_pair(false, true));
}

void ExpectBertShapesPick(const char* kernel) {
  ir::AttrMap attrs;
  attrs.Set("transpose_a", int64_t{0});
  attrs.Set("transpose_b", int64_t{0});
  std::vector<float> w(768 * 3072, 0.5f);
  for (const auto& [k, n] : std::vector<std::pair<int64_t, int64_t>>{{768, 768}, {768, 3072}, {3072, 768}}) {
    ValueInfo a{DataType::FLOAT32, {1, 128, k}, nullptr, nullptr, false};
    ValueInfo b{DataType::FLOAT32, {k, n}, w.data(), nullptr, false};
    std::vector<const ValueInfo*> ins = {&a, &b};
    std::vector<ValueInfo> outs = {ValueInfo{DataType::FLOAT32, {1, 128, n}, nullptr, nullptr, false}};
    const KernelDef* def = nullptr;
    ASSERT_TRUE(SelectKernel(OpKind::kMatMul, KernelInit(attrs, ins, outs), false, kernels::BestIsa(), &def).ok());
    EXPECT_STREQ(def->name, kernel) << k << "x" << n;
  }
}

TEST(MatMulAvx2F32, PickedForTheBertShapes) {
  const test_util::PreferAvx2F32 prefer_avx2_f32;  // whatever the CPU vendor
  if (!Fast()) GTEST_SKIP() << "no AVX2";
  ExpectBertShapesPick("avx2-f32");
}

// Where oneDNN's float32 GEMM pays (Intel CPUs with AVX-512: twice the FMA
// width of avx2-f32), the same shapes go to oneDNN; forced here on any CPU.
TEST(MatMulAvx2F32, LeftToOneDnnWhereItsGemmPays) {
  if (!Fast() || !FindKernel(OpKind::kMatMul, "onednn")) GTEST_SKIP() << "no AVX2 or no oneDNN";
  kernels::SetOneDnnFloatGemmForTesting(1);
  ExpectBertShapesPick("onednn");
  kernels::SetOneDnnFloatGemmForTesting(-1);
  const kernels::CpuFeatures& cpu = kernels::DetectedCpuFeatures();
  ExpectBertShapesPick(cpu.intel && kernels::BestIsa() >= kernels::Isa::kAvx512 ? "onednn" : "avx2-f32");
}

}  // namespace
}  // namespace mixq::ops
