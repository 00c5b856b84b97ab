// The AVX2 int8 MatMuls (avx2-int8 and its u8s8 form for weights,
// avx2-int8-act for two activations, avx2-int8-staged for all) against the
// quantized reference, bit for bit: weights
// (per-axis along N, stored plain and transposed), two activations with
// broadcast batches (attention), odd M / K / N, zero points at the extremes,
// float and int8 outputs.
#include <gtest/gtest.h>

#include <random>

#include "ops/kernel_registry.h"

namespace mixq::ops {
namespace {

struct Case {
  ir::Shape a, b;
  bool b_constant, transpose_b, int_output;
  int32_t a_zero, b_zero;
};

// seven_bit: constant weights in [-64, 63] (both ends every 7th element), where
// avx2-int8-u8s8 applies; split: mostly within +-40 with 127 / -128 every
// 97th element and +-100 every 89th (avx2-int8-u8s8-split); otherwise the
// full int8 range.
std::vector<uint8_t> RunMatMul(const KernelDef& def, const Case& c, uint32_t seed, const ir::Shape& y_shape,
                               bool seven_bit = false, bool split = false) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> code(-128, 127);
  std::vector<int8_t> a(static_cast<size_t>(ir::ElementCount(c.a))), b(static_cast<size_t>(ir::ElementCount(c.b)));
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<int8_t>(i % 11 == 0 ? (i % 2 ? 127 : -128) : code(rng));
  for (size_t i = 0; i < b.size(); ++i) {
    const int end = seven_bit ? (i % 2 ? 63 : -64) : (i % 2 ? 127 : -128);
    if (split)
      b[i] = static_cast<int8_t>(i % 97 == 0   ? (i % 2 ? 127 : -128)
                                 : i % 89 == 3 ? (i % 2 ? 100 : -100)
                                               : code(rng) / 3);
    else
      b[i] = static_cast<int8_t>(i % 7 == 0 ? end : seven_bit ? code(rng) / 2 : code(rng));
  }
  ir::QuantBinding aq, bq, yq;
  aq.symmetric = c.a_zero == 0;
  aq.scales = {0.03f};
  aq.zero_points = {c.a_zero};
  bq.symmetric = c.b_zero == 0;
  if (c.b_constant) {
    const int64_t n = c.transpose_b ? c.b[c.b.size() - 2] : c.b.back();
    bq.axis = c.transpose_b ? static_cast<int64_t>(c.b.size()) - 2 : static_cast<int64_t>(c.b.size()) - 1;
    for (int64_t j = 0; j < n; ++j) {
      bq.scales.push_back(0.002f * static_cast<float>(j + 1));
      bq.zero_points.push_back(0);
    }
  } else {
    bq.scales = {0.04f};
    bq.zero_points = {c.b_zero};
  }
  yq.symmetric = false;
  yq.scales = {0.5f};
  yq.zero_points = {9};
  ir::AttrMap attrs;
  attrs.Set("transpose_b", int64_t{c.transpose_b ? 1 : 0});
  ValueInfo ai{DataType::INT8, c.a, nullptr, &aq, true};
  ValueInfo bi{DataType::INT8, c.b, c.b_constant ? b.data() : nullptr, &bq, !c.b_constant};
  std::vector<ValueInfo> outs = {c.int_output ? ValueInfo{DataType::INT8, y_shape, nullptr, &yq, true}
                                              : ValueInfo{DataType::FLOAT32, y_shape, nullptr, nullptr, false}};
  std::vector<const ValueInfo*> ins = {&ai, &bi};
  std::vector<DataType> compute = {DataType::QINT8, DataType::QINT8};
  KernelInit init(attrs, ins, outs, &compute);
  if (!def.supports(init)) return {};
  std::unique_ptr<Kernel> kernel;
  const Status made = def.make(init, &kernel);
  EXPECT_TRUE(made.ok()) << made.ToString();
  if (!made.ok()) return {};
  std::vector<uint8_t> y(static_cast<size_t>(ir::ElementCount(y_shape)) * DataTypeSize(outs[0].dtype));
  RunQuant ar{0.03f, c.a_zero}, br{0.04f, c.b_zero}, yr{0.5f, 9};
  TensorView av{DataType::INT8, c.a, a.data(), &ar};
  TensorView bv{DataType::INT8, c.b, b.data(), c.b_constant ? nullptr : &br};
  TensorView yv{outs[0].dtype, y_shape, y.data(), c.int_output ? &yr : nullptr};
  for (int run = 0; run < 2; ++run) EXPECT_TRUE(kernel->Run({av, bv}, {yv}).ok());
  return y;
}

TEST(MatMulAvx2Int8, BitExactWithTheQuantizedReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const std::pair<Case, ir::Shape> cases[] = {
      {{{5, 37}, {37, 19}, true, false, false, -128, 0}, {5, 19}},                   // weights [K, N]
      {{{2, 3, 9}, {17, 9}, true, true, true, 3, 0}, {2, 3, 17}},                    // weights [N, K], int8 out
      {{{2, 4, 6, 33}, {2, 4, 33, 6}, false, false, false, 7, -100}, {2, 4, 6, 6}},  // attention Q.K^T
      {{{3, 1, 7, 5}, {4, 5, 7}, false, false, true, -1, 127}, {3, 4, 7, 7}},        // broadcast batches
      {{{1, 128, 96}, {96, 300}, true, false, false, 127, 0}, {1, 128, 300}},        // a BERT-like layer: column blocks
      {{{13, 7}, {7, 5}, true, false, true, 0, 0}, {13, 5}},                         // odd rows, narrow output
      // Attention as BERT-base has it (12 heads, int8 out); b transposed; depth 1.
      {{{1, 12, 128, 64}, {1, 12, 64, 128}, false, false, true, 5, -3}, {1, 12, 128, 128}},
      {{{2, 3, 10, 17}, {2, 3, 9, 17}, false, true, false, -128, 127}, {2, 3, 10, 9}},
      {{{7, 1}, {1, 5}, false, false, true, 1, 2}, {7, 5}},
  };
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kMatMul);
  for (const char* name :
       {"avx2-int8", "avx2-int8-act", "avx2-int8-staged", "avx2-int8-u8s8", "avx512vnni-int8", "amx-int8"}) {
    // The VNNI and AMX forms (any 8-bit weights) where this CPU has them.
    if (std::string(name) == "avx512vnni-int8" && kernels::BestIsa() < kernels::Isa::kAvx512Vnni) continue;
    if (std::string(name) == "amx-int8" && kernels::BestIsa() < kernels::Isa::kAmx) continue;
    const KernelDef* fast = FindKernel(OpKind::kMatMul, name);
    ASSERT_NE(fast, nullptr) << name;
    const bool seven_bit = std::string(name) == "avx2-int8-u8s8";
    int ran = 0;
    for (size_t i = 0; i < std::size(cases); ++i) {
      const auto got = RunMatMul(*fast, cases[i].first, static_cast<uint32_t>(i), cases[i].second, seven_bit);
      if (got.empty()) continue;
      ++ran;
      const auto want = RunMatMul(ref, cases[i].first, static_cast<uint32_t>(i), cases[i].second, seven_bit);
      ASSERT_FALSE(want.empty());
      EXPECT_EQ(got, want) << name << " case " << i;
    }
    // The fused weight kernels take the constant-weights cases, avx2-int8-act the two-activation ones, the
    // staged one all.
    const std::string kernel = name;
    EXPECT_EQ(ran, kernel == "avx2-int8-staged" ? 9 : kernel == "avx2-int8-act" ? 5 : 4) << name;
  }
  // 8-bit weights (a pair 127, -128 could saturate vpmaddubsw): the u8s8 form declines.
  const KernelDef* u8s8 = FindKernel(OpKind::kMatMul, "avx2-int8-u8s8");
  EXPECT_TRUE(RunMatMul(*u8s8, cases[0].first, 0, cases[0].second, /*seven_bit=*/false).empty());
}

TEST(MatMulAvx2Int8, SplitWeightsBitExactWithTheQuantizedReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  // Batched rows (tokens over several panels of 16), weights [K, N] and [N, K]
  // (zero points on the weights too), int8 and float out, K over two chunks.
  const std::pair<Case, ir::Shape> cases[] = {
      {{{1, 128, 768}, {768, 200}, true, false, false, 127, 0}, {1, 128, 200}},
      {{{2, 21, 600}, {390, 600}, true, true, true, -5, 0}, {2, 21, 390}},
      {{{13, 37}, {37, 19}, true, false, false, -128, 0}, {13, 19}},  // K = 37: one short chunk
  };
  const KernelDef* split = FindKernel(OpKind::kMatMul, "avx2-int8-u8s8-split");
  ASSERT_NE(split, nullptr);
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kMatMul);
  int ran = 0;
  for (size_t i = 0; i < std::size(cases); ++i) {
    const auto got = RunMatMul(*split, cases[i].first, static_cast<uint32_t>(i), cases[i].second, false, true);
    if (got.empty()) continue;
    ++ran;
    const auto want = RunMatMul(ref, cases[i].first, static_cast<uint32_t>(i), cases[i].second, false, true);
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(got, want) << "case " << i;
  }
  EXPECT_EQ(ran, 3);
  // Uniform 8-bit weights split in most quads: declined.
  EXPECT_TRUE(RunMatMul(*split, cases[0].first, 0, cases[0].second, false, false).empty());
}

}  // namespace
}  // namespace mixq::ops
