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
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "ops/conv2d/conv_params.h"
#include "ops/kernel_registry.h"
#include "ops/op_util.h"
#include "ops/quantized_reference.h"

namespace mixq::ops {

namespace {

#define MIXQ_AVX2 __attribute__((target("avx2,fma")))

constexpr int64_t kPanel = 16;  // output channels per packed panel (two ymm of int32)
constexpr int64_t kMaxDepth = 33000;

// C[m][0..16) += sum_p A[m][2p..2p+1] . B[p][0..16)[2], for `rows` (1..4) rows.
template <int kRows>
MIXQ_AVX2 void PanelKernel(const int16_t* a, int64_t lda, const int16_t* b, int64_t pairs, int32_t* c, int64_t ldc) {
  __m256i acc[kRows][2];
  for (int r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (int64_t p = 0; p < pairs; ++p) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + p * 2 * kPanel));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + p * 2 * kPanel + kPanel));
    for (int r = 0; r < kRows; ++r) {
      int32_t pair;
      std::memcpy(&pair, a + r * lda + 2 * p, sizeof(pair));
      const __m256i av = _mm256_set1_epi32(pair);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(av, b0));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(av, b1));
    }
  }
  for (int r = 0; r < kRows; ++r) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc), acc[r][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc + 8), acc[r][1]);
  }
}

class ConvAccumulateAvx2 : public Kernel {
 public:
  Status Init(const KernelInit& init) {
    MIXQ_RETURN_IF_ERROR(ComputeConv2DGeometry(init.attrs, init.inputs, &g_));
    in_s_ = LogicalStrides(init.inputs[0]->shape, g_.input_axes);
    f_s_ = LogicalStrides(init.inputs[1]->shape, g_.filter_axes);
    out_s_ = LogicalStrides(init.outputs[0].shape, g_.output_axes);
    ic_ = g_.in_channels / g_.group;
    oc_ = g_.out_channels / g_.group;
    depth_ = g_.kernel_h * g_.kernel_w * ic_;
    depth_even_ = (depth_ + 1) / 2 * 2;
    panels_ = (oc_ + kPanel - 1) / kPanel;
    rows_ = g_.out_h * g_.out_w;
    a_.assign(static_cast<size_t>(rows_ * depth_even_), 0);
    c_.assign(static_cast<size_t>(rows_ * panels_ * kPanel), 0);
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int32_t* x = in[0].Data<const int32_t>();
    const int32_t* w = in[1].Data<const int32_t>();
    if (w != packed_from_) Pack(w);
    int64_t* acc = out[0].Data<int64_t>();
    for (int64_t n = 0; n < g_.batch; ++n)
      for (int64_t grp = 0; grp < g_.group; ++grp) {
        Im2Col(x, n, grp);
        Gemm(grp);
        for (int64_t m = 0; m < rows_; ++m) {
          const int64_t oh = m / g_.out_w, ow = m % g_.out_w;
          int64_t* y = acc + n * out_s_[0] + oh * out_s_[2] + ow * out_s_[3];
          const int32_t* row = c_.data() + m * panels_ * kPanel;
          for (int64_t o = 0; o < oc_; ++o) y[(grp * oc_ + o) * out_s_[1]] = row[o];
        }
      }
    return Status::OK();
  }

 private:
  // B[group][panel][pair][16][2] int16, k = (kh * KW + kw) * ic + c, zero padded.
  void Pack(const int32_t* w) {
    const int64_t pairs = depth_even_ / 2;
    packed_.assign(static_cast<size_t>(g_.group * panels_ * pairs * 2 * kPanel), 0);
    for (int64_t grp = 0; grp < g_.group; ++grp)
      for (int64_t o = 0; o < oc_; ++o)
        for (int64_t kh = 0; kh < g_.kernel_h; ++kh)
          for (int64_t kw = 0; kw < g_.kernel_w; ++kw)
            for (int64_t c = 0; c < ic_; ++c) {
              const int64_t k = (kh * g_.kernel_w + kw) * ic_ + c;
              const int64_t oc = grp * oc_ + o;
              const int64_t panel = o / kPanel, col = o % kPanel;
              const size_t at = static_cast<size_t>(
                  ((grp * panels_ + panel) * pairs + k / 2) * 2 * kPanel + col * 2 + k % 2);
              packed_[at] = static_cast<int16_t>(w[oc * f_s_[0] + c * f_s_[1] + kh * f_s_[2] + kw * f_s_[3]]);
            }
    packed_from_ = w;
  }

  void Im2Col(const int32_t* x, int64_t n, int64_t grp) {
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
            const int32_t* src = x + n * in_s_[0] + grp * ic_ * in_s_[1] + ih * in_s_[2] + iw * in_s_[3];
            for (int64_t c = 0; c < ic_; ++c) dst[c] = static_cast<int16_t>(src[c * in_s_[1]]);
          }
        }
      }
  }

  void Gemm(int64_t grp) {
    const int64_t pairs = depth_even_ / 2, ldc = panels_ * kPanel;
    for (int64_t panel = 0; panel < panels_; ++panel) {
      const int16_t* b = packed_.data() + (grp * panels_ + panel) * pairs * 2 * kPanel;
      int64_t m = 0;
      for (; m + 4 <= rows_; m += 4)
        PanelKernel<4>(a_.data() + m * depth_even_, depth_even_, b, pairs, c_.data() + m * ldc + panel * kPanel, ldc);
      for (; m < rows_; ++m)
        PanelKernel<1>(a_.data() + m * depth_even_, depth_even_, b, pairs, c_.data() + m * ldc + panel * kPanel, ldc);
    }
  }

  ConvGeometry g_;
  std::array<int64_t, 4> in_s_{}, f_s_{}, out_s_{};
  int64_t ic_ = 0, oc_ = 0, depth_ = 0, depth_even_ = 0, panels_ = 0, rows_ = 0;
  std::vector<int16_t> a_, packed_;
  std::vector<int32_t> c_;
  const int32_t* packed_from_ = nullptr;
};

Status MakeAccumulate(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<ConvAccumulateAvx2>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

bool Supports(const KernelInit& init) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1]) return false;
  if (init.ComputeOf(0) != DataType::QINT8 || init.ComputeOf(1) != DataType::QINT8) return false;
  if (!QuantizedReferenceSupports(init)) return false;
  // The geometry of the real-valued convolution (storage types aside).
  std::vector<ValueInfo> logical;
  for (size_t i = 0; i < 2; ++i) {
    logical.push_back(*init.inputs[i]);
    logical.back().dtype = DataType::FLOAT32;
  }
  std::vector<const ValueInfo*> ptrs = {&logical[0], &logical[1]};
  ConvGeometry g;
  if (!ComputeConv2DGeometry(init.attrs, ptrs, &g).ok()) return false;
  return g.kernel_h * g.kernel_w * (g.in_channels / g.group) < kMaxDepth;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeQuantizedKernel(Conv2DSchema(), init, MakeAccumulate, "avx2-int8", kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv2d, avx2) {
  mixq::ops::RegisterKernel({"avx2-int8", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports,
                             mixq::ops::Make});
}
