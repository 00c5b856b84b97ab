// Calibration end to end on the small ResNet (SPEC §3 acceptance):
//  - calibrated qint8_mixed_float32 is closer to float than 10x too wide hand ranges;
//  - statistics saved here, reloaded in a NEW PROCESS with another algorithm,
//    build the very same model as calibrating directly with that algorithm.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

#include "../../examples/small_resnet.h"
#include "api_test_util.h"
#include "calib_test_util.h"

namespace mixq::testing {
namespace {

std::unique_ptr<INetwork> SmallResNet() {
  auto network = CreateINetwork();
  EXPECT_TRUE(examples::BuildSmallResNet(network.get()).ok());
  return network;
}

std::unique_ptr<IBuilderConfig> Config(const char* json) {
  auto config = CreateIBuilderConfig();
  EXPECT_TRUE(config->ParseFromString(json).ok());
  return config;
}

std::vector<uint8_t> ModelBytes(INetwork* network, const char* json) {
  auto model = BuildOrDie(network, json);
  std::vector<uint8_t> bytes;
  if (model) {
    EXPECT_TRUE(model->SerializeToMemory(&bytes).ok());
  }
  return bytes;
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("mixq_" + std::to_string(::getpid()) + "_" + name)).string();
}

// Mean |y - y_float| over every output of every evaluation sample.
double MeanError(IModel* model, IModel* reference, std::vector<VectorCalibData::Sample> eval) {
  auto context = model->CreateIEngine()->CreateIContext();
  auto ref_context = reference->CreateIEngine()->CreateIContext();
  double sum = 0;
  size_t n = 0;
  for (auto& sample : eval) {
    const auto y = RunOnce(context.get(), sample.dims, sample.values);
    const auto y_ref = RunOnce(ref_context.get(), sample.dims, sample.values);
    EXPECT_EQ(y.size(), y_ref.size());
    for (size_t i = 0; i < y.size() && i < y_ref.size(); ++i) sum += std::fabs(static_cast<double>(y[i]) - y_ref[i]);
    n += y.size();
  }
  return n ? sum / static_cast<double>(n) : 1e9;
}

// The ranges a range table holds, by tensor.
std::map<std::string, Range> TableRanges(const std::string& path) {
  std::ifstream in(path);
  const auto doc = nlohmann::json::parse(in);
  std::map<std::string, Range> ranges;
  for (const auto& [name, r] : doc.at("ranges").items()) ranges[name] = Range{r[0].get<float>(), r[1].get<float>()};
  return ranges;
}

// 256 images (32 samples of batch 8) for calibration, a separate 32 for evaluation.
TEST(CalibrationEndToEnd, CalibratedInt8BeatsTenTimesTooWideHandRanges) {
  VectorCalibData data(ImageSamples(32, 8, 101));
  auto network = SmallResNet();
  auto calibrator = CreateICalibrator(&data);
  ASSERT_TRUE(calibrator->SetQuantizationAlgorithm(QuantizationAlgorithm::ENTROPY).ok());
  auto config = Config(kQint8MixedFloat32);
  const Status status = calibrator->Calibrate(network.get(), config.get());
  ASSERT_TRUE(status.ok()) << status.ToString();
  auto calibrated = BuildOrDie(network.get(), kQint8MixedFloat32);
  ASSERT_NE(calibrated, nullptr);

  // The wrong hand ranges: each calibrated linear range, 10x wider, forced.
  const std::string table = TempPath("linear_table.json");
  ASSERT_TRUE(calibrator->SetQuantizationAlgorithm(QuantizationAlgorithm::LINEAR).ok());
  auto linear_network = SmallResNet();
  ASSERT_TRUE(calibrator->Calibrate(linear_network.get(), config.get()).ok());
  ASSERT_TRUE(calibrator->WriteRangeTable(linear_network.get(), config.get(), table).ok());
  const auto linear_ranges = TableRanges(table);
  std::filesystem::remove(table);
  // image, the other distinct conv / fully connected inputs, and the residual
  // adds' and the global average pool's inputs (int8 rescaling steps, on by default)
  ASSERT_EQ(linear_ranges.size(), 10u);
  auto wide_network = SmallResNet();
  for (const auto& [name, r] : linear_ranges) {
    ITensor* tensor = wide_network->FindTensorByName(name);
    ASSERT_NE(tensor, nullptr) << name;
    ASSERT_TRUE(tensor->SetDynamicRange(Range{10 * r.min, 10 * r.max}, true).ok());
  }
  auto wide = BuildOrDie(wide_network.get(), kQint8MixedFloat32);
  auto linear = BuildOrDie(linear_network.get(), kQint8MixedFloat32);
  auto reference = BuildOrDie(SmallResNet().get());
  ASSERT_TRUE(wide && linear && reference);

  const auto eval = ImageSamples(8, 4, 202);
  const double calibrated_error = MeanError(calibrated.get(), reference.get(), eval);
  const double linear_error = MeanError(linear.get(), reference.get(), eval);
  const double wide_error = MeanError(wide.get(), reference.get(), eval);
  ::testing::Test::RecordProperty("entropy_mean_abs_error", std::to_string(calibrated_error));
  ::testing::Test::RecordProperty("linear_mean_abs_error", std::to_string(linear_error));
  ::testing::Test::RecordProperty("wide_mean_abs_error", std::to_string(wide_error));
  std::printf("mean |y - y_float|: entropy %.3g, linear %.3g, 10x wide hand ranges %.3g\n", calibrated_error,
              linear_error, wide_error);
  EXPECT_GT(calibrated_error, 0.0);  // it really ran quantized
  EXPECT_LT(calibrated_error, wide_error);
  EXPECT_LT(linear_error, wide_error);
}

TEST(CalibrationEndToEnd, StatisticsReloadedInANewProcessGiveTheSameModel) {
  VectorCalibData data(ImageSamples(24, 8, 303));
  auto config = Config(kQint8MixedFloat32);
  auto calibrator = CreateICalibrator(&data);
  // Calibrate with linear and save the statistics ...
  auto network = SmallResNet();
  ASSERT_TRUE(calibrator->Calibrate(network.get(), config.get()).ok());
  const std::string stats = TempPath("stats.mixqcal");
  ASSERT_TRUE(calibrator->SaveStatistics(network.get(), stats).ok());
  const auto linear_bytes = ModelBytes(network.get(), kQint8MixedFloat32);
  // ... and, for the reference, calibrate directly with percentile.
  ASSERT_TRUE(calibrator->SetQuantizationAlgorithm(QuantizationAlgorithm::PERCENTILE).ok());
  auto direct_network = SmallResNet();
  ASSERT_TRUE(calibrator->Calibrate(direct_network.get(), config.get()).ok());
  const auto direct_bytes = ModelBytes(direct_network.get(), kQint8MixedFloat32);

  const std::string model_path = TempPath("reloaded.mixq");
  const std::string command = std::string(MIXQ_CALIB_RELOAD_HELPER) + " " + stats + " percentile " + model_path;
  const int rc = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << command << " exited with " << rc;
  const auto reloaded_bytes = ReadBytes(model_path);
  std::filesystem::remove(stats);
  std::filesystem::remove(model_path);

  ASSERT_FALSE(direct_bytes.empty());
  EXPECT_EQ(reloaded_bytes, direct_bytes);  // same ranges, same scales, same bytes
  EXPECT_NE(linear_bytes, direct_bytes);    // and switching the algorithm did change them
}

}  // namespace
}  // namespace mixq::testing
