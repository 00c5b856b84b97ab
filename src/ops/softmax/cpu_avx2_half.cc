// Softmax along the last axis on float16 / bfloat16 storage ("avx2-f16",
// "avx2-bf16"): per row, a narrow input is widened into the thread's own
// buffer, the float32 kernel's row function (ops/softmax/softmax_row.h) runs
// on it in place, and a narrow output is rounded from it; float32 sides are
// read or written directly. "avx512-f16" / "avx512-bf16" widen and round in
// registers instead (SoftmaxRowNarrowAvx512). The same float32 values as the
// float32 kernel of the same ISA between Cast steps, so the same bits.
//
// It replaced the generic chunked form (ops/half_storage.h MakeHalfRows),
// which called the float32 kernel once per chunk: PP-OCR rec's head (40 rows
// of 6625, one row per chunk) paid a kernel call, its views and a nested
// OpenMP region per row (bench/RESULTS.md, stop 33).
#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/half_io.h"
#include "kernels/parallel.h"
#include "ops/half_storage.h"
#include "ops/softmax/softmax_row.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

class SoftmaxNarrow : public Kernel {
 public:
  SoftmaxNarrow(const char* name, SoftmaxRowFn row, bool avx512, bool bfloat16, bool in_narrow, bool out_narrow,
                int64_t rows, int64_t n)
      : name_(name),
        row_(row),
        avx512_(avx512),
        bfloat16_(bfloat16),
        in_narrow_(in_narrow),
        out_narrow_(out_narrow),
        rows_(rows),
        n_(n) {}
  const char* Name() const override { return name_; }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int threads = std::max(1, omp_get_max_threads());
    if (rows_buffers_.size() < static_cast<size_t>(threads)) rows_buffers_.resize(static_cast<size_t>(threads));
    const void* x = in[0].data;
    void* y = out[0].data;
#pragma omp parallel for schedule(static) if (rows_ > 1 && rows_ * n_ > kernels::kMinParallelExpElements)
    for (int64_t r = 0; r < rows_; ++r) {
      std::vector<float>& row = rows_buffers_[static_cast<size_t>(omp_get_thread_num())];
      if (row.size() < static_cast<size_t>(n_)) row.resize(static_cast<size_t>(n_));
      if (avx512_) {  // widened and rounded in registers
        SoftmaxRowNarrowAvx512(
            in_narrow_ ? static_cast<const void*>(static_cast<const uint16_t*>(x) + r * n_)
                       : static_cast<const float*>(x) + r * n_,
            in_narrow_,
            out_narrow_ ? static_cast<void*>(static_cast<uint16_t*>(y) + r * n_) : static_cast<float*>(y) + r * n_,
            out_narrow_, bfloat16_, row.data(), n_);
        continue;
      }
      const float* from = static_cast<const float*>(x) + r * n_;
      if (in_narrow_) {
        kernels::Narrow16ToFloatRow(bfloat16_, static_cast<const uint16_t*>(x) + r * n_, row.data(), n_);
        from = row.data();
      }
      float* to = out_narrow_ ? row.data() : static_cast<float*>(y) + r * n_;
      row_(from, to, n_);
      if (out_narrow_) kernels::FloatToNarrow16Row(bfloat16_, row.data(), static_cast<uint16_t*>(y) + r * n_, n_);
    }
    return Status::OK();
  }

 private:
  const char* name_;
  SoftmaxRowFn row_;
  bool avx512_;  // SoftmaxRowNarrowAvx512 instead of row_ between widening and rounding passes
  bool bfloat16_, in_narrow_, out_narrow_;
  int64_t rows_, n_;
  std::vector<std::vector<float>> rows_buffers_;  // per OpenMP thread: one widened row
};

// The last axis of a static shape, one input, no post-ops; each side narrow
// storage or float32, one of them narrow.
template <DataType kNarrow>
bool Supports(const KernelInit& init) {
  if (init.inputs.size() != 1 || !init.inputs[0] || init.outputs.size() != 1 || init.HasPostOps()) return false;
  if (!kernels::DetectedCpuFeatures().fma || !kernels::DetectedCpuFeatures().f16c) return false;
  if (!NarrowOrFloatStorage(init, kNarrow)) return false;
  if (!IsNarrowStorage(*init.inputs[0], kNarrow) && !IsNarrowStorage(init.outputs[0], kNarrow)) return false;
  const ir::Shape& shape = init.inputs[0]->shape;
  if (shape.empty() || !ir::IsStatic(shape) || shape.back() <= 0 || init.outputs[0].shape != shape) return false;
  int64_t axis = 0;
  return ir::NormalizeAxis(init.attrs.Int("axis", -1), static_cast<int64_t>(shape.size()), &axis) &&
         axis == static_cast<int64_t>(shape.size()) - 1;
}

template <DataType kNarrow, bool kAvx512 = false>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  if (!Supports<kNarrow>(init)) return Internal("Softmax on narrow storage: not a step this kernel takes");
  const ir::Shape& shape = init.inputs[0]->shape;
  const bool bfloat16 = kNarrow == DataType::BFLOAT16;
  const char* name = kAvx512 ? (bfloat16 ? "avx512-bf16" : "avx512-f16") : (bfloat16 ? "avx2-bf16" : "avx2-f16");
  *kernel = std::make_unique<SoftmaxNarrow>(
      name, kAvx512 ? SoftmaxRowAvx512 : SoftmaxRowAvx2, kAvx512, bfloat16, IsNarrowStorage(*init.inputs[0], kNarrow),
      IsNarrowStorage(init.outputs[0], kNarrow), ir::ElementCount(shape) / shape.back(), shape.back());
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(softmax, avx2_half) {
  mixq::ops::RegisterKernel({"avx2-f16", mixq::OpKind::kSoftmax, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::Supports<mixq::DataType::FLOAT16>, mixq::ops::Make<mixq::DataType::FLOAT16>});
  // bfloat16 storage the same way (force_bfloat16).
  mixq::ops::RegisterKernel({"avx2-bf16", mixq::OpKind::kSoftmax, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::Supports<mixq::DataType::BFLOAT16>, mixq::ops::Make<mixq::DataType::BFLOAT16>});
  // On AVX-512: the "avx512" float32 kernel's bits (ops/softmax/softmax_row_avx512.cc).
  mixq::ops::RegisterKernel({"avx512-f16", mixq::OpKind::kSoftmax, mixq::kernels::Isa::kAvx512, 11,
                             mixq::ops::Supports<mixq::DataType::FLOAT16>,
                             mixq::ops::Make<mixq::DataType::FLOAT16, true>});
  mixq::ops::RegisterKernel({"avx512-bf16", mixq::OpKind::kSoftmax, mixq::kernels::Isa::kAvx512, 11,
                             mixq::ops::Supports<mixq::DataType::BFLOAT16>,
                             mixq::ops::Make<mixq::DataType::BFLOAT16, true>});
}
