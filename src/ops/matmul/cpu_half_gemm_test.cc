// The float16-weight MatMul kernels (cpu_half_gemm.cc, ops/half_weight_gemm.h):
// "avx2-f16-gemm" (run here whatever the CPU picks) and "avx512-f16-gemm"
// where the CPU has AVX-512.
// - Against a double reference on the same float16 values, rounded once,
//   within one float16 step (the kernels sum in float32): 1 to 100 rows (row
//   blocks of eight or four and every remainder), column counts that leave a partial
//   group and a partial vector, b stored [K, N] and transposed, a with batch
//   dims, 1, 2 and 3 threads (at 2, 100 rows split by rows).
// - A fused bias add (and a residual add after it) bit for bit against the
//   same kernel without post-ops followed by what the separate float16 Add
//   steps compute: the product rounded, + the bias in float32, rounded,
//   + the addend, rounded.
// - A fused bias add then an activation (gelu_erf, hard_swish, leaky_relu),
//   bit for bit against the separate steps, with and without the stage's
//   table.
// - "onednn-f16" (cpu_onednn_half.cc) and "amx-f16-gemm" (cpu_amx_f16.cc)
//   the same ways on 64 rows or more, and where onednn-f16 declines.
// - The steps they decline.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "kernels/cpu_features.h"
#include "ops/activation/smooth_loop.h"
#include "ops/kernel_registry.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

float Half(float v) {
  return HalfToFloat(FloatToHalf(v));
}

struct Case {
  ir::Shape a;  // [..., M, K]
  int64_t n;
  bool transpose_b;
};

ir::AttrMap Attrs(bool transpose_b) {
  ir::AttrMap attrs;
  for (const AttrSpec& spec : GetSchema(OpKind::kMatMul).attrs) attrs.Set(spec.name, spec.default_value);
  attrs.Set("transpose_b", int64_t{transpose_b ? 1 : 0});
  return attrs;
}

// What a test run needs: the operands (float16 values), the kernel's input
// infos and views, and its float16 output.
struct Operands {
  int64_t m = 0, k = 0, n = 0;
  ir::Shape ys, ws;
  std::vector<float> x, w, bias, addend;
  std::vector<uint16_t> x16, addend16;
};

Operands MakeOperands(const Case& c, uint32_t seed) {
  Operands o;
  o.k = c.a.back();
  o.m = ir::ElementCount(c.a) / o.k;
  o.n = c.n;
  o.ys = c.a;
  o.ys.back() = c.n;
  o.ws = c.transpose_b ? ir::Shape{c.n, o.k} : ir::Shape{o.k, c.n};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  o.x.resize(static_cast<size_t>(o.m * o.k));
  o.w.resize(static_cast<size_t>(o.k * o.n));
  o.bias.resize(static_cast<size_t>(o.n));
  o.addend.resize(static_cast<size_t>(o.m * o.n));
  for (auto& v : o.x) v = Half(real(rng) * 4.0f);
  for (auto& v : o.w) v = Half(real(rng));  // float16 weights, as a float16 step's constants are
  for (auto& v : o.bias) v = Half(real(rng));
  for (auto& v : o.addend) v = Half(real(rng) * 3.0f);
  for (float v : o.x) o.x16.push_back(FloatToHalf(v));
  for (float v : o.addend) o.addend16.push_back(FloatToHalf(v));
  return o;
}

// Runs `def` on the operands with `post` (a column bias as input 2, an
// addend as input 3 where the post-ops name them), twice (the second run
// over an output full of NaNs' leftovers), at `threads`.
std::vector<uint16_t> Run(const KernelDef& def, const Case& c, const Operands& o, const std::vector<PostOp>& post,
                          const ir::Shape& bias_shape, int threads) {
  const ir::AttrMap attrs = Attrs(c.transpose_b);
  ValueInfo xi{DataType::FLOAT16, c.a, nullptr, nullptr, true};
  ValueInfo wi{DataType::FLOAT32, o.ws, o.w.data(), nullptr, false};
  ValueInfo bi{DataType::FLOAT32, bias_shape, o.bias.data(), nullptr, false};
  ValueInfo ai{DataType::FLOAT16, o.ys, nullptr, nullptr, true};
  std::vector<ValueInfo> yi = {ValueInfo{DataType::FLOAT16, o.ys, nullptr, nullptr, true}};
  std::vector<const ValueInfo*> ins = {&xi, &wi, &bi, &ai};
  std::vector<DataType> compute = {DataType::FLOAT16, DataType::FLOAT16, DataType::FLOAT16, DataType::FLOAT16};
  KernelInit init(attrs, ins, yi, &compute, &post);
  EXPECT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<Kernel> kernel;
  const Status made = def.make(init, &kernel);
  EXPECT_TRUE(made.ok()) << made.ToString();
  std::vector<uint16_t> y(static_cast<size_t>(o.m * o.n), 0x7e00);
  if (!made.ok()) return y;
  const std::vector<TensorView> in = {{DataType::FLOAT16, c.a, const_cast<uint16_t*>(o.x16.data()), nullptr},
                                      {DataType::FLOAT32, o.ws, const_cast<float*>(o.w.data()), nullptr},
                                      {DataType::FLOAT32, bias_shape, const_cast<float*>(o.bias.data()), nullptr},
                                      {DataType::FLOAT16, o.ys, const_cast<uint16_t*>(o.addend16.data()), nullptr}};
  const TensorView y_view{DataType::FLOAT16, o.ys, y.data(), nullptr};
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  for (int run = 0; run < 2; ++run) EXPECT_TRUE(kernel->Run(in, {y_view}).ok());
  omp_set_num_threads(saved);
  return y;
}

const Case kCases[] = {
    {{1, 1}, 1, false},           // one of everything
    {{5, 7}, 9, false},           // a row block and one row; one partial vector
    {{1, 13, 120}, 130, false},   // three row blocks and one row; two groups of 64 and two columns
    {{1, 40, 120}, 200, true},    // PP-OCRv4 rec's head rows and depth; b stored [N, K]
    {{2, 3, 37}, 257, false},     // batch dims folded into six rows; one column past whole vectors
    {{1, 23, 64}, 49, true},      // 8 + 8 + 7 rows (AVX-512), 4 x 5 + 3 (AVX2); one column past a group
    {{6, 33}, 70, true},          // two rows past a block; a partial group
    {{1, 100, 300}, 200, false},  // 2 threads, past kMinParallelMacs: each its own rows over every group
};

// "onednn-f16" (cpu_onednn_half.cc) takes products of 64 rows or more.
const Case kManyRowCases[] = {
    {{1, 100, 300}, 200, false},  // a partial vector of columns
    {{2, 40, 37}, 257, true},     // batch dims folded into 80 rows; b stored [N, K]
    {{1, 128, 64}, 70, false},    // BERT's row count
};

void CheckAgainstTheReference(const KernelDef& def, uint32_t seed, const std::vector<Case>& cases) {
  for (int threads : {1, 2, 3})
    for (const Case& c : cases) {
      SCOPED_TRACE(ir::ShapeString(c.a) + " x " + std::to_string(c.n) + " t" + std::to_string(threads));
      const Operands o = MakeOperands(c, seed++);
      const std::vector<uint16_t> y = Run(def, c, o, {}, {o.n}, threads);
      int bad = 0;
      for (int64_t r = 0; r < o.m && bad < 5; ++r)
        for (int64_t j = 0; j < o.n && bad < 5; ++j) {
          double sum = 0.0;
          for (int64_t t = 0; t < o.k; ++t) {
            const float wv = o.w[static_cast<size_t>(c.transpose_b ? j * o.k + t : t * o.n + j)];
            sum += static_cast<double>(wv) * o.x[static_cast<size_t>(r * o.k + t)];
          }
          const float expected = Half(static_cast<float>(sum));
          const float got = HalfToFloat(y[static_cast<size_t>(r * o.n + j)]);
          // The float32 sum may round to the float16 neighbour of the double one.
          const float tolerance = std::ldexp(std::max({std::fabs(expected), 1.0f}), -9);
          if (!(std::fabs(got - expected) <= tolerance)) {
            ADD_FAILURE() << def.name << " (" << r << ", " << j << "): " << got << " vs " << expected;
            ++bad;
          }
        }
    }
}

// The fused bias add (either operand order, [N] or [1, N]), alone and with a
// residual add after it, bit for bit against the unfused kernel and the
// separate steps' float32 adds with their float16 roundings.
void CheckFusedAdds(const KernelDef& def, uint32_t seed, const std::vector<Case>& cases) {
  for (int threads : {1, 2, 3})
    for (const Case& c : cases) {
      SCOPED_TRACE(ir::ShapeString(c.a) + " x " + std::to_string(c.n) + " t" + std::to_string(threads));
      const Operands o = MakeOperands(c, seed++);
      const std::vector<uint16_t> plain = Run(def, c, o, {}, {o.n}, threads);
      for (int form = 0; form < 3; ++form) {
        std::vector<PostOp> post(1);
        post[0].kind = PostOp::Kind::kAdd;
        post[0].input = 2;
        post[0].add_first = form == 1;
        if (form == 2) {  // then + the addend
          post.emplace_back();
          post[1].kind = PostOp::Kind::kAdd;
          post[1].input = 3;
        }
        const ir::Shape bias_shape = form == 1 ? ir::Shape{1, o.n} : ir::Shape{o.n};
        const std::vector<uint16_t> fused = Run(def, c, o, post, bias_shape, threads);
        int bad = 0;
        for (int64_t r = 0; r < o.m && bad < 5; ++r)
          for (int64_t j = 0; j < o.n && bad < 5; ++j) {
            const size_t at = static_cast<size_t>(r * o.n + j);
            uint16_t want = FloatToHalf(HalfToFloat(plain[at]) + o.bias[static_cast<size_t>(j)]);
            if (form == 2) want = FloatToHalf(HalfToFloat(want) + o.addend[at]);
            if (fused[at] != want) {
              ADD_FAILURE() << def.name << " form " << form << " (" << r << ", " << j << "): " << fused[at] << " vs "
                            << want;
              ++bad;
            }
          }
      }
    }
}

// A fused bias add then an activation (gelu_erf: a smooth function;
// hard_swish: a chain in registers; leaky_relu), bit for bit against the
// unfused kernel and the separate steps: the product rounded, + the bias in
// float32, rounded, the activation, rounded. With the activation's
// 65536-entry table (outputs of 65536 values or more, where gathers pay) and
// without it, so that the row ends run every form: the table, the chain,
// the passes.
float Activation(const std::string& type, float v) {
  if (type == "gelu_erf") {
    float y = 0.0f;
    SmoothLoopFor(type)(&v, &y, 1);
    return y;
  }
  if (type == "leaky_relu") return v < 0.0f ? 0.125f * v : v;
  if (type == "relu6") return std::min(std::max(v, 0.0f), 6.0f);
  const double d = v, t = d / 6.0 + 0.5;  // hard_swish as the reference computes it
  return static_cast<float>(d * (t < 0 ? 0.0 : t > 1 ? 1.0 : t));
}

const Case kActivationCases[] = {
    {{5, 7}, 9, false},          // a partial vector: the scalar end
    {{1, 23, 64}, 49, true},     // 49 columns: three vectors of 16 and one of 8, then one column
    {{1, 128, 40}, 600, false},  // 76800 outputs: the table where gathers pay
};

void CheckFusedActivations(const KernelDef& def, uint32_t seed, const std::vector<Case>& cases) {
  for (int tables : {0, 1})
    for (const std::string type : {"gelu_erf", "hard_swish", "leaky_relu", "relu6"})
      for (const Case& c : cases) {
        SCOPED_TRACE(ir::ShapeString(c.a) + " x " + std::to_string(c.n) + " " + type + " tables " +
                     std::to_string(tables));
        kernels::SetGatherTablesForTesting(tables);
        const Operands o = MakeOperands(c, seed++);
        const std::vector<uint16_t> plain = Run(def, c, o, {}, {o.n}, 2);
        std::vector<PostOp> post(2);
        post[0].kind = PostOp::Kind::kAdd;
        post[0].input = 2;
        post[1].kind = PostOp::Kind::kActivation;
        post[1].activation = type;
        post[1].lo = type == "relu6" ? 0.0f : 0.125f;  // leaky_relu's slope
        post[1].hi = 6.0f;
        const std::vector<uint16_t> fused = Run(def, c, o, post, {o.n}, 2);
        kernels::SetGatherTablesForTesting(-1);
        int bad = 0;
        for (int64_t r = 0; r < o.m && bad < 5; ++r)
          for (int64_t j = 0; j < o.n && bad < 5; ++j) {
            const size_t at = static_cast<size_t>(r * o.n + j);
            const float added = HalfToFloat(FloatToHalf(HalfToFloat(plain[at]) + o.bias[static_cast<size_t>(j)]));
            const uint16_t want = FloatToHalf(Activation(type, added));
            if (fused[at] != want) {
              ADD_FAILURE() << def.name << " (" << r << ", " << j << "): " << fused[at] << " vs " << want;
              ++bad;
            }
          }
      }
}

TEST(MatMulHalfGemm, Avx2MatchesTheReferenceAndTheSeparateAdds) {
  const KernelDef* def = FindKernel(OpKind::kMatMul, "avx2-f16-gemm");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "needs AVX2 + FMA + F16C";
  CheckAgainstTheReference(*def, 1, {std::begin(kCases), std::end(kCases)});
  CheckFusedAdds(*def, 51, {std::begin(kCases), std::end(kCases)});
  CheckFusedActivations(*def, 71, {std::begin(kActivationCases), std::end(kActivationCases)});
}

TEST(MatMulHalfGemm, Avx512MatchesTheReferenceAndTheSeparateAdds) {
  const KernelDef* def = FindKernel(OpKind::kMatMul, "avx512-f16-gemm");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "no AVX-512 on this CPU";
  CheckAgainstTheReference(*def, 101, {std::begin(kCases), std::end(kCases)});
  CheckFusedAdds(*def, 151, {std::begin(kCases), std::end(kCases)});
  CheckFusedActivations(*def, 171, {std::begin(kActivationCases), std::end(kActivationCases)});
}

// "onednn-f16": oneDNN's float32 GEMM on the widened rows, the same output
// stage; forced on whatever the CPU (it runs where OneDnnFloatGemmPays).
TEST(MatMulHalfGemm, OneDnnMatchesTheReferenceAndTheSeparateSteps) {
  const KernelDef* def = FindKernel(OpKind::kMatMul, "onednn-f16");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "no AVX-512 on this CPU";
  kernels::SetOneDnnFloatGemmForTesting(1);
  const std::vector<Case> cases(std::begin(kManyRowCases), std::end(kManyRowCases));
  CheckAgainstTheReference(*def, 201, cases);
  CheckFusedAdds(*def, 251, cases);
  CheckFusedActivations(*def, 271, {{{1, 128, 40}, 600, false}, {{1, 64, 33}, 75, true}});
  kernels::SetOneDnnFloatGemmForTesting(-1);
}

// "amx-f16-gemm" (cpu_amx_f16.cc): the float32 arithmetic on AMX-BF16 tiles
// through exact bfloat16 splits, the same output stage; K tails (300, 37
// and 64 values: partial chunks of 16), a last single column tile (257
// columns), 17 to 128 rows, batch dims, 1-3 threads.
TEST(MatMulHalfGemm, AmxMatchesTheReferenceAndTheSeparateSteps) {
  const KernelDef* def = FindKernel(OpKind::kMatMul, "amx-f16-gemm");
  ASSERT_NE(def, nullptr);
  const kernels::CpuFeatures& cpu = kernels::DetectedCpuFeatures();
  if (!cpu.amx_bf16 || !cpu.avx512bf16) GTEST_SKIP() << "needs AMX-BF16";
  std::vector<Case> cases(std::begin(kManyRowCases), std::end(kManyRowCases));
  cases.push_back({{1, 40, 120}, 200, true});  // PP-OCRv4 rec's 40 rows, K 120 (a chunk of 8)
  cases.push_back({{1, 17, 48}, 33, false});   // 17 rows: one block, 15 of its rows zero
  CheckAgainstTheReference(*def, 301, cases);
  CheckFusedAdds(*def, 351, cases);
  CheckFusedActivations(*def, 371, {{{1, 128, 40}, 600, false}, {{1, 64, 33}, 75, true}});
}

// "amx-f16-gemm" declines fewer than 16 rows, b values that are not float16
// ones, and an infinite b value (its wl would be inf: x * wl, NaN for x 0).
TEST(MatMulHalfGemm, AmxDeclines) {
  const KernelDef* def = FindKernel(OpKind::kMatMul, "amx-f16-gemm");
  ASSERT_NE(def, nullptr);
  const kernels::CpuFeatures& cpu = kernels::DetectedCpuFeatures();
  if (!cpu.amx_bf16 || !cpu.avx512bf16) GTEST_SKIP() << "needs AMX-BF16";
  const ir::AttrMap attrs = Attrs(false);
  auto supports = [&](int64_t rows, float value) {
    std::vector<float> w(8 * 16, 0.5f);
    w[3] = value;
    ValueInfo wi{DataType::FLOAT32, {8, 16}, w.data(), nullptr, false};
    ValueInfo x{DataType::FLOAT16, {rows, 8}, nullptr, nullptr, true};
    std::vector<ValueInfo> y = {ValueInfo{DataType::FLOAT16, {rows, 16}, nullptr, nullptr, true}};
    std::vector<const ValueInfo*> ins = {&x, &wi};
    return def->supports(KernelInit(attrs, ins, y));
  };
  EXPECT_TRUE(supports(16, 0.25f));
  EXPECT_FALSE(supports(15, 0.25f));
  EXPECT_FALSE(supports(64, 0.1f));  // not a float16 value
  EXPECT_FALSE(supports(64, INFINITY));
}

// Where oneDNN's float32 GEMM does not pay (AMD), or with fewer than 64
// rows, the float16-weight GEMM keeps the step.
TEST(MatMulHalfGemm, OneDnnOnlyWhereItsGemmPaysAndRowsAreMany) {
  const KernelDef* def = FindKernel(OpKind::kMatMul, "onednn-f16");
  ASSERT_NE(def, nullptr);
  std::vector<float> w(8 * 16, 0.5f);
  const ir::AttrMap attrs = Attrs(false);
  ValueInfo wi{DataType::FLOAT32, {8, 16}, w.data(), nullptr, false};
  for (int64_t rows : {63, 64})
    for (int pays : {0, 1}) {
      kernels::SetOneDnnFloatGemmForTesting(pays);
      ValueInfo x{DataType::FLOAT16, {rows, 8}, nullptr, nullptr, true};
      std::vector<ValueInfo> y = {ValueInfo{DataType::FLOAT16, {rows, 16}, nullptr, nullptr, true}};
      std::vector<const ValueInfo*> ins = {&x, &wi};
      EXPECT_EQ(def->supports(KernelInit(attrs, ins, y)), rows >= 64 && pays == 1) << rows << " rows, pays " << pays;
    }
  kernels::SetOneDnnFloatGemmForTesting(-1);
}

// A weight float16 does not hold, a transposed a, an activation b, a
// float32 a, a batched b, a bias add that is not per column.
TEST(MatMulHalfGemm, DeclinesWhatItDoesNotRun) {
  const KernelDef* def = FindKernel(OpKind::kMatMul, "avx2-f16-gemm");
  ASSERT_NE(def, nullptr);
  std::vector<float> w(8 * 16, 0.5f), bias(16, 0.25f);
  ir::AttrMap attrs = Attrs(false);
  ValueInfo x{DataType::FLOAT16, {3, 8}, nullptr, nullptr, true};
  ValueInfo wi{DataType::FLOAT32, {8, 16}, w.data(), nullptr, false};
  ValueInfo bi{DataType::FLOAT32, {16}, bias.data(), nullptr, false};
  std::vector<ValueInfo> y = {ValueInfo{DataType::FLOAT16, {3, 16}, nullptr, nullptr, true}};
  std::vector<PostOp> post;
  auto supports = [&] {
    std::vector<const ValueInfo*> ins = {&x, &wi, &bi};
    return def->supports(KernelInit(attrs, ins, y, nullptr, &post));
  };
  EXPECT_TRUE(supports());
  w[37] = 0.1f;  // not a float16 value
  EXPECT_FALSE(supports()) << "a weight float16 does not hold";
  w[37] = 0.5f;
  attrs.Set("transpose_a", int64_t{1});
  x.shape = {8, 3};
  EXPECT_FALSE(supports()) << "transposed a";
  attrs = Attrs(false);
  x.shape = {3, 8};
  wi.const_data = nullptr;
  EXPECT_FALSE(supports()) << "an activation b";
  wi.const_data = w.data();
  x = ValueInfo{DataType::FLOAT32, {3, 8}, nullptr, nullptr, false};
  EXPECT_FALSE(supports()) << "float32 a";
  x = ValueInfo{DataType::FLOAT16, {2, 3, 8}, nullptr, nullptr, true};
  wi.shape = {2, 8, 8};
  y[0].shape = {2, 3, 8};
  EXPECT_FALSE(supports()) << "batched b";
  x.shape = {3, 8};
  wi.shape = {8, 16};
  y[0].shape = {3, 16};
  post.resize(1);
  post[0].kind = PostOp::Kind::kAdd;
  post[0].input = 2;
  EXPECT_TRUE(supports()) << "a bias per column";
  bi.shape = {16, 1};
  EXPECT_FALSE(supports()) << "a [16, 1] addend is not per column";
}

}  // namespace
}  // namespace mixq::ops
