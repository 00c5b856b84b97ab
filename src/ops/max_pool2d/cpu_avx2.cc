// AVX2 MaxPool2D for NCHW FLOAT32, INT8 and INT16 (quantized tensors pool on their
// integers: max commutes with a monotone quantization). Per channel plane a
// thread copies the input once into a plane padded with the lowest value and
// split by column phase (stride s: s phases), so that every tap of a vector
// of outputs is one unaligned load; the taps are combined in the reference's
// order with its comparison, so results are bit-exact with the reference:
// floats keep the first NaN of a window and, among equal values (0.0 and
// -0.0), the first one.
// "avx2-f16": FLOAT16 storage, each plane widened with F16C into the float
// plane and the output rounded back; the max of float16 values is one of
// them, so the rounding is exact and the result is the Cast path's, bit for bit.
// INT8 / INT16 codes the plan stores channels-last (MemoryLayout::kChannelsLast)
// pool pixel vector by pixel vector (RunChannelsLast); so do FLOAT32 tensors
// the plan keeps in oneDNN's nChw8c / nChw16c between convolutions
// (RunBlocked: each channel block an image of 8 or 16 channels), with the
// taps combined in the same order: bit-exact too; and FLOAT16 storage in
// those layouts (each tap widened with F16C, the max stored back exactly).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/half_io.h"
#include "kernels/parallel.h"
#include "ops/half_storage.h"
#include "ops/kernel_registry.h"
#include "ops/max_pool2d/blocked_row_avx512.h"
#include "ops/pool_params.h"
#include "ops/pool_phase_plane.h"
#include "util/half.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

#define MIXQ_AVX2 __attribute__((target("avx2")))

// best = (v > best || (v is NaN && best is not)) ? v : best, 8 floats.
MIXQ_AVX2 inline __m256 Combine(__m256 best, __m256 v) {
  const __m256 greater = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
  const __m256 first_nan = _mm256_andnot_ps(_mm256_cmp_ps(best, best, _CMP_UNORD_Q), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  return _mm256_blendv_ps(best, v, _mm256_or_ps(greater, first_nan));
}

// Eight values of a blocked row, float32 or float16 storage (kernels/half_io.h).
using kernels::Load8;
using kernels::Store8;

template <typename T>
class MaxPoolAvx2 : public Kernel {
 public:
  static constexpr int64_t kLanes = 32 / sizeof(T);
  const char* Name() const override { return half_ ? (bf16_ ? "avx2-bf16" : "avx2-f16") : "avx2"; }

  Status Init(const KernelInit& init) {
    bf16_ = IsNarrowStorage(*init.inputs[0], DataType::BFLOAT16);
    half_ = IsHalfStorage(*init.inputs[0]) || bf16_;
    channels_last_ = init.inputs[0]->layout == MemoryLayout::kChannelsLast;
    block_ = BlockChannels(init.inputs[0]->layout);
    avx512_ = kernels::BestIsa() >= kernels::Isa::kAvx512;
    MIXQ_RETURN_IF_ERROR(ReadPoolGeometry(init.attrs, init.inputs, true, &g_));
    out_w_padded_ = (g_.out_w + kLanes - 1) / kLanes * kLanes;
    // Rows and columns the windows reach (ceil_mode may reach past the pads).
    rows_ = std::max(g_.in_h + g_.pad_top + g_.pad_bottom,
                     (g_.out_h - 1) * g_.stride_h + (g_.kernel_h - 1) * g_.dilation_h + 1);
    phase_w_ = out_w_padded_ + (g_.kernel_w - 1) * g_.dilation_w / g_.stride_w + 1;
    for (int64_t kh = 0; kh < g_.kernel_h; ++kh)
      for (int64_t kw = 0; kw < g_.kernel_w; ++kw) {
        const int64_t off = kw * g_.dilation_w;
        tap_offset_.push_back(((off % g_.stride_w) * rows_ + kh * g_.dilation_h) * phase_w_ + off / g_.stride_w);
      }
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const T* x = in[0].Data<const T>();
    T* y = out[0].Data<T>();
    if constexpr (sizeof(T) < 4) {
      if (channels_last_) return RunChannelsLast(x, y);
    } else {
      if (channels_last_ && bf16_)
        return RunBFloat16ChannelsLast(in[0].Data<const uint16_t>(), out[0].Data<uint16_t>());
      if (block_ > 0 && half_) return RunBlocked(in[0].Data<const uint16_t>(), out[0].Data<uint16_t>());
      if (block_ > 0) return RunBlocked(x, y);
    }
    const int64_t planes = g_.batch * g_.channels;
    const int threads = std::max(1, omp_get_max_threads());
    if (scratch_.size() < static_cast<size_t>(threads)) scratch_.resize(static_cast<size_t>(threads));
#pragma omp parallel for schedule(static) if (planes > 1 && planes * g_.in_h * g_.in_w > kernels::kMinParallelElements)
    for (int64_t p = 0; p < planes; ++p) {
      Scratch& s = scratch_[static_cast<size_t>(omp_get_thread_num())];
      if constexpr (sizeof(T) == 4) {
        if (half_) {
          const int64_t in_plane = g_.in_h * g_.in_w, out_plane = g_.out_h * g_.out_w;
          s.wide.resize(static_cast<size_t>(out_plane));
          Widen(in[0].Data<const uint16_t>() + p * in_plane, &s);
          Pool(&s, s.wide.data());
          kernels::FloatToNarrow16Row(bf16_, s.wide.data(), out[0].Data<uint16_t>() + p * out_plane, out_plane);
          continue;
        }
      }
      Widen(x + p * g_.in_h * g_.in_w, &s);
      Pool(&s, y + p * g_.out_h * g_.out_w);
    }
    return Status::OK();
  }

 private:
  struct Scratch {
    std::vector<T> plane, row;
    std::vector<float> line, wide;           // float16 storage: a widened input line; the float output plane
    std::vector<const T*> taps;              // channels-last: the window's pixels inside the input
    std::vector<const float*> float_taps;    // the same for a blocked FLOAT32 tensor
    std::vector<const uint16_t*> half_taps;  // and a blocked FLOAT16 one
  };

  static T Lowest() {
    return std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                : std::numeric_limits<T>::lowest();
  }

  // S: T, or uint16_t (float16 storage, T float): each line widened first.
  template <typename S>
  void Widen(const S* x, Scratch* s) const {
    SplitByStridePhase<T>(x, g_, rows_, phase_w_, Lowest(), &s->plane, &s->line, bf16_);
  }

  MIXQ_AVX2 void Pool(Scratch* s, T* y) const {
    s->row.resize(static_cast<size_t>(out_w_padded_));
    const size_t taps = tap_offset_.size();
    for (int64_t oh = 0; oh < g_.out_h; ++oh) {
      const T* base = s->plane.data() + oh * g_.stride_h * phase_w_;
      // Full vectors straight into y; the row's tail through s->row.
      T* dst_row = y + oh * g_.out_w;
      for (int64_t ow = 0; ow < out_w_padded_; ow += kLanes) {
        T* dst = ow + kLanes <= g_.out_w ? dst_row + ow : s->row.data() + ow;
        if constexpr (sizeof(T) == 4) {
          __m256 best = _mm256_loadu_ps(reinterpret_cast<const float*>(base + tap_offset_[0] + ow));
          for (size_t t = 1; t < taps; ++t)
            best = Combine(best, _mm256_loadu_ps(reinterpret_cast<const float*>(base + tap_offset_[t] + ow)));
          _mm256_storeu_ps(reinterpret_cast<float*>(dst), best);
        } else {
          __m256i best = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + tap_offset_[0] + ow));
          for (size_t t = 1; t < taps; ++t) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + tap_offset_[t] + ow));
            best = sizeof(T) == 2 ? _mm256_max_epi16(best, v) : _mm256_max_epi8(best, v);
          }
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), best);
        }
        if (dst != dst_row + ow)
          std::copy(s->row.data() + ow, s->row.data() + std::min(ow + kLanes, g_.out_w), dst_row + ow);
      }
    }
  }

  // NHWC (an NCHW tensor the plan stores channels-last): per output pixel,
  // the max of its window's pixel vectors, 32 bytes of channels at a time;
  // taps in the padding are skipped (they hold the lowest value, which
  // changes no max), so the result is the reference's.
  // The OpenMP region outlines the loop body into a function of its own,
  // which would not inherit the target attribute: the AVX2 work is in
  // PoolRowChannelsLast.
  Status RunChannelsLast(const T* x, T* y) {
    const int64_t rows = g_.batch * g_.out_h;
    const int threads = std::max(1, omp_get_max_threads());
    if (scratch_.size() < static_cast<size_t>(threads)) scratch_.resize(static_cast<size_t>(threads));
    // Work counted in window taps: ResNet-50 QDQ's 3 x 3 pool to 56 x 56 x 64
    // (200k outputs, 1.8M taps) ran on one thread, 0.064 ms at 1 and 2.
    const int64_t taps = rows * g_.out_w * g_.channels * g_.kernel_h * g_.kernel_w;
#pragma omp parallel for schedule(static) if (rows > 1 && taps > kernels::kMinParallelElements)
    for (int64_t row = 0; row < rows; ++row)
      PoolRowChannelsLast(x, y, row, &scratch_[static_cast<size_t>(omp_get_thread_num())].taps);
    return Status::OK();
  }

  // NHWC: the pixel vectors of output pixel (oh, ow)'s window inside the
  // image, in row-major order, taps in the padding skipped (they hold the
  // lowest value, which changes no max); returns how many.
  template <typename S>
  size_t WindowTaps(const S* image, int64_t oh, int64_t ow, const S** taps) const {
    return WindowTaps(image, oh, ow, taps, g_.channels);
  }
  // The same with `pixel` values per pixel vector.
  template <typename S>
  size_t WindowTaps(const S* image, int64_t oh, int64_t ow, const S** taps, int64_t pixel) const {
    return PoolWindowTaps(g_, image, oh, ow, pixel, taps);
  }

  // Output row `row` (image row / out_h, output row row % out_h).
  MIXQ_AVX2 void PoolRowChannelsLast(const T* x, T* y, int64_t row, std::vector<const T*>* tap_list) const {
    const int64_t c_count = g_.channels, vector_end = c_count / kLanes * kLanes;
    std::vector<const T*>& taps = *tap_list;
    taps.resize(static_cast<size_t>(g_.kernel_h * g_.kernel_w));
    const int64_t n = row / g_.out_h, oh = row % g_.out_h;
    const T* image = x + n * g_.in_h * g_.in_w * c_count;
    for (int64_t ow = 0; ow < g_.out_w; ++ow) {
      const size_t count = WindowTaps(image, oh, ow, taps.data());
      T* dst = y + ((n * g_.out_h + oh) * g_.out_w + ow) * c_count;
      for (int64_t c = 0; c < vector_end; c += kLanes) {
        __m256i best = sizeof(T) == 2 ? _mm256_set1_epi16(std::numeric_limits<int16_t>::lowest())
                                      : _mm256_set1_epi8(std::numeric_limits<int8_t>::lowest());
        for (size_t t = 0; t < count; ++t) {
          const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(taps[t] + c));
          best = sizeof(T) == 2 ? _mm256_max_epi16(best, v) : _mm256_max_epi8(best, v);
        }
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + c), best);
      }
      for (int64_t c = vector_end; c < c_count; ++c) {
        T best = Lowest();
        for (size_t t = 0; t < count; ++t) best = std::max(best, taps[t][c]);
        dst[c] = best;
      }
    }
  }

  // bfloat16 storage NHWC (between onednn-bf16 convolutions): per output
  // pixel, its window's pixel vectors widened 8 channels at a time and
  // combined in row-major order as the float path does (the first NaN
  // wins), the max narrowed back (exact: it is one of the inputs, NaN
  // quieted as the Cast path's rounding quiets it).
  Status RunBFloat16ChannelsLast(const uint16_t* x, uint16_t* y) {
    const int64_t rows = g_.batch * g_.out_h;
#pragma omp parallel for schedule(static) if (rows > 1 && rows * g_.out_w * g_.channels > kernels::kMinParallelElements)
    for (int64_t row = 0; row < rows; ++row) PoolRowBFloat16ChannelsLast(x, y, row);
    return Status::OK();
  }

  __attribute__((target("avx2,f16c"))) void PoolRowBFloat16ChannelsLast(const uint16_t* x, uint16_t* y,
                                                                        int64_t row) const {
    const int64_t c_count = g_.channels, vector_end = c_count / 8 * 8;
    std::vector<const uint16_t*> taps(static_cast<size_t>(g_.kernel_h * g_.kernel_w));
    const int64_t n = row / g_.out_h, oh = row % g_.out_h;
    const uint16_t* image = x + n * g_.in_h * g_.in_w * c_count;
    const float lowest = -std::numeric_limits<float>::infinity();
    for (int64_t ow = 0; ow < g_.out_w; ++ow) {
      const size_t count = WindowTaps(image, oh, ow, taps.data());
      uint16_t* dst = y + ((n * g_.out_h + oh) * g_.out_w + ow) * c_count;
      // 32 channels at a time: four independent chains of compares hide
      // each other's latency (one chain: 0.6 ms for ResNet-50's stem pool).
      int64_t c = 0;
      for (; c + 32 <= c_count; c += 32) {
        __m256 best[4];
        for (int u = 0; u < 4; ++u) best[u] = _mm256_set1_ps(lowest);
        for (size_t t = 0; t < count; ++t)
          for (int u = 0; u < 4; ++u)
            best[u] = Combine(best[u], kernels::BFloat16x8ToFloat(
                                           _mm_loadu_si128(reinterpret_cast<const __m128i*>(taps[t] + c + 8 * u))));
        for (int u = 0; u < 4; ++u)
          _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + c + 8 * u), kernels::FloatToBFloat16x8(best[u]));
      }
      for (; c < vector_end; c += 8) {
        __m256 best = _mm256_set1_ps(lowest);
        for (size_t t = 0; t < count; ++t)
          best =
              Combine(best, kernels::BFloat16x8ToFloat(_mm_loadu_si128(reinterpret_cast<const __m128i*>(taps[t] + c))));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + c), kernels::FloatToBFloat16x8(best));
      }
      for (int64_t c = vector_end; c < c_count; ++c) {
        float best = lowest;
        for (size_t t = 0; t < count; ++t) {
          const float v = BFloat16ToFloat(taps[t][c]);
          if (v > best || (std::isnan(v) && !std::isnan(best))) best = v;
        }
        dst[c] = FloatToBFloat16(best);
      }
    }
  }

  // nChw8c / nChw16c FLOAT32 (S float) or FLOAT16 storage (S uint16_t):
  // one row of outputs of one channel block per task; the work is in
  // PoolRowBlocked (see RunChannelsLast on OpenMP).
  template <typename S>
  Status RunBlocked(const S* x, S* y) {
    const int64_t blocks = g_.channels / block_, rows = g_.batch * blocks * g_.out_h;
    const int threads = std::max(1, omp_get_max_threads());
    if (scratch_.size() < static_cast<size_t>(threads)) scratch_.resize(static_cast<size_t>(threads));
#pragma omp parallel for schedule(static) if (rows > 1 && rows * g_.out_w * block_ > kernels::kMinParallelElements)
    for (int64_t row = 0; row < rows; ++row) {
      Scratch& s = scratch_[static_cast<size_t>(omp_get_thread_num())];
      if constexpr (std::is_same_v<S, float>)
        PoolRowBlocked(x, y, row, &s.float_taps);
      else
        PoolRowBlocked(x, y, row, &s.half_taps);
    }
    return Status::OK();
  }

  // Output row `row` (block image row / out_h, output row row % out_h): per
  // output pixel, its window's pixel vectors inside the image combined in
  // row-major order from the lowest value (taps in the padding, which hold
  // it, change nothing), as the plain path combines them. S: float, or
  // uint16_t for float16 storage (each tap widened exactly; the maximum, one
  // of them, rounds back to its own bits).
  template <typename S>
  __attribute__((target("avx2,f16c"))) void PoolRowBlocked(const S* x, S* y, int64_t row,
                                                           std::vector<const S*>* tap_list) const {
    const int64_t image = row / g_.out_h, oh = row % g_.out_h;
    const S* in = x + image * g_.in_h * g_.in_w * block_;
    S* dst = y + (image * g_.out_h + oh) * g_.out_w * block_;
    if (avx512_ && block_ == 16 && !bf16_) return MaxPoolRowBlocked16Avx512(g_, in, oh, dst);
    std::vector<const S*>& taps = *tap_list;
    taps.resize(static_cast<size_t>(g_.kernel_h * g_.kernel_w));
    const WholeWindows whole = WholeWindowsOf(g_, oh);
    ExactPixels(in, oh, 0, whole.ow0, taps.data(), dst);
    int64_t ow = whole.ow0;
    if (whole.kh0 < whole.kh1)
      ow = block_ == 8 ? WholeWindowsInFours<8>(in, oh, whole, dst) : WholeWindowsInFours<16>(in, oh, whole, dst);
    ExactPixels(in, oh, ow, g_.out_w, taps.data(), dst);
  }

  // Pixels [ow, end) of row oh through their tap lists, each tap combined exactly.
  template <typename S>
  __attribute__((target("avx2,f16c"))) void ExactPixels(const S* in, int64_t oh, int64_t ow, int64_t end,
                                                        const S** taps, S* dst) const {
    const __m256 lowest = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    for (; ow < end; ++ow) {
      const size_t count = WindowTaps(in, oh, ow, taps, block_);
      for (int64_t c = 0; c < block_; c += 8) {
        __m256 best = lowest;
        for (size_t t = 0; t < count; ++t) best = Combine(best, Load8(taps[t] + c));
        Store8(dst + ow * block_ + c, best);
      }
    }
  }

  // Whole windows of row oh from whole.ow0, four output pixels at a time
  // (blocked_row_avx512.h says how: vmaxps chains, NaNs through the exact
  // combination), B channels per pixel; returns the first pixel not done.
  template <int64_t B, typename S>
  __attribute__((target("avx2,f16c"))) int64_t WholeWindowsInFours(const S* in, int64_t oh, const WholeWindows& whole,
                                                                   S* dst) const {
    constexpr int kVectors = B / 8;
    const int64_t pixel = g_.stride_w * B, row = g_.dilation_h * g_.in_w * B, tap = g_.dilation_w * B;
    const int64_t ih0 = oh * g_.stride_h - g_.pad_top + whole.kh0 * g_.dilation_h;
    int64_t ow = whole.ow0;
    for (; ow + 4 <= whole.ow1; ow += 4) {
      __m256 m[4][kVectors];
      for (auto& p : m)
        for (auto& v : p) v = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
      __m256 nan = _mm256_setzero_ps();
      const S* base = in + (ih0 * g_.in_w + ow * g_.stride_w - g_.pad_left) * B;
      for (int64_t kh = whole.kh0; kh < whole.kh1; ++kh, base += row) {
        const S* t = base;
        for (int64_t kw = 0; kw < g_.kernel_w; ++kw, t += tap)
          for (int p = 0; p < 4; ++p)
            for (int c = 0; c < kVectors; ++c) {
              const __m256 v = Load8(t + p * pixel + c * 8);
              nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
              m[p][c] = _mm256_max_ps(v, m[p][c]);  // ties keep best (vmaxps returns its second operand)
            }
      }
      if (_mm256_movemask_ps(nan) != 0) break;  // these four and the rest exactly
      for (int p = 0; p < 4; ++p)
        for (int c = 0; c < kVectors; ++c) Store8(dst + (ow + p) * B + c * 8, m[p][c]);
    }
    return ow;
  }

  PoolGeometry g_;
  int64_t block_ = 0;    // channels per block of a blocked FLOAT32 / FLOAT16 tensor; 0: not blocked
  bool avx512_ = false;  // nChw16c FLOAT32 / FLOAT16 rows on AVX-512 (blocked_row_avx512.h)
  bool channels_last_ = false;
  bool half_ = false;  // 16-bit float storage: float16, or bfloat16 (bf16_)
  bool bf16_ = false;
  int64_t rows_ = 0, out_w_padded_ = 0, phase_w_ = 0;
  std::vector<int64_t> tap_offset_;
  std::vector<Scratch> scratch_;
};

bool Supports(const KernelInit& init) {
  if (init.inputs.size() != 1 || !init.inputs[0] || init.outputs.size() != 1 || init.HasPostOps()) return false;
  const ValueInfo& x = *init.inputs[0];
  const bool f32 = x.dtype == DataType::FLOAT32 && !x.narrowed;
  const bool integer = (x.dtype == DataType::INT8 || x.dtype == DataType::INT16) && x.quant;
  if (!(f32 || integer) || init.outputs[0].dtype != x.dtype) return false;
  if (init.attrs.Str("layout", "NCHW") != "NCHW") return false;
  // Plain, an integer tensor stored channels-last in and out, or a FLOAT32
  // one blocked in and out in whole channel blocks (LayoutSlots).
  const MemoryLayout layout = x.layout;
  const bool blocked = layout == MemoryLayout::kBlocked8 || layout == MemoryLayout::kBlocked16;
  if (layout != init.outputs[0].layout ||
      (layout != MemoryLayout::kPlain && !(integer && layout == MemoryLayout::kChannelsLast) &&
       !(f32 && blocked && x.shape.size() == 4 && x.shape[1] % BlockChannels(layout) == 0)))
    return false;
  PoolGeometry g;
  return ReadPoolGeometry(init.attrs, init.inputs, true, &g).ok() && ir::IsStatic(x.shape) && g.out_h > 0 &&
         g.out_w > 0;
}

// KernelDef::blocked_slots: int8 / int16 codes pool in kChannelsLast too,
// FLOAT32 in nChw8c / nChw16c where the channels fill whole blocks.
void LayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs, std::vector<bool>* outputs) {
  const bool integer =
      init.inputs[0] && (init.inputs[0]->dtype == DataType::INT8 || init.inputs[0]->dtype == DataType::INT16);
  const bool blocked = block == MemoryLayout::kBlocked8 || block == MemoryLayout::kBlocked16;
  bool ok = Supports(init) && (block == MemoryLayout::kChannelsLast ? integer : blocked && !integer);
  if (ok && blocked) {
    const ir::Shape& shape = init.inputs[0]->shape;
    ok = shape.size() == 4 && shape[1] % BlockChannels(block) == 0;
  }
  inputs->assign(init.inputs.size(), ok);
  outputs->assign(init.outputs.size(), ok);
}

// FLOAT16 (kNarrow) or BFLOAT16 storage in and out: max picks one of the
// widened inputs, so the rounded output is that input exactly.
template <DataType kNarrow>
bool SupportsHalf(const KernelInit& init) {
  if (init.inputs.size() != 1 || !init.inputs[0] || init.outputs.size() != 1 || init.HasPostOps()) return false;
  if (!IsNarrowStorage(*init.inputs[0], kNarrow) || !IsNarrowStorage(init.outputs[0], kNarrow)) return false;
  // Plain, bfloat16 stored channels-last in and out (LayoutSlotsBFloat16),
  // or float16 blocked in and out in whole channel blocks (LayoutSlotsHalf).
  const MemoryLayout layout = init.inputs[0]->layout;
  const bool blocked = layout == MemoryLayout::kBlocked8 || layout == MemoryLayout::kBlocked16;
  if (layout != init.outputs[0].layout ||
      (layout != MemoryLayout::kPlain && !(kNarrow == DataType::BFLOAT16 && layout == MemoryLayout::kChannelsLast) &&
       !(kNarrow == DataType::FLOAT16 && blocked && init.inputs[0]->shape.size() == 4 &&
         init.inputs[0]->shape[1] % BlockChannels(layout) == 0)))
    return false;
  if (init.attrs.Str("layout", "NCHW") != "NCHW") return false;
  PoolGeometry g;
  return ReadPoolGeometry(init.attrs, init.inputs, true, &g).ok() && ir::IsStatic(init.inputs[0]->shape) &&
         g.out_h > 0 && g.out_w > 0;
}

// KernelDef::blocked_slots of avx2-bf16: bfloat16 pools in kChannelsLast too.
void LayoutSlotsBFloat16(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                         std::vector<bool>* outputs) {
  const bool ok = block == MemoryLayout::kChannelsLast && SupportsHalf<DataType::BFLOAT16>(init);
  inputs->assign(init.inputs.size(), ok);
  outputs->assign(init.outputs.size(), ok);
}

// KernelDef::blocked_slots of avx2-f16: float16 pools in nChw8c / nChw16c
// too, where the channels fill whole blocks (a blocked convolution's output
// read and written as it is: ResNet-50's stem).
void LayoutSlotsHalf(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                     std::vector<bool>* outputs) {
  const ir::Shape& shape = init.inputs[0]->shape;
  const bool ok = (block == MemoryLayout::kBlocked8 || block == MemoryLayout::kBlocked16) &&
                  SupportsHalf<DataType::FLOAT16>(init) && shape.size() == 4 && shape[1] % BlockChannels(block) == 0;
  inputs->assign(init.inputs.size(), ok);
  outputs->assign(init.outputs.size(), ok);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  if (init.inputs[0]->dtype == DataType::INT8) {
    auto k = std::make_unique<MaxPoolAvx2<int8_t>>();
    MIXQ_RETURN_IF_ERROR(k->Init(init));
    *kernel = std::move(k);
  } else if (init.inputs[0]->dtype == DataType::INT16) {
    auto k = std::make_unique<MaxPoolAvx2<int16_t>>();
    MIXQ_RETURN_IF_ERROR(k->Init(init));
    *kernel = std::move(k);
  } else {  // FLOAT32, or FLOAT16 storage pooled as float
    auto k = std::make_unique<MaxPoolAvx2<float>>();
    MIXQ_RETURN_IF_ERROR(k->Init(init));
    *kernel = std::move(k);
  }
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(max_pool2d, avx2) {
  mixq::ops::RegisterKernel({"avx2", mixq::OpKind::kMaxPool2D, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports,
                             mixq::ops::Make, mixq::ops::LayoutSlots});
  mixq::ops::RegisterKernel({"avx2-f16", mixq::OpKind::kMaxPool2D, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::SupportsHalf<mixq::DataType::FLOAT16>, mixq::ops::Make,
                             mixq::ops::LayoutSlotsHalf});
  mixq::ops::RegisterKernel({"avx2-bf16", mixq::OpKind::kMaxPool2D, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::SupportsHalf<mixq::DataType::BFLOAT16>, mixq::ops::Make,
                             mixq::ops::LayoutSlotsBFloat16});
}
