// The float-chain rows of ops/int8_output_stage.h in 16 lanes (AVX-512 F,
// BW, VL): DequantizeQuantizeRowToInt8Avx512 (int8 kernels with a fused
// float chain and Quantize) and the int64 rows of the qint16 kernels
// (DequantizeRow64Avx512, DequantizeQuantizeRow64ToInt16Avx512). Each does
// the AVX2 form's float32 operations per lane in the same order, so the same
// bits; built with -ffp-contract=off (CMakeLists.txt) for that. Split from
// int8_output_stage.cc (DESIGN rule 6: files under 800 lines).
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/hard_swish.h"
#include "ops/int8_output_stage.h"
#include "ops/quantize_vector.h"
#include "ops/quantize_vector512.h"

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (GCC bug 105593:
// their unmasked forms pass an "undefined" vector as the merge source).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"  // the same, as the -O1 sanitizer builds report it
#endif

namespace mixq::ops {

// DequantizeQuantizeRowToInt8 in 16 lanes: per lane the operations of the
// AVX2 form in the same order (hard_swish in double, the Quantize step's
// rounded quotient), so the same bits; 64 elements per step as 4
// interleaved chains, then 16 at a time, the last elements through the AVX2
// form.
#define MIXQ_AVX512_STAGE __attribute__((target("avx512f,avx512bw,avx512vl,f16c,fma")))

namespace {

using kernels::HardSwishExact16;

// VectorPostOps4's operations on 4 vectors of 16 consecutive elements.
MIXQ_AVX512_STAGE inline __attribute__((always_inline)) void PostOps16x4(__m512 y[4],
                                                                         const std::vector<StagePostOp>& post_ops,
                                                                         const std::vector<FloatAddend>& addends,
                                                                         int64_t e, int count) {
  const __m512 zero = _mm512_setzero_ps();
  for (const StagePostOp& op : post_ops) {
    if (op.kind == StagePostOp::Kind::kAdd) {
      const FloatAddend& a = addends[static_cast<size_t>(op.addend)];
      for (int u = 0; u < count; ++u) {
        const int64_t at = e + 16 * u;
        const __m512 x = a.dtype == DataType::FLOAT16
                             ? _mm512_cvtph_ps(_mm256_loadu_si256(
                                   reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(a.data) + at)))
                             : _mm512_loadu_ps(static_cast<const float*>(a.data) + at);
        y[u] = _mm512_add_ps(y[u], x);
      }
    } else if (op.kind == StagePostOp::Kind::kLeaky) {
      const __m512 slope = _mm512_set1_ps(op.lo);
      for (int u = 0; u < count; ++u)
        y[u] = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(y[u], zero, _CMP_LT_OQ), y[u], _mm512_mul_ps(slope, y[u]));
    } else if (op.kind == StagePostOp::Kind::kHardSwish) {
      for (int u = 0; u < count; ++u) y[u] = HardSwishExact16(y[u]);
    } else if (op.kind == StagePostOp::Kind::kMul) {
      const __m512 k = _mm512_set1_ps(op.lo);
      for (int u = 0; u < count; ++u) y[u] = _mm512_mul_ps(y[u], k);
    } else if (op.kind == StagePostOp::Kind::kAddScalar) {
      const __m512 k = _mm512_set1_ps(op.lo);
      for (int u = 0; u < count; ++u) y[u] = _mm512_add_ps(y[u], k);
    } else {  // maxps(y, lo) then minps: NaN -> lo
      const __m512 lo = _mm512_set1_ps(op.lo), hi = _mm512_set1_ps(op.hi);
      for (int u = 0; u < count; ++u) y[u] = _mm512_min_ps(_mm512_max_ps(y[u], lo), hi);
    }
  }
}

// (f32(acc + int_bias) + bias) * multiplier, 16 lanes.
MIXQ_AVX512_STAGE inline __m512 Value16(const int32_t* acc, __m512i ib, __m512 bias, __m512 mult) {
  const __m512i a = _mm512_add_epi32(_mm512_loadu_si512(acc), ib);
  return _mm512_mul_ps(_mm512_add_ps(_mm512_cvtepi32_ps(a), bias), mult);
}

// QuantizeVector512 (the Quantize step's operations) narrowed to int8.
MIXQ_AVX512_STAGE inline __m128i Quantize16(__m512 x, const QuantizeConstants512& k) {
  return _mm512_cvtsepi32_epi8(QuantizeVector512(x, k));  // clamped to [lo, hi] already: exact
}

// (f32(acc + int_bias) + bias) * multiplier for 16 int64 accumulators, as
// Value64 (one rounding of each int64 sum, through an exact double while
// |acc + int_bias| < 2^51); false, and nothing in *y, when a lane is past
// that (the caller takes the AVX2 form, whose scalar path converts it).
MIXQ_AVX512_STAGE inline bool Value64x16(const int64_t* acc, __m512i ib, __m512 bias, __m512 mult, __m512* y) {
  const __m512i a0 = _mm512_add_epi64(_mm512_loadu_si512(acc), ib);
  const __m512i a1 = _mm512_add_epi64(_mm512_loadu_si512(acc + 8), ib);
  const __m512i limit = _mm512_set1_epi64(int64_t{1} << 51), neg_limit = _mm512_set1_epi64(-(int64_t{1} << 51));
  if (_mm512_cmpgt_epi64_mask(a0, limit) | _mm512_cmpgt_epi64_mask(neg_limit, a0) | _mm512_cmpgt_epi64_mask(a1, limit) |
      _mm512_cmpgt_epi64_mask(neg_limit, a1))
    return false;
  const __m512d magic = _mm512_set1_pd(6755399441055744.0);  // 1.5 * 2^52
  const __m256 f0 =
      _mm512_cvtpd_ps(_mm512_sub_pd(_mm512_castsi512_pd(_mm512_add_epi64(a0, _mm512_castpd_si512(magic))), magic));
  const __m256 f1 =
      _mm512_cvtpd_ps(_mm512_sub_pd(_mm512_castsi512_pd(_mm512_add_epi64(a1, _mm512_castpd_si512(magic))), magic));
  const __m512 v =
      _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(f0)), _mm256_castps_pd(f1), 1));
  *y = _mm512_mul_ps(_mm512_add_ps(v, bias), mult);
  return true;
}

// Value64x16 of 16 accumulators held as doubles (exact integers below
// 2^51): the int bias added in double (exact), one rounding to float32, the
// same bits.
MIXQ_AVX512_STAGE inline __m512 ValueF64x16(const double* sums, __m512d ib, __m512 bias, __m512 mult) {
  const __m256 f0 = _mm512_cvtpd_ps(_mm512_add_pd(_mm512_loadu_pd(sums), ib));
  const __m256 f1 = _mm512_cvtpd_ps(_mm512_add_pd(_mm512_loadu_pd(sums + 8), ib));
  const __m512 v =
      _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(f0)), _mm256_castps_pd(f1), 1));
  return _mm512_mul_ps(_mm512_add_ps(v, bias), mult);
}

// n sums as int64 (exact: integers below 2^51), for the AVX2 forms.
MIXQ_AVX512_STAGE inline void SumsToInt64(const double* sums, int64_t n, int64_t* acc) {
  const __m512d magic = _mm512_set1_pd(6755399441055744.0);  // 1.5 * 2^52
  for (int64_t i = 0; i < n; i += 8) {
    const auto mask = static_cast<__mmask8>(n - i >= 8 ? 0xFF : (1u << (n - i)) - 1);
    const __m512i v = _mm512_sub_epi64(_mm512_castpd_si512(_mm512_add_pd(_mm512_maskz_loadu_pd(mask, sums + i), magic)),
                                       _mm512_castpd_si512(magic));
    _mm512_mask_storeu_epi64(acc + i, mask, v);
  }
}

// 16 float outputs at out[at], as FLOAT16 or FLOAT32.
MIXQ_AVX512_STAGE inline void StoreFloatLanes16(__m512 y, DataType out_type, void* out, int64_t at) {
  if (out_type == DataType::FLOAT16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(static_cast<uint16_t*>(out) + at),
                        _mm512_cvtps_ph(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  else
    _mm512_storeu_ps(static_cast<float*>(out) + at, y);
}

}  // namespace

namespace {

// The rows below, for either form of the sums and either output: 64 per
// step as 4 interleaved chains (one chain, int64 or double sums to float,
// hard_swish in double, the Quantize division, is about 100 cycles long: one
// at a time it left the ports idle), then 16 at a time. value(at, y): the
// 16 values from `at`, false where a lane is past its exact range (that
// step then, and the last n % 16, go to fallback(at, count), the AVX2
// form; all n where `finite` is false); store(at, y): 16 outputs.
template <typename Value, typename Store, typename Fallback>
MIXQ_AVX512_STAGE inline void ChainRow(int64_t n, bool finite, const std::vector<StagePostOp>& post_ops,
                                       const std::vector<FloatAddend>& addends, int64_t addend_offset,
                                       const Value& value, const Store& store, const Fallback& fallback) {
  int64_t j = 0;
  if (finite) {
    for (; j + 64 <= n; j += 64) {
      __m512 y[4];
      bool in_range = true;
      for (int u = 0; u < 4; ++u) in_range = value(j + 16 * u, &y[u]) && in_range;
      if (!in_range) break;  // 16 at a time below
      PostOps16x4(y, post_ops, addends, addend_offset + j, 4);
      for (int u = 0; u < 4; ++u) store(j + 16 * u, &y[u]);
    }
    for (; j + 16 <= n; j += 16) {
      __m512 y[4];
      if (!value(j, &y[0])) {
        fallback(j, 16);
        continue;
      }
      PostOps16x4(y, post_ops, addends, addend_offset + j, 1);
      store(j, &y[0]);
    }
  }
  if (j < n) fallback(j, n - j);
}

// hard_swish, optionally times a and plus b (the affine step PP-OCRv4's
// layers fuse after it), then the Quantize to symmetric 16-bit codes (zero
// point 0, the full INT16 range) for 16 values v, without the double
// arithmetic and the division where that provably gives the same codes.
//
// Why it is the same (e = 2^-24, relative rounding errors of up to e each):
// the reference rounds y1 = RN(H), H = v clamp(v + 3, 0, 6) / 6, then y2 =
// RN(y1 a), y3 = RN(y2 + b) and RN(y3 / s), so its quotient is T = (H a +
// b) / s within (2 |H a| + 2 |H a + b|) e / s. Here, with hard_swish alone,
// m = RN(RN(v RN(v + 3)) k6), k6 = RN(1 / (6 s)), is T within 4 |T| e, so
// the two quotients differ by under 6 |m| e (2^-21.4 |m|); with the affine
// step, t = RN(RN(v RN(v + 3)) RN(a / 6)) is H a within 4 |H a| e, u = RN(t
// + b) and m = RN(u RN(1 / s)), and they differ by under (6 |t| / s + 5
// |m|) e. Add under 2^-23 absolute where a step is subnormal (s and the
// constants being normal). v + 3 is clamped to [0, 6]: v itself for v >= 3,
// 0 for v <= -3. m is clamped to the code range (a lane past it gets the
// bound: the margin below keeps the reference's quotient past the last half
// too) and rounded by adding 1.5 * 2^23, which leaves the code in the low 16
// bits of the sum. Where |m - code| + (|m| + |t / s|) 2^-21 + 2^-20 < 0.5
// both quotients round to the same integer. Lanes nearer a half than that,
// and NaN and infinite ones (whose test is NaN or infinite), make it return
// false: the caller runs the exact steps for those 16. For a Quantize the
// sign of a zero never matters (-0 and +0 both give code 0), so v <= -3 may
// give either. About half the operations of the exact steps; on PP-OCRv4
// rec qint16 a 16-value vector takes them about once in thirty (6.7 % of
// the 32-value steps, counted).
//
// HardSwishRoundedSum: m clamped to [lo, hi] (integers; a lane past them
// gets the bound, where the caller's codes saturate either way) plus 1.5 *
// 2^23, so that rint(m) = sum - 1.5 * 2^23 and a code within 16 bits is
// the sum's low 16 bits; true where the test passes.
template <bool kAffine>
MIXQ_AVX512_STAGE inline bool HardSwishRoundedSum(__m512 v, __m512 k, __m512 b, __m512 inverse, float lo, float hi,
                                                  __m512* sum) {
  const __m512 magic = _mm512_set1_ps(12582912.0f);  // 1.5 * 2^23: sums in [2^23, 2^24), integer spacing
  const __m512 clamped =
      _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(v, _mm512_set1_ps(3.0f)), _mm512_setzero_ps()), _mm512_set1_ps(6.0f));
  const __m512 h = _mm512_mul_ps(v, clamped);
  __m512 m, terms;
  if constexpr (kAffine) {
    const __m512 t = _mm512_mul_ps(h, k);
    m = _mm512_mul_ps(_mm512_add_ps(t, b), inverse);
    terms = _mm512_add_ps(_mm512_abs_ps(_mm512_mul_ps(t, inverse)), _mm512_abs_ps(m));
  } else {
    m = _mm512_mul_ps(h, k);
    terms = _mm512_abs_ps(m);
  }
  const __m512 mc = _mm512_min_ps(_mm512_set1_ps(hi), _mm512_max_ps(_mm512_set1_ps(lo), m));
  *sum = _mm512_add_ps(mc, magic);                                                  // rounded, half to even
  const __m512 off = _mm512_abs_ps(_mm512_sub_ps(mc, _mm512_sub_ps(*sum, magic)));  // both exact
  // off + terms 2^-21 < 0.5 - 2^-20 (a float: RN below it means the real sum is too).
  const __m512 test = _mm512_fmadd_ps(terms, _mm512_set1_ps(0x1p-21f), off);
  return _mm512_cmp_ps_mask(test, _mm512_set1_ps(0.5f - 0x1p-20f), _CMP_NLT_UQ) == 0;
}

// Symmetric INT16 codes: the caller takes the sum's low 16 bits.
template <bool kAffine>
MIXQ_AVX512_STAGE inline bool HardSwishQuantize16(__m512 v, __m512 k, __m512 b, __m512 inverse, __m512* sum) {
  return HardSwishRoundedSum<kAffine>(v, k, b, inverse, -32768.0f, 32767.0f, sum);
}

// HardSwishQuantize16's test for INT8 codes with any zero point: m (the
// same quotient) clamped to +-1024 (a lane past it saturates either way:
// the margin keeps the reference's quotient past +-1023, and the zero point
// is at most 255 away), rounded by adding and subtracting 1.5 * 2^23, and
// where the test passes q = clamp(rint(m) + z, -128, 127) with the
// Quantize step's float32 operations on the same integer (k: its
// constants). False, with nothing in *codes, where the exact steps must run.
template <bool kAffine>
MIXQ_AVX512_STAGE inline bool HardSwishQuantizeInt8x16(__m512 v, __m512 k6, __m512 b, __m512 inverse,
                                                       const QuantizeConstants512& k, __m128i* codes) {
  __m512 sum;
  if (!HardSwishRoundedSum<kAffine>(v, k6, b, inverse, -1024.0f, 1024.0f, &sum)) return false;
  const __m512 r = _mm512_sub_ps(sum, _mm512_set1_ps(12582912.0f));  // rint(m), exact
  const __m512 q = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(r, k.zero_point), k.lo), k.hi);
  *codes = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(q));
  return true;
}

// A row of hard_swish (+ affine) + Quantize to INT16: HardSwishQuantize16
// per 16 values, 32 per step (the low words of two vectors' sums in one
// permute), the exact steps (PostOps16x4, QuantizeVector512) for a vector it
// declines (6.7 % of the steps on PP-OCRv4 rec, counted); the last n % 16 as one
// more vector ending at n (rewriting a few outputs with the same codes);
// rows under 16 and value(at, y)'s declines to fallback(at, count), as
// ChainRow's.
template <bool kAffine, typename Value, typename Fallback>
MIXQ_AVX512_STAGE inline void HardSwishQuantizeRow(int64_t n, const HardSwishShortcut& hk,
                                                   const std::vector<StagePostOp>& post_ops, float scale,
                                                   const Value& value, const Fallback& fallback, int16_t* out) {
  const __m512 kv = _mm512_set1_ps(hk.k), bv = _mm512_set1_ps(hk.b);
  const __m512 inverse = _mm512_set1_ps(hk.inverse);
  const __m512i low_words = _mm512_set_epi16(62, 60, 58, 56, 54, 52, 50, 48, 46, 44, 42, 40, 38, 36, 34, 32, 30, 28, 26,
                                             24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  // 16 codes from v: the shortcut's, or the exact steps'.
  auto codes16 = [&](__m512 v) MIXQ_AVX512_STAGE {
    __m512 sum;
    if (HardSwishQuantize16<kAffine>(v, kv, bv, inverse, &sum)) return _mm512_cvtepi32_epi16(_mm512_castps_si512(sum));
    __m512 y[4] = {v};
    PostOps16x4(y, post_ops, {}, 0, 1);
    return _mm512_cvtsepi32_epi16(QuantizeVector512(y[0], MakeQuantizeConstants512(scale, 0, -32768, 32767)));
  };
  auto step16 = [&](int64_t at) MIXQ_AVX512_STAGE {
    __m512 v;
    if (!value(at, &v)) return fallback(at, 16);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + at), codes16(v));
  };
  if (n < 16) return fallback(0, n);
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    __m512 v[2], sum[2];
    if (!value(j, &v[0]) || !value(j + 16, &v[1])) {
      fallback(j, 32);
      continue;
    }
    const bool fast0 = HardSwishQuantize16<kAffine>(v[0], kv, bv, inverse, &sum[0]);
    if (fast0 & HardSwishQuantize16<kAffine>(v[1], kv, bv, inverse, &sum[1])) {
      _mm512_storeu_si512(
          out + j, _mm512_permutex2var_epi16(_mm512_castps_si512(sum[0]), low_words, _mm512_castps_si512(sum[1])));
      continue;
    }
    for (int u = 0; u < 2; ++u) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j + 16 * u), codes16(v[u]));
  }
  if (j + 16 <= n) {
    step16(j);
    j += 16;
  }
  if (j < n) step16(n - 16);
}

// HardSwishQuantizeRow for the chain (`planned`, or planned here), or false
// where it does not apply.
template <typename Value, typename Fallback>
MIXQ_AVX512_STAGE inline bool TryHardSwishQuantizeRow(int64_t n, bool finite, const std::vector<StagePostOp>& post_ops,
                                                      float scale, int32_t zero_point, const HardSwishShortcut* planned,
                                                      const Value& value, const Fallback& fallback, int16_t* out) {
  if (!finite || post_ops.empty() || post_ops[0].kind != StagePostOp::Kind::kHardSwish) return false;
  const HardSwishShortcut hk = planned ? *planned : HardSwishInt16ShortcutFor(post_ops, scale, zero_point);
  if (!hk.applies) return false;
  if (hk.affine)
    HardSwishQuantizeRow<true>(n, hk, post_ops, scale, value, fallback, out);
  else
    HardSwishQuantizeRow<false>(n, hk, post_ops, scale, value, fallback, out);
  return true;
}

}  // namespace

MIXQ_AVX512_STAGE void DequantizeQuantizeRowToInt8Avx512(const int32_t* acc, int64_t n, const ChannelStage& c,
                                                         const std::vector<StagePostOp>& post_ops,
                                                         const std::vector<FloatAddend>& addends, int64_t addend_offset,
                                                         float scale, int32_t zero_point, int8_t* out,
                                                         const HardSwishShortcut* shortcut) {
  int64_t j = 0;
  // Planned here where the caller did not (once: the AVX2 tail takes it too).
  HardSwishShortcut hk;
  if (shortcut)
    hk = *shortcut;
  else if (StageIsFinite(c) && !post_ops.empty() && post_ops[0].kind == StagePostOp::Kind::kHardSwish)
    hk = HardSwishInt8ShortcutFor(post_ops, scale);
  if (StageIsFinite(c)) {
    const __m512i ib = _mm512_set1_epi32(c.int_bias);
    const __m512 bias = _mm512_set1_ps(c.bias), mult = _mm512_set1_ps(c.multiplier);
    const QuantizeConstants512 k = MakeQuantizeConstants512(scale, zero_point, -128, 127);
    if (hk.applies) {  // the hard_swish chain's shortcut, 16 at a time; the exact steps for a vector it declines
      const __m512 kv = _mm512_set1_ps(hk.k), bv = _mm512_set1_ps(hk.b), inverse = _mm512_set1_ps(hk.inverse);
      for (; j + 16 <= n; j += 16) {
        __m512 y[4] = {Value16(acc + j, ib, bias, mult)};
        __m128i codes;
        const bool fast = hk.affine ? HardSwishQuantizeInt8x16<true>(y[0], kv, bv, inverse, k, &codes)
                                    : HardSwishQuantizeInt8x16<false>(y[0], kv, bv, inverse, k, &codes);
        if (!fast) {
          PostOps16x4(y, post_ops, addends, addend_offset + j, 1);
          codes = Quantize16(y[0], k);
        }
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j), codes);
      }
    }
    for (; j + 64 <= n; j += 64) {
      __m512 y[4];
      for (int u = 0; u < 4; ++u) y[u] = Value16(acc + j + 16 * u, ib, bias, mult);
      PostOps16x4(y, post_ops, addends, addend_offset + j, 4);
      for (int u = 0; u < 4; ++u) _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j + 16 * u), Quantize16(y[u], k));
    }
    for (; j + 16 <= n; j += 16) {
      __m512 y[4] = {Value16(acc + j, ib, bias, mult)};
      PostOps16x4(y, post_ops, addends, addend_offset + j, 1);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j), Quantize16(y[0], k));
    }
  }
  if (j < n)
    DequantizeQuantizeRowToInt8Avx2(acc + j, n - j, c, post_ops, addends, addend_offset + j, scale, zero_point, out + j,
                                    &hk);
}

// Each quotient computed in double and rounded once more to float
// (innocuous: 53 >= 2 * 24 + 2 bits), so within 2^-24 of the real one.
HardSwishShortcut HardSwishInt16ShortcutFor(const std::vector<StagePostOp>& post_ops, float scale, int32_t zero_point) {
  if (zero_point != 0) return HardSwishShortcut{};
  return HardSwishInt8ShortcutFor(post_ops, scale);
}

// The same constants; the INT8 rows take any zero point (HardSwishQuantizeInt8x16).
HardSwishShortcut HardSwishInt8ShortcutFor(const std::vector<StagePostOp>& post_ops, float scale) {
  HardSwishShortcut k;
  if (post_ops.empty() || post_ops[0].kind != StagePostOp::Kind::kHardSwish || !std::isnormal(scale)) return k;
  float a = 1.0f, b = 0.0f;
  size_t i = 1;
  if (i < post_ops.size() && post_ops[i].kind == StagePostOp::Kind::kMul) a = post_ops[i++].lo;
  if (i < post_ops.size() && post_ops[i].kind == StagePostOp::Kind::kAddScalar) b = post_ops[i++].lo;
  if (i != post_ops.size()) return k;
  k.affine = post_ops.size() > 1;
  const auto s = static_cast<double>(scale);
  if (!k.affine) {
    k.k = static_cast<float>(1.0 / (6.0 * s));
    k.applies = std::isnormal(k.k);
    return k;
  }
  k.k = static_cast<float>(static_cast<double>(a) / 6.0);
  k.b = b;
  k.inverse = static_cast<float>(1.0 / s);
  k.applies = std::isnormal(k.k) && std::isnormal(k.inverse) && std::isfinite(b);
  return k;
}

// DequantizeRow64 / DequantizeQuantizeRow64ToInt16 in 16 lanes: the AVX2
// forms' operations per lane in the same order (the qint16 kernels' float
// outputs and fused float chains; at 8 lanes their rows ran at about a
// third of the int16 GEMM's time on ResNet-50's residual layers). A block of
// 16 with a lane past Value64x16's range, and the last n % 16 elements, go
// through the AVX2 form.
MIXQ_AVX512_STAGE void DequantizeRow64Avx512(const int64_t* acc, int64_t n, const ChannelStage& c,
                                             const std::vector<StagePostOp>& post_ops,
                                             const std::vector<FloatAddend>& addends, int64_t addend_offset,
                                             DataType out_type, void* out, int64_t out_offset) {
  const __m512i ib = _mm512_set1_epi64(c.int_bias);
  const __m512 bias = _mm512_set1_ps(c.bias), mult = _mm512_set1_ps(c.multiplier);
  ChainRow(
      n, StageIsFinite(c), post_ops, addends, addend_offset,
      [&](int64_t at, __m512* y) MIXQ_AVX512_STAGE { return Value64x16(acc + at, ib, bias, mult, y); },
      [&](int64_t at, const __m512* y) MIXQ_AVX512_STAGE { StoreFloatLanes16(*y, out_type, out, out_offset + at); },
      [&](int64_t at, int64_t count) {
        DequantizeRow64Avx2(acc + at, count, c, post_ops, addends, addend_offset + at, out_type, out, out_offset + at);
      });
}

MIXQ_AVX512_STAGE void DequantizeQuantizeRow64ToInt16Avx512(const int64_t* acc, int64_t n, const ChannelStage& c,
                                                            const std::vector<StagePostOp>& post_ops,
                                                            const std::vector<FloatAddend>& addends,
                                                            int64_t addend_offset, float scale, int32_t zero_point,
                                                            int16_t* out, const HardSwishShortcut* shortcut) {
  const __m512i ib = _mm512_set1_epi64(c.int_bias);
  const __m512 bias = _mm512_set1_ps(c.bias), mult = _mm512_set1_ps(c.multiplier);
  auto fallback = [&](int64_t at, int64_t count) {
    DequantizeQuantizeRow64ToInt16Avx2(acc + at, count, c, post_ops, addends, addend_offset + at, scale, zero_point,
                                       out + at);
  };
  auto value = [&](int64_t at, __m512* y) MIXQ_AVX512_STAGE { return Value64x16(acc + at, ib, bias, mult, y); };
  if (TryHardSwishQuantizeRow(n, StageIsFinite(c), post_ops, scale, zero_point, shortcut, value, fallback, out)) return;
  const QuantizeConstants512 k = MakeQuantizeConstants512(scale, zero_point, -32768, 32767);
  ChainRow(
      n, StageIsFinite(c), post_ops, addends, addend_offset, value,
      [&](int64_t at, const __m512* y) MIXQ_AVX512_STAGE {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + at), _mm512_cvtsepi32_epi16(QuantizeVector512(*y, k)));
      },
      fallback);
}

MIXQ_AVX512_STAGE void SumsToInt64Avx512(const double* sums, int64_t n, int64_t* acc) {
  SumsToInt64(sums, n, acc);
}

// The forms from double sums: every value in range; the last n % 16 (or
// every element, where a constant is not finite) as int64 through the AVX2
// forms, 16 at a time.
MIXQ_AVX512_STAGE void DequantizeRowF64Avx512(const double* sums, int64_t n, const ChannelStage& c,
                                              const std::vector<StagePostOp>& post_ops,
                                              const std::vector<FloatAddend>& addends, int64_t addend_offset,
                                              DataType out_type, void* out, int64_t out_offset) {
  const __m512d ib = _mm512_set1_pd(static_cast<double>(c.int_bias));
  const __m512 bias = _mm512_set1_ps(c.bias), mult = _mm512_set1_ps(c.multiplier);
  ChainRow(
      n, StageIsFinite(c), post_ops, addends, addend_offset,
      [&](int64_t at, __m512* y) MIXQ_AVX512_STAGE {
        *y = ValueF64x16(sums + at, ib, bias, mult);
        return true;
      },
      [&](int64_t at, const __m512* y) MIXQ_AVX512_STAGE { StoreFloatLanes16(*y, out_type, out, out_offset + at); },
      [&](int64_t at, int64_t count) MIXQ_AVX512_STAGE {
        int64_t acc[16];
        for (int64_t e = at; e < at + count; e += 16) {
          const int64_t m = std::min<int64_t>(16, at + count - e);
          SumsToInt64(sums + e, m, acc);
          DequantizeRow64Avx2(acc, m, c, post_ops, addends, addend_offset + e, out_type, out, out_offset + e);
        }
      });
}

MIXQ_AVX512_STAGE void DequantizeQuantizeRowF64ToInt16Avx512(const double* sums, int64_t n, const ChannelStage& c,
                                                             const std::vector<StagePostOp>& post_ops,
                                                             const std::vector<FloatAddend>& addends,
                                                             int64_t addend_offset, float scale, int32_t zero_point,
                                                             int16_t* out, const HardSwishShortcut* shortcut) {
  const __m512d ib = _mm512_set1_pd(static_cast<double>(c.int_bias));
  const __m512 bias = _mm512_set1_ps(c.bias), mult = _mm512_set1_ps(c.multiplier);
  auto value = [&](int64_t at, __m512* y) MIXQ_AVX512_STAGE {
    *y = ValueF64x16(sums + at, ib, bias, mult);
    return true;
  };
  auto fallback = [&](int64_t at, int64_t count) MIXQ_AVX512_STAGE {
    int64_t acc[16];
    for (int64_t e = at; e < at + count; e += 16) {
      const int64_t m = std::min<int64_t>(16, at + count - e);
      SumsToInt64(sums + e, m, acc);
      DequantizeQuantizeRow64ToInt16Avx2(acc, m, c, post_ops, addends, addend_offset + e, scale, zero_point, out + e);
    }
  };
  if (TryHardSwishQuantizeRow(n, StageIsFinite(c), post_ops, scale, zero_point, shortcut, value, fallback, out)) return;
  const QuantizeConstants512 k = MakeQuantizeConstants512(scale, zero_point, -32768, 32767);
  ChainRow(
      n, StageIsFinite(c), post_ops, addends, addend_offset, value,
      [&](int64_t at, const __m512* y) MIXQ_AVX512_STAGE {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + at), _mm512_cvtsepi32_epi16(QuantizeVector512(*y, k)));
      },
      fallback);
}

MIXQ_AVX512_STAGE void DequantizeQuantizeRowsF64ToInt16Avx512(const double* sums, int64_t ld_sums, int64_t rows,
                                                              int64_t n, const ChannelStage* c,
                                                              const std::vector<StagePostOp>& post_ops, float scale,
                                                              int16_t* out, int64_t ld_out,
                                                              const HardSwishShortcut& shortcut) {
  const std::vector<FloatAddend> none;
  for (int64_t r = 0; r < rows; ++r) {
    const double* row_sums = sums + r * ld_sums;
    int16_t* row_out = out + r * ld_out;
    const ChannelStage& rc = c[r];
    if (!shortcut.applies || !StageIsFinite(rc)) {
      DequantizeQuantizeRowF64ToInt16Avx512(row_sums, n, rc, post_ops, none, 0, scale, 0, row_out, &shortcut);
      continue;
    }
    const __m512d ib = _mm512_set1_pd(static_cast<double>(rc.int_bias));
    const __m512 bias = _mm512_set1_ps(rc.bias), mult = _mm512_set1_ps(rc.multiplier);
    auto value = [&](int64_t at, __m512* y) MIXQ_AVX512_STAGE {
      *y = ValueF64x16(row_sums + at, ib, bias, mult);
      return true;
    };
    auto fallback = [&](int64_t at, int64_t count) MIXQ_AVX512_STAGE {
      DequantizeQuantizeRowF64ToInt16Avx512(row_sums + at, count, rc, post_ops, none, 0, scale, 0, row_out + at,
                                            &shortcut);
    };
    if (shortcut.affine)
      HardSwishQuantizeRow<true>(n, shortcut, post_ops, scale, value, fallback, row_out);
    else
      HardSwishQuantizeRow<false>(n, shortcut, post_ops, scale, value, fallback, row_out);
  }
}

#undef MIXQ_AVX512_STAGE

}  // namespace mixq::ops
