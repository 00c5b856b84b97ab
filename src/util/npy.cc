#include "util/npy.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "util/file_read.h"
#include "util/status_util.h"

namespace mixq {

namespace {

struct NpyType {
  DataType type;
  const char* descr;
};
constexpr NpyType kNpyTypes[] = {
    {DataType::FLOAT32, "<f4"}, {DataType::FLOAT16, "<f2"}, {DataType::INT8, "|i1"},
    {DataType::INT16, "<i2"},   {DataType::INT32, "<i4"},   {DataType::INT64, "<i8"},
    {DataType::UINT8, "|u1"},   {DataType::BOOL, "|b1"},
};

// The value text after 'key': in the header dict, up to the matching delimiter.
bool FindField(const std::string& header, const std::string& key, std::string* value) {
  auto k = header.find("'" + key + "'");
  if (k == std::string::npos) return false;
  auto colon = header.find(':', k);
  if (colon == std::string::npos) return false;
  size_t start = header.find_first_not_of(' ', colon + 1);
  if (start == std::string::npos) return false;
  size_t end;
  if (header[start] == '\'') {
    end = header.find('\'', start + 1);
    if (end == std::string::npos) return false;
    *value = header.substr(start + 1, end - start - 1);
  } else if (header[start] == '(') {
    end = header.find(')', start);
    if (end == std::string::npos) return false;
    *value = header.substr(start + 1, end - start - 1);
  } else {
    end = header.find_first_of(",}", start);
    if (end == std::string::npos) return false;
    *value = header.substr(start, end - start);
  }
  return true;
}

}  // namespace

Status WriteNpy(const std::string& path, DataType dtype, const std::vector<int64_t>& shape, const void* data) {
  const char* descr = nullptr;
  for (const auto& t : kNpyTypes)
    if (t.type == dtype) descr = t.descr;
  if (!descr) return InvalidArgument("WriteNpy: ", DataTypeName(dtype), " has no .npy equivalent");
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
  std::string header = StrCat("{'descr': '", descr, "', 'fortran_order': False, 'shape': (", dims, "), }");
  // Pad so that magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return NotFound("cannot open '", path, "' for writing");
  const uint16_t length = static_cast<uint16_t>(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.put(static_cast<char>(length & 0xff));
  out.put(static_cast<char>(length >> 8));
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(count * static_cast<int64_t>(DataTypeSize(dtype))));
  if (!out) return Internal("writing '", path, "' failed");
  return Status::OK();
}

Status ParseNpy(const uint8_t* data, size_t size, NpyArray* array) {
  if (size < 10 || std::memcmp(data, "\x93NUMPY", 6) != 0) return InvalidArgument("not a .npy file (bad magic)");
  const int major = data[6];
  size_t header_len, offset;
  if (major == 1) {
    header_len = data[8] | (static_cast<size_t>(data[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) return DataLoss(".npy header truncated");
    header_len = data[8] | (static_cast<size_t>(data[9]) << 8) | (static_cast<size_t>(data[10]) << 16) |
                 (static_cast<size_t>(data[11]) << 24);
    offset = 12;
  } else {
    return InvalidArgument(".npy format version ", major, " is not supported");
  }
  if (header_len > size - offset) return DataLoss(".npy header truncated at byte ", size);
  const std::string header(reinterpret_cast<const char*>(data + offset), header_len);
  std::string descr, fortran, shape_text;
  if (!FindField(header, "descr", &descr) || !FindField(header, "fortran_order", &fortran) ||
      !FindField(header, "shape", &shape_text))
    return InvalidArgument(".npy header lacks descr, fortran_order or shape: ", header);
  if (fortran.find("True") != std::string::npos) return InvalidArgument(".npy arrays in Fortran order are not supported");
  bool known = false;
  for (const auto& t : kNpyTypes) {
    if (descr == t.descr || (descr[0] == '=' && descr.substr(1) == std::string(t.descr).substr(1))) {
      array->dtype = t.type;
      known = true;
    }
  }
  if (!known) return InvalidArgument(".npy dtype '", descr, "' is not supported");
  array->shape.clear();
  int64_t count = 1;
  size_t pos = 0;
  while (pos < shape_text.size()) {
    size_t comma = shape_text.find(',', pos);
    std::string item = shape_text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? shape_text.size() : comma + 1;
    if (item.find_first_not_of(' ') == std::string::npos) continue;
    char* end = nullptr;
    long long d = std::strtoll(item.c_str(), &end, 10);
    if (d < 0 || d > (int64_t{1} << 40)) return InvalidArgument(".npy shape entry '", item, "' is invalid");
    array->shape.push_back(d);
    if (__builtin_mul_overflow(count, d, &count) || count > (int64_t{1} << 40))
      return InvalidArgument(".npy shape (", shape_text, ") is too large (more than 2^40 elements)");
  }
  const size_t bytes = static_cast<size_t>(count) * DataTypeSize(array->dtype);
  offset += header_len;
  if (size - offset < bytes)
    return DataLoss(".npy payload truncated: ", size - offset, " bytes, shape needs ", bytes);
  array->bytes.assign(data + offset, data + offset + bytes);
  return Status::OK();
}

Status ReadNpy(const std::string& path, NpyArray* array) {
  std::vector<uint8_t> bytes;
  MIXQ_RETURN_IF_ERROR(ReadFileLimited(path, kMaxNumpyFileBytes, ".npy file", &bytes));
  return WithContext(ParseNpy(bytes.data(), bytes.size(), array), path);
}

}  // namespace mixq
