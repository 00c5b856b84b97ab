// The int8 add of two tensors inside an integer chain (lut_function.h,
// ops/int8_chain.h): the chain reference against hand-computed values and
// against its definition computed independently (quant::Dequantize, a
// float32 sum, quant::Quantize), with broadcasting; avx2-int8 against the
// chain reference bit for bit over lengths with vector tails, zero points at
// -128 and 127, a 100x scale ratio between the inputs, saturating outputs,
// int8 and float32 outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <tuple>

#include "ops/elementwise/int8_add.h"
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
                        const std::vector<int8_t>& a, const std::vector<int8_t>& b, DataType out_type,
                        std::string* form = nullptr) {
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
  if (form) *form = Int8AddForm(*kernel);
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
// The kernel named by the parameter; tests skip where the CPU cannot run it.
class Int8AddFast : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    fast_ = FindKernel(OpKind::kElementwise, GetParam());
    ASSERT_NE(fast_, nullptr);
    if (fast_->isa > kernels::BestIsa()) GTEST_SKIP() << "this CPU cannot run " << GetParam();
  }
  const KernelDef* fast_ = nullptr;
};

INSTANTIATE_TEST_SUITE_P(Kernels, Int8AddFast, ::testing::Values("avx2-int8", "avx512-int8"),
                         [](const auto& info) { return std::string(info.param) == "avx2-int8" ? "Avx2" : "Avx512"; });

TEST_P(Int8AddFast, BitExactWithTheReference) {
  const KernelDef* fast = fast_;
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

// Every pair of codes, twice over in a scattered order and a tail of 13.
void EveryPairTwice(std::vector<int8_t>* a, std::vector<int8_t>* b) {
  const int64_t n = 2 * 65536 + 13;
  a->resize(static_cast<size_t>(n));
  b->resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t pair = (i * 40503) % 65536;
    (*a)[static_cast<size_t>(i)] = static_cast<int8_t>(static_cast<uint8_t>(pair >> 8));
    (*b)[static_cast<size_t>(i)] = static_cast<int8_t>(static_cast<uint8_t>(pair & 0xff));
  }
}

// Tensors of 4096 elements or more run the affine form where it fits, else
// (65536 or more, Intel's fast gathers) a table of every pair of codes
// (int8_add.cc): every pair, twice over and a tail of 13, bit for bit the
// reference's, in each of the three forms, the form checked.
TEST_P(Int8AddFast, EveryPairOfCodesInEachForm) {
  const KernelDef* fast = fast_;
  std::vector<int8_t> a, b;
  EveryPairTwice(&a, &b);
  const ir::Shape shape = {1, static_cast<int64_t>(a.size())};
  for (const auto& [qa, qb, qo] : {std::tuple{Binding(0.02f, -128), Binding(0.05f, 127), Binding(0.03f, 5)},
                                   std::tuple{Binding(0.1f, 0), Binding(0.1f, 0), Binding(0.001f, 0)},
                                   std::tuple{Binding(0.0123f, 17), Binding(0.0456f, -33), Binding(0.0789f, 127)}}) {
    const auto want = RunAdd<int8_t>(ChainReference(), shape, shape, shape, qa, qb, qo, a, b, DataType::INT8);
    struct Form {
      int affine, table;
      const char* name;
    };
    for (const Form& f : {Form{1, 0, "affine"}, Form{0, 1, "table"}, Form{0, 0, "computed"}}) {
      SetInt8AddAffineForTesting(f.affine);
      kernels::SetGatherTablesForTesting(f.table);
      std::string form;
      const auto got = RunAdd<int8_t>(*fast, shape, shape, shape, qa, qb, qo, a, b, DataType::INT8, &form);
      kernels::SetGatherTablesForTesting(-1);
      SetInt8AddAffineForTesting(-1);
      EXPECT_EQ(form.substr(0, std::string(f.name).size()), f.name);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], want[i]) << "codes " << int{a[i]} << " + " << int{b[i]} << " at " << i << ", " << form;
    }
  }
}

// The affine form over many scales and zero points: wherever it is chosen
// it gives the reference's codes for every pair. Most fit with no patch;
// some need patches (the pairs whose exact sum lies within rounding of a
// half), and the set below includes such cases, so the patch blend is run;
// equal scales (ties everywhere, rounded by the reference's float errors)
// need more patches than allowed and keep the computed form.
TEST_P(Int8AddFast, AffineFormOverManyScales) {
  const KernelDef* fast = fast_;
  std::vector<int8_t> a, b;
  EveryPairTwice(&a, &b);
  const ir::Shape shape = {1, static_cast<int64_t>(a.size())};
  std::mt19937 rng(2026);
  std::uniform_real_distribution<float> log_scale(-7.0f, -1.0f);
  std::uniform_int_distribution<int> zero_point(-128, 127);
  int exact_fits = 0, patched = 0, computed = 0;
  for (int trial = 0; trial < 40; ++trial) {
    ir::QuantBinding qa, qb, qo;
    if (trial == 0) {  // equal scales, symmetric
      qa = qb = Binding(0.02f, 0);
      qo = Binding(0.04f, 0);
    } else {
      qa = Binding(std::exp(log_scale(rng)), zero_point(rng));
      qb = Binding(std::exp(log_scale(rng)), zero_point(rng));
      qo = Binding(std::exp(log_scale(rng)), zero_point(rng));
    }
    std::string form;
    const auto got = RunAdd<int8_t>(*fast, shape, shape, shape, qa, qb, qo, a, b, DataType::INT8, &form);
    const auto want = RunAdd<int8_t>(ChainReference(), shape, shape, shape, qa, qb, qo, a, b, DataType::INT8);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], want[i]) << "trial " << trial << ", codes " << int{a[i]} << " + " << int{b[i]} << ", " << form;
    }
    if (form == "affine, 0 patches")
      ++exact_fits;
    else if (form.rfind("affine", 0) == 0)
      ++patched;
    else
      ++computed;
    if (trial == 0) {
      EXPECT_EQ(form.rfind("affine", 0), std::string::npos) << form;
    }
  }
  EXPECT_GE(exact_fits, 20);
  EXPECT_GE(patched, 1);
  EXPECT_GE(computed, 1);
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
