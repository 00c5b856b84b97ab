// Sixteen exact int64 sums (qint16 convolutions) requantized to INT16 in
// registers, with the float32 operations of ops/int8_output_stage's
// RequantizeRow64ToInt16Avx512 in the same order, bit for bit: q =
// clamp(rint((f32(sum + int_bias) + bias) * multiplier + zero_point), lo, hi).
// The int64 -> float32 conversion goes through double exactly while |sum +
// int_bias| < 2^51 (the caller's bound), then rounds once. The multiply and
// the add are kept apart by an empty asm, so no -ffp-contract setting of the
// including file can fuse them.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace mixq::kernels {

struct Int16Requant {
  int32_t int_bias = 0;
  float bias = 0.0f, multiplier = 1.0f;
  int32_t zero_point = 0, lo = -32768, hi = 32767;
};

#define MIXQ_INT16_REQUANT __attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) inline

// An Int16Requant's constants broadcast, once per channel (a loop that
// rebuilt them per 16 outputs spent a third of its time there).
struct Int16RequantVectors {
  __m512i int_bias;     // int64 lanes
  __m512d int_bias_d;   // as double
  __m512i int_bias_32;  // int32 lanes
  __m512 bias, multiplier, zero_point, lo, hi;
  bool small_bias;  // |int_bias| < 2^29: StoreRequantizedInt16FromSplit's int32 form may add it
};
MIXQ_INT16_REQUANT Int16RequantVectors VectorsOf(const Int16Requant& r) {
  return {_mm512_set1_epi64(r.int_bias),
          _mm512_set1_pd(static_cast<double>(r.int_bias)),
          _mm512_set1_epi32(r.int_bias),
          _mm512_set1_ps(r.bias),
          _mm512_set1_ps(r.multiplier),
          _mm512_set1_ps(static_cast<float>(r.zero_point)),
          _mm512_set1_ps(static_cast<float>(r.lo)),
          _mm512_set1_ps(static_cast<float>(r.hi)),
          r.int_bias > -(1 << 29) && r.int_bias < (1 << 29)};
}

// The float32 stage from f32(sum + int_bias) of 16 lanes; the first `cols`
// (1-16) results stored at `out`.
MIXQ_INT16_REQUANT void StoreRequantizedInt16FromValues(__m512 summed, const Int16RequantVectors& r, int16_t* out,
                                                        int64_t cols) {
  const __m512 value = _mm512_add_ps(summed, r.bias);
  __m512 scaled = _mm512_mul_ps(value, r.multiplier);
  __asm__("" : "+v"(scaled));  // rounded here, as the reference: never fused with the add below
  const __m512 v = _mm512_add_ps(scaled, r.zero_point);
  const __m512i q = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, r.lo), r.hi));  // half to even
  const __m256i words = _mm512_cvtsepi32_epi16(q);
  if (cols >= 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), words);
  else
    _mm256_mask_storeu_epi16(out, static_cast<__mmask16>((1u << cols) - 1), words);
}

// f32(sum + int_bias) for 16 lanes from their exact doubles d0 (lanes 0-7)
// and d1 (8-15), then the float32 stage.
MIXQ_INT16_REQUANT void StoreRequantizedInt16FromDoubles(__m512d d0, __m512d d1, const Int16RequantVectors& r,
                                                         int16_t* out, int64_t cols) {
  const __m256 f0 = _mm512_cvtpd_ps(d0), f1 = _mm512_cvtpd_ps(d1);  // one rounding each, to nearest even
  StoreRequantizedInt16FromValues(
      _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(f0)), _mm256_castps_pd(f1), 1)), r,
      out, cols);
}

// s0: the int64 sums of columns 0-7, s1: 8-15 (|sum + int_bias| < 2^51: to
// double exactly by the 1.5 * 2^52 trick).
MIXQ_INT16_REQUANT void StoreRequantizedInt16(__m512i s0, __m512i s1, const Int16RequantVectors& r, int16_t* out,
                                              int64_t cols) {
  const __m512i ib = r.int_bias;
  const __m512d magic = _mm512_set1_pd(6755399441055744.0);  // 1.5 * 2^52
  const __m512d d0 =
      _mm512_sub_pd(_mm512_castsi512_pd(_mm512_add_epi64(_mm512_add_epi64(s0, ib), _mm512_castpd_si512(magic))), magic);
  const __m512d d1 =
      _mm512_sub_pd(_mm512_castsi512_pd(_mm512_add_epi64(_mm512_add_epi64(s1, ib), _mm512_castpd_si512(magic))), magic);
  StoreRequantizedInt16FromDoubles(d0, d1, r, out, cols);
}

// The sums given as their byte halves, sum = 256 * hi + lo per lane (int32
// each: a split product's two dot products). 256 * hi, lo + int_bias and
// their sum are exact in double (all below 2^53), so the fused multiply-add
// rounds nothing: the doubles of the int64 form, in fewer instructions (no
// int64 widening, shifts and adds).
MIXQ_INT16_REQUANT void StoreRequantizedInt16FromSplit(__m512i hi, __m512i lo, const Int16RequantVectors& r,
                                                       int16_t* out, int64_t cols) {
  const __m512d ib = r.int_bias_d, k256 = _mm512_set1_pd(256.0);
  const __m512d d0 = _mm512_fmadd_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(hi)), k256,
                                     _mm512_add_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(lo)), ib));
  const __m512d d1 = _mm512_fmadd_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(hi, 1)), k256,
                                     _mm512_add_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(lo, 1)), ib));
  StoreRequantizedInt16FromDoubles(d0, d1, r, out, cols);
}

// StoreRequantizedInt16FromSplit through int32 where every lane has |hi| <
// 2^22 and |lo| < 2^29, and |int_bias| < 2^29: the sum and the bias fit
// int32 there (under 2^30 + 2^29 + 2^29), so it is formed in int32 and
// converted once (vcvtdq2ps rounds to nearest even, as the double's
// conversion does), a dozen operations fewer per 16 outputs; the doubles
// otherwise. For the depthwise kernels, whose sums of 9 or 25 taps stay
// far inside those bounds (MobileNetV2 qint16's 112 x 112 layers 0.285 ->
// 0.227 and 0.343 -> 0.298 ms); in the split GEMM's 6 x 32 tile epilogue
// the second path inlined twelve times made its 1 x 1 layers slower (24 ->
// 144 channels at 56 x 56 0.279 -> 0.340 ms).
MIXQ_INT16_REQUANT void StoreRequantizedInt16FromSmallSplit(__m512i hi, __m512i lo, const Int16RequantVectors& r,
                                                            int16_t* out, int64_t cols) {
  const __mmask16 wide =
      _mm512_test_epi32_mask(_mm512_add_epi32(hi, _mm512_set1_epi32(1 << 22)), _mm512_set1_epi32(~((1 << 23) - 1))) |
      _mm512_test_epi32_mask(_mm512_add_epi32(lo, _mm512_set1_epi32(1 << 29)), _mm512_set1_epi32(~((1 << 30) - 1)));
  if (wide != 0 || !r.small_bias) return StoreRequantizedInt16FromSplit(hi, lo, r, out, cols);
  const __m512i sum = _mm512_add_epi32(_mm512_add_epi32(_mm512_slli_epi32(hi, 8), lo), r.int_bias_32);
  StoreRequantizedInt16FromValues(_mm512_cvtepi32_ps(sum), r, out, cols);
}

#undef MIXQ_INT16_REQUANT

}  // namespace mixq::kernels
