// SPEC §1's static Quantize of float32 to INT16 / INT8 codes on AVX-512,
// bit-exact with the reference's division.
#pragma once

#include <cstdint>

namespace mixq::ops {

// y[i] = clamp(rint(RN(x[i] / scale)), -32768, 32767), NaN -> 0, as
// quant::Quantize with 16 bits and zero point 0. Needs AVX-512 F, BW and VL
// (Isa::kAvx512).
void QuantizeToSymmetricInt16Avx512(const float* x, int16_t* y, int64_t n, float scale);

// The other static Quantizes (INT8 with any zero point, INT16 with a nonzero
// one) in 16 lanes: QuantizeVector512, the same operations per lane as the
// AVX2 QuantizeVector, so the same codes, twice the lanes per instruction
// (the int8 plans' Quantize steps: PP-OCRv4 det qint8's 307,200-value input
// and its neck's 614,400-value one; bench/RESULTS.md round 2 stop 47). Needs
// AVX-512 F, BW and VL.
void QuantizeToCodesAvx512(const float* x, int8_t* y, int64_t n, float scale, int32_t zero_point);
void QuantizeToCodesAvx512(const float* x, int16_t* y, int64_t n, float scale, int32_t zero_point);

}  // namespace mixq::ops
