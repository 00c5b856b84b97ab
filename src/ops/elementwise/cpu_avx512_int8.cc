// "avx512-int8": avx2-int8's add of two int8 tensors of the same shape
// inside an integer chain, 64 codes per step on AVX-512: each input
// dequantized in registers (s * (q - z) in float32), the two added in
// float32, quantized with the output's parameters by QuantizeVector512 (the
// same per-lane operations as QuantizeVector) or stored as float32, so every
// value is the reference's, bit for bit. The tail runs masked. Large int8
// outputs run the affine form fitted to this one (int8_add.h). AVX-512
// implies FMA: the file is built with -ffp-contract=off (CMakeLists.txt) so
// that no product and sum are fused.
#include <immintrin.h>

#include <algorithm>

#include "ops/elementwise/int8_add.h"
#include "ops/quantize_vector512.h"

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (GCC bug 105593:
// their unmasked forms pass an "undefined" vector as the merge source).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mixq::ops {

namespace {

#define MIXQ_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

struct Dequant16 {
  __m512 scale;
  __m512i zero_point;
};

// 16 codes as float32 reals.
MIXQ_AVX512 inline __m512 Dequantize16(__m128i codes, const Dequant16& d) {
  const __m512i centered = _mm512_sub_epi32(_mm512_cvtepi8_epi32(codes), d.zero_point);
  return _mm512_mul_ps(d.scale, _mm512_cvtepi32_ps(centered));
}

// n <= 64 sums of a[i] and b[i], 16 at a time; lanes past n are neither
// read nor written.
MIXQ_AVX512 void AddBlock(const int8_t* a, const int8_t* b, int64_t n, const Dequant16& da, const Dequant16& db,
                          const QuantizeConstants512* q, void* out) {
  for (int64_t j = 0; j < n; j += 16) {
    const int64_t count = std::min<int64_t>(16, n - j);
    const auto mask = static_cast<__mmask16>(count == 16 ? 0xFFFF : (1u << count) - 1);
    const __m128i va = _mm_maskz_loadu_epi8(mask, a + j), vb = _mm_maskz_loadu_epi8(mask, b + j);
    const __m512 sum = _mm512_add_ps(Dequantize16(va, da), Dequantize16(vb, db));
    if (q)
      _mm_mask_storeu_epi8(static_cast<int8_t*>(out) + j, mask, _mm512_cvtsepi32_epi8(QuantizeVector512(sum, *q)));
    else
      _mm512_mask_storeu_ps(static_cast<float*>(out) + j, mask, sum);
  }
}

MIXQ_AVX512 void AddRange(const int8_t* a, const int8_t* b, int64_t n, Int8Params pa, Int8Params pb, bool int_out,
                          Int8Params po, void* out) {
  const Dequant16 da{_mm512_set1_ps(pa.scale), _mm512_set1_epi32(pa.zero_point)};
  const Dequant16 db{_mm512_set1_ps(pb.scale), _mm512_set1_epi32(pb.zero_point)};
  const QuantizeConstants512 q = MakeQuantizeConstants512(po.scale, po.zero_point, -128, 127);
  const size_t width = int_out ? 1 : sizeof(float);
  for (int64_t at = 0; at < n; at += 64)
    AddBlock(a + at, b + at, std::min<int64_t>(64, n - at), da, db, int_out ? &q : nullptr,
             static_cast<char*>(out) + static_cast<size_t>(at) * width);
}

// The affine form (int8_add.h Int8AddAffine) of 16 codes: sign extension,
// conversion, two fused multiply-adds and a conversion rounding half to even
// (MXCSR's default), then a compare and a blend per patch; int32 codes,
// saturated by the caller's narrowing.
MIXQ_AVX512 inline __m512i Affine16(__m512i ia, __m512i ib, __m512 ka, __m512 kb, __m512 c, const Int8AddAffine& form,
                                    size_t patches) {
  const __m512 y = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia), ka, _mm512_fmadd_ps(_mm512_cvtepi32_ps(ib), kb, c));
  __m512i q = _mm512_cvtps_epi32(y);
  if (patches != 0) {
    const __m512i key = _mm512_or_si512(_mm512_slli_epi32(ia, 8), _mm512_and_si512(ib, _mm512_set1_epi32(0xff)));
    for (size_t p = 0; p < patches; ++p) {
      const __mmask16 hit = _mm512_cmpeq_epi32_mask(key, _mm512_set1_epi32(form.patch_keys[p]));
      q = _mm512_mask_mov_epi32(q, hit, _mm512_set1_epi32(form.patch_codes[p]));
    }
  }
  return q;
}

// The affine form, 64 codes per step: four vectors of 16 narrowed with
// saturation by two packs (int32 -> int16 -> int8, the same clamp as
// vpmovsdb's) and put back in order by one permutation, then one store.
// vpmovsdb to memory, 16 codes a time, costs two port-5 operations and
// stalled the loop (perf, AMX Xeon): ResNet-50 QDQ's 56 x 56 x 256 adds
// 0.091 -> 0.075 ms at 1 thread. The tail runs 16 codes a step, masked.
MIXQ_AVX512 void AffineRange(const int8_t* a, const int8_t* b, int64_t n, const Int8AddAffine& form, int8_t* out) {
  const __m512 ka = _mm512_set1_ps(form.ka), kb = _mm512_set1_ps(form.kb), c = _mm512_set1_ps(form.c);
  const size_t patches = form.patch_keys.size();
  // packs work per 128-bit lane: after them, dword 4 L + k holds codes
  // 16 k + 4 L ... + 3; output dword 4 k + L takes it.
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  int64_t j = 0;
  for (; j + 64 <= n; j += 64) {
    __m512i q[4];
    for (int k = 0; k < 4; ++k) {
      const __m512i ia = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + j + 16 * k)));
      const __m512i ib = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + j + 16 * k)));
      q[k] = Affine16(ia, ib, ka, kb, c, form, patches);
    }
    const __m512i bytes = _mm512_packs_epi16(_mm512_packs_epi32(q[0], q[1]), _mm512_packs_epi32(q[2], q[3]));
    _mm512_storeu_si512(out + j, _mm512_permutexvar_epi32(order, bytes));
  }
  for (; j < n; j += 16) {
    const int64_t count = std::min<int64_t>(16, n - j);
    const auto mask = static_cast<__mmask16>(count == 16 ? 0xFFFF : (1u << count) - 1);
    const __m512i ia = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, a + j));
    const __m512i ib = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, b + j));
    _mm512_mask_cvtsepi32_storeu_epi8(out + j, mask, Affine16(ia, ib, ka, kb, c, form, patches));
  }
}

bool Supports(const KernelInit& init) {
  return SameShapeInt8Add(init);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeInt8Add(init, "avx512-int8", AddRange, AffineRange, kernel, /*avx512=*/true);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(elementwise, avx512_int8) {
  // Above avx2-int8 where the CPU has AVX-512.
  mixq::ops::RegisterKernel({"avx512-int8", mixq::OpKind::kElementwise, mixq::kernels::Isa::kAvx512, 25,
                             mixq::ops::Supports, mixq::ops::Make, mixq::ops::Int8AddLayoutSlots, nullptr,
                             mixq::ops::OperandAlias});
}
