#include "ops/half_weight_gemm.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/avx512_warnings.h"
#include "kernels/half_io.h"
#include "kernels/parallel.h"
#include "kernels/thread_scratch.h"
#include "ops/half_output_stage.h"
#include "ops/half_storage.h"
#include "util/half.h"
#include "util/status_util.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {

namespace {

constexpr int kWideningSlot = 0;                   // kernels::ThreadScratch slot of the widened rows
constexpr int kVectors = 3;                        // weight vectors per group
constexpr int64_t kRowsPerThreadForRowSplit = 48;  // see Run
// Rows per pass over a group's weights: 8 x 3 zmm accumulators (3
// conversions per 24 FMAs; 6 x 4 ran 0.94-0.96x as fast, its 4 per 24
// competing with the FMAs for the same ports, Intel Xeon), 4 x 3 ymm (the
// 16 AVX2 registers: accumulators, weights and the broadcast row value).
constexpr int64_t kRowBlock512 = 8;
constexpr int64_t kRowBlock256 = 4;

// `addend` shaped [N] or [1, ..., 1, N] (not the output's own shape) against
// an output [..., N]: one value per output column.
bool ColumnBias(const ir::Shape& addend, const ir::Shape& out) {
  if (addend.empty() || out.empty() || addend == out || addend.size() > out.size() || addend.back() != out.back())
    return false;
  for (size_t d = 0; d + 1 < addend.size(); ++d)
    if (addend[d] != 1) return false;
  return true;
}

}  // namespace

// The first post-op when it is a float16 step's fused bias add: + a
// constant float32 value per output column.
const PostOp* ColumnBiasOp(const KernelInit& init, bool half) {
  if (!half || !init.HasPostOps()) return nullptr;
  const PostOp& op = init.post_ops->front();
  if (op.kind != PostOp::Kind::kAdd || op.input < 0 || static_cast<size_t>(op.input) >= init.inputs.size())
    return nullptr;
  const ValueInfo* b = init.inputs[static_cast<size_t>(op.input)];
  if (!b || !b->const_data || b->dtype != DataType::FLOAT32 || b->narrowed || b->quant) return nullptr;
  return ColumnBias(b->shape, init.outputs[0].shape) ? &op : nullptr;
}

std::vector<PostOp> StagePostOps(const KernelInit& init, bool half) {
  if (!init.post_ops) return {};
  return std::vector<PostOp>(init.post_ops->begin() + (ColumnBiasOp(init, half) ? 1 : 0), init.post_ops->end());
}

namespace {

// M rows of x (row r at x + r * ldx) times one group's weights (W: uint16_t,
// float16 widened with F16C, or float): y[r][0 .. 4 * 16).
template <typename W, int M>
__attribute__((target("avx512f"))) void Group512(const void* weights, const float* x, int64_t ldx, int64_t k,
                                                 float* y) {
  const W* w = static_cast<const W*>(weights);
  __m512 acc[M][kVectors];
  for (int r = 0; r < M; ++r)
    for (int j = 0; j < kVectors; ++j) acc[r][j] = _mm512_setzero_ps();
  for (int64_t i = 0; i < k; ++i, w += kVectors * 16) {
    __m512 wv[kVectors];
    for (int j = 0; j < kVectors; ++j) {
      if constexpr (sizeof(W) == 2)
        wv[j] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j * 16)));
      else
        wv[j] = _mm512_loadu_ps(reinterpret_cast<const float*>(w) + j * 16);
    }
    for (int r = 0; r < M; ++r) {
      const __m512 v = _mm512_set1_ps(x[r * ldx + i]);
      for (int j = 0; j < kVectors; ++j) acc[r][j] = _mm512_fmadd_ps(v, wv[j], acc[r][j]);
    }
  }
  for (int r = 0; r < M; ++r)
    for (int j = 0; j < kVectors; ++j) _mm512_storeu_ps(y + (r * kVectors + j) * 16, acc[r][j]);
}

template <typename W, int M>
__attribute__((target("avx2,fma,f16c"))) void Group256(const void* weights, const float* x, int64_t ldx, int64_t k,
                                                       float* y) {
  const W* w = static_cast<const W*>(weights);
  __m256 acc[M][kVectors];
  for (int r = 0; r < M; ++r)
    for (int j = 0; j < kVectors; ++j) acc[r][j] = _mm256_setzero_ps();
  for (int64_t i = 0; i < k; ++i, w += kVectors * 8) {
    __m256 wv[kVectors];
    for (int j = 0; j < kVectors; ++j) {
      if constexpr (sizeof(W) == 2)
        wv[j] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + j * 8)));
      else
        wv[j] = _mm256_loadu_ps(reinterpret_cast<const float*>(w) + j * 8);
    }
    for (int r = 0; r < M; ++r) {
      const __m256 v = _mm256_broadcast_ss(x + r * ldx + i);
      for (int j = 0; j < kVectors; ++j) acc[r][j] = _mm256_fmadd_ps(v, wv[j], acc[r][j]);
    }
  }
  for (int r = 0; r < M; ++r)
    for (int j = 0; j < kVectors; ++j) _mm256_storeu_ps(y + (r * kVectors + j) * 8, acc[r][j]);
}

using GroupFn = void (*)(const void* w, const float* x, int64_t ldx, int64_t k, float* y);

// The group function for `rows` (1 to kRowBlock512 / kRowBlock256) rows.
template <typename W>
GroupFn GroupFor(bool avx512, int64_t rows) {
  static constexpr GroupFn k512[] = {Group512<W, 1>, Group512<W, 2>, Group512<W, 3>, Group512<W, 4>,
                                     Group512<W, 5>, Group512<W, 6>, Group512<W, 7>, Group512<W, 8>};
  static constexpr GroupFn k256[] = {Group256<W, 1>, Group256<W, 2>, Group256<W, 3>, Group256<W, 4>};
  static_assert(sizeof(k512) / sizeof(k512[0]) == kRowBlock512 && sizeof(k256) / sizeof(k256[0]) == kRowBlock256);
  return (avx512 ? k512 : k256)[rows - 1];
}

// A row's end when the output is float16 storage and the output stage has
// clamps only (HalfOutputStage::ClampsThenRound): the op's own bias added,
// then the column bias after the product's rounding (the separate Add
// step's float32 add, in its operand order), the clamps, and one rounding
// at the store, eight values at a time in registers. The generic stage
// costs a few calls per row: on PP-OCRv4 rec's 40 x 6625 head (4160 rows of
// 64 columns) they took about 0.2 ms of 0.8.
struct FastRowEnd {
  const float* bias = nullptr;         // the op's own bias from the row's first column, or null
  const float* column_bias = nullptr;  // the fused bias add's, or null
  bool column_bias_first = false;
  const std::vector<std::pair<float, float>>* clamps = nullptr;
};

__attribute__((target("avx2,f16c"))) inline __m256 Round8(__m256 v) {
  return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

__attribute__((target("avx2,f16c"))) inline __m256 End8(__m256 v, __m256 b, __m256 cb, const FastRowEnd& e) {
  if (e.bias) v = _mm256_add_ps(v, b);
  if (e.column_bias) v = e.column_bias_first ? _mm256_add_ps(cb, Round8(v)) : _mm256_add_ps(Round8(v), cb);
  for (const auto& [lo, hi] : *e.clamps) v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(lo)), _mm256_set1_ps(hi));
  return v;
}

__attribute__((target("avx2,f16c"))) void StoreRowFast(const float* sums, int64_t count, const FastRowEnd& e,
                                                       uint16_t* out) {
  const __m256 zero = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= count; j += 8) {
    const __m256 v = End8(_mm256_loadu_ps(sums + j), e.bias ? _mm256_loadu_ps(e.bias + j) : zero,
                          e.column_bias ? _mm256_loadu_ps(e.column_bias + j) : zero, e);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j),
                     _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  if (j == count) return;
  // The tail through eight-lane buffers (the biases are padded to whole groups).
  alignas(32) float tail[8] = {};
  alignas(16) uint16_t rounded[8];
  for (int64_t t = j; t < count; ++t) tail[t - j] = sums[t];
  const __m256 v = End8(_mm256_load_ps(tail), e.bias ? _mm256_loadu_ps(e.bias + j) : zero,
                        e.column_bias ? _mm256_loadu_ps(e.column_bias + j) : zero, e);
  _mm_store_si128(reinterpret_cast<__m128i*>(rounded),
                  _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (int64_t t = j; t < count; ++t) out[t] = rounded[t - j];
}

// The packed weights: [group][k][kVectors * lanes], W = uint16_t (float16)
// or float.
template <typename W>
struct PackedWeights {
  std::vector<W> w;
};

// W: uint16_t (float16 storage, float16 weights) or float (all float32).
template <typename W>
class HalfWeightGemm : public Kernel {
 public:
  static constexpr bool kHalf = sizeof(W) == 2;
  HalfWeightGemm(bool avx512, const char* name)
      : avx512_(avx512), lanes_(avx512 ? 16 : 8), row_block_(avx512 ? kRowBlock512 : kRowBlock256), name_(name) {}
  const char* Name() const override { return name_; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }
  // The weights are packed and the biases copied.
  bool ReadsInputAtRun(size_t index) const override {
    return index != 1 && static_cast<int>(index) != s_.bias_input && static_cast<int>(index) != column_bias_input_;
  }

  Status Init(const KernelInit& init, const HalfWeightGemmShape& shape) {
    s_ = shape;
    if (s_.bias_input >= 0 &&
        (static_cast<size_t>(s_.bias_input) >= init.inputs.size() || !init.inputs[static_cast<size_t>(s_.bias_input)]))
      s_.bias_input = -1;
    const int64_t width = kVectors * lanes_;
    groups_ = (s_.n + width - 1) / width;
    const auto* w = static_cast<const float*>(init.inputs[1]->const_data);
    auto pack = [&](std::shared_ptr<const void>* out, int64_t* bytes) {
      auto packed = std::make_shared<PackedWeights<W>>();
      packed->w.assign(static_cast<size_t>(groups_ * s_.k * width), 0);
      for (int64_t o = 0; o < s_.n; ++o)
        for (int64_t i = 0; i < s_.k; ++i) {
          const float v = s_.weights_transposed ? w[o * s_.k + i] : w[i * s_.n + o];
          W& slot = packed->w[static_cast<size_t>((o / width * s_.k + i) * width + o % width)];
          if constexpr (kHalf)
            slot = FloatToHalf(v);
          else
            slot = v;
        }
      *bytes = static_cast<int64_t>(packed->w.size() * sizeof(W));
      *out = packed;
      return Status::OK();
    };
    std::shared_ptr<const void> packed;
    // The packing depends on the lane count and the weights' type only.
    const std::string key = init.weight_key + "/half-weight-gemm-" + std::to_string(lanes_) + (kHalf ? "-f16" : "-f32");
    if (init.weights)
      MIXQ_RETURN_IF_ERROR(init.weights->GetOrCreate(key, pack, &packed));
    else
      MIXQ_RETURN_IF_ERROR(pack(&packed, &private_bytes_));
    weights_ = std::static_pointer_cast<const PackedWeights<W>>(packed);
    bias_.assign(static_cast<size_t>(groups_ * width), 0.0f);
    if (s_.bias_input >= 0)
      std::memcpy(bias_.data(), init.inputs[static_cast<size_t>(s_.bias_input)]->const_data,
                  static_cast<size_t>(s_.n) * sizeof(float));
    if (const PostOp* op = ColumnBiasOp(init, kHalf)) {
      column_bias_input_ = op->input;
      column_bias_first_ = op->add_first;
      column_bias_.assign(static_cast<size_t>(groups_ * width), 0.0f);
      std::memcpy(column_bias_.data(), init.inputs[static_cast<size_t>(op->input)]->const_data,
                  static_cast<size_t>(s_.n) * sizeof(float));
    }
    const std::vector<PostOp> rest = StagePostOps(init, kHalf);
    stage_ =
        std::make_unique<HalfOutputStage>(KernelInit(init.attrs, init.inputs, init.outputs, init.input_compute, &rest));
    fast_end_ = kHalf && stage_->ClampsThenRound(&clamps_);
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int64_t width = kVectors * lanes_;
    const float* x = nullptr;
    if constexpr (kHalf) {
      // In this thread's scratch, shared with the other steps: a buffer of
      // the kernel's own is cold at every call, and the widening's stores
      // then run at memory bandwidth (BERT-base force_float16: 0.38 ms of
      // its six products' widening at 1 thread, Intel Xeon).
      float* wide =
          static_cast<float*>(kernels::ThreadScratch(kWideningSlot, static_cast<size_t>(s_.m * s_.k) * sizeof(float)));
      if (!wide) return ResourceExhausted("MatMul / FullyConnected (float16): no memory for the widened rows");
      kernels::HalfToFloatParallel(in[0].Data<const uint16_t>(), wide, s_.m * s_.k);
      x = wide;
    } else {
      x = in[0].Data<const float>();
    }
    const int threads = std::max(1, omp_get_max_threads());
    if (sums_.size() < static_cast<size_t>(threads)) sums_.resize(static_cast<size_t>(threads));
    // Small products on one thread: a parallel region's wake-up costs more
    // (PP-OCRv4 rec's 40 x 240 x 120 products took 0.045 ms on 2 threads,
    // 0.028 on one). Few rows and many weights are the other way round: the
    // product streams the weights from L3 or memory at one core's bandwidth
    // (MobileNetV2's 1 x 1280 x 1000 head, 5 MB of float32 weights, 1.3 M
    // multiply-adds: 0.17 ms on one thread, Intel Xeon).
    const int64_t weight_bytes = s_.k * s_.n * static_cast<int64_t>(sizeof(W));
    const bool parallel =
        groups_ > 1 && threads > 1 &&
        (s_.m * s_.k * s_.n >= kernels::kMinParallelMacs || weight_bytes >= kernels::kMinParallelWeightBytes);
    // Rows [r_begin, r_end) of one group of columns.
    auto run = [&](int64_t group, int64_t r_begin, int64_t r_end) {
      Scratch& t = sums_[static_cast<size_t>(omp_get_thread_num())];
      t.y.resize(static_cast<size_t>(row_block_ * width));
      const W* w = weights_->w.data() + group * s_.k * width;
      const int64_t n0 = group * width, count = std::min(width, s_.n - n0);
      for (int64_t r0 = r_begin; r0 < r_end; r0 += row_block_) {
        const int64_t rows = std::min(row_block_, r_end - r0);
        GroupFor<W>(avx512_, rows)(w, x + r0 * s_.k, s_.k, s_.k, t.y.data());
        for (int64_t r = 0; r < rows; ++r) {
          float* row = t.y.data() + r * width;
          if (fast_end_) {
            FastRowEnd e;
            e.bias = s_.bias_input >= 0 ? bias_.data() + n0 : nullptr;
            e.column_bias = column_bias_.empty() ? nullptr : column_bias_.data() + n0;
            e.column_bias_first = column_bias_first_;
            e.clamps = &clamps_;
            StoreRowFast(row, count, e, out[0].Data<uint16_t>() + (r0 + r) * s_.n + n0);
            continue;
          }
          stage_->ApplyBiased(row, count, (r0 + r) * s_.n + n0, s_.bias_input >= 0 ? bias_.data() + n0 : nullptr,
                              column_bias_.empty() ? nullptr : column_bias_.data() + n0, column_bias_first_, in,
                              out[0]);
        }
      }
    };
    const int64_t row_blocks = (s_.m + row_block_ - 1) / row_block_;
    if (parallel && row_blocks >= 2 * threads && s_.m >= kRowsPerThreadForRowSplit * threads) {
      // Rows for every thread: each its own contiguous rows (whole row
      // blocks) over every group, the partition the row-wise steps after it
      // (Softmax, LayerNorm, adds) use, so they read them from their own
      // core's caches (int8_weight_gemm.cc does the same). Each thread then
      // streams all the weights: only with enough rows to pay for that
      // (2 threads, AMD Zen 4: the BERT layer's 128-row products 0.93x the
      // time; PP-OCRv4 rec's 40 x 6625 head 0.42 -> 0.53 ms, so it keeps
      // the column split).
#pragma omp parallel for schedule(static)
      for (int64_t t = 0; t < threads; ++t) {
        const int64_t r_begin = row_blocks * t / threads * row_block_;
        const int64_t r_end = std::min(s_.m, row_blocks * (t + 1) / threads * row_block_);
        for (int64_t group = 0; group < groups_ && r_begin < r_end; ++group) run(group, r_begin, r_end);
      }
    } else {
#pragma omp parallel for schedule(static) if (parallel)
      for (int64_t group = 0; group < groups_; ++group) run(group, 0, s_.m);
    }
    return Status::OK();
  }

 private:
  struct Scratch {
    std::vector<float> y;  // a row block's sums for one group
  };

  bool avx512_;
  int64_t lanes_;
  int64_t row_block_;  // rows per pass over a group's weights
  const char* name_;
  HalfWeightGemmShape s_;
  int64_t groups_ = 0;
  std::shared_ptr<const PackedWeights<W>> weights_;  // shared with the engine
  int64_t private_bytes_ = 0;
  std::vector<float> bias_;  // the op's own bias, padded to whole groups (zeros without one)
  int column_bias_input_ = -1;
  bool column_bias_first_ = false;
  std::vector<float> column_bias_;  // the fused bias add's values, padded to whole groups; empty: none
  std::unique_ptr<HalfOutputStage> stage_;
  bool fast_end_ = false;  // float16 output, clamps only after the biases: StoreRowFast
  std::vector<std::pair<float, float>> clamps_;
  std::vector<Scratch> sums_;  // per OpenMP thread
};

}  // namespace

bool HalfWeightGemmComputes(const KernelInit& init, const HalfWeightGemmShape& shape, bool half) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1) return false;
  const ValueInfo &x = *init.inputs[0], &w = *init.inputs[1], &y = init.outputs[0];
  if (x.layout != MemoryLayout::kPlain || y.layout != MemoryLayout::kPlain) return false;
  if (half) {
    if (!IsHalfStorage(x) || !IsHalfStorage(y)) return false;
    if (init.ComputeOf(0) != DataType::FLOAT16 && init.ComputeOf(0) != DataType::FLOAT32) return false;
  } else if (!AllPlainFloat32(init)) {
    return false;
  }
  if (shape.m < 1 || shape.k < 1 || shape.n < 1) return false;
  if (!w.const_data || w.dtype != DataType::FLOAT32 || w.quant || !ir::IsStatic(w.shape) ||
      ir::ElementCount(w.shape) != shape.k * shape.n)
    return false;
  if (!ir::IsStatic(x.shape) || ir::ElementCount(x.shape) != shape.m * shape.k) return false;
  if (!ir::IsStatic(y.shape) || ir::ElementCount(y.shape) != shape.m * shape.n || y.shape.back() != shape.n)
    return false;
  if (shape.bias_input >= 0 && static_cast<size_t>(shape.bias_input) < init.inputs.size() &&
      init.inputs[static_cast<size_t>(shape.bias_input)]) {
    const ValueInfo& b = *init.inputs[static_cast<size_t>(shape.bias_input)];
    if (!b.const_data || b.dtype != DataType::FLOAT32 || b.quant || !ir::IsStatic(b.shape) ||
        ir::ElementCount(b.shape) != shape.n || b.shape.size() > 2 || (b.shape.size() == 2 && b.shape[0] != 1))
      return false;
  }
  const std::vector<PostOp> rest = StagePostOps(init, half);
  if (!HalfOutputStage::Supports(KernelInit(init.attrs, init.inputs, init.outputs, init.input_compute, &rest)))
    return false;
  return !half || HoldsHalfValues(static_cast<const float*>(w.const_data), shape.k * shape.n);
}

Status MakeHalfWeightGemm(const KernelInit& init, const HalfWeightGemmShape& shape, bool half, bool avx512,
                          const char* name, std::unique_ptr<Kernel>* kernel) {
  if (!HalfWeightGemmComputes(init, shape, half)) return Internal(name, ": unsupported step");
  if (half) {
    auto k = std::make_unique<HalfWeightGemm<uint16_t>>(avx512, name);
    MIXQ_RETURN_IF_ERROR(k->Init(init, shape));
    *kernel = std::move(k);
  } else {
    auto k = std::make_unique<HalfWeightGemm<float>>(avx512, name);
    MIXQ_RETURN_IF_ERROR(k->Init(init, shape));
    *kernel = std::move(k);
  }
  return Status::OK();
}

HalfGemmRowStage::HalfGemmRowStage(const KernelInit& init, int64_t n) {
  if (const PostOp* op = ColumnBiasOp(init, /*half=*/true)) {
    column_bias_input_ = op->input;
    column_bias_first_ = op->add_first;
    const auto* b = static_cast<const float*>(init.inputs[static_cast<size_t>(op->input)]->const_data);
    column_bias_.assign(b, b + n);
  }
  const std::vector<PostOp> rest = StagePostOps(init, /*half=*/true);
  stage_ =
      std::make_unique<HalfOutputStage>(KernelInit(init.attrs, init.inputs, init.outputs, init.input_compute, &rest));
}

HalfGemmRowStage::~HalfGemmRowStage() = default;

void HalfGemmRowStage::Apply(float* product, int64_t m, int64_t n, const std::vector<TensorView>& in,
                             const TensorView& out) const {
  const float* column_bias = column_bias_.empty() ? nullptr : column_bias_.data();
#pragma omp parallel for schedule(static) if (m > 1 && m * n > kernels::kMinParallelElements)
  for (int64_t r = 0; r < m; ++r)
    stage_->ApplyBiased(product + r * n, n, r * n, nullptr, column_bias, column_bias_first_, in, out);
}

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON
