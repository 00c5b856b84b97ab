// Dynamic PTQ (SPEC §1): weights quantized at build, activation ranges taken
// from every inference's own data, no calibration. Checked on a
// transformer-style block: Q/K/V projections, Q·K^T, softmax, ·V, output
// projection, residual, LayerNorm — six quantized MatMuls, two of them
// between activations.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "api_test_util.h"

namespace mixq::testing {
namespace {

constexpr int64_t kBatch = 2, kTokens = 6, kModel = 16;

ITensor* Const(INetwork* network, const Dims& dims, uint32_t seed, float scale) {
  auto values = RandomFloats(static_cast<size_t>(dims.GetElementCount()), seed, -scale, scale);
  return network->AddIConstNode(DataType::FLOAT32, dims, values.data())->GetOutput(0);
}

std::unique_ptr<INetwork> MakeAttentionBlock() {
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({-1, kTokens, kModel}));
  const float w = 1.0f / std::sqrt(static_cast<float>(kModel));
  ITensor* q = n->AddIMatMulNode(x, Const(n, Dims({kModel, kModel}), 1, 2 * w))->GetOutput(0);
  ITensor* k = n->AddIMatMulNode(x, Const(n, Dims({kModel, kModel}), 2, 2 * w))->GetOutput(0);
  ITensor* v = n->AddIMatMulNode(x, Const(n, Dims({kModel, kModel}), 3, 2 * w))->GetOutput(0);
  IMatMulNode* scores = n->AddIMatMulNode(q, k);
  EXPECT_TRUE(scores->SetTransposeB(true).ok());
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(kModel));
  ITensor* scaled = n->AddIElementwiseNode(scores->GetOutput(0),
                                           n->AddIConstNode(DataType::FLOAT32, Dims({1}), &inv_sqrt_d)->GetOutput(0),
                                           ElementwiseOp::MUL)
                        ->GetOutput(0);
  ITensor* probs = n->AddISoftmaxNode(scaled, -1)->GetOutput(0);
  ITensor* attended = n->AddIMatMulNode(probs, v)->GetOutput(0);
  ITensor* projected = n->AddIMatMulNode(attended, Const(n, Dims({kModel, kModel}), 4, 2 * w))->GetOutput(0);
  ITensor* residual = n->AddIElementwiseNode(projected, x, ElementwiseOp::ADD)->GetOutput(0);
  ITensor* out = n->AddILayerNormNode(residual, Const(n, Dims({kModel}), 5, 1.0f), nullptr, -1)->GetOutput(0);
  EXPECT_TRUE(n->MarkOutput(out).ok());
  return network;
}

double MaxError(const std::vector<float>& got, const std::vector<float>& want, double* max_abs = nullptr) {
  double err = 0, peak = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    err = std::max(err, std::fabs(static_cast<double>(got[i]) - want[i]));
    peak = std::max(peak, std::fabs(static_cast<double>(want[i])));
  }
  if (max_abs) *max_abs = peak;
  return err;
}

TEST(DynamicQuantization, StaticBuildWithoutRangesListsEveryTensor) {
  auto network = MakeAttentionBlock();
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config->ParseFromString(R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})").ok());
  auto builder = CreateIBuilder();
  EXPECT_EQ(builder->BuildModel("static", network.get(), config.get()), nullptr);
  const Status s = builder->GetLastStatus();
  EXPECT_EQ(s.code(), StatusCode::FAILED_PRECONDITION);
  // x (three projections), q, k, probs, v, attended: 8 quantized activations.
  EXPECT_NE(s.message().find("8 quantized input(s) have no range"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("dynamic"), std::string::npos) << s.message();
}

TEST(DynamicQuantization, AttentionBlockRunsWithoutCalibrationWithinStepBound) {
  std::vector<float> x = RandomFloats(static_cast<size_t>(kBatch * kTokens * kModel), 9, -2.0f, 2.0f);
  auto float_net = MakeAttentionBlock();
  auto float_model = BuildOrDie(float_net.get());
  auto want = RunOnce(float_model->CreateIEngine()->CreateIContext().get(), Dims({kBatch, kTokens, kModel}), x);

  double errors[2] = {0, 0};
  const int bits[2] = {8, 16};
  for (int m = 0; m < 2; ++m) {
    auto network = MakeAttentionBlock();
    auto model = BuildOrDie(network.get(), std::string(R"({"precision_config": {"precision_mode": "qint)") +
                                               std::to_string(bits[m]) +
                                               R"(_mixed_float32", "activation_quant_mode": "dynamic",
                                                   "activation_quant_algo": "asymmetric"}})");
    ASSERT_NE(model, nullptr);
    const auto report = nlohmann::json::parse(model->GetPrecisionReportJson());
    int quantized_matmuls = 0;
    for (const auto& node : report["nodes"])
      if (node["op"] == "MatMul" && node["inputs"][0]["actual"] == (m == 0 ? "QINT8" : "QINT16") &&
          node["inputs"][1]["actual"] == node["inputs"][0]["actual"])
        ++quantized_matmuls;
    EXPECT_EQ(quantized_matmuls, 6);
    auto got = RunOnce(model->CreateIEngine()->CreateIContext().get(), Dims({kBatch, kTokens, kModel}), x);
    double peak = 0;
    errors[m] = MaxError(got, want, &peak);
    // First-order bound (as for the ResNet): each of the 6 MatMuls adds a
    // relative error of at most half a step of each operand (asymmetric:
    // step / range = 1 / (p - n)); LayerNorm re-normalizes (its output is
    // O(1)). Twice that for second-order terms and the residual's gain.
    const double steps = (1 << bits[m]) - 1.0;
    const double bound = 2.0 * 6 * (2.0 / steps) * peak;
    EXPECT_GT(errors[m], 0.0);
    EXPECT_LE(errors[m], bound) << bits[m] << " bits";
    std::printf("[ dynamic  ] qint%d: max|err| %.3g (bound %.3g, max|y| %.3g)\n", bits[m], errors[m], bound, peak);
  }
  EXPECT_GT(errors[0], errors[1]);
}

}  // namespace
}  // namespace mixq::testing
