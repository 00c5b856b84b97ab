// MatMul of symmetric int16 operands on the split int16 GEMM
// ("avx2-int16-weights", the qint16 modes): activations times constant
// weights (projections, classifier heads such as PP-OCRv4 rec's 40 x 120 x
// 6625) and batched products of two activations (attention: BERT's 12 heads
// of 128 x 64 x 128), exact and bit-exact with reference-quantized.
//
// "avx2-int16" runs these inside the reference's output stage: its staged
// GEMM on one thread and a scalar stage over every output (rec's head 1.6
// ms against oneDNN float32's 0.27 at 2 threads, BERT's attention products
// 1.2 and 2.1 ms against 0.08). Here the rows of a are split in bytes per
// run (a = 256 a_hi + a_lo), b's int16 rows are packed as panels (constant
// weights once, an activation per run and batch),
// kernels::GemmInt16SplitTileAvx2 (its VNNI tile on AVX-512 VNNI) sums
// exactly into int64 per 256-deep chunk, and the output stage runs along
// each row with per-column constants (RequantizeColumns64ToInt16 /
// DequantizeColumns64). Threads take batches, else row blocks where there
// are enough, else column blocks. Steps with post-ops are left to
// "avx2-int16", and so is a transposed activation b.
//
// "amx-int16-weights", where the CPU has AMX-INT8 (constant weights, the
// product at least 33 deep and 32 wide, as for "amx-int16"): both operands
// split in bytes and the four byte products on tiles
// (kernels/int16_gemm_amx.h): a's rows as A tiles packed per run
// (kernels::PackAmxInt16ARows), the weights as B panels once, C = Y's rows
// directly, so the same per-column stage follows; threads then share out
// blocks of 64 columns.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/int16_gemm.h"
#include "kernels/int16_gemm_amx.h"
#include "kernels/parallel.h"
#include "ops/int8_output_stage.h"
#include "ops/kernel_registry.h"
#include "ops/matmul/geometry.h"
#include "ops/quantized_reference.h"
#include "quant/requantize.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

constexpr int64_t kPanel = kernels::kInt16Panel;
constexpr int64_t kRows = kernels::kInt16RowBlock;
constexpr int64_t kBlockPanels = 16;  // 256 columns: a block's weights stay in L2 while every row block uses them
// AMX: 64 columns per block, so that BERT's 768 columns share out evenly
// over the threads (the column blocks are the jobs there).
constexpr int64_t kAmxBlockPanels = 4;

// The product's shape: `batches` output matrices of m x n over depth k; a
// and b batch offsets (elements) per output batch. A constant b is 2-D and
// a's batch dims fold into its rows (one matrix).
struct Int16MatMulShape {
  int64_t m = 0, k = 0, n = 0, batches = 1;
  bool b_constant = true, b_transposed = false;
  std::vector<int64_t> a_offset, b_offset;
};

bool ReadShape(const KernelInit& init, Int16MatMulShape* s) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1]) return false;
  if (!ir::IsStatic(init.inputs[0]->shape) || !ir::IsStatic(init.inputs[1]->shape)) return false;
  std::vector<ValueInfo> logical;
  MatMulGeometry g;
  if (!ComputeMatMulGeometry(init.attrs, RealValuedInfos(init, 2, &logical), &g).ok()) return false;
  if (g.a.transposed || g.a.vector || g.b.vector) return false;
  s->b_constant = init.inputs[1]->const_data != nullptr;
  s->b_transposed = g.b.transposed;
  s->k = g.a.cols;
  s->n = g.b.cols;
  if (s->b_constant) {
    if (init.inputs[1]->shape.size() != 2) return false;
    s->m = ir::ElementCount(g.a.batch) * g.a.rows;
    s->a_offset = s->b_offset = {0};
    return s->m > 0 && s->k > 0 && s->n > 0;
  }
  if (g.b.transposed) return false;
  s->m = g.a.rows;
  s->batches = ir::ElementCount(g.batch);
  const std::vector<int64_t> as = BatchStrides(g.a, g.batch), bs = BatchStrides(g.b, g.batch);
  const std::vector<int64_t> dims = ir::Strides(g.batch);
  for (int64_t i = 0; i < s->batches; ++i) {
    int64_t a_at = 0, b_at = 0, rest = i;
    for (size_t d = 0; d < g.batch.size(); ++d) {
      const int64_t index = rest / dims[d];
      rest %= dims[d];
      a_at += index * as[d];
      b_at += index * bs[d];
    }
    s->a_offset.push_back(a_at);
    s->b_offset.push_back(b_at);
  }
  return s->m > 0 && s->k > 0 && s->n > 0 && s->batches > 0;
}

class MatMulInt16Weights : public Kernel {
 public:
  MatMulInt16Weights(const Int16MatMulShape& s, bool amx) : s_(s), amx_(amx) {
    rows_ = amx ? kernels::kAmxRows : kRows;
    block_panels_ = amx ? kAmxBlockPanels : kBlockPanels;
    row_blocks_ = (s.m + rows_ - 1) / rows_;
    pairs_ = (s.k + 1) / 2;
    quads_ = (s.k + 3) / 4;
    panels_ = (s.n + kPanel - 1) / kPanel;
    column_blocks_ = (panels_ + block_panels_ - 1) / block_panels_;
  }
  const char* Name() const override { return amx_ ? "amx-int16-weights" : "avx2-int16-weights"; }
  int64_t PrivateWeightBytes() const override {
    return static_cast<int64_t>(b_.data.size() * sizeof(int16_t) + b_amx_hi_.size() + b_amx_lo_.size());
  }

  Status Init(const KernelInit& init) {
    out_type_ = init.outputs[0].dtype;
    if (!s_.b_constant) return Status::OK();
    const ValueInfo& w = *init.inputs[1];
    w_scales_ = w.quant->scales;
    const auto* raw = static_cast<const int16_t*>(w.const_data);
    const Int16MatMulShape& s = s_;
    if (amx_) {  // [K, N] rows (the AMX form takes untransposed weights)
      b_amx_hi_.resize(static_cast<size_t>(panels_ * quads_ * 64 + kernels::kAmxPanelSlack));
      b_amx_lo_.resize(b_amx_hi_.size());
      kernels::PackSplitInt16RowsAmx(raw, s.n, s.k, s.n, b_amx_hi_.data(), b_amx_lo_.data());
      return Status::OK();
    }
    kernels::PackInt16B(
        s.k, s.n, [&](int64_t t, int64_t j) { return raw[s.b_transposed ? j * s.k + t : t * s.n + j]; }, &b_);
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const TensorView& y = out[0];
    Constants(in[0], in[1], y);
    const int threads = std::max(1, omp_get_max_threads());
    if (scratch_.size() < static_cast<size_t>(threads)) scratch_.resize(static_cast<size_t>(threads));
    const bool parallel = threads > 1 && s_.batches * s_.m * s_.k * s_.n > kernels::kMinParallelMacs;
    const auto* a = in[0].Data<const int16_t>();
    const auto* b = in[1].Data<const int16_t>();
    if (s_.batches > 1) {  // a batch per job: b packed, a split, the product and the stage
#pragma omp parallel for schedule(static) if (parallel)
      for (int64_t i = 0; i < s_.batches; ++i) {
        Scratch& sc = scratch_[static_cast<size_t>(omp_get_thread_num())];
        const size_t at = static_cast<size_t>(i);
        Prepare(a + s_.a_offset[at], b + s_.b_offset[at], &sc);
        for (int64_t block = 0; block < column_blocks_; ++block) RunColumns(block, 0, row_blocks_, i, sc, y, &sc.acc);
      }
      return Status::OK();
    }
    Prepare(a, b, &shared_, parallel && s_.m * s_.k > kernels::kMinParallelElements);
    // Rows for every thread where there are enough of them (each thread
    // streams the weights), else the column blocks shared out.
    const int64_t row_parts = parallel && !amx_ && row_blocks_ >= 2 * threads ? threads : 1;
    const int64_t jobs = row_parts > 1 ? row_parts : column_blocks_;
#pragma omp parallel for schedule(static) if (parallel && jobs > 1)
    for (int64_t job = 0; job < jobs; ++job) {
      Scratch* sc = &scratch_[static_cast<size_t>(omp_get_thread_num())];
      if (row_parts > 1) {
        for (int64_t block = 0; block < column_blocks_; ++block)
          RunColumns(block, row_blocks_ * job / row_parts, row_blocks_ * (job + 1) / row_parts, 0, shared_, y,
                     &sc->acc);
      } else {
        RunColumns(job, 0, row_blocks_, 0, shared_, y, &sc->acc);
      }
    }
    return Status::OK();
  }

 private:
  struct Scratch {
    kernels::PackedInt16A hi, lo;  // a's rows split in bytes
    kernels::PackedAmxInt16A amx;  // the same as AMX A tiles
    std::vector<int16_t> b;        // an activation b's panels
    std::vector<int64_t> acc;
  };

  // One product's operands into `sc`: a split in bytes, an activation b packed.
  void Prepare(const int16_t* a, const int16_t* b, Scratch* sc, bool parallel_pack = false) const {
    if (amx_) {  // constant weights only (AmxShape)
      kernels::PackAmxInt16ARows(a, s_.k, s_.m, s_.k, parallel_pack, &sc->amx);
      return;
    }
    kernels::PackInt16SplitA(a, s_.k, s_.m, s_.k, &sc->hi, &sc->lo);
    if (s_.b_constant) return;
    sc->b.resize(static_cast<size_t>(panels_ * pairs_ * 2 * kPanel));
    kernels::PackInt16PanelsAvx2(b, s_.n, s_.k, s_.n, sc->b.data());
  }

  // Per-column constants of SPEC §1.5 as reference-quantized computes them
  // (u = s_a * s_b[j]; no bias: the step has none), once per run: the input
  // scales may be dynamic.
  void Constants(const TensorView& a, const TensorView& b, const TensorView& y) {
    const bool int_out = out_type_ == DataType::INT16;
    const double s_in = a.quant->scale, out_scale = int_out ? y.quant->scale : 1.0;
    multiplier_.assign(static_cast<size_t>(panels_ * kPanel), 0.0f);  // 0 past n: the padded tail group
    bias_.assign(static_cast<size_t>(panels_ * kPanel), 0.0f);
    finite_ = true;
    for (int64_t j = 0; j < s_.n; ++j) {
      const double s_b = !s_.b_constant ? b.quant->scale : w_scales_.size() == 1 ? w_scales_[0] : w_scales_[j];
      const double u = 1.0 * s_in * s_b;
      multiplier_[j] = int_out ? quant::RequantMultiplier(u, 1.0, out_scale) : quant::AccumulatorScale(u, 1.0);
      finite_ = finite_ && std::isfinite(multiplier_[j]);
    }
    if (int_out) zero_point_ = y.quant->zero_point;
  }

  // Column block `block` of product `batch` (its operands prepared in
  // `operands`) for the row blocks [first_block, last_block): the exact int64
  // sums into `acc`, then the output stage row by row.
  void RunColumns(int64_t block, int64_t first_block, int64_t last_block, int64_t batch, const Scratch& operands,
                  const TensorView& y, std::vector<int64_t>* acc) const {
    if (first_block >= last_block) return;
    const int64_t first_panel = block * block_panels_, panels = std::min(block_panels_, panels_ - first_panel);
    const int64_t ldc = panels * kPanel, first = first_panel * kPanel, cols = std::min(ldc, s_.n - first);
    acc->resize(static_cast<size_t>((last_block - first_block) * rows_ * ldc));
    if (amx_) {
      const int64_t at = first_panel * quads_ * 64;
      kernels::GemmInt16SplitTileAmx(operands.amx, first_block, last_block, b_amx_hi_.data() + at,
                                     b_amx_lo_.data() + at, panels, acc->data(), ldc);
    } else {
      const int16_t* b = s_.b_constant ? b_.data.data() : operands.b.data();
      kernels::GemmInt16SplitTileAvx2(operands.hi, operands.lo, first_block, last_block,
                                      b + first_panel * pairs_ * 2 * kPanel, panels, acc->data(), ldc);
    }
    const int64_t end_row = std::min(s_.m, last_block * rows_);
    // Whole 8-column groups straight into y; a last partial group through
    // a small buffer (the sums and constants are padded to whole panels), so
    // that narrow products (PP-OCRv4 rec's 15-column attention outputs) do
    // not run the scalar formula for their tails.
    const int64_t whole = cols / 8 * 8, tail = cols - whole;
    for (int64_t m = first_block * rows_; m < end_row; ++m) {
      const int64_t* row = acc->data() + (m - first_block * rows_) * ldc;
      const int64_t at = (batch * s_.m + m) * s_.n + first;
      Stage(row, whole, first, y.data, at);
      if (tail == 0) continue;
      alignas(32) unsigned char part[8 * sizeof(float)];
      Stage(row + whole, 8, first + whole, part, 0);
      const size_t size = DataTypeSize(out_type_);
      std::memcpy(static_cast<unsigned char*>(y.data) + (at + whole) * static_cast<int64_t>(size), part,
                  static_cast<size_t>(tail) * size);
    }
  }

  // The output stage of `n` sums (columns [first, first + n)) into out's
  // elements from `at`.
  void Stage(const int64_t* sums, int64_t n, int64_t first, void* out, int64_t at) const {
    if (out_type_ == DataType::INT16)
      RequantizeColumns64ToInt16(sums, n, bias_.data() + first, multiplier_.data() + first, finite_, zero_point_,
                                 quant::QMin(16), quant::QMax(16), static_cast<int16_t*>(out) + at);
    else
      DequantizeColumns64(sums, n, bias_.data() + first, multiplier_.data() + first, finite_, out_type_, out, at);
  }

  Int16MatMulShape s_;
  bool amx_ = false;  // the AMX form, "amx-int16-weights"
  int64_t rows_ = kRows, block_panels_ = kBlockPanels;
  int64_t row_blocks_ = 0, pairs_ = 0, quads_ = 0, panels_ = 0, column_blocks_ = 0;
  std::vector<float> w_scales_;
  kernels::PackedInt16B b_;                   // constant weights, packed once
  std::vector<uint8_t> b_amx_hi_, b_amx_lo_;  // the same for the AMX form, split in bytes
  DataType out_type_ = DataType::FLOAT32;
  std::vector<float> multiplier_, bias_;
  bool finite_ = true;
  int32_t zero_point_ = 0;
  Scratch shared_;  // one product's operands, read by every thread
  std::vector<Scratch> scratch_;
};

// The AMX form ("amx-int16-weights", registered for Isa::kAmx): constant
// weights stored untransposed, a product at least 33 deep and 32 wide
// (shallower or narrower ones leave most of each tile padding, as for
// amx-int16). Products of two activations stay on the VNNI tile: packing
// both operands as tiles per batch cost more than their small products
// saved (BERT's attention heads 0.21 / 0.20 -> 0.34 / 0.50 ms, 2 threads).
bool AmxShape(const Int16MatMulShape& s) {
  return s.b_constant && s.k >= 33 && s.n >= 32 && !s.b_transposed;
}

bool Supports(const KernelInit& init) {
  Int16MatMulShape s;
  if (init.HasPostOps() || !TakesSymmetricInt16Operands(init) || !ReadShape(init, &s)) return false;
  const DataType out = init.outputs[0].dtype;
  if (out != DataType::INT16 && out != DataType::FLOAT32 && out != DataType::FLOAT16) return false;
  const ir::QuantBinding& wq = *init.inputs[1]->quant;
  if (!s.b_constant) return wq.axis < 0;
  if (wq.axis >= 0) return wq.axis == (s.b_transposed ? 0 : 1) && wq.scales.size() == static_cast<size_t>(s.n);
  return wq.scales.size() == 1;
}

bool SupportsAmx(const KernelInit& init) {
  Int16MatMulShape s;
  return Supports(init) && ReadShape(init, &s) && AmxShape(s);
}

template <bool kAmx>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  Int16MatMulShape s;
  if (!ReadShape(init, &s)) return Internal("MatMul avx2-int16-weights: not a product it takes");
  auto k = std::make_unique<MatMulInt16Weights>(s, kAmx);
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(matmul, avx2_int16_weights) {
  // Above avx2-int16 (10), which runs the rest (post-ops, a transposed activation b).
  mixq::ops::RegisterKernel({"avx2-int16-weights", mixq::OpKind::kMatMul, mixq::kernels::Isa::kAvx2, 12,
                             mixq::ops::Supports, mixq::ops::Make<false>});
  mixq::ops::RegisterKernel({"amx-int16-weights", mixq::OpKind::kMatMul, mixq::kernels::Isa::kAmx, 14,
                             mixq::ops::SupportsAmx, mixq::ops::Make<true>});
}
