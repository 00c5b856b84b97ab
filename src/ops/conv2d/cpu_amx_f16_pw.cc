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

struct Step {
  ConvGeometry g;
  int addend = -1;  // the residual addend's input slot, or -1
};

int AddendInput(const KernelInit& init) {
  if (!init.post_ops) return -1;
  for (const PostOp& op : *init.post_ops)
    if (op.kind == PostOp::Kind::kAdd) return op.input;
  return -1;
}

bool LayoutTaken(const ValueInfo& v) {
  return v.layout == MemoryLayout::kPlain || v.layout == MemoryLayout::kBlocked16;
}

// Everything but the layouts the pass gives: a step this kernel computes.
bool StepTaken(const KernelInit& init, Step* s) {
  const kernels::CpuFeatures& cpu = kernels::DetectedCpuFeatures();
  if (!cpu.amx_bf16 || !cpu.avx512bf16 || !cpu.avx512bw || !cpu.avx512vl || !cpu.f16c) return false;
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1) return false;
  const ValueInfo &x = *init.inputs[0], &w = *init.inputs[1], &y = init.outputs[0];
  if (!IsHalfStorage(x) || !IsHalfStorage(y) || x.quant || y.quant || !LayoutTaken(x) || !LayoutTaken(y)) return false;
  if (!w.const_data || w.dtype != DataType::FLOAT32 || w.quant || w.layout != MemoryLayout::kPlain) return false;
  if (init.inputs.size() > 2 && init.inputs[2]) {
    const ValueInfo& b = *init.inputs[2];
    if (b.dtype != DataType::FLOAT32 || b.quant || b.narrowed || b.layout != MemoryLayout::kPlain) return false;
  }
  if (!ComputeConv2DGeometry(init.attrs, init.inputs, &s->g).ok()) return false;
  const ConvGeometry& g = s->g;
  if (g.kernel_h != 1 || g.kernel_w != 1 || g.group != 1 || g.pad_top != 0 || g.pad_left != 0 || g.pad_bottom != 0 ||
      g.pad_right != 0 || g.in_channels % 16 != 0 || g.out_channels % 16 != 0)
    return false;
  if (g.input_axes.pos[1] != 1 || g.output_axes.pos[1] != 1) return false;  // logical NCHW
  s->addend = AddendInput(init);
  if (s->addend >= 0) {
    if (static_cast<size_t>(s->addend) >= init.inputs.size() || !init.inputs[static_cast<size_t>(s->addend)])
      return false;
    const ValueInfo& a = *init.inputs[static_cast<size_t>(s->addend)];
    if (a.const_data || a.shape != y.shape || !LayoutTaken(a)) return false;
  }
  if (!HalfOutputStage::Supports(init)) return false;
  // With a few input channels the split, the tile stores and the output
  // stage, the same for every 32 pixels whatever K, outweigh the products:
  // avx512-f16-pw, which stores its own registers, ran MobileNetV2's 16 ->
  // 96 and 32 -> 16 at 112 x 112 and PP-OCR det's 16 -> 32 and 32 -> 48 in
  // 0.39-0.87x this kernel's time (2 threads, AMX Xeon); 144 -> 32 and 32
  // -> 192 ran faster here.
  if (g.in_channels < 32 || g.in_channels * g.out_channels < 2048) return false;
  // The filter's values finite float16 ones (force_float16 rounds a filter
  // consumed in FLOAT16 once): then its split is exact, and no wl is inf.
  const auto* f = static_cast<const float*>(w.const_data);
  const int64_t count = ir::ElementCount(w.shape);
  return HoldsHalfValues(f, count) && std::all_of(f, f + count, [](float v) { return std::isfinite(v); });
}

bool AllBlocked(const KernelInit& init, const Step& s) {
  if (init.inputs[0]->layout != MemoryLayout::kBlocked16 || init.outputs[0].layout != MemoryLayout::kBlocked16)
    return false;
  return s.addend < 0 || init.inputs[static_cast<size_t>(s.addend)]->layout == MemoryLayout::kBlocked16;
}

// `count` rows of one 16-column tile of the C block (rows 32 floats apart)
// plus the bias into run[r * 16 + lane]: an nChw16c run.
__attribute__((target("avx512f"))) void GatherTile(const float* c, const float* bias, int64_t count, float* run) {
  const __m512 b = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
  for (int64_t r = 0; r < count; ++r)
    _mm512_store_ps(run + r * kTile, _mm512_add_ps(_mm512_loadu_ps(c + r * kAmxBlockCols), b));
}

// The same rows clamped by each of `clamps` in order and rounded to float16
// straight into the output run `y` (HalfOutputStage::ClampsThenRound: the
// stage's result for post-ops that are all clamps, or none).
__attribute__((target("avx512f,f16c"))) void StoreClampedTile(const float* c, const float* bias, int64_t count,
                                                              const std::vector<std::pair<float, float>>& clamps,
                                                              uint16_t* y) {
  const __m512 b = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
  for (int64_t r = 0; r < count; ++r) {
    __m512 v = _mm512_add_ps(_mm512_loadu_ps(c + r * kAmxBlockCols), b);
    // NaN -> lo: max returns its second operand (as the stage's clamps, ops/clamp.h).
    for (const auto& [lo, hi] : clamps) v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(lo)), _mm512_set1_ps(hi));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + r * kTile),
                        _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
}

class AmxHalfPointwise : public Kernel {
 public:
  const char* Name() const override { return "amx-f16-pw"; }
  bool ReadsInputAtRun(size_t index) const override { return index != 1; }  // the filter is packed
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Init(const KernelInit& init) {
    if (!StepTaken(init, &step_) || !AllBlocked(init, step_))
      return Internal("amx-f16-pw does not take this convolution");
    const ConvGeometry& g = step_.g;
    stage_ = std::make_unique<HalfOutputStage>(init);
    clamps_only_ = stage_->ClampsThenRound(&clamps_);
    const ValueInfo& w = *init.inputs[1];
    const auto strides = LogicalStrides(w.shape, g.filter_axes);
    const auto* filter = static_cast<const float*>(w.const_data);
    // B: K = 2 x input channels, (wh, wl) for each channel.
    const int64_t k = 2 * g.in_channels, n = g.out_channels, words = AmxBFloat16BWords(k, n);
    MIXQ_RETURN_IF_ERROR(PackOnce<uint32_t>(
        init, Name(), static_cast<size_t>(words),
        [&](uint32_t* words_data) {
          PackAmxBFloat16B(
              k, n,
              [&](int64_t kk, int64_t o) {
                float hi, lo;
                kernels::SplitHalfValue(FloatToHalf(filter[o * strides[0] + kk / 2 * strides[1]]), &hi, &lo);
                return kk % 2 == 0 ? hi : lo;
              },
              nullptr, words_data);
        },
        &packed_, &private_bytes_));
    b_ = ViewAmxBFloat16B(k, n, packed_->data());
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
    alignas(64) float run[kAmxBlockRows * kTile];
    for (int64_t t = 0; t < (two ? 2 : 1); ++t) {
      const int64_t block = first + t;
      const float* tile_bias = bias ? bias + block * kTile : nullptr;
      const int64_t at = ((n * blocks + block) * m + p0) * kTile;
      if (clamps_only_) {  // no pass through a run buffer (ResNet-50 force_float16: about 1 %)
        StoreClampedTile(c + t * kTile, tile_bias, rows, clamps_, out.Data<uint16_t>() + at);
        continue;
      }
      GatherTile(c + t * kTile, tile_bias, rows, run);
      stage_->Apply(run, rows * kTile, at, in, out);
    }
  }

  Step step_;
  std::unique_ptr<HalfOutputStage> stage_;
  bool clamps_only_ = false;  // the stage's result is clamps_ and one rounding: stored by the tiles' epilogue
  std::vector<std::pair<float, float>> clamps_;
  std::shared_ptr<const std::vector<uint32_t>> packed_;
  AmxBFloat16B b_;
  int64_t private_bytes_ = 0;
};

bool Supports(const KernelInit& init) {
  Step s;
  return StepTaken(init, &s);
}

// Kept where its input, output and addend are nChw16c (between the other
// float16 kernels); a plain side goes to onednn-f16.
bool KeepWithLayouts(const KernelInit& init) {
  Step s;
  return StepTaken(init, &s) && AllBlocked(init, s);
}

void BlockedSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs, std::vector<bool>* outputs) {
  inputs->assign(init.inputs.size(), false);
  outputs->assign(init.outputs.size(), false);
  Step s;
  if (block != MemoryLayout::kBlocked16 || !StepTaken(init, &s)) return;
  (*inputs)[0] = true;
  (*outputs)[0] = true;
  if (s.addend >= 0) (*inputs)[static_cast<size_t>(s.addend)] = true;
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
