// The int8 AvgPool2D of an integer chain (ops/int8_chain.h): the chain
// reference against hand-computed values, and avx2-int8 against it bit for
// bit over odd sizes (vector tails), strides 1 to 3, asymmetric pads,
// ceil_mode, count_include_pad 0 and 1, zero points at -128 and 127, a 100x
// scale ratio between input and output, saturation, int8 and float32 outputs.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "ops/int8_chain.h"
#include "ops/kernel_registry.h"
#include "quant/requantize.h"

namespace mixq::ops {
namespace {

struct Case {
  int64_t n, c, h, w, kh, kw, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right;
  bool ceil_mode, include_pad;
};

ir::QuantBinding Binding(float scale, int32_t zero_point) {
  ir::QuantBinding q;
  q.bits = 8;
  q.symmetric = zero_point == 0;
  q.scales = {scale};
  q.zero_points = {zero_point};
  return q;
}

template <typename Out>
std::vector<Out> RunPool(const KernelDef& def, const Case& c, const ir::QuantBinding& qi, const ir::QuantBinding& qo,
                         const std::vector<int8_t>& x, DataType out_type) {
  ir::AttrMap attrs;
  attrs.Set("kernel", std::vector<int64_t>{c.kh, c.kw});
  attrs.Set("strides", std::vector<int64_t>{c.stride_h, c.stride_w});
  attrs.Set("pads", std::vector<int64_t>{c.pad_top, c.pad_bottom, c.pad_left, c.pad_right});
  attrs.Set("ceil_mode", int64_t{c.ceil_mode ? 1 : 0});
  attrs.Set("count_include_pad", int64_t{c.include_pad ? 1 : 0});
  attrs.Set("padding_mode", std::string("EXPLICIT"));
  attrs.Set("layout", std::string("NCHW"));
  ValueInfo real{DataType::FLOAT32, {c.n, c.c, c.h, c.w}, nullptr, nullptr, false};
  std::vector<ValueInfo> outs(1);
  EXPECT_TRUE(GetSchema(OpKind::kAvgPool2D).infer(attrs, {&real}, outs).ok());
  const bool int_out = out_type == DataType::INT8;
  outs[0] = ValueInfo{out_type, outs[0].shape, nullptr, int_out ? &qo : nullptr, int_out};
  ValueInfo xi{DataType::INT8, real.shape, nullptr, &qi, true};
  std::vector<const ValueInfo*> ins = {&xi};
  const std::vector<DataType> compute = {DataType::QINT8};
  KernelInit init(attrs, ins, outs, &compute);
  EXPECT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def.make(init, &kernel).ok()) << def.name;
  std::vector<Out> y(static_cast<size_t>(ir::ElementCount(outs[0].shape)));
  if (!kernel) return y;
  RunQuant ri{qi.scales[0], qi.zero_points[0]}, ro{qo.scales[0], qo.zero_points[0]};
  EXPECT_TRUE(kernel
                  ->Run({TensorView{DataType::INT8, xi.shape, const_cast<int8_t*>(x.data()), &ri}},
                        {TensorView{out_type, outs[0].shape, y.data(), int_out ? &ro : nullptr}})
                  .ok());
  return y;
}

const KernelDef& ChainReference() {
  return QuantizedReferenceKernel(OpKind::kAvgPool2D);
}

TEST(Int8AvgPool2D, ReferenceKnownValues) {
  // 1x1x2x3 codes, zero point 2, scale 0.5; 2x2 windows, stride 1, pad 1 on
  // the right: centered [[0, 2, 4], [-2, 8, -130]].
  const Case c{1, 1, 2, 3, 2, 2, 1, 1, 0, 0, 0, 1, false, false};
  const std::vector<int8_t> x = {2, 4, 6, 0, 10, -128};
  const auto qi = Binding(0.5f, 2), qo = Binding(0.25f, -1);
  // Sums 8, -116 (4 values), -126 (2 values): means 1.0, -14.5, -31.5 ->
  // 4 - 1 = 3, -58 - 1 = -59, -126 - 1 = -127 (codes of scale 0.25, zero point -1).
  EXPECT_EQ(RunPool<int8_t>(ChainReference(), c, qi, qo, x, DataType::INT8), (std::vector<int8_t>{3, -59, -127}));
  EXPECT_EQ(RunPool<float>(ChainReference(), c, qi, qo, x, DataType::FLOAT32),
            (std::vector<float>{1.0f, -14.5f, -31.5f}));
  Case with_pad = c;
  with_pad.include_pad = true;  // the last window divides by 4: -126 * 0.5 / 4 = -15.75 -> -63 - 1
  EXPECT_EQ(RunPool<int8_t>(ChainReference(), with_pad, qi, qo, x, DataType::INT8)[2], -64);
}

TEST(Int8AvgPool2D, Avx2BitExactWithTheReference) {
  const KernelDef* fast = FindKernel(OpKind::kAvgPool2D, "avx2-int8");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const std::vector<Case> cases = {
      {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, false, false},     {1, 3, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, false, false},
      {1, 3, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, false, true},      {2, 5, 13, 29, 2, 2, 2, 2, 0, 0, 0, 0, false, false},
      {1, 2, 13, 29, 2, 2, 2, 2, 0, 0, 0, 0, true, true},     {1, 4, 11, 37, 3, 5, 3, 2, 2, 0, 1, 3, true, false},
      {1, 3, 6, 40, 2, 3, 2, 1, 0, 1, 0, 2, false, true},     {1, 2, 17, 75, 5, 5, 1, 1, 2, 2, 2, 2, false, false},
      {1, 1, 16, 16, 16, 16, 1, 1, 0, 0, 0, 0, false, false},  // 256 taps: sums past int16
  };
  struct Params {
    ir::QuantBinding in, out;
  };
  const std::vector<Params> params = {{Binding(0.02f, 0), Binding(0.02f, 0)},
                                      {Binding(0.02f, -128), Binding(0.05f, 127)},
                                      {Binding(0.05f, 127), Binding(0.011f, -128)},
                                      {Binding(0.1f, 3), Binding(0.001f, -4)},   // 100x: saturates
                                      {Binding(0.001f, -9), Binding(0.1f, 6)}};  // 1/100x
  std::mt19937 rng(41);
  int index = 0;
  for (const Case& c : cases) {
    std::vector<int8_t> x(static_cast<size_t>(c.n * c.c * c.h * c.w));
    for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    for (const Params& p : params) {
      const std::string what = "case " + std::to_string(index);
      EXPECT_EQ(RunPool<int8_t>(*fast, c, p.in, p.out, x, DataType::INT8),
                RunPool<int8_t>(ChainReference(), c, p.in, p.out, x, DataType::INT8))
          << what;
      const auto f = RunPool<float>(*fast, c, p.in, p.out, x, DataType::FLOAT32);
      const auto g = RunPool<float>(ChainReference(), c, p.in, p.out, x, DataType::FLOAT32);
      EXPECT_EQ(std::memcmp(f.data(), g.data(), f.size() * sizeof(float)), 0) << what;
    }
    ++index;
  }
}

}  // namespace
}  // namespace mixq::ops
