// Build-time folds of elementwise patterns (passes/fold_affine.cc): scalar
// multiplications / additions after a Conv2D go into its filter and bias, and
// x * clip(x + 3, 0, 6) / 6 becomes one hard_swish. Checked: the numbers
// match the unfolded network (the same network with the pattern broken by a
// second reader) within float rounding, the report names what was folded,
// and the near misses stay as they are.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "api_test_util.h"

namespace mixq::testing {
namespace {

struct Net {
  std::unique_ptr<INetwork> network = CreateINetwork();
  ITensor* x = nullptr;
  INode* conv = nullptr;
};

ITensor* Scalar(INetwork* n, float value) {
  static int count = 0;
  ITensor* t = n->AddIConstNode(DataType::FLOAT32, Dims({1}), &value)->GetOutput(0);  // copies the value
  EXPECT_TRUE(t->SetTensorName("scalar_" + std::to_string(count++)).ok());
  return t;
}

ITensor* Op(INetwork* n, ITensor* a, ITensor* b, ElementwiseOp op, const char* name) {
  IElementwiseNode* e = n->AddIElementwiseNode(a, b, op);
  e->SetNodeName(name);
  EXPECT_TRUE(e->GetOutput(0)->SetTensorName(std::string(name) + "_out").ok());
  return e->GetOutput(0);
}

// NCHW conv 3 -> 4 channels, then s * y + b, then hard_swish spelled out as
// x * clip(x + 3, 0, 6) / 6. `variant` breaks one piece of the pattern.
enum class Variant { kFolds, kConvReadTwice, kAddIsNotThree, kSubFromConstant, kPinnedConvOutput };

Net Make(Variant variant) {
  Net m;
  INetwork* n = m.network.get();
  m.x = n->AddIInput(DataType::FLOAT32, Dims({1, 3, 6, 5}));
  auto w = RandomFloats(4 * 3 * 3 * 3, 1), b = RandomFloats(4, 2);
  IConvNode* conv =
      n->AddIConvNode(m.x, n->AddIConstNode(DataType::FLOAT32, Dims({4, 3, 3, 3}), w.data())->GetOutput(0),
                      n->AddIConstNode(DataType::FLOAT32, Dims({4}), b.data())->GetOutput(0));
  EXPECT_TRUE(conv->SetAttr("input_layout", std::string("NCHW")).ok());
  EXPECT_TRUE(conv->SetAttr("output_layout", std::string("NCHW")).ok());
  EXPECT_TRUE(conv->SetAttr("filter_layout", std::string("OIHW")).ok());
  EXPECT_TRUE(conv->SetAttr("pads", std::vector<int64_t>{1, 1, 1, 1}).ok());
  conv->SetNodeName("conv");
  m.conv = conv;
  if (variant == Variant::kPinnedConvOutput) {
    EXPECT_TRUE(conv->SetOutputType(0, DataType::FLOAT32).ok());
  }
  ITensor* y = conv->GetOutput(0);
  y = variant == Variant::kSubFromConstant ? Op(n, Scalar(n, 0.5f), y, ElementwiseOp::SUB, "scale")
                                           : Op(n, Scalar(n, 1.75f), y, ElementwiseOp::MUL, "scale");
  y = Op(n, y, Scalar(n, -0.25f), ElementwiseOp::ADD, "shift");
  ITensor* t = Op(n, y, Scalar(n, variant == Variant::kAddIsNotThree ? 2.5f : 3.0f), ElementwiseOp::ADD, "plus3");
  IActivationNode* clip = n->AddIActivationNode(t, ActivationType::CLIP);
  EXPECT_TRUE(clip->SetAlpha(0.0f).ok());
  EXPECT_TRUE(clip->SetBeta(6.0f).ok());
  clip->SetNodeName("clip");
  EXPECT_TRUE(clip->GetOutput(0)->SetTensorName("clip_out").ok());
  ITensor* prod = Op(n, y, clip->GetOutput(0), ElementwiseOp::MUL, "times_x");
  ITensor* out = Op(n, prod, Scalar(n, 6.0f), ElementwiseOp::DIV, "over6");
  EXPECT_TRUE(n->MarkOutput(out).ok());
  if (variant == Variant::kConvReadTwice) {
    EXPECT_TRUE(n->MarkOutput(conv->GetOutput(0)).ok());
  }
  return m;
}

std::vector<float> RunModel(IModel* model, std::vector<float>& x) {
  auto context = model->CreateIEngine()->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> in, out;
  EXPECT_TRUE(context->CreateInputTensors(&in).ok());
  EXPECT_TRUE(context->CreateOutputTensors(&out).ok());
  EXPECT_TRUE(in[0]->SetData(x.data(), x.size() * sizeof(float)).ok());
  EXPECT_TRUE(context->Enqueue(in, out).ok());
  const auto* y = static_cast<const float*>(out[0]->GetData());
  return std::vector<float>(y, y + out[0]->GetDimensions().GetElementCount());
}

std::vector<std::string> Ops(IModel* model) {
  std::vector<std::string> ops;
  const auto report = nlohmann::json::parse(model->GetPrecisionReportJson());
  for (const auto& row : report["nodes"]) ops.push_back(row["op"].get<std::string>());
  return ops;
}

// The network as it reads, in double: the oracle for both builds.
std::vector<double> Expected(const std::vector<float>& x, Variant variant) {
  auto w = RandomFloats(4 * 3 * 3 * 3, 1), b = RandomFloats(4, 2);
  std::vector<double> y;
  for (int o = 0; o < 4; ++o)
    for (int h = 0; h < 6; ++h)
      for (int wi = 0; wi < 5; ++wi) {
        double acc = b[static_cast<size_t>(o)];
        for (int c = 0; c < 3; ++c)
          for (int kh = 0; kh < 3; ++kh)
            for (int kw = 0; kw < 3; ++kw) {
              const int ih = h + kh - 1, iw = wi + kw - 1;
              if (ih < 0 || ih >= 6 || iw < 0 || iw >= 5) continue;
              acc += static_cast<double>(w[static_cast<size_t>(((o * 3 + c) * 3 + kh) * 3 + kw)]) *
                     x[static_cast<size_t>((c * 6 + ih) * 5 + iw)];
            }
        const double v = (variant == Variant::kSubFromConstant ? 0.5 - acc : 1.75 * acc) - 0.25;
        const double t = std::min(std::max(v + (variant == Variant::kAddIsNotThree ? 2.5 : 3.0), 0.0), 6.0);
        y.push_back(v * t / 6.0);
      }
  return y;
}

TEST(FoldAffine, ScalarAffineFoldsIntoTheConvAndHardSwishIsRecognized) {
  auto x = RandomFloats(90, 3);
  Net net = Make(Variant::kFolds);
  auto model = BuildOrDie(net.network.get());
  EXPECT_EQ(Ops(model.get()), (std::vector<std::string>{"Conv2D", "Activation"}));
  const auto report = nlohmann::json::parse(model->GetPrecisionReportJson());
  EXPECT_EQ(report["nodes"][0]["fused"],
            nlohmann::json::array({"node 'scale' (Elementwise)", "node 'shift' (Elementwise)"}));
  EXPECT_EQ(report["nodes"][1]["fused"].size(), 4u);  // plus3, clip, times_x, over6
  const auto got = RunModel(model.get(), x);
  const auto want = Expected(x, Variant::kFolds);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * (1 + std::fabs(want[i]))) << i;
}

TEST(FoldAffine, NearMissesStayAsWritten) {
  auto x = RandomFloats(90, 4);
  struct Miss {
    Variant variant;
    std::vector<std::string> ops;
  };
  const Miss misses[] = {
      // The conv output is also a network output: no fold into the conv; the hard_swish still forms.
      {Variant::kConvReadTwice, {"Conv2D", "Elementwise", "Elementwise", "Activation"}},
      // x + 2.5 is not hard_swish's x + 3; the affine still folds.
      {Variant::kAddIsNotThree, {"Conv2D", "Elementwise", "Activation", "Elementwise", "Elementwise"}},
      // 0.5 - conv is not conv * s: nothing folds into the conv (the shift then follows a Sub).
      {Variant::kSubFromConstant, {"Conv2D", "Elementwise", "Elementwise", "Activation"}},
      // An output type pinned on the conv would move to another tensor.
      {Variant::kPinnedConvOutput, {"Conv2D", "Elementwise", "Elementwise", "Activation"}},
  };
  for (const Miss& miss : misses) {
    SCOPED_TRACE(static_cast<int>(miss.variant));
    Net net = Make(miss.variant);
    auto model = BuildOrDie(net.network.get());
    EXPECT_EQ(Ops(model.get()), miss.ops);
    const auto got = RunModel(model.get(), x);
    const auto want = Expected(x, miss.variant);
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * (1 + std::fabs(want[i]))) << i;
  }
}

}  // namespace
}  // namespace mixq::testing
