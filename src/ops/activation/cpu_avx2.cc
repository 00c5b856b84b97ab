// AVX2 Activation kernels, bit-exact with the reference:
// - hard_swish (float32): the reference's double arithmetic eight lanes at a
//   time (kernels/hard_swish.h: the division by 6 exact without vdivpd), y =
//   float(x * clamp(x / 6 + 0.5, 0, 1)) with the same comparisons (NaN
//   propagates).
// - relu / relu6 / clip on INT8 / INT16 integers: the reference's clamp to
//   the quantized bounds (IntegerActivationBounds), 32 / 16 lanes at a time.
#include <immintrin.h>

#include <algorithm>

#include "kernels/hard_swish.h"
#include "kernels/integer_clamp.h"
#include "kernels/parallel.h"
#include "ops/kernel_registry.h"
#include "ops/op_util.h"
#include "ops/quantized_reference.h"

namespace mixq::ops {

namespace {

__attribute__((target("avx2,fma"))) void HardSwish(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, kernels::HardSwishExact8(_mm256_loadu_ps(x + i)));
  for (; i < n; ++i) {
    const double v = x[i], t = v / 6.0 + 0.5;
    y[i] = static_cast<float>(v * (t < 0 ? 0.0 : t > 1 ? 1.0 : t));
  }
}

class HardSwishAvx2 : public Kernel {
 public:
  explicit HardSwishAvx2(int64_t count) : count_(count) {}
  const char* Name() const override { return "avx2"; }
  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const float* x = in[0].Data<const float>();
    float* y = out[0].Data<float>();
    // Small tensors (the float16 kernels' chunks) skip the OpenMP region: even
    // a serialized one costs about a microsecond.
    if (count_ <= kernels::kMinParallelElements) {
      HardSwish(x, y, count_);
      return Status::OK();
    }
    const int64_t chunk = 1 << 14;
#pragma omp parallel for schedule(static)
    for (int64_t at = 0; at < count_; at += chunk) HardSwish(x + at, y + at, std::min(chunk, count_ - at));
    return Status::OK();
  }

 private:
  int64_t count_;
};

template <typename T>
class IntegerClampAvx2 : public Kernel {
 public:
  IntegerClampAvx2(int64_t count, int32_t lo, int32_t hi) : count_(count), lo_(lo), hi_(hi) {}
  const char* Name() const override { return "avx2"; }
  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    kernels::ClampIntegers(in[0].Data<const T>(), out[0].Data<T>(), count_, lo_, hi_);
    return Status::OK();
  }

 private:
  int64_t count_;
  int32_t lo_, hi_;
};

// The reference's bounds (ops/activation/op.cc): false where it has none.
bool IntegerBounds(const KernelInit& init, int32_t* lo, int32_t* hi) {
  const ValueInfo& x = *init.inputs[0];
  PostOp op;
  return ActivationPostOp(init.attrs, &op) && x.quant->scales.size() == 1 &&
         IntegerActivationBounds(op, x.quant->scales[0], x.quant->zero_points[0], x.quant->bits, lo, hi);
}

bool Supports(const KernelInit& init) {
  if (init.HasPostOps() || init.inputs.size() != 1 || !init.inputs[0] || init.outputs.size() != 1 ||
      !ir::IsStatic(init.inputs[0]->shape))
    return false;
  const ValueInfo& x = *init.inputs[0];
  if (IsIntegerStorage(x)) {
    int32_t lo, hi;  // element by element: any layout both share (Int8UnaryChannelsLastSlots)
    return init.outputs[0].dtype == x.dtype && UniformLayout(init) && IntegerBounds(init, &lo, &hi);
  }
  return AllPlainFloat32(init) && init.attrs.Str("type") == "hard_swish";
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  const ValueInfo& x = *init.inputs[0];
  const int64_t count = ir::ElementCount(x.shape);
  if (IsIntegerStorage(x)) {
    int32_t lo = 0, hi = 0;
    if (!IntegerBounds(init, &lo, &hi)) return Internal("activation avx2: no integer bounds");
    if (x.dtype == DataType::INT8)
      *kernel = std::make_unique<IntegerClampAvx2<int8_t>>(count, lo, hi);
    else
      *kernel = std::make_unique<IntegerClampAvx2<int16_t>>(count, lo, hi);
    return Status::OK();
  }
  *kernel = std::make_unique<HardSwishAvx2>(count);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(activation, avx2) {
  mixq::ops::RegisterKernel({"avx2", mixq::OpKind::kActivation, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports,
                             mixq::ops::Make, mixq::ops::Int8UnaryChannelsLastSlots});
}
