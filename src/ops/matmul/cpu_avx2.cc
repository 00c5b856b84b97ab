// AVX2 int8 MatMul: the exact integer accumulation of the quantized
// reference as an int16 GEMM (kernels/int16_gemm.h, the exact int16
// saturation policy), inside the reference's output stage
// (ops/quantized_reference.h), so results are bit-exact with it. Either
// operand may be weights or an activation (attention); a constant b is
// packed once. Symmetric int16 operands run as "avx2-int16": b split in bytes,
// int64 sums (kernels::GemmInt16ExactAvx2). On AVX-512 VNNI the int16 form
// splits a instead and runs kernels::GemmInt16SplitTileIsa (both byte halves
// against each b vector in one pass, 24 accumulators), b packed into int16
// panels without a per-element callback: PP-OCR rec's 40 x 120 x 6625 head
// and its attention products ran 2.6x and 15x float32 on the AVX2 form, the
// attention mostly in packing an activation b through std::function.
#include <algorithm>
#include <cstring>

#include "kernels/cpu_features.h"
#include "kernels/int16_gemm.h"
#include "ops/kernel_registry.h"
#include "ops/matmul/geometry.h"
#include "ops/op_util.h"
#include "ops/quantized_reference.h"

namespace mixq::ops {

namespace {

class MatMulAccumulateAvx2 : public Kernel {
 public:
  explicit MatMulAccumulateAvx2(bool exact16) : exact16_(exact16) {}

  Status Init(const KernelInit& init) {
    MIXQ_RETURN_IF_ERROR(ComputeMatMulGeometry(init.attrs, init.inputs, &g_));
    m_ = g_.a.rows;
    k_ = g_.a.cols;
    n_ = g_.b.cols;
    depth_ = kernels::Int16GemmDepth(k_);
    ldc_ = (n_ + kernels::kInt16Panel - 1) / kernels::kInt16Panel * kernels::kInt16Panel;
    a_strides_ = BatchStrides(g_.a, g_.batch);
    b_strides_ = BatchStrides(g_.b, g_.batch);
    a_.assign(static_cast<size_t>(m_ * depth_), 0);
    b_constant_ = init.inputs.size() > 1 && init.inputs[1] && init.inputs[1]->const_data;
    if (!exact16_) c_.assign(static_cast<size_t>(m_ * ldc_), 0);
    vnni_ = exact16_ && kernels::BestIsa() >= kernels::Isa::kAvx512Vnni;
    if (vnni_) {
      b16_.assign(static_cast<size_t>(k_ * n_), 0);
      b_panels_.assign(static_cast<size_t>(ldc_ / kernels::kInt16Panel * (depth_ / 2) * 2 * kernels::kInt16Panel), 0);
      c64_.assign(static_cast<size_t>((m_ + kernels::kInt16RowBlock - 1) / kernels::kInt16RowBlock *
                                      kernels::kInt16RowBlock * ldc_),
                  0);
    }
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int32_t* a = in[0].Data<const int32_t>();
    const int32_t* b = in[1].Data<const int32_t>();
    int64_t* y = out[0].Data<int64_t>();
    const int64_t batches = ir::ElementCount(g_.batch);
    std::vector<int64_t> index(g_.batch.size(), 0);
    for (int64_t bi = 0; bi < batches; ++bi) {
      int64_t a_off = 0, b_off = 0;
      for (size_t d = 0; d < index.size(); ++d) {
        a_off += index[d] * a_strides_[d];
        b_off += index[d] * b_strides_[d];
      }
      const int32_t* ab = a + a_off;
      for (int64_t i = 0; i < m_; ++i)
        for (int64_t t = 0; t < k_; ++t)
          a_[static_cast<size_t>(i * depth_ + t)] =
              static_cast<int16_t>(g_.a.transposed ? ab[t * m_ + i] : ab[i * k_ + t]);
      // A constant b (weights) is packed once; an activation b on every
      // batch of every run (its staged buffer keeps its address while its
      // values change: a check of the address alone kept the first run's
      // values, wrong from the second run on for a b in one batch).
      if (!b_constant_ || b + b_off != packed_from_) {
        const int32_t* bb = b + b_off;
        const bool tb = g_.b.transposed;
        const int64_t n = n_, k = k_;
        auto value = [&](int64_t t, int64_t j) { return static_cast<int16_t>(tb ? bb[j * k + t] : bb[t * n + j]); };
        if (vnni_) {  // b as int16 rows [k][n], then panels
          int16_t* rows = b16_.data();
          for (int64_t t = 0; t < k; ++t)
            for (int64_t j = 0; j < n; ++j) rows[t * n + j] = static_cast<int16_t>(tb ? bb[j * k + t] : bb[t * n + j]);
          kernels::PackInt16PanelsAvx2(rows, n, k, n, b_panels_.data());
        } else if (exact16_)
          kernels::PackInt16SplitB(k_, n_, value, &split_);
        else
          kernels::PackInt16B(k_, n_, value, &packed_);
        packed_from_ = b + b_off;
      }
      int64_t* yb = y + bi * m_ * n_;
      if (vnni_) {
        kernels::PackInt16SplitA(a_.data(), depth_, m_, k_, &a_hi_, &a_lo_);
        const int64_t ldc = ldc_;
        kernels::GemmInt16SplitTileIsa(kernels::Isa::kAvx512Vnni, a_hi_, a_lo_, 0, a_hi_.blocks, b_panels_.data(),
                                       ldc / kernels::kInt16Panel, c64_.data(), ldc);
        for (int64_t i = 0; i < m_; ++i)
          std::memcpy(yb + i * n_, c64_.data() + i * ldc, static_cast<size_t>(n_) * sizeof(int64_t));
      } else if (exact16_) {
        kernels::GemmInt16ExactAvx2(a_.data(), depth_, m_, split_, n_, yb, n_);
      } else {
        kernels::GemmInt16Avx2(a_.data(), depth_, m_, packed_, c_.data(), ldc_);
        for (int64_t i = 0; i < m_; ++i)
          for (int64_t j = 0; j < n_; ++j) yb[i * n_ + j] = c_[static_cast<size_t>(i * ldc_ + j)];
      }
      for (size_t d = index.size(); d-- > 0;) {
        if (++index[d] < g_.batch[d]) break;
        index[d] = 0;
      }
    }
    return Status::OK();
  }

 private:
  MatMulGeometry g_;
  bool exact16_ = false;     // int16 operands, int64 sums
  bool b_constant_ = false;  // b is a constant (the wrapper's init says so): packed once
  bool vnni_ = false;        // exact16_ on AVX-512 VNNI: a split, b in int16 panels (b16_ -> b_panels_)
  std::vector<int16_t> b16_, b_panels_;
  kernels::PackedInt16A a_hi_, a_lo_;
  std::vector<int64_t> c64_;
  kernels::PackedInt16SplitB split_;
  int64_t m_ = 0, k_ = 0, n_ = 0, depth_ = 0, ldc_ = 0;
  std::vector<int64_t> a_strides_, b_strides_;
  std::vector<int16_t> a_;
  std::vector<int32_t> c_;
  kernels::PackedInt16B packed_;
  const int32_t* packed_from_ = nullptr;
};

template <bool kExact16>
Status MakeAccumulate(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<MatMulAccumulateAvx2>(kExact16);
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

bool Supports(const KernelInit& init) {
  if (!TakesInt8Operands(init)) return false;
  std::vector<ValueInfo> logical;
  MatMulGeometry g;
  return ComputeMatMulGeometry(init.attrs, RealValuedInfos(init, 2, &logical), &g).ok() &&
         g.a.cols < kernels::kInt8GemmMaxDepth;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeQuantizedKernel(MatMulSchema(), init, MakeAccumulate<false>, "avx2-int8-staged", kernel);
}

bool Supports16(const KernelInit& init) {
  std::vector<ValueInfo> logical;
  MatMulGeometry g;
  return TakesSymmetricInt16Operands(init) &&
         ComputeMatMulGeometry(init.attrs, RealValuedInfos(init, 2, &logical), &g).ok();
}

Status Make16(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeQuantizedKernel(MatMulSchema(), init, MakeAccumulate<true>, "avx2-int16", kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(matmul, avx2) {
  mixq::ops::RegisterKernel(
      {"avx2-int8-staged", mixq::OpKind::kMatMul, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports, mixq::ops::Make});
  mixq::ops::RegisterKernel(
      {"avx2-int16", mixq::OpKind::kMatMul, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports16, mixq::ops::Make16});
}
