// BatchNorm "avx2" (float32) against the reference, bit for bit: NCHW rows
// with vector tails, channel-last rows, several outer blocks, extreme
// statistics (a variance of 0 with epsilon 0: infinite inv_std; huge and
// tiny values; NaN and infinity in the input).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "kernels/cpu_features.h"
#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

HostTensor Stats(const std::vector<float>& v) {
  return HostTensor::F32({static_cast<int64_t>(v.size())}, v).Const();
}

TEST(BatchNormAvx2, BitIdenticalWithTheReference) {
  // The CPU's AVX2, and an ISA cap (MIXQ_MAX_ISA) that leaves it to the kernels.
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2 (or MIXQ_MAX_ISA below it)";
  struct Case {
    ir::Shape shape;
    int64_t axis;
    float epsilon;
  };
  const Case cases[] = {
      {{1, 24, 13, 11}, 1, 1e-5f},  // 143 per row: 35 vectors and a tail of 3
      {{2, 5, 4, 4}, 1, 1e-3f},     // two outer blocks, rows of 16
      {{3, 7, 9}, 1, 0.0f},         // epsilon 0 with a zero variance: inv_std infinite
      {{1, 6, 5, 8}, -1, 1e-5f},    // channels last: rows of one value (the scalar tail alone)
  };
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  int ran = 0;
  for (const Case& c : cases) {
    const int64_t channels = c.shape[static_cast<size_t>(c.axis < 0 ? c.shape.size() - 1 : c.axis)];
    std::vector<float> x(static_cast<size_t>(ir::ElementCount(c.shape)));
    for (auto& v : x) v = u(rng);
    x[0] = nan;
    x[1] = inf;
    x[2] = -inf;
    x[3] = 3.0e38f;
    x[4] = 1.0e-40f;  // subnormal
    std::vector<float> mean(static_cast<size_t>(channels)), var(mean.size()), scale(mean.size()), bias(mean.size());
    for (size_t k = 0; k < mean.size(); ++k) {
      mean[k] = u(rng);
      var[k] = std::abs(u(rng)) * 2.0f;
      scale[k] = u(rng);
      bias[k] = u(rng);
    }
    var[0] = 0.0f;
    ir::AttrMap a;
    a.Set("epsilon", c.epsilon);
    a.Set("axis", c.axis);
    const std::vector<std::optional<HostTensor>> in = {HostTensor::F32(c.shape, x), Stats(mean), Stats(var),
                                                       Stats(scale), Stats(bias)};
    std::vector<HostTensor> fast, ref;
    // Channels last (rows of one value) is left to the reference by `supports`; made anyway, it computes the same.
    const Status status = RunOpWithKernel(OpKind::kBatchNorm, a, in, 1, &fast, "avx2");
    ASSERT_TRUE(status.ok()) << status.ToString();
    ASSERT_TRUE(RunOp(OpKind::kBatchNorm, a, in, 1, &ref).ok());
    const auto got = fast[0].Floats(), want = ref[0].Floats();
    ASSERT_EQ(got.size(), want.size());
    EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float))) << ir::ShapeString(c.shape);
    ++ran;
  }
  EXPECT_EQ(ran, 4);
}

}  // namespace
}  // namespace mixq::testing
