// AVX2 int8 Conv2D: the exact integer accumulation of the quantized
// reference (centered int8 activations x centered int8 weights, summed
// exactly) as im2col + a GEMM on vpmaddwd, with the reference's output stage
// (ops/quantized_reference.h, SPEC §1.5) around it, so results are bit-exact.
//
// Saturation policy (DESIGN rule 9): the exact int16 path. Both operands are
// widened to int16 (centered values lie in [-255, 255]) and multiplied with
// vpmaddwd, whose pairwise int32 sums cannot saturate; vpmaddubsw (u8 x s8
// pairs saturating in int16) is not used, so no 7-bit restriction applies.
// The int32 accumulators are exact while K * 255 * 255 < 2^31 (K < 33,000),
// checked when the kernel is chosen.
//
// The same kernel runs symmetric int16 operands as "avx2-int16-staged" (the qint16
// modes) where the fused avx2-int16 (cpu_avx2_gemm.cc) declines: the weights
// split into high and low bytes, vpmaddwd on each, summed in int64 per chunk
// (kernels::GemmInt16ExactAvx2); depthwise sums in int64.
#include <algorithm>
#include <cstring>

#include "kernels/int16_gemm.h"
#include "ops/conv2d/conv_params.h"
#include "ops/kernel_registry.h"
#include "ops/op_util.h"
#include "ops/quantized_reference.h"

namespace mixq::ops {

namespace {

class ConvAccumulateAvx2 : public Kernel {
 public:
  explicit ConvAccumulateAvx2(bool exact16) : exact16_(exact16) {}

  Status Init(const KernelInit& init) {
    MIXQ_RETURN_IF_ERROR(ComputeConv2DGeometry(init.attrs, init.inputs, &g_));
    w_constant_ = init.inputs[1]->const_data != nullptr;
    in_s_ = LogicalStrides(init.inputs[0]->shape, g_.input_axes);
    f_s_ = LogicalStrides(init.inputs[1]->shape, g_.filter_axes);
    out_s_ = LogicalStrides(init.outputs[0].shape, g_.output_axes);
    ic_ = g_.in_channels / g_.group;
    oc_ = g_.out_channels / g_.group;
    depth_ = g_.kernel_h * g_.kernel_w * ic_;
    depth_even_ = kernels::Int16GemmDepth(depth_);
    ldc_ = (oc_ + kernels::kInt16Panel - 1) / kernels::kInt16Panel * kernels::kInt16Panel;
    rows_ = g_.out_h * g_.out_w;
    depthwise_ = ic_ == 1 && oc_ == 1 && g_.group > 1;
    if (!depthwise_) a_.assign(static_cast<size_t>(rows_ * depth_even_), 0);
    staged_.assign(static_cast<size_t>(g_.in_h * g_.in_w * g_.in_channels), 0);
    if (!depthwise_ && !exact16_) c_.assign(static_cast<size_t>(rows_ * ldc_), 0);
    if (!depthwise_ && exact16_) c64_.assign(static_cast<size_t>(rows_ * oc_), 0);
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int32_t* x = in[0].Data<const int32_t>();
    const int32_t* w = in[1].Data<const int32_t>();
    // Constant weights are packed once; weights that are an activation (a
    // filter computed by the network) on every run: the wrapper's staging
    // buffer keeps its address while its values change.
    if (!w_constant_ || w != packed_from_) Pack(w);
    int64_t* acc = out[0].Data<int64_t>();
    for (int64_t n = 0; n < g_.batch; ++n) {
      StageNhwc(x, n);
      if (depthwise_) {
        if (exact16_)
          Depthwise<int64_t>(acc + n * out_s_[0]);
        else
          Depthwise<int32_t>(acc + n * out_s_[0]);
        continue;
      }
      for (int64_t grp = 0; grp < g_.group; ++grp) {
        Im2Col(grp);
        if (exact16_) {
          kernels::GemmInt16ExactAvx2(a_.data(), depth_even_, rows_, split_[static_cast<size_t>(grp)], oc_, c64_.data(),
                                      oc_);
          Scatter(c64_.data(), oc_, grp, acc + n * out_s_[0]);
        } else {
          kernels::GemmInt16Avx2(a_.data(), depth_even_, rows_, packed_[static_cast<size_t>(grp)], c_.data(), ldc_);
          Scatter(c_.data(), ldc_, grp, acc + n * out_s_[0]);
        }
      }
    }
    return Status::OK();
  }

 private:
  // The GEMM's [pixel][channel] result into the accumulators, channel by
  // channel: contiguous writes for NCHW outputs.
  template <typename T>
  void Scatter(const T* c, int64_t ldc, int64_t grp, int64_t* acc) const {
    for (int64_t o = 0; o < oc_; ++o) {
      int64_t* y = acc + (grp * oc_ + o) * out_s_[1];
      for (int64_t oh = 0, m = 0; oh < g_.out_h; ++oh)
        for (int64_t ow = 0; ow < g_.out_w; ++ow, ++m) y[oh * out_s_[2] + ow * out_s_[3]] = c[m * ldc + o];
    }
  }

  // Depthwise (one input and one output channel per group): a direct loop
  // over channels, vectorized by the compiler for AVX2; exact sums (int32
  // for int8 operands, int64 for int16 ones).
  template <typename Sum>
  __attribute__((target("avx2,fma"))) void Depthwise(int64_t* acc) {
    const int64_t channels = g_.in_channels;
    std::vector<Sum> sum(static_cast<size_t>(channels));
    for (int64_t oh = 0; oh < g_.out_h; ++oh)
      for (int64_t ow = 0; ow < g_.out_w; ++ow) {
        std::fill(sum.begin(), sum.end(), 0);
        for (int64_t kh = 0; kh < g_.kernel_h; ++kh) {
          const int64_t ih = oh * g_.stride_h - g_.pad_top + kh * g_.dilation_h;
          if (ih < 0 || ih >= g_.in_h) continue;
          for (int64_t kw = 0; kw < g_.kernel_w; ++kw) {
            const int64_t iw = ow * g_.stride_w - g_.pad_left + kw * g_.dilation_w;
            if (iw < 0 || iw >= g_.in_w) continue;
            const int16_t* xs = staged_.data() + (ih * g_.in_w + iw) * channels;
            const int16_t* ws = depthwise_w_.data() + (kh * g_.kernel_w + kw) * channels;
            Sum* s = sum.data();
            for (int64_t c = 0; c < channels; ++c) s[c] += static_cast<Sum>(static_cast<int32_t>(xs[c]) * ws[c]);
          }
        }
        for (int64_t c = 0; c < channels; ++c)
          acc[c * out_s_[1] + oh * out_s_[2] + ow * out_s_[3]] = sum[static_cast<size_t>(c)];
      }
  }

  // Per group, B[k][o] with k = (kh * KW + kw) * ic + c (im2col's order).
  void Pack(const int32_t* w) {
    if (depthwise_) {
      depthwise_w_.assign(static_cast<size_t>(g_.kernel_h * g_.kernel_w * g_.in_channels), 0);
      for (int64_t c = 0; c < g_.in_channels; ++c)
        for (int64_t kh = 0; kh < g_.kernel_h; ++kh)
          for (int64_t kw = 0; kw < g_.kernel_w; ++kw)
            depthwise_w_[static_cast<size_t>((kh * g_.kernel_w + kw) * g_.in_channels + c)] =
                static_cast<int16_t>(w[c * f_s_[0] + kh * f_s_[2] + kw * f_s_[3]]);
      packed_from_ = w;
      return;
    }
    packed_.assign(exact16_ ? 0 : static_cast<size_t>(g_.group), {});
    split_.assign(exact16_ ? static_cast<size_t>(g_.group) : 0, {});
    for (int64_t grp = 0; grp < g_.group; ++grp) {
      auto value = [&](int64_t k, int64_t o) {
        const int64_t c = k % ic_, tap = k / ic_, kh = tap / g_.kernel_w, kw = tap % g_.kernel_w;
        return static_cast<int16_t>(w[(grp * oc_ + o) * f_s_[0] + c * f_s_[1] + kh * f_s_[2] + kw * f_s_[3]]);
      };
      if (exact16_)
        kernels::PackInt16SplitB(depth_, oc_, value, &split_[static_cast<size_t>(grp)]);
      else
        kernels::PackInt16B(depth_, oc_, value, &packed_[static_cast<size_t>(grp)]);
    }
    packed_from_ = w;
  }

  // The image as int16 [h][w][c] (whatever its layout), so that im2col
  // copies contiguous channel runs.
  void StageNhwc(const int32_t* x, int64_t n) {
    const int64_t channels = g_.in_channels;
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t h = 0; h < g_.in_h; ++h) {
        const int32_t* src = x + n * in_s_[0] + c * in_s_[1] + h * in_s_[2];
        int16_t* dst = staged_.data() + h * g_.in_w * channels + c;
        for (int64_t w = 0; w < g_.in_w; ++w) dst[w * channels] = static_cast<int16_t>(src[w * in_s_[3]]);
      }
  }

  void Im2Col(int64_t grp) {
    const int64_t channels = g_.in_channels;
    for (int64_t oh = 0; oh < g_.out_h; ++oh)
      for (int64_t ow = 0; ow < g_.out_w; ++ow) {
        int16_t* a = a_.data() + (oh * g_.out_w + ow) * depth_even_;
        for (int64_t kh = 0; kh < g_.kernel_h; ++kh) {
          const int64_t ih = oh * g_.stride_h - g_.pad_top + kh * g_.dilation_h;
          for (int64_t kw = 0; kw < g_.kernel_w; ++kw) {
            const int64_t iw = ow * g_.stride_w - g_.pad_left + kw * g_.dilation_w;
            int16_t* dst = a + (kh * g_.kernel_w + kw) * ic_;
            if (ih < 0 || ih >= g_.in_h || iw < 0 || iw >= g_.in_w) {
              std::fill(dst, dst + ic_, int16_t{0});  // padding is the real 0: centered 0
              continue;
            }
            const int16_t* src = staged_.data() + (ih * g_.in_w + iw) * channels + grp * ic_;
            std::copy(src, src + ic_, dst);
          }
        }
      }
  }

  ConvGeometry g_;
  std::array<int64_t, 4> in_s_{}, f_s_{}, out_s_{};
  int64_t ic_ = 0, oc_ = 0, depth_ = 0, depth_even_ = 0, ldc_ = 0, rows_ = 0;
  bool depthwise_ = false;
  std::vector<int16_t> a_, staged_, depthwise_w_;  // depthwise_w_: [tap][channel]
  bool exact16_ = false;                           // int16 operands, int64 sums
  std::vector<kernels::PackedInt16B> packed_;      // per group (int8 operands)
  std::vector<kernels::PackedInt16SplitB> split_;  // per group (int16 operands)
  std::vector<int32_t> c_;
  std::vector<int64_t> c64_;
  const int32_t* packed_from_ = nullptr;
  bool w_constant_ = false;  // the wrapper's init gives a constant filter's values (const_data)
};

template <bool kExact16>
Status MakeAccumulate(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<ConvAccumulateAvx2>(kExact16);
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

bool Supports(const KernelInit& init) {
  if (!TakesInt8Operands(init)) return false;
  std::vector<ValueInfo> logical;
  ConvGeometry g;
  if (!ComputeConv2DGeometry(init.attrs, RealValuedInfos(init, 2, &logical), &g).ok()) return false;
  return g.kernel_h * g.kernel_w * (g.in_channels / g.group) < kernels::kInt8GemmMaxDepth;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeQuantizedKernel(Conv2DSchema(), init, MakeAccumulate<false>, "avx2-int8-staged", kernel);
}

// int64 sums: no depth limit.
bool Supports16(const KernelInit& init) {
  std::vector<ValueInfo> logical;
  ConvGeometry g;
  return TakesSymmetricInt16Operands(init) &&
         ComputeConv2DGeometry(init.attrs, RealValuedInfos(init, 2, &logical), &g).ok();
}

Status Make16(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeQuantizedKernel(Conv2DSchema(), init, MakeAccumulate<true>, "avx2-int16-staged", kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv2d, avx2) {
  mixq::ops::RegisterKernel(
      {"avx2-int8-staged", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports, mixq::ops::Make});
  mixq::ops::RegisterKernel({"avx2-int16-staged", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::Supports16, mixq::ops::Make16});
}
