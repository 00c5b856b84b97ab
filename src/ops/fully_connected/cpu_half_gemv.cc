// FullyConnected of a few rows (batch 1 to 4) with its weights kept as
// float16 on float16 storage ("avx512-f16-gemv": 16 output features per zmm,
// "avx2-f16-gemv": 8 per ymm), and the same loops on float32 for all-float32
// steps ("avx512-f32-gemv", "avx2-f32-gemv"); the kernel itself is
// ops/half_weight_gemm.h.
//
// Why: at batch 1 a FullyConnected reads every weight once for one
// multiply-add, so its time is the time to stream the weights from memory.
// "avx2-f16" ran the float32 kernel on a float32 copy of the float16
// weights: MobileNetV2's 1280 -> 1000 classifier read 5.1 MB per inference
// and took as long as in float32 (0.34-0.37 ms, 1 thread, AMD Zen 4).
#include "ops/half_weight_gemm.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

constexpr int64_t kMaxRows = 4;  // rows (batch) these kernels take

// A plain [M, K] input (M <= kMaxRows) times constant weights [N, K] or
// [K, N], alpha = beta = 1, a [M, N] output; the bias (input 2) is the
// kernel's own.
bool ShapeOf(const KernelInit& init, HalfWeightGemmShape* s) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1) return false;
  const ValueInfo &x = *init.inputs[0], &w = *init.inputs[1], &y = init.outputs[0];
  if (x.shape.size() != 2 || w.shape.size() != 2 || !ir::IsStatic(x.shape) || !ir::IsStatic(w.shape)) return false;
  if (init.attrs.Int("transpose_a", 0) != 0 || init.attrs.Float("alpha", 1.0f) != 1.0f ||
      init.attrs.Float("beta", 1.0f) != 1.0f)
    return false;
  s->weights_transposed = init.attrs.Int("transpose_b", 1) != 0;
  s->m = x.shape[0];
  s->k = x.shape[1];
  s->n = s->weights_transposed ? w.shape[0] : w.shape[1];
  if ((s->weights_transposed ? w.shape[1] : w.shape[0]) != s->k) return false;
  if (s->m < 1 || s->m > kMaxRows || y.shape != ir::Shape{s->m, s->n}) return false;
  s->bias_input = 2;
  return true;
}

template <bool kHalf>
bool Supports(const KernelInit& init) {
  HalfWeightGemmShape s;
  return ShapeOf(init, &s) && HalfWeightGemmComputes(init, s, kHalf);
}

template <bool kHalf, bool kAvx512>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  HalfWeightGemmShape s;
  if (!ShapeOf(init, &s)) return Internal("FullyConnected gemv: unsupported step");
  const char* name =
      kHalf ? (kAvx512 ? "avx512-f16-gemv" : "avx2-f16-gemv") : (kAvx512 ? "avx512-f32-gemv" : "avx2-f32-gemv");
  return MakeHalfWeightGemm(init, s, kHalf, kAvx512, name, kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(fully_connected, half_gemv) {
  // Above avx2-f16 (10), which runs the float32 kernel on float32 weights.
  mixq::ops::RegisterKernel({"avx2-f16-gemv", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx2, 12,
                             mixq::ops::Supports<true>, mixq::ops::Make<true, false>});
  mixq::ops::RegisterKernel({"avx512-f16-gemv", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx512, 13,
                             mixq::ops::Supports<true>, mixq::ops::Make<true, true>});
  // Float32: above onednn (10) and avx2-f32 (15, which leaves few rows to
  // oneDNN anyway).
  mixq::ops::RegisterKernel({"avx2-f32-gemv", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx2, 16,
                             mixq::ops::Supports<false>, mixq::ops::Make<false, false>});
  mixq::ops::RegisterKernel({"avx512-f32-gemv", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx512, 17,
                             mixq::ops::Supports<false>, mixq::ops::Make<false, true>});
}
