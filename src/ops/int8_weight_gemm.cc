#include "ops/int8_weight_gemm.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "kernels/int16_gemm.h"
#include "kernels/parallel.h"
#include "kernels/transpose8x8.h"
#include "kernels/u8s8_gemm.h"
#include "kernels/u8s8_gemm_amx.h"
#include "ops/int8_output_stage.h"
#include "ops/quantized_reference.h"
#include "quant/requantize.h"
#include "util/half.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

constexpr int64_t kPanel = kernels::kInt16Panel;
constexpr int64_t kRows = kernels::kInt16RowBlock;
constexpr int64_t kBlockPanels = 16;  // 256 columns: the weights' K chunk of a block stays in L2
static_assert(kernels::kU8S8Panel == kPanel && kernels::kU8S8RowBlock == kRows);
// The split form's jobs: 32 weight row blocks, 192 output features (a
// multiple of 6 and of 8); its rows are sorted within each job's range.
constexpr int64_t kSplitJobBlocks = 32;
constexpr int64_t kSplitJobRows = kSplitJobBlocks * kRows;

// The centered weights transposed, [n][k] in int16 (int8 values minus the zero point).
std::vector<int16_t> CenteredWeightsByColumn(const ValueInfo& w, const WeightGemmShape& sh) {
  const ir::QuantBinding& wq = *w.quant;
  const auto* raw = static_cast<const int8_t*>(w.const_data);
  std::vector<int16_t> bt(static_cast<size_t>(sh.n * sh.k));
  for (int64_t j = 0; j < sh.n; ++j) {
    const int32_t zp = wq.zero_points.empty() ? 0 : wq.zero_points[wq.axis >= 0 ? static_cast<size_t>(j) : 0];
    for (int64_t t = 0; t < sh.k; ++t) {
      const int64_t at = sh.weight_index ? sh.weight_index(t, j) : sh.weights_transposed ? j * sh.k + t : t * sh.n + j;
      bt[static_cast<size_t>(j * sh.k + t)] = static_cast<int16_t>(raw[at] - zp);
    }
  }
  return bt;
}

class Int8WeightGemm : public Kernel {
 public:
  const char* Name() const override { return s_.name; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Init(const KernelInit& init, const WeightGemmShape& shape, int bias_input) {
    s_ = shape;
    pairs_ = (s_.k + 1) / 2;
    panels_ = (s_.n + kPanel - 1) / kPanel;
    column_blocks_ = (panels_ + kBlockPanels - 1) / kBlockPanels;
    row_blocks_ = (s_.m + kRows - 1) / kRows;
    const ValueInfo& w = *init.inputs[1];
    const ir::QuantBinding& wq = *w.quant;
    w_scales_ = wq.scales;
    if (s_.u8s8) {
      auto pack8 = [&](std::shared_ptr<const void>* out, int64_t* bytes) {
        auto packed = std::make_shared<kernels::PackedS8B>();
        kernels::PackS8B(CenteredWeightsByColumn(w, s_).data(), s_.n, s_.k, packed.get());
        *bytes = static_cast<int64_t>(packed->data.size() + packed->col_sums.size() * sizeof(int32_t));
        *out = packed;
        return Status::OK();
      };
      std::shared_ptr<const void> packed;
      if (init.weights)
        MIXQ_RETURN_IF_ERROR(init.weights->GetOrCreate(init.weight_key + (s_.amx    ? "/amx-int8-weights"
                                                                          : s_.vnni ? "/avx512vnni-int8-weights"
                                                                                    : "/avx2-int8-u8s8-weights"),
                                                       pack8, &packed));
      else
        MIXQ_RETURN_IF_ERROR(pack8(&packed, &private_bytes_));
      weights8_ = std::static_pointer_cast<const kernels::PackedS8B>(packed);
    }
    if (s_.u8s8_split) {
      auto pack_split = [&](std::shared_ptr<const void>* out, int64_t* bytes) {
        auto packed = std::make_shared<SplitWeights>();
        kernels::PackS8ASortedRows(CenteredWeightsByColumn(w, s_).data(), s_.n, s_.k, s_.k, &packed->a,
                                   &packed->features, kSplitJobRows);
        *bytes = static_cast<int64_t>((packed->a.data.size() + packed->a.row_sums.size()) * sizeof(int32_t) +
                                      packed->a.rest.size() * sizeof(kernels::S8RestEntry) +
                                      packed->features.size() * sizeof(int64_t));
        *out = packed;
        return Status::OK();
      };
      std::shared_ptr<const void> packed;
      if (init.weights)
        MIXQ_RETURN_IF_ERROR(
            init.weights->GetOrCreate(init.weight_key + "/avx2-int8-u8s8-split-weights", pack_split, &packed));
      else
        MIXQ_RETURN_IF_ERROR(pack_split(&packed, &private_bytes_));
      weights_split_ = std::static_pointer_cast<const SplitWeights>(packed);
    }
    auto pack = [&](std::shared_ptr<const void>* out, int64_t* bytes) {
      auto packed = std::make_shared<kernels::PackedInt16B>();
      const auto* raw = static_cast<const int8_t*>(w.const_data);
      const WeightGemmShape sh = s_;
      kernels::PackInt16B(
          sh.k, sh.n,
          [&](int64_t t, int64_t j) {
            const int32_t zp = wq.zero_points.empty() ? 0 : wq.zero_points[wq.axis >= 0 ? static_cast<size_t>(j) : 0];
            const int64_t at = sh.weight_index         ? sh.weight_index(t, j)
                               : sh.weights_transposed ? j * sh.k + t
                                                       : t * sh.n + j;
            return static_cast<int16_t>(raw[at] - zp);
          },
          packed.get());
      *bytes = static_cast<int64_t>(packed->data.size() * sizeof(int16_t));
      *out = packed;
      return Status::OK();
    };
    if (!s_.u8s8 && !s_.u8s8_split) {
      std::shared_ptr<const void> packed;
      if (init.weights)
        MIXQ_RETURN_IF_ERROR(init.weights->GetOrCreate(init.weight_key + "/avx2-int8-weights", pack, &packed));
      else
        MIXQ_RETURN_IF_ERROR(pack(&packed, &private_bytes_));
      weights_ = std::static_pointer_cast<const kernels::PackedInt16B>(packed);
    }

    bias_input_ = bias_input >= 0 && static_cast<size_t>(bias_input) < init.inputs.size() &&
                          init.inputs[static_cast<size_t>(bias_input)]
                      ? bias_input
                      : -1;
    if (bias_input_ >= 0) {
      int_bias_ = init.ComputeOf(static_cast<size_t>(bias_input_)) == DataType::INT32;
      round_bias_half_ = init.ComputeOf(static_cast<size_t>(bias_input_)) == DataType::FLOAT16;
      bias_type_ = init.inputs[static_cast<size_t>(bias_input_)]->dtype;
    }
    int_out_ = init.outputs[0].dtype == DataType::INT8;
    out_type_ = init.outputs[0].dtype;
    // A leading column addend: added to each value right after its
    // dequantization, before the other post-ops (Int8WeightGemmSupports).
    std::vector<PostOp> rest;
    column_add_input_ = SplitLeadingColumnAddend(init, &rest);
    const std::vector<PostOp>* post_ops = column_add_input_ >= 0 ? &rest : init.post_ops;
    if (post_ops) {
      post_ops_ = DecodePostOps(*post_ops);
      for (const PostOp& op : *post_ops) {
        if (op.kind == PostOp::Kind::kAdd)
          addend_inputs_.push_back(op.input);
        else
          activations_.push_back(op);
      }
    }
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const TensorView& y = out[0];
    Constants(in, y);
    column_add_ = column_add_input_ >= 0 ? in[static_cast<size_t>(column_add_input_)].Data<const float>() : nullptr;
    if (s_.u8s8_split) return RunSplit(in, y);
    if (s_.amx) {
      kernels::PackAmxU8A(in[0].Data<const int8_t>(), s_.m, s_.k, s_.k, &rows_amx_);
      a_zero_point_ = in[0].quant->zero_point + 128;
    } else if (s_.u8s8) {
      kernels::PackU8A(in[0].Data<const int8_t>(), s_.m, s_.k, s_.k, &rows8_);
      a_zero_point_ = in[0].quant->zero_point + 128;
    } else if (s_.pack_rows) {
      rows_.m = s_.m;
      rows_.pairs = pairs_;
      rows_.blocks = row_blocks_;
      rows_.data.resize(static_cast<size_t>(row_blocks_ * pairs_ * kRows));
      const bool parallel_rows = row_blocks_ > 1 && s_.m * s_.k > kernels::kMinParallelElements;
#pragma omp parallel for schedule(static) if (parallel_rows)
      for (int64_t block = 0; block < row_blocks_; ++block)
        s_.pack_rows(in[0], block, rows_.data.data() + block * pairs_ * kRows);
    } else {
      PackRows(in[0].Data<const int8_t>(), in[0].quant->zero_point);
    }
    std::vector<FloatAddend> addends;
    for (int input : addend_inputs_)
      addends.push_back({in[static_cast<size_t>(input)].dtype, in[static_cast<size_t>(input)].data});
    const int threads = std::max(1, omp_get_max_threads());
    if (scratch_.size() < static_cast<size_t>(threads)) scratch_.resize(static_cast<size_t>(threads));
    // Few rows over large weights (a batch-1 classifier head: 2 MB of int8
    // weights for 2M MACs) stream the weights from L3 or memory: split
    // them over the threads too. MobileNetV2's 1280 -> 1000 at 2 threads:
    // 0.104 -> 0.029 ms (AMD Zen 4); ResNet-50's 2048 -> 1000 stays at
    // 0.11, its weights read from memory.
    const bool parallel =
        s_.m * s_.k * s_.n > kernels::kMinParallelMacs || s_.k * s_.n >= kernels::kMinParallelWeightBytes;
    // Rows for every thread (several row blocks each): each thread its own
    // contiguous rows across every column block, statically, the partition
    // the row-wise steps after it (Softmax, LayerNorm, elementwise) use, so
    // they read the rows from their own core's caches (PP-OCRv4 rec's 40 x
    // 6625 head ran slower at 2 threads than at 1 with its columns split).
    if (parallel && !s_.amx && threads > 1 && row_blocks_ >= 2 * threads) {
#pragma omp parallel for schedule(static)
      for (int64_t t = 0; t < threads; ++t) {
        const int64_t first = row_blocks_ * t / threads, last = row_blocks_ * (t + 1) / threads;
        for (int64_t block = 0; block < column_blocks_ && first < last; ++block)
          RunColumns(block * kBlockPanels, std::min(kBlockPanels, panels_ - block * kBlockPanels), first, last, addends,
                     y, &scratch_[static_cast<size_t>(omp_get_thread_num())]);
      }
      return Status::OK();
    }
    const int64_t splits = parallel ? BlockSplits(threads) : 1;
    const int64_t row_splits = s_.amx ? 1 : splits, column_splits = s_.amx ? splits : 1;
    const int64_t jobs = column_blocks_ * row_splits * column_splits;
#pragma omp parallel for schedule(dynamic, 1) if (parallel && jobs > 1)
    for (int64_t job = 0; job < jobs; ++job) {
      const int64_t split = job % row_splits, part = job / row_splits % column_splits;
      const int64_t block = job / row_splits / column_splits;
      const int64_t first = row_blocks_ * split / row_splits, last = row_blocks_ * (split + 1) / row_splits;
      const int64_t block_panels = std::min(kBlockPanels, panels_ - block * kBlockPanels);
      const int64_t first_panel = block * kBlockPanels + block_panels * part / column_splits;
      const int64_t panels = block * kBlockPanels + block_panels * (part + 1) / column_splits - first_panel;
      if (first < last && panels > 0)
        RunColumns(first_panel, panels, first, last, addends, y, &scratch_[static_cast<size_t>(omp_get_thread_num())]);
    }
    return Status::OK();
  }

  // How many ranges each column block is split into: one where the blocks
  // share out evenly among the threads (or are many), else one per thread:
  // ranges of rows, or on AMX (which packs its rows as one range) ranges of
  // the block's panels. BERT's 3072 -> 768 layer has 3 column blocks: at 2
  // threads one thread ran two of them while the other ran one (rows: 1.80
  // -> 1.23 ms from 1 to 2 threads, AMD Zen 4, against 1.70 -> 0.92 for 768
  // -> 3072's 12; AMX panels: the QDQ layer's 0.318 -> 0.251 ms, Intel Xeon).
  int64_t BlockSplits(int threads) const {
    if (threads <= 1 || column_blocks_ % threads == 0 || column_blocks_ >= 8 * threads) return 1;
    return s_.amx ? threads : std::min<int64_t>(threads, row_blocks_);
  }

 private:
  // Per-column constants of SPEC §1.5, as reference-quantized computes them
  // (the input scale may be dynamic, the bias an input: once per run).
  void Constants(const std::vector<TensorView>& in, const TensorView& y) {
    const double s_in = in[0].quant->scale;
    const double out_scale = int_out_ ? y.quant->scale : 1.0;
    multiplier_.assign(static_cast<size_t>(s_.n), 0.0f);
    bias_.assign(static_cast<size_t>(s_.n), 0.0f);
    int_bias_values_.assign(int_bias_ ? static_cast<size_t>(s_.n) : 0, 0);
    finite_ = true;
    const void* bias = bias_input_ >= 0 ? in[static_cast<size_t>(bias_input_)].data : nullptr;
    for (int64_t j = 0; j < s_.n; ++j) {
      const double u = 1.0 * s_in * static_cast<double>(w_scales_.size() == 1 ? w_scales_[0] : w_scales_[j]);
      multiplier_[j] = int_out_ ? quant::RequantMultiplier(u, 1.0, out_scale) : quant::AccumulatorScale(u, 1.0);
      if (bias && int_bias_) {
        int_bias_values_[j] = static_cast<const int32_t*>(bias)[j];
      } else if (bias) {
        float b = LoadReal(bias_type_, bias, j);
        if (round_bias_half_) b = RoundToHalf(b);
        bias_[j] = quant::BiasInAccumulatorUnits(b, u, 1.0);
      }
      finite_ = finite_ && std::isfinite(bias_[j]) && std::isfinite(multiplier_[j]);
    }
    if (int_out_) {
      zero_point_ = y.quant->zero_point;
      lo_ = quant::QMin(8);
      hi_ = quant::QMax(8);
      for (const PostOp& op : activations_) {
        int32_t lo, hi;
        if (IntegerActivationBounds(op, y.quant->scale, y.quant->zero_point, 8, &lo, &hi)) {
          lo_ = std::max(lo_, lo);
          hi_ = std::min(hi_, hi);
        }
      }
    }
  }

  // A's rows as 6-row blocks of centered int16 pairs (the GEMM's packed A).
  void PackRows(const int8_t* a, int32_t zp) {
    rows_.m = s_.m;
    rows_.pairs = pairs_;
    rows_.blocks = row_blocks_;
    rows_.data.resize(static_cast<size_t>(row_blocks_ * pairs_ * kRows));
    for (int64_t block = 0; block < row_blocks_; ++block)
      for (int64_t r = 0; r < kRows; ++r) {
        const int64_t row = block * kRows + r;
        int32_t* dst = rows_.data.data() + block * pairs_ * kRows + r;
        if (row >= s_.m) {
          for (int64_t p = 0; p < pairs_; ++p) dst[p * kRows] = 0;
          continue;
        }
        const int8_t* src = a + row * s_.k;
        for (int64_t p = 0; p < pairs_; ++p) {
          const auto lo = static_cast<uint16_t>(static_cast<int16_t>(src[2 * p] - zp));
          const auto hi = static_cast<uint16_t>(2 * p + 1 < s_.k ? static_cast<int16_t>(src[2 * p + 1] - zp) : 0);
          dst[p * kRows] = static_cast<int32_t>(static_cast<uint32_t>(lo) | static_cast<uint32_t>(hi) << 16);
        }
      }
  }

  // The columns of weight panels [first_panel, first_panel + panels) (at
  // most a block's): the row blocks [first_block, last_block) (all of them
  // on AMX) against those weights, then the output stage row by row.
  void RunColumns(int64_t first_panel, int64_t panels, int64_t first_block, int64_t last_block,
                  const std::vector<FloatAddend>& addends, const TensorView& y, std::vector<int32_t>* acc) {
    const int64_t ldc = panels * kPanel, first = first_panel * kPanel;
    const int64_t cols = std::min(ldc, s_.n - first);
    acc->resize(static_cast<size_t>(std::max(row_blocks_ * kRows, rows_amx_.blocks * kernels::kAmxRows) * ldc));
    if (s_.amx)
      kernels::GemmU8S8WeightsTileAmx(rows_amx_, *weights8_, first_panel, panels, a_zero_point_, acc->data(), ldc);
    else if (s_.u8s8)
      (s_.vnni ? kernels::GemmU8S8WeightsTileVnni : kernels::GemmU8S8WeightsTileAvx2)(
          rows8_, first_block, last_block, *weights8_, first_panel, panels, a_zero_point_, acc->data(), ldc);
    else
      kernels::GemmInt16TileAvx2(rows_, first_block, last_block,
                                 weights_->data.data() + first_panel * pairs_ * 2 * kPanel, panels, acc->data(), ldc);
    const int64_t first_row = s_.amx ? 0 : first_block * kRows;
    const int64_t end_row = s_.amx ? s_.m : std::min(s_.m, last_block * kRows);
    StageRows(acc->data(), ldc, first_row, end_row, first, cols, addends, y);
  }

  // The output stage for the rows [first_row, end_row) of A over the columns
  // [first, first + cols): row m's int32 sums at sums + (m - first_row) * stride.
  void StageRows(const int32_t* sums, int64_t stride, int64_t first_row, int64_t end_row, int64_t first, int64_t cols,
                 const std::vector<FloatAddend>& addends, const TensorView& y) const {
    const int32_t* ib = int_bias_ ? int_bias_values_.data() + first : nullptr;
    for (int64_t m = first_row; m < end_row; ++m) {
      const int32_t* row = sums + (m - first_row) * stride;
      const int64_t at = m * s_.n + first;
      if (int_out_)
        RequantizeColumnsToInt8(row, cols, ib, bias_.data() + first, multiplier_.data() + first, finite_, zero_point_,
                                lo_, hi_, y.Data<int8_t>() + at);
      else
        DequantizeColumns(row, cols, ib, bias_.data() + first, multiplier_.data() + first, finite_, post_ops_, addends,
                          at, out_type_, y.data, at, column_add_ ? column_add_ + first : nullptr);
    }
  }

  // The split form: the activation rows packed once as B's columns, then
  // jobs of kSplitJobBlocks weight row blocks (output features) against all
  // of them; each job's int32 tile [feature][row] is transposed 8 x 8 into
  // rows of features for the column output stage.
  Status RunSplit(const std::vector<TensorView>& in, const TensorView& y) {
    const int64_t token_panels = (s_.m + kPanel - 1) / kPanel, quads = (s_.k + 3) / 4;
    tokens8_.resize(static_cast<size_t>(token_panels * quads * 4 * kPanel));
    kernels::PackS8RowsAsU8ColumnPanelsAvx2(in[0].Data<const int8_t>(), s_.k, s_.m, s_.k, tokens8_.data());
    a_zero_point_ = in[0].quant->zero_point + 128;
    std::vector<FloatAddend> addends;
    for (int input : addend_inputs_)
      addends.push_back({in[static_cast<size_t>(input)].dtype, in[static_cast<size_t>(input)].data});
    const int64_t weight_blocks = weights_split_->a.blocks;
    const int64_t jobs = (weight_blocks + kSplitJobBlocks - 1) / kSplitJobBlocks;
    const int threads = std::max(1, omp_get_max_threads());
    if (scratch_.size() < static_cast<size_t>(2 * threads)) scratch_.resize(static_cast<size_t>(2 * threads));
    const bool parallel = jobs > 1 && s_.m * s_.k * s_.n > kernels::kMinParallelMacs;
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
    for (int64_t job = 0; job < jobs; ++job) {
      const auto t = static_cast<size_t>(2 * omp_get_thread_num());
      RunSplitJob(job, token_panels, addends, y, &scratch_[t], &scratch_[t + 1]);
    }
    return Status::OK();
  }

  __attribute__((target("avx2"))) void RunSplitJob(int64_t job, int64_t token_panels,
                                                   const std::vector<FloatAddend>& addends, const TensorView& y,
                                                   std::vector<int32_t>* tile, std::vector<int32_t>* rows) {
    const int64_t first_block = job * kSplitJobBlocks;
    const int64_t last_block = std::min(weights_split_->a.blocks, first_block + kSplitJobBlocks);
    const int64_t first = first_block * kRows, cols = std::min(s_.n, last_block * kRows) - first;
    const int64_t ldc = token_panels * kPanel;                                  // tokens, a multiple of 16
    const int64_t features = ((last_block - first_block) * kRows + 7) / 8 * 8;  // the tile's rows, to 8
    tile->resize(static_cast<size_t>(features * ldc));
    rows->resize(static_cast<size_t>(ldc * features));
    kernels::GemmU8S8TileAvx2(weights_split_->a, first_block, last_block, tokens8_.data(), token_panels, a_zero_point_,
                              tile->data(), ldc);
    // tile[packed feature][token] -> rows[token][feature], each packed row
    // to its feature (the rows were sorted within this job's range); rows
    // past the blocks' are whatever the buffer held, never stored.
    const int64_t* feature_of = weights_split_->features.data() + first;
    alignas(32) int32_t lanes[8];
    for (int64_t f = 0; f < features; f += 8)
      for (int64_t t = 0; t < ldc; t += 8) {
        __m256 r[8];
        for (int i = 0; i < 8; ++i)
          r[i] = _mm256_loadu_ps(reinterpret_cast<const float*>(tile->data() + (f + i) * ldc + t));
        kernels::Transpose8x8(r);
        const int64_t count = std::min<int64_t>(8, cols - f);
        for (int i = 0; i < 8; ++i) {
          _mm256_store_ps(reinterpret_cast<float*>(lanes), r[i]);
          int32_t* row = rows->data() + (t + i) * features;
          for (int64_t j = 0; j < count; ++j) row[feature_of[f + j] - first] = lanes[j];
        }
      }
    StageRows(rows->data(), features, 0, s_.m, first, cols, addends, y);
  }

  WeightGemmShape s_;
  int64_t pairs_ = 0, panels_ = 0, column_blocks_ = 0, row_blocks_ = 0;
  // The u8s8_split form's weights: packed with rows sorted within each job's
  // range, and the output feature of each packed row.
  struct SplitWeights {
    kernels::PackedS8A a;
    std::vector<int64_t> features;
  };
  std::shared_ptr<const SplitWeights> weights_split_;
  std::vector<uint8_t> tokens8_;  // its activation rows as B's columns
  std::shared_ptr<const kernels::PackedInt16B> weights_;
  std::shared_ptr<const kernels::PackedS8B> weights8_;  // the u8s8 form's
  kernels::PackedS8A rows8_;
  kernels::PackedAmxA rows_amx_;  // the amx form's activation tiles
  int32_t a_zero_point_ = 128;    // A's zero point as u8
  int64_t private_bytes_ = 0;
  std::vector<float> w_scales_;
  int bias_input_ = -1;
  int column_add_input_ = -1;          // a leading column addend's input, or -1
  const float* column_add_ = nullptr;  // its values, this run's
  bool int_bias_ = false, round_bias_half_ = false, int_out_ = false, finite_ = true;
  DataType bias_type_ = DataType::FLOAT32, out_type_ = DataType::FLOAT32;
  std::vector<StagePostOp> post_ops_;
  std::vector<PostOp> activations_;
  std::vector<int> addend_inputs_;
  std::vector<float> multiplier_, bias_;
  std::vector<int32_t> int_bias_values_;
  int32_t zero_point_ = 0, lo_ = -128, hi_ = 127;
  kernels::PackedInt16A rows_;
  std::vector<std::vector<int32_t>> scratch_;
};

}  // namespace

bool Int8WeightGemmSupports(const KernelInit& step, const WeightGemmShape& shape, int bias_input) {
  // A leading column addend (a Linear layer's bias, fuse_bias_add.cc) is
  // added in the stage (DequantizeColumns' column_add) into a FLOAT32
  // output; the rest of the step is checked without it.
  std::vector<PostOp> rest;
  const bool column = SplitLeadingColumnAddend(step, &rest) >= 0;
  if (column && step.outputs[0].dtype != DataType::FLOAT32) return false;
  const KernelInit init(step.attrs, step.inputs, step.outputs, step.input_compute, column ? &rest : step.post_ops,
                        step.weights, step.weight_key);
  if (!TakesInt8Operands(init) || !init.inputs[1]->const_data || shape.m <= 0 || shape.k <= 0 || shape.n <= 0)
    return false;
  const ir::QuantBinding& wq = *init.inputs[1]->quant;
  if (wq.axis >= 0 &&
      (wq.scales.size() != static_cast<size_t>(shape.n) || wq.zero_points.size() != static_cast<size_t>(shape.n)))
    return false;
  if (wq.axis < 0 && wq.scales.size() != 1) return false;
  const ValueInfo& out = init.outputs[0];
  if (out.dtype != DataType::INT8 && out.dtype != DataType::FLOAT32 && out.dtype != DataType::FLOAT16) return false;
  if (bias_input >= 0 && static_cast<size_t>(bias_input) < init.inputs.size() &&
      init.inputs[static_cast<size_t>(bias_input)]) {
    const ValueInfo& b = *init.inputs[static_cast<size_t>(bias_input)];
    if (ir::ElementCount(b.shape) != shape.n || (b.shape.size() == 2 && b.shape[0] != 1) || b.shape.size() > 2)
      return false;  // one bias per output feature only
    if (init.ComputeOf(static_cast<size_t>(bias_input)) != DataType::INT32 && b.dtype != DataType::FLOAT32 &&
        b.dtype != DataType::FLOAT16 && b.dtype != DataType::BFLOAT16)
      return false;
  }
  if (ChainPostOpsIn(init.post_ops)) return false;
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops)
      if (op.kind == PostOp::Kind::kAdd) {
        const ValueInfo* a = op.input >= 0 && static_cast<size_t>(op.input) < init.inputs.size()
                                 ? init.inputs[static_cast<size_t>(op.input)]
                                 : nullptr;
        if (!a || (a->dtype != DataType::FLOAT32 && a->dtype != DataType::FLOAT16) || a->shape != out.shape)
          return false;
      }
  const int64_t int_bias = MaxAbsIntBias(init, bias_input);
  return int_bias >= 0 && shape.k * 255 * 255 + int_bias < (int64_t{1} << 31);
}

bool Int8WeightGemmFitsU8S8(const KernelInit& init, const WeightGemmShape& shape) {
  if (shape.pack_rows || !init.inputs[1] || !init.inputs[1]->const_data || !init.inputs[1]->quant) return false;
  return kernels::FitsU8S8(CenteredWeightsByColumn(*init.inputs[1], shape).data(), shape.n, shape.k, shape.k);
}

bool Int8WeightGemmSplitsU8S8(const KernelInit& init, const WeightGemmShape& shape) {
  if (shape.pack_rows || !init.inputs[1] || !init.inputs[1]->const_data || !init.inputs[1]->quant) return false;
  // The activation rows fill panels of 16 columns: under 8 of them most of
  // the product is padding, where the int16 form pads to 6 (MobileNetV2's
  // classifier, one row: 0.42 ms there against 0.57 split).
  if (shape.m < 8) return false;
  const std::vector<int16_t> a = CenteredWeightsByColumn(*init.inputs[1], shape);
  if (kernels::U8S8SplitShare(a.data(), shape.n, shape.k, shape.k) > 1.0) return false;  // outside [-128, 128]
  kernels::PackedS8A packed;
  std::vector<int64_t> features;
  kernels::PackS8ASortedRows(a.data(), shape.n, shape.k, shape.k, &packed, &features, kSplitJobRows);
  return kernels::U8S8RestStepShare(packed) <= kernels::kU8S8MaxRestSteps;
}

bool Int8WeightGemmFitsS8(const KernelInit& init, const WeightGemmShape& shape) {
  if (shape.pack_rows || !init.inputs[1] || !init.inputs[1]->const_data || !init.inputs[1]->quant) return false;
  return kernels::FitsS8(CenteredWeightsByColumn(*init.inputs[1], shape).data(), shape.n, shape.k, shape.k);
}

bool SupportsInt8WeightGemmVnni(const KernelInit& init, WeightGemmShapeOf shape_of, int bias_input) {
  WeightGemmShape shape;
  return shape_of(init, &shape) && Int8WeightGemmSupports(init, shape, bias_input) && Int8WeightGemmFitsS8(init, shape);
}

namespace {

// The s8-weight form on VNNI (amx false) or AMX tiles, named as registered.
Status MakeS8WeightForm(const KernelInit& init, WeightGemmShapeOf shape_of, int bias_input, bool amx,
                        std::unique_ptr<Kernel>* kernel) {
  WeightGemmShape shape;
  shape.name = amx ? "amx-int8" : "avx512vnni-int8";
  if (!shape_of(init, &shape)) return Internal(shape.name, ": unexpected shapes");
  shape.u8s8 = true;
  shape.vnni = !amx;
  shape.amx = amx;
  return MakeInt8WeightGemm(init, shape, bias_input, kernel);
}

}  // namespace

Status MakeInt8WeightGemmVnni(const KernelInit& init, WeightGemmShapeOf shape_of, int bias_input,
                              std::unique_ptr<Kernel>* kernel) {
  return MakeS8WeightForm(init, shape_of, bias_input, /*amx=*/false, kernel);
}

Status MakeInt8WeightGemmAmx(const KernelInit& init, WeightGemmShapeOf shape_of, int bias_input,
                             std::unique_ptr<Kernel>* kernel) {
  return MakeS8WeightForm(init, shape_of, bias_input, /*amx=*/true, kernel);
}

Status MakeInt8WeightGemm(const KernelInit& init, const WeightGemmShape& shape, int bias_input,
                          std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<Int8WeightGemm>();
  MIXQ_RETURN_IF_ERROR(k->Init(init, shape, bias_input));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace mixq::ops
