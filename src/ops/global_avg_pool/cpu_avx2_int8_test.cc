// The int8 GlobalAvgPool of an integer chain (ops/int8_chain.h): the chain
// reference against hand-computed values, and avx2-int8 against it bit for
// bit, NCHW and NHWC, planes of 1 to 4097 pixels (vector tails), 1 to 13
// channels, zero points at -128 and 127, 100x scale ratios, saturation, int8
// and float32 outputs.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "ops/int8_chain.h"
#include "ops/kernel_registry.h"

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

template <typename Out>
std::vector<Out> RunPool(const KernelDef& def, const std::string& layout, const ir::Shape& shape,
                         const ir::QuantBinding& qi, const ir::QuantBinding& qo, const std::vector<int8_t>& x,
                         DataType out_type) {
  ir::AttrMap attrs;
  attrs.Set("layout", layout);
  const bool int_out = out_type == DataType::INT8;
  const ir::Shape out_shape =
      layout == "NCHW" ? ir::Shape{shape[0], shape[1], 1, 1} : ir::Shape{shape[0], 1, 1, shape[3]};
  std::vector<ValueInfo> outs = {ValueInfo{out_type, out_shape, nullptr, int_out ? &qo : nullptr, int_out}};
  ValueInfo xi{DataType::INT8, shape, nullptr, &qi, true};
  std::vector<const ValueInfo*> ins = {&xi};
  const std::vector<DataType> compute = {DataType::QINT8};
  KernelInit init(attrs, ins, outs, &compute);
  EXPECT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def.make(init, &kernel).ok()) << def.name;
  std::vector<Out> y(static_cast<size_t>(ir::ElementCount(out_shape)));
  if (!kernel) return y;
  RunQuant ri{qi.scales[0], qi.zero_points[0]}, ro{qo.scales[0], qo.zero_points[0]};
  EXPECT_TRUE(kernel
                  ->Run({TensorView{DataType::INT8, shape, const_cast<int8_t*>(x.data()), &ri}},
                        {TensorView{out_type, out_shape, y.data(), int_out ? &ro : nullptr}})
                  .ok());
  return y;
}

const KernelDef& ChainReference() {
  return QuantizedReferenceKernel(OpKind::kGlobalAvgPool);
}

TEST(Int8GlobalAvgPool, ReferenceKnownValues) {
  // NCHW 1x2x1x3, zero point -128, scale 0.1: channel 0 codes -128, -127, 127
  // (centered 0, 1, 255: mean 25.6 -> 256 / 3 * 0.1 = 8.533...), channel 1 all -128 (0).
  const auto qi = Binding(0.1f, -128), qo = Binding(0.05f, 10);
  const std::vector<int8_t> x = {-128, -127, 127, -128, -128, -128};
  // 8.5333 / 0.05 = 170.67 -> 171 + 10 saturates at 127; 0 -> 10.
  EXPECT_EQ(RunPool<int8_t>(ChainReference(), "NCHW", {1, 2, 1, 3}, qi, qo, x, DataType::INT8),
            (std::vector<int8_t>{127, 10}));
  const auto f = RunPool<float>(ChainReference(), "NCHW", {1, 2, 1, 3}, qi, qo, x, DataType::FLOAT32);
  EXPECT_FLOAT_EQ(f[0], 256.0f * 0.1f / 3.0f);
  EXPECT_EQ(f[1], 0.0f);
  const auto q = Binding(0.1f, 0);
  EXPECT_EQ(RunPool<int8_t>(ChainReference(), "NCHW", {1, 2, 1, 3}, qi, q, x, DataType::INT8),
            (std::vector<int8_t>{85, 0}));
}

TEST(Int8GlobalAvgPool, Avx2BitExactWithTheReference) {
  const KernelDef* fast = FindKernel(OpKind::kGlobalAvgPool, "avx2-int8");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  struct Params {
    ir::QuantBinding in, out;
  };
  const std::vector<Params> params = {{Binding(0.02f, 0), Binding(0.02f, 0)},
                                      {Binding(0.02f, -128), Binding(0.05f, 127)},
                                      {Binding(0.05f, 127), Binding(0.011f, -128)},
                                      {Binding(0.1f, 3), Binding(0.001f, -4)},
                                      {Binding(0.001f, -9), Binding(0.1f, 6)}};
  std::mt19937 rng(43);
  for (const std::string layout : {"NCHW", "NHWC"})
    for (auto [h, w] : {std::pair<int64_t, int64_t>{1, 1}, {3, 5}, {8, 8}, {17, 241}, {1, 4097}})
      for (int64_t c : {1, 5, 8, 13}) {
        const ir::Shape shape = layout == "NCHW" ? ir::Shape{2, c, h, w} : ir::Shape{2, h, w, c};
        std::vector<int8_t> x(static_cast<size_t>(ir::ElementCount(shape)));
        for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
        if (c > 1)  // a channel of only 127 (the largest sums)
          for (size_t i = 0; i < x.size(); ++i)
            if ((layout == "NCHW" ? (i / static_cast<size_t>(h * w)) % static_cast<size_t>(c)
                                  : i % static_cast<size_t>(c)) == 1)
              x[i] = 127;
        for (const Params& p : params) {
          const std::string what =
              layout + " " + std::to_string(h) + "x" + std::to_string(w) + " c " + std::to_string(c);
          EXPECT_EQ(RunPool<int8_t>(*fast, layout, shape, p.in, p.out, x, DataType::INT8),
                    RunPool<int8_t>(ChainReference(), layout, shape, p.in, p.out, x, DataType::INT8))
              << what;
          const auto f = RunPool<float>(*fast, layout, shape, p.in, p.out, x, DataType::FLOAT32);
          const auto g = RunPool<float>(ChainReference(), layout, shape, p.in, p.out, x, DataType::FLOAT32);
          EXPECT_EQ(std::memcmp(f.data(), g.data(), f.size() * sizeof(float)), 0) << what;
        }
      }
}

}  // namespace
}  // namespace mixq::ops
