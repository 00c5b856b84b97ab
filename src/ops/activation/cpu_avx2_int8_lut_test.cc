// Activations on int8 storage inside an integer chain (ops/int8_chain.h):
// the chain reference against its definition computed independently
// (quant::Dequantize -> the float reference kernel -> quant::Quantize), and
// avx2-int8-lut against the chain reference, bit for bit: every int8 code,
// lengths with vector tails, zero points at both ends, int8 and float32
// outputs. Also the vpshufb lookup itself against a plain table read.
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "ops/int8_chain.h"
#include "ops/kernel_registry.h"
#include "quant/quant_math.h"

namespace mixq::ops {
namespace {

struct Case {
  const char* type;
  float alpha, beta;
};
const float kUnset = std::numeric_limits<float>::quiet_NaN();
const Case kCases[] = {{"sigmoid", kUnset, kUnset},   {"tanh", kUnset, kUnset},       {"hard_sigmoid", kUnset, kUnset},
                       {"hard_sigmoid", 0.25f, 0.4f}, {"hard_swish", kUnset, kUnset}, {"silu", kUnset, kUnset},
                       {"gelu_erf", kUnset, kUnset},  {"gelu_tanh", kUnset, kUnset},  {"leaky_relu", kUnset, kUnset},
                       {"leaky_relu", 0.2f, kUnset}};

ir::AttrMap Attrs(const Case& c) {
  ir::AttrMap attrs;
  attrs.Set("type", std::string(c.type));
  attrs.Set("alpha", c.alpha);
  attrs.Set("beta", c.beta);
  return attrs;
}

ir::QuantBinding Binding(float scale, int32_t zero_point) {
  ir::QuantBinding q;
  q.bits = 8;
  q.symmetric = zero_point == 0;
  q.scales = {scale};
  q.zero_points = {zero_point};
  return q;
}

// Every code, then a pseudo-random tail: `n` codes in all.
std::vector<int8_t> Codes(size_t n) {
  std::vector<int8_t> x;
  for (size_t i = 0; i < n; ++i) x.push_back(static_cast<int8_t>(static_cast<int>(i % 256) - 128));
  std::mt19937 rng(7);
  for (size_t i = 256; i < n; ++i) x[i] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  return x;
}

// Runs `def` on int8 codes x (QINT8) into `out_type` (INT8 with `out_q`, or FLOAT32).
template <typename Out>
std::vector<Out> RunLut(const KernelDef& def, const ir::AttrMap& attrs, const ir::QuantBinding& in_q,
                        const ir::QuantBinding& out_q, const std::vector<int8_t>& x, DataType out_type) {
  const ir::Shape shape = {1, static_cast<int64_t>(x.size())};
  ValueInfo xi{DataType::INT8, shape, nullptr, &in_q, true};
  ValueInfo yi{out_type, shape, nullptr, out_type == DataType::INT8 ? &out_q : nullptr, out_type == DataType::INT8};
  std::vector<ValueInfo> outs = {yi};
  std::vector<const ValueInfo*> ins = {&xi};
  const std::vector<DataType> compute = {DataType::QINT8};
  KernelInit init(attrs, ins, outs, &compute);
  EXPECT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def.make(init, &kernel).ok()) << def.name;
  std::vector<Out> y(x.size());
  if (!kernel) return y;
  RunQuant rin{in_q.scales[0], in_q.zero_points[0]};
  RunQuant rout{out_q.scales[0], out_q.zero_points[0]};
  EXPECT_TRUE(kernel
                  ->Run({TensorView{DataType::INT8, shape, const_cast<int8_t*>(x.data()), &rin}},
                        {TensorView{out_type, shape, y.data(), out_type == DataType::INT8 ? &rout : nullptr}})
                  .ok());
  return y;
}

// The definition, independently: dequantize, the float reference kernel, quantize.
std::vector<float> FloatReference(const ir::AttrMap& attrs, const ir::QuantBinding& in_q,
                                  const std::vector<int8_t>& x) {
  const ir::Shape shape = {static_cast<int64_t>(x.size())};
  std::vector<float> xf(x.size()), y(x.size());
  for (size_t i = 0; i < x.size(); ++i) xf[i] = quant::Dequantize(x[i], in_q.scales[0], in_q.zero_points[0]);
  ValueInfo xi{DataType::FLOAT32, shape};
  std::vector<ValueInfo> outs = {xi};
  std::vector<const ValueInfo*> ins = {&xi};
  KernelInit init(attrs, ins, outs);
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(ReferenceKernel(OpKind::kActivation).make(init, &kernel).ok());
  EXPECT_TRUE(
      kernel->Run({TensorView{DataType::FLOAT32, shape, xf.data()}}, {TensorView{DataType::FLOAT32, shape, y.data()}})
          .ok());
  return y;
}

TEST(ActivationInt8Lut, ReferenceIsTheDefinitionAndFastIsTheReference) {
  const KernelDef* fast = FindKernel(OpKind::kActivation, "avx2-int8-lut");
  ASSERT_NE(fast, nullptr);
  const bool avx2 = (kernels::BestIsa() >= kernels::Isa::kAvx2);
  const KernelDef* fast_vbmi = FindKernel(OpKind::kActivation, "avx512vbmi-int8-lut");
  ASSERT_NE(fast_vbmi, nullptr);
  const bool vbmi = Int8LookupVbmiAvailable();
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kActivation);
  struct Params {
    float in_scale;
    int32_t in_zp;
    float out_scale;
    int32_t out_zp;
  };
  const Params params[] = {{0.05f, 0, 0.01f, 0},
                           {0.1f, -128, 0.02f, 127},
                           {0.031f, 127, 0.004f, -128},
                           {0.02f, -3, 0.05f, 40},
                           {0.5f, 60, 0.001f, -100}};
  for (const Case& c : kCases)
    for (const Params& p : params)
      for (size_t n : {size_t{256}, size_t{257}, size_t{287}, size_t{1000}}) {
        SCOPED_TRACE(std::string(c.type) + " in zp " + std::to_string(p.in_zp) + " out zp " + std::to_string(p.out_zp) +
                     " n " + std::to_string(n));
        const ir::AttrMap attrs = Attrs(c);
        const ir::QuantBinding in_q = Binding(p.in_scale, p.in_zp), out_q = Binding(p.out_scale, p.out_zp);
        const std::vector<int8_t> x = Codes(n);
        const std::vector<float> real = FloatReference(attrs, in_q, x);
        std::vector<int8_t> expected(n);
        for (size_t i = 0; i < n; ++i)
          expected[i] = static_cast<int8_t>(quant::Quantize(real[i], p.out_scale, p.out_zp, 8));
        const auto ref_q = RunLut<int8_t>(ref, attrs, in_q, out_q, x, DataType::INT8);
        const auto ref_f = RunLut<float>(ref, attrs, in_q, out_q, x, DataType::FLOAT32);
        ASSERT_EQ(ref_q, expected);
        ASSERT_EQ(ref_f, real);
        if (!avx2) continue;
        ASSERT_EQ(RunLut<int8_t>(*fast, attrs, in_q, out_q, x, DataType::INT8), ref_q);
        ASSERT_EQ(RunLut<float>(*fast, attrs, in_q, out_q, x, DataType::FLOAT32), ref_f);
        if (!vbmi) continue;  // its int8 form (a float32 output stays with avx2-int8-lut)
        ASSERT_EQ(RunLut<int8_t>(*fast_vbmi, attrs, in_q, out_q, x, DataType::INT8), ref_q);
      }
}

TEST(ActivationInt8Lut, HardSwishGoldens) {
  // s_in = 0.1, z_in = 0; s_out = 0.05, z_out = -20. Codes 30 (3.0: 3.0) ,
  // -30 (-3.0: 0), 10 (1.0: 1 * (1/6 + 0.5) = 0.6667), -10 (-1: -1/3).
  const ir::AttrMap attrs = Attrs({"hard_swish", kUnset, kUnset});
  const auto y = RunLut<int8_t>(QuantizedReferenceKernel(OpKind::kActivation), attrs, Binding(0.1f, 0),
                                Binding(0.05f, -20), std::vector<int8_t>{30, -30, 10, -10}, DataType::INT8);
  EXPECT_EQ(y, (std::vector<int8_t>{40, -20, -7, -27}));  // 3/0.05-20, 0-20, round(13.33)-20, round(-6.67)-20
}

TEST(ActivationInt8Lut, NotTakenOutsideAChain) {
  const KernelDef* fast = FindKernel(OpKind::kActivation, "avx2-int8-lut");
  ASSERT_NE(fast, nullptr);
  const ir::QuantBinding q = Binding(0.1f, 0);
  ir::QuantBinding dynamic = q;
  dynamic.dynamic = true;
  const ir::Shape shape = {8};
  const ir::AttrMap attrs = Attrs({"sigmoid", kUnset, kUnset});
  ValueInfo xi{DataType::INT8, shape, nullptr, &q, true};
  ValueInfo xd{DataType::INT8, shape, nullptr, &dynamic, true};
  ValueInfo xf{DataType::FLOAT32, shape};
  ValueInfo half{DataType::FLOAT16, shape, nullptr, nullptr, true};
  const std::vector<DataType> qint8 = {DataType::QINT8}, f32 = {DataType::FLOAT32};
  auto taken = [&](const ValueInfo& in, const ValueInfo& out, const std::vector<DataType>& compute) {
    std::vector<ValueInfo> outs = {out};
    std::vector<const ValueInfo*> ins = {&in};
    return fast->supports(KernelInit(attrs, ins, outs, &compute));
  };
  EXPECT_TRUE(taken(xi, xi, qint8));
  EXPECT_TRUE(taken(xi, xf, qint8));
  EXPECT_FALSE(taken(xi, xi, f32));      // integers moved through, not a chain input
  EXPECT_FALSE(taken(xd, xd, qint8));    // dynamic parameters
  EXPECT_FALSE(taken(xi, half, qint8));  // float16 storage: widened by the lowering
  EXPECT_FALSE(taken(xf, xf, f32));
}

TEST(Int8Lookup, Avx2IsATableRead) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  std::mt19937 rng(3);
  std::array<int8_t, 256> table{};
  for (auto& t : table) t = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  for (size_t n = 0; n <= 300; ++n) {
    const std::vector<int8_t> x = Codes(n);
    std::vector<int8_t> y(n + 1, 55), expected(n + 1, 55);  // one guard byte
    for (size_t i = 0; i < n; ++i) expected[i] = table[static_cast<size_t>(x[i] + 128)];
    LookupInt8Avx2(table, x.data(), y.data(), static_cast<int64_t>(n));
    ASSERT_EQ(y, expected) << n;
  }
}

// vpermi2b over the two halves of the table: every code, every length up to
// 300 (64-code steps and masked tails), from an unaligned start, with guard
// bytes on both sides left as they were.
TEST(Int8Lookup, VbmiIsATableRead) {
  if (!Int8LookupVbmiAvailable()) GTEST_SKIP() << "no AVX-512 VBMI";
  std::mt19937 rng(5);
  std::array<int8_t, 256> table{};
  for (auto& t : table) t = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  table[0] = -128;   // code -128
  table[127] = 11;   // code -1
  table[128] = 22;   // code 0
  table[255] = 127;  // code 127
  for (size_t n = 0; n <= 300; ++n) {
    std::vector<int8_t> x = Codes(n + 1);                   // x[0] unused: an odd start
    std::vector<int8_t> y(n + 2, 55), expected(n + 2, 55);  // guard bytes at both ends
    for (size_t i = 0; i < n; ++i) expected[i + 1] = table[static_cast<size_t>(x[i + 1] + 128)];
    LookupInt8Vbmi(table, x.data() + 1, y.data() + 1, static_cast<int64_t>(n));
    ASSERT_EQ(y, expected) << n;
  }
  const std::vector<int8_t> ends = {-128, -1, 0, 127};
  std::vector<int8_t> got(4);
  LookupInt8Vbmi(table, ends.data(), got.data(), 4);
  EXPECT_EQ(got, (std::vector<int8_t>{-128, 11, 22, 127}));
}

}  // namespace
}  // namespace mixq::ops
