// "amx-f16-pw": 1 x 1 Conv2D (any stride, no padding, one group) between
// float16 tensors the plan keeps nChw16c, computed in float32 on AMX-BF16
// tiles.
//
// Why: oneDNN 2.6 has no float16 convolution: "onednn-f16" widens the input
// and runs oneDNN's float32 kernel, and "avx512-f16-pw" runs float32 FMAs,
// so force_float16 ran at 1.08-1.10x float32 on ResNet-50 and PP-OCR rec
// (AMX Xeon, 2 threads), while this CPU's bfloat16 tiles do 16x the
// multiply-adds of its float32 FMAs a cycle.
//
// How, exactly: every float16 value is the exact sum of two bfloat16 values
// and every product of two bfloat16 values is exact in float32
// (kernels/half_split.h), so x * w = xh * wh + xh * wl + xl * wh + xl * wl
// term by term. The filter is packed once as TDPBF16PS B tiles of (wh, wl)
// pairs (its float32 bytes); each block of 32 pixels is split into A tiles
// of (xh, xh) and (xl, xl) pairs (in L1 / L2, from the nChw16c input: a
// block's 32 pixels of 16 channels are 1 KiB in a row), and both A tiles
// multiply the same B tile into the same float32 C tile: four exact
// products a multiply-add, summed in float32 (denormals flushed by the
// tiles: none of these terms is one, each is at least 2^-48). The result is
// the float32 convolution's up to the order of its sums. The bias is added
// in float32, then the output stage (ops/half_output_stage.h) rounds to
// float16 and applies the fused post-ops exactly as onednn-f16's does, on
// runs of 32 pixels x 16 channels (contiguous in nChw16c).
//
// Jobs: ops/amx_jobs.h's plan (row blocks x column pairs, the larger
// operand read once, the split rows counted at their staged bytes: four
// bfloat16 values per input value; counted at the input's two, the 14 x 14
// layers of ResNet-50 (1024 -> 256) staged 1.8 MB of rows per thread to
// sweep per column pair, 0.45 against 0.33 ms with a block's rows staged
// once and the 1 MB filter swept from L2); a strided convolution splits
// only the pixels it reads.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/avx512_warnings.h"
#include "kernels/cpu_features.h"
#include "kernels/half_split.h"
#include "ops/amx_bf16_gemm.h"
#include "ops/amx_jobs.h"
#include "ops/amx_split_gemm.h"
#include "ops/conv2d/amx_f16_conv_common.h"
#include "ops/conv2d/conv_params.h"
#include "ops/half_output_stage.h"
#include "ops/half_storage.h"
#include "ops/kernel_registry.h"
#include "ops/layout.h"
#include "ops/op_util.h"
#include "util/half.h"
#include "util/status_util.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {

namespace {

constexpr int64_t kTile = 16;
// A product splits over threads from this many multiply-adds (four tile
// terms each: about 128 a cycle).
constexpr int64_t kMinParallelMacs = int64_t{1} << 20;

// A step AmxHalfConvTaken takes, with a 1 x 1 filter, no padding and
// enough input channels.
bool StepTaken(const KernelInit& init, AmxHalfConvStep* s) {
  if (!AmxHalfConvTaken(init, s)) return false;
  const ConvGeometry& g = s->g;
  if (g.kernel_h != 1 || g.kernel_w != 1 || g.pad_top != 0 || g.pad_left != 0 || g.pad_bottom != 0 ||
      g.pad_right != 0 || g.out_channels % 16 != 0)
    return false;
  // With a few input channels the split, the tile stores and the output
  // stage, the same for every 32 pixels whatever K, outweigh the products:
  // avx512-f16-pw, which stores its own registers, ran MobileNetV2's 16 ->
  // 96 and 32 -> 16 at 112 x 112 and PP-OCR det's 16 -> 32 and 32 -> 48 in
  // 0.39-0.87x this kernel's time (2 threads, AMX Xeon); 144 -> 32 and 32
  // -> 192 ran faster here.
  return g.in_channels >= 32 && g.in_channels * g.out_channels >= 2048;
}

class AmxHalfPointwise : public Kernel {
 public:
  const char* Name() const override { return "amx-f16-pw"; }
  bool ReadsInputAtRun(size_t index) const override { return index != 1; }  // the filter is packed
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Init(const KernelInit& init) {
    if (!StepTaken(init, &step_) || !AmxHalfConvAllBlocked(init, step_))
      return Internal("amx-f16-pw does not take this convolution");
    const ConvGeometry& g = step_.g;
    output_ = std::make_unique<AmxHalfConvOutput>(init);
    const ValueInfo& w = *init.inputs[1];
    // B: K = 2 x input channels, (wh, wl) for each channel.
    MIXQ_RETURN_IF_ERROR(PackAmxHalfFilter(init, Name(), g, LogicalStrides(w.shape, g.filter_axes),
                                           static_cast<const float*>(w.const_data), &packed_, &private_bytes_));
    b_ = ViewAmxBFloat16B(2 * g.in_channels, g.out_channels, packed_->data());
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const ConvGeometry& g = step_.g;
    const int64_t m = g.out_h * g.out_w, chunks = g.in_channels / 16, blocks = g.out_channels / 16;
    const int threads = std::max(1, omp_get_max_threads());
    const AmxJobPlan plan = PlanAmxJobs(m, (b_.n_blocks + 1) / 2, b_.n_blocks * b_.chunks * kAmxBTileWords * 4,
                                        m * g.in_channels * 8 /* the staged rows */, m * g.in_channels * g.out_channels,
                                        threads, kMinParallelMacs);
    const float* bias = in.size() > 2 && in[2].data ? in[2].Data<const float>() : nullptr;
    const int64_t block_values = chunks * kSplitBlockValues;  // one staged row block
    for (int64_t n = 0; n < g.batch; ++n) {
      const uint16_t* x = in[0].Data<const uint16_t>() + n * g.in_channels * g.in_h * g.in_w;
      const bool ran = RunSplitJobs(
          plan, block_values,
          [&](int64_t rb, uint16_t* to) {
            kernels::SplitHalfPixelsToPairTiles(x, g.in_channels, g.in_h, g.in_w, g.stride_h, g.stride_w, g.out_w,
                                                rb * kAmxBlockRows, std::min(kAmxBlockRows, m - rb * kAmxBlockRows),
                                                to);
          },
          [&](int64_t rb, const uint16_t* a, int64_t pair, float* c) {
            Compute(a, rb, pair, chunks, blocks, m, n, bias, c, in, out[0]);
          });
      if (!ran) return ResourceExhausted("Conv2D (amx-f16-pw): no memory for its split rows");
    }
    return Status::OK();
  }

 private:
  // Row block rb (staged at a) against column pair `pair`: the tiles, then
  // each column tile's rows plus the bias through the output stage.
  void Compute(const uint16_t* a, int64_t rb, int64_t pair, int64_t chunks, int64_t blocks, int64_t m, int64_t n,
               const float* bias, float* c, const std::vector<TensorView>& in, const TensorView& out) const {
    const int64_t first = 2 * pair, b_stride = b_.chunks * kAmxBTileWords;
    const bool two = first + 1 < blocks;
    const uint32_t* b = b_.tiles + first * b_stride;
    if (two)
      SplitTileProducts<2>(a, chunks, b, b_stride, c);
    else
      SplitTileProducts<1>(a, chunks, b, b_stride, c);
    const int64_t p0 = rb * kAmxBlockRows, rows = std::min(kAmxBlockRows, m - p0);
    for (int64_t t = 0; t < (two ? 2 : 1); ++t) {
      const int64_t block = first + t;
      output_->Store(c + t * kTile, bias ? bias + block * kTile : nullptr, rows,
                     ((n * blocks + block) * m + p0) * kTile, in, out);
    }
  }

  AmxHalfConvStep step_;
  std::unique_ptr<AmxHalfConvOutput> output_;
  std::shared_ptr<const std::vector<uint32_t>> packed_;
  AmxBFloat16B b_;
  int64_t private_bytes_ = 0;
};

bool Supports(const KernelInit& init) {
  AmxHalfConvStep s;
  return StepTaken(init, &s);
}

// Kept where its input, output and addend are nChw16c (between the other
// float16 kernels); a plain side goes to onednn-f16.
bool KeepWithLayouts(const KernelInit& init) {
  AmxHalfConvStep s;
  return StepTaken(init, &s) && AmxHalfConvAllBlocked(init, s);
}

void BlockedSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs, std::vector<bool>* outputs) {
  AmxHalfConvStep s;
  AmxHalfConvSlots(init, block, StepTaken(init, &s), /*blocked_output=*/true, inputs, outputs);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto conv = std::make_unique<AmxHalfPointwise>();
  MIXQ_RETURN_IF_ERROR(conv->Init(init));
  *kernel = std::move(conv);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON

MIXQ_REGISTER_KERNELS(conv2d, amx_f16_pw) {
  // Above every float16 convolution kernel that takes these steps
  // (onednn-f16 10, onednn-f16-winograd 11, avx512-f16-pw 13).
  mixq::ops::RegisterKernel({"amx-f16-pw", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAmx, 14, mixq::ops::Supports,
                             mixq::ops::Make, mixq::ops::BlockedSlots, mixq::ops::KeepWithLayouts,
                             mixq::ops::AddendAlias});
}
