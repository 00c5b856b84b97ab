// A float32 Elementwise op followed by the add of a same-shaped tensor
// (runtime/fusion/fuse_residual_add.cc): PP-OCR's squeeze-excitation
// y + y * s, one cpu-fast step that adds as it writes, bit for bit with the
// separate steps (force_reference lowers with no fusion at all), NaN and
// infinities included, the add's operand order kept. Near misses stay
// separate: a second reader of the product, an addend that broadcasts.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "fusion_test_util.h"
#include "ops/kernel_registry.h"
#include "runtime/engine.h"

namespace mixq::testing {
namespace {

constexpr char kFloat32[] = R"({"precision_config": {"precision_mode": "force_float32"}})";

void ExpectSameBits(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  ASSERT_FALSE(got.empty());
  for (size_t i = 0; i < got.size(); ++i) {
    uint32_t a, b;
    std::memcpy(&a, &got[i], 4);
    std::memcpy(&b, &want[i], 4);
    ASSERT_EQ(a, b) << "at " << i << ": " << got[i] << " vs " << want[i];
  }
}

// x [1, 6, 9, 13] (odd: vector tails), s [1, 6, 1, 1]; y = x * s, out = x + y
// (`addend_first`) or y + x.
struct Net {
  std::unique_ptr<INetwork> network;
  std::string mul;
};

Net SqueezeExcitation(bool addend_first, bool second_reader = false, bool broadcast_addend = false) {
  Net net;
  net.network = CreateINetwork();
  INetwork* n = net.network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 6, 9, 13}));
  ITensor* s = RandomConst(n, {1, 6, 1, 1}, 5, 1.5f);
  IElementwiseNode* mul = n->AddIElementwiseNode(x, s, ElementwiseOp::MUL);
  net.mul = mul->GetNodeName();
  ITensor* y = mul->GetOutput(0);
  ITensor* addend = broadcast_addend ? RandomConst(n, {1, 6, 1, 13}, 6, 1.0f) : x;
  ITensor* out = addend_first ? n->AddIElementwiseNode(addend, y, ElementwiseOp::ADD)->GetOutput(0)
                              : n->AddIElementwiseNode(y, addend, ElementwiseOp::ADD)->GetOutput(0);
  if (second_reader) out = n->AddIElementwiseNode(out, y, ElementwiseOp::SUB)->GetOutput(0);
  EXPECT_TRUE(n->MarkOutput(out).ok());
  return net;
}

std::vector<float> Input() {
  auto x = RandomFloats(6 * 9 * 13, 7, -3.0f, 3.0f);
  x[5] = std::numeric_limits<float>::quiet_NaN();
  x[40] = std::numeric_limits<float>::infinity();
  x[41] = -std::numeric_limits<float>::infinity();
  x[100] = 3.0e38f;  // x + x * s overflows
  return x;
}

TEST(FuseElementwiseAdd, SqueezeExcitationIsOneStepWithTheSameBits) {
  for (bool addend_first : {false, true}) {
    SCOPED_TRACE(addend_first);
    Net net = SqueezeExcitation(addend_first);
    auto model = BuildOrDie(net.network.get(), kFloat32);
    ASSERT_NE(model, nullptr);
    const auto x = Input();
    const Ran fast = RunPlan(model.get(), net.mul, false, x, Dims({1, 6, 9, 13}));
    const Ran ref = RunPlan(model.get(), net.mul, true, x, Dims({1, 6, 9, 13}));
    EXPECT_EQ(fast.kernel, "cpu-fast");
    EXPECT_EQ(fast.fused.size(), 1u);
    EXPECT_EQ(fast.steps, 1u);
    EXPECT_EQ(ref.steps, 2u);
    ExpectSameBits(fast.y, ref.y);
  }
}

TEST(FuseElementwiseAdd, NearMissesStaySeparate) {
  {
    // The product has a second reader: it must be written as it is.
    Net net = SqueezeExcitation(false, /*second_reader=*/true);
    auto model = BuildOrDie(net.network.get(), kFloat32);
    ASSERT_NE(model, nullptr);
    const auto x = Input();
    const Ran fast = RunPlan(model.get(), net.mul, false, x, Dims({1, 6, 9, 13}));
    const Ran ref = RunPlan(model.get(), net.mul, true, x, Dims({1, 6, 9, 13}));
    EXPECT_TRUE(fast.fused.empty());
    EXPECT_EQ(fast.steps, 3u);
    ExpectSameBits(fast.y, ref.y);
  }
  {
    // The addend broadcasts: not a residual add.
    Net net = SqueezeExcitation(false, false, /*broadcast_addend=*/true);
    auto model = BuildOrDie(net.network.get(), kFloat32);
    ASSERT_NE(model, nullptr);
    const auto x = Input();
    const Ran fast = RunPlan(model.get(), net.mul, false, x, Dims({1, 6, 9, 13}));
    const Ran ref = RunPlan(model.get(), net.mul, true, x, Dims({1, 6, 9, 13}));
    EXPECT_TRUE(fast.fused.empty());
    EXPECT_EQ(fast.steps, 2u);
    ExpectSameBits(fast.y, ref.y);
  }
}

}  // namespace
}  // namespace mixq::testing
