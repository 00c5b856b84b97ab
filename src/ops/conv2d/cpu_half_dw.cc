// Depthwise Conv2D (one input and one output channel per group) between
// float16 tensors the plan keeps blocked (nChw16c, or nChw8c on AVX2
// machines), with the float16 conversions fused into the convolution:
// "avx512-f16-dw" (nChw16c, 16 channels per zmm) and "avx2-f16-dw" (nChw8c
// or nChw16c, 8 channels per ymm).
//
// Why: oneDNN 2.6 has no float16 convolution, so "onednn-f16" widens the
// whole input to float32, runs oneDNN's float32 depthwise kernel and rounds
// the float32 output back: three passes over float32 tensors for a layer
// whose own arithmetic is 9 multiply-adds per output. MobileNetV2's 32- and
// 96-channel 112 x 112 layers ran at 2.4x their float32 time that way; here
// 0.28 and 0.36 ms against 0.47 (1 thread). Input planes of 28 x 28 and up.
//
// How: per job (an image, a channel block, a strip of output rows) a thread
// widens the input rows a window needs into a ring of float32 rows in L1
// (each input row once per strip; columns in the padding stay zero),
// accumulates the taps with FMAs from the bias, 8 output pixels at a time
// for the common square filters (4 otherwise). Where the fused post-ops are
// at most one clamp (ReLU, ReLU6, Clip: HalfOutputStage::ClampsThenRound)
// the registers are clamped and stored as float16 straight into the output;
// where the stage tabulates a unary chain (HalfOutputStage::LookUpTable)
// the registers' float16 bits are looked up in that table and stored;
// otherwise each float32 output row goes to the output stage
// (ops/half_output_stage.h), which applies the fused post-ops and rounds to
// float16 as the separate steps would.
//
// Accuracy: float32 products summed in float32 in tap order (kh, kw) from
// the bias, then rounded to float16: within one float16 step of the
// reference's result on the same values (cpu_half_dw_test.cc).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
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
#include "ops/op_util.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {

namespace {

// Everything of one output row's computation that the vector loops read.
struct RowArgs {
  const float* const* rows;  // per kh: the widened input row (column 0 = padded column 0)
  const float* weights;      // [kh][kw][block]
  const float* bias;         // [block]
  float* out;                // [out_w][block]
  int64_t out_w, kernel_h, kernel_w, stride_w, dilation_w, block;
  // Set when the output stage is clamps then one rounding
  // (HalfOutputStage::ClampsThenRound): the row is stored as float16 into
  // the output tensor's row, [out_w][block], instead of `out`.
  uint16_t* out16;
  bool clamp;  // min(max(v, lo), hi) before the rounding
  float lo, hi;
  // Or the output stage's table (HalfOutputStage::LookUpTable): the row
  // stores table[float16 bits of v], the fused chain's result, with no
  // float32 strip between (PP-OCR rec force_float16's hard_swish chains).
  const int* table = nullptr;
};

// Stores output column `ow`'s vector of channels [half, half + 8) / [0, 16):
// float32 into the strip, or clamped and rounded straight into the tensor.
// `lo` and `hi`: the clamp's bounds, broadcast once per row by the caller
// (Bounds256 / Bounds512).
struct Bounds256 {
  __m256 lo, hi;
};
struct Bounds512 {
  __m512 lo, hi;
};
__attribute__((target("avx2,fma,f16c"), always_inline)) inline Bounds256 BoundsOf256(const RowArgs& a) {
  return {_mm256_set1_ps(a.lo), _mm256_set1_ps(a.hi)};
}
__attribute__((target("avx512f,avx512vl,f16c,fma"), always_inline)) inline Bounds512 BoundsOf512(const RowArgs& a) {
  return {_mm512_set1_ps(a.lo), _mm512_set1_ps(a.hi)};
}
__attribute__((target("avx2,fma,f16c"), always_inline)) inline void Store256(const RowArgs& a, int64_t ow, int64_t half,
                                                                             __m256 v, const Bounds256& b) {
  if (a.out16) {
    if (a.table) {
      const __m128i bits = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m256i got =
          _mm256_and_si256(_mm256_i32gather_epi32(a.table, _mm256_cvtepu16_epi32(bits), 2), _mm256_set1_epi32(0xffff));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(a.out16 + ow * a.block + half),
                       _mm_packus_epi32(_mm256_castsi256_si128(got), _mm256_extracti128_si256(got, 1)));
      return;
    }
    if (a.clamp) v = _mm256_min_ps(_mm256_max_ps(v, b.lo), b.hi);
    __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // The register form then a store: Zen 4 runs vcvtps2ph to memory at
    // half the rate.
    __asm__("" : "+x"(h));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(a.out16 + ow * a.block + half), h);
    return;
  }
  _mm256_storeu_ps(a.out + ow * a.block + half, v);
}
__attribute__((target("avx512f,avx512vl,f16c,fma"), always_inline)) inline void Store512(const RowArgs& a, int64_t ow,
                                                                                         __m512 v, const Bounds512& b) {
  if (a.out16) {
    if (a.table) {
      const __m256i bits = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m512i got = _mm512_i32gather_epi32(_mm512_cvtepu16_epi32(bits), a.table, 2);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(a.out16 + ow * 16), _mm512_cvtepi32_epi16(got));
      return;
    }
    if (a.clamp) v = _mm512_min_ps(_mm512_max_ps(v, b.lo), b.hi);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(a.out16 + ow * 16),
                        _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    return;
  }
  _mm512_storeu_ps(a.out + ow * 16, v);
}

// Register-blocked rows for the common filters (KH x KW, stride SW, no
// dilation): kUnrollT outputs at a time (the row's tail as one block of
// fewer), each input vector of the window's
// span loaded once per filter row and multiplied into every output it
// reaches, the row's KW weights held in registers. The generic loops below
// reload each input once per (tap, output): 5 loads per 4 FMAs, load-bound
// (PP-OCR rec's 5 x 5 layers ran at 2x oneDNN's float32 time). KH a constant
// too keeps the accumulators in registers across the filter rows, and an
// empty asm keeps GCC from folding the one load back into each FMA (it did:
// 1 x 1 loads per FMA, MobileNetV2's 144 x 56 x 56 layer 0.19 ms against
// 0.11 with the loads shared, 1 thread, Zen 4). Each output still sums its
// taps in (kh, kw) order from the bias, as the generic loops do. Returns the
// first output column not done (all of them).
constexpr int kUnrollT = 8;

// U outputs from column ow (U <= kUnrollT; fewer for a row's tail).
template <int KH, int KW, int SW, int U>
__attribute__((target("avx2,fma,f16c"), always_inline)) inline void BlockAvx2(const RowArgs& a, int64_t ow,
                                                                              int64_t half, __m256 bias,
                                                                              const Bounds256& bounds) {
  constexpr int kSpan = (U - 1) * SW + KW;  // input vectors the outputs read per filter row
  const int64_t block = a.block;
  __m256 acc[U];
  for (int u = 0; u < U; ++u) acc[u] = bias;
  for (int kh = 0; kh < KH; ++kh) {
    __m256 w[KW];
    for (int kw = 0; kw < KW; ++kw) w[kw] = _mm256_loadu_ps(a.weights + (kh * KW + kw) * block + half);
    const float* x = a.rows[kh] + half + ow * SW * block;
    for (int p = 0; p < kSpan; ++p) {
      __m256 v = _mm256_loadu_ps(x + p * block);
      __asm__("" : "+x"(v));  // one load for up to KW FMAs (BlockAvx512)
      for (int kw = 0; kw < KW; ++kw) {
        const int u = (p - kw) / SW;
        if (p >= kw && (p - kw) % SW == 0 && u < U) acc[u] = _mm256_fmadd_ps(v, w[kw], acc[u]);
      }
    }
  }
  for (int u = 0; u < U; ++u) Store256(a, ow + u, half, acc[u], bounds);
}

template <int KH, int KW, int SW, int U>
__attribute__((target("avx512f,avx512vl,f16c,fma"), always_inline)) inline void BlockAvx512(const RowArgs& a,
                                                                                            int64_t ow, __m512 bias,
                                                                                            const Bounds512& bounds) {
  constexpr int kSpan = (U - 1) * SW + KW;
  __m512 acc[U];
  for (int u = 0; u < U; ++u) acc[u] = bias;
  for (int kh = 0; kh < KH; ++kh) {
    __m512 w[KW];
    for (int kw = 0; kw < KW; ++kw) w[kw] = _mm512_loadu_ps(a.weights + (kh * KW + kw) * 16);
    const float* x = a.rows[kh] + ow * SW * 16;
    for (int p = 0; p < kSpan; ++p) {
      __m512 v = _mm512_loadu_ps(x + p * 16);
      // One load feeding up to KW FMAs: keep the compiler from folding it
      // into each of them (a load per FMA, load-bound on Zen 4).
      __asm__("" : "+v"(v));
      for (int kw = 0; kw < KW; ++kw) {
        const int u = (p - kw) / SW;
        if (p >= kw && (p - kw) % SW == 0 && u < U) acc[u] = _mm512_fmadd_ps(v, w[kw], acc[u]);
      }
    }
  }
  for (int u = 0; u < U; ++u) Store512(a, ow + u, acc[u], bounds);
}

// The row's last `left` (< kUnrollT) outputs as one register block too: the
// small planes' rows (7 and 14 columns) ran most of their outputs through
// the generic loops, at twice oneDNN's float32 time (MobileNetV2's 960
// channels at 7 x 7, AMX Xeon).
#define MIXQ_DW_TAIL(BLOCK, ...)         \
  switch (left) {                        \
    case 1:                              \
      BLOCK<KH, KW, SW, 1>(__VA_ARGS__); \
      break;                             \
    case 2:                              \
      BLOCK<KH, KW, SW, 2>(__VA_ARGS__); \
      break;                             \
    case 3:                              \
      BLOCK<KH, KW, SW, 3>(__VA_ARGS__); \
      break;                             \
    case 4:                              \
      BLOCK<KH, KW, SW, 4>(__VA_ARGS__); \
      break;                             \
    case 5:                              \
      BLOCK<KH, KW, SW, 5>(__VA_ARGS__); \
      break;                             \
    case 6:                              \
      BLOCK<KH, KW, SW, 6>(__VA_ARGS__); \
      break;                             \
    case 7:                              \
      BLOCK<KH, KW, SW, 7>(__VA_ARGS__); \
      break;                             \
    default:                             \
      break;                             \
  }

template <int KH, int KW, int SW>
__attribute__((target("avx2,fma,f16c"))) int64_t RowAvx2T(const RowArgs& a) {
  const Bounds256 bounds = BoundsOf256(a);
  for (int64_t half = 0; half < a.block; half += 8) {
    const __m256 bias = _mm256_loadu_ps(a.bias + half);
    int64_t ow = 0;
    for (; ow + kUnrollT <= a.out_w; ow += kUnrollT) BlockAvx2<KH, KW, SW, kUnrollT>(a, ow, half, bias, bounds);
    const int64_t left = a.out_w - ow;
    MIXQ_DW_TAIL(BlockAvx2, a, ow, half, bias, bounds)
  }
  return a.out_w;
}

template <int KH, int KW, int SW>
__attribute__((target("avx512f,avx512vl,f16c,fma"))) int64_t RowAvx512T(const RowArgs& a) {
  const Bounds512 bounds = BoundsOf512(a);
  const __m512 bias = _mm512_loadu_ps(a.bias);
  int64_t ow = 0;
  for (; ow + kUnrollT <= a.out_w; ow += kUnrollT) BlockAvx512<KH, KW, SW, kUnrollT>(a, ow, bias, bounds);
  const int64_t left = a.out_w - ow;
  MIXQ_DW_TAIL(BlockAvx512, a, ow, bias, bounds)
  return a.out_w;
}
#undef MIXQ_DW_TAIL

using BlockedRow = int64_t (*)(const RowArgs&);

// The register-blocked row for this filter, or null (the generic loops).
// Square 3 x 3 and 5 x 5 windows: the filter height a constant too, so that
// the accumulators stay in registers across the filter rows.
BlockedRow BlockedRowFor(bool avx512, int64_t kernel_h, int64_t kernel_w, int64_t stride_w, int64_t dilation_w) {
  if (dilation_w != 1 || kernel_h != kernel_w) return nullptr;
  if (kernel_w == 3 && stride_w == 1) return avx512 ? RowAvx512T<3, 3, 1> : RowAvx2T<3, 3, 1>;
  if (kernel_w == 3 && stride_w == 2) return avx512 ? RowAvx512T<3, 3, 2> : RowAvx2T<3, 3, 2>;
  if (kernel_w == 5 && stride_w == 1) return avx512 ? RowAvx512T<5, 5, 1> : RowAvx2T<5, 5, 1>;
  if (kernel_w == 5 && stride_w == 2) return avx512 ? RowAvx512T<5, 5, 2> : RowAvx2T<5, 5, 2>;
  return nullptr;
}

// 8 channels per vector; a 16-channel block as two independent halves.
// Output columns from `first` on.
__attribute__((target("avx2,fma,f16c"))) void RowAvx2(const RowArgs& a, int64_t first) {
  const Bounds256 bounds = BoundsOf256(a);
  constexpr int kUnroll = 4;
  const int64_t block = a.block;
  for (int64_t half = 0; half < block; half += 8) {
    const __m256 bias = _mm256_loadu_ps(a.bias + half);
    int64_t ow = first;
    for (; ow + kUnroll <= a.out_w; ow += kUnroll) {
      __m256 acc[kUnroll];
      for (int u = 0; u < kUnroll; ++u) acc[u] = bias;
      for (int64_t kh = 0; kh < a.kernel_h; ++kh) {
        const float* row = a.rows[kh] + half;
        for (int64_t kw = 0; kw < a.kernel_w; ++kw) {
          const __m256 w = _mm256_loadu_ps(a.weights + (kh * a.kernel_w + kw) * block + half);
          const float* x = row + (ow * a.stride_w + kw * a.dilation_w) * block;
          for (int u = 0; u < kUnroll; ++u)
            acc[u] = _mm256_fmadd_ps(_mm256_loadu_ps(x + u * a.stride_w * block), w, acc[u]);
        }
      }
      for (int u = 0; u < kUnroll; ++u) Store256(a, ow + u, half, acc[u], bounds);
    }
    for (; ow < a.out_w; ++ow) {
      __m256 acc = bias;
      for (int64_t kh = 0; kh < a.kernel_h; ++kh) {
        const float* x = a.rows[kh] + half + ow * a.stride_w * block;
        const float* w = a.weights + kh * a.kernel_w * block + half;
        for (int64_t kw = 0; kw < a.kernel_w; ++kw)
          acc = _mm256_fmadd_ps(_mm256_loadu_ps(x + kw * a.dilation_w * block), _mm256_loadu_ps(w + kw * block), acc);
      }
      Store256(a, ow, half, acc, bounds);
    }
  }
}

// 16 channels (one nChw16c block) per vector; output columns from `first` on.
__attribute__((target("avx512f,avx512vl,f16c,fma"))) void RowAvx512(const RowArgs& a, int64_t first) {
  const Bounds512 bounds = BoundsOf512(a);
  constexpr int kUnroll = 4;
  const __m512 bias = _mm512_loadu_ps(a.bias);
  int64_t ow = first;
  for (; ow + kUnroll <= a.out_w; ow += kUnroll) {
    __m512 acc[kUnroll];
    for (int u = 0; u < kUnroll; ++u) acc[u] = bias;
    for (int64_t kh = 0; kh < a.kernel_h; ++kh) {
      const float* row = a.rows[kh];
      for (int64_t kw = 0; kw < a.kernel_w; ++kw) {
        const __m512 w = _mm512_loadu_ps(a.weights + (kh * a.kernel_w + kw) * 16);
        const float* x = row + (ow * a.stride_w + kw * a.dilation_w) * 16;
        for (int u = 0; u < kUnroll; ++u) acc[u] = _mm512_fmadd_ps(_mm512_loadu_ps(x + u * a.stride_w * 16), w, acc[u]);
      }
    }
    for (int u = 0; u < kUnroll; ++u) Store512(a, ow + u, acc[u], bounds);
  }
  for (; ow < a.out_w; ++ow) {
    __m512 acc = bias;
    for (int64_t kh = 0; kh < a.kernel_h; ++kh) {
      const float* x = a.rows[kh] + ow * a.stride_w * 16;
      const float* w = a.weights + kh * a.kernel_w * 16;
      for (int64_t kw = 0; kw < a.kernel_w; ++kw)
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(x + kw * a.dilation_w * 16), _mm512_loadu_ps(w + kw * 16), acc);
    }
    Store512(a, ow, acc, bounds);
  }
}

class HalfDepthwise : public Kernel {
 public:
  explicit HalfDepthwise(bool avx512) : avx512_(avx512) {}
  const char* Name() const override { return avx512_ ? "avx512-f16-dw" : "avx2-f16-dw"; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }
  // The filter and the bias are packed (the residual addend is read).
  bool ReadsInputAtRun(size_t index) const override { return index != 1 && index != 2; }

  Status Init(const KernelInit& init) {
    MIXQ_RETURN_IF_ERROR(ComputeConv2DGeometry(init.attrs, init.inputs, &g_));
    block_ = BlockChannels(init.inputs[0]->layout);
    if (block_ == 0 || g_.in_channels % block_ != 0)
      return Internal("Conv2D (float16 depthwise): needs nChw8c / nChw16c tensors in whole channel blocks");
    const int64_t channels = g_.in_channels, taps = g_.kernel_h * g_.kernel_w;
    // [block of channels][kh][kw][channel in block]; depthwise OIHW and OHWI
    // filters both hold [channel][kh][kw].
    // Then the bias; once per engine (the block in the key: nChw8c and
    // nChw16c plans of one step pack apart).
    const auto* filter = static_cast<const float*>(init.inputs[1]->const_data);
    const auto* bias =
        init.inputs.size() > 2 && init.inputs[2] ? static_cast<const float*>(init.inputs[2]->const_data) : nullptr;
    const int64_t block = block_;
    MIXQ_RETURN_IF_ERROR(PackFloatsOnce(
        init, StrCat(Name(), "/b", block), static_cast<size_t>(channels * taps + channels),
        [&](float* w) {
          for (int64_t c = 0; c < channels; ++c)
            for (int64_t t = 0; t < taps; ++t) w[((c / block) * taps + t) * block + c % block] = filter[c * taps + t];
          if (bias) std::memcpy(w + channels * taps, bias, static_cast<size_t>(channels) * sizeof(float));
        },
        &packed_, &private_bytes_));
    weights_ = packed_->data();
    bias_ = weights_ + channels * taps;
    // Widened rows reach every column a window touches, the pads included.
    padded_w_ = std::max(g_.pad_left + g_.in_w, (g_.out_w - 1) * g_.stride_w + (g_.kernel_w - 1) * g_.dilation_w + 1);
    ring_rows_ = (g_.kernel_h - 1) * g_.dilation_h + 1;
    zero_row_.assign(static_cast<size_t>(padded_w_ * block_), 0.0f);
    stage_ = std::make_unique<HalfOutputStage>(init);
    store_ = DirectStoreOf(*stage_);
    if (!store_.direct && stage_->LookUpTable()) {
      store_.direct = true;
      table_ = reinterpret_cast<const int*>(stage_->LookUpTable());
    }
    blocked_row_ = BlockedRowFor(avx512_, g_.kernel_h, g_.kernel_w, g_.stride_w, g_.dilation_w);
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int64_t blocks = g_.in_channels / block_;
    const int threads = std::max(1, omp_get_max_threads());
    // Strips of output rows: enough jobs for every thread, and float32
    // outputs of at most kStripFloats (L2) for one call of the output stage.
    constexpr int64_t kStripFloats = 32 * 1024;
    const int64_t images = g_.batch * blocks, row_floats = g_.out_w * block_;
    const int64_t max_rows = std::max<int64_t>(1, kStripFloats / row_floats);
    int64_t strips = std::clamp<int64_t>((4 * threads + images - 1) / images, 1, (g_.out_h + 3) / 4);
    strips = std::max(strips, (g_.out_h + max_rows - 1) / max_rows);
    const int64_t strip_rows = (g_.out_h + strips - 1) / strips, items = images * strips;
    // Consecutive strips per job, a few jobs per thread: small planes (many
    // blocks of few rows) pay the scheduling once per job, not per strip.
    const int64_t jobs = std::min<int64_t>(items, 4 * threads);
    if (workers_.size() < static_cast<size_t>(threads)) workers_.resize(static_cast<size_t>(threads));
    const uint16_t* x = in[0].Data<const uint16_t>();
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1 && threads > 1)
    for (int64_t job = 0; job < jobs; ++job) {
      Worker* w = &workers_[static_cast<size_t>(omp_get_thread_num())];
      for (int64_t item = job * items / jobs; item < (job + 1) * items / jobs; ++item) {
        const int64_t image = item / strips, oh0 = item % strips * strip_rows;
        RunStrip(x, image, oh0, std::min(g_.out_h, oh0 + strip_rows), w, in, out[0]);
      }
    }
    return Status::OK();
  }

 private:
  struct Worker {
    std::vector<float> ring, out_row;  // out_row: the strip's float32 outputs
    std::vector<int64_t> loaded;       // per ring slot: the input row it holds, -1 none
    std::vector<const float*> rows;    // per kh: the row a window reads
  };

  // Output rows [oh0, oh1) of `image` (batch index * blocks + channel block).
  void RunStrip(const uint16_t* x, int64_t image, int64_t oh0, int64_t oh1, Worker* w,
                const std::vector<TensorView>& in, const TensorView& out) const {
    const int64_t row_floats = padded_w_ * block_;
    w->ring.assign(static_cast<size_t>(ring_rows_ * row_floats), 0.0f);  // padding columns stay zero
    w->loaded.assign(static_cast<size_t>(ring_rows_), -1);
    const int64_t out_row_floats = g_.out_w * block_;
    if (!store_.direct) w->out_row.resize(static_cast<size_t>((oh1 - oh0) * out_row_floats));
    const int64_t block = image % (g_.in_channels / block_);
    const uint16_t* plane = x + image * g_.in_h * g_.in_w * block_;
    std::vector<const float*>& rows = w->rows;
    rows.resize(static_cast<size_t>(g_.kernel_h));
    RowArgs args{rows.data(),
                 weights_ + block * g_.kernel_h * g_.kernel_w * block_,
                 bias_ + block * block_,
                 w->out_row.data(),
                 g_.out_w,
                 g_.kernel_h,
                 g_.kernel_w,
                 g_.stride_w,
                 g_.dilation_w,
                 block_,
                 nullptr,
                 store_.clamp,
                 store_.lo,
                 store_.hi,
                 table_};
    // Rows oh0..oh1 of the image are contiguous in the blocked output.
    uint16_t* out16 = store_.direct ? out.Data<uint16_t>() + (image * g_.out_h + oh0) * out_row_floats : nullptr;
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      for (int64_t kh = 0; kh < g_.kernel_h; ++kh) {
        const int64_t ih = oh * g_.stride_h - g_.pad_top + kh * g_.dilation_h;
        if (ih < 0 || ih >= g_.in_h) {
          rows[static_cast<size_t>(kh)] = zero_row_.data();
          continue;
        }
        const int64_t slot = ih % ring_rows_;
        float* row = w->ring.data() + slot * row_floats;
        if (w->loaded[static_cast<size_t>(slot)] != ih) {
          kernels::HalfToFloatRow(plane + ih * g_.in_w * block_, row + g_.pad_left * block_, g_.in_w * block_);
          w->loaded[static_cast<size_t>(slot)] = ih;
        }
        rows[static_cast<size_t>(kh)] = row;
      }
      if (store_.direct)
        args.out16 = out16 + (oh - oh0) * out_row_floats;
      else
        args.out = w->out_row.data() + (oh - oh0) * out_row_floats;
      const int64_t first = blocked_row_ ? blocked_row_(args) : 0;
      if (avx512_)
        RowAvx512(args, first);
      else
        RowAvx2(args, first);
    }
    if (store_.direct) return;
    stage_->Apply(w->out_row.data(), (oh1 - oh0) * out_row_floats, (image * g_.out_h + oh0) * out_row_floats, in, out);
  }

  bool avx512_;
  BlockedRow blocked_row_ = nullptr;  // the register-blocked row for this filter, if any
  ConvGeometry g_;
  int64_t block_ = 0, padded_w_ = 0, ring_rows_ = 0;
  std::shared_ptr<const std::vector<float>> packed_;  // the engine's (init.weights), or this kernel's
  const float* weights_ = nullptr;                    // into packed_: [channel block][kh][kw][channel in block]
  const float* bias_ = nullptr;                       // into packed_: [channel]
  int64_t private_bytes_ = 0;
  std::vector<float> zero_row_;
  std::unique_ptr<HalfOutputStage> stage_;
  // Whether the rows store float16 themselves, and after which clamp.
  HalfDirectStore store_;
  const int* table_ = nullptr;   // the stage's chain table where the rows look their results up
  std::vector<Worker> workers_;  // one per OpenMP thread
};

// A depthwise convolution between float16 tensors, `block` channels per
// blocked layout (0: the layouts are not asked), const FLOAT32 filter and
// bias, post-ops the output stage applies, NCHW activations.
bool SupportsShape(const KernelInit& init) {
  ConvGeometry g;
  if (!HalfConvOperands(init, &g) || g.group != g.in_channels || g.group != g.out_channels ||
      g.input_axes.pos[1] != 1 || g.output_axes.pos[1] != 1 || g.out_h < 1 || g.out_w < 1)
    return false;
  // Every plane size: below 28 x 28 these kernels once ran behind
  // onednn-f16 (a job per channel block costing more than float32 copies that
  // fit in L2), but since their rows store float16 from registers they win
  // at 2 threads on MobileNetV2's 14 x 14 and 7 x 7 layers (0.039 -> 0.019
  // and 0.033 -> 0.020 ms) and tie at 1 thread.
  if (init.ComputeOf(0) != DataType::FLOAT16 && init.ComputeOf(0) != DataType::FLOAT32) return false;
  return HalfOutputStage::Supports(init);
}

// The layouts this kernel runs in: input, output and a residual addend all
// in `block` (nChw16c only for the AVX-512 kernel), channels in whole blocks.
bool LayoutsFit(const KernelInit& init, MemoryLayout block, bool avx512) {
  const int64_t channels = BlockChannels(block);
  if (channels == 0 || (avx512 && channels != 16)) return false;
  if (init.inputs[0]->shape.size() != 4 || init.inputs[0]->shape[1] % channels != 0) return false;
  return true;
}

// The kernel runs with input, output and every residual addend in one
// blocked layout.
template <bool kAvx512>
bool RunsInLayouts(const KernelInit& init) {
  return OneLayoutThroughout(init) && LayoutsFit(init, init.inputs[0]->layout, kAvx512);
}

// Plain tensors, or a mix of plain and blocked ones, are taken for the
// selection and the layout pass only; RunsInLayouts (keep_with_layouts) then
// gives such a step to the next kernel (onednn-f16, which reorders), as the
// pointwise kernels do (cpu_half_pw.cc says why). Declining a mix here made
// the layout pass send a blocked producer back to plain: PP-OCR rec's 240 ->
// 480 pointwise layer, whose 5 x 5 depthwise consumer feeds a plain SE
// block, ran 0.56 -> 0.65 ms at 2 threads that way.
bool Supports(const KernelInit& init) {
  return SupportsShape(init) && AddendsInOutputLayout(init);
}

template <bool kAvx512>
void BlockedSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* ins, std::vector<bool>* outs) {
  HalfConvBlockedSlots(init, SupportsShape(init) && LayoutsFit(init, block, kAvx512), ins, outs);
}

template <bool kAvx512>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<HalfDepthwise>(kAvx512);
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON

MIXQ_REGISTER_KERNELS(conv2d, half_dw) {
  // Above onednn-f16 (10): no float32 copies of the tensors.
  mixq::ops::RegisterKernel({"avx2-f16-dw", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 12, mixq::ops::Supports,
                             mixq::ops::Make<false>, mixq::ops::BlockedSlots<false>, mixq::ops::RunsInLayouts<false>,
                             mixq::ops::AddendAlias});
  mixq::ops::RegisterKernel({"avx512-f16-dw", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx512, 13,
                             mixq::ops::Supports, mixq::ops::Make<true>, mixq::ops::BlockedSlots<true>,
                             mixq::ops::RunsInLayouts<true>, mixq::ops::AddendAlias});
}
