// "amx-bf16-pw": pointwise Conv2D (1 x 1 filter, stride 1, no padding, one
// group) between bfloat16 tensors the plan stores channels-last (NHWC), on
// AMX-BF16 tiles; the residual add and the unary post-ops fused.
//
// Why: oneDNN 2.6's brgconv_1x1 (what onednn-bf16 runs these layers in)
// took 0.22-0.26 ms on PP-OCR rec's 240 -> 240 and 480 -> 480 layers at 12 x
// 80 and 6 x 80 on the AMX Xeon (one thread, step minima), where
// OpenVINO's newer oneDNN took 0.14-0.18 in the same run, and a layer's 55
// million multiply-adds are about 7,000 tile products (16 cycles each): 40
// us of arithmetic. PP-OCR rec force_bfloat16 spent 2.35 ms of 5.1 in 14
// such layers.
//
// How: in NHWC a 1 x 1 convolution is a GEMM, pixels x input channels
// times input channels x output channels, and an A tile (16 pixels x 32
// channels, 64 bytes a row) loads straight from the input at the pixel
// stride: no im2col, no packing of the activations. The filter is packed
// once per engine as B tiles (16 channel pairs x 16 output channels). A
// job is 32 pixels: 2 x 2 C tiles (32 pixels x 32 output channels) over
// every K chunk (TDPBF16PS), stored to a 4 KiB float32 block in L1, then
// the epilogue adds the bias, runs the chain of post-ops in float32
// (ops/conv2d/bf16_chain.h: activation, scalars, the residual addend
// widened from bfloat16) and rounds once to bfloat16 (vcvtneps2bf16,
// nearest even). Input channels past the last whole 32 come from a
// zero-padded copy of the tail; a last block of fewer than 32 pixels from a
// zero-padded copy of its rows: the tiles never read past a tensor.
//
// Accuracy, as onednn-bf16 (docs/precision.md, bfloat16 arithmetic): every
// product of two bfloat16 values is exact in float32, the sums are float32
// (TDPBF16PS's order: pairs of channels, 32 at a time; denormal inputs and
// outputs of the tile product flushed to zero, as oneDNN's AMX kernels do),
// one rounding at the end: within a bfloat16 step of a double reference
// (cpu_onednn_bf16_test.cc).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/avx512_warnings.h"
#include "kernels/cpu_features.h"
#include "kernels/u8s8_gemm_amx.h"
#include "ops/conv2d/bf16_chain.h"
#include "ops/conv2d/conv_params.h"
#include "ops/kernel_registry.h"
#include "ops/layout.h"
#include "ops/onednn_support.h"
#include "ops/op_util.h"
#include "util/status_util.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {

namespace {

constexpr int64_t kTile = 16;                  // pixels per A / C tile; output channels per B / C tile
constexpr int64_t kChunk = 32;                 // input channels per tile row: 16 pairs of bfloat16, 64 bytes
constexpr int64_t kTileWords = kTile * kTile;  // a B tile: 16 pairs x 16 columns, one 32-bit pair each
constexpr int64_t kRows = 2 * kTile;           // pixels per job block (two A tiles)
constexpr int64_t kCols = 2 * kTile;           // output channels per C block (two B tiles)

// A convolution splits over threads from this many multiply-adds: the tile
// products run about 500 a cycle, so below it a parallel region's few
// microseconds cost more than the second thread saves.
constexpr int64_t kMinParallelMacs = int64_t{1} << 22;

#define MIXQ_AMX_BF16 __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16,fma")))

struct Step {
  ConvGeometry g;
  HalfChain chain;
  int addend = -1;  // the residual addend's input slot
};

bool LayoutTaken(const ValueInfo& v) {
  return v.layout == MemoryLayout::kPlain || v.layout == MemoryLayout::kChannelsLast;
}

// Everything but the layouts the pass gives: a step this kernel computes.
bool StepTaken(const KernelInit& init, Step* s) {
  const kernels::CpuFeatures& cpu = kernels::DetectedCpuFeatures();
  if (!cpu.amx_bf16 || !cpu.avx512bw || !cpu.avx512vl) return false;
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1) return false;
  const ValueInfo &x = *init.inputs[0], &w = *init.inputs[1], &y = init.outputs[0];
  if (!IsBFloat16Storage(x) || !IsBFloat16Storage(y) || x.quant || y.quant || !LayoutTaken(x) || !LayoutTaken(y))
    return false;
  // The filter holds bfloat16 values (the planner rounds a filter consumed in BFLOAT16 once).
  if (!w.const_data || w.dtype != DataType::FLOAT32 || w.quant || w.layout != MemoryLayout::kPlain ||
      !HoldsBFloat16Values(w))
    return false;
  if (init.inputs.size() > 2 && init.inputs[2]) {
    const ValueInfo& b = *init.inputs[2];
    if (!b.const_data || b.dtype != DataType::FLOAT32 || b.quant) return false;
  }
  if (!ComputeConv2DGeometry(init.attrs, init.inputs, &s->g).ok()) return false;
  const ConvGeometry& g = s->g;
  if (g.kernel_h != 1 || g.kernel_w != 1 || g.stride_h != 1 || g.stride_w != 1 || g.group != 1 || g.pad_top != 0 ||
      g.pad_left != 0 || g.pad_bottom != 0 || g.pad_right != 0 || g.out_h != g.in_h || g.out_w != g.in_w)
    return false;
  // Logical NCHW tensors (kChannelsLast stores them NHWC).
  if (g.input_axes.pos[1] != 1 || g.output_axes.pos[1] != 1) return false;
  if (!BFloat16ChainOf(init.post_ops, &s->chain, &s->addend)) return false;
  for (size_t i = 3; i < init.inputs.size(); ++i)  // past the bias: only the addend
    if (static_cast<int>(i) != s->addend) return false;
  if (s->addend >= 0) {
    if (static_cast<size_t>(s->addend) >= init.inputs.size() || !init.inputs[static_cast<size_t>(s->addend)])
      return false;
    const ValueInfo& a = *init.inputs[static_cast<size_t>(s->addend)];
    if (!IsBFloat16Storage(a) || a.quant || a.const_data || a.shape != y.shape || !LayoutTaken(a)) return false;
  }
  return true;
}

// The step's output, input and addend all channels-last: what Init takes.
bool AllChannelsLast(const KernelInit& init, const Step& s) {
  if (init.inputs[0]->layout != MemoryLayout::kChannelsLast || init.outputs[0].layout != MemoryLayout::kChannelsLast)
    return false;
  return s.addend < 0 || init.inputs[static_cast<size_t>(s.addend)]->layout == MemoryLayout::kChannelsLast;
}

// C (+)= A . B for R (1, 2) row tiles and C (1, 2) column tiles: `full`
// K chunks of A read at a (rows lda elements apart), then, where `tail` is
// given, one more chunk from it (32 channels a row, zero past K); B's tiles
// for one column tile consecutive, the next column tile b_stride words on.
// The C tiles land in c, kCols floats a row.
template <int R, int C>
MIXQ_AMX_BF16 void Tiles(const uint16_t* a, int64_t lda, int64_t full, const uint16_t* tail, const uint32_t* b,
                         int64_t b_stride, float* c) {
  _tile_zero(0);
  if constexpr (C == 2) _tile_zero(1);
  if constexpr (R == 2) _tile_zero(2);
  if constexpr (R == 2 && C == 2) _tile_zero(3);
  auto chunk = [&](const uint16_t* a0, int64_t a_stride, const uint32_t* b0) MIXQ_AMX_BF16 {
    _tile_loadd(4, a0, a_stride * static_cast<int64_t>(sizeof(uint16_t)));
    _tile_loadd(6, b0, 64);
    if constexpr (C == 2) _tile_loadd(7, b0 + b_stride, 64);
    _tile_dpbf16ps(0, 4, 6);
    if constexpr (C == 2) _tile_dpbf16ps(1, 4, 7);
    if constexpr (R == 2) {
      _tile_loadd(5, a0 + kTile * a_stride, a_stride * static_cast<int64_t>(sizeof(uint16_t)));
      _tile_dpbf16ps(2, 5, 6);
      if constexpr (C == 2) _tile_dpbf16ps(3, 5, 7);
    }
  };
  for (int64_t k = 0; k < full; ++k) chunk(a + k * kChunk, lda, b + k * kTileWords);
  if (tail) chunk(tail, kChunk, b + full * kTileWords);
  constexpr int64_t kStride = kCols * sizeof(float);
  _tile_stored(0, c, kStride);
  if constexpr (C == 2) _tile_stored(1, c + kTile, kStride);
  if constexpr (R == 2) _tile_stored(2, c + kTile * kCols, kStride);
  if constexpr (R == 2 && C == 2) _tile_stored(3, c + kTile * kCols + kTile, kStride);
}

MIXQ_AMX_BF16 void ReleaseTiles() {
  _tile_release();
}

// A row's two halves of 16 bfloat16 (the mask's lanes) as float32.
MIXQ_AMX_BF16 inline __m512 WidenBFloat16(const uint16_t* from, __mmask16 mask) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, from)), 16));
}

// What the epilogue of one C block needs.
struct Epilogue {
  const float* bias;       // kCols floats from the block's first channel (zero past the last)
  const HalfChain* chain;  // post-ops; kAddTensor reads `addend`
  const uint16_t* addend;  // the block's first pixel and channel, or null
  uint16_t* out;           // the same position in the output
  int64_t ld;              // elements between pixels (output channels)
  __mmask16 lo, hi;        // the block's channels in its two column tiles
};

// `rows` pixels of the block: + bias, the chain, one rounding, the store.
// Four pixels (eight vectors) a step, so that each op's constants are
// broadcast once per step.
MIXQ_AMX_BF16 void RunEpilogue(const float* c, int64_t rows, const Epilogue& e) {
  const __m512 bias0 = _mm512_loadu_ps(e.bias), bias1 = _mm512_loadu_ps(e.bias + kTile);
  constexpr int kStep = 4;
  int64_t r = 0;
  auto rows_of = [&](auto n_rows) MIXQ_AMX_BF16 {
    constexpr int kN = decltype(n_rows)::value;
    __m512 v[2 * kN];
    for (int u = 0; u < kN; ++u) {
      v[2 * u] = _mm512_add_ps(_mm512_loadu_ps(c + (r + u) * kCols), bias0);
      v[2 * u + 1] = _mm512_add_ps(_mm512_loadu_ps(c + (r + u) * kCols + kTile), bias1);
    }
    if (e.addend) {
      __m512 add[2 * kN];
      for (int u = 0; u < kN; ++u) {
        add[2 * u] = WidenBFloat16(e.addend + (r + u) * e.ld, e.lo);
        add[2 * u + 1] = WidenBFloat16(e.addend + (r + u) * e.ld + kTile, e.hi);
      }
      ApplyBFloat16Chain<2 * kN, true>(v, *e.chain, add);
    } else {
      ApplyBFloat16Chain<2 * kN>(v, *e.chain);
    }
    for (int u = 0; u < kN; ++u) {
      uint16_t* to = e.out + (r + u) * e.ld;
      _mm256_mask_storeu_epi16(to, e.lo, reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v[2 * u])));
      if (e.hi) _mm256_mask_storeu_epi16(to + kTile, e.hi, reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v[2 * u + 1])));
    }
  };
  for (; r + kStep <= rows; r += kStep) rows_of(std::integral_constant<int, kStep>());
  for (; r < rows; ++r) rows_of(std::integral_constant<int, 1>());
}

class AmxBFloat16Pointwise : public Kernel {
 public:
  const char* Name() const override { return "amx-bf16-pw"; }
  // The filter and the bias are packed; the input and the addend are read.
  bool ReadsInputAtRun(size_t index) const override { return index == 0 || static_cast<int>(index) == step_.addend; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Init(const KernelInit& init) {
    if (!StepTaken(init, &step_) || !AllChannelsLast(init, step_))
      return Internal("amx-bf16-pw does not take this convolution");
    const ConvGeometry& g = step_.g;
    k_ = g.in_channels;
    n_ = g.out_channels;
    chunks_ = (k_ + kChunk - 1) / kChunk;
    n_blocks_ = (n_ + kTile - 1) / kTile;
    const ValueInfo& w = *init.inputs[1];
    const auto strides = LogicalStrides(w.shape, g.filter_axes);
    const auto* filter = static_cast<const float*>(w.const_data);
    const auto* bias =
        init.inputs.size() > 2 && init.inputs[2] ? static_cast<const float*>(init.inputs[2]->const_data) : nullptr;
    // [n block][chunk][pair][column] words of two bfloat16 (channel 2p in
    // the low half), zero past K and N, 64-byte aligned; then the bias as
    // float32 bits, n_blocks * 16 of them and 16 zeros (an odd last block's
    // pair reads them); 16 words of slack for the alignment.
    const int64_t tile_words = n_blocks_ * chunks_ * kTileWords, words = tile_words + n_blocks_ * kTile + 32;
    const int64_t k = k_, n = n_, chunks = chunks_;
    auto pack = [&](std::shared_ptr<const void>* out, int64_t* bytes) {
      auto p = std::make_shared<std::vector<uint32_t>>(static_cast<size_t>(words), 0u);
      uint32_t* base = Aligned(p->data());
      auto bits = [&](int64_t o, int64_t i) -> uint32_t {
        if (i >= k) return 0;
        uint32_t f;
        std::memcpy(&f, &filter[o * strides[0] + i * strides[1]], sizeof(f));
        return f >> 16;  // exact: the filter holds bfloat16 values
      };
      for (int64_t o = 0; o < n; ++o)
        for (int64_t i = 0; i < chunks * kChunk; i += 2) {
          const int64_t block = o / kTile, chunk = i / kChunk, pair = i % kChunk / 2;
          base[((block * chunks + chunk) * kTile + pair) * kTile + o % kTile] = bits(o, i) | bits(o, i + 1) << 16;
        }
      if (bias) std::memcpy(base + tile_words, bias, static_cast<size_t>(n) * sizeof(float));
      *bytes = static_cast<int64_t>(p->size() * sizeof(uint32_t));
      *out = std::move(p);
      return Status::OK();
    };
    std::shared_ptr<const void> any;
    if (init.weights)
      MIXQ_RETURN_IF_ERROR(init.weights->GetOrCreate(init.weight_key + "/" + Name(), pack, &any));
    else
      MIXQ_RETURN_IF_ERROR(pack(&any, &private_bytes_));
    packed_ = std::static_pointer_cast<const std::vector<uint32_t>>(any);
    weights_ = Aligned(packed_->data());
    bias_ = reinterpret_cast<const float*>(weights_ + tile_words);
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const ConvGeometry& g = step_.g;
    const int64_t m = g.batch * g.in_h * g.in_w;
    const int64_t row_blocks = (m + kRows - 1) / kRows, col_pairs = (n_blocks_ + 1) / 2;
    const int threads = std::max(1, omp_get_max_threads());
    // The operand larger in bytes is read once: with more filter than input
    // (ResNet-50's 7 x 7 layers: 2 MiB of filter, 49 pixels) every job
    // sweeps its pixels per column pair, the pair's filter slice staying in
    // L2; otherwise per block of 32 pixels, the block's rows staying in L1,
    // every column pair.
    const bool cols_outer = n_blocks_ * chunks_ * kTileWords * 4 > m * k_ * 2;
    int64_t row_groups = row_blocks, col_groups = 1;
    if (cols_outer) {
      row_groups = 1;
      col_groups = std::min<int64_t>(threads, col_pairs);
    } else {
      // Few pixel blocks (small images): the column pairs split too.
      col_groups = std::clamp<int64_t>((2 * threads + row_blocks - 1) / row_blocks, 1, col_pairs);
    }
    const int64_t items = row_groups * col_groups;
    const bool parallel = threads > 1 && items > 1 && m * k_ * n_ >= kMinParallelMacs;
    if (workers_.size() < static_cast<size_t>(threads)) workers_.resize(static_cast<size_t>(threads));
    const auto* x = in[0].Data<const uint16_t>();
    const uint16_t* addend = step_.addend >= 0 ? in[static_cast<size_t>(step_.addend)].Data<const uint16_t>() : nullptr;
    uint16_t* y = out[0].Data<uint16_t>();
#pragma omp parallel if (parallel)
    {
      Worker& w = workers_[static_cast<size_t>(omp_get_thread_num())];
      kernels::ConfigureAmxTiles();
#pragma omp for schedule(static)
      for (int64_t item = 0; item < items; ++item) {
        const int64_t rg = item / col_groups, cg = item % col_groups;
        RunJob(x, addend, y, m, row_blocks * rg / row_groups, row_blocks * (rg + 1) / row_groups,
               col_pairs * cg / col_groups, col_pairs * (cg + 1) / col_groups, cols_outer, &w);
      }
      ReleaseTiles();
    }
    return Status::OK();
  }

 private:
  // What the tiles read for one block of 32 pixels.
  struct BlockA {
    const uint16_t* a = nullptr;  // its first pixel's row
    int64_t lda = 0, full = 0;    // elements between rows; whole K chunks read from a
    const uint16_t* tail = nullptr;
    int64_t m0 = 0, rows = 0;  // its first pixel, its pixels (up to 32)
  };

  struct Worker {
    std::vector<float> c;        // kRows x kCols C block
    std::vector<uint16_t> tail;  // per block of the job, kRows x kChunk: its last partial K chunk
    std::vector<uint16_t> rows;  // kRows x chunks * kChunk: a last partial pixel block
    std::vector<BlockA> blocks;  // a job's blocks, where it sweeps them per column pair
  };

  // A vector of at least n elements (64-byte aligned from Aligned), never shrunk.
  template <typename T>
  static T* Grown(std::vector<T>* v, int64_t n) {
    if (v->size() < static_cast<size_t>(n + 64)) v->resize(static_cast<size_t>(n + 64));
    return Aligned(v->data());
  }

  template <typename T>
  static T* Aligned(T* p) {
    const auto at = reinterpret_cast<uintptr_t>(p);
    return p + (64 - at % 64) % 64 / sizeof(T);
  }

  // Block `rb`: straight from x, its K tail copied zero-padded into `tail`
  // (kRows x kChunk) where K has one; a last partial block copied whole,
  // zero-padded to 32 rows and whole chunks, into `staged`.
  BlockA PrepareA(const uint16_t* x, int64_t m, int64_t rb, uint16_t* tail, uint16_t* staged) const {
    BlockA b;
    b.m0 = rb * kRows;
    b.rows = std::min(kRows, m - b.m0);
    b.a = x + b.m0 * k_;
    b.lda = k_;
    b.full = k_ / kChunk;
    const int64_t k_tail = k_ % kChunk;
    if (b.rows < kRows) {
      const int64_t lda = chunks_ * kChunk;
      std::fill(staged, staged + kRows * lda, uint16_t{0});
      for (int64_t r = 0; r < b.rows; ++r)
        std::memcpy(staged + r * lda, b.a + r * k_, static_cast<size_t>(k_) * sizeof(uint16_t));
      b.a = staged;
      b.lda = lda;
      b.full = chunks_;
    } else if (k_tail) {
      std::fill(tail, tail + kRows * kChunk, uint16_t{0});
      for (int64_t r = 0; r < kRows; ++r)
        std::memcpy(tail + r * kChunk, b.a + r * k_ + b.full * kChunk, static_cast<size_t>(k_tail) * sizeof(uint16_t));
      b.tail = tail;
    }
    return b;
  }

  // Row blocks [rb0, rb1) against column pairs [pair0, pair1), in the order
  // Run chose.
  void RunJob(const uint16_t* x, const uint16_t* addend, uint16_t* y, int64_t m, int64_t rb0, int64_t rb1,
              int64_t pair0, int64_t pair1, bool cols_outer, Worker* w) const {
    float* c = Grown(&w->c, kRows * kCols);
    uint16_t* staged = rb1 * kRows > m ? Grown(&w->rows, kRows * chunks_ * kChunk) : nullptr;
    if (!cols_outer) {
      uint16_t* tail = Grown(&w->tail, kRows * kChunk);
      for (int64_t rb = rb0; rb < rb1; ++rb) {
        const BlockA b = PrepareA(x, m, rb, tail, staged);
        for (int64_t pair = pair0; pair < pair1; ++pair) Compute(b, pair, addend, y, c);
      }
      return;
    }
    uint16_t* tails = Grown(&w->tail, (rb1 - rb0) * kRows * kChunk);
    std::vector<BlockA>& blocks = w->blocks;
    blocks.clear();
    for (int64_t rb = rb0; rb < rb1; ++rb)
      blocks.push_back(PrepareA(x, m, rb, tails + (rb - rb0) * kRows * kChunk, staged));
    for (int64_t pair = pair0; pair < pair1; ++pair)
      for (const BlockA& b : blocks) Compute(b, pair, addend, y, c);
  }

  // One block of pixels against column pair `pair`: the tiles, then the epilogue.
  MIXQ_AMX_BF16 void Compute(const BlockA& ba, int64_t pair, const uint16_t* addend, uint16_t* y, float* c) const {
    const int64_t block = 2 * pair, col0 = block * kTile, b_stride = chunks_ * kTileWords;
    const bool two_cols = block + 1 < n_blocks_, two_rows = ba.rows > kTile;
    const uint32_t* b = weights_ + block * b_stride;
    if (two_rows && two_cols)
      Tiles<2, 2>(ba.a, ba.lda, ba.full, ba.tail, b, b_stride, c);
    else if (two_rows)
      Tiles<2, 1>(ba.a, ba.lda, ba.full, ba.tail, b, b_stride, c);
    else if (two_cols)
      Tiles<1, 2>(ba.a, ba.lda, ba.full, ba.tail, b, b_stride, c);
    else
      Tiles<1, 1>(ba.a, ba.lda, ba.full, ba.tail, b, b_stride, c);
    const int64_t cols = std::min(kCols, n_ - col0);
    Epilogue e{bias_ + col0,
               &step_.chain,
               addend ? addend + ba.m0 * n_ + col0 : nullptr,
               y + ba.m0 * n_ + col0,
               n_,
               static_cast<__mmask16>(cols >= kTile ? 0xFFFF : (1u << cols) - 1),
               static_cast<__mmask16>(cols >= kCols  ? 0xFFFF
                                      : cols > kTile ? (1u << (cols - kTile)) - 1
                                                     : 0)};
    RunEpilogue(c, ba.rows, e);
  }

  Step step_;
  int64_t k_ = 0, n_ = 0, chunks_ = 0, n_blocks_ = 0;
  std::shared_ptr<const std::vector<uint32_t>> packed_;
  const uint32_t* weights_ = nullptr;  // B tiles, 64-byte aligned
  const float* bias_ = nullptr;        // n_blocks_ * 16, zero past N (and all zero without a bias)
  int64_t private_bytes_ = 0;
  std::vector<Worker> workers_;  // one per OpenMP thread
};

bool Supports(const KernelInit& init) {
  Step s;
  return StepTaken(init, &s);
}

// Kept where its tensors are channels-last (between onednn-bf16 and
// avx512-bf16-dw steps); a plain side goes to onednn-bf16, which reorders it.
bool KeepWithLayouts(const KernelInit& init) {
  Step s;
  return StepTaken(init, &s) && AllChannelsLast(init, s);
}

void LayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs, std::vector<bool>* outputs) {
  inputs->assign(init.inputs.size(), false);
  outputs->assign(init.outputs.size(), false);
  Step s;
  if (block != MemoryLayout::kChannelsLast || !StepTaken(init, &s)) return;
  (*inputs)[0] = true;
  (*outputs)[0] = true;
  if (s.addend >= 0) (*inputs)[static_cast<size_t>(s.addend)] = true;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto conv = std::make_unique<AmxBFloat16Pointwise>();
  MIXQ_RETURN_IF_ERROR(conv->Init(init));
  *kernel = std::move(conv);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON

MIXQ_REGISTER_KERNELS(conv2d, amx_bf16_pw) {
  // Above onednn-bf16 (30) for the pointwise steps it takes.
  mixq::ops::RegisterKernel({"amx-bf16-pw", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAmx, 31, mixq::ops::Supports,
                             mixq::ops::Make, mixq::ops::LayoutSlots, mixq::ops::KeepWithLayouts,
                             mixq::ops::AddendAlias});
}
