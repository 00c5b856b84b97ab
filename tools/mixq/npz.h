// Reading NumPy .npz archives (np.savez: stored; np.savez_compressed:
// deflate) — the calibration sample format for models with several inputs.
// The bytes are untrusted: every offset and size is checked against the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "util/npy.h"

namespace mixq::cli {

// Arrays by name ("x" for the member "x.npy").
Status ParseNpz(const uint8_t* data, size_t size, std::map<std::string, NpyArray>* arrays);
Status ReadNpz(const std::string& path, std::map<std::string, NpyArray>* arrays);

}  // namespace mixq::cli
