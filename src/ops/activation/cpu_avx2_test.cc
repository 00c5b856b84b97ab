// The AVX2 clamp of relu / relu6 / clip on INT8 / INT16 integers against the
// reference: every int8 code and a spread of int16 codes, vector tails, zero
// points at both ends; leaky_relu (not a clamp) is not taken.
#include <gtest/gtest.h>

#include <limits>

#include "ops/kernel_registry.h"

namespace mixq::ops {
namespace {

template <typename T>
std::vector<T> RunClamp(const KernelDef& def, const ir::AttrMap& attrs, const ir::QuantBinding& q,
                        const std::vector<T>& x, DataType type) {
  const ir::Shape shape = {static_cast<int64_t>(x.size())};
  ValueInfo xi{type, shape, nullptr, &q, true};
  std::vector<ValueInfo> outs = {xi};
  std::vector<const ValueInfo*> ins = {&xi};
  KernelInit init(attrs, ins, outs);
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def.make(init, &kernel).ok());
  std::vector<T> y(x.size());
  RunQuant rq{q.scales[0], q.zero_points[0]};
  EXPECT_TRUE(
      kernel->Run({TensorView{type, shape, const_cast<T*>(x.data()), &rq}}, {TensorView{type, shape, y.data(), &rq}})
          .ok());
  return y;
}

TEST(ActivationAvx2, IntegerClampIsTheReference) {
  const KernelDef* fast = FindKernel(OpKind::kActivation, "avx2");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const KernelDef& ref = ReferenceKernel(OpKind::kActivation);
  std::vector<int8_t> x8;
  for (int v = -128; v <= 127; ++v) x8.push_back(static_cast<int8_t>(v));
  x8.push_back(5);  // a tail past the vectors
  std::vector<int16_t> x16;
  for (int v = -32768; v <= 32767; v += 97) x16.push_back(static_cast<int16_t>(v));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct Type {
    const char* name;
    float alpha, beta;
  };
  for (int32_t zp : {-128, -7, 0, 100, 127})
    for (const Type& t : {Type{"relu", nan, nan}, Type{"relu6", nan, nan}, Type{"clip", -0.3f, 0.9f},
                          Type{"clip", nan, 2.0f}, Type{"leaky_relu", nan, nan}}) {
      SCOPED_TRACE(std::string(t.name) + " zp " + std::to_string(zp));
      ir::AttrMap attrs;
      attrs.Set("type", std::string(t.name));
      attrs.Set("alpha", t.alpha);
      attrs.Set("beta", t.beta);
      for (int bits : {8, 16}) {
        ir::QuantBinding q;
        q.bits = bits;
        q.scales = {bits == 8 ? 0.05f : 0.0005f};
        q.zero_points = {bits == 8 ? zp : zp * 200};
        const DataType type = bits == 8 ? DataType::INT8 : DataType::INT16;
        ValueInfo xi{type, {4}, nullptr, &q, true};
        std::vector<ValueInfo> outs = {xi};
        std::vector<const ValueInfo*> ins = {&xi};
        const bool taken = fast->supports(KernelInit(attrs, ins, outs));
        EXPECT_EQ(taken, std::string(t.name) != "leaky_relu");
        if (!taken) continue;
        if (bits == 8)
          EXPECT_EQ(RunClamp(*fast, attrs, q, x8, type), RunClamp(ref, attrs, q, x8, type));
        else
          EXPECT_EQ(RunClamp(*fast, attrs, q, x16, type), RunClamp(ref, attrs, q, x16, type));
      }
    }
}

}  // namespace
}  // namespace mixq::ops
