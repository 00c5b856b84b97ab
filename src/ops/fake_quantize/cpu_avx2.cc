// AVX2 FakeQuantize (FLOAT32 in and out): y = s * (clamp(rint(x / s) + z, n,
// p) - z) eight values at a time, with the reference's float32 operations:
// the division, round half to even, the clamp, NaN -> z, and the product
// (the exact product of a code and s rounded once to float32, as the
// reference's exact double product rounded once) saturated to +-FLT_MAX. Per
// tensor or per axis (blocks of `inner` values share a scale). Bit-exact with
// the reference.
#include <immintrin.h>

#include <cfloat>

#include "kernels/parallel.h"
#include "ops/kernel_registry.h"
#include "quant/quant_math.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

__attribute__((target("avx2"))) void FakeQuantizeRun(const float* x, float* y, int64_t n, float scale,
                                                     int32_t zero_point, int bits) {
  const __m256 s = _mm256_set1_ps(scale), z = _mm256_set1_ps(static_cast<float>(zero_point));
  const __m256 lo = _mm256_set1_ps(static_cast<float>(quant::QMin(bits)));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(quant::QMax(bits)));
  const __m256 max = _mm256_set1_ps(FLT_MAX), min = _mm256_set1_ps(-FLT_MAX);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), s);
    const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
    __m256 q = _mm256_add_ps(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), z);
    q = _mm256_blendv_ps(_mm256_min_ps(_mm256_max_ps(q, lo), hi), z, nan);
    // q - z is an exact integer; its product with s is rounded once.
    const __m256 r = _mm256_mul_ps(_mm256_sub_ps(q, z), s);
    _mm256_storeu_ps(y + i, _mm256_min_ps(_mm256_max_ps(r, min), max));
  }
  for (; i < n; ++i) y[i] = quant::Dequantize(quant::Quantize(x[i], scale, zero_point, bits), scale, zero_point);
}

class FakeQuantizeAvx2 : public Kernel {
 public:
  const char* Name() const override { return "avx2"; }
  Status Init(const KernelInit& init) {
    bits_ = static_cast<int>(init.attrs.Int("bits", 8));
    scales_ = init.attrs.Floats("scales");
    for (int64_t z : init.attrs.Ints("zero_points")) zero_points_.push_back(static_cast<int32_t>(z));
    const int64_t axis = init.attrs.Int("axis", -1);
    const ir::Shape& shape = init.inputs[0]->shape;
    if (axis >= 0) {
      channels_ = shape[static_cast<size_t>(axis)];
      for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner_ *= shape[d];
    } else {
      inner_ = ir::ElementCount(shape);
    }
    if (scales_.size() != static_cast<size_t>(channels_) || zero_points_.size() != scales_.size())
      return Internal("FakeQuantize avx2: ", scales_.size(), " scales for ", channels_, " channels");
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const float* x = in[0].Data<const float>();
    float* y = out[0].Data<float>();
    const int64_t blocks = in[0].Count() / std::max<int64_t>(1, inner_);
#pragma omp parallel for schedule(static) if (in[0].Count() > kernels::kMinParallelElements)
    for (int64_t b = 0; b < blocks; ++b) {
      const size_t c = static_cast<size_t>(b % channels_);
      FakeQuantizeRun(x + b * inner_, y + b * inner_, inner_, scales_[c], zero_points_[c], bits_);
    }
    return Status::OK();
  }

 private:
  int bits_ = 8;
  std::vector<float> scales_;
  std::vector<int32_t> zero_points_;
  int64_t channels_ = 1, inner_ = 1;
};

bool Supports(const KernelInit& init) {
  if (init.inputs.size() != 1 || !init.inputs[0] || init.HasPostOps()) return false;
  const ValueInfo& x = *init.inputs[0];
  if (x.dtype != DataType::FLOAT32 || x.narrowed || init.outputs[0].dtype != DataType::FLOAT32 ||
      init.outputs[0].narrowed || !ir::IsStatic(x.shape))
    return false;
  // Scales > 0 and finite (validated at build): the vector division is the reference's.
  for (float s : init.attrs.Floats("scales"))
    if (!(s > 0.0f) || s > FLT_MAX) return false;
  return true;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<FakeQuantizeAvx2>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(fake_quantize, avx2) {
  mixq::ops::RegisterKernel(
      {"avx2", mixq::OpKind::kFakeQuantize, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports, mixq::ops::Make});
}
