// AVX2 int8 MatMul of two activations (attention: Q.K^T, P.V), fused end to
// end ("avx2-int8-act"): int8 in, INT8 / FLOAT32 / FLOAT16 out, with no
// int32 staging copies of the operands and no int64 accumulators (what
// avx2-int8-staged runs through). Per batch matrix a thread centers and
// packs A's rows in 6-row blocks and B in 16-column panels of int16 pairs,
// multiplies them with the exact int16 GEMM tile (kernels/int16_gemm.h:
// vpmaddwd, DESIGN rule 9's exact path) and runs the output stage of SPEC
// §1.5 (ops/int8_output_stage.h) on each row, with the per-tensor constants
// the reference computes (u = s_a * s_b in double). Exact int32 sums (K * 255
// * 255 < 2^31), so bit-exact with reference-quantized.
#include <omp.h>

#include <algorithm>

#include "kernels/int16_gemm.h"
#include "kernels/parallel.h"
#include "ops/int8_output_stage.h"
#include "ops/kernel_registry.h"
#include "ops/matmul/geometry.h"
#include "ops/op_util.h"
#include "ops/quantized_reference.h"
#include "quant/requantize.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

constexpr int64_t kPanel = kernels::kInt16Panel;
constexpr int64_t kRows = kernels::kInt16RowBlock;

class MatMulInt8Activations : public Kernel {
 public:
  const char* Name() const override { return "avx2-int8-act"; }

  Status Init(const KernelInit& init) {
    std::vector<ValueInfo> logical;
    MIXQ_RETURN_IF_ERROR(ComputeMatMulGeometry(init.attrs, RealValuedInfos(init, 2, &logical), &g_));
    m_ = g_.a.rows;
    k_ = g_.a.cols;
    n_ = g_.b.cols;
    pairs_ = (k_ + 1) / 2;
    blocks_ = (m_ + kRows - 1) / kRows;
    panels_ = (n_ + kPanel - 1) / kPanel;
    a_strides_ = BatchStrides(g_.a, g_.batch);
    b_strides_ = BatchStrides(g_.b, g_.batch);
    out_type_ = init.outputs[0].dtype;
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const TensorView& y = out[0];
    const bool int_out = out_type_ == DataType::INT8;
    // The reference's per-tensor output stage (quantized_reference.cc).
    const double u = 1.0 * static_cast<double>(in[0].quant->scale) * static_cast<double>(in[1].quant->scale);
    ChannelStage stage;
    stage.multiplier = int_out ? quant::RequantMultiplier(u, 1.0, y.quant->scale) : quant::AccumulatorScale(u, 1.0);
    const int32_t out_zp = int_out ? y.quant->zero_point : 0;
    const int32_t za = in[0].quant->zero_point, zb = in[1].quant->zero_point;
    const auto* a = in[0].Data<const int8_t>();
    const auto* b = in[1].Data<const int8_t>();
    const int64_t batches = ir::ElementCount(g_.batch);
    const int threads = std::max(1, omp_get_max_threads());
    if (scratch_.size() < static_cast<size_t>(threads)) scratch_.resize(static_cast<size_t>(threads));
    const bool parallel = batches > 1 && batches * m_ * n_ * k_ > kernels::kMinParallelMacs;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t bi = 0; bi < batches; ++bi) {
      Scratch& s = scratch_[static_cast<size_t>(omp_get_thread_num())];
      int64_t a_off = 0, b_off = 0, rest = bi;
      for (size_t d = g_.batch.size(); d-- > 0;) {
        const int64_t index = rest % g_.batch[d];
        rest /= g_.batch[d];
        a_off += index * a_strides_[d];
        b_off += index * b_strides_[d];
      }
      PackA(a + a_off, za, &s);
      PackB(b + b_off, zb, &s);
      const int64_t ldc = panels_ * kPanel;
      s.c.resize(static_cast<size_t>(blocks_ * kRows * ldc));
      kernels::GemmInt16TileAvx2(s.a, 0, blocks_, s.b.data(), panels_, s.c.data(), ldc);
      for (int64_t i = 0; i < m_; ++i) {
        const int32_t* row = s.c.data() + i * ldc;
        const int64_t at = (bi * m_ + i) * n_;
        if (int_out)
          RequantizeRowToInt8(row, n_, stage, out_zp, -128, 127, y.Data<int8_t>() + at);
        else
          DequantizeRow(row, n_, stage, {}, {}, at, out_type_, y.data, at);
      }
    }
    return Status::OK();
  }

 private:
  struct Scratch {
    kernels::PackedInt16A a;
    std::vector<int16_t> b;   // panels: [panel][pair][16][2]
    std::vector<int16_t> bt;  // B transposed to [K][N] (a transposed operand)
    std::vector<int32_t> c;   // [row][panels * 16]
  };

  // A's rows centered, in GemmInt16TileAvx2's blocks: [block][pair][6] int32
  // holding (A[r][2p], A[r][2p + 1]) as int16 halves; zeros past m and k.
  void PackA(const int8_t* a, int32_t za, Scratch* s) const {
    s->a.m = m_;
    s->a.pairs = pairs_;
    s->a.blocks = blocks_;
    s->a.data.assign(static_cast<size_t>(blocks_ * pairs_ * kRows), 0);
    const bool t = g_.a.transposed;  // stored [K, M]
    for (int64_t i = 0; i < m_; ++i) {
      int32_t* dst = s->a.data.data() + (i / kRows) * pairs_ * kRows + i % kRows;
      for (int64_t p = 0; p < pairs_; ++p) {
        const int64_t k0 = 2 * p, k1 = 2 * p + 1;
        const int32_t lo = (t ? a[k0 * m_ + i] : a[i * k_ + k0]) - za;
        const int32_t hi = k1 < k_ ? (t ? a[k1 * m_ + i] : a[i * k_ + k1]) - za : 0;
        dst[p * kRows] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(lo)) |
                                              static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16);
      }
    }
  }

  // B's rows (K of N values) centered into int16 panels; a transposed B
  // ([N, K]) is transposed into centered int16 rows first.
  void PackB(const int8_t* b, int32_t zb, Scratch* s) const {
    s->b.resize(static_cast<size_t>(panels_ * pairs_ * 2 * kPanel));
    if (!g_.b.transposed) {
      kernels::PackInt8PanelsAvx2(b, n_, k_, n_, zb, s->b.data());
      return;
    }
    const int64_t width = panels_ * kPanel;  // whole panels, zero-padded
    s->bt.assign(static_cast<size_t>(k_ * width), 0);
    for (int64_t j = 0; j < n_; ++j)
      for (int64_t t = 0; t < k_; ++t)
        s->bt[static_cast<size_t>(t * width + j)] = static_cast<int16_t>(b[j * k_ + t] - zb);
    kernels::PackInt16PanelsAvx2(s->bt.data(), width, k_, width, s->b.data());
  }

  MatMulGeometry g_;
  int64_t m_ = 0, k_ = 0, n_ = 0, pairs_ = 0, blocks_ = 0, panels_ = 0;
  std::vector<int64_t> a_strides_, b_strides_;
  DataType out_type_ = DataType::FLOAT32;
  std::vector<Scratch> scratch_;
};

// Two INT8 activations (per-tensor scales, static or dynamic), no bias, no
// post-ops; INT8, FLOAT32 or FLOAT16 out. A constant b runs avx2-int8.
bool Supports(const KernelInit& init) {
  if (!TakesInt8Operands(init) || init.inputs.size() != 2 || !init.inputs[0] || !init.inputs[1]) return false;
  if (init.post_ops && !init.post_ops->empty()) return false;
  for (int i = 0; i < 2; ++i) {
    const ValueInfo& v = *init.inputs[static_cast<size_t>(i)];
    if (v.dtype != DataType::INT8 || v.const_data || !v.quant || v.quant->axis >= 0) return false;
  }
  const DataType out = init.outputs[0].dtype;
  if (out != DataType::INT8 && out != DataType::FLOAT32 && out != DataType::FLOAT16) return false;
  std::vector<ValueInfo> logical;
  MatMulGeometry g;
  return ComputeMatMulGeometry(init.attrs, RealValuedInfos(init, 2, &logical), &g).ok() &&
         g.a.cols < kernels::kInt8GemmMaxDepth && !g.a.vector && !g.b.vector;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<MatMulInt8Activations>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(matmul, avx2_int8_act) {
  // Above avx2-int8-staged (10), which keeps the cases this one declines.
  mixq::ops::RegisterKernel(
      {"avx2-int8-act", mixq::OpKind::kMatMul, mixq::kernels::Isa::kAvx2, 15, mixq::ops::Supports, mixq::ops::Make});
}
