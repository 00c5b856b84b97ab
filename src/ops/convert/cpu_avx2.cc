// AVX2 + F16C kernels of Convert: float32 <-> float16 / bfloat16 casts and static
// per-tensor quantize / dequantize of int8 and int16, bit-exact with the
// reference (src/ops/convert/op.cc, SPEC §1): the same float32 division,
// round half to even, NaN -> zero point, +-inf saturating; float16 rounding
// to nearest even with NaN quieted. Compiled for AVX2 with function target
// attributes so the binary runs on any x86-64; registered for Isa::kAvx2.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cfloat>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/half_io.h"
#include "kernels/parallel.h"
#include "ops/convert/quantize_int16_avx512.h"
#include "ops/kernel_registry.h"
#include "ops/op_util.h"
#include "ops/quantize_vector.h"
#include "quant/quant_math.h"
#include "util/half.h"

namespace mixq::ops {

namespace {

#define MIXQ_AVX2 __attribute__((target("avx2,fma,f16c")))

// 8 codes (int32, already clamped to T's range) narrowed to T and stored.
MIXQ_AVX2 inline void Store8(__m256i q, int8_t* y) {
  const __m256i words = _mm256_packs_epi32(q, q);  // per lane: q0-3 q0-3 | q4-7 q4-7
  const __m256i bytes = _mm256_packs_epi16(words, words);
  _mm_storel_epi64(reinterpret_cast<__m128i*>(y), _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(
                                                      bytes, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0))));
}
MIXQ_AVX2 inline void Store8(__m256i q, int16_t* y) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(y),
                   _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packs_epi32(q, q), 0x08)));
}

// 32 codes as T: [q0 q1 q2 q3] packed and put back in order in registers
// (packs work per 128-bit lane).
MIXQ_AVX2 inline void Store32(const __m256i q[4], int8_t* y) {
  const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(y),
                      _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}
MIXQ_AVX2 inline void Store32(const __m256i q[4], int16_t* y) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xD8));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + 16),
                      _mm256_permute4x64_epi64(_mm256_packs_epi32(q[2], q[3]), 0xD8));
}

// SPEC §1's Quantize (ops/quantize_vector.h), 32 then 8 at a time, narrowed
// in registers (codes are clamped to T's range, so the saturating packs do
// not change them); the tail scalar.
template <typename T>
MIXQ_AVX2 void QuantizeAvx2(const float* x, T* y, int64_t n, float scale, int32_t zero_point, int bits) {
  static const bool avx512 = kernels::BestIsa() >= kernels::Isa::kAvx512;
  if (avx512) {
    if constexpr (sizeof(T) == 2)
      if (zero_point == 0 && bits == 16) return QuantizeToSymmetricInt16Avx512(x, y, n, scale);
    if (bits == static_cast<int>(8 * sizeof(T))) return QuantizeToCodesAvx512(x, y, n, scale, zero_point);
  }
  const QuantizeConstants k = MakeQuantizeConstants(scale, zero_point, quant::QMin(bits), quant::QMax(bits));
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i q[4];
    for (int u = 0; u < 4; ++u) q[u] = QuantizeVector(_mm256_loadu_ps(x + i + 8 * u), k);
    Store32(q, y + i);
  }
  for (; i + 8 <= n; i += 8) Store8(QuantizeVector(_mm256_loadu_ps(x + i), k), y + i);
  if (i < n) {
    // The last n % 8 through one masked vector (lanes past n read as 0):
    // the scalar Quantize cost 40-50 cycles a value (libm's rint and the
    // division per value).
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i)), lanes);
    T codes[8];
    Store8(QuantizeVector(_mm256_maskload_ps(x + i, mask), k), codes);
    std::memcpy(y + i, codes, static_cast<size_t>(n - i) * sizeof(T));
  }
}

// 8 codes of T widened to int32.
MIXQ_AVX2 inline __m256i Load8(const int8_t* q) {
  return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q)));
}
MIXQ_AVX2 inline __m256i Load8(const int16_t* q) {
  return _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
}

// x = s * (q - z) in float32 (exact product, as the reference), saturated to
// +-FLT_MAX like quant::Dequantize.
template <typename T>
MIXQ_AVX2 void DequantizeAvx2(const T* q, float* y, int64_t n, float scale, int32_t zero_point) {
  const __m256 s = _mm256_set1_ps(scale), max = _mm256_set1_ps(FLT_MAX), min = _mm256_set1_ps(-FLT_MAX);
  const __m256i z = _mm256_set1_epi32(zero_point);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i c = _mm256_sub_epi32(Load8(q + i), z);
    const __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(c), s);
    _mm256_storeu_ps(y + i, _mm256_min_ps(_mm256_max_ps(v, min), max));
  }
  for (; i < n; ++i) y[i] = quant::Dequantize(q[i], scale, zero_point);
}

enum class Kind {
  kToHalf,
  kFromHalf,
  kToBFloat16,  // bfloat16 storage (force_bfloat16, BFLOAT16 outputs)
  kFromBFloat16,
  kQuantize8,
  kQuantize16,
  kDequantize8,
  kDequantize16,
  kDynamic8,
  kDynamic16,
  kHalfDynamic8,  // float16 / bfloat16 storage in (the _float16 modes), dynamic: widened, then as kDynamic
  kHalfDynamic16,
  kHalfQuantize8,  // float16 storage in (the _float16 modes), int out: widened exactly, then quantized
  kHalfQuantize16,
  kDequantize8Half,  // int in, float16 out: dequantized in float32, then rounded to float16
  kDequantize16Half,
};

// In chunks through a float32 buffer on the stack: float16 -> float32 is
// exact, float32 -> float16 the F16C rounding the reference's FloatToHalf
// computes (half_storage_test), so each is the reference's Load / Store.
constexpr int64_t kChunk = 1024;

template <typename T>
void HalfQuantize(const uint16_t* x, T* y, int64_t n, float scale, int32_t zero_point, int bits) {
  alignas(32) float buffer[kChunk];
  for (int64_t at = 0; at < n; at += kChunk) {
    const int64_t count = std::min(kChunk, n - at);
    kernels::HalfToFloatRow(x + at, buffer, count);
    QuantizeAvx2(buffer, y + at, count, scale, zero_point, bits);
  }
}

template <typename T>
void DequantizeHalf(const T* q, uint16_t* y, int64_t n, float scale, int32_t zero_point) {
  alignas(32) float buffer[kChunk];
  for (int64_t at = 0; at < n; at += kChunk) {
    const int64_t count = std::min(kChunk, n - at);
    DequantizeAvx2(q + at, buffer, count, scale, zero_point);
    kernels::FloatToHalfRow(buffer, y + at, count);
  }
}

bool Classify(const KernelInit& init, Kind* kind) {
  if (init.inputs.size() != 1 || !init.inputs[0] || init.outputs.size() != 1 || init.HasPostOps()) return false;
  const ValueInfo& in = *init.inputs[0];
  const ValueInfo& out = init.outputs[0];
  const bool in_int = IsIntegerStorage(in), out_int = IsIntegerStorage(out);
  if (in.dtype == DataType::FLOAT32 && out.dtype == DataType::FLOAT16 && !in_int && !out_int) {
    *kind = Kind::kToHalf;
  } else if (in.dtype == DataType::FLOAT16 && out.dtype == DataType::FLOAT32) {
    *kind = Kind::kFromHalf;
  } else if (in.dtype == DataType::FLOAT32 && out.dtype == DataType::BFLOAT16 && !in_int && !out_int) {
    *kind = Kind::kToBFloat16;
  } else if (in.dtype == DataType::BFLOAT16 && out.dtype == DataType::FLOAT32) {
    *kind = Kind::kFromBFloat16;
  } else if (in.dtype == DataType::FLOAT32 && out_int && out.quant->dynamic && out.quant->axis < 0) {
    *kind = out.dtype == DataType::INT8 ? Kind::kDynamic8 : Kind::kDynamic16;
  } else if ((in.dtype == DataType::FLOAT16 || in.dtype == DataType::BFLOAT16) && !in_int && out_int &&
             out.quant->dynamic && out.quant->axis < 0) {
    *kind = out.dtype == DataType::INT8 ? Kind::kHalfDynamic8 : Kind::kHalfDynamic16;
  } else if (in.dtype == DataType::FLOAT32 && out_int && !out.quant->dynamic && out.quant->scales.size() == 1) {
    *kind = out.dtype == DataType::INT8 ? Kind::kQuantize8 : Kind::kQuantize16;
  } else if (in_int && out.dtype == DataType::FLOAT32 && !in.quant->dynamic && in.quant->scales.size() == 1) {
    *kind = in.dtype == DataType::INT8 ? Kind::kDequantize8 : Kind::kDequantize16;
  } else if (in.dtype == DataType::FLOAT16 && !in_int && out_int && !out.quant->dynamic &&
             out.quant->scales.size() == 1) {
    *kind = out.dtype == DataType::INT8 ? Kind::kHalfQuantize8 : Kind::kHalfQuantize16;
  } else if (in_int && out.dtype == DataType::FLOAT16 && !out_int && !in.quant->dynamic &&
             in.quant->scales.size() == 1) {
    *kind = in.dtype == DataType::INT8 ? Kind::kDequantize8Half : Kind::kDequantize16Half;
  } else {
    return false;
  }
  return true;
}

// A static conversion of x into y with the run's scale and zero point `q`
// (the quantized side's), over chunks of the elements spread on the threads:
// fn(x + b, y + b, count, scale, zero_point).
template <typename In, typename Out, typename Fn>
void Chunked(const TensorView& x, const TensorView& y, const RunQuant& q, Fn fn) {
  const In* from = x.Data<const In>();
  Out* to = y.Data<Out>();
  kernels::ForEachChunk(x.Count(), [&](int64_t b, int64_t n) { fn(from + b, to + b, n, q.scale, q.zero_point); });
}

// Dynamic PTQ: this run's own range, as the reference's quant::MinMax takes
// it (NaNs skipped, infinities kept and then refused by
// ChooseScaleZeroPoint), then the static quantize with it. Both passes are
// vector loops over one contiguous chunk per thread: the extremes
// (MinMaxAvx2, MinMax's whenever no value is infinite, the sign of a zero
// extreme aside, which no scale or zero point depends on), then the codes. The scalar MinMax and a
// single-threaded quantize took 48 % of PP-OCRv4 rec's dynamic int8 time
// (7.7 of 16.0 ms, 1 thread, AMD Zen 4), more than its convolutions.
// Split over the threads from far fewer elements than elementwise work: in
// dynamic mode every quantized input is such a step between two parallel
// convolutions, and one left on a single thread for 20-50 us outlasts the
// workers' spin (util/omp_wait_policy.h), so the next convolution pays a
// futex wake (PP-OCRv4 rec, 2 threads: 58 context switches per inference).
constexpr int64_t kDynamicParallelElements = int64_t{1} << 14;

// The extremes of x's non-NaN values: minps / maxps with the new value
// first return the accumulator for a NaN lane, so NaNs drop out. Lanes start
// at +inf / -inf; four accumulator pairs, 32 values per step.
MIXQ_AVX2 void MinMaxAvx2(const float* x, int64_t n, float* lo, float* hi) {
  const float inf = std::numeric_limits<float>::infinity();
  __m256 l[4], h[4];
  for (int u = 0; u < 4; ++u) {
    l[u] = _mm256_set1_ps(inf);
    h[u] = _mm256_set1_ps(-inf);
  }
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int u = 0; u < 4; ++u) {
      const __m256 v = _mm256_loadu_ps(x + i + 8 * u);
      l[u] = _mm256_min_ps(v, l[u]);
      h[u] = _mm256_max_ps(v, h[u]);
    }
  const __m256 lv = _mm256_min_ps(_mm256_min_ps(l[0], l[1]), _mm256_min_ps(l[2], l[3]));
  const __m256 hv = _mm256_max_ps(_mm256_max_ps(h[0], h[1]), _mm256_max_ps(h[2], h[3]));
  alignas(32) float lanes_lo[8], lanes_hi[8];
  _mm256_store_ps(lanes_lo, lv);
  _mm256_store_ps(lanes_hi, hv);
  float a = inf, b = -inf;
  for (int k = 0; k < 8; ++k) {
    a = std::min(a, lanes_lo[k]);
    b = std::max(b, lanes_hi[k]);
  }
  for (; i < n; ++i)
    if (x[i] == x[i]) {
      a = std::min(a, x[i]);
      b = std::max(b, x[i]);
    }
  *lo = a;
  *hi = b;
}

Status QuantizeDynamic(const float* x, const TensorView& out, int bits, bool symmetric) {
  const int64_t n = out.Count();
  const int threads = n >= kDynamicParallelElements ? std::max(1, omp_get_max_threads()) : 1;
  // Per contiguous chunk (one per thread), then combined: min and max do not
  // depend on the order.
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  std::vector<float> chunk_lo(static_cast<size_t>(threads)), chunk_hi(static_cast<size_t>(threads));
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (int64_t c = 0; c < threads; ++c) {
    const int64_t begin = n * c / threads, end = n * (c + 1) / threads;
    MinMaxAvx2(x + begin, end - begin, &chunk_lo[static_cast<size_t>(c)], &chunk_hi[static_cast<size_t>(c)]);
  }
  for (int c = 0; c < threads; ++c) {
    lo = std::min(lo, chunk_lo[static_cast<size_t>(c)]);
    hi = std::max(hi, chunk_hi[static_cast<size_t>(c)]);
  }
  const float inf = std::numeric_limits<float>::infinity();
  Range range;  // no value but NaNs (lo > hi): MinMax's empty range
  if (lo == -inf || hi == inf)
    range = quant::MinMax(x, n);  // an infinite value: the reference's own range, for its message
  else if (lo <= hi)
    range = Range{lo, hi};  // the sign of a zero extreme may differ from MinMax's: no scale depends on it
  MIXQ_RETURN_IF_ERROR(quant::ChooseScaleZeroPoint(range, bits, symmetric, &out.quant->scale, &out.quant->zero_point));
  const float scale = out.quant->scale;
  const int32_t zero_point = out.quant->zero_point;
  const int64_t chunks = threads;  // one contiguous chunk per thread, as the scan split them
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = n * c / chunks, end = n * (c + 1) / chunks;
    if (bits == 8)
      QuantizeAvx2(x + begin, out.Data<int8_t>() + begin, end - begin, scale, zero_point, 8);
    else
      QuantizeAvx2(x + begin, out.Data<int16_t>() + begin, end - begin, scale, zero_point, 16);
  }
  return Status::OK();
}

bool Supports(const KernelInit& init) {
  Kind kind;
  return Classify(init, &kind);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  Kind kind;
  if (!Classify(init, &kind)) return Internal("Convert (avx2): unsupported storage types");
  const bool symmetric = init.outputs[0].quant ? init.outputs[0].quant->symmetric : true;
  const bool bfloat16 = init.inputs[0]->dtype == DataType::BFLOAT16;
  // kHalfDynamic: the widened input (float16 / bfloat16 -> float32 is exact,
  // the reference's Load), kept with the kernel.
  auto widened = std::make_shared<std::vector<float>>();
  return MakeFunctionKernel(
      [kind, symmetric, bfloat16, widened](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const int64_t n = in[0].Count();
        switch (kind) {
          case Kind::kDynamic8:
          case Kind::kDynamic16:
            return QuantizeDynamic(in[0].Data<const float>(), out[0], kind == Kind::kDynamic8 ? 8 : 16, symmetric);
          case Kind::kHalfDynamic8:
          case Kind::kHalfDynamic16:
            widened->resize(static_cast<size_t>(n));
            if (bfloat16)
              kernels::BFloat16ToFloatParallel(in[0].Data<const uint16_t>(), widened->data(), n);
            else
              kernels::HalfToFloatParallel(in[0].Data<const uint16_t>(), widened->data(), n);
            return QuantizeDynamic(widened->data(), out[0], kind == Kind::kHalfDynamic8 ? 8 : 16, symmetric);
          case Kind::kToHalf:
            kernels::FloatToHalfParallel(in[0].Data<const float>(), out[0].Data<uint16_t>(), n);
            break;
          case Kind::kFromHalf:
            kernels::HalfToFloatParallel(in[0].Data<const uint16_t>(), out[0].Data<float>(), n);
            break;
          case Kind::kToBFloat16:
            kernels::FloatToBFloat16Parallel(in[0].Data<const float>(), out[0].Data<uint16_t>(), n);
            break;
          case Kind::kFromBFloat16:
            kernels::BFloat16ToFloatParallel(in[0].Data<const uint16_t>(), out[0].Data<float>(), n);
            break;
          // The static conversions: elementwise, in chunks over the threads.
          case Kind::kQuantize8:
            Chunked<float, int8_t>(in[0], out[0], *out[0].quant, [](auto... a) { QuantizeAvx2(a..., 8); });
            break;
          case Kind::kQuantize16:
            Chunked<float, int16_t>(in[0], out[0], *out[0].quant, [](auto... a) { QuantizeAvx2(a..., 16); });
            break;
          case Kind::kDequantize8:
            Chunked<int8_t, float>(in[0], out[0], *in[0].quant, [](auto... a) { DequantizeAvx2(a...); });
            break;
          case Kind::kDequantize16:
            Chunked<int16_t, float>(in[0], out[0], *in[0].quant, [](auto... a) { DequantizeAvx2(a...); });
            break;
          case Kind::kHalfQuantize8:
            Chunked<uint16_t, int8_t>(in[0], out[0], *out[0].quant, [](auto... a) { HalfQuantize(a..., 8); });
            break;
          case Kind::kHalfQuantize16:
            Chunked<uint16_t, int16_t>(in[0], out[0], *out[0].quant, [](auto... a) { HalfQuantize(a..., 16); });
            break;
          case Kind::kDequantize8Half:
            Chunked<int8_t, uint16_t>(in[0], out[0], *in[0].quant, [](auto... a) { DequantizeHalf(a...); });
            break;
          case Kind::kDequantize16Half:
            Chunked<int16_t, uint16_t>(in[0], out[0], *in[0].quant, [](auto... a) { DequantizeHalf(a...); });
            break;
        }
        return Status::OK();
      },
      kernel, "avx2");
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(convert, avx2) {
  mixq::ops::RegisterKernel(
      {"avx2", mixq::OpKind::kConvert, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports, mixq::ops::Make});
}
