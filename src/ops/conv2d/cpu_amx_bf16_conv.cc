// "amx-bf16-conv": Conv2D with a spatial filter (3 x 3, 5 x 5, ...; stride 1
// or 2 both ways, any padding and dilation, one group, input channels in
// whole 32s) between bfloat16 tensors the plan stores channels-last (NHWC),
// on AMX-BF16 tiles as an implicit GEMM; the residual add and the unary
// post-ops fused, as "amx-bf16-pw".
//
// Why: force_bfloat16 ResNet-50 ran at 1.02-1.04x OpenVINO's bfloat16
// default at 1 thread (AMX Xeon), its 3 x 3 layers on oneDNN 2.6's brgconv
// (onednn-bf16): 2.0 of its 7.5 ms. The float16 form of this loop
// (amx-f16-conv) ran four times the tile products of these layers in about
// 3.3-3.6x oneDNN's bfloat16 time.
//
// How: amx-f16-conv's plane without the split: the input copied once per
// image into a zero-padded NHWC plane in thread scratch (rows `pitch` pixels
// wide, the padded width rounded up to a multiple of the stride; with stride
// 2 the even padded rows first, then the odd ones). Output pixel (y, x) is
// GEMM row q = y * (pitch / stride) + x, whose input pixel for tap (dy, dx)
// is plane pixel stride * q plus a constant offset per tap: 16 consecutive
// rows q of one chunk of 32 channels are one tile load, stride * C * 2
// bytes between rows. Rows q past the output's width are computed and
// dropped. B is ops/amx_bf16_gemm.h's packing with K = taps x C; the
// epilogue is its (bias, chain, residual add, one rounding), on each run of
// a row block's valid rows.
//
// Accuracy, as onednn-bf16 (docs/precision.md): products of bfloat16 values
// exact in float32, float32 sums (TDPBF16PS's order), one rounding.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/avx512_warnings.h"
#include "kernels/cpu_features.h"
#include "kernels/thread_scratch.h"
#include "kernels/u8s8_gemm_amx.h"
#include "ops/amx_bf16_gemm.h"
#include "ops/amx_jobs.h"
#include "ops/bf16_chain.h"
#include "ops/conv2d/amx_bf16_conv_common.h"
#include "ops/conv2d/amx_flat_plane.h"
#include "ops/conv2d/conv_params.h"
#include "ops/kernel_registry.h"
#include "ops/layout.h"
#include "ops/onednn_support.h"
#include "ops/op_util.h"
#include "util/status_util.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {

namespace {

constexpr int64_t kTile = 16;
constexpr int64_t kChannels = 32;  // input channels a tile row
constexpr int64_t kMinParallelMacs = int64_t{1} << 22;
constexpr int kPlaneSlot = 0;  // kernels::ThreadScratch slot (RunAmxPlan has 1)

using Step = AmxBFloat16ConvStep;

// A step AmxBFloat16ConvTaken takes, with a spatial filter, stride 1 or 2
// both ways, one group, input channels in whole 32s, and a filter that
// outweighs the activations.
bool StepTaken(const KernelInit& init, Step* s) {
  if (!AmxBFloat16ConvTaken(init, s)) return false;
  const ConvGeometry& g = s->g;
  if (g.kernel_h * g.kernel_w < 2 || g.group != 1 || g.stride_h != g.stride_w || (g.stride_h != 1 && g.stride_h != 2) ||
      g.in_channels % kChannels != 0)
    return false;
  // Only layers whose filter outweighs their activations 4x: there this
  // loop beat oneDNN's brgconv (ResNet-50 force_bfloat16, 1 thread, step
  // minima: 256 at 14 x 14 0.149 -> 0.135 ms, 512 at 7 x 7 0.25 -> 0.21, its
  // stride-2 512 at 14 -> 7 0.363 -> 0.301); on larger planes it lost (64 at
  // 56 x 56 0.141 -> 0.157, 128 stride 2 at 56 -> 28 0.182 -> 0.211, 256
  // stride 2 at 28 -> 14 0.180 -> 0.197; 128 at 28 x 28 0.077 -> 0.094 at 2
  // threads) and slowed the 1 x 1 steps after them.
  const int64_t filter = g.kernel_h * g.kernel_w * g.in_channels * g.out_channels;
  const int64_t activations = g.in_h * g.in_w * g.in_channels + g.out_h * g.out_w * g.out_channels;
  if (filter <= 4 * activations) return false;
  return true;
}

// C (32 x 32 float32) for GEMM rows q0.. of one or two column tiles: every
// tap, every chunk of 32 channels.
template <int C>
MIXQ_AMX_KERNEL void TileProducts(const uint16_t* plane, const AmxFlatPlane& p, int64_t channels, int64_t q0,
                                  const uint32_t* b, int64_t b_stride, float* c) {
  ZeroAmxFloatBlock<C>();
  const int64_t chunks = channels / kChannels, a_bytes = p.stride * channels * 2;
  const int64_t second = kTile * p.stride * channels;  // values from row 0 to row 16 of a tile pair
  const int64_t taps = static_cast<int64_t>(p.offsets.size());
  for (int64_t t = 0; t < taps; ++t) {
    const uint16_t* row0 = plane + (p.stride * q0 + p.offsets[static_cast<size_t>(t)]) * channels;
    for (int64_t k = 0; k < chunks; ++k) {
      const uint32_t* bt = b + (t * chunks + k) * kAmxBTileWords;
      _tile_loadd(6, bt, 64);
      if constexpr (C == 2) _tile_loadd(7, bt + b_stride, 64);
      AmxBFloat16RowPairProducts<C>(row0 + k * kChannels, row0 + second + k * kChannels, a_bytes);
    }
  }
  StoreAmxFloatBlock<C>(c);
}

class AmxBFloat16Conv : public Kernel {
 public:
  const char* Name() const override { return "amx-bf16-conv"; }
  // The filter and the bias are packed; the input and the addend are read.
  bool ReadsInputAtRun(size_t index) const override { return index == 0 || static_cast<int>(index) == step_.addend; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Init(const KernelInit& init) {
    if (!StepTaken(init, &step_) || !AmxBFloat16ConvAllChannelsLast(init, step_))
      return Internal("amx-bf16-conv does not take this convolution");
    const ConvGeometry& g = step_.g;
    plane_ = AmxFlatPlaneOf(g);
    const ValueInfo& w = *init.inputs[1];
    const auto strides = LogicalStrides(w.shape, g.filter_axes);
    const auto* filter = static_cast<const float*>(w.const_data);
    const auto* bias =
        init.inputs.size() > 2 && init.inputs[2] ? static_cast<const float*>(init.inputs[2]->const_data) : nullptr;
    const int64_t c = g.in_channels, k = g.kernel_h * g.kernel_w * c, n = g.out_channels;
    const int64_t words = AmxBFloat16BWords(k, n), kw = g.kernel_w;
    MIXQ_RETURN_IF_ERROR(PackOnce<uint32_t>(
        init, Name(), static_cast<size_t>(words),
        [&](uint32_t* words_data) {
          PackAmxBFloat16B(
              k, n,
              [&](int64_t kk, int64_t o) {
                const int64_t t = kk / c, ch = kk % c;
                return filter[o * strides[0] + ch * strides[1] + t / kw * strides[2] + t % kw * strides[3]];
              },
              bias, words_data);
        },
        &packed_, &private_bytes_));
    b_ = ViewAmxBFloat16B(k, n, packed_->data());
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const ConvGeometry& g = step_.g;
    const AmxFlatPlane& p = plane_;
    const int64_t c = g.in_channels;
    auto* plane = static_cast<uint16_t*>(
        kernels::ThreadScratch(kPlaneSlot, static_cast<size_t>(p.pixels * c) * sizeof(uint16_t)));
    if (!plane) return ResourceExhausted("Conv2D (amx-bf16-conv): no memory for its padded plane");
    const int threads = std::max(1, omp_get_max_threads());
    const AmxJobPlan plan =
        PlanAmxJobs(p.m, (b_.n_blocks + 1) / 2, b_.n_blocks * b_.chunks * kAmxBTileWords * 4, p.pixels * c * 2,
                    g.out_h * g.out_w * g.kernel_h * g.kernel_w * c * g.out_channels, threads, kMinParallelMacs);
    const int64_t out_pixels = g.out_h * g.out_w;
    for (int64_t n = 0; n < g.batch; ++n) {
      Pad(in[0].Data<const uint16_t>() + n * c * g.in_h * g.in_w, plane, threads);
      AmxBFloat16Out o;
      o.y = out[0].Data<uint16_t>() + n * out_pixels * g.out_channels;
      o.ldy = g.out_channels;
      if (step_.addend >= 0) {
        o.addend = in[static_cast<size_t>(step_.addend)].Data<const uint16_t>() + n * out_pixels * g.out_channels;
        o.ld_addend = g.out_channels;
      }
      o.chain = &step_.chain;
      const bool ran = RunAmxPlan(plan, [&](int64_t rb, int64_t pair, float* cb) { Compute(plane, rb, pair, cb, o); });
      if (!ran) return ResourceExhausted("Conv2D (amx-bf16-conv): no memory for its C blocks");
    }
    return Status::OK();
  }

 private:
  // One image (NHWC) into the zero-padded plane.
  void Pad(const uint16_t* x, uint16_t* plane, int threads) const {
    const ConvGeometry& g = step_.g;
    const AmxFlatPlane& p = plane_;
    const int64_t c = g.in_channels, rows = p.height;
#pragma omp parallel for schedule(static) if (threads > 1 && c * g.in_h * g.in_w >= (int64_t{1} << 15))
    for (int64_t yp = 0; yp <= rows; ++yp) {
      auto zero = [&](int64_t from, int64_t count) {
        std::memset(plane + from * c, 0, static_cast<size_t>(count * c) * sizeof(uint16_t));
      };
      if (yp == rows) {  // the zero pixels after the plane (the last block's loads)
        zero(p.height * p.pitch, p.pixels - p.height * p.pitch);
        continue;
      }
      const int64_t row = p.RowOf(yp) * p.pitch, iy = yp - g.pad_top;
      if (iy < 0 || iy >= g.in_h) {
        zero(row, p.pitch);
        continue;
      }
      zero(row, g.pad_left);
      std::memcpy(plane + (row + g.pad_left) * c, x + iy * g.in_w * c, static_cast<size_t>(g.in_w * c) * 2);
      zero(row + g.pad_left + g.in_w, p.pitch - g.pad_left - g.in_w);
    }
  }

  // GEMM rows [32 rb, 32 rb + 32) against column pair `pair`: the tiles,
  // then each run of valid rows (one output row's pixels) through the
  // epilogue.
  void Compute(const uint16_t* plane, int64_t rb, int64_t pair, float* cb, const AmxBFloat16Out& o) const {
    const ConvGeometry& g = step_.g;
    const AmxFlatPlane& p = plane_;
    const int64_t first = 2 * pair, b_stride = b_.chunks * kAmxBTileWords, q0 = rb * kAmxBlockRows;
    if (first + 1 < b_.n_blocks)
      TileProducts<2>(plane, p, g.in_channels, q0, b_.tiles + first * b_stride, b_stride, cb);
    else
      TileProducts<1>(plane, p, g.in_channels, q0, b_.tiles + first * b_stride, b_stride, cb);
    const int64_t q1 = std::min(q0 + kAmxBlockRows, p.m);
    for (int64_t q = q0; q < q1;) {
      const int64_t y = q / p.row_pitch, x = q % p.row_pitch;
      if (x >= g.out_w) {
        q += p.row_pitch - x;
        continue;
      }
      const int64_t count = std::min(g.out_w - x, q1 - q);
      AmxBFloat16StoreRows(cb + (q - q0) * kAmxBlockCols, count, y * g.out_w + x, first * kTile, b_, o);
      q += count;
    }
  }

  Step step_;
  AmxFlatPlane plane_;
  std::shared_ptr<const std::vector<uint32_t>> packed_;
  AmxBFloat16B b_;
  int64_t private_bytes_ = 0;
};

bool Supports(const KernelInit& init) {
  Step s;
  return StepTaken(init, &s);
}

// Kept where its tensors are channels-last (between onednn-bf16 and the
// other AMX steps); a plain side goes to onednn-bf16, which reorders it.
bool KeepWithLayouts(const KernelInit& init) {
  Step s;
  return StepTaken(init, &s) && AmxBFloat16ConvAllChannelsLast(init, s);
}

void LayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs, std::vector<bool>* outputs) {
  Step s;
  const bool taken = StepTaken(init, &s);
  AmxBFloat16ConvSlots(init, block, taken, s, inputs, outputs);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto conv = std::make_unique<AmxBFloat16Conv>();
  MIXQ_RETURN_IF_ERROR(conv->Init(init));
  *kernel = std::move(conv);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON

MIXQ_REGISTER_KERNELS(conv2d, amx_bf16_conv) {
  // Above onednn-bf16 (30) for the spatial steps it takes.
  mixq::ops::RegisterKernel({"amx-bf16-conv", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAmx, 31, mixq::ops::Supports,
                             mixq::ops::Make, mixq::ops::LayoutSlots, mixq::ops::KeepWithLayouts,
                             mixq::ops::AddendAlias});
}
