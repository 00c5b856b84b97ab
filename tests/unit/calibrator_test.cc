// ICalibrator through the public API: which tensors are observed, streaming
// statistics with dynamic shapes, every sample error, how calibrated ranges
// reach the build (and lose to hand-set forced ones), and each algorithm on
// a distribution with a known answer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "../../examples/small_resnet.h"
#include "api_test_util.h"
#include "calib_test_util.h"
#include "format/model_file.h"
#include "quant/calib_file.h"
#include "quant/range_algorithms.h"

namespace mixq::testing {
namespace {

constexpr const char* kQint16 = R"({"precision_config": {"precision_mode": "qint16_mixed_float32"}})";

// x [-1, 8] -> fc1 (4 out) -> relu -> fc2 (3 out). Quantized in qint8 mode:
// x and the relu output (the weights come from themselves).
std::unique_ptr<INetwork> TwoLayerNet(float weight_scale = 1.0f) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({-1, 8}));
  x->SetTensorName("x");
  auto w1 = RandomFloats(32, 1, -weight_scale, weight_scale), b1 = RandomFloats(4, 2);
  auto w2 = RandomFloats(12, 3), b2 = RandomFloats(3, 4);
  auto* fc1 = network->AddIFullyConnectedNode(
      x, network->AddIConstNode(DataType::FLOAT32, Dims({4, 8}), w1.data())->GetOutput(0),
      network->AddIConstNode(DataType::FLOAT32, Dims({4}), b1.data())->GetOutput(0));
  auto* relu = network->AddIActivationNode(fc1->GetOutput(0), ActivationType::RELU);
  relu->GetOutput(0)->SetTensorName("hidden");
  auto* fc2 = network->AddIFullyConnectedNode(
      relu->GetOutput(0), network->AddIConstNode(DataType::FLOAT32, Dims({3, 4}), w2.data())->GetOutput(0),
      network->AddIConstNode(DataType::FLOAT32, Dims({3}), b2.data())->GetOutput(0));
  network->MarkOutput(fc2->GetOutput(0));
  return network;
}

std::vector<VectorCalibData::Sample> RowSamples(const std::vector<int64_t>& batches, uint32_t seed) {
  std::vector<VectorCalibData::Sample> samples;
  for (size_t i = 0; i < batches.size(); ++i)
    samples.push_back({Dims({batches[i], 8}), RandomFloats(static_cast<size_t>(batches[i] * 8), seed + i, -3, 2)});
  return samples;
}

std::unique_ptr<IBuilderConfig> Config(const char* json) {
  auto config = CreateIBuilderConfig();
  EXPECT_TRUE(config->ParseFromString(json).ok()) << json;
  return config;
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("mixq_" + std::to_string(::getpid()) + "_" + name)).string();
}

// The statistics a network holds, through a saved calibration file.
quant::CalibrationFile SavedStatistics(ICalibrator* calibrator, INetwork* network) {
  const std::string path = TempPath("stats.bin");
  EXPECT_TRUE(calibrator->SaveStatistics(network, path).ok());
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  quant::CalibrationFile file;
  EXPECT_TRUE(quant::ReadCalibrationFile(bytes.data(), bytes.size(), &file).ok());
  return file;
}

// The scale the built model quantizes input `input` of node `node` with.
float ActivationScale(IModel* model, const std::string& node, size_t input) {
  std::vector<uint8_t> bytes;
  EXPECT_TRUE(model->SerializeToMemory(&bytes).ok());
  format::ModelData data;
  EXPECT_TRUE(format::ReadModel(bytes.data(), bytes.size(), &data).ok());
  const ir::Node* n = data.graph.FindNode(node);
  if (!n || input >= n->input_quant.size() || !n->input_quant[input] || n->input_quant[input]->scales.empty()) {
    ADD_FAILURE() << "no static quantization on input " << input << " of " << node;
    return 0;
  }
  return n->input_quant[input]->scales[0];
}

float MaxAbs(const std::vector<VectorCalibData::Sample>& samples) {
  float m = 0;
  for (const auto& s : samples)
    for (float v : s.values) m = std::max(m, std::fabs(v));
  return m;
}

TEST(Calibrator, ObservesExactlyTheActivationsThePlanQuantizes) {
  auto network = CreateINetwork();
  ASSERT_TRUE(examples::BuildSmallResNet(network.get()).ok());
  // Input 0 of every conv and fully connected node, never weights; and the
  // inputs of the residual adds and the global average pool, which run on
  // int8 (int8_rescale_chains, on by default).
  std::set<std::string> expected;
  for (INode* node : network->GetAllNodes()) {
    const std::string op = node->GetOpType();
    if (op == "Conv2D" || op == "FullyConnected" || op == "GlobalAvgPool")
      expected.insert(node->GetInput(0)->GetTensorName());
    if (op == "Elementwise")
      for (int i = 0; i < 2; ++i) expected.insert(node->GetInput(i)->GetTensorName());
  }
  VectorCalibData data(ImageSamples(3, 2, 5));
  auto calibrator = CreateICalibrator(&data);
  const Status status = calibrator->Calibrate(network.get(), Config(kQint8MixedFloat32).get());
  ASSERT_TRUE(status.ok()) << status.ToString();
  const auto file = SavedStatistics(calibrator.get(), network.get());
  std::set<std::string> observed;
  for (const auto& [name, state] : file.tensors) observed.insert(name);
  EXPECT_EQ(observed, expected);
  const auto& image = file.tensors.at("image");
  EXPECT_EQ(image.count, 3u * 2 * 16 * 16 * 3);
  float lo = 1e9f, hi = -1e9f;
  for (const auto& s : data.samples())
    for (float v : s.values) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_EQ(image.min, lo);
  EXPECT_EQ(image.max, hi);
}

TEST(Calibrator, StreamsSamplesOfChangingShapeInBoundedMemory) {
  auto network = TwoLayerNet();
  VectorCalibData few(RowSamples({1, 5, 2}, 10));
  auto calibrator = CreateICalibrator(&few);
  std::vector<std::pair<int64_t, int64_t>> progress;
  calibrator->SetProgressCallback([&](int64_t done, int64_t total) { progress.emplace_back(done, total); });
  ASSERT_TRUE(calibrator->Calibrate(network.get(), Config(kQint8MixedFloat32).get()).ok());
  EXPECT_EQ(progress, (std::vector<std::pair<int64_t, int64_t>>{{1, 3}, {2, 3}, {3, 3}}));
  const auto stats = SavedStatistics(calibrator.get(), network.get());
  ASSERT_EQ(stats.tensors.size(), 2u);
  EXPECT_EQ(stats.tensors.at("x").count, 8u * 8);
  EXPECT_EQ(stats.tensors.at("hidden").count, 8u * 4);
  EXPECT_GE(stats.tensors.at("hidden").min, 0.0f);  // after the ReLU

  // 100x the samples: the statistics keep the same size (bins per tensor).
  std::vector<int64_t> many(300, 1);
  VectorCalibData more(RowSamples(many, 20));
  more.report_count = false;
  auto calibrator2 = CreateICalibrator(&more);
  progress.clear();
  calibrator2->SetProgressCallback([&](int64_t done, int64_t total) { progress.emplace_back(done, total); });
  ASSERT_TRUE(calibrator2->Calibrate(network.get(), Config(kQint8MixedFloat32).get()).ok());
  ASSERT_EQ(progress.size(), 300u);
  EXPECT_EQ(progress.back(), (std::pair<int64_t, int64_t>{300, -1}));
  const auto bigger = SavedStatistics(calibrator2.get(), network.get());
  EXPECT_EQ(bigger.tensors.at("x").count, 300u * 8);
  EXPECT_EQ(bigger.tensors.at("x").num_bins, stats.tensors.at("x").num_bins);
}

struct SampleErrorCase {
  const char* what;
  std::vector<VectorCalibData::Sample> samples;
  int64_t fail_at = -1, null_at = -1, bad_type_at = -1;
  StatusCode code;
  std::vector<std::string> message_parts;
};

TEST(Calibrator, SampleErrorsNameTheInputAndSample) {
  auto good = RowSamples({2, 2, 2}, 30);
  auto wrong_rank = good;
  wrong_rank[2].dims = Dims({2, 8, 1});
  auto wrong_dim = good;
  wrong_dim[1].dims = Dims({4, 4});
  std::vector<SampleErrorCase> cases = {
      {"rank", wrong_rank, -1, -1, -1, StatusCode::INVALID_ARGUMENT, {"sample 2", "'x'", "rank 3", "rank 2"}},
      {"fixed dim", wrong_dim, -1, -1, -1, StatusCode::INVALID_ARGUMENT, {"sample 1", "'x'", "[4,4]"}},
      {"dtype", good, -1, -1, 1, StatusCode::INVALID_ARGUMENT, {"sample 1", "'x'", "INT8", "FLOAT32"}},
      {"null sample", good, -1, 0, -1, StatusCode::INVALID_ARGUMENT, {"sample 0", "'x'", "GetSample() returned null"}},
      {"Next() error", good, 2, -1, -1, StatusCode::DATA_LOSS, {"sample 2", "'x'", "disk read failed"}},
      {"no samples", {}, -1, -1, -1, StatusCode::FAILED_PRECONDITION, {"no sample"}},
  };
  for (auto& c : cases) {
    auto network = TwoLayerNet();
    VectorCalibData data(c.samples);
    data.fail_at = c.fail_at;
    data.null_at = c.null_at;
    data.bad_type_at = c.bad_type_at;
    const Status status = CreateICalibrator(&data)->Calibrate(network.get(), Config(kQint8MixedFloat32).get());
    EXPECT_EQ(status.code(), c.code) << c.what << ": " << status.ToString();
    for (const auto& part : c.message_parts)
      EXPECT_NE(status.message().find(part), std::string::npos) << c.what << ": " << status.message();
    // A failed calibration leaves no statistics behind: the build still lacks ranges.
    auto builder = CreateIBuilder();
    EXPECT_EQ(builder->BuildModel("t", network.get(), Config(kQint8MixedFloat32).get()), nullptr) << c.what;
    EXPECT_EQ(builder->GetLastStatus().code(), StatusCode::FAILED_PRECONDITION) << c.what;
  }
}

TEST(Calibrator, RejectsBadArgumentsBeforeRunningAnyData) {
  auto network = TwoLayerNet();
  VectorCalibData data(RowSamples({2}, 40));
  auto qint8 = Config(kQint8MixedFloat32);
  EXPECT_EQ(CreateICalibrator(&data)->Calibrate(nullptr, qint8.get()).code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(CreateICalibrator(nullptr)->Calibrate(network.get(), qint8.get()).code(), StatusCode::INVALID_ARGUMENT);
  const Status two = CreateICalibrator({&data, &data})->Calibrate(network.get(), qint8.get());
  EXPECT_EQ(two.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(two.message().find("1 inputs but the calibrator was given 2"), std::string::npos) << two.message();

  const Status float32 = CreateICalibrator(&data)->Calibrate(network.get(), nullptr);
  EXPECT_EQ(float32.code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(float32.message().find("nothing to calibrate"), std::string::npos) << float32.message();
  const Status dynamic = CreateICalibrator(&data)->Calibrate(
      network.get(), Config(R"({"precision_config": {"precision_mode": "qint8_mixed_float32",
                                "activation_quant_mode": "dynamic"}})")
                         .get());
  EXPECT_EQ(dynamic.code(), StatusCode::FAILED_PRECONDITION);

  auto calibrator = CreateICalibrator(&data);
  ASSERT_TRUE(calibrator->SetQuantizationAlgorithm(QuantizationAlgorithm::EQNM).ok());
  const Status eqnm =
      calibrator->Calibrate(network.get(), Config(R"({"precision_config": {"precision_mode": "qint8_mixed_float32",
                                "activation_quant_algo": "asymmetric"}})")
                                               .get());
  EXPECT_EQ(eqnm.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(eqnm.message().find("eqnm supports symmetric quantization only"), std::string::npos) << eqnm.message();
  EXPECT_EQ(data.next_calls, 0);

  EXPECT_EQ(calibrator->SetQuantizationAlgorithm(QuantizationAlgorithm::PERCENTILE, 0.0).code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(calibrator->SetQuantizationAlgorithm(QuantizationAlgorithm::PERCENTILE, 100.5).code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(calibrator->SetQuantizationAlgorithm(static_cast<QuantizationAlgorithm>(9)).code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(calibrator->SetHistogramBins(-1).code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(calibrator->SetHistogramBins((1 << 20) + 1).code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(calibrator->SetHistogramBins(0).ok());  // ranges only
}

TEST(Calibrator, InputsMustRunOutTogether) {
  auto network = CreateINetwork();
  ITensor* a = network->AddIInput(DataType::FLOAT32, Dims({-1, 8}));
  a->SetTensorName("a");
  ITensor* b = network->AddIInput(DataType::FLOAT32, Dims({-1, 8}));
  b->SetTensorName("b");
  auto w = RandomFloats(32, 1);
  auto* sum = network->AddIElementwiseNode(a, b, ElementwiseOp::ADD);
  auto* fc = network->AddIFullyConnectedNode(
      sum->GetOutput(0), network->AddIConstNode(DataType::FLOAT32, Dims({4, 8}), w.data())->GetOutput(0), nullptr);
  network->MarkOutput(fc->GetOutput(0));
  VectorCalibData three(RowSamples({1, 1, 1}, 50)), two(RowSamples({1, 1}, 60));
  const Status status = CreateICalibrator({&three, &two})->Calibrate(network.get(), Config(kQint8MixedFloat32).get());
  EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.message().find("at sample 2 input(s) 'b' ended but 'a' did not"), std::string::npos)
      << status.message();
  VectorCalibData two_more(RowSamples({1, 1, 1}, 70));
  auto calibrator = CreateICalibrator({&three, &two_more});
  ASSERT_TRUE(calibrator->Calibrate(network.get(), Config(kQint8MixedFloat32).get()).ok());
  // Only the Add output feeds the fully connected layer; the inputs themselves are not quantized.
  const auto stats = SavedStatistics(calibrator.get(), network.get());
  ASSERT_EQ(stats.tensors.size(), 1u);
  EXPECT_EQ(stats.tensors.begin()->first, sum->GetOutput(0)->GetTensorName());
}

TEST(Calibrator, CalibratedRangesReachTheBuildAndForcedHandRangesWin) {
  VectorCalibData data(RowSamples({4, 4, 4}, 80));
  const float max_abs = MaxAbs(data.samples());
  auto calibrate_and_build = [&](INetwork* network, const char* config) {
    auto calibrator = CreateICalibrator(&data);
    const Status status = calibrator->Calibrate(network, Config(config).get());
    EXPECT_TRUE(status.ok()) << status.ToString();
    return BuildOrDie(network, config);
  };
  auto plain = TwoLayerNet();
  auto model = calibrate_and_build(plain.get(), kQint8MixedFloat32);
  EXPECT_FLOAT_EQ(ActivationScale(model.get(), "FullyConnected", 0), max_abs / 127);

  auto forced = TwoLayerNet();
  ASSERT_TRUE(forced->FindTensorByName("x")->SetDynamicRange(Range{-4, 4}, true).ok());
  model = calibrate_and_build(forced.get(), kQint8MixedFloat32);
  EXPECT_FLOAT_EQ(ActivationScale(model.get(), "FullyConnected", 0), 4.0f / 127);

  auto unforced = TwoLayerNet();
  ASSERT_TRUE(unforced->FindTensorByName("x")->SetDynamicRange(Range{-4, 4}, false).ok());
  model = calibrate_and_build(unforced.get(), kQint8MixedFloat32);
  EXPECT_FLOAT_EQ(ActivationScale(model.get(), "FullyConnected", 0), max_abs / 127);

  auto custom = TwoLayerNet();
  model = calibrate_and_build(custom.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float32",
                                              "custom_ranges": {"x": [-5, 5]}}})");
  EXPECT_FLOAT_EQ(ActivationScale(model.get(), "FullyConnected", 0), 5.0f / 127);

  // QINT16 divides the same range by 32767.
  auto wide = TwoLayerNet();
  model = calibrate_and_build(wide.get(), kQint16);
  EXPECT_FLOAT_EQ(ActivationScale(model.get(), "FullyConnected", 0), max_abs / 32767);

  // Asymmetric: the same statistics give s = (max - min) / 255 (SPEC §1).
  constexpr const char* kAsymmetric = R"({"precision_config": {"precision_mode": "qint8_mixed_float32",
                                         "activation_quant_algo": "asymmetric"}})";
  float lo = 0, hi = 0;
  for (const auto& sample : data.samples())
    for (float v : sample.values) lo = std::min(lo, v), hi = std::max(hi, v);
  auto asymmetric = TwoLayerNet();
  model = calibrate_and_build(asymmetric.get(), kAsymmetric);
  EXPECT_FLOAT_EQ(ActivationScale(model.get(), "FullyConnected", 0), (hi - lo) / 255);
  // eqnm statistics cannot make an asymmetric range: a clear build error.
  auto calibrator = CreateICalibrator(&data);
  ASSERT_TRUE(calibrator->SetQuantizationAlgorithm(QuantizationAlgorithm::EQNM).ok());
  ASSERT_TRUE(calibrator->Calibrate(asymmetric.get(), Config(kQint8MixedFloat32).get()).ok());
  auto builder = CreateIBuilder();
  EXPECT_EQ(builder->BuildModel("t", asymmetric.get(), Config(kAsymmetric).get()), nullptr);
  EXPECT_EQ(builder->GetLastStatus().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(builder->GetLastStatus().message().find("eqnm supports symmetric quantization only"), std::string::npos)
      << builder->GetLastStatus().message();
}

// SetHistogramBins(0): ranges only. LINEAR gives the models the histogram
// path gives, bit for bit (the same min / max); another algorithm is refused
// before any data runs, SaveStatistics is refused (files carry histograms),
// WriteRangeTable works; a custom range that clips is still reported.
TEST(Calibrator, RangesOnlyGiveLinearsModelAndRefuseWhatNeedsHistograms) {
  VectorCalibData data(RowSamples({4, 3, 5}, 70));
  auto with_histograms = TwoLayerNet(), ranges_only = TwoLayerNet();
  ASSERT_TRUE(CreateICalibrator(&data)->Calibrate(with_histograms.get(), Config(kQint8MixedFloat32).get()).ok());
  auto calibrator = CreateICalibrator(&data);
  ASSERT_TRUE(calibrator->SetHistogramBins(0).ok());
  ASSERT_TRUE(calibrator->Calibrate(ranges_only.get(), Config(kQint8MixedFloat32).get()).ok());
  std::vector<uint8_t> a, b;
  ASSERT_TRUE(BuildOrDie(with_histograms.get(), kQint8MixedFloat32)->SerializeToMemory(&a).ok());
  ASSERT_TRUE(BuildOrDie(ranges_only.get(), kQint8MixedFloat32)->SerializeToMemory(&b).ok());
  EXPECT_EQ(a, b);

  const Status save = calibrator->SaveStatistics(ranges_only.get(), TempPath("ranges_only.bin"));
  EXPECT_EQ(save.code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(save.message().find("ranges only"), std::string::npos) << save.message();
  const std::string table = TempPath("ranges_only.json");
  EXPECT_TRUE(calibrator->WriteRangeTable(ranges_only.get(), Config(kQint8MixedFloat32).get(), table).ok());
  std::filesystem::remove(table);

  data.next_calls = 0;
  ASSERT_TRUE(calibrator->SetQuantizationAlgorithm(QuantizationAlgorithm::PERCENTILE, 99.0).ok());
  const Status refused = calibrator->Calibrate(TwoLayerNet().get(), Config(kQint8MixedFloat32).get());
  EXPECT_EQ(refused.code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.message().find("needs histograms"), std::string::npos) << refused.message();
  EXPECT_EQ(data.next_calls, 0);

  // A custom range narrower than the data: reported without a share.
  auto clipped = TwoLayerNet();
  ASSERT_TRUE(calibrator->SetQuantizationAlgorithm(QuantizationAlgorithm::LINEAR).ok());
  constexpr const char* kNarrow = R"({"precision_config": {"precision_mode": "qint8_mixed_float32",
                                     "custom_ranges": {"x": [-0.5, 0.5]}}})";
  ASSERT_TRUE(calibrator->Calibrate(clipped.get(), Config(kNarrow).get()).ok());
  auto builder = CreateIBuilder();
  ASSERT_NE(builder->BuildModel("t", clipped.get(), Config(kNarrow).get()), nullptr);
  bool reported = false;
  for (const std::string& w : builder->GetWarnings()) reported = reported || w.find("tensor 'x'") != std::string::npos;
  EXPECT_TRUE(reported);
}

TEST(Calibrator, BuildRefusesStatisticsOfAChangedNetwork) {
  auto network = TwoLayerNet();
  VectorCalibData data(RowSamples({2}, 90));
  ASSERT_TRUE(CreateICalibrator(&data)->Calibrate(network.get(), Config(kQint8MixedFloat32).get()).ok());
  network->MarkOutput(network->FindTensorByName("hidden"));  // outputs do not change any tensor's values
  EXPECT_NE(BuildOrDie(network.get(), kQint8MixedFloat32), nullptr);
  network->AddIActivationNode(network->FindTensorByName("x"), ActivationType::RELU);
  auto builder = CreateIBuilder();
  EXPECT_EQ(builder->BuildModel("t", network.get(), Config(kQint8MixedFloat32).get()), nullptr);
  EXPECT_EQ(builder->GetLastStatus().code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(builder->GetLastStatus().message().find("calibrate again"), std::string::npos)
      << builder->GetLastStatus().message();
}

// The brief's reference distribution through the whole calibrator: N(0, 1)
// with a few outliers at +-50 fed as input rows. Each algorithm's range
// equals ComputeRange on the same values, and has the known shape.
TEST(Calibrator, EachAlgorithmOnGaussianWithOutliers) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<VectorCalibData::Sample> samples;
  quant::TensorObserver direct;
  for (int s = 0; s < 100; ++s) {
    VectorCalibData::Sample sample{Dims({128, 8}), std::vector<float>(128 * 8)};
    for (float& v : sample.values) v = normal(rng);
    if (s % 20 == 0) sample.values[static_cast<size_t>(s)] = s % 40 == 0 ? 50.0f : -50.0f;  // 5 in 102400
    direct.Observe(sample.values.data(), static_cast<int64_t>(sample.values.size()));
    samples.push_back(std::move(sample));
  }
  std::vector<float> all;
  for (const auto& s : samples) all.insert(all.end(), s.values.begin(), s.values.end());
  VectorCalibData data(samples);
  auto network = TwoLayerNet();
  std::map<QuantizationAlgorithm, Range> ranges;
  for (auto algorithm : {QuantizationAlgorithm::LINEAR, QuantizationAlgorithm::EQNM, QuantizationAlgorithm::ENTROPY,
                         QuantizationAlgorithm::PERCENTILE}) {
    auto calibrator = CreateICalibrator(&data);
    ASSERT_TRUE(calibrator->SetQuantizationAlgorithm(algorithm).ok());
    ASSERT_TRUE(calibrator->Calibrate(network.get(), Config(kQint8MixedFloat32).get()).ok());
    auto model = BuildOrDie(network.get(), kQint8MixedFloat32);
    const float scale = ActivationScale(model.get(), "FullyConnected", 0);
    quant::RangeOptions options;
    options.algorithm = static_cast<quant::RangeAlgorithm>(static_cast<int>(algorithm));
    Range expected;
    ASSERT_TRUE(quant::ComputeRange(direct, options, &expected).ok());
    EXPECT_FLOAT_EQ(scale, std::max(-expected.min, expected.max) / 127) << QuantizationAlgorithmName(algorithm);
    ranges[algorithm] = expected;
  }
  EXPECT_EQ(ranges[QuantizationAlgorithm::LINEAR].max, 50.0f);  // linear keeps the outliers
  EXPECT_EQ(ranges[QuantizationAlgorithm::LINEAR].min, -50.0f);
  EXPECT_GT(ranges[QuantizationAlgorithm::PERCENTILE].max, 3.0f);  // the others clip them
  EXPECT_LT(ranges[QuantizationAlgorithm::PERCENTILE].max, 4.5f);
  EXPECT_LT(ranges[QuantizationAlgorithm::ENTROPY].max, 10.0f);
  EXPECT_LT(ranges[QuantizationAlgorithm::EQNM].max, 50.0f);
  const auto mse = [&](Range r) { return quant::QuantizationMse(all.data(), static_cast<int64_t>(all.size()), r, 8); };
  EXPECT_LT(mse(ranges[QuantizationAlgorithm::EQNM]), mse(ranges[QuantizationAlgorithm::LINEAR]));
}

}  // namespace
}  // namespace mixq::testing
