#include "ops/conv2d/amx_f16_conv_common.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/avx512_warnings.h"
#include "kernels/cpu_features.h"
#include "kernels/half_split.h"
#include "ops/amx_bf16_gemm.h"
#include "ops/amx_jobs.h"
#include "ops/half_storage.h"
#include "util/half.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {

namespace {

constexpr int64_t kTile = 16;

int AddendInput(const KernelInit& init) {
  if (!init.post_ops) return -1;
  for (const PostOp& op : *init.post_ops)
    if (op.kind == PostOp::Kind::kAdd) return op.input;
  return -1;
}

bool LayoutTaken(const ValueInfo& v) {
  return v.layout == MemoryLayout::kPlain || v.layout == MemoryLayout::kBlocked16;
}

// `count` rows of the tile plus the bias into run[r * 16 + lane].
__attribute__((target("avx512f"))) void GatherTile(const float* c, const float* bias, int64_t count, float* run) {
  const __m512 b = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
  for (int64_t r = 0; r < count; ++r)
    _mm512_store_ps(run + r * kTile, _mm512_add_ps(_mm512_loadu_ps(c + r * kAmxBlockCols), b));
}

// The same rows clamped by each of `clamps` in order and rounded to float16
// straight into the output run `y`.
__attribute__((target("avx512f,f16c"))) void StoreClampedTile(const float* c, const float* bias, int64_t count,
                                                              const std::vector<std::pair<float, float>>& clamps,
                                                              uint16_t* y) {
  const __m512 b = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
  for (int64_t r = 0; r < count; ++r) {
    __m512 v = _mm512_add_ps(_mm512_loadu_ps(c + r * kAmxBlockCols), b);
    // NaN -> lo: max returns its second operand (as the stage's clamps, ops/clamp.h).
    for (const auto& [lo, hi] : clamps) v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(lo)), _mm512_set1_ps(hi));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + r * kTile),
                        _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
}

}  // namespace

bool AmxHalfConvTaken(const KernelInit& init, AmxHalfConvStep* s) {
  const kernels::CpuFeatures& cpu = kernels::DetectedCpuFeatures();
  if (!cpu.amx_bf16 || !cpu.avx512bf16 || !cpu.avx512bw || !cpu.avx512vl || !cpu.f16c) return false;
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1) return false;
  const ValueInfo &x = *init.inputs[0], &w = *init.inputs[1], &y = init.outputs[0];
  if (!IsHalfStorage(x) || !IsHalfStorage(y) || x.quant || y.quant || !LayoutTaken(x) || !LayoutTaken(y)) return false;
  if (!w.const_data || w.dtype != DataType::FLOAT32 || w.quant || w.layout != MemoryLayout::kPlain) return false;
  if (init.inputs.size() > 2 && init.inputs[2]) {
    const ValueInfo& b = *init.inputs[2];
    if (b.dtype != DataType::FLOAT32 || b.quant || b.narrowed || b.layout != MemoryLayout::kPlain) return false;
  }
  if (!ComputeConv2DGeometry(init.attrs, init.inputs, &s->g).ok()) return false;
  const ConvGeometry& g = s->g;
  if (g.group != 1 || g.in_channels % 16 != 0) return false;
  if (g.input_axes.pos[1] != 1 || g.output_axes.pos[1] != 1) return false;  // logical NCHW
  s->addend = AddendInput(init);
  if (s->addend >= 0) {
    if (static_cast<size_t>(s->addend) >= init.inputs.size() || !init.inputs[static_cast<size_t>(s->addend)])
      return false;
    const ValueInfo& a = *init.inputs[static_cast<size_t>(s->addend)];
    if (a.const_data || a.shape != y.shape || !LayoutTaken(a)) return false;
  }
  if (!HalfOutputStage::Supports(init)) return false;
  // The filter's values finite float16 ones (force_float16 rounds a filter
  // consumed in FLOAT16 once): then its split is exact, and no wl is inf.
  const auto* f = static_cast<const float*>(w.const_data);
  const int64_t count = ir::ElementCount(w.shape);
  return HoldsHalfValues(f, count) && std::all_of(f, f + count, [](float v) { return std::isfinite(v); });
}

bool AmxHalfConvAllBlocked(const KernelInit& init, const AmxHalfConvStep& s) {
  if (init.inputs[0]->layout != MemoryLayout::kBlocked16 || init.outputs[0].layout != MemoryLayout::kBlocked16)
    return false;
  return s.addend < 0 || init.inputs[static_cast<size_t>(s.addend)]->layout == MemoryLayout::kBlocked16;
}

void AmxHalfConvSlots(const KernelInit& init, MemoryLayout block, bool taken, bool blocked_output,
                      std::vector<bool>* inputs, std::vector<bool>* outputs) {
  inputs->assign(init.inputs.size(), false);
  outputs->assign(init.outputs.size(), false);
  if (block != MemoryLayout::kBlocked16 || !taken) return;
  (*inputs)[0] = true;
  (*outputs)[0] = blocked_output;
  const int addend = AddendInput(init);
  if (addend >= 0 && static_cast<size_t>(addend) < inputs->size())
    (*inputs)[static_cast<size_t>(addend)] = blocked_output;
}

AmxHalfConvOutput::AmxHalfConvOutput(const KernelInit& init) : stage_(std::make_unique<HalfOutputStage>(init)) {
  clamps_only_ = stage_->ClampsThenRound(&clamps_);
}

void AmxHalfConvOutput::Store(const float* c, const float* bias, int64_t rows, int64_t at,
                              const std::vector<TensorView>& in, const TensorView& out) const {
  if (clamps_only_) {  // no pass through a run buffer (ResNet-50 force_float16: about 1 %)
    StoreClampedTile(c, bias, rows, clamps_, out.Data<uint16_t>() + at);
    return;
  }
  alignas(64) float run[kAmxBlockRows * kTile];
  GatherTile(c, bias, rows, run);
  stage_->Apply(run, rows * kTile, at, in, out);
}

Status PackAmxHalfFilter(const KernelInit& init, const std::string& key, const ConvGeometry& g,
                         const std::array<int64_t, 4>& strides, const float* filter,
                         std::shared_ptr<const std::vector<uint32_t>>* packed, int64_t* private_bytes) {
  const int64_t taps = g.kernel_h * g.kernel_w, c = g.in_channels;
  const int64_t k = taps * 2 * c, n = g.out_channels, words = AmxBFloat16BWords(k, n);
  return PackOnce<uint32_t>(
      init, key, static_cast<size_t>(words),
      [&](uint32_t* words_data) {
        PackAmxBFloat16B(
            k, n,
            [&](int64_t kk, int64_t o) {
              const int64_t t = kk / 2 / c, ch = kk / 2 % c;
              const float v =
                  filter[o * strides[0] + ch * strides[1] + t / g.kernel_w * strides[2] + t % g.kernel_w * strides[3]];
              float hi, lo;
              kernels::SplitHalfValue(FloatToHalf(v), &hi, &lo);
              return kk % 2 == 0 ? hi : lo;
            },
            nullptr, words_data);
      },
      packed, private_bytes);
}

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON
