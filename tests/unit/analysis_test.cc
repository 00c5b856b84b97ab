// AnalyzeAccuracy (issue 13, part 1): a network with one range set 100x too
// narrow by hand; the analysis must rank that operator first, and its
// figures must equal an independent computation on the same runs.
#include "mixq/analysis.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api_test_util.h"
#include "calib_test_util.h"
#include "mixq/mixq.h"

namespace mixq::testing {
namespace {

struct Mlp {
  std::vector<float> w1 = RandomFloats(32 * 16, 21, -0.4f, 0.4f);
  std::vector<float> w2 = RandomFloats(32 * 32, 22, -0.3f, 0.3f);
  std::vector<float> w3 = RandomFloats(8 * 32, 23, -0.3f, 0.3f);
};

// x [B, 16] -> fc1 -> relu1 -> fc2 -> relu2 -> fc3 -> y [B, 8]. With
// `all_outputs` every intermediate tensor is an output too (for the
// independent check).
std::unique_ptr<INetwork> MakeMlp(const Mlp& w, bool all_outputs = false) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({-1, 16}));
  x->SetTensorName("x");
  auto fc = [&](ITensor* in, const std::vector<float>& weight, int64_t out, int64_t in_features, const char* name) {
    auto* node = network->AddIFullyConnectedNode(
        in, network->AddIConstNode(DataType::FLOAT32, Dims({out, in_features}), weight.data())->GetOutput(0), nullptr);
    node->SetNodeName(name);
    node->GetOutput(0)->SetTensorName(name);
    return node->GetOutput(0);
  };
  auto relu = [&](ITensor* in, const char* name) {
    auto* node = network->AddIActivationNode(in, ActivationType::RELU);
    node->SetNodeName(name);
    node->GetOutput(0)->SetTensorName(name);
    return node->GetOutput(0);
  };
  ITensor* h1 = fc(x, w.w1, 32, 16, "fc1");
  ITensor* r1 = relu(h1, "relu1");
  ITensor* h2 = fc(r1, w.w2, 32, 32, "fc2");
  ITensor* r2 = relu(h2, "relu2");
  ITensor* y = fc(r2, w.w3, 8, 32, "fc3");
  if (all_outputs) {
    for (ITensor* t : {h1, r1, h2, r2}) EXPECT_TRUE(network->MarkOutput(t).ok());
  }
  EXPECT_TRUE(network->MarkOutput(y).ok());
  return network;
}

std::vector<VectorCalibData::Sample> Samples(int count, uint32_t seed) {
  std::vector<VectorCalibData::Sample> samples;
  for (int s = 0; s < count; ++s)
    samples.push_back({Dims({4, 16}), RandomFloats(4 * 16, seed + static_cast<uint32_t>(s))});
  return samples;
}

// max over the samples of relu1's output, computed by hand (fc1 then ReLU).
float Relu1Max(const Mlp& w, const std::vector<VectorCalibData::Sample>& samples) {
  float amax = 0;
  for (const auto& s : samples)
    for (int b = 0; b < 4; ++b)
      for (int o = 0; o < 32; ++o) {
        float acc = 0;
        for (int i = 0; i < 16; ++i)
          acc += s.values[static_cast<size_t>(b * 16 + i)] * w.w1[static_cast<size_t>(o * 16 + i)];
        amax = std::max(amax, acc);
      }
  return amax;
}

// Calibrates (linear) and then narrows relu1's range 100x by hand.
void CalibrateAndBreak(INetwork* network, VectorCalibData* data, float relu1_max, IBuilderConfig* config) {
  auto calibrator = CreateICalibrator(data);
  ASSERT_TRUE(calibrator->Calibrate(network, config).ok());
  ASSERT_TRUE(network->FindTensorByName("relu1")->SetDynamicRange(Range{0.0f, relu1_max / 100}, true).ok());
}

struct Sums {
  double r2 = 0, t2 = 0, e2 = 0, rt = 0, max_abs = 0;
  double Sqnr() const { return 10 * std::log10(r2 / e2); }
  double Cosine() const { return rt / std::sqrt(r2 * t2); }
};

TEST(AnalyzeAccuracy, RanksTheLayerWithTheBrokenRangeFirst) {
  Mlp w;
  auto samples = Samples(8, 100);
  VectorCalibData data(samples);
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config->ParseFromString(kQint8MixedFloat32).ok());
  auto network = MakeMlp(w);
  const float relu1_max = Relu1Max(w, samples);
  ASSERT_GT(relu1_max, 0.5f);
  CalibrateAndBreak(network.get(), &data, relu1_max, config.get());

  AccuracyAnalysis result;
  AnalysisOptions options;
  int64_t last_step = 0, steps = 0;
  options.progress = [&](int64_t done, int64_t total, const std::string&) { last_step = done, steps = total; };
  const Status s = AnalyzeAccuracy(network.get(), config.get(), {&data}, options, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(result.samples, 8);
  EXPECT_EQ(result.precision_mode, "qint8_mixed_float32");
  EXPECT_EQ(steps, 4);  // accumulated + fc1, fc2, fc3
  EXPECT_EQ(last_step, 4);

  ASSERT_EQ(result.ranking.size(), 3u);  // the three quantized FullyConnected
  EXPECT_EQ(result.ranking[0].node, "fc2");
  EXPECT_EQ(result.ranking[0].rank, 1);
  EXPECT_EQ(result.ranking[0].op_type, "FullyConnected");
  // Clipping relu1 at 1 % of its max wrecks fc2: far below the healthy layers.
  EXPECT_LT(result.ranking[0].network_output.sqnr_db, 10.0);
  EXPECT_GT(result.ranking[1].network_output.sqnr_db, 25.0);
  EXPECT_LT(result.ranking[0].network_output.sqnr_db + 15.0, result.ranking[1].network_output.sqnr_db);

  // The independent check: float32 and quantized builds with every tensor an
  // output, run here, metrics summed here.
  auto float_net = MakeMlp(w, true);
  auto quant_net = MakeMlp(w, true);
  VectorCalibData data2(samples);
  CalibrateAndBreak(quant_net.get(), &data2, relu1_max, config.get());
  auto float_model = BuildOrDie(float_net.get(), "");
  auto quant_model = BuildOrDie(quant_net.get(), kQint8MixedFloat32);
  auto float_engine = float_model->CreateIEngine();
  auto quant_engine = quant_model->CreateIEngine();
  auto float_context = float_engine->CreateIContext();
  auto quant_context = quant_engine->CreateIContext();
  std::map<std::string, Sums> sums;
  for (auto sample : samples) {
    std::vector<std::unique_ptr<IRTTensor>> in_f, out_f, in_q, out_q;
    ASSERT_TRUE(float_context->CreateInputTensors(&in_f).ok());
    ASSERT_TRUE(float_context->CreateOutputTensors(&out_f).ok());
    ASSERT_TRUE(quant_context->CreateInputTensors(&in_q).ok());
    ASSERT_TRUE(quant_context->CreateOutputTensors(&out_q).ok());
    for (auto* in : {&in_f, &in_q}) {
      ASSERT_TRUE((*in)[0]->SetDimensions(sample.dims).ok());
      ASSERT_TRUE((*in)[0]->SetData(sample.values.data(), sample.values.size() * 4).ok());
    }
    ASSERT_TRUE(float_context->Enqueue(in_f, out_f).ok());
    ASSERT_TRUE(quant_context->Enqueue(in_q, out_q).ok());
    for (size_t o = 0; o < out_f.size(); ++o) {
      ASSERT_EQ(out_f[o]->GetName(), out_q[o]->GetName());
      const float* r = static_cast<const float*>(out_f[o]->GetData());
      const float* t = static_cast<const float*>(out_q[o]->GetData());
      Sums& s2 = sums[out_f[o]->GetName()];
      for (int64_t i = 0; i < out_f[o]->GetDimensions().GetElementCount(); ++i) {
        const double e = static_cast<double>(t[i]) - r[i];
        s2.r2 += static_cast<double>(r[i]) * r[i], s2.t2 += static_cast<double>(t[i]) * t[i];
        s2.e2 += e * e, s2.rt += static_cast<double>(r[i]) * t[i];
        s2.max_abs = std::max(s2.max_abs, std::fabs(e));
      }
    }
  }
  ASSERT_EQ(result.accumulated.size(), 5u);
  for (const TensorError& e : result.accumulated) {
    ASSERT_TRUE(sums.count(e.tensor)) << e.tensor;
    const Sums& want = sums[e.tensor];
    EXPECT_NEAR(e.sqnr_db, want.Sqnr(), 1e-9) << e.tensor;
    EXPECT_NEAR(e.cosine, want.Cosine(), 1e-12) << e.tensor;
    EXPECT_NEAR(e.max_abs, want.max_abs, 1e-12) << e.tensor;
    EXPECT_NEAR(e.relative_l2, std::sqrt(want.e2 / want.r2), 1e-12) << e.tensor;
    EXPECT_EQ(e.elements, 8 * 4 * (e.tensor == "fc3" ? 8 : 32)) << e.tensor;
  }
  // fc1 consumes the network input with a sound range: its output is close.
  EXPECT_GT(result.accumulated[0].sqnr_db, 30.0);
  EXPECT_EQ(result.accumulated[0].tensor, "fc1");
  ASSERT_EQ(result.outputs.size(), 1u);
  EXPECT_EQ(result.outputs[0].tensor, "fc3");

  // Without the float32 cache (the float32 build runs again beside every
  // isolated build) the figures are the same.
  AccuracyAnalysis uncached;
  AnalysisOptions no_cache;
  no_cache.reference_cache_bytes = 0;
  ASSERT_TRUE(AnalyzeAccuracy(network.get(), config.get(), {&data}, no_cache, &uncached).ok());
  ASSERT_EQ(uncached.ranking.size(), result.ranking.size());
  for (size_t i = 0; i < result.ranking.size(); ++i) {
    EXPECT_EQ(uncached.ranking[i].node, result.ranking[i].node);
    EXPECT_EQ(uncached.ranking[i].network_output.sqnr_db, result.ranking[i].network_output.sqnr_db);
    EXPECT_EQ(uncached.ranking[i].isolated[0].cosine, result.ranking[i].isolated[0].cosine);
  }

  const auto json = nlohmann::json::parse(result.ToJson());
  EXPECT_EQ(json["format"], "mixq-accuracy-analysis");
  EXPECT_EQ(json["ranking"][0]["node"], "fc2");
  EXPECT_EQ(json["samples"], 8);
  EXPECT_NE(result.ToString().find("fc2"), std::string::npos);
}

// qint8_mixed_float16: every operator runs in something else than float32
// (float16 storage elsewhere), so every one is analysed, and float16 tensors
// are compared as float32.
TEST(AnalyzeAccuracy, Float16ModeAnalysesEveryOperator) {
  Mlp w;
  auto samples = Samples(4, 200);
  VectorCalibData data(samples);
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config->ParseFromString(R"({"precision_config": {"precision_mode": "qint8_mixed_float16"}})").ok());
  auto network = MakeMlp(w);
  ASSERT_TRUE(CreateICalibrator(&data)->Calibrate(network.get(), config.get()).ok());
  AccuracyAnalysis result;
  const Status s = AnalyzeAccuracy(network.get(), config.get(), {&data}, {}, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(result.ranking.size(), 5u);  // fc1, relu1, fc2, relu2, fc3
  for (const auto& op : result.ranking) {
    EXPECT_GT(op.network_output.sqnr_db, 20.0) << op.node;  // no broken range: every one mild
    EXPECT_NE(op.precision.find("FLOAT16"), std::string::npos) << op.node << ": " << op.precision;
  }
  ASSERT_EQ(result.outputs.size(), 1u);
  EXPECT_GT(result.outputs[0].sqnr_db, 20.0);
  EXPECT_LT(result.outputs[0].sqnr_db, 80.0);  // not float32: the error is real
}

// conv1 -> AvgPool -> conv2: the AvgPool reads int8 in the quantized plan
// only as part of an integer chain (passes/integer_chain.h), which a node
// request cannot ask for. The isolated builds must not ask for it: the
// analysis runs (it used to fail building "only the AvgPool quantized") and
// ranks the two convolutions.
TEST(AnalyzeAccuracy, AnAvgPoolInsideAnIntegerChainIsNotRequestedAlone) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({1, 8, 8, 4}));
  x->SetTensorName("x");
  const auto w1 = RandomFloats(6 * 4, 31, -0.5f, 0.5f), w2 = RandomFloats(3 * 6, 32, -0.5f, 0.5f);
  auto* conv1 = network->AddIConvNode(
      x, network->AddIConstNode(DataType::FLOAT32, Dims({6, 1, 1, 4}), w1.data())->GetOutput(0), nullptr);
  conv1->SetNodeName("conv1");
  auto* pool = network->AddIAvgPool2DNode(conv1->GetOutput(0));
  pool->SetNodeName("pool");
  ASSERT_TRUE(pool->SetKernel(2, 2).ok());
  ASSERT_TRUE(pool->SetStride(2, 2).ok());
  auto* conv2 = network->AddIConvNode(
      pool->GetOutput(0), network->AddIConstNode(DataType::FLOAT32, Dims({3, 1, 1, 6}), w2.data())->GetOutput(0),
      nullptr);
  conv2->SetNodeName("conv2");
  ASSERT_TRUE(network->MarkOutput(conv2->GetOutput(0)).ok());
  std::vector<VectorCalibData::Sample> samples;
  for (uint32_t s = 0; s < 4; ++s) samples.push_back({Dims({1, 8, 8, 4}), RandomFloats(8 * 8 * 4, 300 + s)});
  VectorCalibData data(samples);
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config->ParseFromString(kQint8MixedFloat32).ok());
  ASSERT_TRUE(CreateICalibrator(&data)->Calibrate(network.get(), config.get()).ok());
  AccuracyAnalysis result;
  const Status s = AnalyzeAccuracy(network.get(), config.get(), {&data}, {}, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<std::string> ranked;
  for (const auto& op : result.ranking) ranked.push_back(op.node);
  std::sort(ranked.begin(), ranked.end());
  EXPECT_EQ(ranked, (std::vector<std::string>{"conv1", "conv2"}));
}

TEST(AnalyzeAccuracy, ErrorsNameWhatIsWrong) {
  Mlp w;
  auto network = MakeMlp(w);
  VectorCalibData data(Samples(2, 1));
  AccuracyAnalysis result;
  EXPECT_EQ(AnalyzeAccuracy(nullptr, nullptr, {&data}, {}, &result).code(), StatusCode::INVALID_ARGUMENT);
  Status s = AnalyzeAccuracy(network.get(), nullptr, {&data, &data}, {}, &result);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("one per input"), std::string::npos) << s.message();
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config->ParseFromString(kQint8MixedFloat32).ok());
  s = AnalyzeAccuracy(network.get(), config.get(), {&data}, {}, &result);  // not calibrated: no ranges
  EXPECT_EQ(s.code(), StatusCode::FAILED_PRECONDITION) << s.ToString();
  VectorCalibData empty({});
  s = AnalyzeAccuracy(network.get(), nullptr, {&empty}, {}, &result);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("empty"), std::string::npos) << s.message();
  // force_float32 against float32: nothing analysed, every error zero.
  s = AnalyzeAccuracy(network.get(), nullptr, {&data}, {}, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(result.ranking.empty());
  for (const auto& e : result.accumulated) EXPECT_TRUE(std::isinf(e.sqnr_db) && e.sqnr_db > 0) << e.tensor;
}

}  // namespace
}  // namespace mixq::testing
