// Reading and writing NumPy .npy files (format version 1.0 / 2.0, little-endian,
// C order), for the command-line tool, examples and tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mixq/types.h"

namespace mixq {

struct NpyArray {
  DataType dtype = DataType::FLOAT32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

Status WriteNpy(const std::string& path, DataType dtype, const std::vector<int64_t>& shape, const void* data);
// Verified: a malformed header, an unsupported dtype ('<f4', '<f2', '<i1'...'<i8',
// '|u1', '|b1' are supported), Fortran order or a short payload is an error.
Status ReadNpy(const std::string& path, NpyArray* array);
Status ParseNpy(const uint8_t* data, size_t size, NpyArray* array);

}  // namespace mixq
