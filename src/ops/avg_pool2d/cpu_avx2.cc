// AVX2 AvgPool2D for NCHW FLOAT32 ("avx2") and FLOAT16 storage ("avx2-f16"),
// bit-exact with the reference. Per channel plane a thread copies the input
// once into a plane padded with 0.0 and split by column phase (stride s: s
// phases, as the AVX2 MaxPool2D does), so that every tap of a vector of
// outputs is one unaligned load. Each output's sum is the reference's: a
// double accumulator starting at +0.0 that adds the window's values in the
// reference's order (row by row, left to right); the padded zeros it adds as
// well leave a sum unchanged (s + 0.0 == s for every s but -0.0, which a sum
// that starts at +0.0 never is). The mean is sum / count in double (count:
// AvgPoolAxisCount per axis, as the reference), rounded once to float32, so
// the tolerance is zero; a window that covers nothing gives 0.0 as there.
// "avx2-f16": each input line widened with F16C into the float plane
// (exact), the output rounded back once: the Cast path's values, bit for bit.
// "avx2-bf16" the same on bfloat16 storage (force_bfloat16).
// All three also pool blocked tensors (nChw8c / nChw16c, the channels in whole
// blocks: a blocked convolution's output read as it is) into the same
// layout or into plain NCHW: per output pixel, eight channels at a time, the same double sums in
// the same order (the taps outside the input, zeros, skipped: they change
// no sum) and the same division. The bfloat16 one pools channels-last
// tensors that way too (NHWC is the blocked layout with one block of all C
// channels; C a multiple of 8), the layout its convolutions write.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <type_traits>

#include "kernels/half_io.h"
#include "kernels/parallel.h"
#include "ops/half_storage.h"
#include "ops/kernel_registry.h"
#include "ops/pool_params.h"
#include "ops/pool_phase_plane.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

#define MIXQ_AVX2 __attribute__((target("avx2")))
#define MIXQ_AVX2_F16C __attribute__((target("avx2,f16c")))

using kernels::Load8;
using kernels::Store8;
using BFloat16 = kernels::BFloat16Bits;

// Channels per block of a tensor in `layout`: nChw8c / nChw16c's, all C in
// NHWC (one block), 0 for plain NCHW.
int64_t ChannelsPerBlock(MemoryLayout layout, const ir::Shape& shape) {
  if (layout == MemoryLayout::kChannelsLast) return shape.size() == 4 ? shape[1] : 0;
  return BlockChannels(layout);
}

constexpr int64_t kLanes = 8;

class AvgPoolAvx2 : public Kernel {
 public:
  const char* Name() const override { return bfloat16_ ? "avx2-bf16" : half_ ? "avx2-f16" : "avx2"; }

  Status Init(const KernelInit& init) {
    bfloat16_ = IsNarrowStorage(*init.inputs[0], DataType::BFLOAT16);
    half_ = IsHalfStorage(*init.inputs[0]) || bfloat16_;  // 16-bit storage, float16 or bfloat16
    block_ = ChannelsPerBlock(init.inputs[0]->layout, init.inputs[0]->shape);
    plain_out_ = init.outputs[0].layout == MemoryLayout::kPlain;
    MIXQ_RETURN_IF_ERROR(ReadPoolGeometry(init.attrs, init.inputs, false, &g_));
    const bool include_pad = init.attrs.Int("count_include_pad") != 0;
    out_w_padded_ = (g_.out_w + kLanes - 1) / kLanes * kLanes;
    // Rows and columns the windows reach (ceil_mode may reach past the pads).
    rows_ = std::max(g_.in_h + g_.pad_top + g_.pad_bottom, (g_.out_h - 1) * g_.stride_h + g_.kernel_h);
    phase_w_ = out_w_padded_ + (g_.kernel_w - 1) / g_.stride_w + 1;
    for (int64_t kh = 0; kh < g_.kernel_h; ++kh)
      for (int64_t kw = 0; kw < g_.kernel_w; ++kw)
        tap_offset_.push_back(((kw % g_.stride_w) * rows_ + kh) * phase_w_ + kw / g_.stride_w);
    count_h_.resize(static_cast<size_t>(g_.out_h));
    for (int64_t oh = 0; oh < g_.out_h; ++oh)
      count_h_[static_cast<size_t>(oh)] = static_cast<double>(AvgPoolAxisCount(
          oh * g_.stride_h - g_.pad_top, g_.kernel_h, g_.in_h, g_.pad_top, g_.pad_bottom, include_pad));
    count_w_.assign(static_cast<size_t>(out_w_padded_), 1.0);
    for (int64_t ow = 0; ow < g_.out_w; ++ow)
      count_w_[static_cast<size_t>(ow)] = static_cast<double>(AvgPoolAxisCount(
          ow * g_.stride_w - g_.pad_left, g_.kernel_w, g_.in_w, g_.pad_left, g_.pad_right, include_pad));
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    if (block_ > 0 && bfloat16_) return RunBlocked(in[0].Data<const BFloat16>(), out[0].Data<BFloat16>());
    if (block_ > 0 && half_) return RunBlocked(in[0].Data<const uint16_t>(), out[0].Data<uint16_t>());
    if (block_ > 0) return RunBlocked(in[0].Data<const float>(), out[0].Data<float>());
    const int64_t planes = g_.batch * g_.channels;
    const int64_t in_plane = g_.in_h * g_.in_w, out_plane = g_.out_h * g_.out_w;
    const int threads = std::max(1, omp_get_max_threads());
    if (scratch_.size() < static_cast<size_t>(threads)) scratch_.resize(static_cast<size_t>(threads));
#pragma omp parallel for schedule(static) if (planes > 1 && planes * in_plane > kernels::kMinParallelElements)
    for (int64_t p = 0; p < planes; ++p) {
      Scratch& s = scratch_[static_cast<size_t>(omp_get_thread_num())];
      if (half_) {
        s.wide.resize(static_cast<size_t>(out_plane));
        Widen(in[0].Data<const uint16_t>() + p * in_plane, &s);
        Pool(&s, s.wide.data());
        kernels::FloatToNarrow16Row(bfloat16_, s.wide.data(), out[0].Data<uint16_t>() + p * out_plane, out_plane);
      } else {
        Widen(in[0].Data<const float>() + p * in_plane, &s);
        Pool(&s, out[0].Data<float>() + p * out_plane);
      }
    }
    return Status::OK();
  }

 private:
  struct Scratch {
    std::vector<float> plane, row, line, wide;  // line, wide: float16 storage
  };

  // S: float, or uint16_t (float16 / bfloat16 storage): each line widened first.
  template <typename S>
  void Widen(const S* x, Scratch* s) const {
    SplitByStridePhase<float>(x, g_, rows_, phase_w_, 0.0f, &s->plane, &s->line, bfloat16_);
  }

  MIXQ_AVX2 void Pool(Scratch* s, float* y) const {
    s->row.resize(static_cast<size_t>(out_w_padded_));
    const size_t taps = tap_offset_.size();
    const __m256d one = _mm256_set1_pd(1.0);
    for (int64_t oh = 0; oh < g_.out_h; ++oh) {
      const float* base = s->plane.data() + oh * g_.stride_h * phase_w_;
      const __m256d count_h = _mm256_set1_pd(count_h_[static_cast<size_t>(oh)]);
      float* dst_row = y + oh * g_.out_w;
      for (int64_t ow = 0; ow < out_w_padded_; ow += kLanes) {
        float* dst = ow + kLanes <= g_.out_w ? dst_row + ow : s->row.data() + ow;
        __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
        for (size_t t = 0; t < taps; ++t) {
          const __m256 v = _mm256_loadu_ps(base + tap_offset_[t] + ow);
          lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
          hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
        }
        // count 0 (nothing covered, the sum is 0.0): divide by 1 for 0.0.
        const __m256d c_lo = _mm256_max_pd(_mm256_mul_pd(count_h, _mm256_loadu_pd(count_w_.data() + ow)), one);
        const __m256d c_hi = _mm256_max_pd(_mm256_mul_pd(count_h, _mm256_loadu_pd(count_w_.data() + ow + 4)), one);
        const __m128 m_lo = _mm256_cvtpd_ps(_mm256_div_pd(lo, c_lo)), m_hi = _mm256_cvtpd_ps(_mm256_div_pd(hi, c_hi));
        _mm256_storeu_ps(dst, _mm256_insertf128_ps(_mm256_castps128_ps256(m_lo), m_hi, 1));
        if (dst != dst_row + ow)
          std::copy(s->row.data() + ow, s->row.data() + std::min(ow + kLanes, g_.out_w), dst_row + ow);
      }
    }
  }

  // A blocked tensor in, the same layout or plain out: one task per output
  // row of a channel block.
  template <typename S>
  Status RunBlocked(const S* x, S* y) const {
    const int64_t rows = g_.batch * (g_.channels / block_) * g_.out_h;
#pragma omp parallel for schedule(static) if (rows > 1 && rows * g_.out_w * block_ > kernels::kMinParallelElements)
    for (int64_t row = 0; row < rows; ++row) PoolRowBlocked(x, y, row);
    return Status::OK();
  }

  template <typename S>
  MIXQ_AVX2_F16C void PoolRowBlocked(const S* x, S* y, int64_t row) const {
    const int64_t image = row / g_.out_h, oh = row % g_.out_h;
    const S* in = x + image * g_.in_h * g_.in_w * block_;
    // Plain out: channel c of the block at (image * block + c) * out_h * out_w.
    const int64_t out_plane = g_.out_h * g_.out_w;
    S* dst = plain_out_ ? y + image * block_ * out_plane + oh * g_.out_w : y + row * g_.out_w * block_;
    const int64_t h0 = oh * g_.stride_h - g_.pad_top;
    const int64_t kh_begin = std::max<int64_t>(0, -h0), kh_end = std::min(g_.kernel_h, g_.in_h - h0);
    const double count_h = count_h_[static_cast<size_t>(oh)];
    for (int64_t ow = 0; ow < g_.out_w; ++ow, dst += plain_out_ ? 1 : block_) {
      const int64_t w0 = ow * g_.stride_w - g_.pad_left;
      const int64_t kw_begin = std::max<int64_t>(0, -w0), kw_end = std::min(g_.kernel_w, g_.in_w - w0);
      // count 0 (nothing covered, the sum is 0.0): divide by 1 for 0.0.
      const __m256d count = _mm256_set1_pd(std::max(count_h * count_w_[static_cast<size_t>(ow)], 1.0));
      for (int64_t c = 0; c < block_; c += 8) {
        __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
        for (int64_t kh = kh_begin; kh < kh_end; ++kh)
          for (int64_t kw = kw_begin; kw < kw_end; ++kw) {
            const __m256 v = Load8(in + ((h0 + kh) * g_.in_w + w0 + kw) * block_ + c);
            lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
            hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
          }
        const __m128 m_lo = _mm256_cvtpd_ps(_mm256_div_pd(lo, count)), m_hi = _mm256_cvtpd_ps(_mm256_div_pd(hi, count));
        const __m256 mean = _mm256_insertf128_ps(_mm256_castps128_ps256(m_lo), m_hi, 1);
        if (!plain_out_) {
          Store8(dst + c, mean);
          continue;
        }
        S lanes[8];
        Store8(lanes, mean);
        for (int64_t k = 0; k < 8; ++k) dst[(c + k) * out_plane] = lanes[k];
      }
    }
  }

  PoolGeometry g_;
  bool half_ = false, bfloat16_ = false;
  int64_t block_ = 0;      // channels per block of a blocked (or NHWC: all C) input; 0: plain
  bool plain_out_ = true;  // with a blocked input: the output plain, else in its layout
  int64_t rows_ = 0, out_w_padded_ = 0, phase_w_ = 0;
  std::vector<int64_t> tap_offset_;
  std::vector<double> count_h_, count_w_;
  std::vector<Scratch> scratch_;
};

bool SupportedGeometry(const KernelInit& init) {
  if (init.attrs.Str("layout", "NCHW") != "NCHW") return false;
  PoolGeometry g;
  return ReadPoolGeometry(init.attrs, init.inputs, false, &g).ok() && ir::IsStatic(init.inputs[0]->shape) &&
         g.out_h > 0 && g.out_w > 0;
}

// Plain in and out, or a blocked input with the channels in whole blocks
// (`channels_last`: or an NHWC one, C a multiple of 8) and the output in
// its layout or plain.
bool LayoutsFit(const KernelInit& init, bool channels_last = false) {
  const MemoryLayout layout = init.inputs[0]->layout, out = init.outputs[0].layout;
  const ir::Shape& shape = init.inputs[0]->shape;
  if (layout == MemoryLayout::kPlain) return out == MemoryLayout::kPlain;
  if (layout == MemoryLayout::kChannelsLast)
    return channels_last && (out == layout || out == MemoryLayout::kPlain) && shape.size() == 4 && shape[1] > 0 &&
           shape[1] % 8 == 0;
  return (out == layout || out == MemoryLayout::kPlain) && BlockChannels(layout) > 0 && shape.size() == 4 &&
         shape[1] % BlockChannels(layout) == 0;
}

bool Supports(const KernelInit& init) {
  if (init.inputs.size() != 1 || !init.inputs[0] || init.outputs.size() != 1 || init.HasPostOps()) return false;
  return AllPlainFloat32(init) && LayoutsFit(init) && SupportedGeometry(init);
}

bool SupportsHalf(const KernelInit& init) {
  if (init.inputs.size() != 1 || !init.inputs[0] || init.outputs.size() != 1 || init.HasPostOps()) return false;
  if (!IsHalfStorage(*init.inputs[0]) || !IsHalfStorage(init.outputs[0])) return false;
  return LayoutsFit(init) && SupportedGeometry(init);
}

bool SupportsBFloat16(const KernelInit& init) {
  if (init.inputs.size() != 1 || !init.inputs[0] || init.outputs.size() != 1 || init.HasPostOps()) return false;
  if (!IsNarrowStorage(*init.inputs[0], DataType::BFLOAT16) || !IsNarrowStorage(init.outputs[0], DataType::BFLOAT16))
    return false;
  return LayoutsFit(init, /*channels_last=*/true) && SupportedGeometry(init);
}

// KernelDef::blocked_slots of "avx2-bf16": in and out NHWC (the layout of
// the bfloat16 convolutions) where C is a multiple of 8.
void ChannelsLastSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                       std::vector<bool>* outputs) {
  const ir::Shape& shape = init.inputs[0]->shape;
  const bool ok = block == MemoryLayout::kChannelsLast && SupportsBFloat16(init) && shape.size() == 4 && shape[1] > 0 &&
                  shape[1] % 8 == 0;
  inputs->assign(init.inputs.size(), ok);
  outputs->assign(init.outputs.size(), ok);
}

// KernelDef::blocked_slots: in and out in nChw8c / nChw16c where the
// channels fill whole blocks (the output may stay plain when its readers
// want it so).
template <bool (*kSupports)(const KernelInit&)>
void LayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs, std::vector<bool>* outputs) {
  const ir::Shape& shape = init.inputs[0]->shape;
  const bool ok =
      BlockChannels(block) > 0 && kSupports(init) && shape.size() == 4 && shape[1] % BlockChannels(block) == 0;
  inputs->assign(init.inputs.size(), ok);
  outputs->assign(init.outputs.size(), ok);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<AvgPoolAvx2>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(avg_pool2d, avx2) {
  mixq::ops::RegisterKernel({"avx2", mixq::OpKind::kAvgPool2D, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports,
                             mixq::ops::Make, mixq::ops::LayoutSlots<mixq::ops::Supports>});
  mixq::ops::RegisterKernel({"avx2-f16", mixq::OpKind::kAvgPool2D, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::SupportsHalf, mixq::ops::Make,
                             mixq::ops::LayoutSlots<mixq::ops::SupportsHalf>});
  mixq::ops::RegisterKernel({"avx2-bf16", mixq::OpKind::kAvgPool2D, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::SupportsBFloat16, mixq::ops::Make, mixq::ops::ChannelsLastSlots});
}
