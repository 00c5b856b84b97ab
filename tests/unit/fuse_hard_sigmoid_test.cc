// The hard-sigmoid rule (passes/fuse_hard_sigmoid.cc): clip(x + 3, 0, 6) / 6,
// clip(0.2 * x + 0.5, 0, 1) and (x + 3) through Relu6 times 1/6 become one
// Activation hard_sigmoid with the matching alpha / beta, equal to the
// formula in double within 1e-6 * (1 + |y|); near misses and pinned nodes stay.
#include <algorithm>

#include "fusion_test_util.h"

namespace mixq::testing {
namespace {

enum class Variant {
  kPaddle,            // clip(x + 3, 0, 6) / 6
  kAffine,            // clip(x * 0.2 + 0.5, 0, 1)
  kRelu6,             // relu6(3 + x) * (1 / 6)
  kClipFromMinusOne,  // clip(x + 3, -1, 6) / 6: not from 0
  kDivByFive,         // clip(x + 3, 0, 6) / 5: does not reach 1
  kShiftOutput,       // x + 3 is also a network output
  kPinnedClip         // SetPrecision on the clip
};

constexpr int64_t kCount = 53;

std::unique_ptr<INetwork> Make(Variant v) {
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({kCount}));
  EXPECT_TRUE(x->SetTensorName("x").ok());
  ITensor* pre = nullptr;
  if (v == Variant::kAffine)
    pre = Binary(n, Binary(n, x, Scalar(n, 0.2f), ElementwiseOp::MUL, "scale"), Scalar(n, 0.5f), ElementwiseOp::ADD,
                 "shift");
  else if (v == Variant::kRelu6)
    pre = Binary(n, Scalar(n, 3.0f), x, ElementwiseOp::ADD, "shift");
  else
    pre = Binary(n, x, Scalar(n, 3.0f), ElementwiseOp::ADD, "shift");
  IActivationNode* clip = nullptr;
  if (v == Variant::kRelu6) {
    clip = n->AddIActivationNode(pre, ActivationType::RELU6);
  } else {
    clip = n->AddIActivationNode(pre, ActivationType::CLIP);
    EXPECT_TRUE(clip->SetAlpha(v == Variant::kClipFromMinusOne ? -1.0f : 0.0f).ok());
    EXPECT_TRUE(clip->SetBeta(v == Variant::kAffine ? 1.0f : 6.0f).ok());
  }
  ITensor* c = Named(clip, "clip");
  if (v == Variant::kPinnedClip) {
    EXPECT_TRUE(clip->SetPrecision(0, DataType::FLOAT32).ok());
  }
  ITensor* y = c;
  if (v == Variant::kRelu6)
    y = Binary(n, c, Scalar(n, 1.0f / 6.0f), ElementwiseOp::MUL, "hsig");
  else if (v != Variant::kAffine)
    y = Binary(n, c, Scalar(n, v == Variant::kDivByFive ? 5.0f : 6.0f), ElementwiseOp::DIV, "hsig");
  EXPECT_TRUE(n->MarkOutput(y).ok());
  if (v == Variant::kShiftOutput) {
    EXPECT_TRUE(n->MarkOutput(pre).ok());
  }
  return network;
}

std::vector<double> Expected(const std::vector<float>& x, Variant v) {
  std::vector<double> y;
  for (float xf : x) {
    const double xv = xf;
    if (v == Variant::kAffine)
      y.push_back(std::clamp(0.2 * xv + 0.5, 0.0, 1.0));
    else
      y.push_back(std::clamp(xv + 3.0, v == Variant::kClipFromMinusOne ? -1.0 : 0.0, 6.0) /
                  (v == Variant::kDivByFive ? 5.0 : 6.0));
  }
  return y;
}

TEST(FuseHardSigmoid, SpelledOutHardSigmoidBecomesOneActivation) {
  auto x = RandomFloats(kCount, 8, -8.0f, 8.0f);
  x[0] = -3.0f;
  x[1] = 3.0f;
  for (Variant v : {Variant::kPaddle, Variant::kAffine, Variant::kRelu6}) {
    SCOPED_TRACE(static_cast<int>(v));
    auto network = Make(v);
    auto model = BuildOrDie(network.get());
    EXPECT_EQ(ReportOps(model.get()), std::vector<std::string>{"Activation"});
    const std::string name = v == Variant::kAffine ? "clip_hard_sigmoid" : "hsig_hard_sigmoid";
    const auto row = ReportRow(model.get(), name);
    ASSERT_FALSE(row.is_null());
    EXPECT_EQ(row["fused"].size(), 3u);  // shift, clip, division (kAffine: scale, shift, clip)
    ExpectClose(RunFirst(model.get(), x), Expected(x, v), 1e-6);
  }
}

TEST(FuseHardSigmoid, NearMissesAndPinnedNodesStay) {
  const auto x = RandomFloats(kCount, 9, -8.0f, 8.0f);
  for (Variant v : {Variant::kClipFromMinusOne, Variant::kDivByFive, Variant::kShiftOutput, Variant::kPinnedClip}) {
    SCOPED_TRACE(static_cast<int>(v));
    auto network = Make(v);
    auto model = BuildOrDie(network.get());
    EXPECT_TRUE(ReportRow(model.get(), "hsig_hard_sigmoid").is_null());
    EXPECT_FALSE(ReportRow(model.get(), "clip").is_null());
    ExpectClose(RunFirst(model.get(), x), Expected(x, v), 1e-6);
  }
}

}  // namespace
}  // namespace mixq::testing
