// MaxPool2D on bfloat16 tensors stored channels-last ("avx512-bf16"): the
// layout force_bfloat16 keeps between oneDNN's bfloat16 convolutions
// (ResNet-50's stem pool). Per output pixel, 32 channels at a time: each
// tap's values widened (exact) into two zmm and combined with maxps, whose
// result is the reference's rule (the first value wins ties, a NaN best
// stays) except where a NaN follows a number; any NaN in the window sends
// those 32 channels through the exact scalar rule instead. The maximum is one
// of the inputs, so its bfloat16 bits are the upper half of its float32 bits.
// The same bits as avx2-bf16 and the Cast path (cpu_avx2_test.cc); 0.31 ms
// for avx2-bf16 on ResNet-50's stem pool on an AMX Xeon, one thread, where
// eight channels cost six vector operations per tap.
//
// Only channels-last in and out (keep_with_layouts): a plain tensor goes to
// avx2-bf16.
#include <immintrin.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/avx512_warnings.h"
#include "kernels/parallel.h"
#include "ops/half_storage.h"
#include "ops/kernel_registry.h"
#include "ops/pool_params.h"
#include "util/half.h"
#include "util/status_util.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {
namespace {

__attribute__((target("avx512f,avx512bw"))) inline __m512 Widen(const uint16_t* p) {
  return _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
}

__attribute__((target("avx512f,avx512bw"))) inline void Narrow(__m512 v, uint16_t* p) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p),
                      _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_castps_si512(v), 16)));
}

// The reference's rule on one channel: a greater value, or a first NaN, wins.
uint16_t ExactMax(const uint16_t* const* taps, size_t count, int64_t c) {
  float best = -std::numeric_limits<float>::infinity();
  for (size_t t = 0; t < count; ++t) {
    const float v = BFloat16ToFloat(taps[t][c]);
    if (v > best || (std::isnan(v) && !std::isnan(best))) best = v;
  }
  return FloatToBFloat16(best);
}

class MaxPoolBFloat16Avx512 : public Kernel {
 public:
  const char* Name() const override { return "avx512-bf16"; }

  Status Init(const KernelInit& init) {
    MIXQ_RETURN_IF_ERROR(ReadPoolGeometry(init.attrs, init.inputs, true, &g_));
    if (init.inputs[0]->layout != MemoryLayout::kChannelsLast || init.outputs[0].layout != MemoryLayout::kChannelsLast)
      return Internal("avx512-bf16 MaxPool2D pools channels-last tensors only");
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const auto* x = static_cast<const uint16_t*>(in[0].data);
    auto* y = static_cast<uint16_t*>(out[0].data);
    const int64_t rows = g_.batch * g_.out_h;
#pragma omp parallel for schedule(static) if (rows > 1 && rows * g_.out_w * g_.channels > kernels::kMinParallelElements)
    for (int64_t row = 0; row < rows; ++row) PoolRow(x, y, row);
    return Status::OK();
  }

 private:
  __attribute__((target("avx512f,avx512bw"))) void PoolRow(const uint16_t* x, uint16_t* y, int64_t row) const {
    const int64_t channels = g_.channels;
    std::vector<const uint16_t*> taps(static_cast<size_t>(g_.kernel_h * g_.kernel_w));
    const int64_t n = row / g_.out_h, oh = row % g_.out_h;
    const uint16_t* image = x + n * g_.in_h * g_.in_w * channels;
    for (int64_t ow = 0; ow < g_.out_w; ++ow) {
      const size_t count = PoolWindowTaps(g_, image, oh, ow, channels, taps.data());
      uint16_t* dst = y + ((n * g_.out_h + oh) * g_.out_w + ow) * channels;
      int64_t c = 0;
      for (; c + 32 <= channels; c += 32) {
        __m512 lo = _mm512_set1_ps(-std::numeric_limits<float>::infinity()), hi = lo;
        __mmask16 nan = 0;
        for (size_t t = 0; t < count; ++t) {
          const __m512 a = Widen(taps[t] + c), b = Widen(taps[t] + c + 16);
          nan |= _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q);
          lo = _mm512_max_ps(a, lo);  // a > lo ? a : lo: ties keep the first
          hi = _mm512_max_ps(b, hi);
        }
        if (nan) {
          for (int64_t k = c; k < c + 32; ++k) dst[k] = ExactMax(taps.data(), count, k);
          continue;
        }
        Narrow(lo, dst + c);
        Narrow(hi, dst + c + 16);
      }
      for (; c < channels; ++c) dst[c] = ExactMax(taps.data(), count, c);
    }
  }

  PoolGeometry g_;
};

bool Supports(const KernelInit& init) {
  if (init.inputs.size() != 1 || !init.inputs[0] || init.outputs.size() != 1 || init.HasPostOps()) return false;
  if (!IsNarrowStorage(*init.inputs[0], DataType::BFLOAT16) || !IsNarrowStorage(init.outputs[0], DataType::BFLOAT16))
    return false;
  const MemoryLayout layout = init.inputs[0]->layout;
  if (layout != init.outputs[0].layout || (layout != MemoryLayout::kPlain && layout != MemoryLayout::kChannelsLast))
    return false;
  if (init.attrs.Str("layout", "NCHW") != "NCHW") return false;
  PoolGeometry g;
  return ReadPoolGeometry(init.attrs, init.inputs, true, &g).ok() && ir::IsStatic(init.inputs[0]->shape) &&
         g.out_h > 0 && g.out_w > 0;
}

void LayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs, std::vector<bool>* outputs) {
  const bool ok = block == MemoryLayout::kChannelsLast && Supports(init);
  inputs->assign(init.inputs.size(), ok);
  outputs->assign(init.outputs.size(), ok);
}

bool KeepWithLayouts(const KernelInit& init) {
  return init.inputs[0]->layout == MemoryLayout::kChannelsLast;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<MaxPoolBFloat16Avx512>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON

MIXQ_REGISTER_KERNELS(max_pool2d, avx512_bf16) {
  mixq::ops::RegisterKernel({"avx512-bf16", mixq::OpKind::kMaxPool2D, mixq::kernels::Isa::kAvx512, 11,
                             mixq::ops::Supports, mixq::ops::Make, mixq::ops::LayoutSlots, mixq::ops::KeepWithLayouts});
}
