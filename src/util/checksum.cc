#include "util/checksum.h"

#include <array>

namespace mixq::format {

namespace {

constexpr uint64_t kPolynomial = 0xC96C5795D7870F42ull;  // ECMA-182, bit-reflected

using Tables = std::array<std::array<uint64_t, 256>, 8>;

// tables[k][b]: the CRC contribution of byte b followed by k zero bytes, so
// eight bytes can be folded in with eight independent lookups.
Tables MakeTables() {
  Tables tables{};
  for (uint64_t b = 0; b < 256; ++b) {
    uint64_t crc = b;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ kPolynomial : crc >> 1;
    tables[0][b] = crc;
  }
  for (size_t k = 1; k < 8; ++k)
    for (size_t b = 0; b < 256; ++b) tables[k][b] = (tables[k - 1][b] >> 8) ^ tables[0][tables[k - 1][b] & 0xFF];
  return tables;
}

const Tables& GetTables() {
  static const Tables tables = MakeTables();
  return tables;
}

}  // namespace

void Crc64::Update(const uint8_t* data, size_t size) {
  const Tables& t = GetTables();
  uint64_t crc = state_;
  while (size >= 8) {
    uint64_t word = 0;
    for (int i = 7; i >= 0; --i) word = (word << 8) | data[i];  // little-endian load, any alignment
    crc ^= word;
    crc = t[7][crc & 0xFF] ^ t[6][(crc >> 8) & 0xFF] ^ t[5][(crc >> 16) & 0xFF] ^ t[4][(crc >> 24) & 0xFF] ^
          t[3][(crc >> 32) & 0xFF] ^ t[2][(crc >> 40) & 0xFF] ^ t[1][(crc >> 48) & 0xFF] ^ t[0][crc >> 56];
    data += 8;
    size -= 8;
  }
  for (; size > 0; --size, ++data) crc = t[0][(crc ^ *data) & 0xFF] ^ (crc >> 8);
  state_ = crc;
}

uint64_t Crc64Of(const uint8_t* data, size_t size) {
  Crc64 crc;
  crc.Update(data, size);
  return crc.Value();
}

}  // namespace mixq::format
