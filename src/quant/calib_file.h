// The calibration file: a network's calibration statistics as bytes, and the
// verified reader that turns bytes back into statistics.
//
//   offset  size  field (integers little-endian, floats IEEE-754 little-endian)
//        0     8  magic "MIXQCALB"
//        8     4  u32 format version (kCalibFormatVersion)
//       12     4  u32 header size (kCalibHeaderSize)
//       16     8  u64 network hash (quant::NetworkHash)
//       24     8  u64 body size (the body runs to the end of the file)
//       32     8  u64 CRC-64 of every byte of the file except these 8
//       40        body: u32 tensor count, then per tensor
//                   u32 name length (1 .. kMaxTensorNameBytes), name bytes
//                   f32 min, f32 max
//                   u64 count, u64 nan count, u64 inf count
//                   f64 histogram upper edge
//                   u32 bins (1 .. TensorObserver::kMaxNumBins)
//                   bins x u64 negative histogram, bins x u64 non-negative histogram
//                 (version 2) then the output-aware auto search's choices
//                 (calibration/auto_search.h; none when the statistics were
//                 not gathered with algorithm auto):
//                   u32 choice count
//                   if the count is not 0: f64 the percentile the search used (0 < p <= 100)
//                   per choice, names in increasing byte order, each one of a
//                   tensor record above:
//                     u32 name length, name bytes
//                     u32 algorithm: 0 linear, 1 eqnm, 2 entropy, 3 percentile
//
// Version 1 files (no choices section) are still read.
//
// Every field has one valid position (no gaps, no trailing bytes) and the
// checksum covers the header too, so any single corrupted byte is detected.
// Each record is then checked as TensorObserver::FromState checks a state
// (totals agree, min <= max, finite edges), so a file that passes the CRC but
// was written wrongly is still refused, with the byte offset of its record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mixq/types.h"
#include "quant/observer.h"
#include "quant/range_algorithms.h"

namespace mixq::quant {

constexpr uint32_t kCalibFormatVersion = 2;
constexpr size_t kCalibHeaderSize = 40;
constexpr size_t kCalibChecksumField = 32;
constexpr uint32_t kMaxTensorNameBytes = 4096;

struct CalibrationFile {
  uint64_t network_hash = 0;
  std::map<std::string, ObserverState> tensors;  // by tensor name
  // The auto search's single algorithm per tensor (never kAuto), and the
  // percentile it searched with; empty when it did not run.
  std::map<std::string, RangeAlgorithm> auto_choice;
  double auto_percentile = 0.0;
};

void WriteCalibrationFile(const CalibrationFile& file, std::vector<uint8_t>* bytes);

// Wrong magic or version (1 and 2 are read): INVALID_ARGUMENT; truncated, corrupted or
// inconsistent bytes: DATA_LOSS with the byte offset. Never crashes; *file is
// only written on success.
Status ReadCalibrationFile(const uint8_t* data, size_t size, CalibrationFile* file);

// CRC-64 over every byte except the checksum field; `size` >= kCalibHeaderSize.
uint64_t CalibrationFileChecksum(const uint8_t* data, size_t size);
// Recomputes and stores the checksum (writer, and fuzzers that want to get
// past the CRC into the record checks).
void SealCalibrationFile(std::vector<uint8_t>* bytes);

}  // namespace mixq::quant
