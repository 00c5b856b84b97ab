#include "ops/int8_output_stage.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "kernels/cpu_features.h"
#include "kernels/hard_swish.h"
#include "ops/clamp.h"
#include "ops/quantize_vector.h"
#include "quant/requantize.h"
#include "util/half.h"

namespace mixq::ops {

namespace {

// FMA for kernels/hard_swish.h only: this file is built with -ffp-contract=off
// (CMakeLists.txt), so no multiply-add of the stage itself is contracted.
#define MIXQ_AVX2_STAGE __attribute__((target("avx2,f16c,fma")))

float ScalarValue(int32_t acc, const ChannelStage& c) {
  return quant::AccumulatorValue(static_cast<int64_t>(acc) + c.int_bias, c.bias);
}

// The scalar form of each post-op, the comparisons of ApplyFloatActivation.
float ApplyScalarPostOps(float y, const std::vector<StagePostOp>& post_ops, const std::vector<FloatAddend>& addends,
                         int64_t e) {
  for (const StagePostOp& op : post_ops) {
    switch (op.kind) {
      case StagePostOp::Kind::kClip:
        y = ClampActivation(y, op.lo, op.hi);
        break;
      case StagePostOp::Kind::kLeaky:
        y = y < 0.0f ? op.lo * y : y;
        break;
      case StagePostOp::Kind::kAdd: {
        const FloatAddend& a = addends[static_cast<size_t>(op.addend)];
        y = y + (a.dtype == DataType::FLOAT16 ? HalfToFloat(static_cast<const uint16_t*>(a.data)[e])
                                              : static_cast<const float*>(a.data)[e]);
        break;
      }
      case StagePostOp::Kind::kHardSwish: {  // the Activation kernel's double arithmetic
        const double v = y, t = v / 6.0 + 0.5;
        y = static_cast<float>(v * (t < 0 ? 0.0 : t > 1 ? 1.0 : t));
        break;
      }
      case StagePostOp::Kind::kMul:
        y = y * op.lo;
        break;
      case StagePostOp::Kind::kAddScalar:
        y = y + op.lo;
        break;
    }
  }
  return y;
}

MIXQ_AVX2_STAGE __m256 VectorValue(const int32_t* acc, __m256i int_bias, __m256 bias) {
  const __m256i a = _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc)), int_bias);
  return _mm256_add_ps(_mm256_cvtepi32_ps(a), bias);
}

// One vector of 8 requantized values (int32, already clamped to [lo, hi])
// from 8 accumulators.
MIXQ_AVX2_STAGE __m256i RequantizeLoaded(__m256i acc, __m256i ib, __m256 bias, __m256 mult, __m256 zp, __m256 flo,
                                         __m256 fhi) {
  const __m256 value = _mm256_add_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc, ib)), bias);
  __m256 v = _mm256_add_ps(_mm256_mul_ps(value, mult), zp);
  v = _mm256_min_ps(_mm256_max_ps(v, flo), fhi);
  return _mm256_cvtps_epi32(v);  // round half to even (MXCSR default)
}
MIXQ_AVX2_STAGE __m256i RequantizeVector(const int32_t* acc, __m256i ib, __m256 bias, __m256 mult, __m256 zp,
                                         __m256 flo, __m256 fhi) {
  return RequantizeLoaded(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc)), ib, bias, mult, zp, flo, fhi);
}

// y after the post-ops, 8 lanes (the comparisons of ApplyScalarPostOps).
MIXQ_AVX2_STAGE inline __attribute__((always_inline)) __m256 VectorPostOps(__m256 y,
                                                                           const std::vector<StagePostOp>& post_ops,
                                                                           const std::vector<FloatAddend>& addends,
                                                                           int64_t e) {
  const __m256 zero = _mm256_setzero_ps();
  for (const StagePostOp& op : post_ops) {
    if (op.kind == StagePostOp::Kind::kAdd) {
      const FloatAddend& a = addends[static_cast<size_t>(op.addend)];
      const __m256 x = a.dtype == DataType::FLOAT16 ? _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(
                                                          static_cast<const uint16_t*>(a.data) + e)))
                                                    : _mm256_loadu_ps(static_cast<const float*>(a.data) + e);
      y = _mm256_add_ps(y, x);
    } else if (op.kind == StagePostOp::Kind::kLeaky) {
      y = _mm256_blendv_ps(y, _mm256_mul_ps(_mm256_set1_ps(op.lo), y), _mm256_cmp_ps(y, zero, _CMP_LT_OQ));
    } else if (op.kind == StagePostOp::Kind::kHardSwish) {
      y = kernels::HardSwishExact8(y);
    } else if (op.kind == StagePostOp::Kind::kMul) {
      y = _mm256_mul_ps(y, _mm256_set1_ps(op.lo));
    } else if (op.kind == StagePostOp::Kind::kAddScalar) {
      y = _mm256_add_ps(y, _mm256_set1_ps(op.lo));
    } else {  // maxps(y, lo) then minps: ClampActivation (ops/clamp.h), NaN -> lo
      y = _mm256_min_ps(_mm256_max_ps(y, _mm256_set1_ps(op.lo)), _mm256_set1_ps(op.hi));
    }
  }
  return y;
}

// VectorPostOps on 4 vectors of 8 consecutive elements (y[u] at element e +
// 8 u) at once: the same operations in the same order per lane, the four
// chains interleaved. A chain (hard_swish's double arithmetic, a Quantize's
// division) is long and serial, so one vector at a time the CPU waits on
// latency; four independent ones fill the pipelines.
MIXQ_AVX2_STAGE inline __attribute__((always_inline)) void VectorPostOps4(__m256 y[4],
                                                                          const std::vector<StagePostOp>& post_ops,
                                                                          const std::vector<FloatAddend>& addends,
                                                                          int64_t e) {
  const __m256 zero = _mm256_setzero_ps();
  for (const StagePostOp& op : post_ops) {
    if (op.kind == StagePostOp::Kind::kAdd) {
      const FloatAddend& a = addends[static_cast<size_t>(op.addend)];
      for (int u = 0; u < 4; ++u) {
        const __m256 x = a.dtype == DataType::FLOAT16
                             ? _mm256_cvtph_ps(_mm_loadu_si128(
                                   reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(a.data) + e + 8 * u)))
                             : _mm256_loadu_ps(static_cast<const float*>(a.data) + e + 8 * u);
        y[u] = _mm256_add_ps(y[u], x);
      }
    } else if (op.kind == StagePostOp::Kind::kLeaky) {
      const __m256 slope = _mm256_set1_ps(op.lo);
      for (int u = 0; u < 4; ++u)
        y[u] = _mm256_blendv_ps(y[u], _mm256_mul_ps(slope, y[u]), _mm256_cmp_ps(y[u], zero, _CMP_LT_OQ));
    } else if (op.kind == StagePostOp::Kind::kHardSwish) {
      for (int u = 0; u < 4; ++u) y[u] = kernels::HardSwishExact8(y[u]);
    } else if (op.kind == StagePostOp::Kind::kMul) {
      const __m256 k = _mm256_set1_ps(op.lo);
      for (int u = 0; u < 4; ++u) y[u] = _mm256_mul_ps(y[u], k);
    } else if (op.kind == StagePostOp::Kind::kAddScalar) {
      const __m256 k = _mm256_set1_ps(op.lo);
      for (int u = 0; u < 4; ++u) y[u] = _mm256_add_ps(y[u], k);
    } else {  // maxps(y, lo) then minps: ClampActivation (ops/clamp.h), NaN -> lo
      const __m256 lo = _mm256_set1_ps(op.lo), hi = _mm256_set1_ps(op.hi);
      for (int u = 0; u < 4; ++u) y[u] = _mm256_min_ps(_mm256_max_ps(y[u], lo), hi);
    }
  }
}

MIXQ_AVX2_STAGE void StoreFloat(__m256 y, DataType out_type, void* out, int64_t e) {
  if (out_type == DataType::FLOAT16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<uint16_t*>(out) + e),
                     _mm256_cvtps_ph(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  else
    _mm256_storeu_ps(static_cast<float*>(out) + e, y);
}

// (f32(acc + int_bias) + bias) for 8 columns with their own constants.
MIXQ_AVX2_STAGE __m256 ColumnValue(const int32_t* acc, const int32_t* int_bias, const float* bias) {
  __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc));
  if (int_bias) a = _mm256_add_epi32(a, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(int_bias)));
  return _mm256_add_ps(_mm256_cvtepi32_ps(a), _mm256_loadu_ps(bias));
}

// f32(x) of 4 int64 lanes, rounded once as static_cast<float> rounds: x is
// made a double exactly (the 1.5 * 2^52 bias trick: the integer sits in the
// mantissa while |x| < 2^51) and vcvtpd2ps rounds that to float32 (AVX2 has
// no int64 -> float conversion). False when a lane is out of that range.
MIXQ_AVX2_STAGE bool Int64ToFloatExact(__m256i x, __m128* out) {
  const __m256i limit = _mm256_set1_epi64x(int64_t{1} << 51), neg_limit = _mm256_set1_epi64x(-(int64_t{1} << 51));
  if (!_mm256_testz_si256(_mm256_or_si256(_mm256_cmpgt_epi64(x, limit), _mm256_cmpgt_epi64(neg_limit, x)),
                          _mm256_set1_epi64x(-1)))
    return false;
  const __m256d magic = _mm256_set1_pd(6755399441055744.0);  // 1.5 * 2^52
  const __m256d d = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_add_epi64(x, _mm256_castpd_si256(magic))), magic);
  *out = _mm256_cvtpd_ps(d);
  return true;
}

// (f32(acc + int_bias) + bias) for `count` (<= 8) int64 accumulators; lanes
// past count hold bias.
MIXQ_AVX2_STAGE __m256 Value64(const int64_t* acc, int64_t count, int32_t int_bias, __m256 bias) {
  if (count == 8) {
    const __m256i ib = _mm256_set1_epi64x(int_bias);
    __m128 lo, hi;
    if (Int64ToFloatExact(_mm256_add_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc)), ib), &lo) &&
        Int64ToFloatExact(_mm256_add_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + 4)), ib), &hi))
      return _mm256_add_ps(_mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1), bias);
  }
  alignas(32) float v[8] = {};
  for (int64_t i = 0; i < count; ++i) v[i] = static_cast<float>(acc[i] + int_bias);
  return _mm256_add_ps(_mm256_load_ps(v), bias);
}

}  // namespace

void RequantizeRow64ToInt16(const int64_t* acc, int64_t n, const ChannelStage& c, int32_t zero_point, int32_t lo,
                            int32_t hi, int16_t* out) {
  static const bool avx512 = kernels::BestIsa() >= kernels::Isa::kAvx512;
  if (avx512)
    RequantizeRow64ToInt16Avx512(acc, n, c, zero_point, lo, hi, out);
  else
    RequantizeRow64ToInt16Avx2(acc, n, c, zero_point, lo, hi, out);
}

// 16 lanes: int64 -> double exactly (the 1.5 * 2^52 trick while |x| <
// 2^51), vcvtpd2ps, then addps, mulps, addps, max / min, cvtps2dq and the
// saturating narrow (exact: the values are clamped already), as the AVX2
// form; a block with a lane past 2^51, and the last n % 16 elements, go
// through the AVX2 form.
#if defined(__GNUC__) && !defined(__clang__)  // GCC bug 105593, as for Requantize16 below
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f,avx512bw,avx512vl"))) void RequantizeRow64ToInt16Avx512(const int64_t* acc, int64_t n,
                                                                                       const ChannelStage& c,
                                                                                       int32_t zero_point, int32_t lo,
                                                                                       int32_t hi, int16_t* out) {
  if (!StageIsFinite(c)) return RequantizeRow64ToInt16Avx2(acc, n, c, zero_point, lo, hi, out);
  const __m512i ib = _mm512_set1_epi64(c.int_bias);
  const __m512i limit = _mm512_set1_epi64(int64_t{1} << 51), neg_limit = _mm512_set1_epi64(-(int64_t{1} << 51));
  const __m512d magic = _mm512_set1_pd(6755399441055744.0);  // 1.5 * 2^52
  const __m512 bias = _mm512_set1_ps(c.bias), mult = _mm512_set1_ps(c.multiplier);
  const __m512 zp = _mm512_set1_ps(static_cast<float>(zero_point));
  const __m512 flo = _mm512_set1_ps(static_cast<float>(lo)), fhi = _mm512_set1_ps(static_cast<float>(hi));
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512i a0 = _mm512_add_epi64(_mm512_loadu_si512(acc + j), ib);
    const __m512i a1 = _mm512_add_epi64(_mm512_loadu_si512(acc + j + 8), ib);
    const __mmask8 wide = _mm512_cmpgt_epi64_mask(a0, limit) | _mm512_cmpgt_epi64_mask(neg_limit, a0) |
                          _mm512_cmpgt_epi64_mask(a1, limit) | _mm512_cmpgt_epi64_mask(neg_limit, a1);
    if (wide) {
      RequantizeRow64ToInt16Avx2(acc + j, 16, c, zero_point, lo, hi, out + j);
      continue;
    }
    const __m256 f0 =
        _mm512_cvtpd_ps(_mm512_sub_pd(_mm512_castsi512_pd(_mm512_add_epi64(a0, _mm512_castpd_si512(magic))), magic));
    const __m256 f1 =
        _mm512_cvtpd_ps(_mm512_sub_pd(_mm512_castsi512_pd(_mm512_add_epi64(a1, _mm512_castpd_si512(magic))), magic));
    const __m512 value = _mm512_add_ps(
        _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(f0)), _mm256_castps_pd(f1), 1)),
        bias);
    const __m512 v = _mm512_add_ps(_mm512_mul_ps(value, mult), zp);
    const __m512i q = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, flo), fhi));  // half to even
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j), _mm512_cvtsepi32_epi16(q));
  }
  if (j < n) RequantizeRow64ToInt16Avx2(acc + j, n - j, c, zero_point, lo, hi, out + j);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

MIXQ_AVX2_STAGE void RequantizeRow64ToInt16Avx2(const int64_t* acc, int64_t n, const ChannelStage& c,
                                                int32_t zero_point, int32_t lo, int32_t hi, int16_t* out) {
  if (!StageIsFinite(c)) {
    for (int64_t j = 0; j < n; ++j)
      out[j] = static_cast<int16_t>(
          std::clamp(quant::RequantizeOutput(acc[j] + c.int_bias, c.bias, c.multiplier, zero_point, 16), lo, hi));
    return;
  }
  const __m256 bias = _mm256_set1_ps(c.bias), mult = _mm256_set1_ps(c.multiplier);
  const __m256 zp = _mm256_set1_ps(static_cast<float>(zero_point));
  const __m256 flo = _mm256_set1_ps(static_cast<float>(lo)), fhi = _mm256_set1_ps(static_cast<float>(hi));
  for (int64_t j = 0; j < n; j += 8) {
    const int64_t count = std::min<int64_t>(8, n - j);
    __m256 v = _mm256_add_ps(_mm256_mul_ps(Value64(acc + j, count, c.int_bias, bias), mult), zp);
    const __m256i q = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, flo), fhi));  // half to even
    // packs works per 128-bit lane: [q0..3 q0..3 | q4..7 q4..7] -> q0..7 low.
    const __m128i words = _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packs_epi32(q, q), 0x08));
    if (count == 8) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j), words);
    } else {
      alignas(16) int16_t part[8];
      _mm_store_si128(reinterpret_cast<__m128i*>(part), words);
      std::memcpy(out + j, part, static_cast<size_t>(count) * sizeof(int16_t));
    }
  }
}

MIXQ_AVX2_STAGE void DequantizeRow64Avx2(const int64_t* acc, int64_t n, const ChannelStage& c,
                                         const std::vector<StagePostOp>& post_ops,
                                         const std::vector<FloatAddend>& addends, int64_t addend_offset,
                                         DataType out_type, void* out, int64_t out_offset) {
  int64_t j = 0;
  if (StageIsFinite(c)) {
    const __m256 bias = _mm256_set1_ps(c.bias), scale = _mm256_set1_ps(c.multiplier);
    for (; j + 8 <= n; j += 8) {
      const __m256 y = _mm256_mul_ps(Value64(acc + j, 8, c.int_bias, bias), scale);
      StoreFloat(VectorPostOps(y, post_ops, addends, addend_offset + j), out_type, out, out_offset + j);
    }
  }
  for (; j < n; ++j) {
    const float v = quant::AccumulatorValue(acc[j] + c.int_bias, c.bias);
    const float y = ApplyScalarPostOps(v * c.multiplier, post_ops, addends, addend_offset + j);
    if (out_type == DataType::FLOAT16)
      static_cast<uint16_t*>(out)[out_offset + j] = FloatToHalf(y);
    else
      static_cast<float*>(out)[out_offset + j] = y;
  }
}

MIXQ_AVX2_STAGE void DequantizeQuantizeRow64ToInt16Avx2(const int64_t* acc, int64_t n, const ChannelStage& c,
                                                        const std::vector<StagePostOp>& post_ops,
                                                        const std::vector<FloatAddend>& addends, int64_t addend_offset,
                                                        float scale, int32_t zero_point, int16_t* out) {
  int64_t j = 0;
  if (StageIsFinite(c)) {
    const __m256 bias = _mm256_set1_ps(c.bias), mult = _mm256_set1_ps(c.multiplier);
    const QuantizeConstants k = MakeQuantizeConstants(scale, zero_point, -32768, 32767);
    for (; j + 32 <= n; j += 32) {
      __m256 y[4];
      for (int u = 0; u < 4; ++u) y[u] = _mm256_mul_ps(Value64(acc + j + 8 * u, 8, c.int_bias, bias), mult);
      VectorPostOps4(y, post_ops, addends, addend_offset + j);
      for (int u = 0; u < 2; ++u) {  // packs per 128-bit lane: [a0-3 b0-3 | a4-7 b4-7] -> a0-7 b0-7
        const __m256i words =
            _mm256_packs_epi32(QuantizeVector(y[2 * u], k), QuantizeVector(y[2 * u + 1], k));  // as the Quantize step
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j + 16 * u), _mm256_permute4x64_epi64(words, 0xD8));
      }
    }
    for (; j + 8 <= n; j += 8) {
      const __m256 y = VectorPostOps(_mm256_mul_ps(Value64(acc + j, 8, c.int_bias, bias), mult), post_ops, addends,
                                     addend_offset + j);
      const __m256i q = QuantizeVector(y, k);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j),
                       _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packs_epi32(q, q), 0x08)));
    }
  }
  for (; j < n; ++j) {
    const float v = quant::AccumulatorValue(acc[j] + c.int_bias, c.bias);
    const float y = ApplyScalarPostOps(v * c.multiplier, post_ops, addends, addend_offset + j);
    out[j] = static_cast<int16_t>(quant::Quantize(y, scale, zero_point, 16));
  }
}

MIXQ_AVX2_STAGE void RequantizeColumnsToInt8(const int32_t* acc, int64_t n, const int32_t* int_bias, const float* bias,
                                             const float* multiplier, bool finite, int32_t zero_point, int32_t lo,
                                             int32_t hi, int8_t* out) {
  int64_t j = 0;
  if (finite) {
    const __m256 zp = _mm256_set1_ps(static_cast<float>(zero_point));
    const __m256 flo = _mm256_set1_ps(static_cast<float>(lo)), fhi = _mm256_set1_ps(static_cast<float>(hi));
    for (; j + 8 <= n; j += 8) {
      __m256 v = _mm256_add_ps(_mm256_mul_ps(ColumnValue(acc + j, int_bias ? int_bias + j : nullptr, bias + j),
                                             _mm256_loadu_ps(multiplier + j)),
                               zp);
      const __m256i q = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, flo), fhi));
      const __m256i words = _mm256_packs_epi32(q, q);
      const __m256i bytes = _mm256_packs_epi16(words, words);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(out + j),
                       _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1)));
    }
  }
  for (; j < n; ++j)
    out[j] = static_cast<int8_t>(
        std::clamp(quant::RequantizeOutput(static_cast<int64_t>(acc[j]) + (int_bias ? int_bias[j] : 0), bias[j],
                                           multiplier[j], zero_point, 8),
                   lo, hi));
}

MIXQ_AVX2_STAGE void DequantizeColumns(const int32_t* acc, int64_t n, const int32_t* int_bias, const float* bias,
                                       const float* multiplier, bool finite, const std::vector<StagePostOp>& post_ops,
                                       const std::vector<FloatAddend>& addends, int64_t addend_offset,
                                       DataType out_type, void* out, int64_t out_offset, const float* column_add) {
  int64_t j = 0;
  if (finite)
    for (; j + 8 <= n; j += 8) {
      __m256 y = _mm256_mul_ps(ColumnValue(acc + j, int_bias ? int_bias + j : nullptr, bias + j),
                               _mm256_loadu_ps(multiplier + j));
      if (column_add) y = _mm256_add_ps(y, _mm256_loadu_ps(column_add + j));
      StoreFloat(VectorPostOps(y, post_ops, addends, addend_offset + j), out_type, out, out_offset + j);
    }
  for (; j < n; ++j) {
    const float v = quant::AccumulatorValue(static_cast<int64_t>(acc[j]) + (int_bias ? int_bias[j] : 0), bias[j]);
    float u = v * multiplier[j];
    if (column_add) u = u + column_add[j];
    const float y = ApplyScalarPostOps(u, post_ops, addends, addend_offset + j);
    if (out_type == DataType::FLOAT16)
      static_cast<uint16_t*>(out)[out_offset + j] = FloatToHalf(y);
    else
      static_cast<float*>(out)[out_offset + j] = y;
  }
}

MIXQ_AVX2_STAGE void RequantizeColumns64ToInt16(const int64_t* acc, int64_t n, const float* bias,
                                                const float* multiplier, bool finite, int32_t zero_point, int32_t lo,
                                                int32_t hi, int16_t* out) {
  int64_t j = 0;
  if (finite) {
    const __m256 zp = _mm256_set1_ps(static_cast<float>(zero_point));
    const __m256 flo = _mm256_set1_ps(static_cast<float>(lo)), fhi = _mm256_set1_ps(static_cast<float>(hi));
    for (; j + 8 <= n; j += 8) {
      const __m256 v = _mm256_add_ps(
          _mm256_mul_ps(Value64(acc + j, 8, 0, _mm256_loadu_ps(bias + j)), _mm256_loadu_ps(multiplier + j)), zp);
      const __m256i q = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, flo), fhi));  // half to even
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j),
                       _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packs_epi32(q, q), 0x08)));
    }
  }
  for (; j < n; ++j)
    out[j] = static_cast<int16_t>(
        std::clamp(quant::RequantizeOutput(acc[j], bias[j], multiplier[j], zero_point, 16), lo, hi));
}

MIXQ_AVX2_STAGE void DequantizeColumns64(const int64_t* acc, int64_t n, const float* bias, const float* multiplier,
                                         bool finite, DataType out_type, void* out, int64_t out_offset) {
  int64_t j = 0;
  if (finite)
    for (; j + 8 <= n; j += 8)
      StoreFloat(_mm256_mul_ps(Value64(acc + j, 8, 0, _mm256_loadu_ps(bias + j)), _mm256_loadu_ps(multiplier + j)),
                 out_type, out, out_offset + j);
  for (; j < n; ++j) {
    const float y = quant::AccumulatorValue(acc[j], bias[j]) * multiplier[j];
    if (out_type == DataType::FLOAT16)
      static_cast<uint16_t*>(out)[out_offset + j] = FloatToHalf(y);
    else
      static_cast<float*>(out)[out_offset + j] = y;
  }
}

float LoadReal(DataType type, const void* data, int64_t e) {
  if (type == DataType::FLOAT16) return HalfToFloat(static_cast<const uint16_t*>(data)[e]);
  if (type == DataType::BFLOAT16) return BFloat16ToFloat(static_cast<const uint16_t*>(data)[e]);
  return static_cast<const float*>(data)[e];
}

int64_t MaxAbsIntBias(const KernelInit& init, int bias_input) {
  if (bias_input < 0 || static_cast<size_t>(bias_input) >= init.inputs.size() ||
      !init.inputs[static_cast<size_t>(bias_input)] ||
      init.ComputeOf(static_cast<size_t>(bias_input)) != DataType::INT32)
    return 0;
  const ValueInfo& b = *init.inputs[static_cast<size_t>(bias_input)];
  if (!b.const_data || b.dtype != DataType::INT32) return -1;
  int64_t most = 0;
  const auto* q = static_cast<const int32_t*>(b.const_data);
  for (int64_t i = 0; i < ir::ElementCount(b.shape); ++i) most = std::max<int64_t>(most, std::llabs(q[i]));
  return most;
}

std::vector<StagePostOp> DecodePostOps(const std::vector<PostOp>& post_ops) {
  std::vector<StagePostOp> decoded;
  int addends = 0;
  for (const PostOp& op : post_ops) {
    StagePostOp d;
    if (op.kind == PostOp::Kind::kQuantize) continue;  // the caller's choice of row function
    if (op.kind == PostOp::Kind::kAdd) {
      d.kind = StagePostOp::Kind::kAdd;
      d.addend = addends++;
    } else if (op.kind == PostOp::Kind::kScalar) {
      d.kind = op.activation == "mul" ? StagePostOp::Kind::kMul : StagePostOp::Kind::kAddScalar;
      d.lo = op.lo;
    } else if (op.activation == "hard_swish") {
      d.kind = StagePostOp::Kind::kHardSwish;
    } else if (op.activation == "leaky_relu") {
      d.kind = StagePostOp::Kind::kLeaky;
      d.lo = op.lo;
    } else if (op.activation == "relu") {  // the clamp to [0, inf)
      d.lo = 0.0f;
      d.hi = INFINITY;
    } else {
      d.lo = op.lo;
      d.hi = op.hi;
    }
    decoded.push_back(d);
  }
  return decoded;
}

void RequantizeRowToInt8(const int32_t* acc, int64_t n, const ChannelStage& c, int32_t zero_point, int32_t lo,
                         int32_t hi, int8_t* out) {
  static const bool avx512 = kernels::BestIsa() >= kernels::Isa::kAvx512;
  if (avx512)
    RequantizeRowToInt8Avx512(acc, n, c, zero_point, lo, hi, out);
  else
    RequantizeRowToInt8Avx2(acc, n, c, zero_point, lo, hi, out);
}

// 16 lanes: cvtdq2ps, addps, mulps, addps, maxps / minps, cvtps2dq (round
// half to even), as RequantizeLoaded; whole rows, the tail masked. (GCC 12
// warns inside its own AVX-512 headers, GCC bug 105593: their unmasked
// forms pass an "undefined" vector as the unused merge source.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m128i Requantize16(__m512i a, __m512i ib, __m512 bias,
                                                                                 __m512 mult, __m512 zp, __m512 flo,
                                                                                 __m512 fhi) {
  const __m512 value = _mm512_add_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(a, ib)), bias);
  __m512 v = _mm512_add_ps(_mm512_mul_ps(value, mult), zp);
  v = _mm512_min_ps(_mm512_max_ps(v, flo), fhi);
  return _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v));  // in [lo, hi]: the narrowing is exact
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void RequantizeRowToInt8Avx512(const int32_t* acc, int64_t n,
                                                                                    const ChannelStage& c,
                                                                                    int32_t zero_point, int32_t lo,
                                                                                    int32_t hi, int8_t* out) {
  if (!StageIsFinite(c)) return RequantizeRowToInt8Avx2(acc, n, c, zero_point, lo, hi, out);
  const __m512i ib = _mm512_set1_epi32(c.int_bias);
  const __m512 bias = _mm512_set1_ps(c.bias), mult = _mm512_set1_ps(c.multiplier);
  const __m512 zp = _mm512_set1_ps(static_cast<float>(zero_point));
  const __m512 flo = _mm512_set1_ps(static_cast<float>(lo)), fhi = _mm512_set1_ps(static_cast<float>(hi));

  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j),
                     Requantize16(_mm512_loadu_si512(acc + j), ib, bias, mult, zp, flo, fhi));
  if (j < n) {
    const auto mask = static_cast<__mmask16>((1u << (n - j)) - 1);
    _mm_mask_storeu_epi8(out + j, mask,
                         Requantize16(_mm512_maskz_loadu_epi32(mask, acc + j), ib, bias, mult, zp, flo, fhi));
  }
}

void DequantizeRow64(const int64_t* acc, int64_t n, const ChannelStage& c, const std::vector<StagePostOp>& post_ops,
                     const std::vector<FloatAddend>& addends, int64_t addend_offset, DataType out_type, void* out,
                     int64_t out_offset) {
  static const bool avx512 = kernels::BestIsa() >= kernels::Isa::kAvx512;
  if (avx512)
    DequantizeRow64Avx512(acc, n, c, post_ops, addends, addend_offset, out_type, out, out_offset);
  else
    DequantizeRow64Avx2(acc, n, c, post_ops, addends, addend_offset, out_type, out, out_offset);
}

void DequantizeQuantizeRow64ToInt16(const int64_t* acc, int64_t n, const ChannelStage& c,
                                    const std::vector<StagePostOp>& post_ops, const std::vector<FloatAddend>& addends,
                                    int64_t addend_offset, float scale, int32_t zero_point, int16_t* out,
                                    const HardSwishShortcut* shortcut) {
  static const bool avx512 = kernels::BestIsa() >= kernels::Isa::kAvx512;
  if (avx512)
    DequantizeQuantizeRow64ToInt16Avx512(acc, n, c, post_ops, addends, addend_offset, scale, zero_point, out, shortcut);
  else
    DequantizeQuantizeRow64ToInt16Avx2(acc, n, c, post_ops, addends, addend_offset, scale, zero_point, out);
}

void DequantizeQuantizeRowToInt8(const int32_t* acc, int64_t n, const ChannelStage& c,
                                 const std::vector<StagePostOp>& post_ops, const std::vector<FloatAddend>& addends,
                                 int64_t addend_offset, float scale, int32_t zero_point, int8_t* out,
                                 const HardSwishShortcut* shortcut) {
  static const bool avx512 = kernels::BestIsa() >= kernels::Isa::kAvx512;
  if (avx512)
    DequantizeQuantizeRowToInt8Avx512(acc, n, c, post_ops, addends, addend_offset, scale, zero_point, out, shortcut);
  else
    DequantizeQuantizeRowToInt8Avx2(acc, n, c, post_ops, addends, addend_offset, scale, zero_point, out, shortcut);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

MIXQ_AVX2_STAGE void RequantizeRowToInt8Avx2(const int32_t* acc, int64_t n, const ChannelStage& c, int32_t zero_point,
                                             int32_t lo, int32_t hi, int8_t* out) {
  int64_t j = 0;
  if (StageIsFinite(c)) {
    const __m256i ib = _mm256_set1_epi32(c.int_bias);
    const __m256 bias = _mm256_set1_ps(c.bias), mult = _mm256_set1_ps(c.multiplier);
    const __m256 zp = _mm256_set1_ps(static_cast<float>(zero_point));
    const __m256 flo = _mm256_set1_ps(static_cast<float>(lo)), fhi = _mm256_set1_ps(static_cast<float>(hi));
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (; j + 32 <= n; j += 32) {
      const __m256i q01 = _mm256_packs_epi32(RequantizeVector(acc + j, ib, bias, mult, zp, flo, fhi),
                                             RequantizeVector(acc + j + 8, ib, bias, mult, zp, flo, fhi));
      const __m256i q23 = _mm256_packs_epi32(RequantizeVector(acc + j + 16, ib, bias, mult, zp, flo, fhi),
                                             RequantizeVector(acc + j + 24, ib, bias, mult, zp, flo, fhi));
      const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(q01, q23), order);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j), bytes);
    }
    // Eight at a time, the last group through a masked load: rows are often
    // short (one output row of a block), so no scalar tail. (Not a copy
    // through the stack: a wide load of narrow stores stalls on store
    // forwarding.)
    for (; j < n; j += 8) {
      const int64_t count = std::min<int64_t>(8, n - j);
      const __m256i lanes =
          _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      const __m256i q = RequantizeLoaded(_mm256_maskload_epi32(acc + j, lanes), ib, bias, mult, zp, flo, fhi);
      const __m256i words = _mm256_packs_epi32(q, q);  // per lane: q0..3 q0..3 | q4..7 q4..7
      const __m256i bytes = _mm256_packs_epi16(words, words);
      const __m128i eight =
          _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1));  // q0..7
      if (count == 8) {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out + j), eight);
      } else {
        const auto bits = static_cast<uint64_t>(_mm_cvtsi128_si64(eight));
        for (int64_t k = 0; k < count; ++k) out[j + k] = static_cast<int8_t>(bits >> (8 * k));
      }
    }
  }
  for (; j < n; ++j)
    out[j] = static_cast<int8_t>(std::clamp(
        quant::RequantizeOutput(static_cast<int64_t>(acc[j]) + c.int_bias, c.bias, c.multiplier, zero_point, 8), lo,
        hi));
}

MIXQ_AVX2_STAGE void DequantizeRow(const int32_t* acc, int64_t n, const ChannelStage& c,
                                   const std::vector<StagePostOp>& post_ops, const std::vector<FloatAddend>& addends,
                                   int64_t addend_offset, DataType out_type, void* out, int64_t out_offset) {
  int64_t j = 0;
  if (StageIsFinite(c)) {
    const __m256i ib = _mm256_set1_epi32(c.int_bias);
    const __m256 bias = _mm256_set1_ps(c.bias), scale = _mm256_set1_ps(c.multiplier);
    for (; j + 32 <= n; j += 32) {
      __m256 y[4];
      for (int u = 0; u < 4; ++u) y[u] = _mm256_mul_ps(VectorValue(acc + j + 8 * u, ib, bias), scale);
      VectorPostOps4(y, post_ops, addends, addend_offset + j);
      for (int u = 0; u < 4; ++u) StoreFloat(y[u], out_type, out, out_offset + j + 8 * u);
    }
    for (; j + 8 <= n; j += 8) {
      const __m256 y = _mm256_mul_ps(VectorValue(acc + j, ib, bias), scale);
      StoreFloat(VectorPostOps(y, post_ops, addends, addend_offset + j), out_type, out, out_offset + j);
    }
  }
  for (; j < n; ++j) {
    const float y = ApplyScalarPostOps(ScalarValue(acc[j], c) * c.multiplier, post_ops, addends, addend_offset + j);
    if (out_type == DataType::FLOAT16)
      static_cast<uint16_t*>(out)[out_offset + j] = FloatToHalf(y);
    else
      static_cast<float*>(out)[out_offset + j] = y;
  }
}

// HardSwishQuantizeInt8x16 (int8_output_stage_avx512.cc, which says why it
// is exact) on 8 lanes: the same float32 operations lane by lane; the 8
// codes as int32 in *q, or false where the exact steps must run.
template <bool kAffine>
MIXQ_AVX2_STAGE inline bool HardSwishQuantizeInt8x8(__m256 v, __m256 k6, __m256 b, __m256 inverse,
                                                    const QuantizeConstants& k, __m256i* q) {
  const __m256 magic = _mm256_set1_ps(12582912.0f), sign = _mm256_set1_ps(-0.0f);  // 1.5 * 2^23
  const __m256 clamped =
      _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, _mm256_set1_ps(3.0f)), _mm256_setzero_ps()), _mm256_set1_ps(6.0f));
  const __m256 h = _mm256_mul_ps(v, clamped);
  __m256 m, terms;
  if constexpr (kAffine) {
    const __m256 t = _mm256_mul_ps(h, k6);
    m = _mm256_mul_ps(_mm256_add_ps(t, b), inverse);
    terms = _mm256_add_ps(_mm256_andnot_ps(sign, _mm256_mul_ps(t, inverse)), _mm256_andnot_ps(sign, m));
  } else {
    m = _mm256_mul_ps(h, k6);
    terms = _mm256_andnot_ps(sign, m);
  }
  const __m256 mc = _mm256_min_ps(_mm256_set1_ps(1024.0f), _mm256_max_ps(_mm256_set1_ps(-1024.0f), m));
  const __m256 r = _mm256_sub_ps(_mm256_add_ps(mc, magic), magic);  // rint(mc), half to even
  const __m256 off = _mm256_andnot_ps(sign, _mm256_sub_ps(mc, r));
  const __m256 test = _mm256_fmadd_ps(terms, _mm256_set1_ps(0x1p-21f), off);
  const __m256 near = _mm256_cmp_ps(test, _mm256_set1_ps(0.5f - 0x1p-20f), _CMP_NLT_UQ);
  if (!_mm256_testz_ps(near, near)) return false;
  *q = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_add_ps(r, k.zero_point), k.lo), k.hi));
  return true;
}

MIXQ_AVX2_STAGE void DequantizeQuantizeRowToInt8Avx2(const int32_t* acc, int64_t n, const ChannelStage& c,
                                                     const std::vector<StagePostOp>& post_ops,
                                                     const std::vector<FloatAddend>& addends, int64_t addend_offset,
                                                     float scale, int32_t zero_point, int8_t* out,
                                                     const HardSwishShortcut* shortcut) {
  int64_t j = 0;
  if (StageIsFinite(c)) {
    const __m256i ib = _mm256_set1_epi32(c.int_bias);
    const __m256 bias = _mm256_set1_ps(c.bias), mult = _mm256_set1_ps(c.multiplier);
    const QuantizeConstants k = MakeQuantizeConstants(scale, zero_point, -128, 127);
    const HardSwishShortcut hk = shortcut
                                     ? *shortcut
                                     : (!post_ops.empty() && post_ops[0].kind == StagePostOp::Kind::kHardSwish && n >= 8
                                            ? HardSwishInt8ShortcutFor(post_ops, scale)
                                            : HardSwishShortcut{});
    if (hk.applies) {  // the hard_swish chain's shortcut, 8 at a time; the exact steps for a vector it declines
      const __m256 kv = _mm256_set1_ps(hk.k), bv = _mm256_set1_ps(hk.b), inverse = _mm256_set1_ps(hk.inverse);
      for (; j + 8 <= n; j += 8) {
        const __m256 v = _mm256_mul_ps(VectorValue(acc + j, ib, bias), mult);
        __m256i q;
        const bool fast = hk.affine ? HardSwishQuantizeInt8x8<true>(v, kv, bv, inverse, k, &q)
                                    : HardSwishQuantizeInt8x8<false>(v, kv, bv, inverse, k, &q);
        if (!fast) q = QuantizeVector(VectorPostOps(v, post_ops, addends, addend_offset + j), k);
        const __m256i words = _mm256_packs_epi32(q, q);
        const __m256i bytes = _mm256_packs_epi16(words, words);
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out + j),
                         _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1)));
      }
    }
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (; j + 32 <= n; j += 32) {
      __m256 y[4];
      for (int u = 0; u < 4; ++u) y[u] = _mm256_mul_ps(VectorValue(acc + j + 8 * u, ib, bias), mult);
      VectorPostOps4(y, post_ops, addends, addend_offset + j);
      const __m256i q01 = _mm256_packs_epi32(QuantizeVector(y[0], k), QuantizeVector(y[1], k));
      const __m256i q23 = _mm256_packs_epi32(QuantizeVector(y[2], k), QuantizeVector(y[3], k));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j),
                          _mm256_permutevar8x32_epi32(_mm256_packs_epi16(q01, q23), order));
    }
    for (; j + 8 <= n; j += 8) {
      const __m256 y =
          VectorPostOps(_mm256_mul_ps(VectorValue(acc + j, ib, bias), mult), post_ops, addends, addend_offset + j);
      const __m256i q = QuantizeVector(y, k);  // as the Quantize step (ops/convert/cpu_avx2.cc)
      const __m256i words = _mm256_packs_epi32(q, q);
      const __m256i bytes = _mm256_packs_epi16(words, words);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(out + j),
                       _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1)));
    }
  }
  for (; j < n; ++j) {
    const float y = ApplyScalarPostOps(ScalarValue(acc[j], c) * c.multiplier, post_ops, addends, addend_offset + j);
    out[j] = static_cast<int8_t>(quant::Quantize(y, scale, zero_point, 8));
  }
}

}  // namespace mixq::ops
