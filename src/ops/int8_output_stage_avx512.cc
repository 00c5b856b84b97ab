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

MIXQ_AVX512_STAGE void DequantizeQuantizeRowToInt8Avx512(const int32_t* acc, int64_t n, const ChannelStage& c,
                                                         const std::vector<StagePostOp>& post_ops,
                                                         const std::vector<FloatAddend>& addends, int64_t addend_offset,
                                                         float scale, int32_t zero_point, int8_t* out) {
  int64_t j = 0;
  if (StageIsFinite(c)) {
    const __m512i ib = _mm512_set1_epi32(c.int_bias);
    const __m512 bias = _mm512_set1_ps(c.bias), mult = _mm512_set1_ps(c.multiplier);
    const QuantizeConstants512 k = MakeQuantizeConstants512(scale, zero_point, -128, 127);
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
    DequantizeQuantizeRowToInt8Avx2(acc + j, n - j, c, post_ops, addends, addend_offset + j, scale, zero_point,
                                    out + j);
}

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

}  // namespace

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
                                                            int16_t* out) {
  const __m512i ib = _mm512_set1_epi64(c.int_bias);
  const __m512 bias = _mm512_set1_ps(c.bias), mult = _mm512_set1_ps(c.multiplier);
  const QuantizeConstants512 k = MakeQuantizeConstants512(scale, zero_point, -32768, 32767);
  ChainRow(
      n, StageIsFinite(c), post_ops, addends, addend_offset,
      [&](int64_t at, __m512* y) MIXQ_AVX512_STAGE { return Value64x16(acc + at, ib, bias, mult, y); },
      [&](int64_t at, const __m512* y) MIXQ_AVX512_STAGE {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + at), _mm512_cvtsepi32_epi16(QuantizeVector512(*y, k)));
      },
      [&](int64_t at, int64_t count) {
        DequantizeQuantizeRow64ToInt16Avx2(acc + at, count, c, post_ops, addends, addend_offset + at, scale, zero_point,
                                           out + at);
      });
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
                                                             int16_t* out) {
  const __m512d ib = _mm512_set1_pd(static_cast<double>(c.int_bias));
  const __m512 bias = _mm512_set1_ps(c.bias), mult = _mm512_set1_ps(c.multiplier);
  const QuantizeConstants512 k = MakeQuantizeConstants512(scale, zero_point, -32768, 32767);
  ChainRow(
      n, StageIsFinite(c), post_ops, addends, addend_offset,
      [&](int64_t at, __m512* y) MIXQ_AVX512_STAGE {
        *y = ValueF64x16(sums + at, ib, bias, mult);
        return true;
      },
      [&](int64_t at, const __m512* y) MIXQ_AVX512_STAGE {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + at), _mm512_cvtsepi32_epi16(QuantizeVector512(*y, k)));
      },
      [&](int64_t at, int64_t count) MIXQ_AVX512_STAGE {
        int64_t acc[16];
        for (int64_t e = at; e < at + count; e += 16) {
          const int64_t m = std::min<int64_t>(16, at + count - e);
          SumsToInt64(sums + e, m, acc);
          DequantizeQuantizeRow64ToInt16Avx2(acc, m, c, post_ops, addends, addend_offset + e, scale, zero_point,
                                             out + e);
        }
      });
}

#undef MIXQ_AVX512_STAGE

}  // namespace mixq::ops
