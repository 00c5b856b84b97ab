// AVX2 int8 ConvTranspose2D (NCHW, one group): the exact integer
// accumulation of the quantized reference as a GEMM and a scatter. Every
// input pixel p meets every filter tap: C[p][(oc, kh, kw)] = sum_ic X[ic][p] *
// W[ic][oc][kh][kw] on the int16 GEMM (kernels/int16_gemm.h, the exact int16
// path: int32 sums exact while IC * 255 * 255 < 2^31), then each C lands on
// its output position (col2im) in int64. Integer sums are exact in any order,
// so the reference's output stage around it (ops/quantized_reference.h) makes
// the result bit-exact with reference-quantized. Symmetric int16 operands run
// as "avx2-int16-staged": the filter split in bytes, int64 sums
// (kernels::GemmInt16ExactAvx2), the same col2im; the fused "avx2-int16"
// (cpu_avx2_gemm.cc) runs them first.
#include "kernels/int16_gemm.h"
#include "ops/conv_transpose2d/geometry.h"
#include "ops/kernel_registry.h"
#include "ops/quantized_reference.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

class ConvTransposeAccumulateAvx2 : public Kernel {
 public:
  explicit ConvTransposeAccumulateAvx2(bool exact16) : exact16_(exact16) {}

  Status Init(const KernelInit& init) {
    TransposedGeometry tg;
    MIXQ_RETURN_IF_ERROR(ComputeTransposedGeometry(init.attrs, init.inputs, &tg));
    g_ = tg.conv;
    f_s_ = LogicalStrides(init.inputs[1]->shape, g_.filter_axes);
    taps_ = g_.out_channels * g_.kernel_h * g_.kernel_w;
    pixels_ = g_.in_h * g_.in_w;
    depth_ = kernels::Int16GemmDepth(g_.in_channels);
    ldc_ = (taps_ + kernels::kInt16Panel - 1) / kernels::kInt16Panel * kernels::kInt16Panel;
    a_.assign(static_cast<size_t>(pixels_ * depth_), 0);
    if (exact16_)
      c64_.assign(static_cast<size_t>(pixels_ * ldc_), 0);
    else
      c_.assign(static_cast<size_t>(pixels_ * ldc_), 0);
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int32_t* x = in[0].Data<const int32_t>();
    const int32_t* w = in[1].Data<const int32_t>();
    if (w != packed_from_) Pack(w);
    int64_t* y = out[0].Data<int64_t>();
    const int64_t out_plane = g_.out_h * g_.out_w;
    std::fill(y, y + g_.batch * g_.out_channels * out_plane, int64_t{0});
    for (int64_t n = 0; n < g_.batch; ++n) {
      const int32_t* xn = x + n * g_.in_channels * pixels_;
      for (int64_t ic = 0; ic < g_.in_channels; ++ic)  // A = X^T, int16 (centered values fit)
        for (int64_t p = 0; p < pixels_; ++p)
          a_[static_cast<size_t>(p * depth_ + ic)] = static_cast<int16_t>(xn[ic * pixels_ + p]);
      int64_t* yn = y + n * g_.out_channels * out_plane;
      if (exact16_) {
        kernels::GemmInt16ExactAvx2(a_.data(), depth_, pixels_, split_, taps_, c64_.data(), ldc_);
        Col2Im(c64_.data(), yn);
      } else {
        kernels::GemmInt16Avx2(a_.data(), depth_, pixels_, packed_, c_.data(), ldc_);
        Col2Im(c_.data(), yn);
      }
    }
    return Status::OK();
  }

 private:
  // Each input pixel's row of C onto the output positions its taps reach.
  template <typename T>
  void Col2Im(const T* c_rows, int64_t* yn) const {
    const int64_t out_plane = g_.out_h * g_.out_w;
    for (int64_t ih = 0; ih < g_.in_h; ++ih)
      for (int64_t iw = 0; iw < g_.in_w; ++iw) {
        const T* c = c_rows + (ih * g_.in_w + iw) * ldc_;
        for (int64_t kh = 0; kh < g_.kernel_h; ++kh) {
          const int64_t oh = ih * g_.stride_h - g_.pad_top + kh * g_.dilation_h;
          if (oh < 0 || oh >= g_.out_h) continue;
          for (int64_t kw = 0; kw < g_.kernel_w; ++kw) {
            const int64_t ow = iw * g_.stride_w - g_.pad_left + kw * g_.dilation_w;
            if (ow < 0 || ow >= g_.out_w) continue;
            int64_t* dst = yn + oh * g_.out_w + ow;
            const T* src = c + kh * g_.kernel_w + kw;
            const int64_t step = g_.kernel_h * g_.kernel_w;
            for (int64_t oc = 0; oc < g_.out_channels; ++oc) dst[oc * out_plane] += src[oc * step];
          }
        }
      }
  }

  // B[ic][(oc * KH + kh) * KW + kw] = W[ic][oc][kh][kw] (logical axes O, I, KH, KW).
  void Pack(const int32_t* w) {
    const int64_t kh_n = g_.kernel_h, kw_n = g_.kernel_w;
    auto value = [&](int64_t ic, int64_t j) {
      const int64_t oc = j / (kh_n * kw_n), kh = j / kw_n % kh_n, kw = j % kw_n;
      return static_cast<int16_t>(w[oc * f_s_[0] + ic * f_s_[1] + kh * f_s_[2] + kw * f_s_[3]]);
    };
    if (exact16_)
      kernels::PackInt16SplitB(g_.in_channels, taps_, value, &split_);
    else
      kernels::PackInt16B(g_.in_channels, taps_, value, &packed_);
    packed_from_ = w;
  }

  ConvGeometry g_;
  std::array<int64_t, 4> f_s_{};
  int64_t taps_ = 0, pixels_ = 0, depth_ = 0, ldc_ = 0;
  std::vector<int16_t> a_;
  bool exact16_ = false;  // int16 operands, int64 sums
  std::vector<int32_t> c_;
  std::vector<int64_t> c64_;
  kernels::PackedInt16B packed_;
  kernels::PackedInt16SplitB split_;
  const int32_t* packed_from_ = nullptr;
};

template <bool kExact16>
Status MakeAccumulate(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<ConvTransposeAccumulateAvx2>(kExact16);
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

bool Geometry(const KernelInit& init, ConvGeometry* g) {
  if (init.attrs.Str("input_layout", "NCHW") != "NCHW" || init.attrs.Str("output_layout", "NCHW") != "NCHW")
    return false;
  std::vector<ValueInfo> logical;
  TransposedGeometry tg;
  if (!ComputeTransposedGeometry(init.attrs, RealValuedInfos(init, 3, &logical), &tg).ok()) return false;
  *g = tg.conv;
  return g->group == 1 && g->in_h > 0 && g->in_w > 0;
}

bool Supports(const KernelInit& init) {
  ConvGeometry g;
  return TakesInt8Operands(init) && init.inputs[1]->const_data && Geometry(init, &g) &&
         g.in_channels < kernels::kInt8GemmMaxDepth;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeQuantizedKernel(ConvTranspose2DSchema(), init, MakeAccumulate<false>, "avx2-int8-staged", kernel);
}

bool Supports16(const KernelInit& init) {
  ConvGeometry g;
  return TakesSymmetricInt16Operands(init) && init.inputs[1]->const_data && Geometry(init, &g);
}

Status Make16(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeQuantizedKernel(ConvTranspose2DSchema(), init, MakeAccumulate<true>, "avx2-int16-staged", kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv_transpose2d, avx2) {
  mixq::ops::RegisterKernel({"avx2-int8-staged", mixq::OpKind::kConvTranspose2D, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::Supports, mixq::ops::Make});
  mixq::ops::RegisterKernel({"avx2-int16-staged", mixq::OpKind::kConvTranspose2D, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::Supports16, mixq::ops::Make16});
}
