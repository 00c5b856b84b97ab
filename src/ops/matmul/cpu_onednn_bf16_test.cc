// MatMul "onednn-bf16" against an independent double-precision product of
// the same bfloat16 values, post-ops applied, rounded once to bfloat16
// (ops/matmul/cpu_onednn.cc): a constant b with a per-column bias and GELU,
// b stored transposed, two activations with batch dims (attention), a
// BFLOAT16 residual addend, a FLOAT32 output; and the steps it declines.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

struct Case {
  int64_t batch, m, k, n;
  bool constant_b = true, transpose_b = false, bias = false, gelu = false, residual = false, float_output = false;
};

struct Result {
  bool supported = false;
  std::string name;
  std::vector<float> got, expected;
  std::vector<float> bias, residual;  // the case's values (bfloat16 ones for the residual)
};

std::vector<uint16_t> Bits(const std::vector<float>& v) {
  std::vector<uint16_t> b(v.size());
  for (size_t i = 0; i < v.size(); ++i) b[i] = FloatToBFloat16(v[i]);
  return b;
}

Result RunCase(const Case& c, uint32_t seed, float b_value_override = 0.0f, const char* kernel_name = "onednn-bf16") {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  const ir::Shape a_shape = c.batch ? ir::Shape{c.batch, c.m, c.k} : ir::Shape{c.m, c.k};
  ir::Shape b_shape = c.transpose_b ? ir::Shape{c.n, c.k} : ir::Shape{c.k, c.n};
  if (c.batch && !c.constant_b) b_shape.insert(b_shape.begin(), c.batch);
  const ir::Shape y_shape = c.batch ? ir::Shape{c.batch, c.m, c.n} : ir::Shape{c.m, c.n};
  std::vector<float> a(static_cast<size_t>(ir::ElementCount(a_shape))),
      b(static_cast<size_t>(ir::ElementCount(b_shape))), bias(static_cast<size_t>(c.n)),
      residual(static_cast<size_t>(ir::ElementCount(y_shape)));
  for (auto& v : a) v = RoundToBFloat16(real(rng));
  for (auto& v : b) v = RoundToBFloat16(real(rng));
  if (b_value_override != 0.0f) b[3] = b_value_override;
  for (auto& v : bias) v = real(rng);
  for (auto& v : residual) v = RoundToBFloat16(real(rng));

  Result r;
  r.bias = bias;
  r.residual = residual;
  r.expected.resize(residual.size());
  const int64_t images = c.batch ? c.batch : 1;
  for (int64_t s = 0; s < images; ++s)
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        double sum = 0;
        const int64_t b_image = c.constant_b ? 0 : s * c.k * c.n;
        for (int64_t t = 0; t < c.k; ++t)
          sum += double(a[static_cast<size_t>((s * c.m + i) * c.k + t)]) *
                 b[static_cast<size_t>(b_image + (c.transpose_b ? j * c.k + t : t * c.n + j))];
        const size_t at = static_cast<size_t>((s * c.m + i) * c.n + j);
        if (c.bias) sum += bias[static_cast<size_t>(j)];
        if (c.gelu) sum = 0.5 * sum * (1.0 + std::erf(sum / std::sqrt(2.0)));
        if (c.residual) sum += residual[at];
        r.expected[at] = c.float_output ? static_cast<float>(sum) : RoundToBFloat16(static_cast<float>(sum));
      }

  ir::AttrMap attrs;
  attrs.Set("transpose_a", int64_t{0});
  attrs.Set("transpose_b", int64_t{c.transpose_b ? 1 : 0});
  ValueInfo ai{DataType::BFLOAT16, a_shape, nullptr, nullptr, true};
  ValueInfo bi = c.constant_b ? ValueInfo{DataType::FLOAT32, b_shape, b.data(), nullptr, false}
                              : ValueInfo{DataType::BFLOAT16, b_shape, nullptr, nullptr, true};
  ValueInfo biasi{DataType::FLOAT32, {c.n}, bias.data(), nullptr, false};
  ValueInfo resi{DataType::BFLOAT16, y_shape, nullptr, nullptr, true};
  std::vector<ValueInfo> outs = {c.float_output ? ValueInfo{DataType::FLOAT32, y_shape, nullptr, nullptr, false}
                                                : ValueInfo{DataType::BFLOAT16, y_shape, nullptr, nullptr, true}};
  std::vector<const ValueInfo*> ins = {&ai, &bi};
  std::vector<DataType> compute = {DataType::BFLOAT16, DataType::BFLOAT16};
  std::vector<PostOp> post;
  auto add = [&](const ValueInfo* v) {
    PostOp op;
    op.kind = PostOp::Kind::kAdd;
    op.input = static_cast<int>(ins.size());
    ins.push_back(v);
    compute.push_back(DataType::FLOAT32);
    post.push_back(op);
  };
  if (c.bias) add(&biasi);
  if (c.gelu) {
    PostOp op;
    op.activation = "gelu_erf";
    post.push_back(op);
  }
  if (c.residual) add(&resi);
  KernelInit init(attrs, ins, outs, &compute, &post);
  const KernelDef* def = FindKernel(OpKind::kMatMul, kernel_name);
  EXPECT_NE(def, nullptr);
  if (!def || !def->supports(init)) return r;
  r.supported = true;
  std::unique_ptr<Kernel> kernel;
  const Status made = def->make(init, &kernel);
  EXPECT_TRUE(made.ok()) << made.ToString();
  if (!made.ok()) return r;
  r.name = kernel->Name();
  std::vector<uint16_t> a16 = Bits(a), b16 = Bits(b), r16 = Bits(residual), y16(residual.size());
  std::vector<float> y32(residual.size());
  std::vector<TensorView> views = {TensorView{DataType::BFLOAT16, a_shape, a16.data(), nullptr},
                                   c.constant_b ? TensorView{DataType::FLOAT32, b_shape, b.data(), nullptr}
                                                : TensorView{DataType::BFLOAT16, b_shape, b16.data(), nullptr}};
  if (c.bias) views.push_back(TensorView{DataType::FLOAT32, {c.n}, bias.data(), nullptr});
  if (c.residual) views.push_back(TensorView{DataType::BFLOAT16, y_shape, r16.data(), nullptr});
  TensorView yv = c.float_output ? TensorView{DataType::FLOAT32, y_shape, y32.data(), nullptr}
                                 : TensorView{DataType::BFLOAT16, y_shape, y16.data(), nullptr};
  EXPECT_TRUE(kernel->Run(views, {yv}).ok());
  if (c.float_output) {
    r.got = y32;
  } else {
    for (uint16_t h : y16) r.got.push_back(BFloat16ToFloat(h));
  }
  return r;
}

// Within a bfloat16 step of the double reference (2^-7 of it), with a floor
// for sums that cancel; GELU's float32 evaluation adds a little.
void ExpectClose(const Case& c, const Result& r) {
  ASSERT_EQ(r.got.size(), r.expected.size());
  int bad = 0;
  for (size_t i = 0; i < r.got.size() && bad < 5; ++i) {
    const double e = r.expected[i], tolerance = std::ldexp(std::max(std::fabs(e), 0.05), -7);
    if (std::fabs(r.got[i] - e) > tolerance) {
      ADD_FAILURE() << "m " << c.m << " k " << c.k << " n " << c.n << " at " << i << ": " << r.got[i] << " vs " << e;
      ++bad;
    }
  }
}

TEST(MatMulOneDnnBFloat16, MatchesTheDoubleReference) {
  if (!kernels::DetectedCpuFeatures().avx512bf16) GTEST_SKIP() << "no AVX512_BF16";
  const Case cases[] = {
      {0, 17, 33, 40, true, false, true, true},                 // a Linear with GELU
      {0, 5, 64, 19, true, true, true},                         // b stored [N, K]
      {2, 9, 24, 31, true, false, true, false, true},           // batch dims, a residual
      {3, 16, 8, 16, false},                                    // two activations (attention's scores)
      {3, 16, 16, 8, false, true},                              // ... b transposed
      {0, 7, 130, 12, true, false, false, false, false, true},  // FLOAT32 output
  };
  uint32_t seed = 5;
  for (const Case& c : cases) {
    const Result r = RunCase(c, seed++);
    ASSERT_TRUE(r.supported) << "m " << c.m << " k " << c.k << " n " << c.n;
    EXPECT_EQ(r.name, "onednn-bf16");
    ExpectClose(c, r);
  }
}

TEST(MatMulOneDnnBFloat16, DeclinesWeightsBFloat16CannotHold) {
  if (!kernels::DetectedCpuFeatures().avx512bf16) GTEST_SKIP() << "no AVX512_BF16";
  const Case c{0, 4, 8, 4};
  EXPECT_TRUE(RunCase(c, 1).supported);
  EXPECT_FALSE(RunCase(c, 1, 0.1f).supported);  // 0.1 is not a bfloat16 value
}

// "amx-bf16-gemm" (AMX-BF16 tiles, cpu_amx_bf16.cc) to the same reference:
// K below, across and past whole tile rows of 32 (24, 33, 64, 100, 120,
// 768); N tails (19, 31, 40, 6625); row counts with a last block of fewer
// than 32 (5, 17, 18, 40, 300); weights stored [N, K]; batch dims folded
// into the rows; bias and a residual; products with more weights than
// activations (the column-pair order, split over threads) and fewer.
// Skipped without AMX-BF16: the kernel needs its tiles.
TEST(MatMulAmxBFloat16, MatchesTheDoubleReference) {
  if (!kernels::DetectedCpuFeatures().amx_bf16) GTEST_SKIP() << "no AMX-BF16";
  const Case cases[] = {
      {0, 17, 33, 40, true, false, true},                  // a Linear
      {0, 5, 64, 19, true, true, true},                    // b stored [N, K]
      {2, 9, 24, 31, true, false, true, false, true},      // batch dims, a residual
      {0, 128, 768, 512, true, false, true, false, true},  // BERT's shapes: more weights than activations
      {0, 40, 120, 6625, true, false, true},               // PP-OCR rec's classifier
      {1, 300, 100, 64, true, false, false, false, true},  // more activations: blocks of rows outside
  };
  uint32_t seed = 40;
  for (const Case& c : cases) {
    const Result r = RunCase(c, seed++, 0.0f, "amx-bf16-gemm");
    ASSERT_TRUE(r.supported) << "m " << c.m << " k " << c.k << " n " << c.n;
    EXPECT_EQ(r.name, "amx-bf16-gemm");
    ExpectClose(c, r);
    for (float v : r.got) ASSERT_EQ(v, RoundToBFloat16(v));  // rounded once, stored as bfloat16
  }
  // Left to onednn-bf16: GELU, two activations, a FLOAT32 output, weights bfloat16 cannot hold.
  EXPECT_FALSE(RunCase(Case{0, 17, 33, 40, true, false, true, true}, 4, 0.0f, "amx-bf16-gemm").supported);
  EXPECT_FALSE(RunCase(Case{3, 16, 8, 16, false}, 1, 0.0f, "amx-bf16-gemm").supported);
  EXPECT_FALSE(
      RunCase(Case{0, 7, 130, 12, true, false, false, false, false, true}, 2, 0.0f, "amx-bf16-gemm").supported);
  EXPECT_TRUE(RunCase(Case{0, 4, 8, 4}, 3, 0.0f, "amx-bf16-gemm").supported);
  EXPECT_FALSE(RunCase(Case{0, 4, 8, 4}, 3, 0.1f, "amx-bf16-gemm").supported);
}

}  // namespace
}  // namespace mixq::ops

namespace mixq::ops {
namespace {

// A FLOAT32 bias first in the chain goes to oneDNN as the primitive's own
// bias argument (cpu_onednn.cc): into a FLOAT32 output, each value is the
// same step's bias-free sum plus the bias in float32, bit for bit, and a
// residual after it adds in float32 too.
TEST(MatMulOneDnnBFloat16, FusedBiasIsTheSumPlusTheBiasInFloat32) {
  if (!kernels::DetectedCpuFeatures().avx512bf16) GTEST_SKIP() << "no AVX512_BF16";
  for (const Case& shape : {Case{0, 37, 64, 50}, Case{0, 128, 768, 96}, Case{3, 5, 17, 33}}) {
    Case bare = shape;
    bare.float_output = true;
    Case with_bias = bare, with_both = bare;
    with_bias.bias = true;
    with_both.bias = with_both.residual = true;
    const Result a = RunCase(bare, 11), b = RunCase(with_bias, 11), c = RunCase(with_both, 11);
    ASSERT_TRUE(a.supported && b.supported && c.supported);
    ASSERT_EQ(a.got.size(), b.got.size());
    const size_t n = static_cast<size_t>(shape.n);
    for (size_t i = 0; i < a.got.size(); ++i) {
      const float sum = a.got[i] + a.bias[i % n];
      ASSERT_EQ(std::memcmp(&b.got[i], &sum, sizeof(float)), 0) << i << ": " << b.got[i] << " vs " << sum;
      const float total = sum + a.residual[i];
      ASSERT_EQ(std::memcmp(&c.got[i], &total, sizeof(float)), 0) << i << ": " << c.got[i] << " vs " << total;
    }
  }
}

}  // namespace
}  // namespace mixq::ops
