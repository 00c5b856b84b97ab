// MatMul of symmetric int16 activations and constant int16 weights (the
// qint16 modes' projections and classifier heads, such as PP-OCRv4 rec's
// 40 x 120 x 6625): "avx2-int16-weights", exact and bit-exact with
// reference-quantized.
//
// "avx2-int16" runs these inside the reference's output stage: its staged
// GEMM on one thread and a scalar stage over every output (rec's head 1.6
// ms against oneDNN float32's 0.27 at 2 threads). Here the activation rows
// are split in bytes per run (a = 256 a_hi + a_lo), the weights are packed
// once as int16 panels, kernels::GemmInt16SplitTileAvx2 (its VNNI tile on
// AVX-512 VNNI) sums exactly into int64 per 256-deep chunk, and the output
// stage runs along each row with per-column constants
// (RequantizeColumns64ToInt16 / DequantizeColumns64). Threads take row
// blocks where there are enough, column blocks otherwise. Steps with post-ops
// or a bias are left to "avx2-int16".
#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/int16_gemm.h"
#include "kernels/parallel.h"
#include "ops/half_weight_gemm.h"
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

// ConstantWeightGemmShape for quantized operands: a row-major, untransposed
// a (batch dims folded into its rows) times a constant 2-D b.
bool WeightsShape(const KernelInit& init, HalfWeightGemmShape* s) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || !init.inputs[1]->const_data) return false;
  if (!ir::IsStatic(init.inputs[0]->shape) || init.inputs[1]->shape.size() != 2) return false;
  std::vector<ValueInfo> logical;
  MatMulGeometry g;
  if (!ComputeMatMulGeometry(init.attrs, RealValuedInfos(init, 2, &logical), &g).ok()) return false;
  if (g.a.transposed || g.a.vector || g.b.vector) return false;
  s->m = ir::ElementCount(g.a.batch) * g.a.rows;
  s->k = g.a.cols;
  s->n = g.b.cols;
  s->weights_transposed = g.b.transposed;
  return s->m > 0 && s->k > 0 && s->n > 0;
}

class MatMulInt16Weights : public Kernel {
 public:
  const char* Name() const override { return "avx2-int16-weights"; }
  int64_t PrivateWeightBytes() const override { return static_cast<int64_t>(b_.data.size() * sizeof(int16_t)); }

  Status Init(const KernelInit& init) {
    if (!WeightsShape(init, &s_)) return Internal("MatMul avx2-int16-weights: not a weights product");
    const ValueInfo& w = *init.inputs[1];
    w_scales_ = w.quant->scales;
    const auto* raw = static_cast<const int16_t*>(w.const_data);
    const HalfWeightGemmShape s = s_;
    kernels::PackInt16B(
        s.k, s.n, [&](int64_t t, int64_t j) { return raw[s.weights_transposed ? j * s.k + t : t * s.n + j]; }, &b_);
    row_blocks_ = (s.m + kRows - 1) / kRows;
    column_blocks_ = (b_.panels + kBlockPanels - 1) / kBlockPanels;
    out_type_ = init.outputs[0].dtype;
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const TensorView& y = out[0];
    Constants(in[0], y);
    kernels::PackInt16SplitA(in[0].Data<const int16_t>(), s_.k, s_.m, s_.k, &a_hi_, &a_lo_);
    const int threads = std::max(1, omp_get_max_threads());
    if (scratch_.size() < static_cast<size_t>(threads)) scratch_.resize(static_cast<size_t>(threads));
    const bool parallel = threads > 1 && s_.m * s_.k * s_.n > kernels::kMinParallelMacs;
    // Rows for every thread where there are enough of them (each thread
    // streams the weights), else the column blocks shared out.
    const int64_t row_parts = parallel && row_blocks_ >= 2 * threads ? threads : 1;
    const int64_t jobs = row_parts > 1 ? row_parts : column_blocks_;
#pragma omp parallel for schedule(static) if (parallel && jobs > 1)
    for (int64_t job = 0; job < jobs; ++job) {
      std::vector<int64_t>* acc = &scratch_[static_cast<size_t>(omp_get_thread_num())];
      if (row_parts > 1) {
        for (int64_t block = 0; block < column_blocks_; ++block)
          RunColumns(block, row_blocks_ * job / row_parts, row_blocks_ * (job + 1) / row_parts, y, acc);
      } else {
        RunColumns(job, 0, row_blocks_, y, acc);
      }
    }
    return Status::OK();
  }

 private:
  // Per-column constants of SPEC §1.5 as reference-quantized computes them
  // (no bias: the step has none), once per run (the input scale may be dynamic).
  void Constants(const TensorView& a, const TensorView& y) {
    const bool int_out = out_type_ == DataType::INT16;
    const double s_in = a.quant->scale, out_scale = int_out ? y.quant->scale : 1.0;
    multiplier_.assign(static_cast<size_t>(s_.n), 0.0f);
    bias_.assign(static_cast<size_t>(s_.n), 0.0f);
    finite_ = true;
    for (int64_t j = 0; j < s_.n; ++j) {
      const double u = 1.0 * s_in * static_cast<double>(w_scales_.size() == 1 ? w_scales_[0] : w_scales_[j]);
      multiplier_[j] = int_out ? quant::RequantMultiplier(u, 1.0, out_scale) : quant::AccumulatorScale(u, 1.0);
      finite_ = finite_ && std::isfinite(multiplier_[j]);
    }
    if (int_out) zero_point_ = y.quant->zero_point;
  }

  // Column block `block` for the row blocks [first_block, last_block): the
  // exact int64 sums, then the output stage row by row.
  void RunColumns(int64_t block, int64_t first_block, int64_t last_block, const TensorView& y,
                  std::vector<int64_t>* acc) const {
    if (first_block >= last_block) return;
    const int64_t first_panel = block * kBlockPanels, panels = std::min(kBlockPanels, b_.panels - first_panel);
    const int64_t ldc = panels * kPanel, first = first_panel * kPanel, cols = std::min(ldc, s_.n - first);
    acc->resize(static_cast<size_t>((last_block - first_block) * kRows * ldc));
    kernels::GemmInt16SplitTileAvx2(a_hi_, a_lo_, first_block, last_block,
                                    b_.data.data() + first_panel * b_.pairs * 2 * kPanel, panels, acc->data(), ldc);
    const int64_t end_row = std::min(s_.m, last_block * kRows);
    for (int64_t m = first_block * kRows; m < end_row; ++m) {
      const int64_t* row = acc->data() + (m - first_block * kRows) * ldc;
      const int64_t at = m * s_.n + first;
      if (out_type_ == DataType::INT16)
        RequantizeColumns64ToInt16(row, cols, bias_.data() + first, multiplier_.data() + first, finite_, zero_point_,
                                   quant::QMin(16), quant::QMax(16), y.Data<int16_t>() + at);
      else
        DequantizeColumns64(row, cols, bias_.data() + first, multiplier_.data() + first, finite_, out_type_, y.data,
                            at);
    }
  }

  HalfWeightGemmShape s_;
  std::vector<float> w_scales_;
  kernels::PackedInt16B b_;
  int64_t row_blocks_ = 0, column_blocks_ = 0;
  DataType out_type_ = DataType::FLOAT32;
  kernels::PackedInt16A a_hi_, a_lo_;
  std::vector<float> multiplier_, bias_;
  bool finite_ = true;
  int32_t zero_point_ = 0;
  std::vector<std::vector<int64_t>> scratch_;
};

bool Supports(const KernelInit& init) {
  HalfWeightGemmShape s;
  if (init.HasPostOps() || !TakesSymmetricInt16Operands(init) || !WeightsShape(init, &s)) return false;
  const DataType out = init.outputs[0].dtype;
  if (out != DataType::INT16 && out != DataType::FLOAT32 && out != DataType::FLOAT16) return false;
  const ir::QuantBinding& wq = *init.inputs[1]->quant;
  if (wq.axis >= 0) return wq.axis == (s.weights_transposed ? 0 : 1) && wq.scales.size() == static_cast<size_t>(s.n);
  return wq.scales.size() == 1;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<MatMulInt16Weights>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(matmul, avx2_int16_weights) {
  // Above avx2-int16 (10), which runs the rest (post-ops, activation b).
  mixq::ops::RegisterKernel({"avx2-int16-weights", mixq::OpKind::kMatMul, mixq::kernels::Isa::kAvx2, 12,
                             mixq::ops::Supports, mixq::ops::Make});
}
