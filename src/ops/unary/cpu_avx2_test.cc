// The AVX2 Unary erf (cpu_avx2.cc) against the reference (double erf):
// every 1024th float in [-10, 10], the specials (+-inf -> +-1, NaN, +-0,
// denormals, +-100) at every vector tail position, within the tolerance the
// kernel file states; prints the largest relative error it measured.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <limits>

#include "ops/kernel_registry.h"
#include "test_util/float_kernel_run.h"

namespace mixq::ops {
namespace {

std::vector<float> RunErf(const KernelDef& def, const std::vector<float>& x) {
  ir::AttrMap attrs;
  attrs.Set("op", std::string("erf"));
  const ir::Shape shape = {static_cast<int64_t>(x.size())};
  return test_util::RunFloatKernel(def, attrs, shape, x);
}

TEST(UnaryAvx2, ErfWithinTheStatedToleranceOfTheReference) {
  const KernelDef* fast = FindKernel(OpKind::kUnary, "avx2-fma");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2 || kernels::BestIsa() < kernels::Isa::kAvx2)
    GTEST_SKIP() << "no AVX2+FMA";
  const KernelDef& ref = ReferenceKernel(OpKind::kUnary);
  {  // sqrt is not taken
    ir::AttrMap attrs;
    attrs.Set("op", std::string("sqrt"));
    ValueInfo xi{DataType::FLOAT32, {4}, nullptr, nullptr, false};
    std::vector<ValueInfo> outs = {xi};
    std::vector<const ValueInfo*> ins = {&xi};
    EXPECT_FALSE(fast->supports(KernelInit(attrs, ins, outs)));
  }
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x;
  for (int tail = 0; tail < 8; ++tail) {
    for (float v : {std::nanf(""), inf, -inf, 0.0f, -0.0f, 1e-40f, -1e-40f, 100.0f, -100.0f, 0.921875f, -3.925f})
      x.push_back(v);
    x.resize(x.size() + static_cast<size_t>(tail), 0.3f);
  }
  for (uint32_t bits = 0; bits < 0x41200000u; bits += 1024)  // 0 .. 10
    for (uint32_t sign : {0u, 0x80000000u}) {
      float v;
      const uint32_t b = bits | sign;
      std::memcpy(&v, &b, sizeof v);
      x.push_back(v);
    }
  const auto got = RunErf(*fast, x), want = RunErf(ref, x);
  double worst = 0;
  int failures = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << x[i];
      continue;
    }
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (std::fabs(want[i]) >= 1.2e-38) worst = std::max(worst, err / std::fabs(want[i]));
    if (!(err <= 4e-7 * std::fabs(want[i]) + 3e-45) && failures++ < 5)
      ADD_FAILURE() << "x = " << x[i] << " got " << got[i] << " want " << want[i];
  }
  std::cout << "erf: largest relative error (normal results) " << worst << " over " << x.size() << " values\n";
}

}  // namespace
}  // namespace mixq::ops
