// 16 float32 lanes stored as bfloat16 with the bits of kernels/half_io.h's
// rows (to nearest even, NaN quieted by its bit 6), for AVX-512 kernels that
// round their output in registers. Where the CPU has AVX512_BF16,
// vcvtneps2bf16 rounds the same way but flushes denormal inputs to zero: a
// vector holding one takes the integer path (kernels::BFloat16Bits16).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/half_io.h"

namespace mixq::kernels {

// The integer rounding: AVX-512 F + BW + VL.
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) inline void StoreBFloat16x16(uint16_t* y, __m512 v,
                                                                                                 __mmask16 mask) {
  _mm256_mask_storeu_epi16(y, mask, _mm512_cvtepi32_epi16(BFloat16Bits16(_mm512_castps_si512(v))));
}

// vcvtneps2bf16 unless a lane of `mask` is denormal: callers need AVX512_BF16
// (kernels::DetectedCpuFeatures().avx512bf16) and carry this target.
#define MIXQ_BFLOAT16_NATIVE_TARGET "avx512f,avx512bw,avx512vl,avx2,fma,f16c,avx512bf16"
__attribute__((target(MIXQ_BFLOAT16_NATIVE_TARGET), always_inline)) inline void StoreBFloat16x16Native(uint16_t* y,
                                                                                                       __m512 v,
                                                                                                       __mmask16 mask) {
  const __m512i f = _mm512_castps_si512(v);
  const __mmask16 denormal = _mm512_kandn(_mm512_test_epi32_mask(f, _mm512_set1_epi32(0x7f800000)),
                                          _mm512_test_epi32_mask(f, _mm512_set1_epi32(0x007fffff)));
  if (__builtin_expect((denormal & mask) != 0, 0)) return StoreBFloat16x16(y, v, mask);
  _mm256_mask_storeu_epi16(y, mask, reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v)));
}

}  // namespace mixq::kernels
