// "avx512-bf16-dw": depthwise Conv2D (one input and one output channel per
// group) with a 5 x 5 filter between bfloat16 tensors the plan stores channels-last (NHWC), as
// it does between onednn-bf16 convolutions; AVX-512 with AVX512_BF16.
//
// Why: oneDNN 2.6 runs these layers in its `brdgmm_dw` kernel at about 29
// GMAC/s on an AMX Xeon (PP-OCR rec's 240-channel 5 x 5 layers at 12 x 80:
// 0.198 ms each, one thread), where OpenVINO's newer oneDNN takes 0.12-0.14
// ms. PP-OCR rec force_bfloat16 runs 14 such layers.
//
// How: per job (an image, a block of 16 channels, a strip of output rows) a
// thread widens the input rows a window needs into a ring of float32 rows in
// L1 (bfloat16 to float32 is a 16-bit shift, exact; each input row once per
// strip; padding columns stay zero), then accumulates the taps with FMAs
// from the bias, eight output pixels at a time (at strides 1 and 2 with
// every offset a constant; dilated filters through the generic loop). The fused post-ops (relu, relu6, clip,
// leaky_relu, hard_swish, scalar * and +) run in float32 on the registers,
// and the result is rounded once to bfloat16 (`vcvtneps2bf16`, nearest
// even) and stored: the rounding onednn-bf16 declares (docs/precision.md,
// bfloat16 arithmetic). Residual adds are left to onednn-bf16.
//
// Accuracy: every product of two bfloat16 values is exact in float32; the
// float32 sums run in tap order from the bias; within a bfloat16 step of a
// double reference (cpu_onednn_bf16_test.cc runs both kernels).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "kernels/avx512_warnings.h"
#include "kernels/cpu_features.h"
#include "kernels/parallel.h"
#include "ops/bf16_chain.h"
#include "ops/conv2d/conv_params.h"
#include "ops/conv2d/half_conv_common.h"
#include "ops/half_chain.h"
#include "ops/kernel_registry.h"
#include "ops/onednn_support.h"
#include "ops/op_util.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {

namespace {

constexpr int64_t kBlock = 16;
// Output pixels a step: eight independent accumulators keep both FMA ports
// busy (four were latency-bound: 4-cycle FMAs, one chain each).
constexpr int kUnroll = 8;

#define MIXQ_BF16_DW __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))

// One output row's operands.
struct RowArgs {
  const float* const* rows;  // per kh: the widened input row, column 0 = padded column 0
  const float* weights;      // [kh][kw][16]
  const float* bias;         // [16]
  uint16_t* out;             // the row's first pixel of this channel block; pixels `channels` apart
  int64_t out_w, kernel_h, kernel_w, stride_w, dilation_w, channels;
  __mmask16 mask;  // the block's channels (a tail block has fewer than 16)
  const HalfChain* chain;
};

// n pixels from `ow` on: the chain, one rounding to bfloat16, the store.
template <int N>
MIXQ_BF16_DW inline void Store(const RowArgs& a, int64_t ow, __m512* v) {
  ApplyBFloat16Chain<N>(v, *a.chain);
  for (int u = 0; u < N; ++u)
    _mm256_mask_storeu_epi16(a.out + (ow + u) * a.channels, a.mask,
                             reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v[u])));
}

// KW taps of a row, dilation 1, stride SW: every offset a constant; KW = 0:
// any filter width, stride and dilation.
template <int KW, int SW>
MIXQ_BF16_DW void Row(const RowArgs& a) {
  constexpr bool kFixed = KW > 0;
  const int64_t kw_n = kFixed ? KW : a.kernel_w;
  const int64_t step = (kFixed ? SW : a.stride_w) * kBlock, reach = (kFixed ? 1 : a.dilation_w) * kBlock;
  const __m512 bias = _mm512_loadu_ps(a.bias);
  int64_t ow = 0;
  for (; ow + kUnroll <= a.out_w; ow += kUnroll) {
    __m512 acc[kUnroll];
    for (int u = 0; u < kUnroll; ++u) acc[u] = bias;
    for (int64_t kh = 0; kh < a.kernel_h; ++kh) {
      const float* row = a.rows[kh] + ow * step;
      const float* w = a.weights + kh * kw_n * kBlock;
      for (int64_t kw = 0; kw < kw_n; ++kw) {
        const __m512 tap = _mm512_loadu_ps(w + kw * kBlock);
        for (int u = 0; u < kUnroll; ++u)
          acc[u] = _mm512_fmadd_ps(_mm512_loadu_ps(row + u * step + kw * reach), tap, acc[u]);
      }
    }
    Store<kUnroll>(a, ow, acc);
  }
  for (; ow < a.out_w; ++ow) {
    __m512 acc[1] = {bias};
    for (int64_t kh = 0; kh < a.kernel_h; ++kh)
      for (int64_t kw = 0; kw < kw_n; ++kw)
        acc[0] = _mm512_fmadd_ps(_mm512_loadu_ps(a.rows[kh] + ow * step + kw * reach),
                                 _mm512_loadu_ps(a.weights + (kh * kw_n + kw) * kBlock), acc[0]);
    Store<1>(a, ow, acc);
  }
}

// `count` pixels of one channel block, `channels` apart, widened to float32
// into `to` (16 floats a pixel; a tail block's missing channels read as 0).
MIXQ_BF16_DW void WidenRow(const uint16_t* from, int64_t count, int64_t channels, __mmask16 mask, float* to) {
  for (int64_t i = 0; i < count; ++i) {
    const __m256i bits = _mm256_maskz_loadu_epi16(mask, from + i * channels);
    _mm512_storeu_ps(to + i * kBlock, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16)));
  }
}

using RowFn = void (*)(const RowArgs&);

RowFn RowFor(const ConvGeometry& g) {
  if (g.dilation_w != 1 || g.kernel_w != 5) return Row<0, 1>;
  return g.stride_w == 1 ? Row<5, 1> : g.stride_w == 2 ? Row<5, 2> : Row<0, 1>;
}

// Everything but the layouts: a depthwise step this kernel computes.
bool StepTaken(const KernelInit& init, ConvGeometry* g, HalfChain* chain) {
  const kernels::CpuFeatures& cpu = kernels::DetectedCpuFeatures();
  if (!cpu.avx512f || !cpu.avx512bw || !cpu.avx512vl || !cpu.avx512bf16) return false;
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1) return false;
  const ValueInfo &x = *init.inputs[0], &w = *init.inputs[1], &y = init.outputs[0];
  if (!IsBFloat16Storage(x) || !IsBFloat16Storage(y) || x.quant || y.quant) return false;
  // The filter holds bfloat16 values (the planner rounds a filter consumed in BFLOAT16 once).
  if (!w.const_data || w.dtype != DataType::FLOAT32 || w.quant || !HoldsBFloat16Values(w)) return false;
  if (init.inputs.size() > 3) return false;  // a residual addend: onednn-bf16's
  if (init.inputs.size() > 2 && init.inputs[2]) {
    const ValueInfo& b = *init.inputs[2];
    if (!b.const_data || b.dtype != DataType::FLOAT32 || b.quant) return false;
  }
  if (!ComputeConv2DGeometry(init.attrs, init.inputs, g).ok()) return false;
  if (g->group != g->in_channels || g->out_channels != g->in_channels || g->input_axes.pos[1] != 1 ||
      g->output_axes.pos[1] != 1)
    return false;
  // 5 x 5 filters only: on 3 x 3 ones oneDNN's brdgmm_dw was as fast or
  // faster (MobileNetV2 force_bfloat16's 3 x 3 layers, 1 thread, sums of
  // step minima: 2.40 -> 2.69 ms with them here, its stride-2 112 x 112 layer
  // 0.154 -> 0.259; PP-OCR rec's 3 x 3 layers about even).
  if (g->kernel_h != 5 || g->kernel_w != 5) return false;
  for (const ValueInfo* v : {&x, &y})
    if (v->layout != MemoryLayout::kPlain && v->layout != MemoryLayout::kChannelsLast) return false;
  return BFloat16ChainOf(init.post_ops, chain);
}

class Avx512BFloat16Depthwise : public Kernel {
 public:
  const char* Name() const override { return "avx512-bf16-dw"; }
  bool ReadsInputAtRun(size_t index) const override { return index == 0; }

  Status Init(const KernelInit& init) {
    if (!StepTaken(init, &g_, &chain_) || init.inputs[0]->layout != MemoryLayout::kChannelsLast ||
        init.outputs[0].layout != MemoryLayout::kChannelsLast)
      return Internal("avx512-bf16-dw does not take this convolution");
    const int64_t channels = g_.in_channels, taps = g_.kernel_h * g_.kernel_w;
    blocks_ = (channels + kBlock - 1) / kBlock;
    const ValueInfo& w = *init.inputs[1];
    const auto strides = LogicalStrides(w.shape, g_.filter_axes);
    const auto* filter = static_cast<const float*>(w.const_data);
    const auto* bias =
        init.inputs.size() > 2 && init.inputs[2] ? static_cast<const float*>(init.inputs[2]->const_data) : nullptr;
    const int64_t blocks = blocks_, kw_n = g_.kernel_w;
    // [block][kh][kw][16] then [block][16] bias, tail channels zero; once per engine.
    MIXQ_RETURN_IF_ERROR(PackFloatsOnce(
        init, Name(), static_cast<size_t>(blocks * kBlock * (taps + 1)),
        [&](float* p) {
          std::fill(p, p + blocks * kBlock * (taps + 1), 0.0f);
          for (int64_t c = 0; c < channels; ++c) {
            for (int64_t t = 0; t < taps; ++t)
              p[((c / kBlock) * taps + t) * kBlock + c % kBlock] =
                  filter[c * strides[0] + t / kw_n * strides[2] + t % kw_n * strides[3]];
            if (bias) p[blocks * kBlock * taps + c] = bias[c];
          }
        },
        &packed_, &private_bytes_));
    weights_ = packed_->data();
    bias_ = weights_ + blocks * kBlock * taps;
    padded_w_ = std::max(g_.pad_left + g_.in_w, (g_.out_w - 1) * g_.stride_w + (g_.kernel_w - 1) * g_.dilation_w + 1);
    ring_rows_ = (g_.kernel_h - 1) * g_.dilation_h + 1;
    zero_row_.assign(static_cast<size_t>(padded_w_ * kBlock), 0.0f);
    row_ = RowFor(g_);
    return Status::OK();
  }

  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int threads = std::max(1, omp_get_max_threads());
    // Strips of output rows: a few jobs per thread where the blocks alone are too few.
    const int64_t images = g_.batch * blocks_;
    const int64_t strips = std::clamp<int64_t>((4 * threads + images - 1) / images, 1, g_.out_h);
    const int64_t strip_rows = (g_.out_h + strips - 1) / strips, items = images * strips;
    const int64_t macs = g_.batch * g_.in_channels * g_.out_h * g_.out_w * g_.kernel_h * g_.kernel_w;
    if (workers_.size() < static_cast<size_t>(threads)) workers_.resize(static_cast<size_t>(threads));
    const uint16_t* x = in[0].Data<const uint16_t>();
    uint16_t* y = out[0].Data<uint16_t>();
#pragma omp parallel for schedule(static) if (items > 1 && threads > 1 && macs > kernels::kMinParallelDepthwiseMacs)
    for (int64_t item = 0; item < items; ++item) {
      const int64_t image = item / strips, oh0 = item % strips * strip_rows;
      if (oh0 < g_.out_h)
        RunStrip(x, y, image, oh0, std::min(g_.out_h, oh0 + strip_rows),
                 &workers_[static_cast<size_t>(omp_get_thread_num())]);
    }
    return Status::OK();
  }

 private:
  struct Worker {
    std::vector<float> ring;
    std::vector<int64_t> loaded;  // per ring slot: the input row it holds, -1 none
    std::vector<const float*> rows;
  };

  // Output rows [oh0, oh1) of `image` (batch index * blocks + channel block).
  void RunStrip(const uint16_t* x, uint16_t* y, int64_t image, int64_t oh0, int64_t oh1, Worker* w) const {
    const int64_t n = image / blocks_, block = image % blocks_, channels = g_.in_channels;
    const int64_t row_floats = padded_w_ * kBlock, first = block * kBlock;
    const int64_t in_block = std::min(kBlock, channels - first);
    const auto mask = static_cast<__mmask16>((1u << in_block) - 1);
    w->ring.assign(static_cast<size_t>(ring_rows_ * row_floats), 0.0f);  // padding columns stay zero
    w->loaded.assign(static_cast<size_t>(ring_rows_), -1);
    w->rows.resize(static_cast<size_t>(g_.kernel_h));
    RowArgs args{w->rows.data(),
                 weights_ + block * g_.kernel_h * g_.kernel_w * kBlock,
                 bias_ + block * kBlock,
                 nullptr,
                 g_.out_w,
                 g_.kernel_h,
                 g_.kernel_w,
                 g_.stride_w,
                 g_.dilation_w,
                 channels,
                 mask,
                 &chain_};
    const uint16_t* plane = x + n * g_.in_h * g_.in_w * channels + first;
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
          WidenRow(plane + ih * g_.in_w * channels, g_.in_w, channels, mask, row + g_.pad_left * kBlock);
          w->loaded[static_cast<size_t>(slot)] = ih;
        }
        w->rows[static_cast<size_t>(kh)] = row;
      }
      args.out = y + ((n * g_.out_h + oh) * g_.out_w) * channels + first;
      row_(args);
    }
  }

  ConvGeometry g_;
  HalfChain chain_;
  int64_t blocks_ = 0, padded_w_ = 0, ring_rows_ = 0;
  std::shared_ptr<const std::vector<float>> packed_;
  const float* weights_ = nullptr;  // [block][kh][kw][16]
  const float* bias_ = nullptr;     // [block][16]
  int64_t private_bytes_ = 0;
  std::vector<float> zero_row_;
  RowFn row_ = nullptr;
  std::vector<Worker> workers_;  // one per OpenMP thread
};

bool Supports(const KernelInit& init) {
  ConvGeometry g;
  HalfChain chain;
  return StepTaken(init, &g, &chain);
}

// Kept where both its tensors are channels-last (between onednn-bf16
// convolutions); a plain side goes to onednn-bf16, which reorders it.
bool KeepWithLayouts(const KernelInit& init) {
  return init.inputs[0]->layout == MemoryLayout::kChannelsLast && init.outputs[0].layout == MemoryLayout::kChannelsLast;
}

void LayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs, std::vector<bool>* outputs) {
  inputs->assign(init.inputs.size(), false);
  outputs->assign(init.outputs.size(), false);
  if (block != MemoryLayout::kChannelsLast || !Supports(init)) return;
  (*inputs)[0] = true;
  (*outputs)[0] = true;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto conv = std::make_unique<Avx512BFloat16Depthwise>();
  MIXQ_RETURN_IF_ERROR(conv->Init(init));
  *kernel = std::move(conv);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON

MIXQ_REGISTER_KERNELS(conv2d, avx512_bf16_dw) {
  // Above onednn-bf16 (30) for the depthwise steps it takes.
  mixq::ops::RegisterKernel({"avx512-bf16-dw", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx512, 32,
                             mixq::ops::Supports, mixq::ops::Make, mixq::ops::LayoutSlots, mixq::ops::KeepWithLayouts});
}
