// Shapes inside the IR: plain vectors, -1 for a dimension unknown before run time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mixq::ir {

using Shape = std::vector<int64_t>;
constexpr int64_t kDynamic = -1;

// Product of dims; -1 if any is dynamic.
int64_t ElementCount(const Shape& shape);
bool IsStatic(const Shape& shape);
std::string ShapeString(const Shape& shape);
// Normalizes a possibly negative axis into [0, rank); false if out of range.
bool NormalizeAxis(int64_t axis, int64_t rank, int64_t* normalized);
// Row-major strides in elements.
std::vector<int64_t> Strides(const Shape& shape);

}  // namespace mixq::ir
