#include "quant/calib_file.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "util/checksum.h"
#include "util/status_util.h"

namespace mixq::quant {

namespace {

constexpr uint8_t kCalibMagic[8] = {'M', 'I', 'X', 'Q', 'C', 'A', 'L', 'B'};
constexpr size_t kVersionField = 8;
constexpr size_t kHeaderSizeField = 12;
constexpr size_t kNetworkHashField = 16;
constexpr size_t kBodySizeField = 24;
// Smallest record: name length, a 1-byte name, min, max, three counts, the
// edge, the bin count and one bin per histogram.
constexpr size_t kMinRecordBytes = 4 + 1 + 4 + 4 + 3 * 8 + 8 + 4 + 2 * 8;

void StoreLE(uint8_t* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t LoadLE(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>* out) : out_(out) {}
  void U(uint64_t v, int bytes) {
    const size_t at = out_->size();
    out_->resize(at + static_cast<size_t>(bytes));
    StoreLE(out_->data() + at, v, bytes);
  }
  void F32(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    U(bits, 4);
  }
  void F64(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    U(bits, 8);
  }
  void Raw(const std::string& s) { out_->insert(out_->end(), s.begin(), s.end()); }

 private:
  std::vector<uint8_t>* out_;
};

// Bounds-checked reads from the body; every error names the byte offset.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, size_t offset) : data_(data), size_(size), offset_(offset) {}
  size_t offset() const { return offset_; }
  size_t left() const { return size_ - offset_; }
  Status Need(size_t bytes, const char* what) const {
    if (bytes > left())
      return DataLoss("calibration file truncated: ", what, " at byte offset ", offset_, " needs ", bytes,
                      " bytes, the file ends at byte offset ", size_);
    return Status::OK();
  }
  Status U(int bytes, const char* what, uint64_t* v) {
    MIXQ_RETURN_IF_ERROR(Need(static_cast<size_t>(bytes), what));
    *v = LoadLE(data_ + offset_, bytes);
    offset_ += static_cast<size_t>(bytes);
    return Status::OK();
  }
  Status F32(const char* what, float* f) {
    uint64_t bits;
    MIXQ_RETURN_IF_ERROR(U(4, what, &bits));
    const uint32_t b32 = static_cast<uint32_t>(bits);
    std::memcpy(f, &b32, 4);
    return Status::OK();
  }
  Status F64(const char* what, double* d) {
    uint64_t bits;
    MIXQ_RETURN_IF_ERROR(U(8, what, &bits));
    std::memcpy(d, &bits, 8);
    return Status::OK();
  }
  Status Str(size_t n, const char* what, std::string* s) {
    MIXQ_RETURN_IF_ERROR(Need(n, what));
    s->assign(reinterpret_cast<const char*>(data_ + offset_), n);
    offset_ += n;
    return Status::OK();
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t offset_;
};

// A u32 length (1 .. kMaxTensorNameBytes) and that many name bytes; `what`
// ("tensor", "auto choice") and `index` name the entry in errors.
Status ReadName(Reader* r, const char* what, uint64_t index, std::string* name) {
  const size_t at = r->offset();
  uint64_t v = 0;
  MIXQ_RETURN_IF_ERROR(r->U(4, "name length", &v));
  if (v == 0 || v > kMaxTensorNameBytes)
    return DataLoss("calibration file corrupted: ", what, " ", index, " at byte offset ", at, " has a name length of ",
                    v, " (1 .. ", kMaxTensorNameBytes, ")");
  return r->Str(static_cast<size_t>(v), "name", name);
}

Status ReadRecord(Reader* r, uint32_t index, std::string* name, ObserverState* s) {
  const size_t record_offset = r->offset();
  uint64_t v = 0;
  MIXQ_RETURN_IF_ERROR(ReadName(r, "tensor", index, name));
  MIXQ_RETURN_IF_ERROR(r->F32("min", &s->min));
  MIXQ_RETURN_IF_ERROR(r->F32("max", &s->max));
  MIXQ_RETURN_IF_ERROR(r->U(8, "count", &s->count));
  MIXQ_RETURN_IF_ERROR(r->U(8, "NaN count", &s->nan_count));
  MIXQ_RETURN_IF_ERROR(r->U(8, "Inf count", &s->inf_count));
  MIXQ_RETURN_IF_ERROR(r->F64("histogram edge", &s->hist_max_abs));
  const size_t bins_offset = r->offset();
  MIXQ_RETURN_IF_ERROR(r->U(4, "bin count", &v));
  if (v == 0 || v > static_cast<uint64_t>(TensorObserver::kMaxNumBins))
    return DataLoss("calibration file corrupted: tensor '", *name, "' bin count ", v, " at byte offset ", bins_offset,
                    " outside [1, ", TensorObserver::kMaxNumBins, "]");
  // Checked before allocating, so a corrupted count cannot ask for memory the file does not hold.
  MIXQ_RETURN_IF_ERROR(r->Need(static_cast<size_t>(v) * 16, "histograms"));
  s->num_bins = static_cast<int32_t>(v);
  s->negative_bins.resize(static_cast<size_t>(v));
  s->positive_bins.resize(static_cast<size_t>(v));
  for (auto* bins : {&s->negative_bins, &s->positive_bins})
    for (uint64_t& b : *bins) MIXQ_RETURN_IF_ERROR(r->U(8, "bin", &b));
  TensorObserver check;
  const Status valid = TensorObserver::FromState(*s, &check);
  if (!valid.ok())
    return DataLoss("calibration file corrupted: tensor '", *name, "' (record at byte offset ", record_offset,
                    "): ", valid.message());
  return Status::OK();
}

// The file's codes for the algorithms an auto choice can be.
constexpr RangeAlgorithm kChoiceCodes[] = {RangeAlgorithm::kLinear, RangeAlgorithm::kEqnm, RangeAlgorithm::kEntropy,
                                           RangeAlgorithm::kPercentile};

uint32_t ChoiceCode(RangeAlgorithm a) {
  for (uint32_t c = 0; c < std::size(kChoiceCodes); ++c)
    if (kChoiceCodes[c] == a) return c;
  return 0;  // kAuto is never a choice (the writer's caller guarantees it)
}

// Version 2's choices section (calib_file.h), after the tensor records.
Status ReadChoices(Reader* r, CalibrationFile* file) {
  const size_t count_offset = r->offset();
  uint64_t count = 0;
  MIXQ_RETURN_IF_ERROR(r->U(4, "auto choice count", &count));
  if (count > file->tensors.size())
    return DataLoss("calibration file corrupted: auto choice count ", count, " at byte offset ", count_offset,
                    " exceeds the ", file->tensors.size(), " tensor records");
  if (count == 0) return Status::OK();
  const size_t percentile_offset = r->offset();
  MIXQ_RETURN_IF_ERROR(r->F64("auto search percentile", &file->auto_percentile));
  if (!(file->auto_percentile > 0.0 && file->auto_percentile <= 100.0))
    return DataLoss("calibration file corrupted: auto search percentile ", file->auto_percentile, " at byte offset ",
                    percentile_offset, " outside (0, 100]");
  std::string previous;
  for (uint64_t i = 0; i < count; ++i) {
    const size_t choice_offset = r->offset();
    std::string name;
    MIXQ_RETURN_IF_ERROR(ReadName(r, "auto choice", i, &name));
    if (!file->tensors.count(name))
      return DataLoss("calibration file corrupted: auto choice for tensor '", name, "' at byte offset ", choice_offset,
                      " has no tensor record");
    if (i > 0 && !(previous < name))
      return DataLoss("calibration file corrupted: auto choice for tensor '", name, "' at byte offset ", choice_offset,
                      " is out of order or repeated (names increase)");
    const size_t code_offset = r->offset();
    uint64_t v = 0;
    MIXQ_RETURN_IF_ERROR(r->U(4, "auto choice algorithm", &v));
    if (v >= std::size(kChoiceCodes))
      return DataLoss("calibration file corrupted: auto choice for tensor '", name, "' has algorithm code ", v,
                      " at byte offset ", code_offset, " (0 linear, 1 eqnm, 2 entropy, 3 percentile)");
    file->auto_choice[name] = kChoiceCodes[v];
    previous = std::move(name);
  }
  return Status::OK();
}

}  // namespace

uint64_t CalibrationFileChecksum(const uint8_t* data, size_t size) {
  format::Crc64 crc;
  crc.Update(data, kCalibChecksumField);
  crc.Update(data + kCalibHeaderSize, size - kCalibHeaderSize);
  return crc.Value();
}

void SealCalibrationFile(std::vector<uint8_t>* bytes) {
  if (bytes->size() < kCalibHeaderSize) return;
  StoreLE(bytes->data() + kCalibChecksumField, CalibrationFileChecksum(bytes->data(), bytes->size()), 8);
}

void WriteCalibrationFile(const CalibrationFile& file, std::vector<uint8_t>* bytes) {
  bytes->assign(kCalibHeaderSize, 0);
  std::memcpy(bytes->data(), kCalibMagic, sizeof(kCalibMagic));
  StoreLE(bytes->data() + kVersionField, kCalibFormatVersion, 4);
  StoreLE(bytes->data() + kHeaderSizeField, kCalibHeaderSize, 4);
  StoreLE(bytes->data() + kNetworkHashField, file.network_hash, 8);
  Writer w(bytes);
  w.U(file.tensors.size(), 4);
  for (const auto& [name, s] : file.tensors) {
    w.U(name.size(), 4);
    w.Raw(name);
    w.F32(s.min);
    w.F32(s.max);
    w.U(s.count, 8);
    w.U(s.nan_count, 8);
    w.U(s.inf_count, 8);
    w.F64(s.hist_max_abs);
    w.U(static_cast<uint64_t>(s.num_bins), 4);
    for (uint64_t b : s.negative_bins) w.U(b, 8);
    for (uint64_t b : s.positive_bins) w.U(b, 8);
  }
  w.U(file.auto_choice.size(), 4);
  if (!file.auto_choice.empty()) w.F64(file.auto_percentile);
  for (const auto& [name, algorithm] : file.auto_choice) {  // std::map: names in increasing byte order
    w.U(name.size(), 4);
    w.Raw(name);
    w.U(ChoiceCode(algorithm), 4);
  }
  StoreLE(bytes->data() + kBodySizeField, bytes->size() - kCalibHeaderSize, 8);
  SealCalibrationFile(bytes);
}

Status ReadCalibrationFile(const uint8_t* data, size_t size, CalibrationFile* file) {
  if (file == nullptr) return InvalidArgument("ReadCalibrationFile: null output");
  if (size > 0 && data == nullptr) return InvalidArgument("calibration file bytes are null but size is ", size);
  const size_t magic_bytes = std::min(size, sizeof(kCalibMagic));
  if (size == 0 || std::memcmp(data, kCalibMagic, magic_bytes) != 0)
    return InvalidArgument("not a mixq calibration file: it does not start with \"MIXQCALB\"");
  if (size < kCalibHeaderSize)
    return DataLoss("calibration file truncated: the file ends at byte offset ", size, ", inside the ",
                    kCalibHeaderSize, "-byte header");
  const uint64_t version = LoadLE(data + kVersionField, 4);
  if (version != 1 && version != kCalibFormatVersion)
    return InvalidArgument("calibration file format version ", version,
                           " is not supported: this build reads versions 1 and ", kCalibFormatVersion);
  const uint64_t header_size = LoadLE(data + kHeaderSizeField, 4);
  if (header_size != kCalibHeaderSize)
    return DataLoss("calibration file corrupted: header size ", header_size, " at byte offset ", kHeaderSizeField,
                    ", version ", version, " has ", kCalibHeaderSize);
  const uint64_t body_size = LoadLE(data + kBodySizeField, 8);
  if (body_size != size - kCalibHeaderSize)
    return DataLoss("calibration file truncated or corrupted: body size ", body_size, " at byte offset ",
                    kBodySizeField, " but the file holds ", size - kCalibHeaderSize, " bytes after the header");
  const uint64_t stored = LoadLE(data + kCalibChecksumField, 8);
  const uint64_t actual = CalibrationFileChecksum(data, size);
  if (stored != actual)
    return DataLoss("calibration file corrupted: checksum mismatch (stored at byte offset ", kCalibChecksumField,
                    ", covering bytes 0 .. ", size - 1, ")");

  CalibrationFile result;
  result.network_hash = LoadLE(data + kNetworkHashField, 8);
  Reader r(data, size, kCalibHeaderSize);
  uint64_t count = 0;
  MIXQ_RETURN_IF_ERROR(r.U(4, "tensor count", &count));
  if (count > r.left() / kMinRecordBytes)
    return DataLoss("calibration file corrupted: tensor count ", count, " at byte offset ", kCalibHeaderSize,
                    " cannot fit in the ", r.left(), " bytes that follow");
  for (uint32_t i = 0; i < count; ++i) {
    const size_t record_offset = r.offset();
    std::string name;
    ObserverState state;
    MIXQ_RETURN_IF_ERROR(ReadRecord(&r, i, &name, &state));
    if (result.tensors.count(name))
      return DataLoss("calibration file corrupted: tensor '", name, "' appears twice (second record at byte offset ",
                      record_offset, ")");
    result.tensors.emplace(std::move(name), std::move(state));
  }
  if (version >= 2) MIXQ_RETURN_IF_ERROR(ReadChoices(&r, &result));
  if (r.left() != 0)
    return DataLoss("calibration file corrupted: ", r.left(), " unexpected bytes after the last ",
                    version >= 2 ? "section" : "record", ", from byte offset ", r.offset());
  *file = std::move(result);
  return Status::OK();
}

}  // namespace mixq::quant
