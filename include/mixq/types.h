// Basic value types of the public mixq API: data types, dimensions, status, ranges.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace mixq {

// Element types. QINT8 / QINT16 are quantized compute precisions: real numbers
// represented as integers plus a scale (and zero point), see SPEC §1.
enum class DataType : int32_t {
  FLOAT32 = 0,
  FLOAT16 = 1,
  BFLOAT16 = 2,
  INT8 = 3,
  INT16 = 4,
  INT32 = 5,
  INT64 = 6,
  UINT8 = 7,
  BOOL = 8,
  QINT8 = 9,
  QINT16 = 10,
};

// "FLOAT32", "QINT8", ... ; "UNKNOWN" for values outside the enum.
const char* DataTypeName(DataType type);
// Bytes one element occupies in memory (QINT8: 1, QINT16: 2, BOOL: 1).
size_t DataTypeSize(DataType type);
// Parses a name as printed by DataTypeName (case-insensitive). False if unknown.
bool ParseDataType(const std::string& name, DataType* type);

// Tensor dimensions. -1 marks a dimension only known at run time.
class Dims {
 public:
  Dims() = default;
  Dims(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Dims(std::vector<int64_t> dims) : dims_(std::move(dims)) {}

  int64_t GetDimsNum() const { return static_cast<int64_t>(dims_.size()); }
  int64_t GetDimValue(int64_t index) const { return dims_.at(static_cast<size_t>(index)); }
  void SetDimValue(int64_t index, int64_t value) { dims_.at(static_cast<size_t>(index)) = value; }
  // Product of all dimensions; -1 if any is dynamic. 1 for a scalar (rank 0).
  int64_t GetElementCount() const;
  bool HasDynamicDim() const;
  const std::vector<int64_t>& GetDims() const { return dims_; }
  // "[1,3,-1,224]"
  std::string ToString() const;

  int64_t operator[](size_t index) const { return dims_[index]; }
  bool operator==(const Dims& other) const { return dims_ == other.dims_; }
  bool operator!=(const Dims& other) const { return dims_ != other.dims_; }

 private:
  std::vector<int64_t> dims_;
};

enum class StatusCode : int32_t {
  OK = 0,
  INVALID_ARGUMENT = 1,
  OUT_OF_RANGE = 2,
  NOT_FOUND = 3,
  UNIMPLEMENTED = 4,
  FAILED_PRECONDITION = 5,
  DATA_LOSS = 6,
  INTERNAL = 7,
  // A stated limit (memory budget, largest tensor) or the machine's memory is exceeded.
  RESOURCE_EXHAUSTED = 8,
};

const char* StatusCodeName(StatusCode code);

// Result of every public call that can fail. The message names what is wrong
// and where (tensor, node, config key or byte offset).
class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status OK() { return Status(); }

  bool ok() const { return code_ == StatusCode::OK; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message" or "OK".
  std::string ToString() const;

  bool operator==(StatusCode code) const { return code_ == code; }
  bool operator!=(StatusCode code) const { return code_ != code; }

 private:
  StatusCode code_ = StatusCode::OK;
  std::string message_;
};

// A closed interval of real values a tensor is expected to take.
struct Range {
  float min = 0.0f;
  float max = 0.0f;
};

// Exact quantization parameters, as a quantization-aware-trained (QAT) model
// carries them (ONNX QuantizeLinear / DequantizeLinear): used as given, never
// recomputed from a range. q = clamp(round(x / scale) + zero_point, n, p).
struct QuantizationParameters {
  int bits = 8;                      // 8 or 16 (signed integers)
  std::vector<float> scales;         // 1 (per tensor) or one per slice along `axis`
  std::vector<int32_t> zero_points;  // as many as scales, within the bits' range
  int64_t axis = -1;                 // -1: per tensor
};

}  // namespace mixq
