// MatMul of float16 activations and a constant 2-D b of float16 values on
// oneDNN's float32 GEMM ("onednn-f16"): the rows widened into the thread's
// scratch, b packed once per engine as float32 in oneDNN's own layout, the
// float32 product into scratch, then each row through the output stage
// (HalfOutputStage::ApplyBiased: the product rounded to float16, a fused
// column bias added as the separate Add step adds it, the post-ops after
// it, each rounded).
//
// Why: oneDNN 2.6 has no float16 matmul, and the float16-weight GEMM
// ("avx512-f16-gemm", ops/half_weight_gemm.h) runs at about 0.9x oneDNN's
// float32 rate on an Intel core with AVX-512: BERT-base force_float16's
// 128-row products are most of its time. Where oneDNN's float32 GEMM pays
// (kernels::OneDnnFloatGemmPays: Intel with AVX-512) and there are rows
// enough for the product to be arithmetic-bound (kMinRows), this kernel
// takes the step. Cost: b's float32 copy (twice the float16 bytes; the
// model file keeps float16), and the float32 product in scratch for the
// output stage's pass. GEMV-like products (PP-OCRv4 rec's 40-row ones and
// its 6625-class head) stream their weights and stay on the float16 GEMM.
//
// Accuracy: float32 products of the same float16 values, summed by oneDNN
// in its own order: within one float16 step of the reference's result, as
// the float16 GEMM is (cpu_half_gemm_test.cc runs both).
#include <omp.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/half_io.h"
#include "kernels/onednn.h"
#include "kernels/parallel.h"
#include "kernels/thread_scratch.h"
#include "ops/half_output_stage.h"
#include "ops/half_weight_gemm.h"
#include "ops/matmul/geometry.h"
#include "ops/onednn_support.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

using dnnl::memory;

// Rows from which the product runs here (BERT's 128 rows do; PP-OCRv4 rec's
// 40 do not).
constexpr int64_t kMinRows = 64;
// kernels::ThreadScratch slots: the widened rows and the float32 product.
constexpr int kRowsSlot = 0, kProductSlot = 1;

class OneDnnHalfMatMul : public Kernel {
 public:
  const char* Name() const override { return "onednn-f16"; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }
  // b is packed; a column bias is copied.
  bool ReadsInputAtRun(size_t index) const override {
    return index != 1 && static_cast<int>(index) != rows_->column_bias_input();
  }

  Status Init(const KernelInit& init) {
    if (!ConstantWeightGemmShape(init, &s_)) return Internal("MatMul onednn-f16: unsupported step");
    rows_ = std::make_unique<HalfGemmRowStage>(init, s_.n);
    a_md_ = memory::desc({s_.m, s_.k}, memory::data_type::f32, memory::format_tag::ab);
    // b's own bytes: float32 [K, N], or [N, K] read as its transpose.
    b_md_ = memory::desc({s_.k, s_.n}, memory::data_type::f32,
                         s_.weights_transposed ? memory::format_tag::ba : memory::format_tag::ab);
    y_md_ = memory::desc({s_.m, s_.n}, memory::data_type::f32, memory::format_tag::ab);
    return kernels::OneDnnCall("MatMul (oneDNN, float16 storage)", [&] {
      auto& engine = kernels::CpuEngine();
      const memory::desc b_any({s_.k, s_.n}, memory::data_type::f32, memory::format_tag::any);
      pd_ = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md_, b_any, y_md_), engine);
      matmul_ = dnnl::matmul(pd_);
      stream_ = dnnl::stream(engine);
      packed_b_ =
          PackWeights(init, "matmul/f16", b_md_, init.inputs[1]->const_data, pd_.weights_desc(), &private_bytes_);
    });
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    auto* rows =
        static_cast<float*>(kernels::ThreadScratch(kRowsSlot, static_cast<size_t>(s_.m * s_.k) * sizeof(float)));
    auto* product =
        static_cast<float*>(kernels::ThreadScratch(kProductSlot, static_cast<size_t>(s_.m * s_.n) * sizeof(float)));
    if (!rows || !product) return ResourceExhausted("MatMul onednn-f16: no memory for its float32 rows and product");
    kernels::HalfToFloatParallel(in[0].Data<const uint16_t>(), rows, s_.m * s_.k);
    MIXQ_RETURN_IF_ERROR(kernels::OneDnnCall("MatMul (oneDNN, float16 storage)", [&] {
      auto& engine = kernels::CpuEngine();
      matmul_.execute(stream_, {{DNNL_ARG_SRC, memory(a_md_, engine, rows)},
                                {DNNL_ARG_WEIGHTS, *packed_b_},
                                {DNNL_ARG_DST, memory(y_md_, engine, product)}});
      stream_.wait();
    }));
    rows_->Apply(product, s_.m, s_.n, in, out[0]);
    return Status::OK();
  }

 private:
  HalfWeightGemmShape s_;
  std::unique_ptr<HalfGemmRowStage> rows_;  // the rounding, the column bias, the post-ops
  memory::desc a_md_, b_md_, y_md_;
  dnnl::matmul::primitive_desc pd_;
  dnnl::matmul matmul_;
  dnnl::stream stream_;
  std::shared_ptr<const memory> packed_b_;  // shared with the engine
  int64_t private_bytes_ = 0;
};

bool Supports(const KernelInit& init) {
  HalfWeightGemmShape s;
  return kernels::OneDnnFloatGemmPays() && ConstantWeightGemmShape(init, &s) && s.m >= kMinRows &&
         HalfWeightGemmComputes(init, s, /*half=*/true);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<OneDnnHalfMatMul>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(matmul, onednn_half) {
  // Above avx512-f16-gemm (13) where it takes the step.
  mixq::ops::RegisterKernel(
      {"onednn-f16", mixq::OpKind::kMatMul, mixq::kernels::Isa::kAvx512, 14, mixq::ops::Supports, mixq::ops::Make});
}
