// float32 <-> float16 rows with F16C, for kernels that keep float16 storage
// and compute in float32 (SPEC §5: values rounded to float16 at operator
// boundaries). Rounding is to nearest even with NaN quieted, bit-identical
// with util/half.h's scalar FloatToHalf / HalfToFloat, which the tails use.
// The functions carry AVX2 + F16C target attributes: call them only where
// kernels::BestIsa() is at least kAvx2 (which implies F16C).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace mixq::kernels {

// y[i] = x[i] widened (exact).
void HalfToFloatRow(const uint16_t* x, float* y, int64_t n);
// y[i] = x[i] rounded to float16.
void FloatToHalfRow(const float* x, uint16_t* y, int64_t n);
// The same over large rows, split over OpenMP threads above
// kMinParallelElements (kernels/parallel.h); HalfToFloatParallel above
// kMinParallelWidenElements.
void HalfToFloatParallel(const uint16_t* x, float* y, int64_t n);
void FloatToHalfParallel(const float* x, uint16_t* y, int64_t n);

// Elements from which a float16 convolution's widening of its input and its
// output stage (ops/conv2d/cpu_onednn.cc) split over threads: an eighth of
// kMinParallelElements, about 10 us of work. With workers that spin briefly
// between regions (util/omp_wait_policy.h) a region costs a few
// microseconds, and these passes sat on one thread between two halves of
// oneDNN's work. force_float16 at 2 threads, AMD Zen 4, convolutions' sums of
// step minima over 3 alternating rounds: MobileNetV2 5.17 -> 4.95 ms, PP-OCR
// det 10.76 -> 9.67 ms.
constexpr int64_t kMinParallelWidenElements = int64_t{1} << 15;

// bfloat16 (the top half of a float32): widening is a shift (exact);
// narrowing rounds to nearest even with NaN quieted, bit-identical with
// util/half.h's FloatToBFloat16 / BFloat16ToFloat. Integer arithmetic (no
// AVX512_BF16 needed: its vcvtneps2bf16 flushes denormals), 16 lanes where
// the CPU has AVX-512 (BestIsa(), so MIXQ_MAX_ISA=avx2 runs the 8-lane
// form), else 8: the same bits either way (the two forms are callable by
// name for the tests).
void BFloat16ToFloatRow(const uint16_t* x, float* y, int64_t n);
void FloatToBFloat16Row(const float* x, uint16_t* y, int64_t n);
void BFloat16ToFloatRowAvx2(const uint16_t* x, float* y, int64_t n);
void FloatToBFloat16RowAvx2(const float* x, uint16_t* y, int64_t n);
void BFloat16ToFloatRowAvx512(const uint16_t* x, float* y, int64_t n);
void FloatToBFloat16RowAvx512(const float* x, uint16_t* y, int64_t n);
void BFloat16ToFloatParallel(const uint16_t* x, float* y, int64_t n);
void FloatToBFloat16Parallel(const float* x, uint16_t* y, int64_t n);

// 8 floats' bfloat16 bits, in the low half of each int32 lane: round to
// nearest even on the dropped half (a carry into the exponent gives inf),
// NaN kept NaN by setting the quiet bit, as util/half.cc's FloatToBFloat16.
__attribute__((target("avx2,f16c"))) inline __m256i BFloat16Bits8(__m256 v) {
  const __m256i f = _mm256_castps_si256(v);
  const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(f, 16), _mm256_set1_epi32(1));
  const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(f, _mm256_set1_epi32(0x7fff)), odd), 16);
  const __m256i nan =
      _mm256_cmpgt_epi32(_mm256_and_si256(f, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
  const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(f, 16), _mm256_set1_epi32(0x40));
  return _mm256_blendv_epi8(rounded, quiet, nan);
}
// 16 floats' bfloat16 bits in the low half of each int32 lane: BFloat16Bits8
// on 16 lanes, the NaN lanes chosen by a mask. Needs AVX-512 F + BW.
__attribute__((target("avx512f,avx512bw"))) inline __m512i BFloat16Bits16(__m512i f) {
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(f, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(f, _mm512_set1_epi32(0x7fff)), odd), 16);
  const __mmask16 nan =
      _mm512_cmpgt_epi32_mask(_mm512_and_si512(f, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_or_epi32(rounded, nan, _mm512_srli_epi32(f, 16), _mm512_set1_epi32(0x40));
}
// The same, packed: 8 bfloat16 values.
__attribute__((target("avx2,f16c"))) inline __m128i FloatToBFloat16x8(__m256 v) {
  const __m256i bits = BFloat16Bits8(v);
  return _mm_packus_epi32(_mm256_castsi256_si128(bits), _mm256_extracti128_si256(bits, 1));
}
// 8 bfloat16 values widened (exact).
__attribute__((target("avx2,f16c"))) inline __m256 BFloat16x8ToFloat(__m128i h) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// bfloat16 storage as a type of its own, so that kernels templated on their
// storage (float, uint16_t for float16 bits, BFloat16Bits) pick the right
// conversion by overload.
struct BFloat16Bits {
  uint16_t bits;
};

// 8 values of such storage widened to float32 (exact), and float32 rounded
// back (float16: F16C to nearest even; bfloat16: BFloat16Bits8's rounding).
__attribute__((target("avx2,f16c"))) inline __m256 Load8(const float* x) {
  return _mm256_loadu_ps(x);
}
__attribute__((target("avx2,f16c"))) inline __m256 Load8(const uint16_t* x) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)));
}
__attribute__((target("avx2,f16c"))) inline __m256 Load8(const BFloat16Bits* x) {
  return BFloat16x8ToFloat(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)));
}
__attribute__((target("avx2,f16c"))) inline void Store8(float* y, __m256 v) {
  _mm256_storeu_ps(y, v);
}
__attribute__((target("avx2,f16c"))) inline void Store8(uint16_t* y, __m256 v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(y), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
__attribute__((target("avx2,f16c"))) inline void Store8(BFloat16Bits* y, __m256 v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(y), FloatToBFloat16x8(v));
}

// float16 or (`bfloat16`) bfloat16 rows: the functions above.
inline void Narrow16ToFloatRow(bool bfloat16, const uint16_t* x, float* y, int64_t n) {
  if (bfloat16)
    BFloat16ToFloatRow(x, y, n);
  else
    HalfToFloatRow(x, y, n);
}
inline void FloatToNarrow16Row(bool bfloat16, const float* x, uint16_t* y, int64_t n) {
  if (bfloat16)
    FloatToBFloat16Row(x, y, n);
  else
    FloatToHalfRow(x, y, n);
}

// oneDNN's 8-channel blocked layout (nChw8c) for one image of `channels`
// planes of `spatial` elements: y[((c / 8) * spatial + s) * 8 + c % 8].
// The padding channels of the last block are written as zeros (oneDNN
// requires them).
void HalfPlanesToBlocked8(const uint16_t* x, float* y, int64_t channels, int64_t spatial);
// The same into nChw16c: y[((c / 16) * spatial + s) * 16 + c % 16].
void HalfPlanesToBlocked16(const uint16_t* x, float* y, int64_t channels, int64_t spatial);
// The same into NHWC, y[s * channels + c], for channels in whole eights
// (oneDNN's 1 x 1 kernels pick NHWC for plain tensors: PP-OCRv4 det's neck).
void HalfPlanesToChannelsLast(const uint16_t* x, float* y, int64_t channels, int64_t spatial);

// Walks a blocked (nChw8c) float32 image back as plain channel rows: calls
// row(values, n, c, s) with n <= kBlockedRow consecutive elements of channel
// c from spatial position s (values in a buffer that stays in L1). Blocks of
// 8 channels split over OpenMP threads when the image is large, so `row`
// must be safe to call concurrently for different (c, s).
constexpr int64_t kBlockedRow = 512;
using BlockedRowFn = void (*)(void* context, const float* values, int64_t n, int64_t c, int64_t s);
void ForEachBlocked8Row(const float* y, int64_t channels, int64_t spatial, BlockedRowFn row, void* context);
// The same for nChw16c (padded to whole blocks of 16 channels), and for
// channels-last (NHWC: y[s * channels + c], channels a multiple of 8).
void ForEachBlocked16Row(const float* y, int64_t channels, int64_t spatial, BlockedRowFn row, void* context);
void ForEachChannelsLastRow(const float* y, int64_t channels, int64_t spatial, BlockedRowFn row, void* context);

}  // namespace mixq::kernels
