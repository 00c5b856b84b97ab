// The oneDNN FullyConnected against the reference: weights [N, K] and [K, N],
// with and without a bias ([N] and [1, N]), odd sizes, a classifier head.
// Tolerance: (4 * K * 2^-24 + 1e-7) * max|a| * max|b| (float sums of K products), doubled for the bias.
#include <gtest/gtest.h>

#include <cmath>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

std::vector<float> Values(const ir::Shape& shape, int seed) {
  std::vector<float> v(static_cast<size_t>(ir::ElementCount(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<float>(i * 13 + seed * 101)) * 2.0f;
  return v;
}

TEST(FullyConnectedOneDnn, MatchesTheReference) {
  struct Case {
    int64_t m, k, n, tb;
    ir::Shape bias;
  };
  const Case cases[] = {
      {1, 1280, 1000, 1, {1000}},
      {5, 7, 3, 1, {}},
      {4, 33, 17, 0, {1, 17}},
      {3, 9, 21, 1, {21}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.m) + "x" + std::to_string(c.k) + "x" + std::to_string(c.n));
    ir::AttrMap attrs;
    attrs.Set("transpose_b", c.tb);
    const ir::Shape b_shape = c.tb ? ir::Shape{c.n, c.k} : ir::Shape{c.k, c.n};
    std::vector<std::optional<HostTensor>> in = {HostTensor::F32({c.m, c.k}, Values({c.m, c.k}, 1)),
                                                 HostTensor::F32(b_shape, Values(b_shape, 2)).Const()};
    if (!c.bias.empty()) in.push_back(HostTensor::F32(c.bias, Values(c.bias, 3)).Const());
    std::vector<HostTensor> ref, opt;
    ASSERT_TRUE(RunOp(OpKind::kFullyConnected, attrs, in, 1, &ref, KernelKind::kReference).ok());
    Status s = RunOpWithKernel(OpKind::kFullyConnected, attrs, in, 1, &opt, "onednn");
    ASSERT_TRUE(s.ok()) << s.ToString();
    const double bound = (4 * static_cast<double>(c.k) * std::ldexp(1.0, -24) + 1e-7) * 4.0 * 2.0;
    const auto r = ref[0].Floats(), o = opt[0].Floats();
    ASSERT_EQ(r.size(), o.size());
    for (size_t i = 0; i < r.size(); ++i) ASSERT_NEAR(r[i], o[i], bound) << i;
  }
}

}  // namespace
}  // namespace mixq::testing
