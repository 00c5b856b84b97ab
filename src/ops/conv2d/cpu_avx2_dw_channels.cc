// AVX2 int8 depthwise Conv2D for NCHW activations that computes across
// channels, eight at a time ("avx2-int8-dw8c"). The plane-by-plane kernel
// (avx2-int8-dw) vectorizes along a row, which wastes most of its lanes on
// MobileNet's 14- and 7-wide rows and pays a widening, a row move and an
// output-stage call per channel plane; oneDNN's float32 depthwise, which
// computes across the 8 channels of its blocked layout, ran 2-8x faster.
//
// Per job (an image, a block of 8 channels, a strip of output rows) a thread
// transposes the strip's input rows into a zero-padded [row][column][8]
// scratch of centered values (x - zp) in float32 (8x8 register transposes),
// accumulates the taps with FMAs, eight output pixels at a time, and runs the
// output stage of SPEC §1.5: int8 outputs straight from the transposed
// registers, 8 pixels of 8 channels at a time; other outputs per channel row.
//
// Exact: centered values and weights are integers of magnitude <= 255, so a
// product is <= 65025 and a sum of at most kMaxTaps of them stays below
// 2^24, where float32 holds every integer: every FMA is exact and the sum is
// the reference's int32 sum, whatever the order. Bit-exact with
// reference-quantized.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/parallel.h"
#include "kernels/transpose8x8.h"
#include "ops/conv2d/int8_conv_common.h"
#include "ops/quantized_reference.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

#define MIXQ_AVX2_DW __attribute__((target("avx2,fma")))

constexpr int64_t kBlock = 8;  // channels per vector
// 258 * 255 * 255 < 2^24: float32 sums of up to this many taps are exact.
constexpr int64_t kMaxTaps = 258;
// The strip's scratch rows should stay in L2 with room for the rest.
constexpr int64_t kStripBytes = 96 * 1024;

class DepthwiseChannels : public Kernel {
 public:
  const char* Name() const override { return "avx2-int8-dw8c"; }
  int64_t PrivateWeightBytes() const override { return static_cast<int64_t>(w_.size() * sizeof(float)); }

  Status Init(const KernelInit& init) {
    std::vector<ValueInfo> logical;
    MIXQ_RETURN_IF_ERROR(ComputeConv2DGeometry(init.attrs, RealValuedInfos(init, 3, &logical), &g_));
    stage_.Init(init, g_);
    taps_ = g_.kernel_h * g_.kernel_w;
    blocks_ = (g_.out_channels + kBlock - 1) / kBlock;
    // Weights [block][tap][8], centered, float32 (exact); missing channels 0.
    const ValueInfo& w = *init.inputs[1];
    const ir::QuantBinding& wq = *w.quant;
    const auto f_s = LogicalStrides(w.shape, g_.filter_axes);
    const auto* raw = static_cast<const int8_t*>(w.const_data);
    w_.assign(static_cast<size_t>(blocks_ * taps_ * kBlock), 0.0f);
    for (int64_t c = 0; c < g_.out_channels; ++c) {
      const int32_t zp = wq.zero_points.empty() ? 0 : wq.zero_points[wq.axis >= 0 ? static_cast<size_t>(c) : 0];
      for (int64_t t = 0; t < taps_; ++t) {
        const int64_t kh = t / g_.kernel_w, kw = t % g_.kernel_w;
        w_[static_cast<size_t>(((c / kBlock) * taps_ + t) * kBlock + c % kBlock)] =
            static_cast<float>(raw[c * f_s[0] + kh * f_s[2] + kw * f_s[3]] - zp);
      }
    }
    // Scratch columns: the padded row, plus slack for the 8-wide stores of a
    // row's last input columns.
    cols_ = g_.in_w + g_.pad_left + g_.pad_right + kBlock;
    for (int64_t t = 0; t < taps_; ++t) {
      const int64_t kh = t / g_.kernel_w, kw = t % g_.kernel_w;
      tap_offset_.push_back((kh * g_.dilation_h * cols_ + kw * g_.dilation_w) * kBlock);
    }
    const int64_t row_bytes = g_.stride_h * cols_ * kBlock * static_cast<int64_t>(sizeof(float));
    strip_rows_ = std::clamp<int64_t>(kStripBytes / std::max<int64_t>(row_bytes, 1), 1, g_.out_h);
    strips_ = (g_.out_h + strip_rows_ - 1) / strip_rows_;
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const TensorView& y = out[0];
    stage_.Prepare(in, y);
    const int32_t zp = in[0].quant->zero_point;
    const auto* x = in[0].Data<const int8_t>();
    const int64_t jobs = g_.batch * blocks_ * strips_;
    const int threads = std::max(1, omp_get_max_threads());
    if (scratch_.size() < static_cast<size_t>(threads)) scratch_.resize(static_cast<size_t>(threads));
    const int64_t macs = g_.batch * g_.out_channels * g_.out_h * g_.out_w * taps_;
#pragma omp parallel for schedule(static) if (jobs > 1 && macs > kernels::kMinParallelDepthwiseMacs)
    for (int64_t job = 0; job < jobs; ++job) {
      Scratch& s = scratch_[static_cast<size_t>(omp_get_thread_num())];
      const int64_t strip = job % strips_, block = job / strips_ % blocks_, n = job / (strips_ * blocks_);
      const int64_t oh0 = strip * strip_rows_, oh1 = std::min(g_.out_h, oh0 + strip_rows_);
      RunStrip(x, zp, n, block, oh0, oh1, y, &s);
    }
    return Status::OK();
  }

 private:
  // Where Accumulate requantizes to when the output is plain int8.
  // (RequantizeRowToInt8's constants, one lane per channel of the block.)
  struct Direct {
    alignas(32) int32_t int_bias[kBlock] = {};
    alignas(32) float bias[kBlock] = {}, multiplier[kBlock] = {};
    bool int_biases = false;  // some int_bias is not 0
    int32_t zero_point = 0, lo = 0, hi = 0;
    int64_t channels = 0, plane = 0;
    int8_t* out = nullptr;  // the block's first channel's strip
  };

  // False when a constant is not finite: that block takes the row path
  // (RequantizeRowToInt8's scalar formula).
  static bool MakeDirect(const ChannelStage* stages, int64_t channels, Direct* d) {
    for (int64_t c = 0; c < channels; ++c) {
      const ChannelStage& s = stages[c];
      if (!std::isfinite(s.bias) || !std::isfinite(s.multiplier)) return false;
      d->int_bias[c] = s.int_bias;
      d->bias[c] = s.bias;
      d->multiplier[c] = s.multiplier;
      d->int_biases = d->int_biases || s.int_bias != 0;
    }
    d->channels = channels;
    return true;
  }

  struct Scratch {
    std::vector<float> plane;  // [strip input row][cols_][8]
    std::vector<int32_t> acc;  // [8][strip pixels]
  };

  void RunStrip(const int8_t* x, int32_t zp, int64_t n, int64_t block, int64_t oh0, int64_t oh1, const TensorView& y,
                Scratch* s) const {
    const int64_t c0 = block * kBlock, nc = std::min(kBlock, g_.out_channels - c0);
    const int64_t rows = (oh1 - oh0 - 1) * g_.stride_h + (g_.kernel_h - 1) * g_.dilation_h + 1;
    const int64_t pixels = (oh1 - oh0) * g_.out_w, stride = (pixels + kBlock - 1) / kBlock * kBlock;
    s->plane.resize(static_cast<size_t>(rows * cols_ * kBlock));
    s->acc.resize(static_cast<size_t>(kBlock * stride));
    const int8_t* planes = x + (n * g_.in_channels + c0) * g_.in_h * g_.in_w;
    FillRows(planes, x + g_.batch * g_.in_channels * g_.in_h * g_.in_w, nc, zp, oh0 * g_.stride_h - g_.pad_top, rows,
             s->plane.data());
    // int8 output: requantized from the registers' transpose, no row pass.
    Direct direct;
    const ChannelStage* stages = stage_.PlainInt8(&direct.zero_point, &direct.lo, &direct.hi);
    if (stages && MakeDirect(stages + c0, nc, &direct)) {
      direct.plane = g_.out_h * g_.out_w;
      direct.out = y.Data<int8_t>() + ((n * g_.out_channels + c0) * g_.out_h + oh0) * g_.out_w;
      Accumulate<true>(block, oh0, oh1, stride, s, &direct);
      return;
    }
    Accumulate<false>(block, oh0, oh1, stride, s, nullptr);
    for (int64_t c = 0; c < nc; ++c)
      stage_.Row(c0 + c, s->acc.data() + c * stride, pixels,
                 ((n * g_.out_channels + c0 + c) * g_.out_h + oh0) * g_.out_w, y);
  }

  // 8 bytes of each of the nc channels at `at` (channel c at at + c * hw),
  // `count` of them real: bytes past the row's end, and the lanes of missing
  // channels, become the zero point (centered 0), landing in the padding or
  // the slack. Read only where the tensor goes on (up to `end`), else
  // gathered in a register: never through memory, whose narrow stores a wide
  // load cannot forward.
  MIXQ_AVX2_DW static void FillChannels(const int8_t* at, const int8_t* end, int64_t hw, int64_t nc, int64_t count,
                                        __m128i zp_bytes, __m128i index, __m128i ch[kBlock]) {
    const __m128i in_row = _mm_cmpgt_epi8(_mm_set1_epi8(static_cast<char>(count)), index);
    for (int64_t c = 0; c < kBlock; ++c) {
      if (c >= nc) {
        ch[c] = zp_bytes;
        continue;
      }
      const int8_t* from = at + c * hw;
      const __m128i bytes = count == kBlock || from + kBlock <= end
                                ? _mm_loadl_epi64(reinterpret_cast<const __m128i*>(from))
                                : _mm_cvtsi64_si128(static_cast<long long>(GatherTail(from, count)));
      ch[c] = count == kBlock ? bytes : _mm_blendv_epi8(zp_bytes, bytes, in_row);
    }
  }

  // Scratch row r = input row first_ih + r of the nc channel planes,
  // centered, transposed to [column][8]; rows and columns outside the input
  // (padding) and the lanes of missing channels are 0. 8 columns of the 8
  // channels at a time: an 8x8 byte transpose, then each column's 8 bytes
  // widened to float32.
  MIXQ_AVX2_DW void FillRows(const int8_t* planes, const int8_t* end, int64_t nc, int32_t zp, int64_t first_ih,
                             int64_t rows, float* plane) const {
    const int64_t hw = g_.in_h * g_.in_w;
    const __m256i z = _mm256_set1_epi32(zp);
    const __m128i zp_bytes = _mm_set1_epi8(static_cast<char>(zp));  // centered to 0
    const __m128i index = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int64_t r = 0; r < rows; ++r) {
      float* row = plane + r * cols_ * kBlock;
      const int64_t ih = first_ih + r;
      if (ih < 0 || ih >= g_.in_h) {
        for (int64_t col = 0; col < cols_; ++col) _mm256_storeu_ps(row + col * kBlock, _mm256_setzero_ps());
        continue;
      }
      for (int64_t col = 0; col < g_.pad_left; ++col) _mm256_storeu_ps(row + col * kBlock, _mm256_setzero_ps());
      for (int64_t col = g_.pad_left + g_.in_w; col < cols_; ++col)
        _mm256_storeu_ps(row + col * kBlock, _mm256_setzero_ps());
      for (int64_t iw = 0; iw < g_.in_w; iw += kBlock) {
        const int64_t count = std::min(kBlock, g_.in_w - iw);
        __m128i ch[kBlock];
        const int8_t* at = planes + ih * g_.in_w + iw;
        if (nc == kBlock && count == kBlock) {  // the common case: 8 straight loads, no per-channel branches
          for (int64_t c = 0; c < kBlock; ++c) ch[c] = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(at + c * hw));
        } else {
          FillChannels(at, end, hw, nc, count, zp_bytes, index, ch);
        }
        // [channel][column] bytes -> [column][channel]: two columns per register.
        const __m128i t01 = _mm_unpacklo_epi8(ch[0], ch[1]), t23 = _mm_unpacklo_epi8(ch[2], ch[3]);
        const __m128i t45 = _mm_unpacklo_epi8(ch[4], ch[5]), t67 = _mm_unpacklo_epi8(ch[6], ch[7]);
        const __m128i u0 = _mm_unpacklo_epi16(t01, t23), u1 = _mm_unpackhi_epi16(t01, t23);  // channels 0-3
        const __m128i u2 = _mm_unpacklo_epi16(t45, t67), u3 = _mm_unpackhi_epi16(t45, t67);  // channels 4-7
        const __m128i cols[4] = {_mm_unpacklo_epi32(u0, u2), _mm_unpackhi_epi32(u0, u2), _mm_unpacklo_epi32(u1, u3),
                                 _mm_unpackhi_epi32(u1, u3)};  // columns 0-1, 2-3, 4-5, 6-7
        float* dst = row + (g_.pad_left + iw) * kBlock;
        for (int64_t j = 0; j < kBlock; ++j) {
          const __m128i column = j % 2 ? _mm_unpackhi_epi64(cols[j / 2], cols[j / 2]) : cols[j / 2];
          _mm256_storeu_ps(dst + j * kBlock, _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepi8_epi32(column), z)));
        }
      }
    }
  }

  // `count` (< 8) bytes as the low bytes of a 64-bit value.
  static uint64_t GatherTail(const int8_t* from, int64_t count) {
    uint64_t bits = 0;
    for (int64_t k = 0; k < count; ++k) bits |= static_cast<uint64_t>(static_cast<uint8_t>(from[k])) << (8 * k);
    return bits;
  }

  // The strip's output pixels (row-major over rows [oh0, oh1)) 8 at a time,
  // every tap an FMA per pixel, across row ends (a 7-wide row wastes no
  // lanes); the last group repeats its last pixel. Accumulators go to
  // acc[channel][pixel] (rows of `stride` >= pixels rounded up to 8).
  template <bool kDirect>
  MIXQ_AVX2_DW void Accumulate(int64_t block, int64_t oh0, int64_t oh1, int64_t stride, Scratch* s,
                               const Direct* direct) const {
    if (g_.stride_w == 1) return AccumulateStrided<kDirect, 1>(block, oh0, oh1, stride, s, direct);
    if (g_.stride_w == 2) return AccumulateStrided<kDirect, 2>(block, oh0, oh1, stride, s, direct);
    AccumulateStrided<kDirect, 0>(block, oh0, oh1, stride, s, direct);
  }

  // kStrideW: the column stride when 1 or 2 (a group of 8 pixels inside one
  // output row then reads at constant offsets from one pointer, which the
  // compiler folds into the loads), 0 for any.
  template <bool kDirect, int kStrideW>
  MIXQ_AVX2_DW void AccumulateStrided(int64_t block, int64_t oh0, int64_t oh1, int64_t stride, Scratch* s,
                                      const Direct* direct) const {
    const float* w = w_.data() + block * taps_ * kBlock;
    const float* plane = s->plane.data();
    const int64_t pixels = (oh1 - oh0) * g_.out_w;
    const int64_t row_step = g_.stride_h * cols_ * kBlock, col_step = g_.stride_w * kBlock;
    int64_t oh = 0, ow = 0;  // of the next pixel, oh relative to oh0
    for (int64_t p0 = 0; p0 < pixels; p0 += kBlock) {
      __m256 sum[kBlock];
      for (int64_t j = 0; j < kBlock; ++j) sum[j] = _mm256_setzero_ps();
      if (kStrideW > 0 && ow + kBlock <= g_.out_w) {  // 8 pixels of one row: offsets j * kStrideW * 8
        const float* base = plane + oh * row_step + ow * col_step;
        for (int64_t t = 0; t < taps_; ++t) {
          const __m256 wt = _mm256_loadu_ps(w + t * kBlock);
          const float* src = base + tap_offset_[static_cast<size_t>(t)];
          for (int64_t j = 0; j < kBlock; ++j)
            sum[j] = _mm256_fmadd_ps(_mm256_loadu_ps(src + j * kStrideW * kBlock), wt, sum[j]);
        }
        ow += kBlock;
        if (ow == g_.out_w) {
          ow = 0;
          ++oh;
        }
      } else {
        int64_t off[kBlock];
        for (int64_t j = 0; j < kBlock; ++j) {
          off[j] = oh * row_step + ow * col_step;
          if (p0 + j + 1 < pixels && ++ow == g_.out_w) {
            ow = 0;
            ++oh;
          }
        }
        for (int64_t t = 0; t < taps_; ++t) {
          const __m256 wt = _mm256_loadu_ps(w + t * kBlock);
          const float* src = plane + tap_offset_[static_cast<size_t>(t)];
          for (int64_t j = 0; j < kBlock; ++j) sum[j] = _mm256_fmadd_ps(_mm256_loadu_ps(src + off[j]), wt, sum[j]);
        }
      }
      if constexpr (kDirect) {
        StoreRequantized(sum, *direct, std::min(kBlock, pixels - p0), direct->out + p0);
      } else {
        kernels::Transpose8x8(sum);  // 8 pixels x 8 channels -> each channel's 8 consecutive pixels
        for (int64_t c = 0; c < kBlock; ++c)
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(s->acc.data() + c * stride + p0), _mm256_cvtps_epi32(sum[c]));
      }
    }
  }

  // The output stage of RequantizeRowToInt8, operation for operation (this
  // file is built with -ffp-contract=off: no multiply-add is contracted), on
  // sum[p] = pixel p's 8 channels, f32(acc) exact (an integer below 2^24);
  // `count` pixels of each channel stored to out + c * plane.
  MIXQ_AVX2_DW static void StoreRequantized(const __m256 sum[kBlock], const Direct& d, int64_t count, int8_t* out) {
    const __m256i ib = _mm256_load_si256(reinterpret_cast<const __m256i*>(d.int_bias));
    const __m256 bias = _mm256_load_ps(d.bias), mult = _mm256_load_ps(d.multiplier);
    const __m256 zp = _mm256_set1_ps(static_cast<float>(d.zero_point));
    const __m256 flo = _mm256_set1_ps(static_cast<float>(d.lo)), fhi = _mm256_set1_ps(static_cast<float>(d.hi));
    __m256i q[kBlock];
    for (int64_t p = 0; p < kBlock; ++p) {
      __m256 v = sum[p];
      if (d.int_biases) v = _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_cvtps_epi32(v), ib));
      v = _mm256_add_ps(_mm256_mul_ps(_mm256_add_ps(v, bias), mult), zp);
      q[p] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, flo), fhi));  // round half to even
    }
    // Bytes per 128-bit lane: a = pixels 0-3 x channels 0-3 (lane 0) and
    // 4-7 (lane 1), [pixel][channel]; b the same for pixels 4-7.
    const __m256i a = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(q[4], q[5]), _mm256_packs_epi32(q[6], q[7]));
    // Each lane's 4x4 to [channel][pixel], then a channel's pixels 0-3 and
    // 4-7 side by side: lo = channels 0, 1 | 4, 5; hi = 2, 3 | 6, 7.
    const __m256i to_channels = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, 0, 4, 8, 12, 1,
                                                 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __m256i ca = _mm256_shuffle_epi8(a, to_channels), cb = _mm256_shuffle_epi8(b, to_channels);
    const __m256i lo = _mm256_unpacklo_epi32(ca, cb), hi = _mm256_unpackhi_epi32(ca, cb);
    const __m128i pairs[4] = {_mm256_castsi256_si128(lo), _mm256_castsi256_si128(hi), _mm256_extracti128_si256(lo, 1),
                              _mm256_extracti128_si256(hi, 1)};  // channels 0-1, 2-3, 4-5, 6-7
    if (count == kBlock && d.channels == kBlock) {  // the common case: 8 stores straight from the registers
      for (int64_t c = 0; c < kBlock; c += 2) {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out + c * d.plane), pairs[c / 2]);
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out + (c + 1) * d.plane),
                         _mm_unpackhi_epi64(pairs[c / 2], pairs[c / 2]));
      }
      return;
    }
    for (int64_t c = 0; c < d.channels; ++c) {
      const __m128i pair = pairs[c / 2];
      const auto bits = static_cast<uint64_t>(c % 2 ? _mm_extract_epi64(pair, 1) : _mm_cvtsi128_si64(pair));
      int8_t* dst = out + c * d.plane;
      if (count == kBlock) {
        std::memcpy(dst, &bits, sizeof(bits));
      } else {
        for (int64_t k = 0; k < count; ++k) dst[k] = static_cast<int8_t>(bits >> (8 * k));
      }
    }
  }

  ConvGeometry g_;
  Int8ConvOutputStage stage_;
  int64_t taps_ = 0, blocks_ = 0, cols_ = 0, strip_rows_ = 1, strips_ = 1;
  std::vector<float> w_;  // [block][tap][8] centered weights
  std::vector<int64_t> tap_offset_;
  std::vector<Scratch> scratch_;
};

// Output rows up to this wide (and strided ones) run faster here than in
// avx2-int8-dw, whose row vectors fill well on wide planes. Measured on Zen
// 3, 1 thread (build/bench/mixq_int8_kernels_bench
// --benchmark_filter=mb2_dw, ms, this kernel against avx2-int8-dw): 7 wide
// 0.061 / 0.130, 14 wide 0.075 / 0.126, 28 wide 0.134 / 0.167, stride 2 to
// 56 wide 0.458 / 0.480; but 56 wide 0.514 / 0.373 and 112 wide 0.339 /
// 0.260.
constexpr int64_t kMaxOutputWidth = 47;

bool Supports(const KernelInit& init) {
  ConvGeometry g;
  return FusedInt8ConvSupports(init, &g) && g.in_channels == g.group && g.out_channels == g.group && g.group > 1 &&
         g.kernel_h * g.kernel_w <= kMaxTaps && (g.out_w <= kMaxOutputWidth || g.stride_w > 1);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<DepthwiseChannels>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv2d, avx2_dw_channels) {
  // Above avx2-int8-dw (20), which keeps what this one declines.
  mixq::ops::RegisterKernel(
      {"avx2-int8-dw8c", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 22, mixq::ops::Supports, mixq::ops::Make});
}
