// The 7-bit weight policy (`int8_weight_range: 7bit`, DESIGN rule 9): int8
// weights take the codes [-63, 63] with scale max|w| / 63, so the AVX2
// vpmaddubsw kernel (avx2-int8-u8s8) multiplies them exactly; the report
// names the policy. Goldens computed by hand.
#include <gtest/gtest.h>

#include "api_test_util.h"

namespace mixq::testing {
namespace {

// y = x W^T, x [1, 4] all 1.0 (range [-1.27, 1.27]: scale 0.01, code 100),
// W [2, 4] per output row: row 0 = (1.0, 0.4, -0.3, 0.0), row 1 = 0.5 * row 0.
std::unique_ptr<IModel> BuildFc(const std::string& extra) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({1, 4}));
  static const float w[8] = {1.0f, 0.4f, -0.3f, 0.0f, 0.5f, 0.2f, -0.15f, 0.0f};
  ITensor* weight = network->AddIConstNode(DataType::FLOAT32, Dims({2, 4}), w)->GetOutput(0);
  IFullyConnectedNode* fc = network->AddIFullyConnectedNode(x, weight, nullptr);
  fc->SetTransposeB(true);
  network->MarkOutput(fc->GetOutput(0));
  x->SetDynamicRange(Range{-1.27f, 1.27f}, true);
  return BuildOrDie(network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float32")" + extra + "}}");
}

std::vector<float> RunOnes(IModel* model) {
  std::vector<float> ones(4, 1.0f);
  return RunOnce(model->CreateIEngine()->CreateIContext().get(), Dims({1, 4}), ones);
}

TEST(Int8WeightRange, SevenBitCodesAndScale) {
  // 7-bit: scale = max|w| / 63 per row; codes 63, rint(25.2) = 25, rint(-18.9) = -19, 0:
  // y = 1.0 * (63 + 25 - 19) / 63 * max|w|.
  auto seven = BuildFc(R"(, "int8_weight_range": "7bit")");
  const auto y7 = RunOnes(seven.get());
  ASSERT_EQ(y7.size(), 2u);
  EXPECT_NEAR(y7[0], 69.0 / 63.0, 1e-5);
  EXPECT_NEAR(y7[1], 0.5 * 69.0 / 63.0, 1e-5);
  // Full range: codes 127, rint(50.8) = 51, rint(-38.1) = -38: (127 + 51 - 38) / 127.
  auto full = BuildFc("");
  const auto y8 = RunOnes(full.get());
  ASSERT_EQ(y8.size(), 2u);
  EXPECT_NEAR(y8[0], 140.0 / 127.0, 1e-5);
  EXPECT_NEAR(y8[1], 0.5 * 140.0 / 127.0, 1e-5);
  // The report names the policy; the default's does not.
  EXPECT_NE(seven->GetPrecisionReportJson().find(R"("int8_weight_range":"7bit")"), std::string::npos);
  EXPECT_NE(seven->GetPrecisionReport().find("int8 weights: 7-bit codes [-63, 63]"), std::string::npos);
  EXPECT_EQ(full->GetPrecisionReportJson().find("int8_weight_range"), std::string::npos);
  auto context = seven->CreateIEngine()->CreateIContext();
  std::vector<float> ones(4, 1.0f);
  EXPECT_EQ(RunOnce(context.get(), Dims({1, 4}), ones).size(), 2u);
  EXPECT_NE(context->GetPrecisionReport().find("int8 weights: 7-bit codes"), std::string::npos);
}

TEST(Int8WeightRange, RejectsUnknownValues) {
  auto config = CreateIBuilderConfig();
  const Status s = config->ParseFromString(
      R"({"precision_config": {"precision_mode": "qint8_mixed_float32", "int8_weight_range": 7}})");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("int8_weight_range"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace mixq::testing
