#include "npz.h"

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "util/file_read.h"
#include "util/status_util.h"

namespace mixq::cli {

namespace {

constexpr uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr uint32_t kCentralEntry = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kZip64Marker = 0xffffffff;
// No .npz member we would load is larger; bounds inflation of hostile input.
constexpr uint64_t kMaxMemberBytes = uint64_t{1} << 32;

uint16_t U16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t U32(const uint8_t* p) {
  return U16(p) | (static_cast<uint32_t>(U16(p + 2)) << 16);
}
uint64_t U64(const uint8_t* p) {
  return U32(p) | (static_cast<uint64_t>(U32(p + 4)) << 32);
}

struct Member {
  std::string name;
  uint16_t method = 0;
  uint64_t compressed = 0, uncompressed = 0, local_offset = 0;
};

// Zip64 extra field (id 1): the 64-bit values, in order, of those 32-bit fields that hold 0xffffffff.
Status ReadZip64Extra(const uint8_t* extra, size_t size, Member* m, bool size32_full, bool csize32_full,
                      bool offset32_full) {
  size_t pos = 0;
  while (pos + 4 <= size) {
    const uint16_t id = U16(extra + pos), len = U16(extra + pos + 2);
    if (pos + 4 + len > size) break;
    if (id == 1) {
      size_t at = pos + 4;
      auto take = [&](uint64_t* v) {
        if (at + 8 > pos + 4 + len) return false;
        *v = U64(extra + at);
        at += 8;
        return true;
      };
      if ((size32_full && !take(&m->uncompressed)) || (csize32_full && !take(&m->compressed)) ||
          (offset32_full && !take(&m->local_offset)))
        return DataLoss("member '", m->name, "': truncated zip64 field");
      return Status::OK();
    }
    pos += 4 + len;
  }
  return DataLoss("member '", m->name, "': sizes marked zip64 but no zip64 field");
}

Status Inflate(const uint8_t* in, uint64_t in_size, uint64_t out_size, std::vector<uint8_t>* out) {
  // One zlib call: its counters are 32-bit, hence the 4 GiB member limit.
  if (in_size > UINT32_MAX || out_size > UINT32_MAX) return Unimplemented("deflated members over 4 GiB");
  out->assign(out_size, 0);
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return Internal("zlib inflateInit2 failed");
  z.next_in = const_cast<Bytef*>(in);
  z.avail_in = static_cast<uInt>(in_size);
  z.next_out = out->data();
  z.avail_out = static_cast<uInt>(out_size);
  const int rc = inflate(&z, Z_FINISH);
  const uint64_t produced = z.total_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || produced != out_size) return DataLoss("deflate data is corrupt or has the wrong size");
  return Status::OK();
}

}  // namespace

Status ParseNpz(const uint8_t* data, size_t size, std::map<std::string, NpyArray>* arrays) {
  arrays->clear();
  if (size < 22) return DataLoss("not a .npz (zip) file: ", size, " bytes");
  // The end-of-central-directory record sits in the last 22 + 65535 bytes (its comment is at most 64 KiB).
  size_t eocd = size - 22;
  const size_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  while (U32(data + eocd) != kEndOfCentralDirectory) {
    if (eocd == lowest) return DataLoss("not a .npz (zip) file: no end of central directory");
    --eocd;
  }
  const uint16_t entries = U16(data + eocd + 10);
  const uint64_t cd_offset = U32(data + eocd + 16);
  if (cd_offset == kZip64Marker) return Unimplemented(".npz archives over 4 GiB are not supported");
  uint64_t pos = cd_offset;
  for (uint16_t e = 0; e < entries; ++e) {
    if (pos + 46 > eocd || U32(data + pos) != kCentralEntry)
      return DataLoss("central directory entry ", e, " at byte ", pos, " is corrupt");
    const uint8_t* c = data + pos;
    Member m;
    m.method = U16(c + 10);
    const uint32_t csize32 = U32(c + 20), size32 = U32(c + 24), offset32 = U32(c + 42);
    const uint16_t name_len = U16(c + 28), extra_len = U16(c + 30), comment_len = U16(c + 32);
    if (pos + 46 + name_len + extra_len + comment_len > eocd)
      return DataLoss("central directory entry ", e, " runs past the directory");
    m.name.assign(reinterpret_cast<const char*>(c + 46), name_len);
    m.compressed = csize32;
    m.uncompressed = size32;
    m.local_offset = offset32;
    if (csize32 == kZip64Marker || size32 == kZip64Marker || offset32 == kZip64Marker)
      MIXQ_RETURN_IF_ERROR(ReadZip64Extra(c + 46 + name_len, extra_len, &m, size32 == kZip64Marker,
                                          csize32 == kZip64Marker, offset32 == kZip64Marker));
    pos += 46 + name_len + extra_len + comment_len;

    const std::string where = StrCat("member '", m.name, "'");
    if (m.local_offset > size || size - m.local_offset < 30 || U32(data + m.local_offset) != kLocalHeader)
      return DataLoss(where, ": local header at byte ", m.local_offset, " is corrupt");
    const uint64_t start = m.local_offset + 30 + U16(data + m.local_offset + 26) + U16(data + m.local_offset + 28);
    if (start > size || m.compressed > size - start) return DataLoss(where, ": data runs past the end of the file");
    // Deflate expands at most ~1032:1, so a larger claim is corrupt; checking
    // it first keeps hostile sizes from allocating gigabytes.
    if (m.uncompressed > kMaxMemberBytes || (m.method == 8 && m.uncompressed > m.compressed * 1032 + 64) ||
        (m.method == 0 && m.uncompressed != m.compressed))
      return DataLoss(where, ": size ", m.uncompressed, " does not fit its ", m.compressed, " stored bytes");
    std::vector<uint8_t> inflated;
    const uint8_t* bytes = data + start;
    uint64_t byte_count = m.compressed;
    if (m.method == 8) {
      MIXQ_RETURN_IF_ERROR(WithContext(Inflate(data + start, m.compressed, m.uncompressed, &inflated), where));
      bytes = inflated.data();
      byte_count = inflated.size();
    } else if (m.method != 0) {
      return Unimplemented(where, ": zip compression method ", m.method, " (only stored and deflate)");
    }
    std::string key = m.name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    NpyArray array;
    MIXQ_RETURN_IF_ERROR(WithContext(ParseNpy(bytes, byte_count, &array), where));
    (*arrays)[key] = std::move(array);
  }
  return Status::OK();
}

Status ReadNpz(const std::string& path, std::map<std::string, NpyArray>* arrays) {
  std::vector<uint8_t> bytes;
  MIXQ_RETURN_IF_ERROR(ReadFileLimited(path, kMaxNumpyFileBytes, ".npz file", &bytes));
  return WithContext(ParseNpz(bytes.data(), bytes.size(), arrays), path);
}

}  // namespace mixq::cli
