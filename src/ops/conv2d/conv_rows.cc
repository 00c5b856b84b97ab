#include "ops/conv2d/conv_rows.h"

#include <immintrin.h>

namespace mixq::ops {

namespace {

// dst[t] = src[t] - zp as int16, t < n (int8 or int16 codes).
template <typename T>
__attribute__((target("avx2"))) void CenterRow(const T* src, int64_t n, int32_t zp, int16_t* dst) {
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
  int64_t t = 0;
  for (; t + 16 <= n; t += 16) {
    const __m256i x = sizeof(T) == 1 ? _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + t)))
                                     : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + t));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + t), _mm256_sub_epi16(x, z));
  }
  for (; t < n; ++t) dst[t] = static_cast<int16_t>(src[t] - zp);
}

// dst[t] = src[2 t] - zp, 16 per step. A step reads src[2 t, 2 t + 32),
// taken while t + 16 < n: its last read, 2 t + 31, stays below 2 n - 2, the
// last value the row's phase needs.
template <typename T>
__attribute__((target("avx2"))) void EvenRow(const T* src, int64_t n, int32_t zp, int16_t* dst) {
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
  int64_t t = 0;
  for (; t + 16 < n; t += 16) {
    __m256i even;
    if constexpr (sizeof(T) == 1) {
      // The even bytes of each 16-byte lane to its low half, the two halves together, sign-extended.
      const __m256i pick = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                            0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1);
      const __m256i x = _mm256_shuffle_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * t)), pick);
      even = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(_mm256_permute4x64_epi64(x, 0x08)));
    } else {
      // Each 32-bit lane's low word, sign-extended, packed back to words
      // (no saturation: they are words), then the 64-bit quarters in order.
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * t));
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * t + 16));
      const __m256i packed = _mm256_packs_epi32(_mm256_srai_epi32(_mm256_slli_epi32(a, 16), 16),
                                                _mm256_srai_epi32(_mm256_slli_epi32(b, 16), 16));
      even = _mm256_permute4x64_epi64(packed, 0xD8);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + t), _mm256_sub_epi16(even, z));
  }
  for (; t < n; ++t) dst[t] = static_cast<int16_t>(src[2 * t] - zp);
}

}  // namespace

void EvenRowToS16(const int8_t* src, int64_t n, int32_t zp, int16_t* dst) {
  EvenRow(src, n, zp, dst);
}

void EvenRowToS16(const int16_t* src, int64_t n, int32_t zp, int16_t* dst) {
  EvenRow(src, n, zp, dst);
}

void CenterRowToS16(const int8_t* src, int64_t n, int32_t zp, int16_t* dst) {
  CenterRow(src, n, zp, dst);
}

void CenterRowToS16(const int16_t* src, int64_t n, int32_t zp, int16_t* dst) {
  CenterRow(src, n, zp, dst);
}

// dst[t] = src[t] ^ 0x80 (s8 -> u8 + 128), t < n.
__attribute__((target("avx2"))) void FlipRowToU8(const int8_t* src, int64_t n, uint8_t* dst) {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  int64_t t = 0;
  for (; t + 32 <= n; t += 32)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + t),
                        _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + t)), flip));
  if (t + 16 <= n) {
    _mm_storeu_si128(
        reinterpret_cast<__m128i*>(dst + t),
        _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + t)), _mm256_castsi256_si128(flip)));
    t += 16;
  }
  if (t + 8 <= n) {
    _mm_storel_epi64(
        reinterpret_cast<__m128i*>(dst + t),
        _mm_xor_si128(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + t)), _mm256_castsi256_si128(flip)));
    t += 8;
  }
  for (; t < n; ++t) dst[t] = static_cast<uint8_t>(static_cast<uint8_t>(src[t]) ^ 0x80);
}

// dst[t] = src[2 t], t < n; reads src[0, 2 n).
__attribute__((target("avx2"))) void EvenBytes(const uint8_t* src, int64_t n, uint8_t* dst) {
  const __m256i pick = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                        0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1);
  int64_t t = 0;
  for (; t + 16 <= n; t += 16) {
    const __m256i x = _mm256_shuffle_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * t)), pick);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + t), _mm256_castsi256_si128(_mm256_permute4x64_epi64(x, 0x08)));
  }
  if (t + 8 <= n) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * t));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + t), _mm_shuffle_epi8(x, _mm256_castsi256_si128(pick)));
    t += 8;
  }
  for (; t < n; ++t) dst[t] = src[2 * t];
}

}  // namespace mixq::ops
