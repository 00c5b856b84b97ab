// A deterministic mini-fuzzer for the calibration file reader and the range
// table parser, run in CI: random damage (byte flips, inserted and deleted
// runs, truncation, field overwrites with edge values), with and without a
// recomputed checksum, must always give a status with a message, never a
// crash; whatever is accepted must write and read back identically. The
// libFuzzer target fuzz/calib_reader_fuzz.cc explores further.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "quant/calib_file.h"
#include "quant/calib_range_table.h"

namespace mixq::quant {
namespace {

std::vector<uint8_t> SeedFile() {
  CalibrationFile file;
  file.network_hash = 42;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (int t = 0; t < 3; ++t) {
    TensorObserver observer(16 << t);
    std::vector<float> values(200);
    for (float& v : values) v = t == 1 ? std::fabs(normal(rng)) : normal(rng);
    observer.Observe(values.data(), static_cast<int64_t>(values.size()));
    file.tensors["tensor_" + std::to_string(t)] = observer.State();
  }
  std::vector<uint8_t> bytes;
  WriteCalibrationFile(file, &bytes);
  return bytes;
}

void Mutate(std::mt19937& rng, std::vector<uint8_t>* bytes) {
  static const uint64_t kEdges[] = {0,
                                    1,
                                    2,
                                    0x7F,
                                    0x80,
                                    0xFF,
                                    0xFFFF,
                                    0x7FFFFFFF,
                                    0xFFFFFFFF,
                                    0x7FF0000000000000ULL,  // +Inf as a double
                                    0x7FC00000,             // NaN as a float
                                    std::numeric_limits<uint64_t>::max()};
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  const int edits = 1 + static_cast<int>(pick(3));
  for (int e = 0; e < edits && !bytes->empty(); ++e) {
    switch (pick(5)) {
      case 0:  // flip bits
        (*bytes)[pick(bytes->size())] ^= static_cast<uint8_t>(1 + pick(255));
        break;
      case 1: {  // overwrite a field-sized run with an edge value
        const size_t width = size_t{1} << pick(4);
        const size_t at = pick(bytes->size());
        const uint64_t v = kEdges[pick(std::size(kEdges))];
        for (size_t i = 0; i < width && at + i < bytes->size(); ++i)
          (*bytes)[at + i] = static_cast<uint8_t>(v >> (8 * i));
        break;
      }
      case 2:  // truncate
        bytes->resize(pick(bytes->size()));
        break;
      case 3: {  // delete a run
        const size_t at = pick(bytes->size());
        bytes->erase(bytes->begin() + static_cast<long>(at),
                     bytes->begin() + static_cast<long>(std::min(bytes->size(), at + 1 + pick(16))));
        break;
      }
      default: {  // insert a run
        const size_t at = pick(bytes->size() + 1);
        bytes->insert(bytes->begin() + static_cast<long>(at), 1 + pick(16), static_cast<uint8_t>(pick(256)));
      }
    }
  }
}

TEST(CalibrationFileFuzz, RandomDamageNeverCrashesAndAcceptedFilesRoundTrip) {
  const std::vector<uint8_t> seed = SeedFile();
  std::mt19937 rng(2024);
  int accepted = 0, past_checksum = 0;
  for (int iteration = 0; iteration < 4000; ++iteration) {
    std::vector<uint8_t> bytes = seed;
    Mutate(rng, &bytes);
    const bool reseal = iteration % 2 == 1;  // half get past the CRC into the record checks
    if (reseal) SealCalibrationFile(&bytes);
    CalibrationFile file;
    const Status status = ReadCalibrationFile(bytes.data(), bytes.size(), &file);
    if (!status.ok()) {
      ASSERT_FALSE(status.message().empty());
      if (status.message().find("checksum") == std::string::npos) ++past_checksum;
      continue;
    }
    ++accepted;
    std::vector<uint8_t> again;
    WriteCalibrationFile(file, &again);
    CalibrationFile back;
    ASSERT_TRUE(ReadCalibrationFile(again.data(), again.size(), &back).ok()) << "iteration " << iteration;
    EXPECT_EQ(back.tensors, file.tensors);
    EXPECT_EQ(back.network_hash, file.network_hash);
  }
  // The resealed half must mostly fail on structure, not on the checksum.
  EXPECT_GT(past_checksum, 1500);
  ::testing::Test::RecordProperty("accepted", accepted);
}

TEST(CalibrationFileFuzz, RangeTableTextMutations) {
  RangeTable table;
  table.network_hash = 7;
  table.algorithm = "percentile";
  table.ranges = {{"a", Range{-1.5f, 2.0f}}, {"b:0", Range{0.0f, 6.0f}}, {"c", Range{-1e-3f, 1e-3f}}};
  const std::string seed = FormatRangeTable(table);
  static const char kAlphabet[] = "{}[],:\"0123456789.-+eE \\nulltruefalse\xc3\xff";
  std::mt19937 rng(7);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::string text = seed;
    for (int e = 0; e < 1 + static_cast<int>(pick(3)); ++e) {
      const size_t at = pick(text.size());
      switch (pick(3)) {
        case 0:
          text[at] = kAlphabet[pick(sizeof(kAlphabet) - 1)];
          break;
        case 1:
          text.erase(at, 1 + pick(4));
          break;
        default:
          text.insert(at, 1, kAlphabet[pick(sizeof(kAlphabet) - 1)]);
      }
    }
    RangeTable parsed;
    const Status status = ParseRangeTable(text, &parsed);
    if (!status.ok()) {
      ASSERT_FALSE(status.message().empty());
      continue;
    }
    for (const auto& [name, r] : parsed.ranges) ASSERT_LE(r.min, r.max) << name;
    RangeTable back;
    ASSERT_TRUE(ParseRangeTable(FormatRangeTable(parsed), &back).ok()) << text;
    EXPECT_EQ(back.ranges.size(), parsed.ranges.size());
  }
}

}  // namespace
}  // namespace mixq::quant
