// The human-readable form of calibration results: a JSON range table,
// tensor -> [min, max], that users may edit by hand and read back.
//
//   {
//     "format": "mixq-range-table",
//     "version": 1,
//     "network_hash": "9a0c3e51d2b47f16",
//     "algorithm": "entropy",
//     "ranges": {
//       "conv_0:0": [-1.5, 2.25],
//       ...
//     }
//   }
//
// "network_hash" (hex) and "algorithm" (informative) are optional on reading;
// every other key is required, and unknown keys are errors naming the key.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "mixq/types.h"

namespace mixq::quant {

struct RangeTable {
  std::optional<uint64_t> network_hash;
  std::string algorithm;  // how the ranges were made ("entropy", ...); may be empty
  std::map<std::string, Range> ranges;
};

// One tensor a line; floats written with 9 significant digits, so every
// float32 reads back bit-exact.
std::string FormatRangeTable(const RangeTable& table);

// INVALID_ARGUMENT naming the byte offset (JSON syntax), the key, or the
// tensor at fault: duplicate tensors, a range that is not [min, max] of two
// finite float32 numbers with min <= max, a wrong format or version.
Status ParseRangeTable(const std::string& text, RangeTable* table);

}  // namespace mixq::quant
