// The float operations of the Elementwise kernels (cpu_fast.cc,
// channel_blocked.cc), scalar and eight lanes at a time: the same IEEE
// operation on the same pair as the reference, so the kernels are bit-exact
// with it.
#pragma once

#include <immintrin.h>

namespace mixq::ops::elementwise {

// kSquare: pow with a constant exponent of 2, a * a as the reference computes it.
enum class Op { kAdd, kSub, kMul, kDiv, kMax, kMin, kSquare };

template <Op op>
inline float Apply(float a, float b) {
  if constexpr (op == Op::kAdd) return a + b;
  if constexpr (op == Op::kSub) return a - b;
  if constexpr (op == Op::kMul) return a * b;
  if constexpr (op == Op::kDiv) return a / b;
  if constexpr (op == Op::kSquare) return a * a;
  if constexpr (op == Op::kMax) return (a > b || a != a) ? a : b;  // NaN propagates, as the reference
  if constexpr (op == Op::kMin) return (a < b || a != a) ? a : b;
}

#define MIXQ_F16C __attribute__((target("avx2,f16c")))

// IEEE add / sub / mul / div, and max / min with the scalar form's
// comparison (the first operand when it is NaN or wins).
template <Op op>
MIXQ_F16C inline __m256 Apply8(__m256 a, __m256 b) {
  if constexpr (op == Op::kAdd) return _mm256_add_ps(a, b);
  if constexpr (op == Op::kSub) return _mm256_sub_ps(a, b);
  if constexpr (op == Op::kMul) return _mm256_mul_ps(a, b);
  if constexpr (op == Op::kDiv) return _mm256_div_ps(a, b);
  if constexpr (op == Op::kSquare) return _mm256_mul_ps(a, a);
  const __m256 nan = _mm256_cmp_ps(a, a, _CMP_UNORD_Q);
  if constexpr (op == Op::kMax) return _mm256_blendv_ps(b, a, _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_GT_OQ), nan));
  return _mm256_blendv_ps(b, a, _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_LT_OQ), nan));
}

}  // namespace mixq::ops::elementwise
