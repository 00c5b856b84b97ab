// "amx-f16-conv": Conv2D with a spatial filter (3 x 3, 5 x 5, ...; stride 1
// or 2 both ways, any padding and dilation, one group) between float16
// tensors, nChw16c or plain (NCHW; a plain output may have any channel
// count), computed in float32 on AMX-BF16 tiles: the exact bfloat16 splits
// of "amx-f16-pw" (ops/amx_split_gemm.h, kernels/half_split.h) as an
// implicit GEMM.
//
// Why: ResNet-50 force_float16 spent 17 of its 31 ms (1 thread, AMX Xeon)
// in its 3 x 3 layers on oneDNN's float32 kernels ("onednn-f16",
// "onednn-f16-winograd": no float16 convolution in oneDNN 2.6), each 116
// million multiply-adds; amx-f16-pw runs such products at about 190
// multiply-adds a nanosecond.
//
// How: the padded input plane is split once per image into thread scratch
// (a plain input widened 16 channels at a time first): per block of 16
// channels a plane of (xh, xh) pair rows and one of (xl, xl) rows, 64 bytes
// a pixel, rows `pitch` pixels wide (the padded width rounded up to a
// multiple of the stride). Output pixel (y, x) is GEMM row q = y * (pitch /
// stride) + x, and its input pixel for tap (dy, dx) is plane pixel stride *
// q plus a constant offset per tap (with stride 2 the plane's rows are
// stored even ones first, then odd ones, so that this holds across output
// rows): for 16 consecutive rows q, one tile load of 16 plane pixels stride
// * 64 bytes apart. Rows q whose x is past the output's width read the
// padding or the next row and are dropped; zero rows after the plane keep
// the last block's loads inside it. B: the filter packed once as (wh, wl)
// pairs with K = taps x 2 x input channels. Each 32 rows x 32 output
// channels sum taps x channel blocks x 2 (hi, lo) tile products into one
// float32 C block; its valid rows go out as nChw16c runs through the output
// stage (conv2d/amx_f16_conv_common.h), bias added in float32, or, for a
// plain output, into the image's float32 NCHW sums, which the stage then
// takes in long runs.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/avx512_warnings.h"
#include "kernels/half_io.h"
#include "kernels/half_split.h"
#include "kernels/thread_scratch.h"
#include "kernels/u8s8_gemm_amx.h"
#include "ops/amx_bf16_gemm.h"
#include "ops/amx_jobs.h"
#include "ops/amx_split_gemm.h"
#include "ops/conv2d/amx_f16_conv_common.h"
#include "ops/conv2d/amx_flat_plane.h"
#include "ops/conv2d/conv_params.h"
#include "ops/kernel_registry.h"
#include "ops/layout.h"
#include "util/status_util.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {

namespace {

constexpr int64_t kTile = 16;
constexpr int64_t kMinParallelMacs = int64_t{1} << 20;
constexpr int kPlaneSlot = 0, kWideSlot = 2, kSumsSlot = 3;  // kernels::ThreadScratch slots (RunAmxPlan has 1)

bool StepTaken(const KernelInit& init, AmxHalfConvStep* s) {
  if (!AmxHalfConvTaken(init, s)) return false;
  const ConvGeometry& g = s->g;
  return g.kernel_h * g.kernel_w > 1 && g.stride_h == g.stride_w && (g.stride_h == 1 || g.stride_h == 2);
}

// The layouts it runs in: the input plain (NCHW, widened a block of 16
// channels at a time before the split) or nChw16c; the output and a residual
// addend both nChw16c (output channels in whole 16s) or both plain.
bool LayoutsTaken(const KernelInit& init, const AmxHalfConvStep& s) {
  const MemoryLayout in = init.inputs[0]->layout, out = init.outputs[0].layout;
  if (in != MemoryLayout::kPlain && in != MemoryLayout::kBlocked16) return false;
  if (out == MemoryLayout::kBlocked16 ? s.g.out_channels % 16 != 0 : out != MemoryLayout::kPlain) return false;
  return s.addend < 0 || init.inputs[static_cast<size_t>(s.addend)]->layout == out;
}

// C (32 x 32 float32) for GEMM rows q0.. of one or two column tiles: every
// tap, every block of 16 channels, the hi and the lo plane.
template <int C>
MIXQ_AMX_KERNEL void SpatialTileProducts(const uint16_t* planes, const AmxFlatPlane& p, int64_t chunks, int64_t q0,
                                         const uint32_t* b, int64_t b_stride, float* c) {
  ZeroAmxFloatBlock<C>();
  const int64_t a_bytes = p.stride * 64, half_rows = kTile * p.stride * 32, plane_values = p.pixels * 32;
  const int64_t taps = static_cast<int64_t>(p.offsets.size());
  for (int64_t t = 0; t < taps; ++t) {
    const int64_t row0 = (p.stride * q0 + p.offsets[static_cast<size_t>(t)]) * 32;
    for (int64_t k = 0; k < chunks; ++k) {
      const uint32_t* bt = b + (t * chunks + k) * kAmxBTileWords;
      PrefetchAmxBTiles<C>(bt, b_stride, kSplitPrefetchTiles);
      _tile_loadd(6, bt, 64);
      if constexpr (C == 2) _tile_loadd(7, bt + b_stride, 64);
      for (int half = 0; half < 2; ++half) {  // the hi plane, then the lo plane, into the same C tiles
        const uint16_t* rows = planes + (2 * k + half) * plane_values + row0;
        AmxBFloat16RowPairProducts<C>(rows, rows + half_rows, a_bytes);
      }
    }
  }
  StoreAmxFloatBlock<C>(c);
}

class AmxHalfConv : public Kernel {
 public:
  const char* Name() const override { return "amx-f16-conv"; }
  bool ReadsInputAtRun(size_t index) const override { return index != 1; }  // the filter is packed
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Init(const KernelInit& init) {
    if (!StepTaken(init, &step_) || !LayoutsTaken(init, step_))
      return Internal("amx-f16-conv does not take this convolution");
    const ConvGeometry& g = step_.g;
    plain_in_ = init.inputs[0]->layout == MemoryLayout::kPlain;
    plain_out_ = init.outputs[0].layout == MemoryLayout::kPlain;
    plane_ = AmxFlatPlaneOf(g);
    output_ = std::make_unique<AmxHalfConvOutput>(init);
    const ValueInfo& w = *init.inputs[1];
    MIXQ_RETURN_IF_ERROR(PackAmxHalfFilter(init, Name(), g, LogicalStrides(w.shape, g.filter_axes),
                                           static_cast<const float*>(w.const_data), &packed_, &private_bytes_));
    b_ = ViewAmxBFloat16B(g.kernel_h * g.kernel_w * 2 * g.in_channels, g.out_channels, packed_->data());
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const ConvGeometry& g = step_.g;
    const AmxFlatPlane& p = plane_;
    const int64_t chunks = g.in_channels / 16, blocks = b_.n_blocks;
    const int64_t plane_values = p.pixels * 32;
    auto* planes = static_cast<uint16_t*>(
        kernels::ThreadScratch(kPlaneSlot, static_cast<size_t>(chunks * 2 * plane_values) * sizeof(uint16_t)));
    if (!planes) return ResourceExhausted("Conv2D (amx-f16-conv): no memory for its split planes");
    const int threads = std::max(1, omp_get_max_threads());
    const AmxJobPlan plan = PlanAmxJobs(p.m, (b_.n_blocks + 1) / 2, b_.n_blocks * b_.chunks * kAmxBTileWords * 4,
                                        chunks * 2 * plane_values * 2 /* the split planes */,
                                        g.out_h * g.out_w * g.kernel_h * g.kernel_w * g.in_channels * g.out_channels,
                                        threads, kMinParallelMacs);
    const float* bias = in.size() > 2 && in[2].data ? in[2].Data<const float>() : nullptr;
    // A plain output: the float32 sums of an image (NCHW), then the output
    // stage over them in long runs (one call per output channel's short
    // run cost more than the products: PP-OCR det's 96 -> 24 at 80 x 80).
    const int64_t out_values = g.out_channels * g.out_h * g.out_w;
    float* sums = nullptr;
    if (plain_out_) {
      sums = static_cast<float*>(kernels::ThreadScratch(kSumsSlot, static_cast<size_t>(out_values) * sizeof(float)));
      if (!sums) return ResourceExhausted("Conv2D (amx-f16-conv): no memory for its float32 sums");
    }
    for (int64_t n = 0; n < g.batch; ++n) {
      if (!Split(in[0].Data<const uint16_t>() + n * g.in_channels * g.in_h * g.in_w, planes, threads))
        return ResourceExhausted("Conv2D (amx-f16-conv): no memory for its widened input");
      const bool ran = RunAmxPlan(plan, [&](int64_t rb, int64_t pair, float* c) {
        Compute(planes, rb, pair, chunks, blocks, n, bias, c, sums, in, out);
      });
      if (!ran) return ResourceExhausted("Conv2D (amx-f16-conv): no memory for its C blocks");
      if (plain_out_) {
        constexpr int64_t kRun = int64_t{1} << 14;
        const int64_t runs = (out_values + kRun - 1) / kRun;
#pragma omp parallel for schedule(static) if (threads > 1 && runs > 1)
        for (int64_t r = 0; r < runs; ++r)
          output_->Apply(sums + r * kRun, std::min(kRun, out_values - r * kRun), n * out_values + r * kRun, in, out[0]);
      }
    }
    return Status::OK();
  }

 private:
  // One image's input into the split planes: per channel block and padded
  // row, the image row's pixels split into the hi and lo planes at their
  // place, the padding zero; the rows after the image zero. A plain input
  // is widened a block of 16 channels at a time into nChw16c float32 first
  // (kernels::HalfPlanesToBlocked16, in this thread's scratch).
  // False where a thread's scratch could not be had.
  bool Split(const uint16_t* x, uint16_t* planes, int threads) const {
    const ConvGeometry& g = step_.g;
    const AmxFlatPlane& p = plane_;
    const int64_t chunks = g.in_channels / 16, plane_values = p.pixels * 32, rows = p.height;
    const int64_t image = g.in_h * g.in_w;
    const bool parallel = threads > 1 && g.in_channels * image >= (int64_t{1} << 14);
    auto split_rows = [&](int64_t k, int64_t yp0, int64_t yp1, const float* wide) {
      uint16_t* hi = planes + 2 * k * plane_values;
      uint16_t* lo = hi + plane_values;
      auto zero = [&](int64_t from, int64_t count) {
        std::memset(hi + from * 32, 0, static_cast<size_t>(count) * 64);
        std::memset(lo + from * 32, 0, static_cast<size_t>(count) * 64);
      };
      for (int64_t yp = yp0; yp < yp1; ++yp) {
        if (yp == rows) {
          zero(p.height * p.pitch, p.pixels - p.height * p.pitch);
          continue;
        }
        const int64_t row = p.RowOf(yp) * p.pitch, iy = yp - g.pad_top;
        if (iy < 0 || iy >= g.in_h) {
          zero(row, p.pitch);
          continue;
        }
        zero(row, g.pad_left);
        uint16_t *h = hi + (row + g.pad_left) * 32, *l = lo + (row + g.pad_left) * 32;
        if (wide)
          kernels::SplitFloatRunToPairs(wide + iy * g.in_w * 16, g.in_w, h, l);
        else
          kernels::SplitHalfRunToPairs(x + (k * g.in_h + iy) * g.in_w * 16, g.in_w, h, l);
        zero(row + g.pad_left + g.in_w, p.pitch - g.pad_left - g.in_w);
      }
    };
    if (plain_in_) {
      bool failed = false;
#pragma omp parallel for schedule(static) if (parallel && chunks > 1)
      for (int64_t k = 0; k < chunks; ++k) {
        auto* wide = static_cast<float*>(kernels::ThreadScratch(kWideSlot, static_cast<size_t>(image * 16) * 4));
        if (!wide) {
#pragma omp atomic write
          failed = true;
          continue;
        }
        kernels::HalfPlanesToBlocked16(x + k * 16 * image, wide, 16, image);
        split_rows(k, 0, rows + 1, wide);
      }
      return !failed;
    }
    const int64_t items = chunks * (rows + 1);  // each block's padded rows, and its zero rows after them
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t item = 0; item < items; ++item)
      split_rows(item / (rows + 1), item % (rows + 1), item % (rows + 1) + 1, nullptr);
    return true;
  }

  // GEMM rows [32 rb, 32 rb + 32) against column pair `pair`: the tiles,
  // then each valid row run (one output row's pixels) of each column tile
  // through the output.
  // A plain output's runs go to `plain_sums` (the image's float32 NCHW
  // sums) instead.
  void Compute(const uint16_t* planes, int64_t rb, int64_t pair, int64_t chunks, int64_t blocks, int64_t n,
               const float* bias, float* c, float* plain_sums, const std::vector<TensorView>& in,
               const std::vector<TensorView>& out) const {
    const ConvGeometry& g = step_.g;
    const AmxFlatPlane& p = plane_;
    const int64_t first = 2 * pair, b_stride = b_.chunks * kAmxBTileWords, q0 = rb * kAmxBlockRows;
    const bool two = first + 1 < blocks;
    if (two)
      SpatialTileProducts<2>(planes, p, chunks, q0, b_.tiles + first * b_stride, b_stride, c);
    else
      SpatialTileProducts<1>(planes, p, chunks, q0, b_.tiles + first * b_stride, b_stride, c);
    const int64_t q1 = std::min(q0 + kAmxBlockRows, p.m), pixels = g.out_h * g.out_w;
    for (int64_t q = q0; q < q1;) {
      const int64_t y = q / p.row_pitch, x = q % p.row_pitch;
      if (x >= g.out_w) {  // past the output's width: the next output row
        q += p.row_pitch - x;
        continue;
      }
      const int64_t count = std::min(g.out_w - x, q1 - q);
      if (plain_sums) {  // each output channel's row run into the float32 NCHW sums, plus the bias
        for (int64_t o = first * kTile; o < std::min(g.out_channels, (first + 2) * kTile); ++o) {
          const float* from = c + (q - q0) * kAmxBlockCols + (o - first * kTile);
          float* to = plain_sums + o * pixels + y * g.out_w + x;
          const float b = bias ? bias[o] : 0.0f;
          for (int64_t r = 0; r < count; ++r) to[r] = from[r * kAmxBlockCols] + b;
        }
        q += count;
        continue;
      }
      for (int64_t t = 0; t < (two ? 2 : 1); ++t) {
        const int64_t block = first + t;
        output_->Store(c + (q - q0) * kAmxBlockCols + t * kTile, bias ? bias + block * kTile : nullptr, count,
                       ((n * blocks + block) * pixels + y * g.out_w + x) * kTile, in, out[0]);
      }
      q += count;
    }
  }

  AmxHalfConvStep step_;
  bool plain_in_ = false, plain_out_ = false;
  AmxFlatPlane plane_;
  std::unique_ptr<AmxHalfConvOutput> output_;
  std::shared_ptr<const std::vector<uint32_t>> packed_;
  AmxBFloat16B b_;
  int64_t private_bytes_ = 0;
};

bool Supports(const KernelInit& init) {
  AmxHalfConvStep s;
  return StepTaken(init, &s);
}

bool KeepWithLayouts(const KernelInit& init) {
  AmxHalfConvStep s;
  return StepTaken(init, &s) && LayoutsTaken(init, s);
}

void BlockedSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs, std::vector<bool>* outputs) {
  AmxHalfConvStep s;
  const bool taken = StepTaken(init, &s);
  AmxHalfConvSlots(init, block, taken, taken && s.g.out_channels % 16 == 0, inputs, outputs);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto conv = std::make_unique<AmxHalfConv>();
  MIXQ_RETURN_IF_ERROR(conv->Init(init));
  *kernel = std::move(conv);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON

MIXQ_REGISTER_KERNELS(conv2d, amx_f16_conv) {
  // Above onednn-f16 (10) and onednn-f16-winograd (11) for the steps it takes.
  mixq::ops::RegisterKernel({"amx-f16-conv", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAmx, 14, mixq::ops::Supports,
                             mixq::ops::Make, mixq::ops::BlockedSlots, mixq::ops::KeepWithLayouts,
                             mixq::ops::AddendAlias});
}
