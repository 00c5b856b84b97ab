// sigmoid, tanh, erf and erfc for 8 floats on AVX2 + FMA, built on ExpAvx2
// (kernels/vector_exp.h). Within a few ulp of the correctly rounded result
// where it is a normal float (each caller's test measures and states its
// bound); results below about 1e-38 (where exp underflows) are flushed to 0,
// NaN stays NaN.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <numbers>

#include "kernels/vector_exp.h"

namespace mixq::kernels {

__attribute__((target("avx2"))) inline __m256 AbsAvx2(__m256 x) {
  return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
}

// 1 / (1 + exp(-x)) from e = exp(-|x|): 1 / (1 + e) for x >= 0 and
// e / (1 + e) for x < 0, so neither side cancels or overflows.
__attribute__((target("avx2,fma"))) inline __m256 SigmoidAvx2(__m256 x) {
  const __m256 e = ExpAvx2(_mm256_or_ps(x, _mm256_set1_ps(-0.0f)));  // exp(-|x|)
  const __m256 s = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
  return _mm256_blendv_ps(s, _mm256_mul_ps(e, s), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
}

// tanh: an odd polynomial below |x| = 0.625 (Cephes tanhf coefficients),
// 1 - 2 / (exp(2|x|) + 1) above it, with x's sign.
__attribute__((target("avx2,fma"))) inline __m256 TanhAvx2(__m256 x) {
  const __m256 a = AbsAvx2(x);
  const __m256 s = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(2.06390887954e-2f));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-5.37397155531e-2f));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(1.33314422036e-1f));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-3.33332819422e-1f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, s), x, x);
  const __m256 e = ExpAvx2(_mm256_add_ps(a, a));  // +inf above 44: 2 / inf = 0
  __m256 big =
      _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
  big = _mm256_or_ps(big, _mm256_and_ps(x, _mm256_set1_ps(-0.0f)));
  const __m256 y = _mm256_blendv_ps(big, small, _mm256_cmp_ps(a, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));  // NaN stays NaN
}

// erf(t) and erfc(t) for t = |x| >= 0, after N. Juffa's faithfully rounded
// erff ("Efficient faithfully-rounded implementation of error function
// erff", Stack Overflow 35148198; the coefficients ONNX Runtime's MLAS
// uses): below 0.921875 erf(t) = t + t * P(t^2); above it
// erfc(t) = exp(-(t + t * Q(t))), fitted for erf's absolute error: erfc's
// relative error grows from 1e-7 at t = 1.5 to 2e-5 at 2.5 and 1e-4 at 3.5
// (absolute: below 1.2e-8 everywhere), no cancellation in either.
struct ErfParts {
  __m256 erf, erfc;
};

__attribute__((target("avx2,fma"))) inline ErfParts ErfPartsAvx2(__m256 t) {
  const __m256 s = _mm256_mul_ps(t, t);
  __m256 p = _mm256_set1_ps(-5.99104969e-4f);
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(4.99339588e-3f));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-2.67667342e-2f));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(1.12818025e-1f));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-3.76124859e-1f));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(1.28379151e-1f));
  const __m256 erf_small = _mm256_fmadd_ps(p, t, t);
  const __m256 u = t;  // large t: Q grows like t^7, exp(-inf) = 0
  __m256 q = _mm256_set1_ps(1.72948930e-5f);
  q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(-3.83208680e-4f));
  q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(3.88393435e-3f));
  q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(-2.42545605e-2f));
  q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(1.06777847e-1f));
  q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(6.34846687e-1f));
  q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(1.28717512e-1f));
  q = _mm256_fmadd_ps(q, u, u);
  const __m256 erfc_big = ExpAvx2(_mm256_sub_ps(_mm256_setzero_ps(), q));
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 small = _mm256_cmp_ps(t, _mm256_set1_ps(0.921875f), _CMP_LE_OQ);
  return {_mm256_blendv_ps(_mm256_sub_ps(one, erfc_big), erf_small, small),
          _mm256_blendv_ps(erfc_big, _mm256_sub_ps(one, erf_small), small)};
}

__attribute__((target("avx2,fma"))) inline __m256 ErfAvx2(__m256 x) {
  const __m256 y = _mm256_or_ps(ErfPartsAvx2(AbsAvx2(x)).erf, _mm256_and_ps(x, _mm256_set1_ps(-0.0f)));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// gelu_tanh: x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3), the same
// value as 0.5 x (1 + tanh u) without 1 + tanh u cancelling. The float32
// Activation kernel (ops/activation/cpu_avx2_float.cc) and the GEMM
// epilogues that fuse it (kernels/sgemm.h) share it: the same numbers.
__attribute__((target("avx2,fma"))) inline __m256 GeluTanhAvx2(__m256 x) {
  const float two_k = static_cast<float>(2.0 * std::sqrt(2.0 / std::numbers::pi));
  const __m256 c = _mm256_mul_ps(_mm256_mul_ps(x, x), _mm256_set1_ps(0.044715f));
  const __m256 inner = _mm256_fmadd_ps(c, x, x);  // x + 0.044715 x^3
  return _mm256_mul_ps(x, SigmoidAvx2(_mm256_mul_ps(inner, _mm256_set1_ps(two_k))));
}

// gelu_erf: 0.5 x (2 - erfc(|z|)) for x >= 0, 0.5 x erfc(|z|) below, z = x /
// sqrt(2): erfc keeps its relative precision for x << 0. Shared like
// GeluTanhAvx2.
__attribute__((target("avx2,fma"))) inline __m256 GeluErfAvx2(__m256 x) {
  const __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(static_cast<float>(1.0 / std::numbers::sqrt2)));
  const __m256 erfc = ErfPartsAvx2(AbsAvx2(z)).erfc;
  const __m256 positive = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ);
  const __m256 factor = _mm256_blendv_ps(erfc, _mm256_sub_ps(_mm256_set1_ps(2.0f), erfc), positive);
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), factor);
}

}  // namespace mixq::kernels
