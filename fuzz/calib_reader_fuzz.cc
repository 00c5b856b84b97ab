// libFuzzer target for the calibration file reader and the range table
// parser: ReadCalibrationFile / ParseRangeTable must return a status for any
// bytes, and what they accept must write and read back identically.
//
// Each input is read three times: as a calibration file as is (container
// checks), as one with its checksum recomputed (so mutations reach the record
// checks instead of dying at the CRC), and as range table text.
//
// Seed corpus: MIXQ_FUZZ_WRITE_SEED=corpus/seed.mixqcal ./calib_reader_fuzz -runs=0
// writes a valid calibration file there; then ./calib_reader_fuzz corpus/
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "quant/calib_file.h"
#include "quant/calib_range_table.h"

namespace {

using mixq::quant::CalibrationFile;

std::vector<uint8_t> SeedFile() {
  CalibrationFile file;
  file.network_hash = 0x1234;
  mixq::quant::TensorObserver observer(32);
  std::vector<float> values;
  for (int i = -50; i < 80; ++i) values.push_back(0.1f * static_cast<float>(i));
  observer.Observe(values.data(), static_cast<int64_t>(values.size()));
  file.tensors["conv:0"] = observer.State();
  file.tensors["relu:0"] = observer.State();
  // Version 2's auto choices section, so mutations reach its checks too.
  file.auto_choice["conv:0"] = mixq::quant::RangeAlgorithm::kEntropy;
  file.auto_choice["relu:0"] = mixq::quant::RangeAlgorithm::kPercentile;
  file.auto_percentile = 99.99;
  std::vector<uint8_t> bytes;
  mixq::quant::WriteCalibrationFile(file, &bytes);
  return bytes;
}

void CheckFile(const uint8_t* data, size_t size) {
  CalibrationFile file;
  const mixq::Status status = mixq::quant::ReadCalibrationFile(data, size, &file);
  if (!status.ok()) {
    if (status.message().empty()) __builtin_trap();  // every error must say what and where
    return;
  }
  std::vector<uint8_t> rewritten;
  mixq::quant::WriteCalibrationFile(file, &rewritten);
  CalibrationFile again;
  if (!mixq::quant::ReadCalibrationFile(rewritten.data(), rewritten.size(), &again).ok()) __builtin_trap();
  if (!(again.tensors == file.tensors) || again.network_hash != file.network_hash) __builtin_trap();
  if (again.auto_choice != file.auto_choice) __builtin_trap();
  if (!file.auto_choice.empty() && again.auto_percentile != file.auto_percentile) __builtin_trap();
}

void CheckTable(const uint8_t* data, size_t size) {
  mixq::quant::RangeTable table;
  const mixq::Status status =
      mixq::quant::ParseRangeTable(std::string(reinterpret_cast<const char*>(data), size), &table);
  if (!status.ok()) {
    if (status.message().empty()) __builtin_trap();
    return;
  }
  mixq::quant::RangeTable again;
  if (!mixq::quant::ParseRangeTable(mixq::quant::FormatRangeTable(table), &again).ok()) __builtin_trap();
  if (again.ranges.size() != table.ranges.size()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* path = std::getenv("MIXQ_FUZZ_WRITE_SEED")) {
    const std::vector<uint8_t> bytes = SeedFile();
    FILE* f = std::fopen(path, "wb");
    if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
    std::fclose(f);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckFile(data, size);
  if (size >= mixq::quant::kCalibHeaderSize) {
    std::vector<uint8_t> resealed(data, data + size);
    mixq::quant::SealCalibrationFile(&resealed);
    CheckFile(resealed.data(), resealed.size());
  }
  CheckTable(data, size);
  return 0;
}
