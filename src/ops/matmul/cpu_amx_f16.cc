// "amx-f16-gemm": MatMul of float16 activations by a constant 2-D b of
// float16 values (a's batch dims folded into rows), computed in float32 on
// AMX-BF16 tiles.
//
// Why: oneDNN 2.6 has no float16 matmul; "onednn-f16" runs oneDNN's
// float32 GEMM on widened rows, so BERT-base force_float16 ran at float32's
// speed (AMX Xeon), where the bfloat16 tiles do 16x the float32 FMAs'
// multiply-adds a cycle.
//
// How: ops/amx_split_gemm.h, as "amx-f16-pw": every float16 value the exact
// sum of two bfloat16 values, b packed once per engine as (wh, wl) pairs
// (its float32 bytes), a's rows split 32 at a time into (xh, xh) and (xl,
// xl) A tiles, four exact products per multiply-add summed in float32. The
// float32 product goes to the thread's scratch and each row through the
// output stage as onednn-f16's does (HalfOutputStage::ApplyBiased: rounded
// to float16, a fused column bias added as the Add step adds it, the
// post-ops after it, each rounded).
//
// Accuracy: the float32 GEMM's sums of the same exact products in another
// order: within one float16 step of the reference's result
// (cpu_half_gemm_test.cc's cases run it too).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "kernels/avx512_warnings.h"
#include "kernels/cpu_features.h"
#include "kernels/half_split.h"
#include "kernels/parallel.h"
#include "kernels/thread_scratch.h"
#include "ops/amx_bf16_gemm.h"
#include "ops/amx_split_gemm.h"
#include "ops/half_output_stage.h"
#include "ops/half_storage.h"
#include "ops/half_weight_gemm.h"
#include "ops/matmul/geometry.h"
#include "util/half.h"
#include "util/status_util.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {

namespace {

// Rows from which the product runs here (one A tile). PP-OCRv4 rec's 40-row
// products ran faster here than on the float16 GEMM, which reads half the
// weight bytes (its 40 x 120 x 6625 head 0.571 -> 0.452 ms at 1 thread,
// 0.236 -> 0.188 at 2, step minima, AMX Xeon); below 16 rows a tile is
// mostly empty.
constexpr int64_t kMinRows = 16;
// A product splits over threads from this many multiply-adds.
constexpr int64_t kMinParallelMacs = int64_t{1} << 20;
// kernels::ThreadScratch slot of the float32 product (RunSplitJobs has 0 and 1).
constexpr int kProductSlot = 2;

bool CpuTakes() {
  const kernels::CpuFeatures& cpu = kernels::DetectedCpuFeatures();
  return cpu.amx_bf16 && cpu.avx512bf16 && cpu.avx512bw && cpu.avx512vl && cpu.f16c;
}

// b's value (k, n) as a float (its [K, N] or [N, K] bytes).
float WeightAt(const float* b, const HalfWeightGemmShape& s, int64_t k, int64_t n) {
  return s.weights_transposed ? b[n * s.k + k] : b[k * s.n + n];
}

bool StepTaken(const KernelInit& init, HalfWeightGemmShape* s) {
  if (!CpuTakes() || !ConstantWeightGemmShape(init, s) || s->m < kMinRows ||
      !HalfWeightGemmComputes(init, *s, /*half=*/true))
    return false;
  if (!IsHalfStorage(*init.inputs[0]) || !IsHalfStorage(init.outputs[0])) return false;
  // b's values finite float16 ones: its split is exact, and no wl is inf.
  const auto* b = static_cast<const float*>(init.inputs[1]->const_data);
  const int64_t count = s->k * s->n;
  return HoldsHalfValues(b, count) && std::all_of(b, b + count, [](float v) { return std::isfinite(v); });
}

// `rows` x `cols` (up to 32 x 32) of the C block (rows kAmxBlockCols floats
// apart) into the product at y (rows ldy floats apart).
__attribute__((target("avx512f"))) void StoreBlock(const float* c, int64_t rows, int64_t cols, float* y, int64_t ldy) {
  const __mmask16 lo = static_cast<__mmask16>(cols >= 16 ? 0xffff : (1u << cols) - 1);
  const __mmask16 hi = static_cast<__mmask16>(cols >= 32 ? 0xffff : cols > 16 ? (1u << (cols - 16)) - 1 : 0);
  for (int64_t r = 0; r < rows; ++r) {
    _mm512_mask_storeu_ps(y + r * ldy, lo, _mm512_loadu_ps(c + r * kAmxBlockCols));
    if (hi) _mm512_mask_storeu_ps(y + r * ldy + 16, hi, _mm512_loadu_ps(c + r * kAmxBlockCols + 16));
  }
}

class AmxHalfMatMul : public Kernel {
 public:
  const char* Name() const override { return "amx-f16-gemm"; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }
  // b is packed; a column bias is copied.
  bool ReadsInputAtRun(size_t index) const override {
    return index != 1 && static_cast<int>(index) != rows_->column_bias_input();
  }

  Status Init(const KernelInit& init) {
    if (!StepTaken(init, &s_)) return Internal("MatMul amx-f16-gemm: unsupported step");
    rows_ = std::make_unique<HalfGemmRowStage>(init, s_.n);
    const HalfWeightGemmShape s = s_;
    const auto* w = static_cast<const float*>(init.inputs[1]->const_data);
    const int64_t k2 = 2 * s.k, words = AmxBFloat16BWords(k2, s.n);
    MIXQ_RETURN_IF_ERROR(PackOnce<uint32_t>(
        init, Name(), static_cast<size_t>(words),
        [&](uint32_t* words_data) {
          PackAmxBFloat16B(
              k2, s.n,
              [&](int64_t kk, int64_t n) {
                float hi, lo;
                kernels::SplitHalfValue(FloatToHalf(WeightAt(w, s, kk / 2, n)), &hi, &lo);
                return kk % 2 == 0 ? hi : lo;
              },
              nullptr, words_data);
        },
        &packed_, &private_bytes_));
    b_ = ViewAmxBFloat16B(k2, s.n, packed_->data());
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int64_t m = s_.m, k = s_.k, n = s_.n, chunks = b_.chunks;
    auto* product =
        static_cast<float*>(kernels::ThreadScratch(kProductSlot, static_cast<size_t>(m * n) * sizeof(float)));
    if (!product) return ResourceExhausted("MatMul amx-f16-gemm: no memory for its float32 product");
    const uint16_t* a = in[0].Data<const uint16_t>();
    const int threads = std::max(1, omp_get_max_threads());
    const AmxJobPlan plan =
        PlanAmxJobs(m, (b_.n_blocks + 1) / 2, b_.n_blocks * chunks * kAmxBTileWords * 4,
                    m * chunks * 16 * 8 /* the staged rows */, m * k * n, threads, kMinParallelMacs);
    const bool ran = RunSplitJobs(
        plan, chunks * kSplitBlockValues,
        [&](int64_t rb, uint16_t* to) {
          kernels::SplitHalfRowsToPairTiles(a, k, k, rb * kAmxBlockRows,
                                            std::min(kAmxBlockRows, m - rb * kAmxBlockRows), to);
        },
        [&](int64_t rb, const uint16_t* staged, int64_t pair, float* c) {
          const int64_t first = 2 * pair, b_stride = chunks * kAmxBTileWords;
          if (first + 1 < b_.n_blocks)
            SplitTileProducts<2>(staged, chunks, b_.tiles + first * b_stride, b_stride, c);
          else
            SplitTileProducts<1>(staged, chunks, b_.tiles + first * b_stride, b_stride, c);
          const int64_t r0 = rb * kAmxBlockRows, col0 = first * 16;
          StoreBlock(c, std::min(kAmxBlockRows, m - r0), std::min(kAmxBlockCols, n - col0), product + r0 * n + col0, n);
        });
    if (!ran) return ResourceExhausted("MatMul amx-f16-gemm: no memory for its split rows");
    rows_->Apply(product, s_.m, s_.n, in, out[0]);
    return Status::OK();
  }

 private:
  HalfWeightGemmShape s_;
  std::unique_ptr<HalfGemmRowStage> rows_;  // the rounding, the column bias, the post-ops
  std::shared_ptr<const std::vector<uint32_t>> packed_;
  AmxBFloat16B b_;
  int64_t private_bytes_ = 0;
};

bool Supports(const KernelInit& init) {
  HalfWeightGemmShape s;
  return StepTaken(init, &s);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<AmxHalfMatMul>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON

MIXQ_REGISTER_KERNELS(matmul, amx_f16) {
  // Above onednn-f16 (14) and avx512-f16-gemm (13) for the products it takes.
  mixq::ops::RegisterKernel(
      {"amx-f16-gemm", mixq::OpKind::kMatMul, mixq::kernels::Isa::kAmx, 15, mixq::ops::Supports, mixq::ops::Make});
}
