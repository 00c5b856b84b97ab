// The model file container, independent of what the sections hold:
//
//   offset  size  field (all integers little-endian)
//        0     8  magic "MIXQMODL"
//        8     4  u32 format version (kModelFormatVersion)
//       12     4  u32 header size (kHeaderSize)
//       16     8  u64 metadata offset (== header size)
//       24     8  u64 metadata size (> 0)
//       32     8  u64 weights offset (metadata end rounded up to 64; the gap is zeros)
//       40     8  u64 weights size (the section runs to the end of the file)
//       48     8  u64 CRC-64 of every byte of the file except these 8
//       56        metadata (CBOR), zero padding, weights
//
// Every byte has exactly one valid position, so nothing can hide in gaps, and
// the checksum covers the header too: any single corrupted byte is detected.
// Payload offsets inside the weights section are relative to its start, which
// is 64-byte aligned, so payloads keep their alignment whatever the metadata
// size and can later be used in place from a mapped file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "mixq/types.h"
#include "util/mapped_file.h"

namespace mixq::format {

constexpr uint8_t kMagic[8] = {'M', 'I', 'X', 'Q', 'M', 'O', 'D', 'L'};
constexpr size_t kHeaderSize = 56;
constexpr size_t kVersionOffset = 8;
constexpr size_t kHeaderSizeOffset = 12;
constexpr size_t kMetadataOffsetField = 16;
constexpr size_t kMetadataSizeField = 24;
constexpr size_t kWeightsOffsetField = 32;
constexpr size_t kWeightsSizeField = 40;
constexpr size_t kChecksumField = 48;
constexpr size_t kPayloadAlignment = 64;

inline uint64_t AlignUp(uint64_t n, uint64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

// The two sections of a file that passed OpenModelFile; pointers into its bytes.
struct FileSections {
  const uint8_t* metadata = nullptr;
  size_t metadata_offset = 0;
  size_t metadata_size = 0;
  const uint8_t* weights = nullptr;
  size_t weights_offset = 0;
  size_t weights_size = 0;
  // When the bytes are a mapped file that outlives the reader: constants are
  // then used in place (aligned plain payloads), not copied.
  std::shared_ptr<const MappedFile> mapping;
};

// Checks magic, version, header, section bounds and checksum, in that order,
// so a file from another version is reported as such rather than as corrupt.
Status OpenModelFile(const uint8_t* data, size_t size, FileSections* sections);

// Writer side, in two steps so weights are copied once, straight into place:
// LayOutModelFile sizes `bytes`, writes the header (checksum still zero) and
// the metadata, and returns the weights section offset; the caller copies the
// payloads there; SealModelFile then stores the checksum.
size_t LayOutModelFile(const std::vector<uint8_t>& metadata, size_t weights_size, std::vector<uint8_t>* bytes);
void SealModelFile(std::vector<uint8_t>* bytes);

// CRC-64 over every byte except the checksum field; `size` >= kHeaderSize.
uint64_t ModelFileChecksum(const uint8_t* data, size_t size);

}  // namespace mixq::format
