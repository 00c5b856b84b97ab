// Row widening for the int8 / int16 GEMM convolutions (ConvGemm::WidenRows
// in cpu_avx2_gemm.cc), vectorized: on small layers the widening is a
// visible share of the step (the bundled demo's NHWC convolutions: 22 % of
// the samples in WidenRows under perf, a scalar byte loop with three
// divisions per row; 14 % without the divisions, before these loops).
// Need AVX2.
#pragma once

#include <cstdint>

namespace mixq::ops {

// dst[t] = src[t] ^ 0x80 (s8 -> u8 + 128), t < n.
void FlipRowToU8(const int8_t* src, int64_t n, uint8_t* dst);

// dst[t] = src[t] - zp as int16, t < n (int8 or int16 codes).
void CenterRowToS16(const int8_t* src, int64_t n, int32_t zp, int16_t* dst);
void CenterRowToS16(const int16_t* src, int64_t n, int32_t zp, int16_t* dst);

// dst[t] = src[2 t], t < n; reads src[0, 2 n).
void EvenBytes(const uint8_t* src, int64_t n, uint8_t* dst);

// dst[t] = src[2 t] - zp as int16, t < n (int8 or int16 codes): a row's
// column phase at stride 2. Reads src[0, 2 n - 1) only, so that a phase
// ending at the row's last value reads nothing past the row. The int16
// convolutions' stem layers spent a sixth of their step in the scalar loop
// it replaces (PP-OCRv4 det's 3 x 320 x 320 stem, qint16, perf).
void EvenRowToS16(const int8_t* src, int64_t n, int32_t zp, int16_t* dst);
void EvenRowToS16(const int16_t* src, int64_t n, int32_t zp, int16_t* dst);

}  // namespace mixq::ops
