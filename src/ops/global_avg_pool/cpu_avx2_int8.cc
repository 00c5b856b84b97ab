// "avx2-int8": the int8 GlobalAvgPool of an integer chain (ops/int8_chain.h,
// a rescaling step), int8 or float32 out. NCHW: each plane's codes summed 32
// at a time with vpsadbw on q + 128 (exact 64-bit sums), the offsets
// subtracted once: acc = sum(q) - H * W * z. NHWC: each pixel's channel
// vector added into per-channel int32 sums (exact below 2^23 pixels). The
// output stage per channel is the reference's scalar formula on the same
// exact acc, so the kernel is bit-exact with it. An NCHW tensor the plan
// stores channels-last (MemoryLayout::kChannelsLast) is summed as NHWC.
#include <immintrin.h>

#include <vector>

#include "kernels/parallel.h"
#include "ops/int8_chain.h"
#include "ops/kernel_registry.h"
#include "quant/requantize.h"

namespace mixq::ops {

namespace {

#define MIXQ_AVX2 __attribute__((target("avx2")))

// sum of n codes.
MIXQ_AVX2 int64_t PlaneSum(const int8_t* x, int64_t n) {
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80)), zero = _mm256_setzero_si256();
  __m256i acc = _mm256_setzero_si256();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i u = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)), bias);
    acc = _mm256_add_epi64(acc, _mm256_sad_epu8(u, zero));
  }
  alignas(32) int64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc);
  int64_t sum = lanes[0] + lanes[1] + lanes[2] + lanes[3] - 128 * i;
  for (; i < n; ++i) sum += x[i];
  return sum;
}

// Per-channel sums of one NHWC image: `pixels` rows of `channels` codes.
MIXQ_AVX2 void ChannelSums(const int8_t* x, int64_t pixels, int64_t channels, int32_t* acc) {
  for (int64_t c = 0; c < channels; ++c) acc[c] = 0;
  for (int64_t p = 0; p < pixels; ++p) {
    const int8_t* row = x + p * channels;
    int64_t c = 0;
    for (; c + 8 <= channels; c += 8) {
      const __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + c)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + c),
                          _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + c)), v));
    }
    for (; c < channels; ++c) acc[c] += row[c];
  }
}

class Int8GlobalAvgPoolAvx2 : public Kernel {
 public:
  Int8GlobalAvgPoolAvx2(bool nhwc, int64_t batch, int64_t channels, int64_t pixels, Int8Params in, Int8Params out,
                        bool int_out)
      : nhwc_(nhwc), batch_(batch), channels_(channels), pixels_(pixels), in_(in), out_(out), int_out_(int_out) {
    multiplier_ = MeanMultiplier(in.scale, pixels, out.scale);
    scale_ = MeanScale(in.scale, pixels);
  }
  const char* Name() const override { return "avx2-int8"; }
  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int8_t* x = in[0].Data<const int8_t>();
    const int64_t planes = batch_ * channels_;
    const int64_t offset = pixels_ * in_.zero_point;
    auto write = [&](int64_t p, int64_t acc) {
      if (int_out_)
        out[0].Data<int8_t>()[p] =
            static_cast<int8_t>(quant::RequantizeOutput(acc, 0.0f, multiplier_, out_.zero_point, 8));
      else
        out[0].Data<float>()[p] = quant::DequantizeOutput(acc, 0.0f, scale_);
    };
    if (nhwc_) {
      std::vector<int32_t> acc(static_cast<size_t>(channels_));
      for (int64_t n = 0; n < batch_; ++n) {
        ChannelSums(x + n * pixels_ * channels_, pixels_, channels_, acc.data());
        for (int64_t c = 0; c < channels_; ++c) write(n * channels_ + c, acc[static_cast<size_t>(c)] - offset);
      }
      return Status::OK();
    }
#pragma omp parallel for schedule(static) if (planes > 1 && planes * pixels_ > kernels::kMinParallelElements)
    for (int64_t p = 0; p < planes; ++p) write(p, PlaneSum(x + p * pixels_, pixels_) - offset);
    return Status::OK();
  }

 private:
  bool nhwc_;
  int64_t batch_, channels_, pixels_;
  Int8Params in_, out_;
  bool int_out_;
  float multiplier_ = 0.0f, scale_ = 0.0f;
};

bool Supports(const KernelInit& init) {
  if (init.inputs.size() != 1 || !init.inputs[0] || !RescaleStepSupported(init)) return false;
  const ir::Shape& shape = init.inputs[0]->shape;
  const std::string layout = init.attrs.Str("layout", "NHWC");
  // An NCHW tensor stored channels-last (runtime/layout_pass.h) is summed as NHWC.
  const bool channels_last = init.inputs[0]->layout == MemoryLayout::kChannelsLast;
  if (channels_last && layout != "NCHW") return false;
  if (init.inputs[0]->layout != MemoryLayout::kPlain && !channels_last) return false;
  const int64_t pixels =
      layout == "NCHW" ? (shape.size() == 4 ? shape[2] * shape[3] : 0) : (shape.size() == 4 ? shape[1] * shape[2] : 0);
  // NHWC sums in int32: below 2^23 pixels (255 * 2^23 < 2^31).
  return shape.size() == 4 && ir::ElementCount(shape) > 0 && (layout == "NCHW" || layout == "NHWC") &&
         ((layout == "NCHW" && !channels_last) || pixels < (int64_t{1} << 23));
}

// The input stored channels-last; the [N, C, 1, 1] output stays plain.
void LayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs, std::vector<bool>* outputs) {
  inputs->assign(init.inputs.size(), false);
  outputs->assign(init.outputs.size(), false);
  if (block == MemoryLayout::kChannelsLast && Supports(init) && init.attrs.Str("layout", "NHWC") == "NCHW" &&
      init.inputs[0]->shape[2] * init.inputs[0]->shape[3] < (int64_t{1} << 23))
    (*inputs)[0] = true;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  const ir::Shape& s = init.inputs[0]->shape;
  const Int8Params in = ParamsOf(*init.inputs[0]), out = ParamsOf(init.outputs[0]);
  const bool int_out = init.outputs[0].dtype == DataType::INT8;
  if (init.inputs[0]->layout == MemoryLayout::kChannelsLast)
    *kernel = std::make_unique<Int8GlobalAvgPoolAvx2>(true, s[0], s[1], s[2] * s[3], in, out, int_out);
  else if (init.attrs.Str("layout", "NHWC") == "NCHW")
    *kernel = std::make_unique<Int8GlobalAvgPoolAvx2>(false, s[0], s[1], s[2] * s[3], in, out, int_out);
  else
    *kernel = std::make_unique<Int8GlobalAvgPoolAvx2>(true, s[0], s[3], s[1] * s[2], in, out, int_out);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(global_avg_pool, avx2_int8) {
  mixq::ops::RegisterKernel({"avx2-int8", mixq::OpKind::kGlobalAvgPool, mixq::kernels::Isa::kAvx2, 20,
                             mixq::ops::Supports, mixq::ops::Make, mixq::ops::LayoutSlots});
}
