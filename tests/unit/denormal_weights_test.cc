// Denormal float32 weights (passes/denormal_weights.h): zeroed at build by
// default, kept with precision_config.denormal_weights "keep"; the report
// says how many; a constant another op reads as data is left alone. The
// inputs are large enough (1e30) that a denormal weight's products are
// normal numbers, so the two builds give different outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "api_test_util.h"

namespace mixq::testing {
namespace {

constexpr float kDenormal = 1e-39f;  // below 2^-126 (1.18e-38)

// y = x . W^T + b for 4 inputs, 3 outputs; W's row 0 all denormal (one
// negative), row 1 normal, row 2 half denormal. With `shared`, W is also an
// output of the network (read as data, not only as weights).
std::unique_ptr<INetwork> Make(bool shared) {
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 4}));
  static const std::vector<float> w = {kDenormal, kDenormal, -kDenormal, kDenormal,  // output 0
                                       0.5f,      -0.25f,    1.0f,       2.0f,       // output 1
                                       kDenormal, 0.5f,      kDenormal,  0.25f};     // output 2
  static const std::vector<float> b = {0.0f, 2.0f, 3.0f};
  ITensor* weights = n->AddIConstNode(DataType::FLOAT32, Dims({3, 4}), w.data())->GetOutput(0);
  INode* fc =
      n->AddIFullyConnectedNode(x, weights, n->AddIConstNode(DataType::FLOAT32, Dims({3}), b.data())->GetOutput(0));
  fc->SetNodeName("fc");
  n->MarkOutput(fc->GetOutput(0));
  if (shared) n->MarkOutput(weights);
  return network;
}

std::vector<float> RunModel(IModel* model, std::vector<float> x) {
  auto context = model->CreateIEngine()->CreateIContext();
  return RunOnce(context.get(), Dims({1, 4}), x);
}

nlohmann::json Transforms(IModel* model) {
  const auto report = nlohmann::json::parse(model->GetPrecisionReportJson());
  return report.contains("transforms") ? report["transforms"] : nlohmann::json::array();
}

TEST(DenormalWeights, FlushedByDefaultKeptOnRequest) {
  const std::vector<float> x = {1e30f, 1e30f, 1e30f, 1e30f};
  auto flushed = BuildOrDie(Make(false).get());
  auto kept = BuildOrDie(Make(false).get(), R"({"precision_config": {"denormal_weights": "keep"}})");
  ASSERT_NE(flushed, nullptr);
  ASSERT_NE(kept, nullptr);
  const auto yf = RunModel(flushed.get(), x), yk = RunModel(kept.get(), x);
  ASSERT_EQ(yf.size(), 3u);
  ASSERT_EQ(yk.size(), 3u);
  // Flushed: output 0 is its bias alone; output 2 keeps its normal weights.
  EXPECT_EQ(yf[0], 0.0f);
  EXPECT_FLOAT_EQ(yf[2], 0.75e30f);
  // Kept: 1e30 * 1e-39 * (1 + 1 - 1 + 1) = 2e-9 (the weights' float32
  // values are 1e-39 to about 0.1 %), and the same normal outputs.
  EXPECT_NEAR(yk[0], 2e-9f, 1e-11f);
  EXPECT_FLOAT_EQ(yk[1], yf[1]);
  EXPECT_FLOAT_EQ(yf[1], (0.5f - 0.25f + 1.0f + 2.0f) * 1e30f);
  EXPECT_EQ(Transforms(flushed.get()),
            nlohmann::json::array({"denormal_weights: 6 float32 weight value(s) below 2^-126 in 1 tensor(s) set "
                                   "to zero"}));
  EXPECT_EQ(Transforms(kept.get()), nlohmann::json::array());
}

TEST(DenormalWeights, ConstantsReadAsDataAreLeftAlone) {
  auto model = BuildOrDie(Make(true).get());
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(Transforms(model.get()), nlohmann::json::array());
  std::vector<float> x = {1e30f, 0.0f, 0.0f, 0.0f};
  auto context = model->CreateIEngine()->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> in, out;
  ASSERT_TRUE(context->CreateInputTensors(&in).ok());
  ASSERT_TRUE(context->CreateOutputTensors(&out).ok());
  ASSERT_TRUE(in[0]->SetDimensions(Dims({1, 4})).ok());
  ASSERT_TRUE(in[0]->SetData(x.data(), x.size() * sizeof(float)).ok());
  ASSERT_TRUE(context->Enqueue(in, out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(static_cast<const float*>(out[0]->GetData())[0], 1e-9f, 1e-11f);
  EXPECT_EQ(static_cast<const float*>(out[1]->GetData())[0], kDenormal);
}

TEST(DenormalWeights, UnknownValueIsAnError) {
  auto config = CreateIBuilderConfig();
  const Status s = config->ParseFromString(R"({"precision_config": {"denormal_weights": "zero"}})");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("denormal_weights"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace mixq::testing
