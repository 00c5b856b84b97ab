// Pointwise Conv2D (1 x 1 filter, stride 1, no padding, one group) between
// float16 tensors the plan keeps blocked (nChw16c, or nChw8c on AVX2
// machines), with the float16 conversions fused into the convolution:
// "avx512-f16-pw" (nChw16c, 16 output channels per zmm; one side may be a
// plain tensor of up to 64 channels in eights, see PlainInputShape) and
// "avx2-f16-pw" (nChw8c or nChw16c, 8 output channels per ymm).
//
// Why: oneDNN 2.6 has no float16 convolution, so "onednn-f16" widens the
// input to float32, runs oneDNN's float32 kernel and rounds the float32
// output back, in bands of rows or over whole tensors: at 2 threads up to
// three parallel regions per step, and passes over float32 copies of both
// tensors. The layers where that costs most are the wide planes with few
// input channels (MobileNetV2's 16 -> 96 at 112 x 112, PP-OCR det's 16 -> 32
// at 160 x 160): a few multiply-adds per output value, so the copies and the
// per-band calls of oneDNN cost more than the arithmetic.
//
// How: one parallel region per step. A job is a strip of pixels of one
// image and a range of output-channel blocks. Its thread widens the strip's
// input (each channel block's strip is contiguous in the blocked layout)
// into float32, a chunk of up to 1024 input channels at a time, then
// computes the outputs in tiles of 6 to 12 pixels by up to four output
// vectors (about 24 accumulators in registers; 12 by two with float16
// weights on AVX-512), each input value broadcast
// from the widened strip, the weights packed per output vector; between
// chunks the sums wait in a float32 strip. (Chunks of 64 or 128 channels,
// whose weights would stay in L1, ran slower on Zen 4: ResNet-50's 256 ->
// 1024 at 14 x 14 1.05-1.07 ms against 1.03 unchunked; storing and
// reloading the sums cost more than streaming the weights from L2.) After the last chunk the tiles
// clamp and store float16 themselves where the post-ops are at most one
// clamp; otherwise each group of 64 output channels goes through the output
// stage (ops/half_output_stage.h) while in L1, which applies the fused
// post-ops and rounds to float16 as the separate steps would.
//
// Measured against onednn-f16 (sums of step minima, AMD Zen 4): equal at 1
// thread on ResNet-50, MobileNetV2 and PP-OCR (within 1-2 %, some layers 3 %
// either way), ahead at 2 threads (one parallel region instead of three:
// MobileNetV2 4.68 -> 4.27 ms, ResNet-50 42.0 -> 37.6).
//
// Accuracy: float32 products summed in float32 in input-channel order from
// the bias, then rounded to float16: within one float16 step of the
// reference's result on the same values, for sums that do not cancel
// (cpu_half_pw_test.cc).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/avx512_warnings.h"
#include "kernels/cpu_features.h"
#include "kernels/half_io.h"
#include "kernels/transpose8x8.h"
#include "ops/conv2d/conv_params.h"
#include "ops/conv2d/half_conv_common.h"
#include "ops/half_output_stage.h"
#include "ops/half_storage.h"
#include "ops/kernel_registry.h"
#include "ops/op_util.h"
#include "util/half.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {

namespace {

// Everything a tile of outputs reads and writes. The widened input strip is
// [input block][pixel][channel in block]; the output strip the same with
// output blocks; weights are [output vector][input channel][lane].
struct TileArgs {
  const float* x;     // the strip's first pixel of this tile, the chunk's first input block
  int64_t x_block;    // floats between input blocks in the strip (pixels * block)
  int64_t in_blocks;  // input channel blocks of this chunk
  // A plain (NCHW) input, widened channel by channel ("channel-major"
  // tiles, CM): the strip is [input channel][pixel], x_channel floats
  // between channels, in_channels of them (any multiple of 8).
  int64_t x_channel = 0, in_channels = 0;
  int64_t x_pixel = 0;  // floats between pixels in the strip: block, or 1 (channel-major)
  // The chunk is the first of the input channels (the sums start from the
  // bias; otherwise from the partial sums in y) and the last (the sums are
  // final: stored as float16 when y16 is set; otherwise partial, into y).
  bool first, last;
  int64_t block;        // channels per block, both tensors (8 or 16)
  const float* w;       // the tile's first output vector, at the chunk's first input channel
  const uint16_t* w16;  // or the same as float16 values (H tiles)
  int64_t w_vector;     // floats between output vectors' weights (in_channels * lanes)
  const float* bias;    // the tile's first output channel
  float* y;             // the float32 output strip (partial or final sums) at the tile's first pixel
  int64_t y_block;      // floats between output blocks in the strip
  int64_t channel;      // the tile's first output channel, counted from the strip's first
  // Set when the output stage is clamps then one rounding
  // (HalfOutputStage::ClampsThenRound): the tile stores float16 straight
  // into the output tensor, at the tile's first pixel, instead of y.
  uint16_t* y16;
  int64_t y16_block;  // elements between output blocks in the tensor
  bool clamp;         // min(max(v, lo), hi) before the rounding
  float lo, hi;
};

// H: the weights are float16 (w16), widened as each vector is loaded. CM:
// the strip is channel-major (a plain input), see TileArgs.
template <int P, int OV, bool H, bool CM>
__attribute__((target("avx512f,avx512vl,f16c,fma"), always_inline)) inline void Tile512(const TileArgs& a) {
  __m512 acc[P][OV];
  if (a.first) {
    for (int j = 0; j < OV; ++j) {
      const __m512 b = _mm512_loadu_ps(a.bias + j * 16);
      for (int p = 0; p < P; ++p) acc[p][j] = b;
    }
  } else {
    for (int j = 0; j < OV; ++j)
      for (int p = 0; p < P; ++p) acc[p][j] = _mm512_loadu_ps(a.y + (a.channel / 16 + j) * a.y_block + p * 16);
  }
  const float* w = a.w;
  const uint16_t* w16 = a.w16;
  if constexpr (CM) {
    // Channel k's pixels are contiguous: constant offsets from its row.
    const float* x = a.x;
    for (int64_t k = 0; k < a.in_channels; ++k, x += a.x_channel, w += H ? 0 : 16, w16 += H ? 16 : 0) {
      __m512 wv[OV];
      for (int j = 0; j < OV; ++j)
        wv[j] = H ? _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w16 + j * a.w_vector)))
                  : _mm512_loadu_ps(w + j * a.w_vector);
      for (int p = 0; p < P; ++p) {
        const __m512 v = _mm512_set1_ps(x[p]);
        for (int j = 0; j < OV; ++j) acc[p][j] = _mm512_fmadd_ps(v, wv[j], acc[p][j]);
      }
    }
  } else {
    for (int64_t ib = 0; ib < a.in_blocks; ++ib) {
      const float* x = a.x + ib * a.x_block;
      // nChw16c (the AVX-512 kernel's blocked layout): constant offsets.
      for (int64_t l = 0; l < 16; ++l, w += H ? 0 : 16, w16 += H ? 16 : 0) {
        __m512 wv[OV];
        for (int j = 0; j < OV; ++j)
          wv[j] = H ? _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w16 + j * a.w_vector)))
                    : _mm512_loadu_ps(w + j * a.w_vector);
        for (int p = 0; p < P; ++p) {
          const __m512 v = _mm512_set1_ps(x[p * 16 + l]);
          for (int j = 0; j < OV; ++j) acc[p][j] = _mm512_fmadd_ps(v, wv[j], acc[p][j]);
        }
      }
    }
  }
  // Output vector j is one whole nChw16c block.
  if (a.last && a.y16) {
    const __m512 lo = _mm512_set1_ps(a.lo), hi = _mm512_set1_ps(a.hi);
    for (int j = 0; j < OV; ++j) {
      uint16_t* y = a.y16 + (a.channel / 16 + j) * a.y16_block;
      for (int p = 0; p < P; ++p) {
        __m512 v = acc[p][j];
        if (a.clamp) v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + p * 16),
                            _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      }
    }
    return;
  }
  for (int j = 0; j < OV; ++j) {
    float* y = a.y + (a.channel / 16 + j) * a.y_block;
    for (int p = 0; p < P; ++p) _mm512_storeu_ps(y + p * 16, acc[p][j]);
  }
}

template <int P, int OV, bool H, bool CM>
__attribute__((target("avx2,fma,f16c"), always_inline)) inline void Tile256(const TileArgs& a) {
  static_assert(!CM, "channel-major strips run on the AVX-512 kernel only");
  __m256 acc[P][OV];
  if (a.first) {
    for (int j = 0; j < OV; ++j) {
      const __m256 b = _mm256_loadu_ps(a.bias + j * 8);
      for (int p = 0; p < P; ++p) acc[p][j] = b;
    }
  } else {
    for (int j = 0; j < OV; ++j) {
      const int64_t c = a.channel + 8 * j;
      const float* y = a.y + c / a.block * a.y_block + c % a.block;
      for (int p = 0; p < P; ++p) acc[p][j] = _mm256_loadu_ps(y + p * a.block);
    }
  }
  const float* w = a.w;
  const uint16_t* w16 = a.w16;
  for (int64_t ib = 0; ib < a.in_blocks; ++ib) {
    const float* x = a.x + ib * a.x_block;
    for (int64_t l = 0; l < a.block; ++l, w += H ? 0 : 8, w16 += H ? 8 : 0) {
      __m256 wv[OV];
      for (int j = 0; j < OV; ++j)
        wv[j] = H ? _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w16 + j * a.w_vector)))
                  : _mm256_loadu_ps(w + j * a.w_vector);
      for (int p = 0; p < P; ++p) {
        const __m256 v = _mm256_broadcast_ss(x + p * a.block + l);
        for (int j = 0; j < OV; ++j) acc[p][j] = _mm256_fmadd_ps(v, wv[j], acc[p][j]);
      }
    }
  }
  // Output vector j holds 8 channels from channel + 8 j: half of an
  // nChw16c block or a whole nChw8c one.
  const __m256 lo = _mm256_set1_ps(a.lo), hi = _mm256_set1_ps(a.hi);
  for (int j = 0; j < OV; ++j) {
    const int64_t c = a.channel + 8 * j;
    if (a.last && a.y16) {
      uint16_t* y = a.y16 + c / a.block * a.y16_block + c % a.block;
      for (int p = 0; p < P; ++p) {
        __m256 v = acc[p][j];
        if (a.clamp) v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
        __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __asm__("" : "+x"(h));  // vcvtps2ph to memory runs at half the rate on Zen 4
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + p * a.block), h);
      }
      continue;
    }
    float* y = a.y + c / a.block * a.y_block + c % a.block;
    for (int p = 0; p < P; ++p) _mm256_storeu_ps(y + p * a.block, acc[p][j]);
  }
}

// Pixels [0, pixels) of the strip for OV output vectors from the tile's
// first: whole tiles of P pixels, then the tail as tiles of 6 and fewer.
// One copy per instruction set: GCC inlines a target function only into a
// function of the same target.
inline void AdvancePixels(TileArgs* t, int64_t pixels) {
  t->x += pixels * t->x_pixel;
  if (t->y) t->y += pixels * t->block;
  if (t->y16) t->y16 += pixels * t->block;
}
#define MIXQ_PW_COLUMNS(NAME, TARGET, TILE)                                                     \
  template <int OV, int P, bool H, bool CM>                                                     \
  __attribute__((target(TARGET), always_inline)) inline void NAME(TileArgs a, int64_t pixels) { \
    int64_t p = 0;                                                                              \
    for (; p + P <= pixels; p += P) {                                                           \
      TileArgs t = a;                                                                           \
      AdvancePixels(&t, p);                                                                     \
      TILE<P, OV, H, CM>(t);                                                                    \
    }                                                                                           \
    AdvancePixels(&a, p);                                                                       \
    if constexpr (P > 6) {                                                                      \
      if (pixels - p >= 6) {                                                                    \
        TILE<6, OV, H, CM>(a);                                                                  \
        AdvancePixels(&a, 6);                                                                   \
        p += 6;                                                                                 \
      }                                                                                         \
    }                                                                                           \
    switch (pixels - p) {                                                                       \
      case 1:                                                                                   \
        TILE<1, OV, H, CM>(a);                                                                  \
        break;                                                                                  \
      case 2:                                                                                   \
        TILE<2, OV, H, CM>(a);                                                                  \
        break;                                                                                  \
      case 3:                                                                                   \
        TILE<3, OV, H, CM>(a);                                                                  \
        break;                                                                                  \
      case 4:                                                                                   \
        TILE<4, OV, H, CM>(a);                                                                  \
        break;                                                                                  \
      case 5:                                                                                   \
        TILE<5, OV, H, CM>(a);                                                                  \
        break;                                                                                  \
      default:                                                                                  \
        break;                                                                                  \
    }                                                                                           \
  }
MIXQ_PW_COLUMNS(Columns512, "avx512f,avx512vl,f16c,fma", Tile512)
MIXQ_PW_COLUMNS(Columns256, "avx2,fma,f16c", Tile256)
#undef MIXQ_PW_COLUMNS

// The tile's output vector `v` of `lanes`: its weights, bias and place in
// the output strip (which starts at vector v0).
TileArgs AtVector(TileArgs a, int64_t v, int64_t v0, int64_t lanes) {
  if (a.w16)
    a.w16 += v * a.w_vector;
  else
    a.w += v * a.w_vector;
  a.bias += v * lanes;
  a.channel = (v - v0) * lanes;
  return a;
}

// Output vectors [v0, v1) over the strip's `pixels` pixels, a few at a
// time and the rest as one narrower tile.
template <bool H, bool CM>
__attribute__((target("avx512f,avx512vl,f16c,fma"))) void Strip512(const TileArgs& a, int64_t v0, int64_t v1,
                                                                   int64_t pixels) {
  // Fewer vectors, more pixels: about 24 accumulators, and each broadcast
  // input value feeds at least two FMAs where the vectors allow. Float16
  // weights: two vectors by 12 pixels, so that each widened weight vector
  // (vcvtph2ps, which takes an FMA port on Intel) feeds 12 FMAs, not 6: on
  // the AMX Xeon MobileNetV2's 32 -> 192 at 28 x 28 0.068 -> 0.063 ms (oneDNN
  // float32: 0.0625), ResNet-50's 1 x 1 layers 5-9 % faster (float16 bench,
  // 1 thread; with the constant block offsets of Tile512).
  int64_t v = v0;
  if constexpr (H) {
    for (; v + 2 <= v1; v += 2) Columns512<2, 12, H, CM>(AtVector(a, v, v0, 16), pixels);
  } else {
    for (; v + 4 <= v1; v += 4) Columns512<4, 6, H, CM>(AtVector(a, v, v0, 16), pixels);
    if (v1 - v == 3) Columns512<3, 8, H, CM>(AtVector(a, v, v0, 16), pixels);
    if (v1 - v == 2) Columns512<2, 12, H, CM>(AtVector(a, v, v0, 16), pixels);
  }
  if (v1 - v == 1) Columns512<1, 12, H, CM>(AtVector(a, v, v0, 16), pixels);
}
template <bool H>
__attribute__((target("avx2,fma,f16c"))) void Strip256(const TileArgs& a, int64_t v0, int64_t v1, int64_t pixels) {
  int64_t v = v0;
  for (; v + 2 <= v1; v += 2) Columns256<2, 6, H, false>(AtVector(a, v, v0, 8), pixels);
  if (v1 - v == 1) Columns256<1, 12, H, false>(AtVector(a, v, v0, 8), pixels);
}

// rows[l * pixels + p] = block[p * 16 + l]: one nChw16c block's strip of
// float32 sums as 16 channel rows, 8 x 8 tiles (kernels/transpose8x8.h).
__attribute__((target("avx2"))) void TransposeBlockToRows(const float* block, int64_t pixels, float* rows) {
  int64_t p = 0;
  for (; p + 8 <= pixels; p += 8)
    for (int half = 0; half < 2; ++half) {
      __m256 r[8];
      for (int k = 0; k < 8; ++k) r[k] = _mm256_loadu_ps(block + (p + k) * 16 + 8 * half);
      kernels::Transpose8x8(r);
      for (int k = 0; k < 8; ++k) _mm256_storeu_ps(rows + (8 * half + k) * pixels + p, r[k]);
    }
  for (; p < pixels; ++p)
    for (int l = 0; l < 16; ++l) rows[l * pixels + p] = block[p * 16 + l];
}

bool PlainInputFits(const KernelInit& init);   // below
bool PlainOutputFits(const KernelInit& init);  // below

class HalfPointwise : public Kernel {
 public:
  explicit HalfPointwise(bool avx512) : avx512_(avx512), lanes_(avx512 ? 16 : 8) {}
  const char* Name() const override { return avx512_ ? "avx512-f16-pw" : "avx2-f16-pw"; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }
  // The filter and the bias are packed (the residual addend is read).
  bool ReadsInputAtRun(size_t index) const override { return index != 1 && index != 2; }

  Status Init(const KernelInit& init) {
    MIXQ_RETURN_IF_ERROR(ComputeConv2DGeometry(init.attrs, init.inputs, &g_));
    plain_input_ = avx512_ && PlainInputFits(init);
    plain_output_ = avx512_ && PlainOutputFits(init);
    block_ = plain_output_ ? 16 : BlockChannels(init.outputs[0].layout);
    if (!plain_input_ && block_ != BlockChannels(init.inputs[0]->layout)) block_ = 0;
    if (block_ == 0 || block_ < lanes_ || (!plain_input_ && g_.in_channels % block_ != 0) ||
        (!plain_output_ && g_.out_channels % block_ != 0))
      return Internal(
          "Conv2D (float16 pointwise): needs nChw8c / nChw16c tensors in whole channel blocks (or, on AVX-512, "
          "one side plain with up to 64 channels in eights and the other nChw16c)");
    // A plain output's channels padded to whole vectors (zero weights and
    // bias; the padding sums are never stored).
    out_padded_ = (g_.out_channels + block_ - 1) / block_ * block_;
    const int64_t in_c = g_.in_channels, out_c = g_.out_channels, out_padded = out_padded_;
    // [output vector][input channel][lane]; a 1 x 1 filter is [out][in] in
    // OIHW and OHWI alike.
    // Then the bias; once per engine.
    const auto* filter = static_cast<const float*>(init.inputs[1]->const_data);
    const auto* bias =
        init.inputs.size() > 2 && init.inputs[2] ? static_cast<const float*>(init.inputs[2]->const_data) : nullptr;
    // Weights that are all float16 values (a force_float16 step's are) are
    // packed as float16, two to a float slot, and widened as the tiles load
    // them: half the bytes to keep and to stream (`HoldsHalfValues`).
    const int64_t lanes = lanes_;
    const bool half = HoldsHalfValues(filter, out_c * in_c);
    // in_c: whole blocks of 8 or 16, or a multiple of 8.
    const int64_t weight_floats = half ? out_padded * in_c / 2 : out_padded * in_c;
    MIXQ_RETURN_IF_ERROR(PackFloatsOnce(
        init, half ? StrCat(Name(), "/f16") : std::string(Name()), static_cast<size_t>(weight_floats + out_padded),
        [&](float* w) {
          std::fill(w, w + weight_floats + out_padded, 0.0f);  // the padding (float16 zeros are zero bits too)
          for (int64_t o = 0; o < out_c; ++o)
            for (int64_t i = 0; i < in_c; ++i) {
              const int64_t at = ((o / lanes) * in_c + i) * lanes + o % lanes;
              const float v = filter[o * in_c + i];
              if (!half) {
                w[at] = v;
                continue;
              }
              const uint16_t h = FloatToHalf(v);
              std::memcpy(reinterpret_cast<unsigned char*>(w) + 2 * at, &h, sizeof(h));
            }
          if (bias) std::memcpy(w + weight_floats, bias, static_cast<size_t>(out_c) * sizeof(float));
        },
        &packed_, &private_bytes_));
    weights_ = half ? nullptr : packed_->data();
    weights16_ = half ? reinterpret_cast<const uint16_t*>(packed_->data()) : nullptr;
    bias_ = packed_->data() + weight_floats;
    stage_ = std::make_unique<HalfOutputStage>(init);
    if (!plain_output_) store_ = DirectStoreOf(*stage_);  // a plain output goes through the stage
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int64_t plane = g_.in_h * g_.in_w, out_blocks = out_padded_ / block_;
    const int threads = std::max(1, omp_get_max_threads());
    // Strips of pixels whose widened input chunk stays within
    // kStripInputFloats (L1) and whose float32 outputs, per block, within
    // kStripOutputFloats; where partial sums are kept (several chunks), all
    // of the strip's float32 outputs within kStripPartialFloats (L2). Where
    // the weights pass kLargeWeightFloats (a quarter of L2), wider strips,
    // each input up to kStripWideFloats: every strip reads all the weights,
    // and from 1 MB on they come from L3 (ResNet-50's 256 -> 1024 at 14 x 14
    // ran 10 % behind oneDNN's float32 kernel in 24-pixel strips). A multiple
    // of the tile's pixels.
    constexpr int64_t kStripInputFloats = 6 * 1024, kStripOutputFloats = 4 * 1024, kStripPartialFloats = 64 * 1024;
    constexpr int64_t kLargeWeightFloats = 64 * 1024, kStripWideFloats = 64 * 1024;
    constexpr int64_t tile = 24;  // a multiple of every tile's pixels
    constexpr int64_t kPlainOutputStrip = 192;
    const bool partial = g_.in_channels > chunk_;
    int64_t strip = std::min(kStripInputFloats / std::min(g_.in_channels, chunk_), kStripOutputFloats / block_);
    if (g_.in_channels * g_.out_channels > kLargeWeightFloats)
      strip = std::max(strip, kStripWideFloats / std::min(g_.in_channels, chunk_));
    if (partial) strip = std::min(strip, kStripPartialFloats / out_padded_);
    // A plain output goes through the stage one channel row at a time: rows
    // of a 24-pixel strip cost more in calls than in values.
    if (plain_output_) strip = std::max<int64_t>(strip, kPlainOutputStrip);
    strip = std::max<int64_t>(tile, strip / tile * tile);
    const int64_t strips = (plane + strip - 1) / strip;
    // Output blocks split into groups only when the strips alone leave a
    // thread without work (small planes, many channels).
    int64_t groups = 1;
    while (groups < out_blocks && g_.batch * strips * groups < 2 * threads) ++groups;
    const int64_t items = g_.batch * strips * groups;
    if (workers_.size() < static_cast<size_t>(threads)) workers_.resize(static_cast<size_t>(threads));
    const uint16_t* x = in[0].Data<const uint16_t>();
    auto run_item = [&](int64_t item) {
      Worker* w = &workers_[static_cast<size_t>(omp_get_thread_num())];
      const int64_t n = item / (strips * groups), s = item / groups % strips, group = item % groups;
      const int64_t p0 = s * strip, pixels = std::min(strip, plane - p0);
      const int64_t b0 = group * out_blocks / groups, b1 = (group + 1) * out_blocks / groups;
      RunStrip(x, n, p0, pixels, b0, b1, w, in, out[0]);
    };
    // Many strips: each thread the same contiguous share of the pixels in
    // every layer of a plane size, so the next layer reads its strip from
    // its own core's caches (ResNet-50 force_float16, 2 threads: the 56 x 56
    // 64 -> 256 layers with their residual add 0.84 -> 0.61 ms; dynamic
    // scheduling scattered strips over both cores). Few strips (14 x 14 and
    // 7 x 7 planes, strips of unequal size): dynamic, which balances them
    // (0.50 against 0.95 ms statically).
    if (items >= 4 * threads && g_.batch == 1 && groups == 1 && threads > 1) {
      // One image: each thread an equal share of the pixels (whole tiles),
      // in strips. Strips dealt out whole left 14 x 14 planes (9 strips of
      // 24 pixels, the last of 4) split 120 : 76 at 2 threads.
#pragma omp parallel for schedule(static)
      for (int t = 0; t < threads; ++t) {
        Worker* w = &workers_[static_cast<size_t>(omp_get_thread_num())];
        const int64_t begin = plane * t / threads / tile * tile;
        const int64_t end = t + 1 == threads ? plane : plane * (t + 1) / threads / tile * tile;
        for (int64_t p0 = begin; p0 < end; p0 += strip)
          RunStrip(x, 0, p0, std::min(strip, end - p0), 0, out_blocks, w, in, out[0]);
      }
    } else if (items >= 4 * threads) {
#pragma omp parallel for schedule(static) if (threads > 1)
      for (int64_t item = 0; item < items; ++item) run_item(item);
    } else {
#pragma omp parallel for schedule(dynamic, 1) if (items > 1 && threads > 1)
      for (int64_t item = 0; item < items; ++item) run_item(item);
    }
    return Status::OK();
  }

 private:
  struct Worker {
    std::vector<float> x, y;  // the strip's widened input and float32 outputs
    std::vector<float> t;     // a plain output: one block's outputs as 16 channel rows
  };

  // Pixels [p0, p0 + pixels) of image n, output blocks [b0, b1).
  void RunStrip(const uint16_t* x, int64_t n, int64_t p0, int64_t pixels, int64_t b0, int64_t b1, Worker* w,
                const std::vector<TensorView>& in, const TensorView& out) const {
    const int64_t plane = g_.in_h * g_.in_w;
    // A plain input (plain_input_) is one chunk of channel-major rows.
    const int64_t in_blocks = plain_input_ ? 1 : g_.in_channels / block_;
    const int64_t out_blocks = out_padded_ / block_;
    const int64_t strip_floats = pixels * block_, chunk_blocks = plain_input_ ? 1 : chunk_ / block_;
    const bool partial = in_blocks > chunk_blocks;
    w->x.resize(
        static_cast<size_t>(plain_input_ ? g_.in_channels * pixels : std::min(in_blocks, chunk_blocks) * strip_floats));
    // The float32 outputs: every block's where partial sums are kept, else
    // one group's at a time.
    const int64_t group_blocks = 64 / block_;
    if (partial)
      w->y.resize(static_cast<size_t>((b1 - b0) * strip_floats));
    else if (!store_.direct)
      w->y.resize(static_cast<size_t>(std::min(b1 - b0, group_blocks) * strip_floats));
    TileArgs a{};
    a.x = w->x.data();
    a.x_block = strip_floats;
    a.x_pixel = plain_input_ ? 1 : block_;
    a.x_channel = pixels;
    a.in_channels = g_.in_channels;
    a.block = block_;
    a.w_vector = g_.in_channels * lanes_;
    a.bias = bias_;
    a.y = w->y.data();
    a.y_block = strip_floats;
    if (store_.direct) {
      a.y16 = out.Data<uint16_t>() + ((n * out_blocks + b0) * plane + p0) * block_;
      a.y16_block = plane * block_;
      a.clamp = store_.clamp;
      a.lo = store_.lo;
      a.hi = store_.hi;
    }
    // Input channels in chunks whose weights stay in L1 across the strip's
    // tiles; the sums in between kept in the float32 strip.
    for (int64_t c0 = 0; c0 < in_blocks; c0 += chunk_blocks) {
      const int64_t c1 = std::min(in_blocks, c0 + chunk_blocks);
      // A channel block's pixels are contiguous in nChwXc: one row per block;
      // in a plain input, one row per channel.
      if (plain_input_) {
        for (int64_t c = 0; c < g_.in_channels; ++c)
          kernels::HalfToFloatRow(x + (n * g_.in_channels + c) * plane + p0, w->x.data() + c * pixels, pixels);
      } else {
        for (int64_t ib = c0; ib < c1; ++ib)
          kernels::HalfToFloatRow(x + ((n * in_blocks + ib) * plane + p0) * block_,
                                  w->x.data() + (ib - c0) * strip_floats, strip_floats);
      }
      a.in_blocks = c1 - c0;
      a.first = c0 == 0;
      a.last = c1 == in_blocks;
      if (weights16_)
        a.w16 = weights16_ + c0 * block_ * lanes_;
      else
        a.w = weights_ + c0 * block_ * lanes_;
      // Output blocks in groups of 64 channels; after the last chunk each
      // group's float32 outputs go through the output stage while in L1.
      for (int64_t g0 = b0; g0 < b1; g0 += group_blocks) {
        const int64_t g1 = std::min(b1, g0 + group_blocks);
        TileArgs ag = a;
        const int64_t y0 = partial ? g0 - b0 : 0;  // the group's first block in y
        if (ag.y) ag.y += y0 * strip_floats;
        if (ag.y16) ag.y16 += (g0 - b0) * ag.y16_block;
        const int64_t v0 = g0 * block_ / lanes_, v1 = g1 * block_ / lanes_;
        if (avx512_ && plain_input_)
          weights16_ ? Strip512<true, true>(ag, v0, v1, pixels) : Strip512<false, true>(ag, v0, v1, pixels);
        else if (avx512_)
          weights16_ ? Strip512<true, false>(ag, v0, v1, pixels) : Strip512<false, false>(ag, v0, v1, pixels);
        else
          weights16_ ? Strip256<true>(ag, v0, v1, pixels) : Strip256<false>(ag, v0, v1, pixels);
        if (!a.last || store_.direct) continue;
        if (plain_output_) {
          // Each output channel's strip is contiguous in a plain output:
          // the block's [pixel][16] sums transposed to channel rows first.
          for (int64_t b = g0; b < g1; ++b) {
            const int64_t channels = std::min<int64_t>(16, g_.out_channels - b * 16);
            w->t.resize(static_cast<size_t>(16 * pixels));
            TransposeBlockToRows(w->y.data() + (y0 + b - g0) * strip_floats, pixels, w->t.data());
            for (int64_t l = 0; l < channels; ++l)
              stage_->Apply(w->t.data() + l * pixels, pixels, (n * g_.out_channels + b * 16 + l) * plane + p0, in, out);
          }
          continue;
        }
        // Each output block's strip is contiguous in the blocked output.
        for (int64_t b = g0; b < g1; ++b)
          stage_->Apply(w->y.data() + (y0 + b - g0) * strip_floats, strip_floats,
                        ((n * out_blocks + b) * plane + p0) * block_, in, out);
      }
    }
  }

  bool avx512_;
  int64_t lanes_;
  bool plain_input_ = false;   // a plain (NCHW) input, channel-major strips (PlainInputFits)
  bool plain_output_ = false;  // a plain (NCHW) output, through the stage row by row (PlainOutputFits)
  int64_t out_padded_ = 0;     // output channels in whole vectors
  // Input channels per chunk (the header says why this many).
  int64_t chunk_ = 1024;
  ConvGeometry g_;
  int64_t block_ = 0;
  std::shared_ptr<const std::vector<float>> packed_;  // the engine's (init.weights), or this kernel's
  const float* weights_ = nullptr;                    // into packed_: [output vector][input channel][lane]
  const uint16_t* weights16_ = nullptr;               // or the same as float16 values
  const float* bias_ = nullptr;                       // into packed_: [output channel]
  int64_t private_bytes_ = 0;
  std::unique_ptr<HalfOutputStage> stage_;
  // Whether the tiles store float16 themselves, and after which clamp.
  HalfDirectStore store_;
  std::vector<Worker> workers_;  // one per OpenMP thread
};

// A 1 x 1, stride-1, unpadded, one-group convolution between float16
// tensors, const FLOAT32 filter and bias, post-ops the output stage
// applies, NCHW activations.
bool SupportsShape(const KernelInit& init) {
  ConvGeometry g;
  if (!HalfConvOperands(init, &g) || g.group != 1 || g.kernel_h != 1 || g.kernel_w != 1 || g.stride_h != 1 ||
      g.stride_w != 1 || g.pad_top != 0 || g.pad_left != 0 || g.out_h != g.in_h || g.out_w != g.in_w ||
      g.input_axes.pos[1] != 1 || g.output_axes.pos[1] != 1)
    return false;
  if (init.ComputeOf(0) != DataType::FLOAT16 && init.ComputeOf(0) != DataType::FLOAT32) return false;
  return HalfOutputStage::Supports(init);
}

// The layouts this kernel runs in: input, output and a residual addend all
// in `block` (nChw16c only for the AVX-512 kernel), channels in whole blocks.
bool LayoutsFit(const KernelInit& init, MemoryLayout block, bool avx512) {
  const int64_t channels = BlockChannels(block);
  if (channels == 0 || (avx512 && channels != 16)) return false;
  if (init.inputs[0]->shape.size() != 4 || init.inputs[0]->shape[1] % channels != 0) return false;
  return init.outputs[0].shape.size() == 4 && init.outputs[0].shape[1] % channels == 0;
}

// A plain (NCHW) input that the AVX-512 kernel reads channel by channel
// (channel-major strips): up to 64 channels in eights that are not whole
// 16-channel blocks, so that the layout pass never blocks them on an AVX-512
// CPU (MobileNetV2's 24), into an output in whole 16-channel blocks.
// MobileNetV2's 24 -> 144 at 56 x 56 ran in onednn-f16 (the widened plain
// input, oneDNN's float32 kernel on it, the output stage: 0.26 ms against
// float32's 0.18, one thread, AMX Xeon); see bench/RESULTS.md stop 42.
bool PlainInputShape(const KernelInit& init) {
  const ir::Shape &x = init.inputs[0]->shape, &y = init.outputs[0].shape;
  return x.size() == 4 && x[1] % 8 == 0 && x[1] % 16 != 0 && x[1] <= 64 && y.size() == 4 && y[1] % 16 == 0;
}
// The same with the layouts the pass gave: the input plain, the output (and
// any residual addend) nChw16c.
bool PlainInputFits(const KernelInit& init) {
  return PlainInputShape(init) && init.inputs[0]->layout == MemoryLayout::kPlain &&
         init.outputs[0].layout == MemoryLayout::kBlocked16 && AddendsInOutputLayout(init);
}

// The other way: an input in whole 16-channel blocks into a plain output of
// up to 64 channels in eights that are not (MobileNetV2's 96 -> 24 and
// 144 -> 24 with its residual add, in onednn-f16 0.19 and 0.27 ms against
// float32's 0.15 and 0.23), its sums padded to whole vectors and passed to
// the output stage channel row by channel row.
bool PlainOutputShape(const KernelInit& init) {
  const ir::Shape &x = init.inputs[0]->shape, &y = init.outputs[0].shape;
  return x.size() == 4 && x[1] % 16 == 0 && y.size() == 4 && y[1] % 8 == 0 && y[1] % 16 != 0 && y[1] <= 64;
}
bool PlainOutputFits(const KernelInit& init) {
  return PlainOutputShape(init) && init.inputs[0]->layout == MemoryLayout::kBlocked16 &&
         init.outputs[0].layout == MemoryLayout::kPlain && AddendsInOutputLayout(init);
}

// The kernel runs with input, output and every residual addend in one
// blocked layout, or (AVX-512) with one side plain as PlainInputFits /
// PlainOutputFits say.
template <bool kAvx512>
bool RunsInLayouts(const KernelInit& init) {
  if (kAvx512 && (PlainInputFits(init) || PlainOutputFits(init))) return true;
  return OneLayoutThroughout(init) && LayoutsFit(init, init.inputs[0]->layout, kAvx512);
}

// Plain tensors, or a mix of plain and blocked ones, are taken for the
// selection and the layout pass only; RunsInLayouts (keep_with_layouts) then
// gives such a step to the next kernel (onednn-f16, which reorders).
// Declining a mix here instead would make the layout pass send the step's
// blocked tensors back to plain, and with them the neighbours' (PP-OCR
// rec's depthwise layers left avx512-f16-dw that way: 12.5 ms against 10.5
// at 2 threads). Plain in and out only when both could be blocked on any
// CPU (whole 16-channel blocks): a step whose other tensor can never be
// blocked (24 channels on an AVX-512 CPU) would hold its blocked neighbour
// plain; except, on AVX-512, where that other tensor is one the kernel runs
// plain (PlainInputShape / PlainOutputShape: its blocked_slots then offer
// only the side that can be blocked).
// On an Intel AVX-512 CPU (kernels::OneDnnFloatGemmPays), at least 64
// channels in and out on a plane of at least 14 x 14: the float16 step is
// left to onednn-f16 (oneDNN's 1 x 1 kernels on the widened tensor, in jobs
// of rows x output channels where the tensors pass L2), which ran those
// layers faster there. One thread (AMX Xeon): ResNet-50's 56 x 56 to
// 14 x 14 layers 0.78-0.91 -> 0.58-0.61 ms, MobileNetV2's 14 x 14 ones
// 0.16 -> 0.14. Two threads, only layers of at least 16 M multiply-adds
// (conv2d/onednn_half_bands.h; step minima): ResNet-50's 28 x 28 layers
// 0.48-0.52 -> 0.42-0.43 ms, its 14 x 14 ones 0.44-0.45 -> 0.34-0.41, the
// 56 x 56 ones with a residual add 0.49 -> 0.45-0.48 (those without one
// 0.42-0.43 -> 0.47, within the spread); MobileNetV2's smaller 14 x 14
// layers and the 64 -> 64 at 56 x 56 stay here (0.13 against 0.17 ms).
// Wide planes with few channels and the 7 x 7 layers stay here too
// (MobileNetV2's 16 -> 96 at 112 x 112 0.34 here against 0.49 in
// onednn-f16, 160 -> 960 at 7 x 7 0.114 against 0.133; ResNet-50's
// 7 x 7 x 2048 layers 0.47-0.50 against 0.48-0.53 at 2 threads), except
// 7 x 7 layers from 512 input channels or more to as many or fewer at one
// thread: MobileNetV2's 960 -> 160 0.110 -> 0.095 ms, 960 -> 320 0.215 ->
// 0.182, 576 -> 160 0.071 -> 0.058, ResNet-50's 2048 -> 512 0.78 -> 0.73
// (its 512 -> 2048 0.75 -> 0.77 stay here, and at two threads its 2048 ->
// 512, 0.405 here against 0.431; Intel Xeon, step minima).
bool LeftToOneDnn(const KernelInit& init) {
  if (!kernels::OneDnnFloatGemmPays()) return false;
  ConvGeometry g;
  if (!HalfConvOperands(init, &g)) return false;
  const bool one_thread = omp_get_max_threads() == 1;
  if (!one_thread && g.in_h * g.in_w * g.in_channels * g.out_channels < (int64_t{16} << 20)) return false;
  // Up to 128 channels in and 256 out, or 256 in and 128 out, they stay
  // here at two threads too since the 12-pixel tiles (Strip512): ResNet-50's
  // 64 -> 256 at 56 x 56 0.416 -> 0.330 and 0.427 -> 0.405 ms, its 256 -> 64
  // 0.411 -> 0.345 and 0.384 -> 0.342, 256 -> 128 0.656 -> 0.595; PP-OCRv4
  // rec's 128 -> 128 at 12 x 160 0.234 -> 0.205 (AMX Xeon, step minima);
  // wider ones (rec's 240 -> 240, 480 -> 480) ran faster in onednn-f16.
  if (!one_thread &&
      ((g.in_channels <= 128 && g.out_channels <= 256) || (g.in_channels <= 256 && g.out_channels <= 128)))
    return false;
  return g.in_channels >= 64 && g.out_channels >= 64 &&
         (g.in_h * g.in_w >= 14 * 14 || (one_thread && g.in_channels >= 512 && g.in_channels >= g.out_channels));
}

template <bool kAvx512>
bool Supports(const KernelInit& init) {
  if (LeftToOneDnn(init) || !SupportsShape(init) || !AddendsInOutputLayout(init)) return false;
  const MemoryLayout in = init.inputs[0]->layout, out = init.outputs[0].layout;
  if (in == MemoryLayout::kPlain && out == MemoryLayout::kPlain)
    return (init.inputs[0]->shape.size() == 4 && init.inputs[0]->shape[1] % 16 == 0 &&
            init.outputs[0].shape.size() == 4 && init.outputs[0].shape[1] % 16 == 0) ||
           (kAvx512 && (PlainInputShape(init) || PlainOutputShape(init)));
  return true;
}

template <bool kAvx512>
void BlockedSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* ins, std::vector<bool>* outs) {
  if (kAvx512 && block == MemoryLayout::kBlocked16 && SupportsShape(init) && PlainInputShape(init)) {
    // The input stays plain; the output and any residual addend are blocked.
    HalfConvBlockedSlots(init, true, ins, outs);
    (*ins)[0] = false;
    return;
  }
  if (kAvx512 && block == MemoryLayout::kBlocked16 && SupportsShape(init) && PlainOutputShape(init)) {
    // The input is blocked; the output and any residual addend stay plain.
    ins->assign(init.inputs.size(), false);
    outs->assign(init.outputs.size(), false);
    (*ins)[0] = true;
    return;
  }
  HalfConvBlockedSlots(init, SupportsShape(init) && LayoutsFit(init, block, kAvx512), ins, outs);
}

template <bool kAvx512>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<HalfPointwise>(kAvx512);
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON

MIXQ_REGISTER_KERNELS(conv2d, half_pw) {
  // Above onednn-f16 (10): no float32 copies of the tensors, one parallel region.
  mixq::ops::RegisterKernel({"avx2-f16-pw", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 12,
                             mixq::ops::Supports<false>, mixq::ops::Make<false>, mixq::ops::BlockedSlots<false>,
                             mixq::ops::RunsInLayouts<false>, mixq::ops::AddendAlias});
  mixq::ops::RegisterKernel({"avx512-f16-pw", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx512, 13,
                             mixq::ops::Supports<true>, mixq::ops::Make<true>, mixq::ops::BlockedSlots<true>,
                             mixq::ops::RunsInLayouts<true>, mixq::ops::AddendAlias});
}
