// AVX2 GlobalAvgPool on float32: the reference's double sums four lanes at a
// time, divided by H * W in double and rounded once. NCHW sums each
// contiguous plane; NHWC adds each pixel's channel vector into per-channel
// double accumulators. Only the summation order differs from the
// reference: tolerance |y - ref| <= 2^-23 |ref| + 1e-15 max |x|;
// cpu_avx2_test.cc measured no difference (0 of 264 means of planes of 1 to
// 4097 pixels, both layouts). Compiled without FMA.
// "avx2-f16": FLOAT16 storage, each value widened with F16C as it is summed
// (exact), the mean rounded to float16 once: the Cast path's values.
// "avx2-bf16": the same for BFLOAT16 storage.
// NCHW inputs may also come blocked (nChw8c / nChw16c, float32 and float16:
// a convolution's blocked output read as it is): each channel's double sum
// then runs over the pixels in order, the reference's own order.
#include <immintrin.h>

#include <vector>

#include "kernels/half_io.h"
#include "kernels/parallel.h"
#include "ops/half_storage.h"
#include "ops/kernel_registry.h"
#include "ops/layout.h"
#include "util/half.h"

namespace mixq::ops {

namespace {

using kernels::BFloat16Bits;
using kernels::Load8;

inline float Load1(float v) {
  return v;
}
inline float Load1(uint16_t v) {
  return HalfToFloat(v);
}
inline float Load1(BFloat16Bits v) {
  return BFloat16ToFloat(v.bits);
}

// T: float, or uint16_t for float16 storage.
template <typename T>
__attribute__((target("avx2,f16c"))) double PlaneMean(const T* x, int64_t n) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = Load8(x + i);
    lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(lo, hi));
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; i < n; ++i) sum += Load1(x[i]);
  return sum / static_cast<double>(n);
}

// One channel block of a blocked NCHW image: `pixels` rows of kBlock (8 or
// 16) values; each channel's double sum in pixel order. kBlock a constant,
// so that the accumulators stay in registers (a runtime block kept them in
// memory: 0.052 against 0.030 ms for plain planes on PP-OCR rec's 480 x 6 x 80).
// `stride`: values between one pixel's first channel and the next's (kBlock
// in a blocked image; the channel count in a channels-last one).
template <int kBlock, typename T>
__attribute__((target("avx2,f16c"))) void BlockMeans(const T* x, int64_t pixels, float* y, int64_t stride = kBlock) {
  constexpr int kAcc = kBlock / 4;
  __m256d acc[kAcc];
#pragma GCC unroll 4
  for (int a = 0; a < kAcc; ++a) acc[a] = _mm256_setzero_pd();
  for (int64_t p = 0; p < pixels; ++p) {
#pragma GCC unroll 2
    for (int c = 0; c < kBlock; c += 8) {
      const __m256 v = Load8(x + p * stride + c);
      acc[c / 4] = _mm256_add_pd(acc[c / 4], _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
      acc[c / 4 + 1] = _mm256_add_pd(acc[c / 4 + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
  }
  alignas(32) double sums[kBlock];
#pragma GCC unroll 4
  for (int a = 0; a < kAcc; ++a) _mm256_store_pd(sums + 4 * a, acc[a]);
  for (int c = 0; c < kBlock; ++c) y[c] = static_cast<float>(sums[c] / static_cast<double>(pixels));
}

template <typename T>
void BlockMeans(const T* x, int64_t pixels, int64_t block, float* y) {
  if (block == 16)
    BlockMeans<16>(x, pixels, y);
  else
    BlockMeans<8>(x, pixels, y);
}

// The means of NHWC images ([batch][pixels][channels], or an NCHW tensor
// stored channels-last): the channels in groups of 16 (then 8, then one by
// one), each channel's double sum over the pixels in order, in registers.
template <typename T>
void ChannelsLastMeans(const T* x, int64_t batch, int64_t pixels, int64_t channels, float* means) {
  const int64_t groups16 = channels / 16;
#pragma omp parallel for schedule(static) if (groups16 > 1 && batch * channels * pixels > kernels::kMinParallelElements)
  for (int64_t g = 0; g < batch * groups16; ++g) {
    const int64_t n = g / groups16, c0 = g % groups16 * 16;
    BlockMeans<16>(x + n * pixels * channels + c0, pixels, means + n * channels + c0, channels);
  }
  for (int64_t n = 0; n < batch; ++n) {
    const T* image = x + n * pixels * channels;
    int64_t c = groups16 * 16;
    if (c + 8 <= channels) {
      BlockMeans<8>(image + c, pixels, means + n * channels + c, channels);
      c += 8;
    }
    for (; c < channels; ++c) {
      double acc = 0.0;
      for (int64_t p = 0; p < pixels; ++p) acc += Load1(image[p * channels + c]);
      means[n * channels + c] = static_cast<float>(acc / static_cast<double>(pixels));
    }
  }
}

class GlobalAvgPoolAvx2 : public Kernel {
 public:
  GlobalAvgPoolAvx2(bool nhwc, int64_t batch, int64_t channels, int64_t pixels, bool in_half, bool out_half, bool bf16,
                    int64_t block = 0)
      : nhwc_(nhwc),
        block_(block),
        batch_(batch),
        channels_(channels),
        pixels_(pixels),
        in_half_(in_half),
        out_half_(out_half),
        bf16_(bf16) {}
  const char* Name() const override { return in_half_ || out_half_ ? (bf16_ ? "avx2-bf16" : "avx2-f16") : "avx2"; }
  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    if (block_ > 0) return RunBlocked(in[0], out[0]);
    if (in_half_ || out_half_) return RunHalf(in[0], out[0]);
    const float* x = in[0].Data<const float>();
    float* y = out[0].Data<float>();
    if (nhwc_) {
      ChannelsLastMeans(x, batch_, pixels_, channels_, y);
      return Status::OK();
    }
    const int64_t planes = batch_ * channels_;
#pragma omp parallel for schedule(static) if (planes > 1 && planes * pixels_ > kernels::kMinParallelElements)
    for (int64_t p = 0; p < planes; ++p) y[p] = static_cast<float>(PlaneMean(x + p * pixels_, pixels_));
    return Status::OK();
  }

 private:
  // A blocked NCHW input (float32 or float16, not bfloat16): one job per
  // channel block.
  Status RunBlocked(const TensorView& in, const TensorView& out) const {
    const int64_t blocks = batch_ * channels_ / block_;
    std::vector<float> means(static_cast<size_t>(batch_ * channels_));
#pragma omp parallel for schedule(static) if (blocks > 1 && blocks * block_ * pixels_ > kernels::kMinParallelElements)
    for (int64_t b = 0; b < blocks; ++b) {
      float* y = means.data() + b * block_;
      if (in_half_)
        BlockMeans(in.Data<const uint16_t>() + b * pixels_ * block_, pixels_, block_, y);
      else
        BlockMeans(in.Data<const float>() + b * pixels_ * block_, pixels_, block_, y);
    }
    if (out_half_)
      kernels::FloatToNarrow16Row(false, means.data(), out.Data<uint16_t>(), batch_ * channels_);
    else
      std::copy(means.begin(), means.end(), out.Data<float>());
    return Status::OK();
  }

  // Float16 / bfloat16 storage in or out.
  Status RunHalf(const TensorView& in, const TensorView& out) const {
    const int64_t planes = batch_ * channels_;
    std::vector<float> means(static_cast<size_t>(planes));
    if (nhwc_) {
      if (!in_half_)
        ChannelsLastMeans(in.Data<const float>(), batch_, pixels_, channels_, means.data());
      else if (bf16_)
        ChannelsLastMeans(reinterpret_cast<const BFloat16Bits*>(in.Data<const uint16_t>()), batch_, pixels_, channels_,
                          means.data());
      else
        ChannelsLastMeans(in.Data<const uint16_t>(), batch_, pixels_, channels_, means.data());
    } else {
#pragma omp parallel for schedule(static) if (planes > 1 && planes * pixels_ > kernels::kMinParallelElements)
      for (int64_t p = 0; p < planes; ++p)
        means[static_cast<size_t>(p)] = static_cast<float>(
            !in_half_ ? PlaneMean(in.Data<const float>() + p * pixels_, pixels_)
            : bf16_ ? PlaneMean(reinterpret_cast<const BFloat16Bits*>(in.Data<const uint16_t>()) + p * pixels_, pixels_)
                    : PlaneMean(in.Data<const uint16_t>() + p * pixels_, pixels_));
    }
    if (out_half_)
      kernels::FloatToNarrow16Row(bf16_, means.data(), out.Data<uint16_t>(), planes);
    else
      std::copy(means.begin(), means.end(), out.Data<float>());
    return Status::OK();
  }

  bool nhwc_;
  int64_t block_;  // channels per block of a blocked NCHW input, 0 plain
  int64_t batch_, channels_, pixels_;
  bool in_half_, out_half_;  // 16-bit storage: float16, or bfloat16 (bf16_)
  bool bf16_;
};

bool SupportedShape(const KernelInit& init);

bool Supports(const KernelInit& init) {
  if (init.HasPostOps() || init.inputs.size() != 1 || !init.inputs[0] || !AllPlainFloat32(init)) return false;
  return SupportedShape(init);
}

template <DataType kNarrow>
bool SupportsHalf(const KernelInit& init) {
  if (init.inputs.size() != 1 || !init.inputs[0] || init.outputs.size() != 1 || !NarrowOrFloatStorage(init, kNarrow))
    return false;
  return SupportedShape(init);
}

// A blocked input (LayoutSlots) only on NCHW, float32 or float16, the
// channels in whole blocks; the output plain.
bool BlockedInputFits(const KernelInit& init, MemoryLayout block) {
  const ValueInfo& x = *init.inputs[0];
  const int64_t channels = BlockChannels(block);
  return channels > 0 && init.attrs.Str("layout", "NHWC") == "NCHW" && x.shape.size() == 4 &&
         x.shape[1] % channels == 0 && !IsNarrowStorage(x, DataType::BFLOAT16) &&
         !IsNarrowStorage(init.outputs[0], DataType::BFLOAT16);
}

// A channels-last input (an NCHW op's tensor stored [N, H, W, C], the
// bfloat16 convolutions' layout) only as bfloat16 storage: averaged as NHWC.
bool ChannelsLastInputFits(const KernelInit& init, MemoryLayout layout) {
  return layout == MemoryLayout::kChannelsLast && init.attrs.Str("layout", "NHWC") == "NCHW" &&
         init.inputs[0]->shape.size() == 4 && IsNarrowStorage(*init.inputs[0], DataType::BFLOAT16);
}

bool SupportedShape(const KernelInit& init) {
  const ir::Shape& shape = init.inputs[0]->shape;
  const std::string layout = init.attrs.Str("layout", "NHWC");
  if (init.outputs[0].layout != MemoryLayout::kPlain) return false;
  if (init.inputs[0]->layout != MemoryLayout::kPlain && !BlockedInputFits(init, init.inputs[0]->layout) &&
      !ChannelsLastInputFits(init, init.inputs[0]->layout))
    return false;
  return shape.size() == 4 && ir::IsStatic(shape) && ir::ElementCount(shape) > 0 &&
         (layout == "NCHW" || layout == "NHWC");
}

// KernelDef::blocked_slots: the input in nChw8c / nChw16c (a blocked
// convolution's output read as it is); the output, [N, C, 1, 1], plain.
template <bool (*kSupports)(const KernelInit&)>
void LayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs, std::vector<bool>* outputs) {
  inputs->assign(init.inputs.size(), false);
  outputs->assign(init.outputs.size(), false);
  if (kSupports(init) && (block == MemoryLayout::kBlocked8 || block == MemoryLayout::kBlocked16) &&
      BlockedInputFits(init, block))
    (*inputs)[0] = true;
  if (kSupports(init) && ChannelsLastInputFits(init, block)) (*inputs)[0] = true;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  const ir::Shape& s = init.inputs[0]->shape;
  const bool bf16 =
      IsNarrowStorage(*init.inputs[0], DataType::BFLOAT16) || IsNarrowStorage(init.outputs[0], DataType::BFLOAT16);
  const DataType narrow = bf16 ? DataType::BFLOAT16 : DataType::FLOAT16;
  const bool in_half = IsNarrowStorage(*init.inputs[0], narrow), out_half = IsNarrowStorage(init.outputs[0], narrow);
  if (init.inputs[0]->layout == MemoryLayout::kChannelsLast)  // NCHW stored as [N, H, W, C]
    *kernel = std::make_unique<GlobalAvgPoolAvx2>(true, s[0], s[1], s[2] * s[3], in_half, out_half, bf16);
  else if (init.attrs.Str("layout", "NHWC") == "NCHW")
    *kernel = std::make_unique<GlobalAvgPoolAvx2>(false, s[0], s[1], s[2] * s[3], in_half, out_half, bf16,
                                                  BlockChannels(init.inputs[0]->layout));
  else
    *kernel = std::make_unique<GlobalAvgPoolAvx2>(true, s[0], s[3], s[1] * s[2], in_half, out_half, bf16);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(global_avg_pool, avx2) {
  mixq::ops::RegisterKernel({"avx2", mixq::OpKind::kGlobalAvgPool, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports,
                             mixq::ops::Make, mixq::ops::LayoutSlots<mixq::ops::Supports>});
  mixq::ops::RegisterKernel({"avx2-f16", mixq::OpKind::kGlobalAvgPool, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::SupportsHalf<mixq::DataType::FLOAT16>, mixq::ops::Make,
                             mixq::ops::LayoutSlots<mixq::ops::SupportsHalf<mixq::DataType::FLOAT16>>});
  // bfloat16: plain, or channels-last (the bfloat16 convolutions' layout).
  mixq::ops::RegisterKernel({"avx2-bf16", mixq::OpKind::kGlobalAvgPool, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::SupportsHalf<mixq::DataType::BFLOAT16>, mixq::ops::Make,
                             mixq::ops::LayoutSlots<mixq::ops::SupportsHalf<mixq::DataType::BFLOAT16>>});
}
