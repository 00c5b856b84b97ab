// "amx-int8-pw": pointwise Conv2D (1 x 1 filter, stride 1, no padding, one
// group) between int8 tensors the plan stores channels-last (NHWC), on
// AMX-INT8 tiles, into INT8 with the plain requantization of SPEC §1.5
// (relu / relu6 / clip as its bounds): bit-exact with reference-quantized.
//
// Why: onednn-int8 runs MobileNetV2 QDQ's 1 x 1 layers at 14 x 14 and 7 x 7
// in 7-30 us for 1-11 million multiply-adds at one thread and gains only
// 1.3-1.5x from a second thread; a TDPBSSD does 16,384 of them a call.
// (The int8 weight GEMM of MatMul, ops/int8_weight_gemm.h, tried on these
// layers through an adapter, took 2-4x oneDNN's time: it packs the
// activations per run and requantizes per column through memory.)
//
// How: in NHWC the convolution is a GEMM, pixels x input channels times
// input channels x output channels, and an A tile (16 pixels x 64 channels,
// a row of 64 bytes) loads straight from the int8 input at the pixel stride:
// no packing. TDPBSSD multiplies the codes as they are (s8 x s8), so the
// input's zero point is taken off per output channel afterwards: sum (x -
// zp) * w = sum x * w - zp * sum w, the filter's column sums kept with its
// B tiles (16 quads of input channels x 16 output channels, packed once per
// engine). A job of 32 pixels holds 2 x 2 C tiles (32 pixels x 32 channels)
// over all of K, stores them as int32 to L1, and the epilogue adds
// int_bias - zp * sum w in int32 (the exact int32 value the reference
// forms: |sum| < 2^31 is checked when the step is taken), then (f32(acc) +
// bias) * multiplier + zero point, clamp, round to nearest even: the float32
// operations of RequantizeColumnsToInt8 in its order (an empty asm keeps
// the multiply and the zero point's add apart, and the file is built with
// -ffp-contract=off: fused, 25334 * 0.0061774692 - 128 rounded once to
// 28.500004 and gave code 29 in MobileNetV2 QDQ, where the reference
// rounds the product to 156.5 first and gets 28.5, code 28; the real-model
// test test_qdq_model_fast_plan_equals_reference caught it). Input channels past
// the last whole 64 come from a zero-padded copy of the tail, a last block
// of fewer than 32 pixels from a zero-padded copy of its rows, and the
// larger operand in bytes is read once (ops/amx_jobs.h).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "kernels/avx512_warnings.h"
#include "kernels/cpu_features.h"
#include "kernels/u8s8_gemm_amx.h"
#include "ops/amx_jobs.h"
#include "ops/conv2d/conv_params.h"
#include "ops/conv2d/int8_conv_common.h"
#include "ops/kernel_registry.h"
#include "ops/layout.h"
#include "ops/quantized_reference.h"
#include "quant/requantize.h"
#include "util/status_util.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {

namespace {

constexpr int64_t kTile = 16;                  // pixels per A / C tile; output channels per B / C tile
constexpr int64_t kChunk = 64;                 // input channels per tile row (64 bytes)
constexpr int64_t kTileWords = kTile * kTile;  // a B tile: 16 quads x 16 columns, one 32-bit quad each
constexpr int64_t kRows = 2 * kTile;           // pixels per block (two A tiles)
constexpr int64_t kCols = 2 * kTile;           // output channels per C block (two B tiles)
// Splits over threads from this many multiply-adds (the tile products run
// about 1,000 a cycle: below it a parallel region costs more than it saves).
constexpr int64_t kMinParallelMacs = int64_t{1} << 22;

#define MIXQ_AMX_INT8 MIXQ_AMX_KERNEL  // ops/amx_jobs.h

bool IsChannelsLast(const ValueInfo& v) {
  return v.layout == MemoryLayout::kChannelsLast;
}

// Everything but the layouts: a step this kernel computes exactly.
bool StepTaken(const KernelInit& init, ConvGeometry* g) {
  const kernels::CpuFeatures& cpu = kernels::DetectedCpuFeatures();
  if (!cpu.amx_int8 || !cpu.avx512bw || !cpu.avx512vl) return false;
  if (init.inputs.size() < 2 || init.inputs.size() > 3 || init.outputs.size() != 1 || !TakesInt8Operands(init))
    return false;
  const ValueInfo &x = *init.inputs[0], &w = *init.inputs[1], &y = init.outputs[0];
  if (x.dtype != DataType::INT8 || !x.quant || w.dtype != DataType::INT8 || !w.const_data || !w.quant ||
      w.layout != MemoryLayout::kPlain)
    return false;
  if (y.dtype != DataType::INT8 || !IsIntegerStorage(y) || y.quant->dynamic) return false;
  for (int32_t z : w.quant->zero_points)
    if (z != 0) return false;  // symmetric weights: sum (x - zp) * w needs only the column sums
  if (x.layout != MemoryLayout::kPlain && !IsChannelsLast(x)) return false;
  if (y.layout != MemoryLayout::kPlain && !IsChannelsLast(y)) return false;
  std::vector<ValueInfo> logical;
  if (!ComputeConv2DGeometry(init.attrs, RealValuedInfos(init, 3, &logical), g).ok()) return false;
  if (g->kernel_h != 1 || g->kernel_w != 1 || g->stride_h != 1 || g->stride_w != 1 || g->group != 1 ||
      g->pad_top != 0 || g->pad_left != 0 || g->pad_bottom != 0 || g->pad_right != 0 || g->out_h != g->in_h ||
      g->out_w != g->in_w)
    return false;
  if (g->input_axes.pos[1] != 1 || g->output_axes.pos[1] != 1) return false;  // logical NCHW
  // Up to 16 output channels fill one column tile of the 2 x 2 block and
  // ran slower than onednn-int8 (MobileNetV2's 32 -> 16 at 112 x 112: 0.038
  // -> 0.056 ms, 1 thread).
  if (g->out_channels <= kTile) return false;
  // With the input's zero point 0 onednn-int8 runs its plain s8 kernel,
  // faster here where the requantization of many output channels per input
  // channel sets the time (ResNet-50 int8's 64 -> 256 at 56 x 56: 0.095
  // against 0.115 ms, 1 thread); a nonzero one makes it read a shifted copy
  // (the QDQ models' uint8 activations: the same layer 0.175 against 0.134).
  const ir::QuantBinding& xq = *x.quant;
  const bool zero_point_0 = !xq.dynamic && !xq.zero_points.empty() && xq.zero_points[0] == 0;
  if (zero_point_0 && g->out_channels >= 4 * g->in_channels) return false;
  if (w.quant->axis >= 0 && w.quant->axis != g->filter_axes.pos[0]) return false;
  // Only activations the requantization's bounds express.
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops)
      if (op.kind != PostOp::Kind::kActivation ||
          (op.activation != "relu" && op.activation != "relu6" && op.activation != "clip"))
        return false;
  // A constant bias (INT32 into the integer sum, or real-valued), and the
  // integer sum within int32: |sum x * w| + |zp * sum w| <= 2 * K * 128 *
  // 127 (|zp| <= 128 for int8 codes), plus the INT32 bias.
  int64_t max_bias = 0;
  if (init.inputs.size() > 2 && init.inputs[2]) {
    const ValueInfo& b = *init.inputs[2];
    if (!b.const_data || ir::ElementCount(b.shape) != g->out_channels) return false;
    if (init.ComputeOf(2) == DataType::INT32) {
      if (b.dtype != DataType::INT32) return false;
      const auto* v = static_cast<const int32_t*>(b.const_data);
      for (int64_t o = 0; o < g->out_channels; ++o) max_bias = std::max<int64_t>(max_bias, std::abs(int64_t{v[o]}));
    }
  }
  return 2 * g->in_channels * 128 * 127 + max_bias < (int64_t{1} << 31);
}

// A run's per-column constants, padded with zeros to whole column pairs.
struct Columns {
  std::vector<int32_t> add;  // int_bias - zp * sum w: added to sum x * w in int32
  std::vector<float> bias, multiplier;
  int32_t zero_point = 0, lo = -128, hi = 127;
  bool finite = true;
};

// `rows` rows of a C block into int8: (f32(acc + add) + bias) * multiplier
// + zero point, clamped, rounded to nearest even: RequantizeColumnsToInt8's
// float32 operations in its order. `cols` (1-32) columns are stored.
MIXQ_AMX_INT8 void Requantize(const int32_t* c, int64_t rows, const Columns& k, int64_t col0, int64_t cols, int8_t* out,
                              int64_t ld) {
  if (!k.finite) {  // the scalar formula (constants that are not finite)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < cols; ++j)
        out[r * ld + j] = static_cast<int8_t>(std::clamp(
            quant::RequantizeOutput(static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(c[r * kCols + j]) +
                                                                              static_cast<uint32_t>(k.add[col0 + j]))),
                                    k.bias[col0 + j], k.multiplier[col0 + j], k.zero_point, 8),
            k.lo, k.hi));
    return;
  }
  __m512i add[2];
  __m512 bias[2], mult[2];
  for (int h = 0; h < 2; ++h) {
    add[h] = _mm512_loadu_si512(k.add.data() + col0 + h * kTile);
    bias[h] = _mm512_loadu_ps(k.bias.data() + col0 + h * kTile);
    mult[h] = _mm512_loadu_ps(k.multiplier.data() + col0 + h * kTile);
  }
  const __m512 zp = _mm512_set1_ps(static_cast<float>(k.zero_point));
  const __m512 lo = _mm512_set1_ps(static_cast<float>(k.lo)), hi = _mm512_set1_ps(static_cast<float>(k.hi));
  const __mmask16 m0 = static_cast<__mmask16>(cols >= kTile ? 0xFFFF : (1u << cols) - 1);
  const __mmask16 m1 = static_cast<__mmask16>(cols >= kCols ? 0xFFFF : cols > kTile ? (1u << (cols - kTile)) - 1 : 0);
  for (int64_t r = 0; r < rows; ++r) {
    __m128i q[2];
    for (int h = 0; h < 2; ++h) {
      const __m512i acc = _mm512_add_epi32(_mm512_load_si512(c + r * kCols + h * kTile), add[h]);
      __m512 product = _mm512_mul_ps(_mm512_add_ps(_mm512_cvtepi32_ps(acc), bias[h]), mult[h]);
      asm("" : "+v"(product));  // rounded before the zero point's add, whatever -ffp-contract says
      const __m512 v = _mm512_add_ps(product, zp);
      q[h] = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, lo), hi)));
    }
    int8_t* to = out + r * ld;
    if (cols == kCols) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(to), _mm256_set_m128i(q[1], q[0]));
    } else {
      _mm_mask_storeu_epi8(to, m0, q[0]);
      if (m1) _mm_mask_storeu_epi8(to + kTile, m1, q[1]);
    }
  }
}

class AmxInt8Pointwise : public Kernel {
 public:
  const char* Name() const override { return "amx-int8-pw"; }
  // The filter is packed; the bias is read when it runs (the stage's Prepare).
  bool ReadsInputAtRun(size_t index) const override { return index != 1; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Init(const KernelInit& init) {
    if (!StepTaken(init, &g_) || !IsChannelsLast(*init.inputs[0]) || !IsChannelsLast(init.outputs[0]))
      return Internal("amx-int8-pw does not take this convolution");
    stage_.Init(init, g_);
    k_ = g_.in_channels;
    n_ = g_.out_channels;
    chunks_ = (k_ + kChunk - 1) / kChunk;
    n_blocks_ = (n_ + kTile - 1) / kTile;
    const ValueInfo& w = *init.inputs[1];
    const auto strides = LogicalStrides(w.shape, g_.filter_axes);
    const auto* filter = static_cast<const int8_t*>(w.const_data);
    // [n block][chunk][quad][column] words of four s8 weights (input
    // channel 4q in the low byte), zero past K and N, 64-byte aligned; then
    // the columns' weight sums as int32, n_blocks * 16 + 16 of them.
    const int64_t tile_words = n_blocks_ * chunks_ * kTileWords, words = tile_words + n_blocks_ * kTile + kTile + 16;
    const int64_t k = k_, n = n_, chunks = chunks_;
    MIXQ_RETURN_IF_ERROR(PackOnce<uint32_t>(
        init, Name(), static_cast<size_t>(words),
        [&](uint32_t* words_data) {
          uint32_t* base = AlignedTo64(words_data);
          auto* sums = reinterpret_cast<int32_t*>(base + tile_words);
          for (int64_t o = 0; o < n; ++o)
            for (int64_t i = 0; i < k; ++i) {
              const int8_t v = filter[o * strides[0] + i * strides[1]];
              const int64_t block = o / kTile, chunk = i / kChunk, quad = i % kChunk / 4;
              base[((block * chunks + chunk) * kTile + quad) * kTile + o % kTile] |= uint32_t{static_cast<uint8_t>(v)}
                                                                                     << (8 * (i % 4));
              sums[o] += v;
            }
        },
        &packed_, &private_bytes_));
    tiles_ = AlignedTo64(packed_->data());
    sums_ = reinterpret_cast<const int32_t*>(tiles_ + tile_words);
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    stage_.Prepare(in, out[0]);
    Columns& k = columns_;
    const ChannelStage* stage = stage_.PlainInt8(&k.zero_point, &k.lo, &k.hi);
    if (!stage) return Internal("amx-int8-pw: the output stage is not a plain requantization");
    const int64_t padded = n_blocks_ * kTile + kTile;
    k.add.assign(static_cast<size_t>(padded), 0);
    k.bias.assign(static_cast<size_t>(padded), 0.0f);
    k.multiplier.assign(static_cast<size_t>(padded), 0.0f);
    k.finite = true;
    const int32_t zp = in[0].quant->zero_point;
    for (int64_t o = 0; o < n_; ++o) {
      // Within int32 (StepTaken's bound): the reference's int_bias - zp * sum w.
      k.add[static_cast<size_t>(o)] = static_cast<int32_t>(int64_t{stage[o].int_bias} - int64_t{zp} * sums_[o]);
      k.bias[static_cast<size_t>(o)] = stage[o].bias;
      k.multiplier[static_cast<size_t>(o)] = stage[o].multiplier;
      k.finite = k.finite && std::isfinite(stage[o].bias) && std::isfinite(stage[o].multiplier);
    }
    const int64_t m = g_.batch * g_.in_h * g_.in_w;
    const int threads = std::max(1, omp_get_max_threads());
    const AmxJobPlan plan = PlanAmxJobs(m, (n_blocks_ + 1) / 2, n_blocks_ * chunks_ * kTileWords * 4, m * k_,
                                        m * k_ * n_, threads, kMinParallelMacs);
    if (workers_.size() < static_cast<size_t>(threads)) workers_.resize(static_cast<size_t>(threads));
    const auto* x = in[0].Data<const int8_t>();
    auto* y = out[0].Data<int8_t>();
#pragma omp parallel if (plan.parallel)
    {
      Worker& w = workers_[static_cast<size_t>(omp_get_thread_num())];
      // Two C blocks: a block's tiles are stored and requantized while
      // the next block's tile products are under way (AmxTileProductsAfter):
      // ResNet-50 QDQ's 128 -> 512 and 256 -> 1024 layers 0.098 -> 0.084
      // ms, MobileNetV2 QDQ 0.974x in all (1 thread, step minima).
      int32_t* c = GrownTo64(&w.c, 2 * kRows * kCols);
      kernels::ConfigureAmxTiles();
#pragma omp for schedule(static)
      for (int64_t item = 0; item < plan.items; ++item) {
        RunAmxJobHandingOver(
            plan, item, x, k_, m, k_, kChunk, chunks_, &w.tail, &w.rows, &w.blocks, tiles_, chunks_ * kTileWords,
            n_blocks_, c, [&](const int32_t* sums, int64_t rows, int64_t row0, int64_t col0) {
              Requantize(sums, rows, columns_, col0, std::min(kCols, n_ - col0), y + row0 * n_ + col0, n_);
            });
      }
      kernels::ReleaseAmxTiles();
    }
    return Status::OK();
  }

 private:
  struct Worker {
    std::vector<int32_t> c;
    std::vector<int8_t> tail, rows;  // ops/amx_jobs.h's copies
    std::vector<AmxRowBlock<int8_t>> blocks;
  };

  ConvGeometry g_;
  Int8ConvOutputStage stage_;
  int64_t k_ = 0, n_ = 0, chunks_ = 0, n_blocks_ = 0;
  std::shared_ptr<const std::vector<uint32_t>> packed_;
  const uint32_t* tiles_ = nullptr;  // B tiles, 64-byte aligned
  const int32_t* sums_ = nullptr;    // per output channel: the sum of its weights
  int64_t private_bytes_ = 0;
  Columns columns_;              // the last run's constants
  std::vector<Worker> workers_;  // one per OpenMP thread
};

bool Supports(const KernelInit& init) {
  ConvGeometry g;
  return StepTaken(init, &g);
}

// Kept where its input and output are channels-last (MobileNetV2 QDQ's and
// ResNet-50 QDQ's 1 x 1 layers between onednn-int8 convolutions): then both
// are the GEMM's row-major matrices.
bool KeepWithLayouts(const KernelInit& init) {
  return IsChannelsLast(*init.inputs[0]) && IsChannelsLast(init.outputs[0]);
}

void LayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs, std::vector<bool>* outputs) {
  inputs->assign(init.inputs.size(), false);
  outputs->assign(init.outputs.size(), false);
  if (block != MemoryLayout::kChannelsLast || !Supports(init)) return;
  (*inputs)[0] = true;
  (*outputs)[0] = true;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto conv = std::make_unique<AmxInt8Pointwise>();
  MIXQ_RETURN_IF_ERROR(conv->Init(init));
  *kernel = std::move(conv);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON

MIXQ_REGISTER_KERNELS(conv2d, amx_int8_pw) {
  // Above onednn-int8 (40) for the NHWC pointwise steps it takes.
  mixq::ops::RegisterKernel({"amx-int8-pw", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAmx, 41, mixq::ops::Supports,
                             mixq::ops::Make, mixq::ops::LayoutSlots, mixq::ops::KeepWithLayouts});
}
