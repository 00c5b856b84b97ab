// 16 lanes of float32, float16 or bfloat16 storage loaded as float32 and
// stored back with the bits of kernels/half_io.h's rows (float16: vcvtps2ph
// to nearest even; bfloat16: to nearest even, NaN quieted by its bit 6), for
// AVX-512 kernels that widen and round in registers (Softmax, LayerNorm).
// Where the CPU has AVX512_BF16, vcvtneps2bf16 rounds bfloat16 the same way
// but flushes denormal inputs to zero: a vector holding one takes the
// integer path (kernels::BFloat16Bits16).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/half_io.h"

namespace mixq::kernels {

#define MIXQ_NARROW16_INLINE __attribute__((target("avx512f,avx512bw,avx512vl,f16c"), always_inline)) inline

// The first `count` lanes (all 16 from 16 on).
MIXQ_NARROW16_INLINE __mmask16 Lanes16(int64_t count) {
  return count >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << count) - 1);
}

// 16 values of the storage (the lanes of `mask`, 0 in the others) widened
// to float32 (exact).
MIXQ_NARROW16_INLINE __m512 Load16(const float* x, __mmask16 mask) {
  return _mm512_maskz_loadu_ps(mask, x);
}
MIXQ_NARROW16_INLINE __m512 Load16(const uint16_t* x, __mmask16 mask) {  // float16 bits
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, x));
}
MIXQ_NARROW16_INLINE __m512 Load16(const BFloat16Bits* x, __mmask16 mask) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, x)), 16));
}

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

// The lanes of `mask` stored, rounded to the storage.
MIXQ_NARROW16_INLINE void Store16(float* y, __m512 v, __mmask16 mask) {
  _mm512_mask_storeu_ps(y, mask, v);
}
MIXQ_NARROW16_INLINE void Store16(uint16_t* y, __m512 v, __mmask16 mask) {  // float16 bits
  _mm256_mask_storeu_epi16(y, mask, _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
MIXQ_NARROW16_INLINE void Store16(BFloat16Bits* y, __m512 v, __mmask16 mask) {
  StoreBFloat16x16(reinterpret_cast<uint16_t*>(y), v, mask);
}

#undef MIXQ_NARROW16_INLINE

}  // namespace mixq::kernels
