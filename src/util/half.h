// float16 (IEEE binary16) and bfloat16 conversions by bit manipulation, so the
// results do not depend on compiler or CPU float16 support. Both are storage
// types in mixq (SPEC §5): values are rounded to them at op boundaries and
// computed in float32.
#pragma once

#include <cstdint>

namespace mixq {

// Round to nearest, ties to even; overflow gives +-inf, tiny values become
// subnormals or signed zero; NaN stays a (quiet) NaN with its sign.
uint16_t FloatToHalf(float value);
// Exact (every half is a float).
float HalfToFloat(uint16_t bits);

// Same rounding rules as FloatToHalf, for bfloat16 (the top 16 bits of a float).
uint16_t FloatToBFloat16(float value);
float BFloat16ToFloat(uint16_t bits);

// The float nearest to `value` that float16 / bfloat16 storage can hold
// (a round trip through the 16-bit type).
float RoundToHalf(float value);
float RoundToBFloat16(float value);

}  // namespace mixq
