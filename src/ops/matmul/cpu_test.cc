// The oneDNN MatMul against the reference: transposes, 1-D operands, batch
// broadcasting on either side, constant and run-time b, odd sizes.
// Tolerance (float32): |opt - ref| <= (4 * K * 2^-24 + 1e-7) * max|a| * max|b|.
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

TEST(MatMulOneDnn, MatchesTheReference) {
  struct Case {
    ir::Shape a, b;
    int64_t ta, tb;
    bool constant_b;
    int64_t k;
  };
  const Case cases[] = {
      {{5, 7}, {7, 3}, 0, 0, true, 7},
      {{7, 5}, {3, 7}, 1, 1, false, 7},
      {{9}, {9, 4}, 0, 0, true, 9},
      {{6, 9}, {9}, 0, 0, false, 9},
      {{11}, {11}, 0, 0, false, 11},
      {{2, 1, 3, 4}, {5, 4, 6}, 0, 0, true, 4},
      {{3, 2, 4, 8}, {3, 2, 5, 8}, 0, 1, false, 8},
      {{4, 3, 17}, {17, 33}, 0, 0, true, 17},
      {{1, 6, 5}, {2, 1, 6, 5}, 1, 0, false, 6},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(ir::ShapeString(c.a) + " x " + ir::ShapeString(c.b));
    ir::AttrMap attrs;
    attrs.Set("transpose_a", c.ta);
    attrs.Set("transpose_b", c.tb);
    HostTensor b = HostTensor::F32(c.b, Values(c.b, 2));
    if (c.constant_b) b = b.Const();
    const std::vector<std::optional<HostTensor>> in = {HostTensor::F32(c.a, Values(c.a, 1)), b};
    std::vector<HostTensor> ref, opt;
    ASSERT_TRUE(RunOp(OpKind::kMatMul, attrs, in, 1, &ref, KernelKind::kReference).ok());
    Status s = RunOpWithKernel(OpKind::kMatMul, attrs, in, 1, &opt, "onednn");
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(ref[0].shape, opt[0].shape);
    const double bound = (4 * static_cast<double>(c.k) * std::ldexp(1.0, -24) + 1e-7) * 4.0;
    const auto r = ref[0].Floats(), o = opt[0].Floats();
    for (size_t i = 0; i < r.size(); ++i) ASSERT_NEAR(r[i], o[i], bound) << i;
  }
}

}  // namespace
}  // namespace mixq::testing
