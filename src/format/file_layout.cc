#include "format/file_layout.h"

#include <algorithm>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "format/model_file.h"
#include "util/checksum.h"
#include "util/status_util.h"

namespace mixq::format {

namespace {

uint64_t LoadLE(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void StoreLE(uint8_t* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

std::string Hex(uint64_t v) {
  std::ostringstream out;
  out << "0x" << std::hex << std::setw(16) << std::setfill('0') << v;
  return out.str();
}

}  // namespace

uint64_t ModelFileChecksum(const uint8_t* data, size_t size) {
  Crc64 crc;
  crc.Update(data, kChecksumField);
  crc.Update(data + kHeaderSize, size - kHeaderSize);
  return crc.Value();
}

Status OpenModelFile(const uint8_t* data, size_t size, FileSections* sections) {
  if (size > 0 && data == nullptr) return InvalidArgument("model bytes are null but size is ", size);
  const size_t magic_bytes = std::min(size, sizeof(kMagic));
  if (magic_bytes > 0 && std::memcmp(data, kMagic, magic_bytes) != 0)
    return InvalidArgument("not a mixq model file: it does not start with \"MIXQMODL\"");
  if (size < kHeaderSize)
    return DataLoss("truncated: the file ends at byte offset ", size, ", inside the ", kHeaderSize, "-byte header");

  const uint64_t version = LoadLE(data + kVersionOffset, 4);
  if (version < kOldestModelFormatVersion || version > kModelFormatVersion)
    return InvalidArgument("model file format version ", version, " is not supported: this build reads versions ",
                           kOldestModelFormatVersion, " to ", kModelFormatVersion);
  const uint64_t header_size = LoadLE(data + kHeaderSizeOffset, 4);
  if (header_size != kHeaderSize)
    return DataLoss("corrupted header: header size ", header_size, " at byte offset ", kHeaderSizeOffset, ", version ",
                    version, " has ", kHeaderSize);
  const uint64_t meta_offset = LoadLE(data + kMetadataOffsetField, 8);
  if (meta_offset != kHeaderSize)
    return DataLoss("corrupted header: metadata offset ", meta_offset, " at byte offset ", kMetadataOffsetField,
                    ", expected ", kHeaderSize);
  // Each bound is compared against what is left of the file before adding,
  // so corrupted 64-bit fields cannot overflow the arithmetic.
  const uint64_t meta_size = LoadLE(data + kMetadataSizeField, 8);
  if (meta_size == 0) return DataLoss("corrupted header: metadata size 0 at byte offset ", kMetadataSizeField);
  if (meta_size > size - meta_offset)
    return DataLoss("truncated: the metadata section runs from byte offset ", meta_offset, " for ", meta_size,
                    " bytes, but the file ends at byte offset ", size);
  const uint64_t meta_end = meta_offset + meta_size;
  const uint64_t weights_offset = LoadLE(data + kWeightsOffsetField, 8);
  if (weights_offset != AlignUp(meta_end, kPayloadAlignment))
    return DataLoss("corrupted header: weights offset ", weights_offset, " at byte offset ", kWeightsOffsetField,
                    ", expected ", AlignUp(meta_end, kPayloadAlignment), " (the metadata end rounded up to ",
                    kPayloadAlignment, ")");
  if (weights_offset > size)
    return DataLoss("truncated: the weights section starts at byte offset ", weights_offset,
                    " but the file ends at byte offset ", size);
  const uint64_t weights_size = LoadLE(data + kWeightsSizeField, 8);
  if (weights_size > size - weights_offset)
    return DataLoss("truncated: the weights section runs from byte offset ", weights_offset, " for ", weights_size,
                    " bytes, but the file ends at byte offset ", size);
  if (weights_offset + weights_size != size)
    return DataLoss("corrupted file: ", size - weights_offset - weights_size,
                    " unexpected trailing bytes at byte offset ", weights_offset + weights_size);

  const uint64_t stored = LoadLE(data + kChecksumField, 8);
  const uint64_t actual = ModelFileChecksum(data, size);
  if (stored != actual)
    return DataLoss("checksum mismatch: the header (byte offset ", kChecksumField, ") says ", Hex(stored),
                    ", the file's bytes give ", Hex(actual), "; the file is corrupted");

  sections->metadata = data + meta_offset;
  sections->metadata_offset = meta_offset;
  sections->metadata_size = meta_size;
  sections->weights = data + weights_offset;
  sections->weights_offset = weights_offset;
  sections->weights_size = weights_size;
  return Status::OK();
}

size_t LayOutModelFile(const std::vector<uint8_t>& metadata, size_t weights_size, std::vector<uint8_t>* bytes) {
  const size_t weights_offset = AlignUp(kHeaderSize + metadata.size(), kPayloadAlignment);
  // assign() zero-fills, which is what the padding and the weights gaps need.
  bytes->assign(weights_offset + weights_size, 0);
  uint8_t* p = bytes->data();
  std::memcpy(p, kMagic, sizeof(kMagic));
  StoreLE(p + kVersionOffset, kModelFormatVersion, 4);
  StoreLE(p + kHeaderSizeOffset, kHeaderSize, 4);
  StoreLE(p + kMetadataOffsetField, kHeaderSize, 8);
  StoreLE(p + kMetadataSizeField, metadata.size(), 8);
  StoreLE(p + kWeightsOffsetField, weights_offset, 8);
  StoreLE(p + kWeightsSizeField, weights_size, 8);
  if (!metadata.empty()) std::memcpy(p + kHeaderSize, metadata.data(), metadata.size());
  return weights_offset;
}

void SealModelFile(std::vector<uint8_t>* bytes) {
  if (bytes->size() < kHeaderSize) return;
  StoreLE(bytes->data() + kChecksumField, ModelFileChecksum(bytes->data(), bytes->size()), 8);
}

}  // namespace mixq::format
