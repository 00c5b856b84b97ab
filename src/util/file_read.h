// Reading untrusted files with a stated maximum size: a directory, a missing
// file, an endless stream (/dev/zero, a FIFO) or a file over the limit is a
// Status naming the path, never an exception or an unbounded read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mixq/types.h"

namespace mixq {

// Stated limits of the readers (docs/reliability.md).
constexpr int64_t kMaxModelFileBytes = int64_t{4} << 30;  // model files (.mixq)
constexpr int64_t kMaxOnnxFileBytes = int64_t{2} << 30;   // protobuf's own limit
constexpr int64_t kMaxNumpyFileBytes = int64_t{4} << 30;  // .npy / .npz
constexpr int64_t kMaxCalibFileBytes = int64_t{1} << 30;  // calibration statistics
constexpr int64_t kMaxJsonFileBytes = int64_t{64} << 20;  // builder configs, range tables
// Nesting allowed in JSON documents (configs and range tables are 3 deep).
constexpr int kMaxJsonDepth = 64;

// Reads all of `path` into `bytes`. NOT_FOUND if it cannot be opened,
// INVALID_ARGUMENT if it is a directory or holds more than `max_bytes`
// (regular files are refused from their size, before any read), DATA_LOSS
// on a read error. `what` names the kind of file in messages ("model file").
Status ReadFileLimited(const std::string& path, int64_t max_bytes, const std::string& what, std::string* bytes);
Status ReadFileLimited(const std::string& path, int64_t max_bytes, const std::string& what,
                       std::vector<uint8_t>* bytes);

// INVALID_ARGUMENT when `text` (JSON) nests arrays / objects deeper than
// `max_depth`; checked before parsing so no parser recursion can overflow the stack.
Status CheckJsonDepth(const std::string& text, int max_depth, const std::string& what);

}  // namespace mixq
