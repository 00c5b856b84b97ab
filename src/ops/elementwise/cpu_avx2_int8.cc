// "avx2-int8": the int8 add of two tensors of the same shape inside an
// integer chain (lut_function.h, ops/int8_chain.h): 32 codes per step, each
// input dequantized in registers (the float32 product s * (q - z)), added in
// float32, quantized with the output's parameters by QuantizeVector (or
// stored as float32), so every value is the reference's, bit for bit.
// Without FMA (nothing to contract: one product per input, then a sum),
// except in the affine form fitted to it for large int8 outputs
// (int8_add.h), whose fused multiply-adds are explicit.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "ops/elementwise/int8_add.h"
#include "ops/quantize_vector.h"

namespace mixq::ops {

namespace {

#define MIXQ_AVX2 __attribute__((target("avx2")))
#define MIXQ_AVX2_FMA __attribute__((target("avx2,fma")))

struct Dequant {
  __m256 scale;
  __m256i zero_point;
};

// 8 codes (the low 8 bytes of `codes`) as float32 reals.
MIXQ_AVX2 inline __m256 Dequantize8(__m128i codes, const Dequant& d) {
  const __m256i centered = _mm256_sub_epi32(_mm256_cvtepi8_epi32(codes), d.zero_point);
  return _mm256_mul_ps(d.scale, _mm256_cvtepi32_ps(centered));
}

// 32 int32 codes in [-128, 127] (four vectors in order) as 32 int8.
MIXQ_AVX2 inline __m256i Pack32(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
  return _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// The blocks' loads read 32 codes: a shorter block reads zeroed copies.
struct ShortBlock {
  alignas(32) int8_t a[32] = {}, b[32] = {};
  void Cover(int64_t n, const int8_t** pa, const int8_t** pb) {
    if (n >= 32) return;
    std::memcpy(a, *pa, static_cast<size_t>(n));
    std::memcpy(b, *pb, static_cast<size_t>(n));
    *pa = a;
    *pb = b;
  }
};

// n <= 32 sums of a[i] and b[i]: 8 at a time.
MIXQ_AVX2 void AddBlock(const int8_t* a, const int8_t* b, int64_t n, const Dequant& da, const Dequant& db,
                        const QuantizeConstants* q, void* out) {
  ShortBlock pad;
  pad.Cover(n, &a, &b);
  const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
  const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
  const __m128i a_lo = _mm256_castsi256_si128(va), a_hi = _mm256_extracti128_si256(va, 1);
  const __m128i b_lo = _mm256_castsi256_si128(vb), b_hi = _mm256_extracti128_si256(vb, 1);
  const __m128i as[4] = {a_lo, _mm_srli_si128(a_lo, 8), a_hi, _mm_srli_si128(a_hi, 8)};
  const __m128i bs[4] = {b_lo, _mm_srli_si128(b_lo, 8), b_hi, _mm_srli_si128(b_hi, 8)};
  __m256 sums[4];
  for (int k = 0; k < 4; ++k) sums[k] = _mm256_add_ps(Dequantize8(as[k], da), Dequantize8(bs[k], db));
  if (!q) {
    alignas(32) float y[32];
    for (int k = 0; k < 4; ++k) _mm256_store_ps(y + 8 * k, sums[k]);
    std::memcpy(out, y, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  const __m256i packed = Pack32(QuantizeVector(sums[0], *q), QuantizeVector(sums[1], *q), QuantizeVector(sums[2], *q),
                                QuantizeVector(sums[3], *q));
  if (n == 32) {
    _mm256_storeu_si256(static_cast<__m256i*>(out), packed);
  } else {
    alignas(32) int8_t y[32];
    _mm256_store_si256(reinterpret_cast<__m256i*>(y), packed);
    std::memcpy(out, y, static_cast<size_t>(n));
  }
}

// n sums from a, b into `out` (int8 codes, or float32 when !int_out).
MIXQ_AVX2 void AddRange(const int8_t* a, const int8_t* b, int64_t n, Int8Params pa, Int8Params pb, bool int_out,
                        Int8Params po, void* out) {
  const Dequant da{_mm256_set1_ps(pa.scale), _mm256_set1_epi32(pa.zero_point)};
  const Dequant db{_mm256_set1_ps(pb.scale), _mm256_set1_epi32(pb.zero_point)};
  const QuantizeConstants q = MakeQuantizeConstants(po.scale, po.zero_point, -128, 127);
  const size_t width = int_out ? 1 : sizeof(float);
  for (int64_t at = 0; at < n; at += 32)
    AddBlock(a + at, b + at, std::min<int64_t>(32, n - at), da, db, int_out ? &q : nullptr,
             static_cast<char*>(out) + static_cast<size_t>(at) * width);
}

// The affine form (int8_add.h Int8AddAffine), 32 codes per block, 8 per
// vector: sign extension, conversion, two fused multiply-adds, a conversion
// rounding half to even (MXCSR's default), a compare and a blend per patch,
// and Pack32's saturating packs. A short block goes through zeroed copies.
MIXQ_AVX2_FMA void AffineBlock(const int8_t* a, const int8_t* b, int64_t n, const Int8AddAffine& form, int8_t* out) {
  ShortBlock pad;
  pad.Cover(n, &a, &b);
  const __m256 ka = _mm256_set1_ps(form.ka), kb = _mm256_set1_ps(form.kb), c = _mm256_set1_ps(form.c);
  __m256i q[4];
  for (int k = 0; k < 4; ++k) {
    const __m256i ia = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a + 8 * k)));
    const __m256i ib = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + 8 * k)));
    const __m256 y = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ia), ka, _mm256_fmadd_ps(_mm256_cvtepi32_ps(ib), kb, c));
    q[k] = _mm256_cvtps_epi32(y);
    if (!form.patch_keys.empty()) {
      const __m256i key = _mm256_or_si256(_mm256_slli_epi32(ia, 8), _mm256_and_si256(ib, _mm256_set1_epi32(0xff)));
      for (size_t p = 0; p < form.patch_keys.size(); ++p) {
        const __m256i hit = _mm256_cmpeq_epi32(key, _mm256_set1_epi32(form.patch_keys[p]));
        q[k] = _mm256_blendv_epi8(q[k], _mm256_set1_epi32(form.patch_codes[p]), hit);
      }
    }
  }
  const __m256i packed = Pack32(q[0], q[1], q[2], q[3]);
  if (n == 32) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), packed);
  } else {
    alignas(32) int8_t y[32];
    _mm256_store_si256(reinterpret_cast<__m256i*>(y), packed);
    std::memcpy(out, y, static_cast<size_t>(n));
  }
}

MIXQ_AVX2_FMA void AffineRange(const int8_t* a, const int8_t* b, int64_t n, const Int8AddAffine& form, int8_t* out) {
  for (int64_t at = 0; at < n; at += 32) AffineBlock(a + at, b + at, std::min<int64_t>(32, n - at), form, out + at);
}

bool Supports(const KernelInit& init) {
  return SameShapeInt8Add(init);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeInt8Add(init, "avx2-int8", AddRange, AffineRange, kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(elementwise, avx2_int8) {
  mixq::ops::RegisterKernel({"avx2-int8", mixq::OpKind::kElementwise, mixq::kernels::Isa::kAvx2, 20,
                             mixq::ops::Supports, mixq::ops::Make, mixq::ops::Int8AddLayoutSlots, nullptr,
                             mixq::ops::OperandAlias});
}
