// An int8 residual add followed by relu / relu6 / clip inside an integer
// chain (runtime/fusion/fuse_activation.cc, ops/elementwise/int8_add.h):
// one avx512-int8 / avx2-int8 step that clamps its output codes as the
// activation's own step would, so the network's numbers are the separate
// steps' (force_reference lowers with no fusion) bit for bit. mixq's own
// calibration of ResNet-50 leaves each residual add's relu as such a step
// (a QDQ model folds it into the add's quantization range). Near misses stay
// separate: a second reader of the sum, an activation that is not a clamp,
// the sum a network output.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fusion_test_util.h"
#include "runtime/engine.h"

namespace mixq::testing {
namespace {

constexpr char kQint8[] = R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})";

ITensor* Conv(INetwork* n, ITensor* x, int64_t cin, int64_t cout, uint32_t seed, Range range) {
  ITensor* y = PaddedConv3x3(n, x, cin, cout, seed)->GetOutput(0);
  if (range.max > range.min) {
    EXPECT_TRUE(y->SetDynamicRange(range, true).ok());
  }
  return y;
}

struct Variant {
  ActivationType type = ActivationType::RELU;
  bool sum_read_again = false;
  bool sum_is_output = false;
};

const Dims kDims({1, 16, 11, 9});

// x -> conv -> r; conv(r) + r = s -> activation -> conv -> y (float).
std::unique_ptr<IModel> Block(const Variant& v) {
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, kDims);
  EXPECT_TRUE(x->SetDynamicRange(Range{-1.0f, 1.0f}, true).ok());
  ITensor* r = Conv(n, x, 16, 16, 1, Range{-1.5f, 2.0f});
  ITensor* b = Conv(n, r, 16, 16, 3, Range{-2.5f, 2.0f});
  ITensor* s = Binary(n, b, r, ElementwiseOp::ADD, "add");
  EXPECT_TRUE(s->SetDynamicRange(Range{-2.0f, 3.5f}, true).ok());
  IActivationNode* act = n->AddIActivationNode(s, v.type);
  if (v.type == ActivationType::CLIP) {
    EXPECT_TRUE(act->SetAttr("alpha", -0.75f).ok());
    EXPECT_TRUE(act->SetAttr("beta", 1.25f).ok());
  }
  ITensor* a = Named(act, "act");
  // The add's range: the activation moves its codes (the placement keeps
  // a clamp's input parameters on its output anyway).
  EXPECT_TRUE(a->SetDynamicRange(Range{-2.0f, 3.5f}, true).ok());
  if (v.sum_read_again) {
    a = Binary(n, a, s, ElementwiseOp::ADD, "again");
    EXPECT_TRUE(a->SetDynamicRange(Range{-4.0f, 7.0f}, true).ok());
  }
  ITensor* y = Conv(n, a, 16, 8, 5, Range{});
  EXPECT_TRUE(y->SetTensorName("y").ok());
  EXPECT_TRUE(n->MarkOutput(y).ok());
  if (v.sum_is_output) {
    EXPECT_TRUE(n->MarkOutput(s).ok());
  }
  return BuildOrDie(n, kQint8);
}

std::vector<float> Input() {
  return RandomFloats(16 * 11 * 9, 17, -1.2f, 1.2f);
}

TEST(FuseInt8AddActivation, ClampFusesIntoTheAddWithTheSameBits) {
  if (!HaveOneDnn()) GTEST_SKIP();
  for (ActivationType type : {ActivationType::RELU, ActivationType::RELU6, ActivationType::CLIP}) {
    SCOPED_TRACE("activation " + std::to_string(static_cast<int>(type)));
    Variant v;
    v.type = type;
    auto model = Block(v);
    ASSERT_NE(model, nullptr);
    const auto x = Input();
    const Ran ref = RunPlan(model.get(), "add", true, x, kDims, "");
    EXPECT_TRUE(ref.fused.empty());
    // The CPU's own pick and the AVX2 form it may not pick.
    for (const char* isa : {"", "avx2"}) {
      SCOPED_TRACE(std::string("max_isa '") + isa + "'");
      const Ran fast = RunPlan(model.get(), "add", false, x, kDims, isa);
      if (fast.kernel.find("int8") == std::string::npos) GTEST_SKIP() << "no int8 add kernel here: " << fast.kernel;
      if (*isa) {
        EXPECT_EQ(fast.kernel, "avx2-int8");
      }
      EXPECT_EQ(fast.fused, std::vector<std::string>{"Activation"});
      EXPECT_EQ(fast.steps + 1, ref.steps) << "the activation's step is gone";
      ASSERT_FALSE(fast.y.empty());
      EXPECT_EQ(fast.y, ref.y) << "integers throughout: the separate steps' numbers exactly";
    }
  }
}

TEST(FuseInt8AddActivation, NearMissesStaySeparate) {
  if (!HaveOneDnn()) GTEST_SKIP();
  Variant read_again;
  read_again.sum_read_again = true;
  Variant leaky;
  leaky.type = ActivationType::LEAKY_RELU;
  Variant output;
  output.sum_is_output = true;
  const std::pair<const char*, Variant> cases[] = {
      {"the sum read again", read_again}, {"leaky relu", leaky}, {"the sum a network output", output}};
  for (const auto& [what, v] : cases) {
    SCOPED_TRACE(what);
    auto model = Block(v);
    ASSERT_NE(model, nullptr);
    const auto x = Input();
    const Ran fast = RunPlan(model.get(), "add", false, x, kDims, "");
    const Ran ref = RunPlan(model.get(), "add", true, x, kDims, "");
    EXPECT_TRUE(fast.fused.empty()) << fast.kernel;
    ASSERT_FALSE(fast.y.empty());
    ExpectClose(fast.y, ref.y, 1e-5);
  }
}

}  // namespace
}  // namespace mixq::testing
