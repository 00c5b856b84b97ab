// AVX2 + FMA Unary erf on float32 (kernels/vector_math.h: N. Juffa's erff
// polynomials, 8 lanes). Tolerance against the reference (std::erf in
// double): |y - ref| <= 4e-7 |ref| + 3e-45 (two denormal ulp); measured
// over every 1024th float in [-10, 10] and the specials (cpu_avx2_test.cc):
// largest relative error 1.2e-7 (1 ulp) where the result is a normal float.
// The other unary ops run the reference.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/parallel.h"
#include "kernels/vector_math.h"
#include "ops/kernel_registry.h"

namespace mixq::ops {

namespace {

__attribute__((target("avx2,fma"))) void ErfLoop(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, kernels::ErfAvx2(_mm256_loadu_ps(x + i)));
  if (i < n) {  // the tail through a zero-padded vector
    alignas(32) float buffer[8] = {};
    std::memcpy(buffer, x + i, static_cast<size_t>(n - i) * sizeof(float));
    _mm256_store_ps(buffer, kernels::ErfAvx2(_mm256_load_ps(buffer)));
    std::memcpy(y + i, buffer, static_cast<size_t>(n - i) * sizeof(float));
  }
}

class ErfAvx2 : public Kernel {
 public:
  explicit ErfAvx2(int64_t count) : count_(count) {}
  const char* Name() const override { return "avx2-fma"; }
  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const float* x = in[0].Data<const float>();
    float* y = out[0].Data<float>();
    const int64_t chunk = 1 << 14;
#pragma omp parallel for schedule(static) if (count_ > kernels::kMinParallelElements)
    for (int64_t at = 0; at < count_; at += chunk) ErfLoop(x + at, y + at, std::min(chunk, count_ - at));
    return Status::OK();
  }

 private:
  int64_t count_;
};

bool Supports(const KernelInit& init) {
  return !init.HasPostOps() && init.inputs.size() == 1 && init.inputs[0] && init.outputs.size() == 1 &&
         ir::IsStatic(init.inputs[0]->shape) && AllPlainFloat32(init) && init.attrs.Str("op") == "erf" &&
         kernels::DetectedCpuFeatures().fma;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  *kernel = std::make_unique<ErfAvx2>(ir::ElementCount(init.inputs[0]->shape));
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(unary, avx2) {
  mixq::ops::RegisterKernel(
      {"avx2-fma", mixq::OpKind::kUnary, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports, mixq::ops::Make});
}
