#include "ops/fake_quantize_row.h"

#include <immintrin.h>

#include <cfloat>

#include "ops/quantize_vector.h"
#include "quant/quant_math.h"

namespace mixq::ops {

__attribute__((target("avx2"))) void FakeQuantizeRowAvx2(const float* x, float* y, int64_t n, float scale,
                                                         int32_t zero_point, int bits) {
  const QuantizeConstants k = MakeQuantizeConstants(scale, zero_point, quant::QMin(bits), quant::QMax(bits));
  const __m256 s = k.scale, z = k.zero_point;
  const __m256 max = _mm256_set1_ps(FLT_MAX), min = _mm256_set1_ps(-FLT_MAX);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    // rint(x / s) as ops/quantize_vector.h computes it (a multiply where exact).
    const __m256 v = RoundedQuotient(_mm256_loadu_ps(x + i), k);
    const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
    __m256 q = _mm256_add_ps(v, z);
    q = _mm256_blendv_ps(_mm256_min_ps(_mm256_max_ps(q, k.lo), k.hi), z, nan);
    // q - z is an exact integer; its product with s is rounded once.
    const __m256 r = _mm256_mul_ps(_mm256_sub_ps(q, z), s);
    _mm256_storeu_ps(y + i, _mm256_min_ps(_mm256_max_ps(r, min), max));
  }
  for (; i < n; ++i) y[i] = quant::Dequantize(quant::Quantize(x[i], scale, zero_point, bits), scale, zero_point);
}

}  // namespace mixq::ops
