// SPEC §1's static Quantize of float32 to symmetric INT16 codes (zero point
// 0, the full range) on AVX-512, bit-exact with the reference's division.
#pragma once

#include <cstdint>

namespace mixq::ops {

// y[i] = clamp(rint(RN(x[i] / scale)), -32768, 32767), NaN -> 0, as
// quant::Quantize with 16 bits and zero point 0. Needs AVX-512 F, BW and VL
// (Isa::kAvx512).
void QuantizeToSymmetricInt16Avx512(const float* x, int16_t* y, int64_t n, float scale);

}  // namespace mixq::ops
