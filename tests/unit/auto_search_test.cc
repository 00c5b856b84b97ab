// The output-aware `auto` range algorithm (calibration/auto_search.h): on a
// network whose output ignores a tensor's largest channel, the histogram
// proxy keeps that channel's range and loses at the output; the search
// measures the output and clips it. Output SQNRs are measured here
// independently of the search (float32 and quantized builds run side by side).
#include "calibration/auto_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "api/network_impl.h"
#include "api_test_util.h"
#include "calib_test_util.h"
#include "mixq/mixq.h"
#include "quant/range_auto.h"

namespace mixq::testing {
namespace {

using quant::RangeAlgorithm;

// x [B, 64] -> FC1 -> h -> FC2 -> y; x and h are FC2's and FC1's quantized
// inputs. h's channel 0 is `distractor` * x_0 (FC1's row 0), a channel the
// output never reads (FC2's column 0 is 0); the other channels are mixtures
// of x with unit-order variance.
// Head::kSoftmax: a Softmax over y's 16 classes is the output instead of y;
// kSoftmaxAndLogits: both are outputs (to measure y independently).
enum class Head { kLogits, kSoftmax, kSoftmaxAndLogits };

std::unique_ptr<INetwork> DistractorNet(float distractor, std::vector<float>* w1, std::vector<float>* w2,
                                        Head head = Head::kLogits) {
  *w1 = RandomFloats(64 * 64, 21, -0.2f, 0.2f);
  *w2 = RandomFloats(16 * 64, 22, -0.2f, 0.2f);
  std::fill(w1->begin(), w1->begin() + 64, 0.0f);
  (*w1)[0] = distractor;
  for (int o = 0; o < 16; ++o) (*w2)[static_cast<size_t>(o) * 64] = 0.0f;
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({-1, 64}));
  x->SetTensorName("x");
  auto* fc1 = network->AddIFullyConnectedNode(
      x, network->AddIConstNode(DataType::FLOAT32, Dims({64, 64}), w1->data())->GetOutput(0), nullptr);
  fc1->GetOutput(0)->SetTensorName("h");
  auto* fc2 = network->AddIFullyConnectedNode(
      fc1->GetOutput(0), network->AddIConstNode(DataType::FLOAT32, Dims({16, 64}), w2->data())->GetOutput(0), nullptr);
  fc2->GetOutput(0)->SetTensorName("y");
  if (head != Head::kLogits) {
    auto* softmax = network->AddISoftmaxNode(fc2->GetOutput(0), -1);
    softmax->GetOutput(0)->SetTensorName("probabilities");
    EXPECT_TRUE(network->MarkOutput(softmax->GetOutput(0)).ok());
  }
  if (head != Head::kSoftmax) {
    EXPECT_TRUE(network->MarkOutput(fc2->GetOutput(0)).ok());
  }
  return network;
}

// x: 0.5 * Student's t(dof): tails that matter at the output when clipped.
std::vector<VectorCalibData::Sample> Samples(int count, uint32_t seed, float dof = 4.0f) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> t(dof);
  std::vector<VectorCalibData::Sample> samples;
  for (int s = 0; s < count; ++s) {
    VectorCalibData::Sample sample{Dims({32, 64}), std::vector<float>(32 * 64)};
    for (float& v : sample.values) v = 0.5f * t(rng);
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::string Config(int kept) {
  return R"({"precision_config": {"precision_mode": "qint8_mixed_float32", "auto_output_samples": )" +
         std::to_string(kept) + "}}";
}

// Output SQNR (dB) over `samples` of the build with `config`, against float32.
double OutputSqnr(INetwork* network, const std::string& config, const std::vector<VectorCalibData::Sample>& samples) {
  auto float_model = BuildOrDie(network, "");
  auto quant_model = BuildOrDie(network, config);
  auto float_context = float_model->CreateIEngine()->CreateIContext();
  auto quant_engine = quant_model->CreateIEngine();
  auto quant_context = quant_engine->CreateIContext();
  double signal = 0, noise = 0;
  for (auto sample : samples) {
    const auto want = RunOnce(float_context.get(), sample.dims, sample.values);
    const auto got = RunOnce(quant_context.get(), sample.dims, sample.values);
    for (size_t i = 0; i < want.size(); ++i) {
      signal += static_cast<double>(want[i]) * want[i];
      noise += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
    }
  }
  return 10.0 * std::log10(signal / noise);
}

struct Calibrated {
  double sqnr_db = 0.0;
  std::map<std::string, RangeAlgorithm> auto_choice;
};

Calibrated Calibrate(INetwork* network, QuantizationAlgorithm algorithm, int kept,
                     const std::vector<VectorCalibData::Sample>& samples) {
  VectorCalibData data(samples);
  auto config = CreateIBuilderConfig();
  EXPECT_TRUE(config->ParseFromString(Config(kept)).ok());
  auto calibrator = CreateICalibrator(&data);
  EXPECT_TRUE(calibrator->SetQuantizationAlgorithm(algorithm).ok());
  const Status s = calibrator->Calibrate(network, config.get());
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(calibrator->GetWarnings().empty()) << calibrator->GetWarnings()[0];
  Calibrated out;
  out.sqnr_db = OutputSqnr(network, Config(kept), samples);
  out.auto_choice = api::ToImpl(network)->calibration()->auto_choice;
  std::printf("%-10s kept %d: output SQNR %.2f dB\n", QuantizationAlgorithmName(algorithm), kept, out.sqnr_db);
  return out;
}

TEST(AutoSearch, ClipsTheChannelTheOutputIgnoresAndBeatsEverySingleAlgorithm) {
  std::vector<float> w1, w2;
  auto network = DistractorNet(40.0f, &w1, &w2);
  const auto samples = Samples(8, 1);  // all kept (auto_output_samples 8)
  std::vector<double> singles;
  for (auto algorithm : {QuantizationAlgorithm::LINEAR, QuantizationAlgorithm::EQNM, QuantizationAlgorithm::ENTROPY,
                         QuantizationAlgorithm::PERCENTILE})
    singles.push_back(Calibrate(network.get(), algorithm, 8, samples).sqnr_db);
  const Calibrated proxy = Calibrate(network.get(), QuantizationAlgorithm::AUTO, 0, samples);
  EXPECT_TRUE(proxy.auto_choice.empty());
  const Calibrated aware = Calibrate(network.get(), QuantizationAlgorithm::AUTO, 8, samples);
  ASSERT_EQ(aware.auto_choice.size(), 2u);  // x and h

  // The proxy keeps h's distractor channel (max |h| ~ 40 * max |x|), which
  // leaves ~0.3 of a unit-variance channel per step; clipping it is what the
  // output wants.
  EXPECT_LT(proxy.sqnr_db, *std::max_element(singles.begin(), singles.end()) - 3.0);
  const RangeAlgorithm h = aware.auto_choice.at("h");
  EXPECT_TRUE(h == RangeAlgorithm::kEntropy) << quant::RangeAlgorithmName(h);
  // The guarantee: at least every single algorithm (and the proxy) on the kept samples.
  for (double single : singles) EXPECT_GE(aware.sqnr_db, single - 1e-9);
  EXPECT_GT(aware.sqnr_db, proxy.sqnr_db + 10.0);
}

// SaveStatistics records the search's choices (calibration file version 2)
// and LoadStatistics with AUTO uses them: the reloaded network builds the
// searched ranges, not the proxy's, with no samples to search again.
TEST(AutoSearch, CalibrationFilesKeepTheSearchedChoices) {
  std::vector<float> w1, w2;
  auto network = DistractorNet(40.0f, &w1, &w2);
  const auto samples = Samples(8, 1);
  const Calibrated aware = Calibrate(network.get(), QuantizationAlgorithm::AUTO, 8, samples);
  ASSERT_EQ(aware.auto_choice.size(), 2u);
  const std::string path = ::testing::TempDir() + "auto_choices.mixqcal";
  VectorCalibData none({});
  auto saver = CreateICalibrator(&none);
  ASSERT_TRUE(saver->SaveStatistics(network.get(), path).ok());

  std::vector<float> v1, v2;
  auto reloaded = DistractorNet(40.0f, &v1, &v2);
  auto loader = CreateICalibrator(&none);
  ASSERT_TRUE(loader->SetQuantizationAlgorithm(QuantizationAlgorithm::AUTO).ok());
  const Status s = loader->LoadStatistics(reloaded.get(), path);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(loader->GetWarnings().empty());
  EXPECT_EQ(api::ToImpl(reloaded.get())->calibration()->auto_choice, aware.auto_choice);
  // The build from the file scores what the search scored (the proxy is >10 dB worse here).
  EXPECT_EQ(OutputSqnr(reloaded.get(), Config(8), samples), aware.sqnr_db);

  // At another percentile, the choices stay but the file says they were searched at 99.99.
  auto other = CreateICalibrator(&none);
  ASSERT_TRUE(other->SetQuantizationAlgorithm(QuantizationAlgorithm::AUTO, 99.0).ok());
  ASSERT_TRUE(other->LoadStatistics(reloaded.get(), path).ok());
  const bool percentile_chosen = std::count_if(aware.auto_choice.begin(), aware.auto_choice.end(), [](const auto& c) {
                                   return c.second == RangeAlgorithm::kPercentile;
                                 }) > 0;
  EXPECT_EQ(other->GetWarnings().size(), percentile_chosen ? 1u : 0u);
}

// The search's own figures: the starts are each single algorithm and the
// proxy, scored as the builds above score them; the result is the best start
// or better.
TEST(AutoSearch, ReportsStartsThatMatchIndependentBuilds) {
  std::vector<float> w1, w2;
  auto network = DistractorNet(40.0f, &w1, &w2);
  const auto samples = Samples(8, 1);
  VectorCalibData data(samples);
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config->ParseFromString(Config(0)).ok());
  auto calibrator = CreateICalibrator(&data);
  ASSERT_TRUE(calibrator->SetQuantizationAlgorithm(QuantizationAlgorithm::AUTO).ok());
  ASSERT_TRUE(calibrator->Calibrate(network.get(), config.get()).ok());  // the histograms
  api::NetworkImpl* impl = api::ToImpl(network.get());
  quant::CalibrationState state = *impl->calibration();
  quant::KeptSamples kept;
  for (const auto& s : samples) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(s.values.data());
    kept.push_back({quant::KeptInput{s.dims, DataType::FLOAT32,
                                     std::vector<uint8_t>(bytes, bytes + s.values.size() * sizeof(float))}});
  }
  passes::BuildOptions options;
  options.precision_mode = "qint8_mixed_float32";
  std::vector<std::pair<int64_t, int64_t>> ticks;
  quant::AutoSearchReport report;
  ASSERT_TRUE(quant::SearchAutoRanges(
                  impl->graph(), options, kept, [&](int64_t done, int64_t total) { ticks.emplace_back(done, total); },
                  &state, &report)
                  .ok());
  ASSERT_EQ(report.starts.size(), 5u);
  EXPECT_EQ(report.starts[0].first, "auto (proxy)");
  EXPECT_EQ(report.starts[1].first, "linear");
  EXPECT_EQ(report.starts[3].first, "entropy");
  // Each single algorithm's start, against a build calibrated with it.
  const QuantizationAlgorithm algorithms[] = {QuantizationAlgorithm::LINEAR, QuantizationAlgorithm::EQNM,
                                              QuantizationAlgorithm::ENTROPY, QuantizationAlgorithm::PERCENTILE};
  for (size_t i = 0; i < 4; ++i)
    EXPECT_NEAR(report.starts[i + 1].second, Calibrate(network.get(), algorithms[i], 0, samples).sqnr_db, 1e-6)
        << report.starts[i + 1].first;
  double best = report.starts[0].second;
  for (const auto& [name, db] : report.starts) best = std::max(best, db);
  EXPECT_GE(report.final_db, best);
  // Two tensors with up to 3 other candidates each, 2 passes at most.
  EXPECT_GE(report.builds, 4);  // starts with the same choices are built once
  EXPECT_LE(report.builds, 5 + 2 * 6);
  ASSERT_FALSE(ticks.empty());
  EXPECT_EQ(ticks.front().first, 0);
  EXPECT_EQ(ticks.back().first, ticks.back().second);
  // The chosen ranges, built the ordinary way, score what the search reported.
  impl->set_calibration(std::make_shared<quant::CalibrationState>(state));
  EXPECT_NEAR(OutputSqnr(network.get(), Config(0), samples), report.final_db, 1e-6);
}

// A Softmax output is scored at its input: the search's start scores are
// the logits' SQNR, as builds with the logits marked as an output measure it.
TEST(AutoSearch, ScoresASoftmaxOutputAtItsLogits) {
  std::vector<float> w1, w2;
  auto network = DistractorNet(40.0f, &w1, &w2, Head::kSoftmax);
  auto measured = DistractorNet(40.0f, &w1, &w2, Head::kSoftmaxAndLogits);
  const auto samples = Samples(8, 1);
  VectorCalibData data(samples);
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config->ParseFromString(Config(0)).ok());
  auto calibrator = CreateICalibrator(&data);
  ASSERT_TRUE(calibrator->SetQuantizationAlgorithm(QuantizationAlgorithm::LINEAR).ok());
  ASSERT_TRUE(calibrator->Calibrate(network.get(), config.get()).ok());
  quant::CalibrationState state = *api::ToImpl(network.get())->calibration();
  quant::KeptSamples kept;
  for (const auto& s : samples) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(s.values.data());
    kept.push_back({quant::KeptInput{s.dims, DataType::FLOAT32,
                                     std::vector<uint8_t>(bytes, bytes + s.values.size() * sizeof(float))}});
  }
  passes::BuildOptions options;
  options.precision_mode = "qint8_mixed_float32";
  quant::AutoSearchReport report;
  ASSERT_TRUE(
      quant::SearchAutoRanges(api::ToImpl(network.get())->graph(), options, kept, nullptr, &state, &report).ok());
  ASSERT_EQ(report.starts.size(), 5u);
  // The logits' SQNR of linear and entropy everywhere, measured on `measured` (y is its second output).
  const QuantizationAlgorithm algorithms[] = {QuantizationAlgorithm::LINEAR, QuantizationAlgorithm::ENTROPY};
  const size_t start_of[] = {1, 3};
  for (size_t k = 0; k < 2; ++k) {
    VectorCalibData again(samples);
    auto c = CreateICalibrator(&again);
    ASSERT_TRUE(c->SetQuantizationAlgorithm(algorithms[k]).ok());
    ASSERT_TRUE(c->Calibrate(measured.get(), config.get()).ok());
    auto float_model = BuildOrDie(measured.get(), "");
    auto quant_model = BuildOrDie(measured.get(), Config(0));
    auto float_context = float_model->CreateIEngine()->CreateIContext();
    auto quant_engine = quant_model->CreateIEngine();
    auto quant_context = quant_engine->CreateIContext();
    double signal = 0, noise = 0;
    for (auto sample : samples) {
      std::vector<float> logits[2];
      IContext* contexts[2] = {float_context.get(), quant_context.get()};
      for (int m = 0; m < 2; ++m) {
        std::vector<std::unique_ptr<IRTTensor>> in, out;
        ASSERT_TRUE(contexts[m]->CreateInputTensors(&in).ok());
        ASSERT_TRUE(contexts[m]->CreateOutputTensors(&out).ok());
        ASSERT_TRUE(in[0]->SetDimensions(sample.dims).ok());
        ASSERT_TRUE(in[0]->SetData(sample.values.data(), sample.values.size() * sizeof(float)).ok());
        ASSERT_TRUE(contexts[m]->Enqueue(in, out).ok());
        ASSERT_EQ(out[1]->GetName(), "y");
        const auto* y = static_cast<const float*>(out[1]->GetData());
        logits[m].assign(y, y + out[1]->GetDimensions().GetElementCount());
      }
      for (size_t i = 0; i < logits[0].size(); ++i) {
        const double r = logits[0][i], e = static_cast<double>(logits[1][i]) - r;
        signal += r * r;
        noise += e * e;
      }
    }
    EXPECT_NEAR(report.starts[start_of[k]].second, 10.0 * std::log10(signal / noise), 1e-6)
        << report.starts[start_of[k]].first;
  }
  EXPECT_GT(report.starts[3].second, report.starts[1].second + 3.0);  // entropy clips h's distractor
}

// x [B, 64] -> FC -> y: one quantized tensor, whose error reaches the
// output through one layer of mixed weights.
std::unique_ptr<INetwork> OneLayerNet(std::vector<float>* w) {
  *w = RandomFloats(16 * 64, 23, -0.2f, 0.2f);
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({-1, 64}));
  x->SetTensorName("x");
  auto* fc = network->AddIFullyConnectedNode(
      x, network->AddIConstNode(DataType::FLOAT32, Dims({16, 64}), w->data())->GetOutput(0), nullptr);
  EXPECT_TRUE(network->MarkOutput(fc->GetOutput(0)).ok());
  return network;
}

// A near miss: the output error follows the tensor's own error, the proxy's
// choice is already the best at the output, and nothing changes.
TEST(AutoSearch, KeepsTheProxysChoiceWhenItIsBestAtTheOutput) {
  std::vector<float> w;
  auto network = OneLayerNet(&w);
  const auto samples = Samples(8, 3);
  const Calibrated proxy = Calibrate(network.get(), QuantizationAlgorithm::AUTO, 0, samples);
  const Calibrated aware = Calibrate(network.get(), QuantizationAlgorithm::AUTO, 8, samples);
  ASSERT_EQ(aware.auto_choice.size(), 1u);
  Range range;
  RangeAlgorithm chosen = RangeAlgorithm::kLinear;
  quant::RangeOptions options;
  options.percentile = 99.99;
  ASSERT_TRUE(
      quant::AutoRange(api::ToImpl(network.get())->calibration()->observers.at("x"), options, &range, &chosen).ok());
  EXPECT_EQ(aware.auto_choice.at("x"), chosen) << quant::RangeAlgorithmName(chosen);
  EXPECT_NEAR(aware.sqnr_db, proxy.sqnr_db, 1e-9);
}

TEST(AutoSearch, ConfigKeyIsValidated) {
  auto config = CreateIBuilderConfig();
  EXPECT_TRUE(config->ParseFromString(Config(0)).ok());
  EXPECT_NE(config->ToJson().find("\"auto_output_samples\":0"), std::string::npos) << config->ToJson();
  for (const char* bad : {"-1", "65", "2.5", "\"on\""}) {
    auto c = CreateIBuilderConfig();
    const Status s = c->ParseFromString(std::string(R"({"precision_config": {"auto_output_samples": )") + bad + "}}");
    EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_NE(s.message().find("auto_output_samples"), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace mixq::testing
