// The fast Activation kernel is bit-exact with the reference for the
// piecewise-linear kinds, on tails, NaN, +-inf, -0.0, denormals and extremes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

TEST(ActivationFast, BitExactWithTheReference) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {std::nanf(""), inf,      -inf,      -0.0f, 0.0f,      1e-40f, -1e-40f,
                          3.4e38f,       -3.4e38f, 5.999999f, 6.0f,  6.000001f, -0.5f,  0.25f};
  for (int i = 0; i < 37; ++i) x.push_back(std::sin(static_cast<float>(i)) * 9.0f);  // a tail of odd length
  struct Kind {
    const char* type;
    float alpha, beta;
  };
  const float unset = std::numeric_limits<float>::quiet_NaN();
  for (const Kind& k : {Kind{"relu", unset, unset}, Kind{"relu6", unset, unset}, Kind{"clip", -1.5f, 2.25f},
                        Kind{"clip", unset, 0.5f}, Kind{"leaky_relu", unset, unset}, Kind{"leaky_relu", 0.3f, unset},
                        Kind{"hard_swish", unset, unset}}) {  // sigmoid: cpu_avx2_float_test.cc
    SCOPED_TRACE(k.type);
    ir::AttrMap a;
    a.Set("type", std::string(k.type));
    a.Set("alpha", k.alpha);
    a.Set("beta", k.beta);
    std::vector<HostTensor> ref, fast;
    const HostTensor input = HostTensor::F32({static_cast<int64_t>(x.size())}, x);
    ASSERT_TRUE(RunOp(OpKind::kActivation, a, {input}, 1, &ref, KernelKind::kReference).ok());
    ASSERT_TRUE(RunOp(OpKind::kActivation, a, {input}, 1, &fast, KernelKind::kOptimized).ok());
    ASSERT_EQ(ref[0].bytes.size(), fast[0].bytes.size());
    EXPECT_EQ(std::memcmp(ref[0].bytes.data(), fast[0].bytes.data(), ref[0].bytes.size()), 0);
  }
}

}  // namespace
}  // namespace mixq::testing
