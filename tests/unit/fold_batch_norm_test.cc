// BatchNorm folding into the preceding Conv2D at build: same numbers in
// float32, huge running variances survive float16, the report says what was
// folded, and nothing is folded where it would change something else.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "api_test_util.h"
#include "util/half.h"

namespace mixq::testing {
namespace {

struct ConvBn {
  std::unique_ptr<INetwork> network = CreateINetwork();
  INode* conv = nullptr;
  INode* bn = nullptr;
};

// NHWC conv 3 -> 4 channels, then BatchNorm with the given variance scale.
ConvBn Make(float variance, bool conv_output_is_also_an_output) {
  ConvBn m;
  INetwork* n = m.network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 5, 5, 3}));
  auto w = RandomFloats(4 * 3 * 3 * 3, 1), b = RandomFloats(4, 2);
  IConvNode* conv = n->AddIConvNode(x, n->AddIConstNode(DataType::FLOAT32, Dims({4, 3, 3, 3}), w.data())->GetOutput(0),
                                    n->AddIConstNode(DataType::FLOAT32, Dims({4}), b.data())->GetOutput(0));
  conv->SetNodeName("conv");
  std::vector<float> mean = {0.5f, -0.25f, 1.0f, 0.0f};
  std::vector<float> var = {variance, 2 * variance, 0.5f * variance, variance};
  // The output keeps a float16-friendly scale: gamma grows with sqrt(variance).
  std::vector<float> gamma(4), beta = {0.1f, 0.2f, -0.3f, 0.0f};
  for (int c = 0; c < 4; ++c)
    gamma[static_cast<size_t>(c)] = std::sqrt(var[static_cast<size_t>(c)]) * (0.5f + 0.25f * c);
  auto constant = [&](const std::vector<float>& v) {
    return n->AddIConstNode(DataType::FLOAT32, Dims({4}), v.data())->GetOutput(0);
  };
  IBatchNormNode* bn =
      n->AddIBatchNormNode(conv->GetOutput(0), constant(mean), constant(var), constant(gamma), constant(beta));
  bn->SetNodeName("bn");
  n->MarkOutput(bn->GetOutput(0));
  if (conv_output_is_also_an_output) n->MarkOutput(conv->GetOutput(0));
  m.conv = conv;
  m.bn = bn;
  return m;
}

std::vector<float> RunModel(IModel* model, std::vector<float>& x) {
  auto context = model->CreateIEngine()->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> in, out;
  context->CreateInputTensors(&in);
  context->CreateOutputTensors(&out);
  in[0]->SetDimensions(Dims({1, 5, 5, 3}));
  in[0]->SetData(x.data(), x.size() * sizeof(float));
  EXPECT_TRUE(context->Enqueue(in, out).ok());
  const int64_t count = out[0]->GetDimensions().GetElementCount();
  std::vector<float> y(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    y[static_cast<size_t>(i)] = out[0]->GetDataType() == DataType::FLOAT16
                                    ? HalfToFloat(static_cast<const uint16_t*>(out[0]->GetData())[i])
                                    : static_cast<const float*>(out[0]->GetData())[i];
  return y;
}

nlohmann::json Report(IModel* model) {
  return nlohmann::json::parse(model->GetPrecisionReportJson());
}

TEST(FoldBatchNorm, SameNumbersInFloat32AndTheReportSaysSo) {
  auto x = RandomFloats(75, 3);
  ConvBn folded = Make(0.8f, false), kept = Make(0.8f, true);
  auto a = BuildOrDie(folded.network.get()), b = BuildOrDie(kept.network.get());
  const auto ya = RunModel(a.get(), x), yb = RunModel(b.get(), x);
  ASSERT_EQ(ya.size(), yb.size());
  for (size_t i = 0; i < ya.size(); ++i) EXPECT_NEAR(ya[i], yb[i], 1e-5f * (1 + std::fabs(yb[i])));
  const auto ra = Report(a.get()), rb = Report(b.get());
  ASSERT_EQ(ra["nodes"].size(), 1u);  // the BatchNorm is gone
  EXPECT_EQ(ra["nodes"][0]["node"], "conv");
  EXPECT_EQ(ra["nodes"][0]["fused"], nlohmann::json::array({"node 'bn' (BatchNorm)"}));
  EXPECT_NE(a->GetPrecisionReport().find("folded: node 'bn' (BatchNorm)"), std::string::npos);
  EXPECT_EQ(rb["nodes"].size(), 2u);  // the conv output is read twice: not folded
}

TEST(FoldBatchNorm, HugeRunningVarianceSurvivesFloat16) {
  // variance 1e8 is inf in float16: unfolded, force_float16 turns the output into zeros.
  auto x = RandomFloats(75, 4);
  ConvBn fp32_net = Make(1e8f, false), fp16_net = Make(1e8f, false);
  auto want = RunModel(BuildOrDie(fp32_net.network.get()).get(), x);
  auto got = RunModel(
      BuildOrDie(fp16_net.network.get(), R"({"precision_config": {"precision_mode": "force_float16"}})").get(), x);
  double max_abs = 0, max_err = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    max_abs = std::max(max_abs, std::fabs(static_cast<double>(want[i])));
    max_err = std::max(max_err, std::fabs(static_cast<double>(got[i]) - want[i]));
  }
  EXPECT_GT(max_abs, 0.5);
  EXPECT_LT(max_err, 4e-3 * max_abs);  // a few float16 roundings
}

TEST(FoldBatchNorm, PinnedPrecisionsMoveOrStopTheFold) {
  {
    ConvBn m = Make(0.8f, false);  // a pin on the BatchNorm's output moves to the conv
    ASSERT_TRUE(m.bn->SetOutputType(0, DataType::FLOAT16).ok());
    auto model = BuildOrDie(m.network.get());
    const auto r = Report(model.get());
    ASSERT_EQ(r["nodes"].size(), 1u);
    EXPECT_EQ(r["nodes"][0]["outputs"][0]["actual"], "FLOAT16");
    EXPECT_EQ(r["nodes"][0]["outputs"][0]["requested_by"], "node");
  }
  {
    ConvBn m = Make(0.8f, false);  // a pin on the BatchNorm's input keeps it
    ASSERT_TRUE(m.bn->SetPrecision(0, DataType::FLOAT16).ok());
    EXPECT_EQ(Report(BuildOrDie(m.network.get()).get())["nodes"].size(), 2u);
  }
  {
    ConvBn m = Make(0.8f, false);  // conflicting output pins keep it
    ASSERT_TRUE(m.bn->SetOutputType(0, DataType::FLOAT16).ok());
    ASSERT_TRUE(m.conv->SetOutputType(0, DataType::BFLOAT16).ok());
    EXPECT_EQ(Report(BuildOrDie(m.network.get()).get())["nodes"].size(), 2u);
  }
}

}  // namespace
}  // namespace mixq::testing
