// The int8 add of two tensors inside an integer chain (lut_function.h,
// ops/int8_chain.h): the chain reference against hand-computed values and
// against its definition computed independently (quant::Dequantize, a
// float32 sum, quant::Quantize), with broadcasting; avx2-int8 against the
// chain reference bit for bit over lengths with vector tails, zero points at
// -128 and 127, a 100x scale ratio between the inputs, saturating outputs,
// int8 and float32 outputs.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <tuple>

#include "ops/int8_chain.h"
#include "ops/kernel_registry.h"
#include "quant/quant_math.h"

namespace mixq::ops {
namespace {

ir::QuantBinding Binding(float scale, int32_t zero_point) {
  ir::QuantBinding q;
  q.bits = 8;
  q.symmetric = zero_point == 0;
  q.scales = {scale};
  q.zero_points = {zero_point};
  return q;
}

std::vector<int8_t> Codes(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int8_t> x(static_cast<size_t>(n));
  for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  if (n > 2) {
    x[0] = -128;
    x[1] = 127;
  }
  return x;
}

// Runs `def` on a (shape sa) + b (shape sb) into `out_type` (INT8 with out_q, or FLOAT32).
template <typename Out>
std::vector<Out> RunAdd(const KernelDef& def, const ir::Shape& sa, const ir::Shape& sb, const ir::Shape& so,
                        const ir::QuantBinding& qa, const ir::QuantBinding& qb, const ir::QuantBinding& qo,
                        const std::vector<int8_t>& a, const std::vector<int8_t>& b, DataType out_type) {
  ir::AttrMap attrs;
  attrs.Set("op", std::string("add"));
  ValueInfo ai{DataType::INT8, sa, nullptr, &qa, true}, bi{DataType::INT8, sb, nullptr, &qb, true};
  const bool int_out = out_type == DataType::INT8;
  std::vector<ValueInfo> outs = {ValueInfo{out_type, so, nullptr, int_out ? &qo : nullptr, int_out}};
  std::vector<const ValueInfo*> ins = {&ai, &bi};
  const std::vector<DataType> compute = {DataType::QINT8, DataType::QINT8};
  KernelInit init(attrs, ins, outs, &compute);
  EXPECT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def.make(init, &kernel).ok()) << def.name;
  std::vector<Out> y(static_cast<size_t>(ir::ElementCount(so)));
  if (!kernel) return y;
  RunQuant ra{qa.scales[0], qa.zero_points[0]}, rb{qb.scales[0], qb.zero_points[0]},
      ro{qo.scales[0], qo.zero_points[0]};
  EXPECT_TRUE(kernel
                  ->Run({TensorView{DataType::INT8, sa, const_cast<int8_t*>(a.data()), &ra},
                         TensorView{DataType::INT8, sb, const_cast<int8_t*>(b.data()), &rb}},
                        {TensorView{out_type, so, y.data(), int_out ? &ro : nullptr}})
                  .ok());
  return y;
}

const KernelDef& ChainReference() {
  return QuantizedReferenceKernel(OpKind::kElementwise);
}

TEST(Int8Add, ReferenceKnownValues) {
  // a = [10, -128] * 0.5 = [5, -64]; b = ([3, 127] + 1) * 0.25 = [1, 32];
  // sums 6 and -32; out scale 0.1, zero point 3: 63 and -317 -> -128.
  const auto qa = Binding(0.5f, 0), qb = Binding(0.25f, -1), qo = Binding(0.1f, 3);
  const auto y = RunAdd<int8_t>(ChainReference(), {2}, {2}, {2}, qa, qb, qo, {10, -128}, {3, 127}, DataType::INT8);
  EXPECT_EQ(y, (std::vector<int8_t>{63, -128}));
  const auto f = RunAdd<float>(ChainReference(), {2}, {2}, {2}, qa, qb, qo, {10, -128}, {3, 127}, DataType::FLOAT32);
  EXPECT_EQ(f, (std::vector<float>{6.0f, -32.0f}));
}

TEST(Int8Add, ReferenceIsTheDefinitionWithBroadcasting) {
  const auto qa = Binding(0.03f, -7), qb = Binding(0.5f, 127), qo = Binding(0.2f, -128);
  const auto a = Codes(2 * 3 * 5, 3), b = Codes(5, 4);
  const auto y = RunAdd<int8_t>(ChainReference(), {2, 3, 5}, {1, 5}, {2, 3, 5}, qa, qb, qo, a, b, DataType::INT8);
  for (size_t i = 0; i < y.size(); ++i) {
    const float sum = quant::Dequantize(a[i], 0.03f, -7) + quant::Dequantize(b[i % 5], 0.5f, 127);
    EXPECT_EQ(y[i], quant::Quantize(sum, 0.2f, -128, 8)) << i;
  }
}

// Both ISAs' kernels where the CPU runs them: avx2-int8, and avx512-int8
// (the same operations on 16 lanes, masked tails).
class Int8AddFast : public ::testing::TestWithParam<const char*> {};

INSTANTIATE_TEST_SUITE_P(Kernels, Int8AddFast, ::testing::Values("avx2-int8", "avx512-int8"),
                         [](const auto& info) { return std::string(info.param) == "avx2-int8" ? "Avx2" : "Avx512"; });

TEST_P(Int8AddFast, BitExactWithTheReference) {
  const KernelDef* fast = FindKernel(OpKind::kElementwise, GetParam());
  ASSERT_NE(fast, nullptr);
  if (fast->isa > kernels::BestIsa()) GTEST_SKIP() << "this CPU cannot run " << GetParam();
  struct Params {
    ir::QuantBinding a, b, out;
  };
  const std::vector<Params> params = {
      {Binding(0.02f, 0), Binding(0.02f, 0), Binding(0.04f, 0)},       // symmetric, equal
      {Binding(0.02f, -128), Binding(0.05f, 127), Binding(0.03f, 5)},  // zero points at both ends
      {Binding(0.001f, 3), Binding(0.1f, -4), Binding(0.05f, -20)},    // 100x scale ratio
      {Binding(0.1f, 0), Binding(0.1f, 0), Binding(0.001f, 0)},        // most outputs saturate
      {Binding(0.0123f, 17), Binding(0.0456f, -33), Binding(0.0789f, 127)},
  };
  int index = 0;
  for (const Params& p : params) {
    for (int64_t n : {1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 1000, 70001}) {
      const ir::Shape shape = {1, n};
      const auto a = Codes(n, static_cast<uint32_t>(n) + 1), b = Codes(n, static_cast<uint32_t>(n) + 2);
      const std::string what = "params " + std::to_string(index) + " n " + std::to_string(n);
      EXPECT_EQ(RunAdd<int8_t>(*fast, shape, shape, shape, p.a, p.b, p.out, a, b, DataType::INT8),
                RunAdd<int8_t>(ChainReference(), shape, shape, shape, p.a, p.b, p.out, a, b, DataType::INT8))
          << what;
      const auto f = RunAdd<float>(*fast, shape, shape, shape, p.a, p.b, p.out, a, b, DataType::FLOAT32);
      const auto g = RunAdd<float>(ChainReference(), shape, shape, shape, p.a, p.b, p.out, a, b, DataType::FLOAT32);
      EXPECT_EQ(std::memcmp(f.data(), g.data(), f.size() * sizeof(float)), 0) << what;
    }
    ++index;
  }
}

// Tensors of 65536 elements or more run through a table of every pair of
// codes (int8_add.cc): every pair, twice over and a tail of 13, bit for bit
// the reference's, with both kernels' lookups (8 and 16 pairs per gather).
TEST_P(Int8AddFast, EveryPairOfCodesThroughTheTable) {
  const KernelDef* fast = FindKernel(OpKind::kElementwise, GetParam());
  ASSERT_NE(fast, nullptr);
  if (fast->isa > kernels::BestIsa()) GTEST_SKIP() << "this CPU cannot run " << GetParam();
  const int64_t n = 2 * 65536 + 13;
  std::vector<int8_t> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t pair = (i * 40503) % 65536;  // every pair, in a scattered order
    a[static_cast<size_t>(i)] = static_cast<int8_t>(static_cast<uint8_t>(pair >> 8));
    b[static_cast<size_t>(i)] = static_cast<int8_t>(static_cast<uint8_t>(pair & 0xff));
  }
  const ir::Shape shape = {1, n};
  for (const auto& [qa, qb, qo] : {std::tuple{Binding(0.02f, -128), Binding(0.05f, 127), Binding(0.03f, 5)},
                                   std::tuple{Binding(0.1f, 0), Binding(0.1f, 0), Binding(0.001f, 0)},
                                   std::tuple{Binding(0.0123f, 17), Binding(0.0456f, -33), Binding(0.0789f, 127)}}) {
    const auto want = RunAdd<int8_t>(ChainReference(), shape, shape, shape, qa, qb, qo, a, b, DataType::INT8);
    for (int table : {1, 0}) {  // looked up (Intel's fast gathers) and computed (AMD)
      kernels::SetGatherTablesForTesting(table);
      const auto got = RunAdd<int8_t>(*fast, shape, shape, shape, qa, qb, qo, a, b, DataType::INT8);
      kernels::SetGatherTablesForTesting(-1);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], want[i]) << "codes " << int{a[i]} << " + " << int{b[i]} << " at " << i << ", table " << table;
    }
  }
}

TEST(Int8Add, Avx2DeclinesBroadcasting) {
  const KernelDef* fast = FindKernel(OpKind::kElementwise, "avx2-int8");
  ASSERT_NE(fast, nullptr);
  const auto q = Binding(0.1f, 0);
  ir::AttrMap attrs;
  attrs.Set("op", std::string("add"));
  ValueInfo ai{DataType::INT8, {2, 5}, nullptr, &q, true}, bi{DataType::INT8, {1, 5}, nullptr, &q, true};
  std::vector<ValueInfo> outs = {ValueInfo{DataType::INT8, {2, 5}, nullptr, &q, true}};
  std::vector<const ValueInfo*> ins = {&ai, &bi};
  const std::vector<DataType> compute = {DataType::QINT8, DataType::QINT8};
  EXPECT_FALSE(fast->supports(KernelInit(attrs, ins, outs, &compute)));
  EXPECT_TRUE(ChainReference().supports(KernelInit(attrs, ins, outs, &compute)));
}

}  // namespace
}  // namespace mixq::ops
