// The stem convolution of float16 networks ("avx512-f16-stem"): a Conv2D of
// a plain float16 image with at most 4 channels (RGB), any kernel size,
// stride 1 or 2, into float16 nChw16c.
//
// Why: oneDNN 2.6 has no float16 convolution, and "onednn-f16" widened the
// image, ran oneDNN's float32 kernel into a float32 copy of the output and
// passed that copy through the output stage: MobileNetV2's 3 -> 32 3 x 3
// stride-2 stem 0.25 ms against float32's 0.15 (one thread, AMX Xeon); the
// output copy (1.6 MB) came back from L3. Here the image is widened once
// into a zero-padded float32 copy (the input is small: 3 channels), and each
// tile of 12 output pixels by two 16-channel vectors sums its taps from it
// in registers (float32 weights, broadcast inputs: no conversions in the
// loop) and stores float16 itself, or passes one row through the output
// stage while it is in L1.
//
// Accuracy: float32 products summed in float32 in (channel, ky, kx) order
// from the bias, then rounded to float16: within one float16 step of the
// reference's result on the same values (cpu_half_stem_test.cc).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/avx512_warnings.h"
#include "kernels/half_io.h"
#include "kernels/parallel.h"
#include "kernels/thread_scratch.h"
#include "ops/conv2d/conv_params.h"
#include "ops/conv2d/half_conv_common.h"
#include "ops/half_output_stage.h"
#include "ops/half_storage.h"
#include "ops/kernel_registry.h"
#include "util/status_util.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {

namespace {

constexpr int64_t kMaxChannels = 4;  // input channels
constexpr int kPixels = 12;          // output pixels per tile

// What a tile reads and writes.
struct StemArgs {
  const float* x;    // the padded image at the tile's first input column (channel 0, its first row)
  int64_t x_plane;   // floats between channels of the padded image
  int64_t x_row;     // floats between its rows
  int64_t channels;  // input channels
  int64_t kh, kw;
  const float* w;    // the tile's first output vector: [tap][16], taps in (channel, ky, kx) order
  int64_t w_vector;  // floats between output vectors' weights (taps * 16)
  const float* bias;
  // The tile's outputs: float16 straight into the output tensor (y16 at the
  // tile's first pixel, y16_vector elements between output vectors), or
  // float32 into `y` ([vector][pixel][16], y_vector floats apart).
  uint16_t* y16;
  int64_t y16_vector;
  float* y;
  int64_t y_vector;
  bool clamp;
  float lo, hi;
};

// P pixels by OV output vectors, stride S.
template <int P, int OV, int S>
__attribute__((target("avx512f,avx512vl,f16c,fma"), always_inline)) inline void StemTile(const StemArgs& a) {
  __m512 acc[P][OV];
  for (int j = 0; j < OV; ++j) {
    const __m512 b = _mm512_loadu_ps(a.bias + j * 16);
    for (int p = 0; p < P; ++p) acc[p][j] = b;
  }
  const float* w = a.w;
  for (int64_t c = 0; c < a.channels; ++c)
    for (int64_t ky = 0; ky < a.kh; ++ky) {
      const float* row = a.x + c * a.x_plane + ky * a.x_row;
      for (int64_t kx = 0; kx < a.kw; ++kx, w += 16) {
        __m512 wv[OV];
        for (int j = 0; j < OV; ++j) wv[j] = _mm512_loadu_ps(w + j * a.w_vector);
        // Opaque to the compiler: GCC otherwise keeps the values one tap
        // shares with the next (stride 2: every other one) in registers and
        // spills the sums for them.
        const float* r = row + kx;
        __asm__("" : "+r"(r));
        for (int p = 0; p < P; ++p) {
          const __m512 v = _mm512_set1_ps(r[p * S]);
          for (int j = 0; j < OV; ++j) acc[p][j] = _mm512_fmadd_ps(v, wv[j], acc[p][j]);
        }
      }
    }
  if (a.y16) {
    const __m512 lo = _mm512_set1_ps(a.lo), hi = _mm512_set1_ps(a.hi);
    for (int j = 0; j < OV; ++j)
      for (int p = 0; p < P; ++p) {
        __m512 v = acc[p][j];
        if (a.clamp) v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(a.y16 + j * a.y16_vector + p * 16),
                            _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      }
    return;
  }
  for (int j = 0; j < OV; ++j)
    for (int p = 0; p < P; ++p) _mm512_storeu_ps(a.y + j * a.y_vector + p * 16, acc[p][j]);
}

// One output row's `width` pixels for OV vectors: tiles of kPixels, then the tail.
template <int OV, int S>
__attribute__((target("avx512f,avx512vl,f16c,fma"))) void StemRow(StemArgs a, int64_t width) {
  auto advance = [](StemArgs* t, int64_t pixels) {
    t->x += pixels * S;
    if (t->y16) t->y16 += pixels * 16;
    if (t->y) t->y += pixels * 16;
  };
  int64_t p = 0;
  for (; p + kPixels <= width; p += kPixels) {
    StemTile<kPixels, OV, S>(a);
    advance(&a, kPixels);
  }
  switch (width - p) {
#define MIXQ_STEM_TAIL(N)  \
  case N:                  \
    StemTile<N, OV, S>(a); \
    break;
    MIXQ_STEM_TAIL(1)
    MIXQ_STEM_TAIL(2)
    MIXQ_STEM_TAIL(3)
    MIXQ_STEM_TAIL(4)
    MIXQ_STEM_TAIL(5)
    MIXQ_STEM_TAIL(6)
    MIXQ_STEM_TAIL(7)
    MIXQ_STEM_TAIL(8)
    MIXQ_STEM_TAIL(9)
    MIXQ_STEM_TAIL(10)
    MIXQ_STEM_TAIL(11)
#undef MIXQ_STEM_TAIL
    default:
      break;
  }
}

class HalfStem : public Kernel {
 public:
  const char* Name() const override { return "avx512-f16-stem"; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }
  bool ReadsInputAtRun(size_t index) const override { return index != 1 && index != 2; }

  Status Init(const KernelInit& init) {
    MIXQ_RETURN_IF_ERROR(ComputeConv2DGeometry(init.attrs, init.inputs, &g_));
    const int64_t c_in = g_.in_channels, c_out = g_.out_channels, taps = c_in * g_.kernel_h * g_.kernel_w;
    const bool ohwi = init.attrs.Str("filter_layout", "OIHW") == "OHWI";
    const auto* filter = static_cast<const float*>(init.inputs[1]->const_data);
    const auto* bias =
        init.inputs.size() > 2 && init.inputs[2] ? static_cast<const float*>(init.inputs[2]->const_data) : nullptr;
    // [output vector][tap (channel, ky, kx)][lane], then the bias.
    MIXQ_RETURN_IF_ERROR(PackFloatsOnce(
        init, Name(), static_cast<size_t>(c_out * taps + c_out),
        [&](float* w) {
          for (int64_t o = 0; o < c_out; ++o)
            for (int64_t c = 0; c < c_in; ++c)
              for (int64_t ky = 0; ky < g_.kernel_h; ++ky)
                for (int64_t kx = 0; kx < g_.kernel_w; ++kx) {
                  const int64_t from = ohwi ? ((o * g_.kernel_h + ky) * g_.kernel_w + kx) * c_in + c
                                            : ((o * c_in + c) * g_.kernel_h + ky) * g_.kernel_w + kx;
                  const int64_t tap = (c * g_.kernel_h + ky) * g_.kernel_w + kx;
                  w[((o / 16) * taps + tap) * 16 + o % 16] = filter[from];
                }
          if (bias) std::memcpy(w + c_out * taps, bias, static_cast<size_t>(c_out) * sizeof(float));
        },
        &packed_, &private_bytes_));
    stage_ = std::make_unique<HalfOutputStage>(init);
    store_ = DirectStoreOf(*stage_);
    // The padded image: every column and row a tap reads.
    padded_w_ = std::max(g_.pad_left + g_.in_w, (g_.out_w - 1) * g_.stride_w + g_.kernel_w);
    padded_h_ = std::max(g_.pad_top + g_.in_h, (g_.out_h - 1) * g_.stride_h + g_.kernel_h);
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int64_t plane = padded_h_ * padded_w_, image = g_.in_channels * plane;
    // The calling thread's scratch, read by every thread of the regions below.
    auto* padded = static_cast<float*>(kernels::ThreadScratch(0, static_cast<size_t>(image) * sizeof(float)));
    if (!padded) return ResourceExhausted("Conv2D avx512-f16-stem: no memory for the padded image");
    const auto* x = in[0].Data<const uint16_t>();
    auto* y = out[0].Data<uint16_t>();
    const int64_t vectors = g_.out_channels / 16, taps = g_.in_channels * g_.kernel_h * g_.kernel_w;
    const size_t threads = static_cast<size_t>(std::max(1, omp_get_max_threads()));
    if (!store_.direct && rows_.size() < threads) rows_.resize(threads);
    for (int64_t n = 0; n < g_.batch; ++n) {
      const int64_t rows = g_.in_channels * padded_h_;
#pragma omp parallel for schedule(static) if (image > kernels::kMinParallelElements)
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t c = r / padded_h_, iy = r % padded_h_ - g_.pad_top;
        float* to = padded + r * padded_w_;
        std::fill(to, to + padded_w_, 0.0f);
        if (iy >= 0 && iy < g_.in_h)
          kernels::HalfToFloatRow(x + ((n * g_.in_channels + c) * g_.in_h + iy) * g_.in_w, to + g_.pad_left, g_.in_w);
      }
#pragma omp parallel for schedule(static) if (g_.out_h > 1)
      for (int64_t oy = 0; oy < g_.out_h; ++oy) {
        StemArgs a{};
        a.x = padded + oy * g_.stride_h * padded_w_;
        a.x_plane = plane;
        a.x_row = padded_w_;
        a.channels = g_.in_channels;
        a.kh = g_.kernel_h;
        a.kw = g_.kernel_w;
        a.w_vector = taps * 16;
        const int64_t row_at = (n * vectors * g_.out_h + oy) * g_.out_w * 16;  // vector 0's row
        const int64_t vector_elems = g_.out_h * g_.out_w * 16;
        std::vector<float>* row = nullptr;
        if (store_.direct) {
          a.y16_vector = vector_elems;
          a.clamp = store_.clamp;
          a.lo = store_.lo;
          a.hi = store_.hi;
        } else {
          row = &rows_[static_cast<size_t>(omp_get_thread_num())];
          row->resize(static_cast<size_t>(vectors * g_.out_w * 16));
          a.y_vector = g_.out_w * 16;
        }
        for (int64_t v = 0; v < vectors; v += 2) {
          StemArgs t = a;
          t.w = packed_->data() + v * taps * 16;
          t.bias = packed_->data() + g_.out_channels * taps + v * 16;
          if (store_.direct)
            t.y16 = y + row_at + v * vector_elems;
          else
            t.y = row->data() + v * g_.out_w * 16;
          const bool pair = v + 1 < vectors;
          if (g_.stride_w == 1)
            pair ? StemRow<2, 1>(t, g_.out_w) : StemRow<1, 1>(t, g_.out_w);
          else
            pair ? StemRow<2, 2>(t, g_.out_w) : StemRow<1, 2>(t, g_.out_w);
        }
        if (!store_.direct)
          for (int64_t v = 0; v < vectors; ++v)
            stage_->Apply(row->data() + v * g_.out_w * 16, g_.out_w * 16, row_at + v * vector_elems, in, out[0]);
      }
    }
    return Status::OK();
  }

 private:
  ConvGeometry g_;
  std::shared_ptr<const std::vector<float>> packed_;
  int64_t private_bytes_ = 0;
  std::unique_ptr<HalfOutputStage> stage_;
  HalfDirectStore store_;
  int64_t padded_w_ = 0, padded_h_ = 0;
  std::vector<std::vector<float>> rows_;  // per OpenMP thread: one output row in float32 for the stage
};

// A plain float16 image of at most kMaxChannels channels, one group, no
// dilation, stride 1 or 2 both ways, into whole 16-channel vectors; post-ops
// the output stage applies but a residual add.
bool SupportsShape(const KernelInit& init) {
  ConvGeometry g;
  if (!HalfConvOperands(init, &g) || g.group != 1 || g.in_channels > kMaxChannels || g.out_channels % 16 != 0 ||
      g.dilation_h != 1 || g.dilation_w != 1 || g.stride_h != g.stride_w || (g.stride_w != 1 && g.stride_w != 2) ||
      g.input_axes.pos[1] != 1 || g.output_axes.pos[1] != 1 || g.kernel_h > 11 || g.kernel_w > 11 || g.out_h < 1 ||
      g.out_w < 1)
    return false;
  if (init.inputs[0]->layout != MemoryLayout::kPlain ||
      (init.ComputeOf(0) != DataType::FLOAT16 && init.ComputeOf(0) != DataType::FLOAT32))
    return false;
  // No residual add: a stem has none, and the tests do not cover one.
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops)
      if (op.kind == PostOp::Kind::kAdd) return false;
  return HalfOutputStage::Supports(init);
}

bool Supports(const KernelInit& init) {
  if (!SupportsShape(init)) return false;
  const MemoryLayout out = init.outputs[0].layout;
  return out == MemoryLayout::kPlain || out == MemoryLayout::kBlocked16;  // plain: before the layout pass
}

// The output nChw16c; the image stays plain.
void BlockedSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* ins, std::vector<bool>* outs) {
  HalfConvBlockedSlots(init, block == MemoryLayout::kBlocked16 && SupportsShape(init), ins, outs);
  if (!ins->empty()) (*ins)[0] = false;
}

bool RunsInLayouts(const KernelInit& init) {
  return SupportsShape(init) && init.outputs[0].layout == MemoryLayout::kBlocked16;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  if (!RunsInLayouts(init)) return Internal("Conv2D avx512-f16-stem: needs a plain image and an nChw16c output");
  auto k = std::make_unique<HalfStem>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON

MIXQ_REGISTER_KERNELS(conv2d, half_stem) {
  // Above onednn-f16 (10) and the float16 pointwise kernels (12, 13).
  mixq::ops::RegisterKernel({"avx512-f16-stem", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx512, 14,
                             mixq::ops::Supports, mixq::ops::Make, mixq::ops::BlockedSlots, mixq::ops::RunsInLayouts});
}
