// One element of a typed buffer as a double, for comparisons and printing
// (int64 beyond 2^53 loses precision; quantized types are not elements).
#pragma once

#include <cstdint>

#include "mixq/types.h"

namespace mixq {

// 0 for types without a numeric element (QINT8 / QINT16 / unknown).
double ElementAsDouble(DataType type, const void* element);

}  // namespace mixq
