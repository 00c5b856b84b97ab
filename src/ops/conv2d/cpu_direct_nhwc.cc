// Conv2D of one group on channels-last (NHWC) tensors with few channels,
// float32 or float16 storage on either side: "avx2-f32-direct" /
// "avx512-f32-direct" (float32 in and out) and "avx2-f16-direct" /
// "avx512-f16-direct" (float16 storage on at least one side).
//
// Why: oneDNN 2.6 runs such layers (networks built channels-last through
// the API, as the README's demo: 3 -> 8 and 8 -> 16 channels at 16 x 16)
// on its brgemm kernel with the output channels padded to 16 and a cost
// per call that dominates small layers: 0.028-0.036 ms for the demo's 8 ->
// 8 3 x 3 layer at batch 4 (590 k multiply-adds, 17-21 GMAC/s; these
// kernels 23-34) on an AMD Zen 4. Float16 storage paid that and a widening
// and a rounding pass on top.
//
// How: the output channels live in the vector lanes (one or two ymm, or
// one zmm), a block of 12 output pixels of one row in registers. For
// each tap and input channel, the channels' weights are loaded once and
// each pixel's input value is broadcast and multiplied in: no im2col, no
// padded channels beyond the last vector. Per job (an image and a strip of
// output rows) a thread widens the input rows its windows need into a ring
// of float32 rows with zero padding columns (each row once per strip), as
// the depthwise kernels do (cpu_half_dw.cc). Results are clamped (a fused
// ReLU / ReLU6 / Clip) and stored straight from the registers, as float32
// or rounded to float16; other post-ops (residual adds, chains) go through
// the output stage (ops/half_output_stage.h) from a float32 strip, which
// rounds and applies them as the separate steps would.
//
// Accuracy: float32 products summed in float32 in (kh, kw, input channel)
// order from the bias; float16 outputs within one float16 step of the
// reference's result on the same values (cpu_direct_nhwc_test.cc).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "kernels/avx512_warnings.h"
#include "kernels/cpu_features.h"
#include "kernels/half_io.h"
#include "ops/conv2d/conv_params.h"
#include "ops/conv2d/half_conv_common.h"
#include "ops/half_output_stage.h"
#include "ops/half_storage.h"
#include "ops/kernel_registry.h"
#include "ops/layout.h"
#include "ops/op_util.h"
#include "util/status_util.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

#define MIXQ_DIRECT_AVX2 __attribute__((target("avx2,fma,f16c")))
#define MIXQ_DIRECT_AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) inline
#define MIXQ_DIRECT_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,fma,f16c")))
#define MIXQ_DIRECT_AVX512_INLINE __attribute__((target("avx512f,avx512vl,avx512bw,fma,f16c"), always_inline)) inline

namespace mixq::ops {

namespace {

// Where these kernels beat oneDNN 2.6 (bench/direct_conv_bench.cc, 1
// thread, AMD Zen 4; oneDNN float32 reaches 50-57 GMAC/s on wide layers,
// these 35-45):
// - at most 8 output channels, any plane: oneDNN pads them to 16 (56 x 56,
//   16 -> 8: 35 against 25 GMAC/s; 112 x 112, 8 -> 8: 35 against 23);
// - at most 16 output channels on at most kSmallOutputPixels output pixels
//   (the batch's), where oneDNN's cost per call dominates (the demo's 8 ->
//   16 at 8 x 8, batch 4: 33 against 25; its 16 -> 16: a tie). At 56 x 56,
//   16 -> 16 oneDNN wins (48-54 against 35-45).
constexpr int64_t kMaxOutChannels = 16;
constexpr int64_t kSmallOutputPixels = 1024;
// Input channels: each is a broadcast per pixel and tap; deeper layers were
// not measured.
constexpr int64_t kMaxInChannels = 64;

// Everything one output row's computation reads.
struct RowArgs {
  const float* const* rows;  // per kh: the widened input row, [padded column][input channel]
  const float* weights;      // [kh][kw][input channel][output channel, padded to whole vectors]
  const float* bias;         // [output channel, padded]
  int64_t out_w, in_c, out_c, padded_c, kernel_h, kernel_w, stride_w, dilation_w;
  float* out32;     // [out_w][out_c] float32 (the output row or the strip's), or
  uint16_t* out16;  // [out_w][out_c] float16
  bool clamp;       // min(max(v, lo), hi) before the store
  float lo, hi;
};

// ---- AVX2: 8 channels per ymm -------------------------------------------

MIXQ_DIRECT_AVX2_INLINE void Store8(const RowArgs& a, int64_t pos, int64_t lanes, __m256 v) {
  if (a.clamp) v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(a.lo)), _mm256_set1_ps(a.hi));
  if (a.out16) {
    __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __asm__("" : "+x"(h));  // the register form then a store (Zen 4 runs the memory form at half rate)
    if (lanes == 8) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(a.out16 + pos), h);
    } else {
      alignas(16) uint16_t tmp[8];
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp), h);
      std::memcpy(a.out16 + pos, tmp, static_cast<size_t>(lanes) * sizeof(uint16_t));
    }
    return;
  }
  if (lanes == 8) {
    _mm256_storeu_ps(a.out32 + pos, v);
  } else {
    const __m256i mask =
        _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(lanes)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_ps(a.out32 + pos, mask, v);
  }
}

// Output pixels [ow, ow + U) of the row, V vectors of channels each.
template <int V, int U>
MIXQ_DIRECT_AVX2 void BlockAvx2(const RowArgs& a, int64_t ow) {
  const int64_t pc = a.padded_c, ic = a.in_c, step = a.stride_w * ic;
  __m256 acc[U][V];
  _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) {
    const __m256 b = _mm256_loadu_ps(a.bias + v * 8);
    _Pragma("GCC unroll 16") for (int u = 0; u < U; ++u) acc[u][v] = b;
  }
  // Without dilation a filter row's taps read one contiguous run of
  // kernel_w * in_c inputs per pixel (NHWC), against weights in the same
  // order: one loop; with dilation, a run of in_c per tap.
  const int64_t run = a.dilation_w == 1 ? a.kernel_w * ic : ic, runs = a.dilation_w == 1 ? 1 : a.kernel_w;
  for (int64_t kh = 0; kh < a.kernel_h; ++kh) {
    const float* row = a.rows[kh] + ow * step;
    const float* wk = a.weights + kh * a.kernel_w * ic * pc;
    for (int64_t r = 0; r < runs; ++r) {
      const float* x = row + r * a.dilation_w * ic;
      const float* w = wk + r * ic * pc;
      for (int64_t c = 0; c < run; ++c) {
        __m256 wv[V];
        _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) {
          wv[v] = _mm256_loadu_ps(w + c * pc + v * 8);
          __asm__("" : "+x"(wv[v]));  // one load shared by the U pixels (GCC folds it into each FMA otherwise)
        }
        _Pragma("GCC unroll 16") for (int u = 0; u < U; ++u) {
          const __m256 xb = _mm256_broadcast_ss(x + u * step + c);
          _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) acc[u][v] = _mm256_fmadd_ps(xb, wv[v], acc[u][v]);
        }
      }
    }
  }
  _Pragma("GCC unroll 16") for (int u = 0; u < U; ++u) _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) {
    const int64_t lanes = std::min<int64_t>(8, a.out_c - v * 8);
    if (lanes > 0) Store8(a, (ow + u) * a.out_c + v * 8, lanes, acc[u][v]);
  }
}

// Blocks of U pixels, then the tail in blocks of 8, 4, 2 and 1: a block of
// one pixel has one accumulator per vector, a chain of dependent FMAs.
template <int V, int U>
MIXQ_DIRECT_AVX2 void RowAvx2T(const RowArgs& a) {
  int64_t ow = 0;
  for (; ow + U <= a.out_w; ow += U) BlockAvx2<V, U>(a, ow);
  if constexpr (U > 8)
    if (ow + 8 <= a.out_w) BlockAvx2<V, 8>(a, ow), ow += 8;
  if constexpr (U > 4)
    if (ow + 4 <= a.out_w) BlockAvx2<V, 4>(a, ow), ow += 4;
  if constexpr (U > 2)
    if (ow + 2 <= a.out_w) BlockAvx2<V, 2>(a, ow), ow += 2;
  if (ow < a.out_w) BlockAvx2<V, 1>(a, ow);
}

// U: accumulators and weights in 16 ymm registers with the broadcast.
using RowFn = void (*)(const RowArgs&);
RowFn RowForAvx2(int64_t vectors) {
  return vectors == 1 ? RowAvx2T<1, 12> : RowAvx2T<2, 6>;
}

// ---- AVX-512: 16 channels per zmm, or 8 per ymm with 32 registers -------

MIXQ_DIRECT_AVX512_INLINE __m256 Load(const float* p, __m256*) {
  return _mm256_loadu_ps(p);
}
MIXQ_DIRECT_AVX512_INLINE __m512 Load(const float* p, __m512*) {
  return _mm512_loadu_ps(p);
}
// A broadcast load of its own, then FMAs from registers: the FMA's embedded
// broadcast ({1to16}) ran slower on an AMD Zen 4.
MIXQ_DIRECT_AVX512_INLINE __m256 Broadcast(const float* x, __m256*) {
  __m256 b = _mm256_broadcast_ss(x);
  __asm__("" : "+v"(b));
  return b;
}
MIXQ_DIRECT_AVX512_INLINE __m512 Broadcast(const float* x, __m512*) {
  __m512 b = _mm512_broadcastss_ps(_mm_load_ss(x));
  __asm__("" : "+v"(b));
  return b;
}
MIXQ_DIRECT_AVX512_INLINE __m256 Fma(__m256 x, __m256 w, __m256 acc) {
  return _mm256_fmadd_ps(x, w, acc);
}
MIXQ_DIRECT_AVX512_INLINE __m512 Fma(__m512 x, __m512 w, __m512 acc) {
  return _mm512_fmadd_ps(x, w, acc);
}
MIXQ_DIRECT_AVX512_INLINE void Store(const RowArgs& a, int64_t pos, int64_t lanes, __m256 v) {
  const __mmask8 mask = static_cast<__mmask8>((1u << lanes) - 1);
  if (a.clamp) v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(a.lo)), _mm256_set1_ps(a.hi));
  if (a.out16) {
    __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __asm__("" : "+x"(h));
    _mm_mask_storeu_epi16(a.out16 + pos, mask, h);
    return;
  }
  _mm256_mask_storeu_ps(a.out32 + pos, mask, v);
}
MIXQ_DIRECT_AVX512_INLINE void Store(const RowArgs& a, int64_t pos, int64_t lanes, __m512 v) {
  const __mmask16 mask = static_cast<__mmask16>((1u << lanes) - 1);
  if (a.clamp) v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(a.lo)), _mm512_set1_ps(a.hi));
  if (a.out16) {
    __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __asm__("" : "+v"(h));
    _mm256_mask_storeu_epi16(a.out16 + pos, mask, h);
    return;
  }
  _mm512_mask_storeu_ps(a.out32 + pos, mask, v);
}

// Output pixels [ow, ow + U) of the row, V vectors of L channels each.
template <typename Vec, int L, int V, int U>
MIXQ_DIRECT_AVX512 void BlockAvx512(const RowArgs& a, int64_t ow) {
  const int64_t pc = a.padded_c, ic = a.in_c, step = a.stride_w * ic;
  Vec acc[U][V];
  _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) {
    const Vec b = Load(a.bias + v * L, static_cast<Vec*>(nullptr));
    _Pragma("GCC unroll 16") for (int u = 0; u < U; ++u) acc[u][v] = b;
  }
  // Without dilation a filter row's taps read one contiguous run of
  // kernel_w * in_c inputs per pixel (NHWC), against weights in the same
  // order: one loop; with dilation, a run of in_c per tap.
  const int64_t run = a.dilation_w == 1 ? a.kernel_w * ic : ic, runs = a.dilation_w == 1 ? 1 : a.kernel_w;
  for (int64_t kh = 0; kh < a.kernel_h; ++kh) {
    const float* row = a.rows[kh] + ow * step;
    const float* wk = a.weights + kh * a.kernel_w * ic * pc;
    for (int64_t r = 0; r < runs; ++r) {
      const float* x = row + r * a.dilation_w * ic;
      const float* w = wk + r * ic * pc;
      for (int64_t c = 0; c < run; ++c) {
        Vec wv[V];
        _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) {
          wv[v] = Load(w + c * pc + v * L, static_cast<Vec*>(nullptr));
          __asm__("" : "+v"(wv[v]));
        }
        _Pragma("GCC unroll 16") for (int u = 0; u < U; ++u) {
          const Vec xb = Broadcast(x + u * step + c, static_cast<Vec*>(nullptr));
          _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) acc[u][v] = Fma(xb, wv[v], acc[u][v]);
        }
      }
    }
  }
  _Pragma("GCC unroll 16") for (int u = 0; u < U; ++u) _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) {
    const int64_t lanes = std::min<int64_t>(L, a.out_c - v * L);
    if (lanes > 0) Store(a, (ow + u) * a.out_c + v * L, lanes, acc[u][v]);
  }
}

template <typename Vec, int L, int V, int U>
MIXQ_DIRECT_AVX512 void RowAvx512T(const RowArgs& a) {
  int64_t ow = 0;
  for (; ow + U <= a.out_w; ow += U) BlockAvx512<Vec, L, V, U>(a, ow);
  if constexpr (U > 8)
    if (ow + 8 <= a.out_w) BlockAvx512<Vec, L, V, 8>(a, ow), ow += 8;
  if constexpr (U > 4)
    if (ow + 4 <= a.out_w) BlockAvx512<Vec, L, V, 4>(a, ow), ow += 4;
  if constexpr (U > 2)
    if (ow + 2 <= a.out_w) BlockAvx512<Vec, L, V, 2>(a, ow), ow += 2;
  if (ow < a.out_w) BlockAvx512<Vec, L, V, 1>(a, ow);
}

// Output channels <= 8: one ymm (32 registers for the accumulators);
// otherwise one zmm.
RowFn RowForAvx512(int64_t out_channels) {
  return out_channels <= 8 ? RowAvx512T<__m256, 8, 1, 12> : RowAvx512T<__m512, 16, 1, 12>;
}

// ---- The kernel ----------------------------------------------------------

// Float32 storage a float32 kernel reads as float32.
bool PlainFloat32(const ValueInfo& v, DataType compute) {
  return v.dtype == DataType::FLOAT32 && !v.narrowed && !v.quant && compute == DataType::FLOAT32;
}

// At most one fused clamp (ReLU, ReLU6, Clip) on a float32 output: applied
// in the registers as the output stage applies it (min(max(v, lo), hi)).
bool OneClampOnFloat32(const KernelInit& init, HalfDirectStore* store) {
  *store = HalfDirectStore{};
  if (!init.post_ops || init.post_ops->empty()) {
    store->direct = true;
    return true;
  }
  if (init.post_ops->size() != 1) return false;
  const PostOp& op = (*init.post_ops)[0];
  if (op.kind != PostOp::Kind::kActivation ||
      (op.activation != "relu" && op.activation != "relu6" && op.activation != "clip"))
    return false;
  store->direct = store->clamp = true;
  store->lo = op.lo;
  store->hi = op.activation == "relu" ? std::numeric_limits<float>::infinity() : op.hi;
  return true;
}

// The step as these kernels take it: one group, NHWC plain tensors, a
// constant FLOAT32 filter and bias, float32 or float16 storage (`half`: the
// float16 kernels, float16 on at least one side), post-ops the output stage
// applies with addends in the output's layout, few channels (above).
bool SupportsStep(const KernelInit& init, bool half) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1) return false;
  const ValueInfo &x = *init.inputs[0], &w = *init.inputs[1], &y = init.outputs[0];
  const bool in_half = IsHalfStorage(x), out_half = IsHalfStorage(y);
  if (half != (in_half || out_half)) return false;
  if (in_half ? (init.ComputeOf(0) != DataType::FLOAT16 && init.ComputeOf(0) != DataType::FLOAT32)
              : !PlainFloat32(x, init.ComputeOf(0)))
    return false;
  if (!out_half && (y.dtype != DataType::FLOAT32 || y.narrowed || y.quant)) return false;
  if (!w.const_data || w.dtype != DataType::FLOAT32 || w.quant) return false;
  if (init.inputs.size() > 2 && init.inputs[2] &&
      (!init.inputs[2]->const_data || init.inputs[2]->dtype != DataType::FLOAT32 || init.inputs[2]->quant))
    return false;
  if (x.layout != MemoryLayout::kPlain || y.layout != MemoryLayout::kPlain) return false;
  ConvGeometry g;
  if (!ComputeConv2DGeometry(init.attrs, init.inputs, &g).ok()) return false;
  if (g.group != 1 || g.input_axes.pos[1] != 3 || g.output_axes.pos[1] != 3 || g.out_h < 1 || g.out_w < 1) return false;
  if (g.in_channels > kMaxInChannels || g.out_channels > kMaxOutChannels ||
      (g.out_channels > 8 && g.batch * g.out_h * g.out_w > kSmallOutputPixels))
    return false;
  return HalfOutputStage::Supports(init) && AddendsInOutputLayout(init);
}

class DirectNhwc : public Kernel {
 public:
  DirectNhwc(bool half, bool avx512) : half_(half), avx512_(avx512) {}
  int64_t PrivateWeightBytes() const override { return private_bytes_; }
  // The filter and the bias are packed (the residual addend is read).
  bool ReadsInputAtRun(size_t index) const override { return index != 1 && index != 2; }
  const char* Name() const override {
    return half_ ? (avx512_ ? "avx512-f16-direct" : "avx2-f16-direct")
                 : (avx512_ ? "avx512-f32-direct" : "avx2-f32-direct");
  }

  Status Init(const KernelInit& init) {
    MIXQ_RETURN_IF_ERROR(ComputeConv2DGeometry(init.attrs, init.inputs, &g_));
    in_half_ = IsHalfStorage(*init.inputs[0]);
    out_half_ = IsHalfStorage(init.outputs[0]);
    const int64_t lanes = avx512_ && g_.out_channels > 8 ? 16 : 8;
    const int64_t vectors = (g_.out_channels + lanes - 1) / lanes;
    padded_c_ = vectors * lanes;
    row_ = avx512_ ? RowForAvx512(g_.out_channels) : RowForAvx2(vectors);
    // [kh][kw][input channel][output channel padded with zeros], then the
    // bias padded alike: packed once per engine (SPEC §6).
    const auto* filter = static_cast<const float*>(init.inputs[1]->const_data);
    const auto* bias =
        init.inputs.size() > 2 && init.inputs[2] ? static_cast<const float*>(init.inputs[2]->const_data) : nullptr;
    const auto f_s = LogicalStrides(init.inputs[1]->shape, g_.filter_axes);
    const ConvGeometry& g = g_;
    const int64_t pc = padded_c_, taps = g_.kernel_h * g_.kernel_w * g_.in_channels;
    MIXQ_RETURN_IF_ERROR(PackFloatsOnce(
        init, Name(), static_cast<size_t>((taps + 1) * pc),
        [&](float* w) {
          for (int64_t kh = 0; kh < g.kernel_h; ++kh)
            for (int64_t kw = 0; kw < g.kernel_w; ++kw)
              for (int64_t c = 0; c < g.in_channels; ++c)
                for (int64_t o = 0; o < g.out_channels; ++o)
                  w[((kh * g.kernel_w + kw) * g.in_channels + c) * pc + o] =
                      filter[o * f_s[0] + c * f_s[1] + kh * f_s[2] + kw * f_s[3]];
          if (bias) std::memcpy(w + taps * pc, bias, static_cast<size_t>(g.out_channels) * sizeof(float));
        },
        &packed_, &private_bytes_));
    weights_ = packed_->data();
    bias_ = weights_ + taps * pc;
    padded_w_ = std::max(g_.pad_left + g_.in_w, (g_.out_w - 1) * g_.stride_w + (g_.kernel_w - 1) * g_.dilation_w + 1);
    ring_rows_ = (g_.kernel_h - 1) * g_.dilation_h + 1;
    zero_row_.assign(static_cast<size_t>(padded_w_ * g_.in_channels), 0.0f);
    stage_ = std::make_unique<HalfOutputStage>(init);
    if (out_half_)
      store_ = DirectStoreOf(*stage_);
    else
      OneClampOnFloat32(init, &store_);
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int threads = std::max(1, omp_get_max_threads());
    // Strips of output rows: enough jobs for every thread, and a float32
    // strip of at most kStripFloats (L2) for the output stage.
    constexpr int64_t kStripFloats = 32 * 1024;
    const int64_t row_floats = g_.out_w * g_.out_channels;
    const int64_t max_rows = std::max<int64_t>(1, kStripFloats / row_floats);
    int64_t strips = std::clamp<int64_t>((2 * threads + g_.batch - 1) / g_.batch, 1, g_.out_h);
    strips = std::max(strips, (g_.out_h + max_rows - 1) / max_rows);
    const int64_t strip_rows = (g_.out_h + strips - 1) / strips;
    strips = (g_.out_h + strip_rows - 1) / strip_rows;
    const int64_t items = g_.batch * strips;
    if (workers_.size() < static_cast<size_t>(threads)) workers_.resize(static_cast<size_t>(threads));
#pragma omp parallel for schedule(static, 1) if (items > 1 && threads > 1)
    for (int64_t item = 0; item < items; ++item) {
      Worker* w = &workers_[static_cast<size_t>(omp_get_thread_num())];
      const int64_t n = item / strips, oh0 = item % strips * strip_rows;
      RunStrip(n, oh0, std::min(g_.out_h, oh0 + strip_rows), w, in, out[0]);
    }
    return Status::OK();
  }

 private:
  struct Worker {
    std::vector<float> ring, strip;  // strip: the float32 outputs the stage takes
    std::vector<int64_t> loaded;     // per ring slot: the input row it holds, -1 none
    std::vector<const float*> rows;  // per kh: the row a window reads
  };

  // Output rows [oh0, oh1) of image `n`.
  void RunStrip(int64_t n, int64_t oh0, int64_t oh1, Worker* w, const std::vector<TensorView>& in,
                const TensorView& out) const {
    const int64_t ic = g_.in_channels, row_floats = padded_w_ * ic;
    w->ring.assign(static_cast<size_t>(ring_rows_ * row_floats), 0.0f);  // padding columns stay zero
    w->loaded.assign(static_cast<size_t>(ring_rows_), -1);
    w->rows.resize(static_cast<size_t>(g_.kernel_h));
    const int64_t out_row = g_.out_w * g_.out_channels;
    if (!store_.direct) w->strip.resize(static_cast<size_t>((oh1 - oh0) * out_row));
    const int64_t first = (n * g_.out_h + oh0) * out_row;  // the strip's first output element
    RowArgs args{w->rows.data(), weights_,     bias_,       g_.out_w,    g_.in_channels, g_.out_channels,
                 padded_c_,      g_.kernel_h,  g_.kernel_w, g_.stride_w, g_.dilation_w,  nullptr,
                 nullptr,        store_.clamp, store_.lo,   store_.hi};
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      for (int64_t kh = 0; kh < g_.kernel_h; ++kh) {
        const int64_t ih = oh * g_.stride_h - g_.pad_top + kh * g_.dilation_h;
        if (ih < 0 || ih >= g_.in_h) {
          w->rows[static_cast<size_t>(kh)] = zero_row_.data();
          continue;
        }
        const int64_t slot = ih % ring_rows_;
        float* row = w->ring.data() + slot * row_floats;
        if (w->loaded[static_cast<size_t>(slot)] != ih) {
          const int64_t src = (n * g_.in_h + ih) * g_.in_w * ic;
          if (in_half_)
            kernels::HalfToFloatRow(in[0].Data<const uint16_t>() + src, row + g_.pad_left * ic, g_.in_w * ic);
          else
            std::memcpy(row + g_.pad_left * ic, in[0].Data<const float>() + src,
                        static_cast<size_t>(g_.in_w * ic) * sizeof(float));
          w->loaded[static_cast<size_t>(slot)] = ih;
        }
        w->rows[static_cast<size_t>(kh)] = row;
      }
      const int64_t at = first + (oh - oh0) * out_row;
      if (!store_.direct)
        args.out32 = w->strip.data() + (oh - oh0) * out_row;
      else if (out_half_)
        args.out16 = out.Data<uint16_t>() + at;
      else
        args.out32 = out.Data<float>() + at;
      row_(args);
    }
    if (!store_.direct) stage_->Apply(w->strip.data(), (oh1 - oh0) * out_row, first, in, out);
  }

  bool half_, avx512_;
  bool in_half_ = false, out_half_ = false;
  RowFn row_ = nullptr;
  ConvGeometry g_;
  int64_t padded_c_ = 0, padded_w_ = 0, ring_rows_ = 0;
  std::shared_ptr<const std::vector<float>> packed_;  // the engine's (init.weights), or this kernel's
  const float* weights_ = nullptr;                    // into packed_: [kh][kw][input channel][padded_c_]
  const float* bias_ = nullptr;                       // into packed_: [padded_c_]
  int64_t private_bytes_ = 0;
  std::vector<float> zero_row_;
  std::unique_ptr<HalfOutputStage> stage_;
  HalfDirectStore store_;        // whether rows store the output themselves, and after which clamp
  std::vector<Worker> workers_;  // one per OpenMP thread
};

template <bool kHalf>
bool Supports(const KernelInit& init) {
  return SupportsStep(init, kHalf);
}

template <bool kHalf, bool kAvx512>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  if (!SupportsStep(init, kHalf)) return Internal("Conv2D direct NHWC: a step this kernel does not take");
  auto k = std::make_unique<DirectNhwc>(kHalf, kAvx512);
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON

MIXQ_REGISTER_KERNELS(conv2d, direct_nhwc) {
  using mixq::OpKind;
  using mixq::kernels::Isa;
  // Above onednn (10), onednn-winograd (11), onednn-f16 (10) and
  // onednn-f16-winograd (11) on the steps SupportsStep takes (where they
  // measured faster, above). On an AMD Zen 4 the AVX-512 forms run as fast
  // as the AVX2 ones (within the machine's noise): 512-bit FMAs take two
  // 256-bit pipes there.
  mixq::ops::RegisterKernel({"avx2-f32-direct", OpKind::kConv2D, Isa::kAvx2, 12, mixq::ops::Supports<false>,
                             mixq::ops::Make<false, false>, nullptr, nullptr, mixq::ops::AddendAlias});
  mixq::ops::RegisterKernel({"avx512-f32-direct", OpKind::kConv2D, Isa::kAvx512, 13, mixq::ops::Supports<false>,
                             mixq::ops::Make<false, true>, nullptr, nullptr, mixq::ops::AddendAlias});
  mixq::ops::RegisterKernel({"avx2-f16-direct", OpKind::kConv2D, Isa::kAvx2, 12, mixq::ops::Supports<true>,
                             mixq::ops::Make<true, false>, nullptr, nullptr, mixq::ops::AddendAlias});
  mixq::ops::RegisterKernel({"avx512-f16-direct", OpKind::kConv2D, Isa::kAvx512, 13, mixq::ops::Supports<true>,
                             mixq::ops::Make<true, true>, nullptr, nullptr, mixq::ops::AddendAlias});
}
