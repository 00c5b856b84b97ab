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
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu_features.h"
#include "ops/activation/smooth_loop.h"
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

// A chain that does not commute with rounding: hard_swish, * c, + c, + a
// float16 tensor, leaky_relu and a clip, each applied to the previous step's
// float16 output (or, into a FLOAT32 output, to the unrounded value), value
// by value against the separate steps' formulas. Long enough for several
// op-by-op chunks, with a scalar tail.
float StepOp(const PostOp& op, float v, float addend) {
  if (op.kind == PostOp::Kind::kScalar) return op.activation == "mul" ? v * op.lo : v + op.lo;
  if (op.kind == PostOp::Kind::kAdd) return v + addend;
  if (op.activation == "hard_swish") {
    const double x = v, t = x / 6.0 + 0.5;
    return static_cast<float>(x * (t < 0 ? 0.0 : t > 1 ? 1.0 : t));
  }
  if (op.activation == "leaky_relu") return v < 0.0f ? op.lo * v : v;
  return ClampActivation(v, op.lo, op.hi);
}

void ExpectChainStepByStep(bool out_half, kernels::Isa isa) {
  std::vector<PostOp> post_ops(6);
  post_ops[0].activation = "hard_swish";
  post_ops[1].kind = PostOp::Kind::kScalar;
  post_ops[1].activation = "mul";
  post_ops[1].lo = 0.3711f;
  post_ops[2].kind = PostOp::Kind::kScalar;
  post_ops[2].activation = "add";
  post_ops[2].lo = -0.0917f;
  post_ops[3].kind = PostOp::Kind::kAdd;
  post_ops[3].input = 1;
  post_ops[4].activation = "leaky_relu";
  post_ops[4].lo = 0.1f;
  post_ops[5].activation = "clip";
  post_ops[5].lo = -2.5f;
  post_ops[5].hi = 6.0f;
  std::vector<float> y = Values({{-3.0f, 3.0f}});
  y.resize(4101, 0.0f);  // 8 chunks of 512 and a tail of 5
  for (size_t i = 0; i < y.size(); ++i)
    if (y[i] == 0.0f) y[i] = static_cast<float>(i % 97) * 0.0731f - 3.5f;
  const int64_t n = static_cast<int64_t>(y.size());
  std::vector<uint16_t> addend(y.size());
  for (size_t i = 0; i < y.size(); ++i) addend[i] = FloatToHalf(static_cast<float>(i % 13) * 0.173f - 1.0f);
  const DataType out_type = out_half ? DataType::FLOAT16 : DataType::FLOAT32;
  ValueInfo x_info{DataType::FLOAT16, {n}, nullptr, nullptr, true};
  ValueInfo a_info{DataType::FLOAT16, {n}, nullptr, nullptr, true};
  std::vector<ValueInfo> outs = {ValueInfo{out_type, {n}, nullptr, nullptr, out_half}};
  ir::AttrMap attrs;
  const std::vector<const ValueInfo*> inputs = {&x_info, &a_info};  // KernelInit keeps a reference
  KernelInit init(attrs, inputs, outs, nullptr, &post_ops);
  ASSERT_TRUE(HalfOutputStage::Supports(init));
  const HalfOutputStage stage(init, isa);
  std::vector<uint16_t> got16(y.size());
  std::vector<float> got32(y.size());
  const std::vector<TensorView> in = {{DataType::FLOAT16, {n}, nullptr, nullptr},
                                      {DataType::FLOAT16, {n}, addend.data(), nullptr}};
  const TensorView out{out_type, {n}, out_half ? static_cast<void*>(got16.data()) : got32.data(), nullptr};
  const int64_t first = 1029;
  stage.Apply(y.data(), first, 0, in, out);
  stage.Apply(y.data() + first, n - first, first, in, out);
  for (size_t i = 0; i < y.size(); ++i) {
    float v = y[i];
    for (const PostOp& op : post_ops) v = StepOp(op, out_half ? RoundToHalf(v) : v, HalfToFloat(addend[i]));
    const float want = out_half ? HalfToFloat(FloatToHalf(v)) : v;
    const float have = out_half ? HalfToFloat(got16[i]) : got32[i];
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(have)) << "value " << y[i];
      continue;
    }
    ASSERT_EQ(std::signbit(have), std::signbit(want)) << "value " << y[i] << " at " << i;
    ASSERT_EQ(have, want) << "value " << y[i] << " at " << i;
  }
}

TEST(HalfOutputStage, ChainsThatDoNotCommuteRoundBetweenTheSteps) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "the float16 stage needs AVX2 + F16C";
  // Both forms of the hard_swish pass: AVX2 on every machine, AVX-512 where
  // the CPU has it.
  for (kernels::Isa isa : {kernels::Isa::kAvx2, kernels::Isa::kAvx512}) {
    if (isa > kernels::BestIsa()) continue;
    SCOPED_TRACE(isa == kernels::Isa::kAvx2 ? "AVX2" : "AVX-512");
    ExpectChainStepByStep(/*out_half=*/true, isa);
    ExpectChainStepByStep(/*out_half=*/false, isa);
  }
}

// A residual add then a clamp (ResNet's add + ReLU, and a clip), into
// float16, in registers (the chain skips the rounding before a clamp): the
// specials, float16's range edges and ties of Values, each plus addends of
// both signs and both ends of float16's range, against the separate steps.
TEST(HalfOutputStage, ResidualAddThenClampMatchesTheSeparateSteps) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "the float16 stage needs AVX2 + F16C";
  const float inf = std::numeric_limits<float>::infinity();
  for (kernels::Isa isa : {kernels::Isa::kAvx2, kernels::Isa::kAvx512}) {
    if (isa > kernels::BestIsa()) continue;
    for (const auto& [lo, hi] : {std::pair{0.0f, inf}, std::pair{-1.0f, 6.0f}}) {
      SCOPED_TRACE(std::string(isa == kernels::Isa::kAvx2 ? "AVX2" : "AVX-512") + " clamp " + std::to_string(lo));
      std::vector<PostOp> post_ops(2);
      post_ops[0].kind = PostOp::Kind::kAdd;
      post_ops[0].input = 1;
      post_ops[1].activation = "clip";
      post_ops[1].lo = lo;
      post_ops[1].hi = hi;
      const std::vector<float> base = Values({{lo, hi}});
      std::vector<float> y;
      std::vector<uint16_t> addend;
      for (float a : {0.0f, -0.0f, 0.5f, -1.0f, 3.0f, 65504.0f, -65504.0f, 0.00048828125f, inf})
        for (float v : base) {
          y.push_back(v);
          addend.push_back(FloatToHalf(a));
        }
      const int64_t n = static_cast<int64_t>(y.size());
      ValueInfo x_info{DataType::FLOAT16, {n}, nullptr, nullptr, true};
      ValueInfo a_info{DataType::FLOAT16, {n}, nullptr, nullptr, true};
      std::vector<ValueInfo> outs = {ValueInfo{DataType::FLOAT16, {n}, nullptr, nullptr, true}};
      ir::AttrMap attrs;
      const std::vector<const ValueInfo*> inputs = {&x_info, &a_info};
      KernelInit init(attrs, inputs, outs, nullptr, &post_ops);
      ASSERT_TRUE(HalfOutputStage::Supports(init));
      const HalfOutputStage stage(init, isa);
      std::vector<uint16_t> got(y.size());
      const std::vector<TensorView> in = {{DataType::FLOAT16, {n}, nullptr, nullptr},
                                          {DataType::FLOAT16, {n}, addend.data(), nullptr}};
      stage.Apply(y.data(), n, 0, in, TensorView{DataType::FLOAT16, {n}, got.data(), nullptr});
      int compared = 0;
      for (size_t i = 0; i < y.size(); ++i) {
        float v = y[i];
        for (const PostOp& op : post_ops) v = StepOp(op, RoundToHalf(v), HalfToFloat(addend[i]));
        const uint16_t want = FloatToHalf(v);
        if (std::isnan(HalfToFloat(want))) {
          EXPECT_TRUE(std::isnan(HalfToFloat(got[i]))) << "value " << y[i] << " + " << HalfToFloat(addend[i]);
          continue;
        }
        ASSERT_EQ(got[i], want) << "value " << y[i] << " + " << HalfToFloat(addend[i]) << " at " << i;
        ++compared;
      }
      EXPECT_GT(compared, 30000);
    }
  }
}

// A unary chain (hard_swish, * c, + c, leaky_relu, clip) into float16
// outputs of 65536 elements or more runs, where the chain is 8 lanes wide,
// as one table of the float16
// rounding of y: bit for bit what the passes give (a stage over a small
// output, which does not tabulate) and the step-by-step formulas, on every
// float16 value, the specials and float32 values between them, with tails.
TEST(HalfOutputStage, UnaryChainsOnLargeOutputsAreOneTableWithTheSameBits) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "the float16 stage needs AVX2 + F16C";
  std::vector<PostOp> post_ops(5);
  post_ops[0].activation = "hard_swish";
  post_ops[1].kind = PostOp::Kind::kScalar;
  post_ops[1].activation = "mul";
  post_ops[1].lo = 1.3711f;
  post_ops[2].kind = PostOp::Kind::kScalar;
  post_ops[2].activation = "add";
  post_ops[2].lo = -0.0917f;
  post_ops[3].activation = "leaky_relu";
  post_ops[3].lo = 0.1f;
  post_ops[4].activation = "clip";
  post_ops[4].lo = -2.5f;
  post_ops[4].hi = 6.0f;
  std::vector<float> y = Values({{-2.5f, 6.0f}});
  for (uint32_t h = 0; h < 65536; ++h) y.push_back(HalfToFloat(static_cast<uint16_t>(h)));
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> real(-9.0f, 9.0f);
  for (int i = 0; i < 20003; ++i) y.push_back(real(rng));  // between float16 values, and a tail
  const int64_t n = static_cast<int64_t>(y.size());
  auto stage_of = [&](int64_t elements, kernels::Isa isa = kernels::BestIsa()) {
    ValueInfo x_info{DataType::FLOAT16, {elements}, nullptr, nullptr, true};
    std::vector<ValueInfo> outs = {ValueInfo{DataType::FLOAT16, {elements}, nullptr, nullptr, true}};
    ir::AttrMap attrs;
    const std::vector<const ValueInfo*> inputs = {&x_info};
    return std::make_unique<HalfOutputStage>(KernelInit(attrs, inputs, outs, nullptr, &post_ops), isa);
  };
  kernels::SetGatherTablesForTesting(0);  // as on AMD: no table even for a large output
  const auto large_without_gathers = stage_of(n);
  kernels::SetGatherTablesForTesting(1);
  // The table serves 8-lane chains; a chain the 16-lane registers run is
  // not tabulated (faster than the gathers on an Intel Xeon).
  const auto table = stage_of(n, kernels::Isa::kAvx2), passes = stage_of(4096);
  const auto large_avx512 = stage_of(n);
  kernels::SetGatherTablesForTesting(-1);
  ASSERT_FALSE(large_without_gathers->Tabulated());
  ASSERT_TRUE(table->Tabulated());
  ASSERT_FALSE(passes->Tabulated());
  ASSERT_EQ(large_avx512->Tabulated(), kernels::BestIsa() < kernels::Isa::kAvx512);
  // Without the table the chain runs in registers: 16 lanes on AVX-512
  // machines, 8 on AVX2 (both forms checked where the CPU has AVX-512).
  const auto passes_avx2 = stage_of(4096, kernels::Isa::kAvx2);
  std::vector<uint16_t> by_table(y.size()), by_passes(y.size()), by_avx2(y.size());
  const int64_t first = 70001;  // two calls, each with a tail
  for (auto [stage, got] : {std::pair{table.get(), &by_table}, std::pair{passes.get(), &by_passes},
                            std::pair{passes_avx2.get(), &by_avx2}}) {
    const TensorView out{DataType::FLOAT16, {n}, got->data(), nullptr};
    stage->Apply(y.data(), first, 0, {}, out);
    stage->Apply(y.data() + first, n - first, first, {}, out);
  }
  for (size_t i = 0; i < y.size(); ++i) {
    ASSERT_EQ(by_table[i], by_passes[i]) << "value " << y[i] << " at " << i;
    ASSERT_EQ(by_avx2[i], by_passes[i]) << "value " << y[i] << " at " << i;
    float v = y[i];
    for (const PostOp& op : post_ops) v = StepOp(op, RoundToHalf(v), 0.0f);
    const float want = HalfToFloat(FloatToHalf(v)), have = HalfToFloat(by_table[i]);
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(have)) << "value " << y[i];
      continue;
    }
    ASSERT_EQ(std::signbit(have), std::signbit(want)) << "value " << y[i] << " at " << i;
    ASSERT_EQ(have, want) << "value " << y[i] << " at " << i;
  }
}

// Chains in AVX512-FP16 arithmetic (HalfChainFp16, where the CPU has it):
// the same bits as the float32 register form (NaN: a NaN), and
// the step-by-step formulas, over every float16 value, the specials and
// values between float16 values, with addends through every float16 value.
// Constants and clamp bounds float16 values or not (those ops stay float32),
// float16 and float32 addends, an addend first, hard_swish and leaky_relu
// between float16 ops.
TEST(HalfOutputStage, Float16ArithmeticChainsGiveTheFloat32FormsBits) {
  if (!kernels::DetectedCpuFeatures().avx512fp16 || kernels::BestIsa() < kernels::Isa::kAvx512)
    GTEST_SKIP() << "no AVX512-FP16 (or MIXQ_MAX_ISA below AVX-512)";
  auto scalar = [](const char* what, float c) {
    PostOp op;
    op.kind = PostOp::Kind::kScalar;
    op.activation = what;
    op.lo = c;
    return op;
  };
  auto activation = [](const char* what, float lo = 0.0f, float hi = 0.0f) {
    PostOp op;
    op.activation = what;
    op.lo = lo;
    op.hi = hi;
    return op;
  };
  auto add = [](bool first) {
    PostOp op;
    op.kind = PostOp::Kind::kAdd;
    op.input = 1;
    op.add_first = first;
    return op;
  };
  const float inf = std::numeric_limits<float>::infinity();
  struct Chain {
    std::vector<PostOp> ops;
    bool half_addend;
  };
  const std::vector<Chain> chains = {
      // PP-OCR's hard_swish, * scale, + bias (float16 constants).
      {{activation("hard_swish"), scalar("mul", RoundToHalf(0.0437622f)), scalar("add", RoundToHalf(5.63e-5f))}, true},
      // ResNet's residual add then ReLU.
      {{add(false), activation("clip", 0.0f, inf)}, true},
      {{scalar("mul", 1.5f), activation("clip", -2.5f, 6.0f), scalar("add", -0.0917f), activation("leaky_relu", 0.1f),
        scalar("mul", 0.3711f), activation("clip", -0.3f, 5.1f), add(true), scalar("add", -1.0f)},
       true},
      {{scalar("add", 0.125f), activation("hard_swish"), add(false), scalar("mul", -3.0f)}, false},
      // The addend first (two NaNs: its payload), and a clamp of float16
      // values to bounds that are not float16 values.
      {{scalar("mul", 2.0f), add(true)}, true},
      {{scalar("mul", 2.0f), activation("clip", -0.3f, 5.1f)}, true},
  };
  std::vector<float> y = Values({{-2.5f, 6.0f}, {-0.3f, 5.1f}});
  for (uint32_t h = 0; h < 65536; ++h) y.push_back(HalfToFloat(static_cast<uint16_t>(h)));
  std::mt19937 rng(29);
  std::uniform_real_distribution<float> real(-9.0f, 9.0f);
  for (int i = 0; i < 20011; ++i) y.push_back(real(rng));
  const int64_t n = static_cast<int64_t>(y.size());
  std::vector<uint16_t> addend16(y.size());
  std::vector<float> addend32(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    addend16[i] = static_cast<uint16_t>(i * 7919 % 65536);
    addend32[i] = i % 3 == 0 ? real(rng) : HalfToFloat(addend16[i]);
  }
  for (size_t c = 0; c < chains.size(); ++c) {
    SCOPED_TRACE("chain " + std::to_string(c));
    const Chain& chain = chains[c];
    ValueInfo x_info{DataType::FLOAT16, {n}, nullptr, nullptr, true};
    ValueInfo a_info{
        chain.half_addend ? DataType::FLOAT16 : DataType::FLOAT32, {n}, nullptr, nullptr, chain.half_addend};
    std::vector<ValueInfo> outs = {ValueInfo{DataType::FLOAT16, {n}, nullptr, nullptr, true}};
    ir::AttrMap attrs;
    const std::vector<const ValueInfo*> inputs = {&x_info, &a_info};
    const KernelInit init(attrs, inputs, outs, nullptr, &chain.ops);
    ASSERT_TRUE(HalfOutputStage::Supports(init));
    kernels::SetFloat16ArithmeticForTesting(1);
    const HalfOutputStage fp16(init);
    kernels::SetFloat16ArithmeticForTesting(0);
    const HalfOutputStage fp32(init);
    kernels::SetFloat16ArithmeticForTesting(-1);
    ASSERT_TRUE(fp16.RunsFloat16Arithmetic());
    ASSERT_FALSE(fp32.RunsFloat16Arithmetic());
    const TensorView a{a_info.dtype,
                       {n},
                       chain.half_addend ? static_cast<void*>(addend16.data()) : static_cast<void*>(addend32.data()),
                       nullptr};
    const std::vector<TensorView> in = {{DataType::FLOAT16, {n}, nullptr, nullptr}, a};
    std::vector<uint16_t> got16(y.size()), got32(y.size());
    const int64_t first = 50003;  // two calls, each with a tail
    for (auto [stage, got] : {std::pair{&fp16, &got16}, std::pair{&fp32, &got32}}) {
      const TensorView out{DataType::FLOAT16, {n}, got->data(), nullptr};
      stage->Apply(y.data(), first, 0, in, out);
      stage->Apply(y.data() + first, n - first, first, in, out);
    }
    for (size_t i = 0; i < y.size(); ++i) {
      // NaN stays NaN; its payload is not held (with two NaNs it is the
      // first operand's, and the compiler may swap the float32 form's +).
      if (std::isnan(HalfToFloat(got32[i]))) {
        ASSERT_TRUE(std::isnan(HalfToFloat(got16[i]))) << "value " << y[i] << " at " << i;
        continue;
      }
      ASSERT_EQ(got16[i], got32[i]) << "value " << y[i] << " at " << i;
      float v = y[i];
      const float addend = chain.half_addend ? HalfToFloat(addend16[i]) : addend32[i];
      for (const PostOp& op : chain.ops)
        v = op.kind == PostOp::Kind::kAdd && op.add_first ? addend + RoundToHalf(v)
                                                          : StepOp(op, RoundToHalf(v), addend);
      const float want = HalfToFloat(FloatToHalf(v)), have = HalfToFloat(got16[i]);
      if (std::isnan(want)) {
        ASSERT_TRUE(std::isnan(have)) << "value " << y[i] << " at " << i;
        continue;
      }
      ASSERT_EQ(FloatToHalf(have), FloatToHalf(want)) << "value " << y[i] << " + " << addend << " at " << i;
    }
  }
}

// A fused GELU (gelu_erf, gelu_tanh: BERT's FFN product on float16
// storage) gives the separate float16 Activation step's bits: the product
// rounded to float16, the float32 Activation kernel's own loop, rounded
// again; with a residual add before it (passes, no table), as one table on
// a large output, and into float32 (no roundings), over every float16 value
// and values between them, with tails. Near a double-precision GELU too.
TEST(HalfOutputStage, FusedGeluGivesTheSeparateStepsBits) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2 || !kernels::DetectedCpuFeatures().fma)
    GTEST_SKIP() << "the float16 stage needs AVX2 + F16C + FMA";
  std::vector<float> y;
  for (uint32_t h = 0; h < 65536; ++h) y.push_back(HalfToFloat(static_cast<uint16_t>(h)));
  std::mt19937 rng(23);
  std::uniform_real_distribution<float> real(-7.0f, 7.0f);
  for (int i = 0; i < 20005; ++i) y.push_back(real(rng));
  const int64_t n = static_cast<int64_t>(y.size());
  std::vector<uint16_t> addend(y.size());
  for (auto& a : addend) a = FloatToHalf(real(rng) * 0.25f);
  for (const std::string type : {"gelu_erf", "gelu_tanh"})
    for (const bool residual : {false, true})
      for (const bool out_half : {true, false}) {
        SCOPED_TRACE(type + (residual ? " after a residual add" : "") + (out_half ? "" : " into float32"));
        std::vector<PostOp> post_ops;
        if (residual) {
          PostOp add;
          add.kind = PostOp::Kind::kAdd;
          add.input = 1;
          post_ops.push_back(add);
        }
        PostOp gelu;
        gelu.activation = type;
        post_ops.push_back(gelu);
        ValueInfo x_info{DataType::FLOAT16, {n}, nullptr, nullptr, true};
        ValueInfo a_info{DataType::FLOAT16, {n}, nullptr, nullptr, true};
        std::vector<ValueInfo> outs = {out_half ? ValueInfo{DataType::FLOAT16, {n}, nullptr, nullptr, true}
                                                : ValueInfo{DataType::FLOAT32, {n}, nullptr, nullptr, false}};
        ir::AttrMap attrs;
        const std::vector<const ValueInfo*> inputs = {&x_info, &a_info};
        const KernelInit init(attrs, inputs, outs, nullptr, &post_ops);
        ASSERT_TRUE(HalfOutputStage::Supports(init));
        kernels::SetGatherTablesForTesting(1);
        const HalfOutputStage stage(init);
        kernels::SetGatherTablesForTesting(-1);
        EXPECT_EQ(stage.Tabulated(), out_half && !residual);
        std::vector<uint16_t> got16(y.size());
        std::vector<float> got32(y.size());
        const std::vector<TensorView> in = {{DataType::FLOAT16, {n}, nullptr, nullptr},
                                            {DataType::FLOAT16, {n}, addend.data(), nullptr}};
        const TensorView out = out_half ? TensorView{DataType::FLOAT16, {n}, got16.data(), nullptr}
                                        : TensorView{DataType::FLOAT32, {n}, got32.data(), nullptr};
        const int64_t first = 70001;  // two calls, each with a tail
        stage.Apply(y.data(), first, 0, in, out);
        stage.Apply(y.data() + first, n - first, first, in, out);
        const SmoothLoopFn loop = SmoothLoopFor(type);
        for (size_t i = 0; i < y.size(); ++i) {
          float v = out_half ? RoundToHalf(y[i]) : y[i];
          if (residual) v = v + HalfToFloat(addend[i]);
          if (out_half) v = RoundToHalf(v);
          float want = 0.0f;
          loop(&v, &want, 1);
          const float have = out_half ? HalfToFloat(got16[i]) : got32[i];
          if (out_half) want = RoundToHalf(want);
          if (std::isnan(want)) {
            ASSERT_TRUE(std::isnan(have)) << "value " << y[i];
            continue;
          }
          ASSERT_EQ(have, want) << "value " << y[i] << " at " << i;
          if (std::fabs(v) < 8.0f) {  // the function itself, within float16's step and the kernel's error
            const double x = v,
                         exact = type == "gelu_erf"
                                     ? 0.5 * x * std::erfc(-x / std::sqrt(2.0))
                                     : 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
            ASSERT_NEAR(have, exact, 1e-3 * std::fabs(exact) + 1e-6) << "value " << v;
          }
        }
      }
}

}  // namespace
}  // namespace mixq::ops
