// Shapes inside the IR: plain vectors, -1 for a dimension unknown before run time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mixq/types.h"

namespace mixq::ir {

using Shape = std::vector<int64_t>;
constexpr int64_t kDynamic = -1;

// The largest tensor mixq accepts anywhere (a file's claim, an inferred
// shape, an input): 1 TiB. Larger claims are errors, never allocations.
constexpr int64_t kMaxTensorBytes = int64_t{1} << 40;

// a * b and a + b; false (and *out untouched) when the result overflows int64.
bool CheckedMul(int64_t a, int64_t b, int64_t* out);
bool CheckedAdd(int64_t a, int64_t b, int64_t* out);

// The one overflow-checked element count: -1 if a dim is dynamic (-1);
// INVALID_ARGUMENT when a dim is below -1 or the product overflows int64.
// `what` names the tensor in the message.
Status CheckedElementCount(const Shape& shape, int64_t* count, const std::string& what = "tensor");
// Bytes of a static shape of `element_size`-byte elements, refused above
// kMaxTensorBytes (and on overflow) with a message naming `what`.
Status CheckedByteCount(const Shape& shape, size_t element_size, int64_t* bytes, const std::string& what = "tensor");

// Product of dims; -1 if any is dynamic. Saturates at INT64_MAX instead of
// overflowing: shapes that passed CheckedElementCount never get there.
int64_t ElementCount(const Shape& shape);
bool IsStatic(const Shape& shape);
std::string ShapeString(const Shape& shape);
// Normalizes a possibly negative axis into [0, rank); false if out of range.
bool NormalizeAxis(int64_t axis, int64_t rank, int64_t* normalized);
// Row-major strides in elements.
std::vector<int64_t> Strides(const Shape& shape);

}  // namespace mixq::ir
