// AVX2 int8 depthwise Conv2D (one input and one output channel per group)
// for NCHW activations, fused like avx2-int8: int8 in, int8 / float32 /
// float16 out. Per channel plane a thread widens the input once into a
// zero-padded, centered int16 plane split by column phase (stride s: s
// phases, so every tap reads 16 consecutive values), accumulates the taps
// two at a time with vpmaddwd (the values of two taps interleaved, times the
// pair of their weights: products and sums exact in int32, as in the
// reference; twice the taps per instruction of a vpmulld loop) and runs the
// output stage of SPEC §1.5 over the plane, which NCHW stores contiguously.
// Bit-exact with reference-quantized.
//
// Symmetric int16 operands run the same way as "avx2-int16-dw": each weight
// split in bytes (w = 256 * hi + lo), two vpmaddwd sums per pair of taps
// (exact in int32 for any kernel of up to 256 taps), combined into int64
// accumulators as 256 * hi + lo, the output stage over int64 rows.
//
// On AVX-512 VNNI CPUs the same plane is accumulated 32 columns at a time
// with vpdpwssd (the pair's products and their sum added to the int32
// accumulator in one instruction, exact: no saturation), as
// "avx512vnni-int8-dw" / "avx512vnni-int16-dw": twice the columns per
// instruction and no separate add. The widening and the output stage are
// shared. The int16 form takes rows narrower than 24 columns too, in
// 16-column steps, and where the output is a plain INT16 it requantizes
// each step's sums in registers (kernels/int16_requant.h) instead of
// writing int64 rows for the stage.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/int16_requant.h"
#include "kernels/parallel.h"
#include "ops/conv2d/int8_conv_common.h"
#include "ops/quantized_reference.h"
#include "util/status_util.h"

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (GCC bug 105593:
// their unmasked forms pass an "undefined" vector as the merge source), at
// the template's instantiation, so for this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mixq::ops {

namespace {

constexpr int64_t kLanes = 16;        // output columns per AVX2 step (two 8-lane accumulators)
constexpr int64_t kLanesAvx512 = 32;  // per AVX-512 step (two 16-lane accumulators)
// The AVX-512 kernels' 32-column steps take rows this wide or wider (int8:
// kMinAvx512Width; int16: kMinAvx512Width16, narrower ones in 16-column
// steps); the registrations below say why.
constexpr int64_t kMinAvx512Width = 48, kMinAvx512Width16 = 24;

#define MIXQ_DW_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

// T: the operands' storage, int8_t (int32 sums) or int16_t (int64 sums).
template <typename T>
class Depthwise : public Kernel {
 public:
  static constexpr bool kInt16 = sizeof(T) == 2;
  using Acc = std::conditional_t<kInt16, int64_t, int32_t>;

  explicit Depthwise(bool avx512) : avx512_(avx512), lanes_(avx512 ? kLanesAvx512 : kLanes) {}

  const char* Name() const override {
    if (avx512_) return kInt16 ? "avx512vnni-int16-dw" : "avx512vnni-int8-dw";
    return kInt16 ? "avx2-int16-dw" : "avx2-int8-dw";
  }
  int64_t PrivateWeightBytes() const override {
    return static_cast<int64_t>((w_.size() + w_low_.size()) * sizeof(int32_t));
  }

  Status Init(const KernelInit& init) {
    std::vector<ValueInfo> logical;
    MIXQ_RETURN_IF_ERROR(ComputeConv2DGeometry(init.attrs, RealValuedInfos(init, 3, &logical), &g_));
    stage_.Init(init, g_);
    taps_ = g_.kernel_h * g_.kernel_w;
    const ValueInfo& w = *init.inputs[1];
    const ir::QuantBinding& wq = *w.quant;
    const auto f_s = LogicalStrides(w.shape, g_.filter_axes);
    // Per channel, the centered weights of taps (2p, 2p + 1) as one int32
    // holding two int16 halves (low: the even tap; an odd count's last pair
    // has 0 high). int16: the high bytes in w_, the low ones in w_low_.
    pairs_ = (taps_ + 1) / 2;
    w_.assign(static_cast<size_t>(g_.out_channels * pairs_), 0);
    if (kInt16) w_low_.assign(w_.size(), 0);
    const auto* raw = static_cast<const T*>(w.const_data);
    auto put = [](std::vector<int32_t>* v, size_t at, int64_t t, int32_t value) {
      const auto half = static_cast<uint16_t>(static_cast<int16_t>(value));
      (*v)[at] = static_cast<int32_t>(static_cast<uint32_t>((*v)[at]) | static_cast<uint32_t>(half) << (16 * (t % 2)));
    };
    for (int64_t c = 0; c < g_.out_channels; ++c) {
      const int32_t zp = wq.zero_points.empty() ? 0 : wq.zero_points[wq.axis >= 0 ? static_cast<size_t>(c) : 0];
      for (int64_t t = 0; t < taps_; ++t) {
        const int64_t kh = t / g_.kernel_w, kw = t % g_.kernel_w;
        const int32_t centered = raw[c * f_s[0] + kh * f_s[2] + kw * f_s[3]] - zp;
        const size_t at = static_cast<size_t>(c * pairs_ + t / 2);
        if (kInt16) {  // zero points are 0: the code itself, split in bytes
          put(&w_, at, t, centered >> 8);
          put(&w_low_, at, t, centered & 0xFF);
        } else {
          put(&w_, at, t, centered);
        }
      }
    }
    // The padded plane: rows in_h + pads; each phase row wide enough for a
    // full vector at the last output column of every tap.
    rows_ = g_.in_h + g_.pad_top + g_.pad_bottom;
    // int16 rows narrower than kMinAvx512Width16 on AVX-512: 16-column steps
    // (AccumulateNarrowVnni, or Accumulate's layout where the output is not
    // requantized directly).
    narrow_ = kInt16 && avx512_ && g_.out_w < kMinAvx512Width16;
    if (narrow_) lanes_ = kLanes;
    out_w_padded_ = (g_.out_w + lanes_ - 1) / lanes_ * lanes_;
    phase_w_ = out_w_padded_ + (g_.kernel_w - 1) * g_.dilation_w / g_.stride_w + 1;
    // Where tap (kh, kw) reads for output (0, 0): its phase's row kh * dh.
    for (int64_t kh = 0; kh < g_.kernel_h; ++kh)
      for (int64_t kw = 0; kw < g_.kernel_w; ++kw) {
        const int64_t off = kw * g_.dilation_w;
        tap_offset_.push_back(((off % g_.stride_w) * rows_ + kh * g_.dilation_h) * phase_w_ + off / g_.stride_w);
      }
    if (taps_ % 2) tap_offset_.push_back(tap_offset_.back());  // the last pair's partner (weight 0)
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const TensorView& y = out[0];
    stage_.Prepare(in, y);
    // A plain INT16 output with finite constants is requantized from the
    // registers on AVX-512 (exact: |sum| <= 256 taps * 2^30 plus an int32
    // bias, below 2^51); the int64 rows and the stage otherwise.
    if constexpr (kInt16) direct_ = avx512_ ? stage_.PlainInt16Requant() : std::vector<kernels::Int16Requant>{};
    const int32_t zp = in[0].quant->zero_point;
    const auto* x = in[0].Data<const T>();
    const int64_t planes = g_.batch * g_.out_channels;
    const int threads = std::max(1, omp_get_max_threads());
    if (scratch_.size() < static_cast<size_t>(threads)) scratch_.resize(static_cast<size_t>(threads));
#pragma omp parallel for schedule(static) if (planes > 1 && planes * g_.out_h * g_.out_w * taps_ > \
                                                                kernels::kMinParallelDepthwiseMacs)
    for (int64_t p = 0; p < planes; ++p) {
      Scratch& s = scratch_[static_cast<size_t>(omp_get_thread_num())];
      const int64_t c = p % g_.out_channels;
      Widen(x + p * g_.in_h * g_.in_w, zp, &s);
      if (!direct_.empty()) {  // requantized from the registers: no int64 rows, no second pass
        int16_t* plane_out = y.Data<int16_t>() + p * g_.out_h * g_.out_w;
        if (narrow_)
          AccumulateNarrowVnni(c, &s, plane_out);
        else
          AccumulateAvx512(c, &s, plane_out);
        continue;
      }
      if (avx512_ && !narrow_) {
        AccumulateAvx512(c, &s);
      } else {
        Accumulate(c, &s);
      }
      // Rows of out_w_padded_ -> the plane's contiguous out_h * out_w.
      for (int64_t oh = 1; oh < g_.out_h; ++oh)
        std::memmove(s.acc.data() + oh * g_.out_w, s.acc.data() + oh * out_w_padded_,
                     static_cast<size_t>(g_.out_w) * sizeof(Acc));
      stage_.Row(c, s.acc.data(), g_.out_h * g_.out_w, p * g_.out_h * g_.out_w, y);
    }
    return Status::OK();
  }

 private:
  struct Scratch {
    std::vector<int16_t> plane;  // [phase][padded row][phase_w_]
    std::vector<Acc> acc;        // [out_h][out_w_padded_]
  };

  // The channel's input, centered, zero-padded, split by column phase:
  // phase q holds padded columns q, q + s, q + 2s, ...
  __attribute__((target("avx2"))) void Widen(const T* x, int32_t zp, Scratch* s) const {
    const int64_t sw = g_.stride_w;
    // Zeroed once: every run writes the same interior, so the pads stay 0.
    const size_t size = static_cast<size_t>(sw * rows_ * phase_w_);
    if (s->plane.size() != size) s->plane.assign(size, 0);
    for (int64_t ih = 0; ih < g_.in_h; ++ih) {
      const T* line = x + ih * g_.in_w;
      const int64_t r = ih + g_.pad_top;
      if (sw == 1) {  // one phase: a straight widening copy the compiler vectorizes
        int16_t* dst = s->plane.data() + r * phase_w_ + g_.pad_left;
        const int64_t n = std::min(g_.in_w, phase_w_ - g_.pad_left);
        for (int64_t iw = 0; iw < n; ++iw) dst[iw] = static_cast<int16_t>(line[iw] - zp);
        continue;
      }
      if (sw == 2) {  // even and odd input columns split 16 at a time
        SplitPairs(line, zp, r, s);
        continue;
      }
      for (int64_t q = 0; q < sw; ++q) {                           // phase q: padded columns q, q + sw, ...
        const int64_t first = ((q - g_.pad_left) % sw + sw) % sw;  // first iw whose column is in phase q
        int16_t* dst = s->plane.data() + (q * rows_ + r) * phase_w_ + (first + g_.pad_left) / sw;
        const int64_t n = std::min((g_.in_w - first + sw - 1) / sw, phase_w_ - (first + g_.pad_left) / sw);
        for (int64_t t = 0; t < n; ++t) dst[t] = static_cast<int16_t>(line[first + t * sw] - zp);
      }
    }
  }

  // 32 input bytes, centered: the 16 even ones to `even`, the 16 odd ones to `odd`.
  __attribute__((target("avx2"))) static void SplitGroup(const int8_t* from, __m256i z, int16_t* even, int16_t* odd) {
    const __m256i split = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12,
                                           14, 1, 3, 5, 7, 9, 11, 13, 15);
    const __m256i v = _mm256_shuffle_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(from)), split);
    // Per lane: 8 even then 8 odd bytes; gather the evens, then the odds.
    const __m256i halves = _mm256_permute4x64_epi64(v, 0xD8);  // even0 even1 | odd0 odd1
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(even),
                        _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(halves)), z));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(odd),
                        _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm256_extracti128_si256(halves, 1)), z));
  }

  // 16 int16 values, centered: the 8 even ones to `even`, the 8 odd ones to
  // `odd`. Reads 16 values, writes 8 + 8.
  __attribute__((target("avx2"))) static void SplitGroup16(const int16_t* from, __m256i z, int16_t* even,
                                                           int16_t* odd) {
    const __m256i split = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15, 0, 1, 4, 5, 8, 9, 12,
                                           13, 2, 3, 6, 7, 10, 11, 14, 15);
    const __m256i v = _mm256_shuffle_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(from)), split);
    const __m256i halves = _mm256_sub_epi16(_mm256_permute4x64_epi64(v, 0xD8), z);  // even0 even1 | odd0 odd1
    _mm_storeu_si128(reinterpret_cast<__m128i*>(even), _mm256_castsi256_si128(halves));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(odd), _mm256_extracti128_si256(halves, 1));
  }

  // One group of input columns of T (32 of int8, 16 of int16) split.
  __attribute__((target("avx2"))) static void Split(const T* from, __m256i z, int16_t* even, int16_t* odd) {
    if constexpr (kInt16)
      SplitGroup16(from, z, even, odd);
    else
      SplitGroup(from, z, even, odd);
  }

  // Stride 2: input column iw lands in phase (iw + pad_left) % 2 at index
  // (iw + pad_left) / 2, so even columns fill one phase and odd ones the
  // other, each contiguously. int8: 32 input columns per step; int16: 16.
  __attribute__((target("avx2"))) void SplitPairs(const T* line, int32_t zp, int64_t r, Scratch* s) const {
    constexpr int64_t kGroup = kInt16 ? 16 : 32;
    const int64_t pl = g_.pad_left;
    int16_t* even = s->plane.data() + ((pl % 2) * rows_ + r) * phase_w_ + pl / 2;
    int16_t* odd = s->plane.data() + (((pl + 1) % 2) * rows_ + r) * phase_w_ + (pl + 1) / 2;
    const int64_t even_room = phase_w_ - pl / 2, odd_room = phase_w_ - (pl + 1) / 2;
    const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
    int64_t iw = 0;
    auto fits = [&](int64_t from) { return from / 2 + kGroup / 2 <= even_room && from / 2 + kGroup / 2 <= odd_room; };
    // Full groups of input columns whose even and odd halves fit the phases.
    for (; iw + kGroup <= g_.in_w && fits(iw); iw += kGroup) Split(line + iw, z, even + iw / 2, odd + iw / 2);
    // The last columns (a row narrower than a group: MobileNet's 28 and 14)
    // as one more group, the missing values the zero point: they land
    // centered to 0 on padding or beyond it, where the plane holds 0 anyway.
    if (iw < g_.in_w && fits(iw)) {
      alignas(32) T tail[kGroup];
      std::fill(tail, tail + kGroup, static_cast<T>(zp));
      std::memcpy(tail, line + iw, static_cast<size_t>(g_.in_w - iw) * sizeof(T));
      Split(tail, z, even + iw / 2, odd + iw / 2);
      iw = g_.in_w;
    }
    for (; iw < g_.in_w; ++iw) {
      const int64_t at = iw / 2;
      if (iw % 2 == 0 && at < even_room) even[at] = static_cast<int16_t>(line[iw] - zp);
      if (iw % 2 == 1 && at < odd_room) odd[at] = static_cast<int16_t>(line[iw] - zp);
    }
  }

  // 16 output columns at a time: for each pair of taps, their 16 values
  // interleaved (unpack works within 128-bit lanes: `lo` holds columns 0-3
  // and 8-11, `hi` 4-7 and 12-15) times the weight pair; reordered once at
  // the end. int16: the same against the high and the low weight bytes.
  __attribute__((target("avx2"))) void Accumulate(int64_t c, Scratch* s) const {
    s->acc.resize(static_cast<size_t>(g_.out_h * out_w_padded_));
    const int32_t* w = w_.data() + c * pairs_;
    const int32_t* w_low = kInt16 ? w_low_.data() + c * pairs_ : nullptr;
    for (int64_t oh = 0; oh < g_.out_h; ++oh) {
      Acc* acc = s->acc.data() + oh * out_w_padded_;
      for (int64_t ow = 0; ow < out_w_padded_; ow += kLanes) {
        __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
        __m256i low_lo = _mm256_setzero_si256(), low_hi = _mm256_setzero_si256();
        const int16_t* base = s->plane.data() + oh * g_.stride_h * phase_w_ + ow;
        for (int64_t p = 0; p < pairs_; ++p) {
          const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + tap_offset_[2 * p]));
          const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + tap_offset_[2 * p + 1]));
          const __m256i ab_lo = _mm256_unpacklo_epi16(a, b), ab_hi = _mm256_unpackhi_epi16(a, b);
          const __m256i wp = _mm256_set1_epi32(w[p]);
          lo = _mm256_add_epi32(lo, _mm256_madd_epi16(ab_lo, wp));
          hi = _mm256_add_epi32(hi, _mm256_madd_epi16(ab_hi, wp));
          if constexpr (kInt16) {
            const __m256i wl = _mm256_set1_epi32(w_low[p]);
            low_lo = _mm256_add_epi32(low_lo, _mm256_madd_epi16(ab_lo, wl));
            low_hi = _mm256_add_epi32(low_hi, _mm256_madd_epi16(ab_hi, wl));
          }
        }
        const __m256i first = _mm256_permute2x128_si256(lo, hi, 0x20), second = _mm256_permute2x128_si256(lo, hi, 0x31);
        if constexpr (kInt16) {
          const __m256i low_first = _mm256_permute2x128_si256(low_lo, low_hi, 0x20);
          const __m256i low_second = _mm256_permute2x128_si256(low_lo, low_hi, 0x31);
          StoreCombined(first, low_first, acc + ow);
          StoreCombined(second, low_second, acc + ow + 8);
        } else {
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + ow), first);
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + ow + 8), second);
        }
      }
    }
  }

  // 8 int64 accumulators = 256 * high + low (int32 sums of the two weight bytes).
  __attribute__((target("avx2"))) static void StoreCombined(__m256i high, __m256i low, int64_t* out) {
    for (int half = 0; half < 2; ++half) {
      const __m256i h = _mm256_cvtepi32_epi64(half ? _mm256_extracti128_si256(high, 1) : _mm256_castsi256_si128(high));
      const __m256i l = _mm256_cvtepi32_epi64(half ? _mm256_extracti128_si256(low, 1) : _mm256_castsi256_si128(low));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 4 * half), _mm256_add_epi64(_mm256_slli_epi64(h, 8), l));
    }
  }

  // Accumulate's 32-column form: vpdpwssd adds each pair's two products to
  // the accumulator. unpack works within 128-bit lanes: `lo` holds columns
  // 0-3, 8-11, 16-19, 24-27 and `hi` the others; one permute per 16 columns
  // puts them in order.
  //
  // out16 (int16 operands, a plain INT16 output: direct_): the plane's
  // outputs requantized from the registers into the tensor (its out_h x
  // out_w values), instead of int64 rows for the stage.
  MIXQ_DW_VNNI void AccumulateAvx512(int64_t c, Scratch* s, int16_t* out16 = nullptr) const {
    if (!out16) s->acc.resize(static_cast<size_t>(g_.out_h * out_w_padded_));
    kernels::Int16RequantVectors requant{};
    if (out16) requant = kernels::VectorsOf(direct_[static_cast<size_t>(c)]);
    const int32_t* w = w_.data() + c * pairs_;
    const int32_t* w_low = kInt16 ? w_low_.data() + c * pairs_ : nullptr;
    const __m512i first_half = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    const __m512i second_half = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    for (int64_t oh = 0; oh < g_.out_h; ++oh) {
      Acc* acc = s->acc.data() + oh * out_w_padded_;
      for (int64_t ow = 0; ow < out_w_padded_; ow += kLanesAvx512) {
        __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
        __m512i low_lo = _mm512_setzero_si512(), low_hi = _mm512_setzero_si512();
        const int16_t* base = s->plane.data() + oh * g_.stride_h * phase_w_ + ow;
        for (int64_t p = 0; p < pairs_; ++p) {
          const __m512i a = _mm512_loadu_si512(base + tap_offset_[2 * p]);
          const __m512i b = _mm512_loadu_si512(base + tap_offset_[2 * p + 1]);
          const __m512i ab_lo = _mm512_unpacklo_epi16(a, b), ab_hi = _mm512_unpackhi_epi16(a, b);
          const __m512i wp = _mm512_set1_epi32(w[p]);
          lo = _mm512_dpwssd_epi32(lo, ab_lo, wp);
          hi = _mm512_dpwssd_epi32(hi, ab_hi, wp);
          if constexpr (kInt16) {
            const __m512i wl = _mm512_set1_epi32(w_low[p]);
            low_lo = _mm512_dpwssd_epi32(low_lo, ab_lo, wl);
            low_hi = _mm512_dpwssd_epi32(low_hi, ab_hi, wl);
          }
        }
        const __m512i first = _mm512_permutex2var_epi64(lo, first_half, hi);
        const __m512i second = _mm512_permutex2var_epi64(lo, second_half, hi);
        if constexpr (kInt16) {
          const __m512i low_first = _mm512_permutex2var_epi64(low_lo, first_half, low_hi);
          const __m512i low_second = _mm512_permutex2var_epi64(low_lo, second_half, low_hi);
          if (out16) {
            int16_t* row = out16 + oh * g_.out_w;
            StoreRequantizedAvx512(first, low_first, requant, row + ow, g_.out_w - ow);
            if (ow + 16 < g_.out_w)
              StoreRequantizedAvx512(second, low_second, requant, row + ow + 16, g_.out_w - ow - 16);
            continue;
          }
          StoreCombinedAvx512(first, low_first, acc + ow);
          StoreCombinedAvx512(second, low_second, acc + ow + 16);
        } else {
          _mm512_storeu_si512(acc + ow, first);
          _mm512_storeu_si512(acc + ow + 16, second);
        }
      }
    }
  }

  // 16 int64 accumulators = 256 * high + low.
  MIXQ_DW_VNNI static void StoreCombinedAvx512(__m512i high, __m512i low, int64_t* out) {
    const __m256i halves[2][2] = {{_mm512_castsi512_si256(high), _mm512_extracti64x4_epi64(high, 1)},
                                  {_mm512_castsi512_si256(low), _mm512_extracti64x4_epi64(low, 1)}};
    for (int half = 0; half < 2; ++half) {
      const __m512i h = _mm512_cvtepi32_epi64(halves[0][half]), l = _mm512_cvtepi32_epi64(halves[1][half]);
      _mm512_storeu_si512(out + 8 * half, _mm512_add_epi64(_mm512_slli_epi64(h, 8), l));
    }
  }

  // int16 operands, rows narrower than kMinAvx512Width16, a direct output:
  // Accumulate's 16-column steps on vpdpwssd (256-bit), each step's sums
  // requantized from the registers. MobileNetV2's 14- and 7-wide layers
  // spent more on the int64 rows, their compaction and the stage's call per
  // plane than on the taps.
  MIXQ_DW_VNNI void AccumulateNarrowVnni(int64_t c, Scratch* s, int16_t* out16) const {
    const int32_t* w = w_.data() + c * pairs_;
    const int32_t* w_low = w_low_.data() + c * pairs_;
    const kernels::Int16RequantVectors requant = kernels::VectorsOf(direct_[static_cast<size_t>(c)]);
    for (int64_t oh = 0; oh < g_.out_h; ++oh) {
      int16_t* row = out16 + oh * g_.out_w;
      for (int64_t ow = 0; ow < g_.out_w; ow += kLanes) {
        __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
        __m256i low_lo = _mm256_setzero_si256(), low_hi = _mm256_setzero_si256();
        const int16_t* base = s->plane.data() + oh * g_.stride_h * phase_w_ + ow;
        for (int64_t p = 0; p < pairs_; ++p) {
          const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + tap_offset_[2 * p]));
          const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + tap_offset_[2 * p + 1]));
          const __m256i ab_lo = _mm256_unpacklo_epi16(a, b), ab_hi = _mm256_unpackhi_epi16(a, b);
          const __m256i wp = _mm256_set1_epi32(w[p]), wl = _mm256_set1_epi32(w_low[p]);
          lo = _mm256_dpwssd_epi32(lo, ab_lo, wp);
          hi = _mm256_dpwssd_epi32(hi, ab_hi, wp);
          low_lo = _mm256_dpwssd_epi32(low_lo, ab_lo, wl);
          low_hi = _mm256_dpwssd_epi32(low_hi, ab_hi, wl);
        }
        // unpack worked within 128-bit lanes: columns 0-3 and 8-11 in lo, 4-7 and 12-15 in hi.
        const __m512i high = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_permute2x128_si256(lo, hi, 0x20)),
                                                _mm256_permute2x128_si256(lo, hi, 0x31), 1);
        const __m512i low = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_permute2x128_si256(low_lo, low_hi, 0x20)),
                                               _mm256_permute2x128_si256(low_lo, low_hi, 0x31), 1);
        StoreRequantizedAvx512(high, low, requant, row + ow, g_.out_w - ow);
      }
    }
  }

  // 16 columns' sums 256 * high + low, requantized (the first `cols` of them, at most 16, stored).
  MIXQ_DW_VNNI static void StoreRequantizedAvx512(__m512i high, __m512i low, const kernels::Int16RequantVectors& r,
                                                  int16_t* out, int64_t cols) {
    kernels::StoreRequantizedInt16FromSmallSplit(high, low, r, out, cols);
  }

  const bool avx512_;
  int64_t lanes_;
  bool narrow_ = false;                        // int16 rows of fewer than kMinAvx512Width16 columns on AVX-512 (Init)
  std::vector<kernels::Int16Requant> direct_;  // PlainInt16Requant's, per output channel (Run)
  ConvGeometry g_;
  Int8ConvOutputStage stage_;
  int64_t taps_ = 0, pairs_ = 0, rows_ = 0, out_w_padded_ = 0, phase_w_ = 0;
  std::vector<int32_t> w_;      // [channel][tap pair], centered int16 pairs (int16 operands: high bytes)
  std::vector<int32_t> w_low_;  // int16 operands: the low bytes, the same layout
  std::vector<int64_t> tap_offset_;
  std::vector<Scratch> scratch_;
};

bool IsDepthwise(const ConvGeometry& g) {
  return g.in_channels == g.group && g.out_channels == g.group && g.group > 1;
}

bool Supports(const KernelInit& init) {
  ConvGeometry g;
  return FusedInt8ConvSupports(init, &g) && IsDepthwise(g);
}

// NCHW; at most 256 taps keeps each byte's int32 sums exact.
bool Supports16(const KernelInit& init) {
  ConvGeometry g;
  return FusedInt16ConvSupports(init, &g) && IsDepthwise(g) && g.kernel_h * g.kernel_w <= 256 &&
         init.attrs.Str("input_layout") == "NCHW" && init.attrs.Str("output_layout") == "NCHW";
}

// On AVX-512 VNNI the 32-column steps take int8 rows of stride 1 and 48
// columns or more: what avx2-int8-dw8c (channels in lanes) leaves to
// avx2-int8-dw, and beats there. Measured on a Xeon with AMX, 1 thread
// (build/bench/mixq_int8_kernels_bench --benchmark_filter=dw, ms, this
// kernel / avx2-int8-dw8c / avx2-int8-dw): 112 wide 0.379 / - / 0.576, 56
// wide 0.476 / - / 0.734, PP-OCR rec's 5x5 at 80 wide 0.384 / - / 0.549; but
// stride 2 to 56 wide 0.545 / 0.514 / 0.760 and 28 wide 0.252 / 0.232 /
// 0.345. int16 operands have no channels-in-lanes kernel: the 32-column
// steps for rows of 24 columns or more (a step then wastes at most a quarter
// of its lanes), 16-column ones below that (Init: narrow_).
bool WideRows(const KernelInit& init, int64_t min_width, bool unit_stride) {
  std::vector<ValueInfo> logical;
  ConvGeometry g;
  return ComputeConv2DGeometry(init.attrs, RealValuedInfos(init, 3, &logical), &g).ok() && g.out_w >= min_width &&
         (!unit_stride || g.stride_w == 1);
}

bool SupportsAvx512(const KernelInit& init) {
  return Supports(init) && WideRows(init, kMinAvx512Width, true);
}

bool Supports16Avx512(const KernelInit& init) {
  return Supports16(init);
}

template <typename T, bool kAvx512>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<Depthwise<T>>(kAvx512);
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv2d, avx2_dw) {
  mixq::ops::RegisterKernel({"avx2-int8-dw", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 20, mixq::ops::Supports,
                             mixq::ops::Make<int8_t, false>});
  // Above avx2-int16 (20), which would run depthwise as one-row GEMMs.
  mixq::ops::RegisterKernel({"avx2-int16-dw", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 30,
                             mixq::ops::Supports16, mixq::ops::Make<int16_t, false>});
  // Above avx2-int8-dw8c (22) and avx2-int16-dw, for the rows they leave to it.
  mixq::ops::RegisterKernel({"avx512vnni-int8-dw", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx512Vnni, 24,
                             mixq::ops::SupportsAvx512, mixq::ops::Make<int8_t, true>});
  mixq::ops::RegisterKernel({"avx512vnni-int16-dw", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx512Vnni, 32,
                             mixq::ops::Supports16Avx512, mixq::ops::Make<int16_t, true>});
}
