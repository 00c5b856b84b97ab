// y[i] = clamp(x[i], lo, hi) over int8 or int16 codes, 32 bytes a step on
// AVX2 (the clamp of a relu / relu6 / clip on quantized integers, SPEC §1.5:
// the activation's step and the int8 add that fuses it). `y` may be `x`.
// Inline for callers that run only on AVX2 CPUs.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace mixq::kernels {

template <typename T>
__attribute__((target("avx2"))) inline void ClampIntegers(const T* x, T* y, int64_t n, int32_t lo, int32_t hi) {
  static_assert(sizeof(T) == 1 || sizeof(T) == 2, "int8 or int16 codes");
  constexpr int64_t kLanes = 32 / sizeof(T);
  const __m256i vlo =
      sizeof(T) == 1 ? _mm256_set1_epi8(static_cast<char>(lo)) : _mm256_set1_epi16(static_cast<short>(lo));
  const __m256i vhi =
      sizeof(T) == 1 ? _mm256_set1_epi8(static_cast<char>(hi)) : _mm256_set1_epi16(static_cast<short>(hi));
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    const __m256i c = sizeof(T) == 1 ? _mm256_min_epi8(_mm256_max_epi8(v, vlo), vhi)
                                     : _mm256_min_epi16(_mm256_max_epi16(v, vlo), vhi);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), c);
  }
  for (; i < n; ++i) y[i] = static_cast<T>(std::clamp<int32_t>(x[i], lo, hi));
}

}  // namespace mixq::kernels
