// Parses the CBOR metadata of a model file without trusting it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "mixq/types.h"

namespace mixq::format {

// Deepest array / object nesting accepted. The writer nests 5 levels; the
// limit exists because nlohmann's CBOR reader recurses once per level, and a
// few megabytes of 0x81 bytes would otherwise overflow the stack.
constexpr size_t kMaxCborDepth = 32;

// Parses `size` bytes of CBOR (the whole span must be one item) into `out`.
// DATA_LOSS on malformed input, naming the absolute byte offset
// (`base_offset` + position inside the span). Throws nothing.
Status ParseCbor(const uint8_t* data, size_t size, size_t base_offset, nlohmann::json* out);

}  // namespace mixq::format
