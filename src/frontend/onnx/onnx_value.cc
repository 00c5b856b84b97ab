#include "frontend/onnx/onnx_value.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "onnx/onnx.pb.h"
#include "util/status_util.h"

namespace mixq::onnx_import {

namespace {

using onnx::TensorProto;

// Reads `count` elements of `width` bytes as little-endian integers (the ONNX
// raw_data byte order), sign-extended unless `is_unsigned`.
std::vector<SymInt> IntsFromRaw(const std::string& raw, int64_t count, size_t width, bool is_unsigned) {
  std::vector<SymInt> out(static_cast<size_t>(count));
  for (size_t i = 0; i < out.size(); ++i) {
    uint64_t bits = 0;
    for (size_t b = 0; b < width; ++b)
      bits |= static_cast<uint64_t>(static_cast<uint8_t>(raw[i * width + b])) << (8 * b);
    int64_t v = static_cast<int64_t>(bits);
    if (!is_unsigned && width < 8) {
      const int shift = static_cast<int>(64 - 8 * width);
      v = static_cast<int64_t>(bits << shift) >> shift;
    }
    out[i] = SymInt::Known(v);
  }
  return out;
}

// Resolves the external-data entries of `proto` to bytes read from a file
// under `base_dir`. Paths may not leave that folder.
Status ReadExternalData(const TensorProto& proto, const std::string& base_dir, size_t expected_bytes,
                        std::string* bytes) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& entry : proto.external_data()) {
    if (entry.key() == "location") {
      location = entry.value();
    } else if (entry.key() == "offset" || entry.key() == "length") {
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(entry.value().c_str(), &end, 10);
      if (entry.value().empty() || *end != '\0' || errno != 0 || v < 0)
        return InvalidArgument("external data '", entry.key(), "' must be a non-negative integer, got '", entry.value(),
                               "'");
      (entry.key() == "offset" ? offset : length) = v;
    }
  }
  if (location.empty()) return InvalidArgument("external data has no 'location'");
  if (base_dir.empty())
    return InvalidArgument("external data file '", location,
                           "' cannot be read: the model was given from memory without a base folder");
  const std::filesystem::path rel(location);
  if (rel.is_absolute() || rel.has_root_name())
    return InvalidArgument("external data location '", location, "' must be relative to the model's folder");
  for (const auto& part : rel)
    if (part == "..") return InvalidArgument("external data location '", location, "' may not contain '..'");
  const std::filesystem::path path = std::filesystem::path(base_dir) / rel;
  // A symlink inside the folder may still point outside it: compare the
  // resolved paths, component by component.
  std::error_code ec;
  const std::filesystem::path real_dir = std::filesystem::canonical(base_dir, ec);
  if (ec) return NotFound("model folder '", base_dir, "' of external data '", location, "' cannot be resolved");
  const std::filesystem::path real = std::filesystem::canonical(path, ec);
  if (ec) return NotFound("external data file '", path.string(), "' cannot be opened");
  const auto [dir_end, real_it] = std::mismatch(real_dir.begin(), real_dir.end(), real.begin(), real.end());
  if (dir_end != real_dir.end())
    return InvalidArgument("external data location '", location, "' resolves to '", real.string(),
                           "', outside the model's folder '", real_dir.string(), "' (through a symlink)");
  if (!std::filesystem::is_regular_file(real, ec))
    return InvalidArgument("external data location '", location, "' is not a regular file");
  std::ifstream in(real, std::ios::binary);
  if (!in) return NotFound("external data file '", path.string(), "' cannot be opened");
  in.seekg(0, std::ios::end);
  const int64_t file_size = static_cast<int64_t>(in.tellg());
  if (length < 0) length = static_cast<int64_t>(expected_bytes);
  if (static_cast<size_t>(length) != expected_bytes)
    return InvalidArgument("external data length ", length, " does not match the ", expected_bytes,
                           " bytes the dims and type need");
  if (offset > file_size || length > file_size - offset)
    return OutOfRange("external data file '", path.string(), "' holds ", file_size, " bytes, needs ", length,
                      " from offset ", offset);
  bytes->resize(static_cast<size_t>(length));
  in.seekg(offset);
  in.read(bytes->data(), length);
  if (!in) return DataLoss("external data file '", path.string(), "': read failed");
  return Status::OK();
}

template <typename Repeated>
Status CheckCount(const Repeated& field, int64_t count, const char* field_name) {
  if (static_cast<int64_t>(field.size()) != count)
    return InvalidArgument(field_name, " holds ", field.size(), " values, dims need ", count);
  return Status::OK();
}

}  // namespace

int64_t FoldValue::ElementCount() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

bool IsIntegerType(DataType type) {
  switch (type) {
    case DataType::INT8:
    case DataType::INT16:
    case DataType::INT32:
    case DataType::INT64:
    case DataType::UINT8:
    case DataType::BOOL:
      return true;
    default:
      return false;
  }
}

bool FoldValue::IsInt() const {
  return IsIntegerType(dtype);
}

bool FoldValue::AllKnown() const {
  for (const auto& v : ints)
    if (!v.known) return false;
  return true;
}

Status FoldValue::ToInt64s(const std::string& what, std::vector<int64_t>* out) const {
  out->clear();
  if (!IsInt()) return InvalidArgument(what, " must hold integers, got ", DataTypeName(dtype));
  for (const auto& v : ints) {
    if (!v.known)
      return InvalidArgument(what, " depends on dims only known at run time (", dims.size() == 1 ? "shape" : "value",
                             " not computable at import; fix the input shape with SetInputShape)");
    out->push_back(v.value);
  }
  return Status::OK();
}

Status FoldValue::ToFloats(const std::string& what, std::vector<float>* out) const {
  out->clear();
  if (IsFloat()) {
    *out = floats;
    return Status::OK();
  }
  if (!IsInt()) return InvalidArgument(what, " must hold FLOAT32 or integer values, got ", DataTypeName(dtype));
  std::vector<int64_t> values;
  MIXQ_RETURN_IF_ERROR(ToInt64s(what, &values));
  for (int64_t v : values) out->push_back(static_cast<float>(v));
  return Status::OK();
}

std::vector<uint8_t> FoldValue::Bytes() const {
  if (!raw.empty() || (!IsInt() && !IsFloat())) return raw;
  if (IsFloat()) {
    std::vector<uint8_t> out(floats.size() * sizeof(float));
    if (!floats.empty()) std::memcpy(out.data(), floats.data(), out.size());
    return out;
  }
  const size_t width = DataTypeSize(dtype);
  std::vector<uint8_t> out(ints.size() * width);
  for (size_t i = 0; i < ints.size(); ++i) {
    const int64_t v = dtype == DataType::BOOL ? (ints[i].value != 0) : ints[i].value;
    for (size_t b = 0; b < width; ++b) out[i * width + b] = static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * b));
  }
  return out;
}

FoldValue FoldValue::FromInts(DataType dtype, std::vector<int64_t> dims, const std::vector<int64_t>& values) {
  std::vector<SymInt> sym;
  sym.reserve(values.size());
  for (int64_t v : values) sym.push_back(SymInt::Known(v));
  return FromSym(dtype, std::move(dims), std::move(sym));
}

FoldValue FoldValue::FromSym(DataType dtype, std::vector<int64_t> dims, std::vector<SymInt> values) {
  FoldValue f;
  f.dtype = dtype;
  f.dims = std::move(dims);
  f.ints = std::move(values);
  return f;
}

FoldValue FoldValue::FromFloats(std::vector<int64_t> dims, std::vector<float> values) {
  FoldValue f;
  f.dtype = DataType::FLOAT32;
  f.dims = std::move(dims);
  f.floats = std::move(values);
  return f;
}

bool FromOnnxType(int32_t onnx_type, DataType* type) {
  switch (onnx_type) {
    case TensorProto::FLOAT:
      *type = DataType::FLOAT32;
      return true;
    case TensorProto::UINT8:
      *type = DataType::UINT8;
      return true;
    case TensorProto::INT8:
      *type = DataType::INT8;
      return true;
    case TensorProto::INT16:
      *type = DataType::INT16;
      return true;
    case TensorProto::INT32:
      *type = DataType::INT32;
      return true;
    case TensorProto::INT64:
      *type = DataType::INT64;
      return true;
    case TensorProto::BOOL:
      *type = DataType::BOOL;
      return true;
    case TensorProto::FLOAT16:
      *type = DataType::FLOAT16;
      return true;
    case TensorProto::BFLOAT16:
      *type = DataType::BFLOAT16;
      return true;
    default:
      return false;
  }
}

const char* OnnxTypeName(int32_t onnx_type) {
  if (!TensorProto::DataType_IsValid(onnx_type)) return "(invalid type)";
  static std::string names[32];
  std::string& name = names[onnx_type & 31];
  if (name.empty()) name = TensorProto::DataType_Name(static_cast<TensorProto::DataType>(onnx_type));
  return name.c_str();
}

Status CheckDims(const std::vector<int64_t>& dims, const std::string& what) {
  if (dims.size() > 16) return InvalidArgument(what, " has rank ", dims.size(), " (at most 16 supported)");
  int64_t count = 1;
  for (int64_t d : dims) {
    if (d < 0) return InvalidArgument(what, " has a negative dim: ", Dims(dims).ToString());
    if (d > 0 && count > kMaxElements / d)
      return InvalidArgument(what, " dims ", Dims(dims).ToString(), " hold more than ", kMaxElements, " elements");
    count *= d;
  }
  return Status::OK();
}

Status FoldValueFromProto(const TensorProto& proto, const std::string& base_dir, FoldValue* value) {
  const std::string what = StrCat("tensor '", proto.name(), "'");
  DataType dtype;
  if (!FromOnnxType(proto.data_type(), &dtype))
    return Unimplemented(what, ": element type ", OnnxTypeName(proto.data_type()), " is not supported");
  std::vector<int64_t> dims(proto.dims().begin(), proto.dims().end());
  MIXQ_RETURN_IF_ERROR(CheckDims(dims, what));
  if (proto.has_segment()) return Unimplemented(what, ": segmented tensors are not supported");
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  const size_t width = DataTypeSize(dtype);
  const size_t bytes = static_cast<size_t>(count) * width;

  std::string external;
  const std::string* raw = nullptr;
  if (proto.data_location() == TensorProto::EXTERNAL) {
    MIXQ_RETURN_IF_ERROR(WithContext(ReadExternalData(proto, base_dir, bytes, &external), what));
    raw = &external;
  } else if (proto.has_raw_data()) {
    if (proto.raw_data().size() != bytes)
      return InvalidArgument(what, ": raw_data holds ", proto.raw_data().size(), " bytes, dims ", Dims(dims).ToString(),
                             " of ", DataTypeName(dtype), " need ", bytes);
    raw = &proto.raw_data();
  }

  value->dtype = dtype;
  value->dims = dims;
  value->ints.clear();
  value->floats.clear();
  value->raw.clear();
  if (raw) {
    if (dtype == DataType::FLOAT32) {
      value->floats.resize(static_cast<size_t>(count));
      if (count > 0) std::memcpy(value->floats.data(), raw->data(), bytes);
    } else if (IsIntegerType(dtype)) {
      value->ints = IntsFromRaw(*raw, count, width, dtype == DataType::UINT8 || dtype == DataType::BOOL);
    } else {
      value->raw.assign(raw->begin(), raw->end());
    }
    return Status::OK();
  }
  // Typed fields: FLOAT in float_data, INT64 in int64_data, every narrower
  // type (incl. FLOAT16 / BFLOAT16 bit patterns) in int32_data.
  if (dtype == DataType::FLOAT32) {
    MIXQ_RETURN_IF_ERROR(WithContext(CheckCount(proto.float_data(), count, "float_data"), what));
    value->floats.assign(proto.float_data().begin(), proto.float_data().end());
  } else if (dtype == DataType::INT64) {
    MIXQ_RETURN_IF_ERROR(WithContext(CheckCount(proto.int64_data(), count, "int64_data"), what));
    for (int64_t v : proto.int64_data()) value->ints.push_back(SymInt::Known(v));
  } else {
    MIXQ_RETURN_IF_ERROR(WithContext(CheckCount(proto.int32_data(), count, "int32_data"), what));
    if (IsIntegerType(dtype)) {
      for (int32_t v : proto.int32_data()) value->ints.push_back(SymInt::Known(v));
    } else {  // 16-bit float bit patterns
      value->raw.resize(bytes);
      for (int64_t i = 0; i < count; ++i) {
        const uint16_t bits = static_cast<uint16_t>(proto.int32_data(static_cast<int>(i)));
        std::memcpy(value->raw.data() + i * 2, &bits, 2);
      }
    }
  }
  return Status::OK();
}

}  // namespace mixq::onnx_import
