// The calibration file (binary statistics) and the range table (JSON): exact
// round trips, every corruption detected with its byte offset, loads that
// name what does not match, and hand-edited ranges that reach the build.
#include "quant/calib_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>

#include "api_test_util.h"
#include "calib_test_util.h"
#include "format/model_file.h"
#include "quant/calib_range_table.h"

namespace mixq::testing {
namespace {

using quant::CalibrationFile;

quant::ObserverState StateOf(std::vector<float> values, int32_t bins) {
  quant::TensorObserver observer(bins);
  observer.Observe(values.data(), static_cast<int64_t>(values.size()));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  observer.Observe(&nan, 1);
  return observer.State();
}

CalibrationFile SmallFile() {
  CalibrationFile file;
  file.network_hash = 0x0123456789abcdefULL;
  file.tensors["conv:0"] = StateOf(RandomFloats(500, 1, -2, 3), 8);
  file.tensors["relu \"out\""] = StateOf(RandomFloats(300, 2, 0, 6), 4);
  return file;
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("mixq_" + std::to_string(::getpid()) + "_" + name)).string();
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(CalibrationFile, RoundTripsExactly) {
  const CalibrationFile file = SmallFile();
  std::vector<uint8_t> bytes;
  quant::WriteCalibrationFile(file, &bytes);
  // Header, count, and per tensor: name, 2 floats, 3 counts, edge, bins, 2
  // histograms; then the auto choice count (0).
  EXPECT_EQ(bytes.size(), 40u + 4 + (4 + 6 + 8 + 24 + 8 + 4 + 16 * 8) + (4 + 10 + 8 + 24 + 8 + 4 + 16 * 4) + 4);
  CalibrationFile back;
  const Status status = quant::ReadCalibrationFile(bytes.data(), bytes.size(), &back);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(back.network_hash, file.network_hash);
  EXPECT_EQ(back.tensors, file.tensors);
}

TEST(CalibrationFile, EveryCorruptedByteAndEveryTruncationIsDetected) {
  std::vector<uint8_t> bytes;
  quant::WriteCalibrationFile(SmallFile(), &bytes);
  CalibrationFile out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::vector<uint8_t> bad = bytes;
    bad[i] ^= 0x5A;
    const Status status = quant::ReadCalibrationFile(bad.data(), bad.size(), &out);
    ASSERT_FALSE(status.ok()) << "byte " << i;
    if (i < 12) {  // magic and version: "not ours" rather than "damaged"
      EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT) << i << ": " << status.message();
    } else {
      EXPECT_EQ(status.code(), StatusCode::DATA_LOSS) << i << ": " << status.message();
      EXPECT_NE(status.message().find("byte"), std::string::npos) << status.message();
    }
  }
  for (size_t size = 0; size < bytes.size(); ++size) {
    const Status status = quant::ReadCalibrationFile(bytes.data(), size, &out);
    ASSERT_FALSE(status.ok()) << "truncated to " << size;
  }
  EXPECT_TRUE(out.tensors.empty());  // never written on failure
}

TEST(CalibrationFile, RecordErrorsBehindAValidChecksumNameTheOffset) {
  std::vector<uint8_t> bytes;
  quant::WriteCalibrationFile(SmallFile(), &bytes);
  // The first record starts after the header and the tensor count, at byte 44;
  // its name "conv:0" is 6 bytes, so its count field is at 44 + 4 + 6 + 8.
  std::vector<uint8_t> bad = bytes;
  bad[44 + 4 + 6 + 8] ^= 1;
  quant::SealCalibrationFile(&bad);
  CalibrationFile out;
  Status status = quant::ReadCalibrationFile(bad.data(), bad.size(), &out);
  EXPECT_EQ(status.code(), StatusCode::DATA_LOSS);
  EXPECT_NE(status.message().find("tensor 'conv:0' (record at byte offset 44)"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("count"), std::string::npos) << status.message();

  bad = bytes;
  bad[44 + 4 + 6 + 8 + 24 + 8] = 0xFF;  // bin count far beyond the file
  quant::SealCalibrationFile(&bad);
  status = quant::ReadCalibrationFile(bad.data(), bad.size(), &out);
  EXPECT_EQ(status.code(), StatusCode::DATA_LOSS);
  EXPECT_NE(status.message().find("byte offset"), std::string::npos) << status.message();

  bad = bytes;
  bad[8] = 3;  // version 3
  status = quant::ReadCalibrationFile(bad.data(), bad.size(), &out);
  EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.message().find("version 3 is not supported"), std::string::npos) << status.message();
}

// Version 2 carries the auto search's choice per tensor: exact round trip,
// the byte layout of calib_file.h, and every corruption of the section
// named with its offset behind a valid checksum.
CalibrationFile FileWithChoices() {
  CalibrationFile file = SmallFile();
  file.auto_choice["conv:0"] = quant::RangeAlgorithm::kPercentile;
  file.auto_choice["relu \"out\""] = quant::RangeAlgorithm::kEntropy;
  file.auto_percentile = 99.9;
  return file;
}

TEST(CalibrationFile, AutoChoicesRoundTripAndCorruptionsAreNamed) {
  std::vector<uint8_t> bytes, plain;
  quant::WriteCalibrationFile(FileWithChoices(), &bytes);
  quant::WriteCalibrationFile(SmallFile(), &plain);
  // count, percentile, then "conv:0" (6 bytes) and "relu \"out\"" (10 bytes), each with length and code.
  ASSERT_EQ(bytes.size(), plain.size() + 8 + (4 + 6 + 4) + (4 + 10 + 4));
  CalibrationFile back;
  Status status = quant::ReadCalibrationFile(bytes.data(), bytes.size(), &back);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(back.tensors, SmallFile().tensors);
  EXPECT_EQ(back.auto_choice, FileWithChoices().auto_choice);
  EXPECT_EQ(back.auto_percentile, 99.9);

  const size_t section = plain.size() - 4;  // the choice count
  const size_t first_code = section + 4 + 8 + 4 + 6;
  auto expect_named = [&](size_t at, uint8_t value, const std::string& words) {
    std::vector<uint8_t> bad = bytes;
    bad[at] = value;
    quant::SealCalibrationFile(&bad);
    CalibrationFile out;
    const Status s = quant::ReadCalibrationFile(bad.data(), bad.size(), &out);
    EXPECT_EQ(s.code(), StatusCode::DATA_LOSS) << "byte " << at;
    EXPECT_NE(s.message().find(words), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("byte offset"), std::string::npos) << s.message();
  };
  expect_named(first_code, 4, "algorithm code 4");
  expect_named(section, 3, "auto choice count 3");
  expect_named(section + 4 + 7, 0x7F, "auto search percentile");   // the f64's top byte: NaN
  expect_named(section + 4 + 8 + 4, 'x', "has no tensor record");  // "xonv:0"

  // The same two choices written in the wrong order.
  std::vector<uint8_t> swapped(plain.begin(), plain.end() - 4);
  auto put = [&](uint64_t v, int n) {
    for (int i = 0; i < n; ++i) swapped.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put(2, 4);
  double percentile = 99.9;
  uint64_t bits;
  std::memcpy(&bits, &percentile, 8);
  put(bits, 8);
  for (const std::string name : {"relu \"out\"", "conv:0"}) {
    put(name.size(), 4);
    swapped.insert(swapped.end(), name.begin(), name.end());
    put(2, 4);
  }
  const uint64_t body = swapped.size() - 40;
  for (int i = 0; i < 8; ++i) swapped[static_cast<size_t>(24 + i)] = static_cast<uint8_t>(body >> (8 * i));
  quant::SealCalibrationFile(&swapped);
  status = quant::ReadCalibrationFile(swapped.data(), swapped.size(), &back);
  EXPECT_EQ(status.code(), StatusCode::DATA_LOSS);
  EXPECT_NE(status.message().find("auto choice for tensor 'conv:0' at byte offset"), std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("out of order or repeated"), std::string::npos) << status.message();
}

// A version 1 file (statistics before the choices existed) still loads.
TEST(CalibrationFile, ReadsVersionOneFiles) {
  std::vector<uint8_t> bytes;
  quant::WriteCalibrationFile(SmallFile(), &bytes);
  ASSERT_GT(bytes.size(), 44u);
  bytes.erase(bytes.end() - 4, bytes.end());  // version 1 ends after the records
  bytes[8] = 1;
  const uint64_t body = bytes.size() - 40;  // the body size field, little-endian
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(24 + i)] = static_cast<uint8_t>(body >> (8 * i));
  quant::SealCalibrationFile(&bytes);
  CalibrationFile back;
  const Status status = quant::ReadCalibrationFile(bytes.data(), bytes.size(), &back);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(back.tensors, SmallFile().tensors);
  EXPECT_TRUE(back.auto_choice.empty());
}

// x -> fc -> out, two variants with the same names but other weights.
std::unique_ptr<INetwork> FcNet(uint32_t seed, const std::string& input_name = "x") {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({-1, 8}));
  x->SetTensorName(input_name);
  auto w = RandomFloats(32, seed);
  auto* fc = network->AddIFullyConnectedNode(
      x, network->AddIConstNode(DataType::FLOAT32, Dims({4, 8}), w.data())->GetOutput(0), nullptr);
  network->MarkOutput(fc->GetOutput(0));
  return network;
}

std::vector<VectorCalibData::Sample> Rows(int count) {
  std::vector<VectorCalibData::Sample> samples;
  for (int i = 0; i < count; ++i)
    samples.push_back({Dims({2, 8}), RandomFloats(16, 100 + static_cast<uint32_t>(i), -3, 3)});
  return samples;
}

std::unique_ptr<IBuilderConfig> Qint8Config() {
  auto config = CreateIBuilderConfig();
  EXPECT_TRUE(config->ParseFromString(kQint8MixedFloat32).ok());
  return config;
}

TEST(CalibrationFile, LoadStatisticsChecksNamesAndNetwork) {
  VectorCalibData data(Rows(4));
  auto calibrator = CreateICalibrator(&data);
  auto network = FcNet(1);
  const std::string path = TempPath("load.mixqcal");
  EXPECT_EQ(calibrator->SaveStatistics(network.get(), path).code(), StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(calibrator->Calibrate(network.get(), Qint8Config().get()).ok());
  ASSERT_TRUE(calibrator->SaveStatistics(network.get(), path).ok());

  auto same = FcNet(1);
  EXPECT_TRUE(calibrator->LoadStatistics(same.get(), path).ok());
  EXPECT_NE(BuildOrDie(same.get(), kQint8MixedFloat32), nullptr);

  auto renamed = FcNet(1, "pixels");
  Status status = calibrator->LoadStatistics(renamed.get(), path);
  EXPECT_EQ(status.code(), StatusCode::NOT_FOUND);
  EXPECT_NE(status.message().find("1 tensor(s) the network does not have: 'x'"), std::string::npos) << status.message();

  auto other_weights = FcNet(2);
  status = calibrator->LoadStatistics(other_weights.get(), path);
  EXPECT_EQ(status.code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.message().find("another network"), std::string::npos) << status.message();

  std::string bytes = ReadText(path);
  bytes[bytes.size() - 3] ^= 1;
  WriteText(path, bytes);
  status = calibrator->LoadStatistics(same.get(), path);
  EXPECT_EQ(status.code(), StatusCode::DATA_LOSS);
  EXPECT_NE(status.message().find("checksum"), std::string::npos) << status.message();
  std::filesystem::remove(path);
  EXPECT_EQ(calibrator->LoadStatistics(same.get(), path).code(), StatusCode::NOT_FOUND);
}

TEST(RangeTable, FormatsOneTensorPerLineAndReadsBackBitExact) {
  quant::RangeTable table;
  table.network_hash = 0xfedcba9876543210ULL;
  table.algorithm = "entropy";
  table.ranges["a:0"] = Range{-0.1f, 3.4028235e38f};
  table.ranges["b \"quoted\" \xc3\xa9"] = Range{1e-30f, 1.0000001f};
  table.ranges["c"] = Range{0.0f, 0.0f};
  const std::string text = quant::FormatRangeTable(table);
  EXPECT_NE(text.find("\n    \"a:0\": [-0.100000001, 3.40282347e+38],\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\"network_hash\": \"fedcba9876543210\""), std::string::npos) << text;
  quant::RangeTable back;
  const Status status = quant::ParseRangeTable(text, &back);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(back.network_hash, table.network_hash);
  EXPECT_EQ(back.algorithm, "entropy");
  ASSERT_EQ(back.ranges.size(), 3u);
  for (const auto& [name, r] : table.ranges) {
    EXPECT_EQ(back.ranges.at(name).min, r.min) << name;
    EXPECT_EQ(back.ranges.at(name).max, r.max) << name;
  }
  // A name that is not valid UTF-8 cannot be JSON: written with U+FFFD, no throw.
  table.ranges = {{"bad\xff", Range{0, 1}}};
  ASSERT_TRUE(quant::ParseRangeTable(quant::FormatRangeTable(table), &back).ok());
  EXPECT_EQ(back.ranges.count("bad\xef\xbf\xbd"), 1u);
}

TEST(RangeTable, ErrorsNameTheKeyOrOffset) {
  const std::string head = R"({"format": "mixq-range-table", "version": 1, )";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {head + R"("ranges": {"x": [-1, 1]}})", ""},
      {head + R"("ranges": {"x": [-1, 1])", "byte offset"},
      {head + R"("ranges": {"x": [2, 1]}})", "ranges['x'] = [2,1] has min > max"},
      {head + R"("ranges": {"x": [1]}})", "ranges['x'] must be [min, max]"},
      {head + R"("ranges": {"x": [0, 1e39]}})", "outside the float32 range"},
      {head + R"("ranges": {"x": [0, 1], "x": [0, 2]}})", "key 'x' appears twice"},
      {head + R"("ranges": {}, "colour": "red"})", "unknown key 'colour'"},
      {head + R"("network_hash": "xyz", "ranges": {}})", "network_hash must be up to 16 hex digits"},
      {R"({"format": "mixq-range-table", "ranges": {}})", "missing key 'version'"},
      {R"({"format": "mixq-range-table", "version": 2, "ranges": {}})", "version 2 is not supported"},
      {R"({"format": "other", "version": 1, "ranges": {}})", "format must be"},
      {"[1, 2]", "must be a JSON object"},
  };
  for (const auto& [text, expected] : cases) {
    quant::RangeTable table;
    const Status status = quant::ParseRangeTable(text, &table);
    if (expected.empty()) {
      EXPECT_TRUE(status.ok()) << text << ": " << status.ToString();
      continue;
    }
    EXPECT_EQ(status.code(), StatusCode::INVALID_ARGUMENT) << text;
    EXPECT_NE(status.message().find(expected), std::string::npos) << text << ": " << status.message();
  }
}

TEST(RangeTable, HandEditedRangesReachTheBuild) {
  VectorCalibData data(Rows(4));
  auto calibrator = CreateICalibrator(&data);
  auto network = FcNet(1);
  auto config = Qint8Config();
  ASSERT_TRUE(calibrator->Calibrate(network.get(), config.get()).ok());
  const std::string path = TempPath("table.json");
  ASSERT_TRUE(calibrator->WriteRangeTable(network.get(), config.get(), path).ok());
  auto doc = nlohmann::json::parse(ReadText(path));
  float max_abs = 0;
  for (const auto& s : data.samples())
    for (float v : s.values) max_abs = std::max(max_abs, std::fabs(v));
  EXPECT_EQ(std::max(-doc["ranges"]["x"][0].get<float>(), doc["ranges"]["x"][1].get<float>()), max_abs);
  doc["ranges"]["x"] = {-1.5, 1.5};  // the hand edit
  WriteText(path, doc.dump(2));

  auto fresh = FcNet(1);
  Status status = calibrator->ReadRangeTable(fresh.get(), path);
  ASSERT_TRUE(status.ok()) << status.ToString();
  auto model = BuildOrDie(fresh.get(), kQint8MixedFloat32);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(model->SerializeToMemory(&bytes).ok());
  format::ModelData built;
  ASSERT_TRUE(format::ReadModel(bytes.data(), bytes.size(), &built).ok());
  EXPECT_FLOAT_EQ(built.graph.FindNode("FullyConnected")->input_quant[0]->scales[0], 1.5f / 127);
  // Only statistics can be saved; a table's ranges are written back as a table.
  EXPECT_EQ(calibrator->SaveStatistics(fresh.get(), TempPath("nope")).code(), StatusCode::FAILED_PRECONDITION);
  const std::string again = TempPath("table2.json");
  ASSERT_TRUE(calibrator->WriteRangeTable(fresh.get(), config.get(), again).ok());
  EXPECT_EQ(nlohmann::json::parse(ReadText(again))["ranges"]["x"][1].get<float>(), 1.5f);
  std::filesystem::remove(again);

  auto other = FcNet(2);  // same names, other weights: the table's hash says so
  status = calibrator->ReadRangeTable(other.get(), path);
  EXPECT_EQ(status.code(), StatusCode::FAILED_PRECONDITION) << status.ToString();
  doc.erase("network_hash");  // without a hash, names are all that is checked
  WriteText(path, doc.dump(2));
  EXPECT_TRUE(calibrator->ReadRangeTable(other.get(), path).ok());
  doc["ranges"]["nope"] = {0, 1};
  WriteText(path, doc.dump(2));
  status = calibrator->ReadRangeTable(other.get(), path);
  EXPECT_EQ(status.code(), StatusCode::NOT_FOUND);
  EXPECT_NE(status.message().find("'nope'"), std::string::npos) << status.message();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace mixq::testing
