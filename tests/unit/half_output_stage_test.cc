// HalfOutputStage (ops/half_output_stage.h): the float16 output stage of the
// oneDNN convolutions rounds at every operator boundary (SPEC §5). For a
// chain of clamps it rounds once, at the store (rounding commutes with a
// clamp, see Apply); these tests hold it to the round-after-every-step
// formula, value by value, on the values where the two could part: NaN,
// infinities, overflow past 65504, subnormals, ties and values next to the
// bounds, float16 bounds or not.
#include "ops/half_output_stage.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu_features.h"
#include "ops/clamp.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

// The values to round: specials, edges of float16's range, near the bounds,
// and random ones over a wide range.
std::vector<float> Values(const std::vector<std::pair<float, float>>& bounds) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {0.0f,
                          -0.0f,
                          std::nanf(""),
                          -std::nanf(""),
                          inf,
                          -inf,
                          65504.0f,
                          65519.0f,
                          65520.0f,
                          7e4f,
                          -7e4f,
                          5.96e-8f,
                          2.98e-8f,
                          1e-10f,
                          -1e-10f,
                          1.0009765625f,
                          1.00048828125f /* a tie */,
                          -1.00048828125f,
                          2049.0f,
                          3.4e38f,
                          -3.4e38f};
  for (const auto& [lo, hi] : bounds)
    for (float b : {lo, hi})
      for (float d : {0.0f, 1e-4f, 1e-3f, 2e-3f, 4e-3f})
        for (float s : {-1.0f, 1.0f}) v.push_back(b + s * d);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> wide(-20.0f, 20.0f);
  for (int i = 0; i < 4000; ++i) v.push_back(wide(rng) * std::pow(2.0f, wide(rng) / 2.0f));
  return v;
}

// Each step as its own operator: round, clamp, ..., round.
uint16_t StepByStep(float v, const std::vector<std::pair<float, float>>& bounds) {
  for (const auto& [lo, hi] : bounds) v = ClampActivation(RoundToHalf(v), lo, hi);
  return FloatToHalf(v);
}

void ExpectStepByStep(const std::vector<std::pair<float, float>>& bounds) {
  std::vector<PostOp> post_ops;
  for (const auto& [lo, hi] : bounds) {
    PostOp op;
    op.activation = "clip";
    op.lo = lo;
    op.hi = hi;
    post_ops.push_back(op);
  }
  const std::vector<float> y = Values(bounds);
  const int64_t n = static_cast<int64_t>(y.size());
  ValueInfo x_info{DataType::FLOAT16, {n}, nullptr, nullptr, true};
  std::vector<ValueInfo> outs = {ValueInfo{DataType::FLOAT16, {n}, nullptr, nullptr, true}};
  ir::AttrMap attrs;
  KernelInit init(attrs, {&x_info}, outs, nullptr, &post_ops);
  ASSERT_TRUE(HalfOutputStage::Supports(init));
  const HalfOutputStage stage(init);
  std::vector<uint16_t> got(y.size());
  const std::vector<TensorView> in = {{DataType::FLOAT16, {n}, nullptr, nullptr}};
  const TensorView out{DataType::FLOAT16, {n}, got.data(), nullptr};
  // Two calls: an offset into the output, and a length with a scalar tail.
  const int64_t first = 13;
  stage.Apply(y.data(), first, 0, in, out);
  stage.Apply(y.data() + first, n - first, first, in, out);
  for (size_t i = 0; i < y.size(); ++i) {
    const uint16_t want = StepByStep(y[i], bounds);
    if (std::isnan(HalfToFloat(want))) {
      EXPECT_TRUE(std::isnan(HalfToFloat(got[i]))) << "value " << y[i];
      continue;
    }
    EXPECT_EQ(got[i], want) << "value " << y[i] << " at " << i;
  }
}

TEST(HalfOutputStage, ClampChainsRoundOnceAndMatchRoundingAfterEveryStep) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "the float16 stage needs AVX2 + F16C";
  const float inf = std::numeric_limits<float>::infinity();
  ExpectStepByStep({});                              // no post-op: the rounding store
  ExpectStepByStep({{0.0f, inf}});                   // relu
  ExpectStepByStep({{0.0f, 6.0f}});                  // relu6
  ExpectStepByStep({{-1.5f, 0.25f}, {0.0f, 6.0f}});  // two clips in a row
  // Bounds that are not float16 values: 6.001 and -0.3 sit inside a
  // rounding cell, 6.001953125 is the tie between 6.0 and 6.00390625.
  ExpectStepByStep({{0.0f, 6.001f}});
  ExpectStepByStep({{-0.3f, 6.001953125f}, {0.0f, 4.0f}});
}

}  // namespace
}  // namespace mixq::ops
