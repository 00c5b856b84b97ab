// FullyConnected in QINT8 / QINT16: the exact integer path against float32,
// within a bound derived from the quantization steps.
#include <gtest/gtest.h>

#include <cmath>

#include "api_test_util.h"

namespace mixq::testing {
namespace {

// y = x W^T + b with x [3, 20] in [-1, 1], W [7, 20] in [-0.5, 0.5].
std::unique_ptr<INetwork> MakeFc(const std::vector<float>& w, const std::vector<float>& b, bool transpose_b) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({3, 20}));
  ITensor* weight =
      network->AddIConstNode(DataType::FLOAT32, transpose_b ? Dims({7, 20}) : Dims({20, 7}), w.data())->GetOutput(0);
  ITensor* bias = network->AddIConstNode(DataType::FLOAT32, Dims({7}), b.data())->GetOutput(0);
  IFullyConnectedNode* fc = network->AddIFullyConnectedNode(x, weight, bias);
  fc->SetTransposeB(transpose_b);
  network->MarkOutput(fc->GetOutput(0));
  return network;
}

double MaxError(const std::string& config, bool transpose_b, int bits) {
  auto w = RandomFloats(140, 1, -0.5f, 0.5f), b = RandomFloats(7, 2);
  auto x = RandomFloats(60, 3);
  std::vector<float> wt(140);  // the same weights stored [20, 7]
  for (int n = 0; n < 7; ++n)
    for (int k = 0; k < 20; ++k) wt[static_cast<size_t>(k * 7 + n)] = w[static_cast<size_t>(n * 20 + k)];
  auto float_model = BuildOrDie(MakeFc(w, b, true).get());
  auto expected = RunOnce(float_model->CreateIEngine()->CreateIContext().get(), Dims({3, 20}), x);
  auto quant_net = MakeFc(transpose_b ? w : wt, b, transpose_b);
  quant_net->GetInput(0)->SetDynamicRange(Range{-1.0f, 1.0f}, true);
  auto model = BuildOrDie(quant_net.get(), config);
  EXPECT_NE(model->GetPrecisionReportJson().find(bits == 8 ? "QINT8" : "QINT16"), std::string::npos);
  auto got = RunOnce(model->CreateIEngine()->CreateIContext().get(), Dims({3, 20}), x);
  double err = 0;
  for (size_t i = 0; i < got.size(); ++i) err = std::max(err, std::fabs(static_cast<double>(got[i]) - expected[i]));
  return err;
}

TEST(QuantizedFullyConnected, Int8AndInt16WithinStepBounds) {
  // Per element: sum_k |x_k| * sw/2 + |w_k| * sx/2 (+ product of half steps):
  // int8: sx = 1/127, sw <= 0.5/127: 20 * (1 * 0.002 + 0.5 * 0.004) ~= 0.08.
  const double e8 = MaxError(R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})", true, 8);
  const double e16 = MaxError(R"({"precision_config": {"precision_mode": "qint16_mixed_float32"}})", true, 16);
  EXPECT_LT(e8, 0.08);
  EXPECT_LT(e16, 0.08 / 256);
  EXPECT_GT(e8, e16);
  EXPECT_GT(e16, 0.0);
}

TEST(QuantizedFullyConnected, PerAxisAlongOutputsForBothWeightLayouts) {
  const char* cfg = R"({"precision_config": {"precision_mode": "qint8_mixed_float32",
                       "weight_quant_granularity": "per_axis"}})";
  EXPECT_LT(MaxError(cfg, true, 8), 0.08);
  EXPECT_LT(MaxError(cfg, false, 8), 0.08);
  const char* dynamic = R"({"precision_config": {"precision_mode": "qint8_mixed_float32",
                           "activation_quant_mode": "dynamic", "activation_quant_algo": "asymmetric"}})";
  EXPECT_LT(MaxError(dynamic, true, 8), 0.08);
}

}  // namespace
}  // namespace mixq::testing

namespace mixq::testing {
namespace {

// Weights are stored quantized: an int8 model file is about a quarter of the
// float32 one, an int16 one about half (the bias stays float32 here).
TEST(QuantizedFullyConnected, ModelFileShrinksWithTheWeights) {
  auto make = [] {
    auto network = CreateINetwork();
    ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({-1, 512}));
    auto w = RandomFloats(256 * 512, 4);
    auto b = RandomFloats(256, 5);
    IFullyConnectedNode* fc = network->AddIFullyConnectedNode(
        x, network->AddIConstNode(DataType::FLOAT32, Dims({256, 512}), w.data())->GetOutput(0),
        network->AddIConstNode(DataType::FLOAT32, Dims({256}), b.data())->GetOutput(0));
    x->SetDynamicRange(Range{-1.0f, 1.0f}, true);
    network->MarkOutput(fc->GetOutput(0));
    return network;
  };
  auto file_size = [&](const char* mode, int64_t* weight_bytes) {
    auto network = make();
    auto model = BuildOrDie(network.get(), std::string(R"({"precision_config": {"precision_mode": ")") + mode + "\"}}");
    std::vector<uint8_t> bytes;
    EXPECT_TRUE(model->SerializeToMemory(&bytes).ok());
    *weight_bytes = model->GetWeightBytes();
    return static_cast<double>(bytes.size());
  };
  int64_t w32 = 0, w8 = 0, w16 = 0;
  const double f32 = file_size("force_float32", &w32);
  const double f8 = file_size("qint8_mixed_float32", &w8);
  const double f16 = file_size("qint16_mixed_float32", &w16);
  EXPECT_EQ(w32, (256 * 512 + 256) * 4);
  EXPECT_EQ(w8, 256 * 512 + 256 * 4);
  EXPECT_EQ(w16, 256 * 512 * 2 + 256 * 4);
  EXPECT_NEAR(f8 / f32, 0.25, 0.02);
  EXPECT_NEAR(f16 / f32, 0.5, 0.02);
}

}  // namespace
}  // namespace mixq::testing
