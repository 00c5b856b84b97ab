#include "ir/shape.h"

#include <limits>

#include "util/status_util.h"

namespace mixq::ir {

bool CheckedMul(int64_t a, int64_t b, int64_t* out) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return false;
  *out = r;
  return true;
}

bool CheckedAdd(int64_t a, int64_t b, int64_t* out) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return false;
  *out = r;
  return true;
}

Status CheckedElementCount(const Shape& shape, int64_t* count, const std::string& what) {
  int64_t total = 1;
  bool dynamic = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t d = shape[i];
    if (d == kDynamic) {
      dynamic = true;
      continue;
    }
    if (d < 0) return InvalidArgument(what, " has dimension ", i, " = ", d, " (dims are >= 0, or -1 for dynamic)");
    if (!CheckedMul(total, d, &total))
      return InvalidArgument(what, " with dims ", ShapeString(shape), " has more elements than int64 can count");
  }
  *count = dynamic ? -1 : total;
  return Status::OK();
}

Status CheckedByteCount(const Shape& shape, size_t element_size, int64_t* bytes, const std::string& what) {
  int64_t count = 0;
  MIXQ_RETURN_IF_ERROR(CheckedElementCount(shape, &count, what));
  if (count < 0) return InvalidArgument(what, " with dims ", ShapeString(shape), " has a dynamic dimension");
  int64_t total = 0;
  if (!CheckedMul(count, static_cast<int64_t>(element_size), &total) || total > kMaxTensorBytes)
    return InvalidArgument(what, " with dims ", ShapeString(shape), " would take more than ", kMaxTensorBytes,
                           " bytes (1 TiB), the largest tensor mixq accepts");
  *bytes = total;
  return Status::OK();
}

int64_t ElementCount(const Shape& shape) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (!CheckedMul(count, d, &count)) return std::numeric_limits<int64_t>::max();
  }
  return count;
}

bool IsStatic(const Shape& shape) { return ElementCount(shape) >= 0; }

std::string ShapeString(const Shape& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

bool NormalizeAxis(int64_t axis, int64_t rank, int64_t* normalized) {
  if (axis < -rank || axis >= rank) return false;
  *normalized = axis < 0 ? axis + rank : axis;
  return true;
}

std::vector<int64_t> Strides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

}  // namespace mixq::ir

