// "avx2-table": a per-tensor 8-bit FakeQuantize step that carries a kTable
// post-op (runtime/fusion/fuse_qdq_region.cc: the float region after it,
// every value of which is a function of the step's int8 code, tabulated by
// the reference kernels over the 256 codes). Each value is quantized as the
// FakeQuantize reference quantizes it (q = clamp(rint(x / s) + z), NaN -> z:
// ops/quantize_vector.h) and replaced by table[q + 128], eight at a time.
// Exact by construction: the table holds what the separate steps compute.
#include <immintrin.h>

#include <cfloat>

#include "kernels/parallel.h"
#include "ops/kernel_registry.h"
#include "ops/quantize_vector.h"
#include "quant/quant_math.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

__attribute__((target("avx2"))) void TableRun(const float* x, float* y, int64_t n, float scale, int32_t zero_point,
                                              const float* table) {
  const QuantizeConstants k = MakeQuantizeConstants(scale, zero_point, -128, 127);
  const __m256i offset = _mm256_set1_epi32(128);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i q = _mm256_add_epi32(QuantizeVector(_mm256_loadu_ps(x + i), k), offset);
    _mm256_storeu_ps(y + i, _mm256_i32gather_ps(table, q, 4));
  }
  for (; i < n; ++i) y[i] = table[quant::Quantize(x[i], scale, zero_point, 8) + 128];
}

class TableAvx2 : public Kernel {
 public:
  const char* Name() const override { return "avx2-table"; }
  Status Init(const KernelInit& init) {
    scale_ = init.attrs.Floats("scales")[0];
    zero_point_ = static_cast<int32_t>(init.attrs.Ints("zero_points")[0]);
    table_ = init.post_ops->front().table;
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const float* x = in[0].Data<const float>();
    float* y = out[0].Data<float>();
    const int64_t n = in[0].Count(), chunk = 4096, chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (n > kernels::kMinParallelElements)
    for (int64_t c = 0; c < chunks; ++c)
      TableRun(x + c * chunk, y + c * chunk, std::min(chunk, n - c * chunk), scale_, zero_point_, table_->data());
    return Status::OK();
  }

 private:
  float scale_ = 1.0f;
  int32_t zero_point_ = 0;
  std::shared_ptr<const std::vector<float>> table_;
};

bool Supports(const KernelInit& init) {
  if (!kernels::DetectedCpuFeatures().avx2 || !init.post_ops || init.post_ops->size() != 1) return false;
  const PostOp& op = init.post_ops->front();
  if (op.kind != PostOp::Kind::kTable || !op.table || op.table->size() != 256) return false;
  if (init.inputs.size() != 1 || !init.inputs[0] || init.outputs.size() != 1) return false;
  const ValueInfo& x = *init.inputs[0];
  const ValueInfo& y = init.outputs[0];
  if (x.dtype != DataType::FLOAT32 || x.narrowed || y.dtype != DataType::FLOAT32 || y.narrowed ||
      !ir::IsStatic(x.shape) || x.shape != y.shape)
    return false;
  const std::vector<float> scales = init.attrs.Floats("scales");
  return init.attrs.Int("bits", 8) == 8 && init.attrs.Int("axis", -1) < 0 && scales.size() == 1 &&
         init.attrs.Ints("zero_points").size() == 1 && scales[0] > 0.0f && scales[0] <= FLT_MAX;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  if (!Supports(init)) return Internal("avx2-table does not take this step");
  auto k = std::make_unique<TableAvx2>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(fake_quantize, avx2_table) {
  mixq::ops::RegisterKernel(
      {"avx2-table", mixq::OpKind::kFakeQuantize, mixq::kernels::Isa::kAvx2, 20, mixq::ops::Supports, mixq::ops::Make});
}
