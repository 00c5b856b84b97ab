// CRC-64 (the XZ / ECMA-182 variant) over the model file. Chosen over a
// simpler hash because a CRC provably detects every burst error up to 64 bits
// (so every single-byte corruption), and slicing-by-8 keeps it at several
// GB/s, which matters for multi-hundred-megabyte weight sections.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mixq::format {

class Crc64 {
 public:
  void Update(const uint8_t* data, size_t size);
  uint64_t Value() const { return ~state_; }

 private:
  uint64_t state_ = ~uint64_t{0};
};

// One-shot helper; Crc64Of("123456789") == 0x995DC9BBDF1939FA.
uint64_t Crc64Of(const uint8_t* data, size_t size);

}  // namespace mixq::format
