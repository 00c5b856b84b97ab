// Softmax rows on AVX-512, float32 or 16-bit storage on either side.
//
// The arithmetic of the AVX2 row (cpu_avx2.cc): x - max carried exactly as
// a sum of two floats, e^(x - max) by the same reduction and polynomial
// (Cephes), the sum in double, one multiplication by 1 / sum. What is
// cheaper here (BERT's 12 x 128 x 128 Softmax, one thread, AMX Xeon:
// float32 0.156 -> 0.098 ms, float16 storage 0.223 -> 0.110, bfloat16
// 0.197 -> 0.126): the exponent is only ever taken of x - max
// <= 0, so the upper clamp and its blend go; 2^n is one vscalefps (which
// also gives the denormal results the AVX2 row flushes to 0, closer to the
// reference); n is rounded by the 1.5 * 2^23 addition inside an FMA
// instead of a separate rounding; and NaN needs no blend: it propagates
// through every step (the clamp is written max(limit, d), whose second
// operand wins when unordered), so a row with a NaN, a +inf, or only -inf
// comes out all NaN, as the reference's does. Narrow inputs are widened in
// registers and narrow outputs rounded there (the bits of
// kernels/half_io.h's rows), so the narrow kernels read and write each
// value once.
//
// Not the AVX2 row's bits (the rounding of n and the denormal results
// differ); both are tested against the reference, 1e-6 relative.
#include <immintrin.h>

#include <limits>

#include "kernels/avx512_warnings.h"
#include "kernels/cpu_features.h"
#include "kernels/half_io.h"
#include "kernels/narrow16_avx512.h"
#include "kernels/vector_exp.h"
#include "ops/softmax/softmax_row.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {
namespace {

#define MIXQ_SOFTMAX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"), always_inline)) inline

using kernels::BFloat16Bits;

using kernels::Lanes16;
using kernels::Store16;

// 16 values (the lanes of `mask`; -inf in the others, whose e^ is 0)
// widened to float32. Named apart from kernels::Load16 (zeros in the other
// lanes), which argument-dependent lookup would otherwise pick for
// kernels::BFloat16Bits rows.
template <typename In>
MIXQ_SOFTMAX512 __m512 LoadPadded16(const In* x, __mmask16 mask) {
  return _mm512_mask_blend_ps(mask, _mm512_set1_ps(-std::numeric_limits<float>::infinity()), kernels::Load16(x, mask));
}

// e^(x - m) for x - m <= 0 or NaN: see the file comment. The reduction and
// the polynomial are kernels::ExpAvx512's.
MIXQ_SOFTMAX512 __m512 ExpOffset(__m512 x, __m512 m) {
  __m512 lo;
  const __m512 d = kernels::SubtractExact512(x, m, &lo);
  // Below -110 the result is 0 in float32 (2^-158 at most), whatever the
  // correction (NaN where d is -inf, up to 2^103 where x - max is near
  // -FLT_MAX): it is dropped there. A NaN d passes the clamp.
  const __m512 limit = _mm512_set1_ps(-110.0f);
  const __m512 tail = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(d, limit, _CMP_GE_OQ), lo);
  const __m512 c = _mm512_max_ps(limit, d);
  const __m512 magic = _mm512_set1_ps(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(c, _mm512_set1_ps(1.44269504088896341f), magic), magic);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), c);
  r = _mm512_add_ps(_mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r), tail);
  return _mm512_scalef_ps(kernels::ExpReducedAvx512(r), n);
}

// The 16 values of e added to the double chain `sum`, low eight then high.
MIXQ_SOFTMAX512 void AddToSum(__m512 e, __m512d* sum) {
  *sum = _mm512_add_pd(*sum, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
  *sum = _mm512_add_pd(*sum, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
}

// e = e^(x - max x) over n values (e may be x when x is float32); returns
// 1 / their sum.
template <typename In>
__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"))) float ExpRow(const In* x, float* e, int64_t n) {
  // The largest value: four running maxima (one maxps chain is
  // latency-bound). A NaN may be dropped here; it comes back through its
  // own e^(x - max).
  const __m512 neg_inf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __m512 m4[4] = {neg_inf, neg_inf, neg_inf, neg_inf};
  int64_t k = 0;
  for (; k + 64 <= n; k += 64)
    for (int j = 0; j < 4; ++j) m4[j] = _mm512_max_ps(m4[j], LoadPadded16(x + k + 16 * j, 0xFFFF));
  for (; k < n; k += 16) m4[0] = _mm512_max_ps(m4[0], LoadPadded16(x + k, Lanes16(n - k)));
  const __m512 m =
      _mm512_set1_ps(_mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m4[0], m4[1]), _mm512_max_ps(m4[2], m4[3]))));
  // e^(x - max) into e, summed in double on two chains (-inf pads give 0).
  __m512d sum[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
  for (k = 0; k + 32 <= n; k += 32) {
    const __m512 a = ExpOffset(LoadPadded16(x + k, 0xFFFF), m), b = ExpOffset(LoadPadded16(x + k + 16, 0xFFFF), m);
    _mm512_storeu_ps(e + k, a);
    _mm512_storeu_ps(e + k + 16, b);
    AddToSum(a, &sum[0]);
    AddToSum(b, &sum[1]);
  }
  for (; k < n; k += 16) {
    const __mmask16 lanes = Lanes16(n - k);
    const __m512 a = ExpOffset(LoadPadded16(x + k, lanes), m);
    _mm512_mask_storeu_ps(e + k, lanes, a);
    AddToSum(a, &sum[0]);
  }
  return static_cast<float>(1.0 / _mm512_reduce_add_pd(_mm512_add_pd(sum[0], sum[1])));
}

// y = e * scale, stored as Out.
template <typename Out>
__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"))) void ScaleRow(const float* e, float scale, Out* y,
                                                                                 int64_t n) {
  const __m512 s = _mm512_set1_ps(scale);
  for (int64_t k = 0; k < n; k += 16) {
    const __mmask16 lanes = Lanes16(n - k);
    Store16(y + k, _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, e + k), s), lanes);
  }
}
// The same into bfloat16 through vcvtneps2bf16 (kernels/narrow16_avx512.h).
__attribute__((target(MIXQ_BFLOAT16_NATIVE_TARGET))) void ScaleRowNative(const float* e, float scale, BFloat16Bits* y,
                                                                         int64_t n) {
  const __m512 s = _mm512_set1_ps(scale);
  for (int64_t k = 0; k < n; k += 16) {
    const __mmask16 lanes = Lanes16(n - k);
    kernels::StoreBFloat16x16Native(reinterpret_cast<uint16_t*>(y + k),
                                    _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, e + k), s), lanes);
  }
}

template <typename In, typename Out>
void Row(const In* x, Out* y, float* e, int64_t n) {
  ScaleRow(e, ExpRow(x, e, n), y, n);
}

template <typename In>
void RowTo(const In* x, void* y, bool y_narrow, bool bfloat16, float* buffer, int64_t n) {
  if (!y_narrow) {
    float* out = static_cast<float*>(y);
    Row(x, out, out, n);
  } else if (bfloat16) {
    static const bool native = kernels::DetectedCpuFeatures().avx512bf16;
    if (native)
      ScaleRowNative(buffer, ExpRow(x, buffer, n), static_cast<BFloat16Bits*>(y), n);
    else
      Row(x, static_cast<BFloat16Bits*>(y), buffer, n);
  } else {
    Row(x, static_cast<uint16_t*>(y), buffer, n);
  }
}

#undef MIXQ_SOFTMAX512

}  // namespace

void SoftmaxRowAvx512(const float* x, float* y, int64_t n) {
  Row(x, y, y, n);
}

void SoftmaxRowNarrowAvx512(const void* x, bool x_narrow, void* y, bool y_narrow, bool bfloat16, float* buffer,
                            int64_t n) {
  if (!x_narrow)
    RowTo(static_cast<const float*>(x), y, y_narrow, bfloat16, buffer, n);
  else if (bfloat16)
    RowTo(static_cast<const BFloat16Bits*>(x), y, y_narrow, bfloat16, buffer, n);
  else
    RowTo(static_cast<const uint16_t*>(x), y, y_narrow, bfloat16, buffer, n);
}

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON
