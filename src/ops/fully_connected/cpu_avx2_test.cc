// The AVX2 int8 FullyConnected against the quantized reference, bit for bit:
// weights stored [N, K] and [K, N] (per-axis scales along N), a transposed
// input, odd M / K / N, zero points at the extremes, alpha / beta and a bias
// broadcast by row and by element, float and int8 outputs.
#include <gtest/gtest.h>
#include <omp.h>

#include <random>

#include "ops/kernel_registry.h"

namespace mixq::ops {
namespace {

struct Case {
  int64_t m, k, n;
  bool transpose_a, transpose_b, int_output;
  int32_t a_zero;
  ir::Shape bias;  // empty: none
  float alpha, beta;
};

// seven_bit: weights in [-64, 63] (both ends every 7th element), where
// avx2-int8-u8s8 applies. split: mostly within +-40, with 127 / -128 every
// 97th element and +-100 every 89th, as trained weights: avx2-int8-u8s8-split
// splits them.
std::vector<uint8_t> RunFc(const KernelDef& def, const Case& c, uint32_t seed, bool seven_bit = false,
                           bool split = false) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> code(-128, 127);
  const ir::Shape a_shape = c.transpose_a ? ir::Shape{c.k, c.m} : ir::Shape{c.m, c.k};
  const ir::Shape b_shape = c.transpose_b ? ir::Shape{c.n, c.k} : ir::Shape{c.k, c.n};
  std::vector<int8_t> a(static_cast<size_t>(c.m * c.k)), b(static_cast<size_t>(c.k * c.n));
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<int8_t>(i % 11 == 0 ? (i % 2 ? 127 : -128) : code(rng));
  for (size_t i = 0; i < b.size(); ++i) {
    const int end = seven_bit ? (i % 2 ? 63 : -64) : (i % 2 ? 127 : -127);
    if (split)
      b[i] = static_cast<int8_t>(i % 97 == 0   ? (i % 2 ? 127 : -128)
                                 : i % 89 == 3 ? (i % 2 ? 100 : -100)
                                               : code(rng) / 3);
    else
      b[i] = static_cast<int8_t>(i % 7 == 0 ? end : seven_bit ? code(rng) / 2 : code(rng));
  }
  std::vector<float> bias(static_cast<size_t>(c.bias.empty() ? 0 : ir::ElementCount(c.bias)));
  for (auto& v : bias) v = static_cast<float>(code(rng)) * 0.05f;
  ir::QuantBinding aq, bq, yq;
  aq.symmetric = c.a_zero == 0;
  aq.scales = {0.03f};
  aq.zero_points = {c.a_zero};
  bq.axis = c.transpose_b ? 0 : 1;
  for (int64_t j = 0; j < c.n; ++j) {
    bq.scales.push_back(0.002f * static_cast<float>(j % 5 + 1));
    bq.zero_points.push_back(0);
  }
  yq.symmetric = false;
  yq.scales = {0.25f};
  yq.zero_points = {-9};
  ir::AttrMap attrs;
  attrs.Set("transpose_a", int64_t{c.transpose_a ? 1 : 0});
  attrs.Set("transpose_b", int64_t{c.transpose_b ? 1 : 0});
  attrs.Set("alpha", c.alpha);
  attrs.Set("beta", c.beta);
  const ir::Shape y_shape = {c.m, c.n};
  ValueInfo ai{DataType::INT8, a_shape, nullptr, &aq, true};
  ValueInfo bi{DataType::INT8, b_shape, b.data(), &bq, false};
  ValueInfo ci{DataType::FLOAT32, c.bias, bias.data(), nullptr, false};
  std::vector<ValueInfo> outs = {c.int_output ? ValueInfo{DataType::INT8, y_shape, nullptr, &yq, true}
                                              : ValueInfo{DataType::FLOAT32, y_shape, nullptr, nullptr, false}};
  std::vector<const ValueInfo*> ins = {&ai, &bi};
  std::vector<DataType> compute = {DataType::QINT8, DataType::QINT8};
  if (!c.bias.empty()) {
    ins.push_back(&ci);
    compute.push_back(DataType::FLOAT32);
  }
  KernelInit init(attrs, ins, outs, &compute);
  if (!def.supports(init)) return {};
  std::unique_ptr<Kernel> kernel;
  const Status made = def.make(init, &kernel);
  EXPECT_TRUE(made.ok()) << made.ToString();
  if (!made.ok()) return {};
  std::vector<uint8_t> y(static_cast<size_t>(ir::ElementCount(y_shape)) * DataTypeSize(outs[0].dtype));
  RunQuant ar{0.03f, c.a_zero}, yr{0.25f, -9};
  std::vector<TensorView> inputs = {TensorView{DataType::INT8, a_shape, a.data(), &ar},
                                    TensorView{DataType::INT8, b_shape, b.data(), nullptr}};
  if (!c.bias.empty()) inputs.push_back(TensorView{DataType::FLOAT32, c.bias, bias.data(), nullptr});
  TensorView yv{outs[0].dtype, y_shape, y.data(), c.int_output ? &yr : nullptr};
  for (int run = 0; run < 2; ++run) EXPECT_TRUE(kernel->Run(inputs, {yv}).ok());  // packed weights reused
  return y;
}

TEST(FullyConnectedAvx2Int8, BitExactWithTheQuantizedReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const Case cases[] = {
      {1, 1280, 1000, false, true, false, -128, {1000}, 1.0f, 1.0f},  // a classifier head
      {5, 37, 19, false, false, true, 3, {}, 1.0f, 1.0f},             // weights [K, N], int8 out
      {7, 33, 17, true, true, false, 127, {7, 17}, 0.5f, 2.0f},       // transposed input, alpha / beta
      {3, 9, 21, false, true, true, 0, {1, 21}, 1.0f, 1.0f},          // row-broadcast bias, int8 out
      {20, 300, 270, false, true, false, 9, {270}, 1.0f, 1.0f},       // several row and column blocks
  };
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kFullyConnected);
  for (const char* name : {"avx2-int8", "avx2-int8-staged", "avx2-int8-u8s8", "avx512vnni-int8", "amx-int8"}) {
    // The VNNI and AMX forms (any 8-bit weights) where this CPU has them.
    if (std::string(name) == "avx512vnni-int8" && kernels::BestIsa() < kernels::Isa::kAvx512Vnni) continue;
    if (std::string(name) == "amx-int8" && kernels::BestIsa() < kernels::Isa::kAmx) continue;
    const KernelDef* fast = FindKernel(OpKind::kFullyConnected, name);
    ASSERT_NE(fast, nullptr) << name;
    const bool seven_bit = std::string(name) == "avx2-int8-u8s8";
    int ran = 0;
    for (size_t i = 0; i < std::size(cases); ++i) {
      const auto got = RunFc(*fast, cases[i], static_cast<uint32_t>(i), seven_bit);
      if (got.empty()) continue;
      ++ran;
      const auto want = RunFc(ref, cases[i], static_cast<uint32_t>(i), seven_bit);
      ASSERT_FALSE(want.empty());
      EXPECT_EQ(got, want) << name << " case " << i;
    }
    // The fused kernel takes alpha = beta = 1 with a per-feature bias; the staged one all.
    EXPECT_EQ(ran, std::string(name) == "avx2-int8-staged" ? 5 : 4) << name;
  }
  // 8-bit weights (127 next to -127 could saturate vpmaddubsw): the u8s8 form declines.
  EXPECT_TRUE(RunFc(*FindKernel(OpKind::kFullyConnected, "avx2-int8-u8s8"), cases[1], 1, false).empty());
}

// Three column blocks of 256 features at 2 and 4 threads: 50 rows (9 row
// blocks, at least two per thread) run as one contiguous row range per
// thread over every column block (int8_weight_gemm.cc); 9 rows split each
// block's rows in 2 or 4 ranges (BlockSplits), row blocks of 6 with a partial
// last one; a range may hold no block (4 ranges of 9 rows). On AMX (rows
// packed as one range) each block's panels split in 2 or 4 ranges instead
// (BlockSplits): 700 features end in a block of 12 panels, 3 per range.
TEST(FullyConnectedAvx2Int8, RowRangesAtSeveralThreadsBitExact) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const Case cases[] = {
      {50, 300, 768, false, true, false, -3, {768}, 1.0f, 1.0f},
      {9, 700, 700, false, true, true, 5, {700}, 1.0f, 1.0f},
  };
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kFullyConnected);
  const int saved = omp_get_max_threads();
  for (int threads : {2, 4}) {
    omp_set_num_threads(threads);
    for (const char* name : {"avx2-int8", "avx2-int8-u8s8", "avx512vnni-int8", "amx-int8"}) {
      if (std::string(name) == "avx512vnni-int8" && kernels::BestIsa() < kernels::Isa::kAvx512Vnni) continue;
      if (std::string(name) == "amx-int8" && kernels::BestIsa() < kernels::Isa::kAmx) continue;
      const KernelDef* fast = FindKernel(OpKind::kFullyConnected, name);
      ASSERT_NE(fast, nullptr) << name;
      const bool seven_bit = std::string(name) == "avx2-int8-u8s8";
      for (size_t i = 0; i < std::size(cases); ++i) {
        const auto got = RunFc(*fast, cases[i], static_cast<uint32_t>(i + 40), seven_bit);
        ASSERT_FALSE(got.empty()) << name << " case " << i;
        EXPECT_EQ(got, RunFc(ref, cases[i], static_cast<uint32_t>(i + 40), seven_bit))
            << name << " case " << i << " at " << threads << " threads";
      }
    }
  }
  omp_set_num_threads(saved);
}

TEST(FullyConnectedAvx2Int8, SplitWeightsBitExactWithTheQuantizedReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  // Tokens past a panel of 16 and a row block of 6, K over two remainder
  // chunks (512 quads), features over several jobs of 192 (rows sorted by
  // remainder within each), int8 and float out.
  const Case cases[] = {
      {9, 1280, 1000, false, true, false, -128, {1000}, 1.0f, 1.0f},  // 9 rows: one partial panel
      {37, 2050, 200, false, true, true, 3, {200}, 1.0f, 1.0f},       // int8 out, K with a tail quad
      {20, 300, 390, false, false, false, 127, {}, 1.0f, 1.0f},       // weights [K, N], no bias
      {128, 768, 77, false, true, false, 0, {1, 77}, 1.0f, 1.0f},     // BERT-like tokens
      {11, 9, 21, false, true, true, 0, {1, 21}, 1.0f, 1.0f},         // K = 9: three quads
  };
  const KernelDef* split = FindKernel(OpKind::kFullyConnected, "avx2-int8-u8s8-split");
  ASSERT_NE(split, nullptr);
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kFullyConnected);
  int ran = 0;
  for (size_t i = 0; i < std::size(cases); ++i) {
    const auto got = RunFc(*split, cases[i], static_cast<uint32_t>(i), false, true);
    if (got.empty()) continue;
    ++ran;
    const auto want = RunFc(ref, cases[i], static_cast<uint32_t>(i), false, true);
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(got, want) << "case " << i;
  }
  EXPECT_EQ(ran, 5);
  // Uniform 8-bit weights split in most quads: declined; so is a single row
  // (a classifier head), which would fill 1 of a panel's 16 columns.
  EXPECT_TRUE(RunFc(*split, cases[0], 0, false, false).empty());
  const Case head = {1, 1280, 1000, false, true, false, -128, {1000}, 1.0f, 1.0f};
  EXPECT_TRUE(RunFc(*split, head, 0, false, true).empty());
}

}  // namespace
}  // namespace mixq::ops
