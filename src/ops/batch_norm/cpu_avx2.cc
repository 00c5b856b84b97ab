// BatchNorm on FLOAT32: the reference's arithmetic (op.cc: ((x - mean) *
// inv_std) * scale + bias in double, inv_std = 1 / sqrt(variance + epsilon)
// per channel, rounded to float once) four lanes at a time, each operation
// the reference's in its order (this file is built with -ffp-contract=off,
// so no multiply-add is contracted); bit-identical with it. The statistics
// are read at every run (they may be run-time tensors). PP-OCR det's head
// keeps one BatchNorm (after a ConvTranspose): 0.35 ms on the reference.
#include <immintrin.h>

#include <cmath>

#include "kernels/parallel.h"
#include "ops/batch_norm/rows.h"
#include "ops/kernel_registry.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

__attribute__((target("avx2"))) void NormalizeRow(const float* x, float* y, int64_t n, double mean, double inv_std,
                                                  double scale, double bias) {
  const __m256d m = _mm256_set1_pd(mean), s = _mm256_set1_pd(inv_std), g = _mm256_set1_pd(scale),
                b = _mm256_set1_pd(bias);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(x + i));
    const __m256d r = _mm256_add_pd(_mm256_mul_pd(_mm256_mul_pd(_mm256_sub_pd(v, m), s), g), b);
    _mm_storeu_ps(y + i, _mm256_cvtpd_ps(r));
  }
  for (; i < n; ++i) y[i] = static_cast<float>((x[i] - mean) * inv_std * scale + bias);
}

class BatchNormAvx2 : public Kernel {
 public:
  BatchNormAvx2(int64_t outer, int64_t channels, int64_t inner, double epsilon)
      : outer_(outer), channels_(channels), inner_(inner), epsilon_(epsilon) {}
  const char* Name() const override { return "avx2"; }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const float* x = in[0].Data<const float>();
    const float* mean = in[1].Data<const float>();
    const float* variance = in[2].Data<const float>();
    const float* scale = in[3].Data<const float>();
    const float* bias = in[4].Data<const float>();
    float* y = out[0].Data<float>();
    const int64_t rows = outer_ * channels_;
#pragma omp parallel for schedule(static) if (rows > 1 && rows * inner_ > kernels::kMinParallelElements)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t c = r % channels_;
      const double inv_std = 1.0 / std::sqrt(static_cast<double>(variance[c]) + epsilon_);
      NormalizeRow(x + r * inner_, y + r * inner_, inner_, mean[c], inv_std, scale[c], bias[c]);
    }
    return Status::OK();
  }

 private:
  int64_t outer_, channels_, inner_;
  double epsilon_;
};

// Plain FLOAT32 tensors of static shape, statistics one per channel.
bool Geometry(const KernelInit& init, int64_t* outer, int64_t* channels, int64_t* inner) {
  if (!BatchNormRows(init, outer, channels, inner) || init.HasPostOps()) return false;
  for (const ValueInfo* v : init.inputs)
    if (v->dtype != DataType::FLOAT32 || v->narrowed) return false;
  return init.outputs[0].dtype == DataType::FLOAT32 && !init.outputs[0].narrowed;
}

// Rows of at least a vector: channels last (one value per row) stays on the
// reference, which this would only match.
bool Supports(const KernelInit& init) {
  int64_t outer, channels, inner;
  return Geometry(init, &outer, &channels, &inner) && inner >= 4 && kernels::DetectedCpuFeatures().avx2;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  int64_t outer = 1, channels = 0, inner = 1;
  if (!Geometry(init, &outer, &channels, &inner)) return Internal("BatchNorm avx2: unsupported step");
  *kernel = std::make_unique<BatchNormAvx2>(outer, channels, inner, init.attrs.Float("epsilon"));
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(batch_norm, avx2) {
  mixq::ops::RegisterKernel(
      {"avx2", mixq::OpKind::kBatchNorm, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports, mixq::ops::Make});
}
