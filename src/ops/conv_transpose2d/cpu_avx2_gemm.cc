// AVX2 int8 ConvTranspose2D for NCHW (one group), fused like Conv2D's
// avx2-int8: int8 in, int8 / float32 / float16 out. Every input pixel p meets
// every filter tap j = (oc, kh, kw): C[j][p] = sum_ic W[ic][j] * X[ic][p] on
// the int16 GEMM (weights packed once per engine as A, the image's channel
// rows packed as B without im2col), then C lands on its output position in
// an int32 plane per output channel (exact: at most KH * KW sums of IC
// products, K * 255 * 255 * taps + |int bias| < 2^31, checked when chosen),
// and the output stage of SPEC §1.5 runs over each plane. Integer sums are
// exact in any order, so the result is bit-exact with reference-quantized.
// Threads split the output channels (each owns its planes); the others run
// avx2-int8-staged or the reference.
//
// Symmetric int16 operands (the qint16 modes) run the same way as
// "avx2-int16": the filter split in bytes (kernels::GemmInt16SplitTileAvx2,
// exact int32 sums per 256 input channels joined into int64; its VNNI form on
// AVX-512 VNNI), the image's int16 channel rows packed as B, int64 planes and
// the stage's int64 rows. It replaced "avx2-int16-staged" (the staged GEMM,
// a scalar scatter and the reference's output stage): PP-OCR det qint16's
// 24 -> 24 2x2 upsampling at 80 x 80 ran 10.1 ms there.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <type_traits>

#include "kernels/int16_gemm.h"
#include "kernels/parallel.h"
#include "ops/conv2d/int8_conv_common.h"
#include "ops/conv_transpose2d/geometry.h"
#include "ops/kernel_registry.h"
#include "ops/quantized_reference.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

constexpr int64_t kPanel = kernels::kInt16Panel;
constexpr int64_t kBlockPanels = 4;

// out[2 t] += a[t] and out[2 t + 1] += b[t] for t < n: the GEMM rows of
// taps (kh, 0) and (kh, 1) of a 2-wide window moving by 2, unpadded
// (pairs_), onto their output row, whose columns 2 iw and 2 iw + 1 they
// fill. The general scatter's strided scalar adds with a bounds test per
// pixel took most of PP-OCRv4 det's 2 x 2 stride-2 layers (24 -> 24 at 80
// x 80: 1.0 ms at 1 thread, Intel Xeon).
__attribute__((target("avx2"))) void InterleaveAdd(const int32_t* a, const int32_t* b, int64_t n, int32_t* out) {
  int64_t t = 0;
  for (; t + 8 <= n; t += 8) {
    const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + t));
    const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + t));
    const __m256i lo = _mm256_unpacklo_epi32(va, vb), hi = _mm256_unpackhi_epi32(va, vb);
    __m256i* o = reinterpret_cast<__m256i*>(out + 2 * t);
    _mm256_storeu_si256(o, _mm256_add_epi32(_mm256_loadu_si256(o), _mm256_permute2x128_si256(lo, hi, 0x20)));
    _mm256_storeu_si256(o + 1, _mm256_add_epi32(_mm256_loadu_si256(o + 1), _mm256_permute2x128_si256(lo, hi, 0x31)));
  }
  for (; t < n; ++t) {
    out[2 * t] += a[t];
    out[2 * t + 1] += b[t];
  }
}

// The same for int64 sums (int16 operands), four pixels per step.
__attribute__((target("avx2"))) void InterleaveAdd(const int64_t* a, const int64_t* b, int64_t n, int64_t* out) {
  int64_t t = 0;
  for (; t + 4 <= n; t += 4) {
    const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + t));
    const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + t));
    const __m256i lo = _mm256_unpacklo_epi64(va, vb), hi = _mm256_unpackhi_epi64(va, vb);
    __m256i* o = reinterpret_cast<__m256i*>(out + 2 * t);
    _mm256_storeu_si256(o, _mm256_add_epi64(_mm256_loadu_si256(o), _mm256_permute2x128_si256(lo, hi, 0x20)));
    _mm256_storeu_si256(o + 1, _mm256_add_epi64(_mm256_loadu_si256(o + 1), _mm256_permute2x128_si256(lo, hi, 0x31)));
  }
  for (; t < n; ++t) {
    out[2 * t] += a[t];
    out[2 * t + 1] += b[t];
  }
}

// out[2 t] = a[t] and out[2 t + 1] = b[t] for t < n (StageDisjoint's 2-wide windows).
template <typename Acc>
__attribute__((target("avx2"))) void Interleave2(const Acc* a, const Acc* b, int64_t n, Acc* out) {
  constexpr int64_t kStep = 32 / sizeof(Acc);
  int64_t t = 0;
  for (; t + kStep <= n; t += kStep) {
    const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + t));
    const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + t));
    __m256i lo, hi;
    if constexpr (sizeof(Acc) == 8) {
      lo = _mm256_unpacklo_epi64(va, vb);
      hi = _mm256_unpackhi_epi64(va, vb);
    } else {
      lo = _mm256_unpacklo_epi32(va, vb);
      hi = _mm256_unpackhi_epi32(va, vb);
    }
    __m256i* o = reinterpret_cast<__m256i*>(out + 2 * t);
    _mm256_storeu_si256(o, _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(o + 1, _mm256_permute2x128_si256(lo, hi, 0x31));
  }
  for (; t < n; ++t) {
    out[2 * t] = a[t];
    out[2 * t + 1] = b[t];
  }
}

// The packed filter: A (int8 operands), or A's high and low bytes (int16).
struct DeconvFilter {
  kernels::PackedInt16A a, low;
};

// T: the operands' storage, int8_t (int32 sums) or int16_t (int64 sums).
template <typename T>
class ConvTransposeGemm : public Kernel {
 public:
  static constexpr bool kInt16 = sizeof(T) == 2;
  using Acc = std::conditional_t<kInt16, int64_t, int32_t>;

  const char* Name() const override { return kInt16 ? "avx2-int16" : "avx2-int8"; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Init(const KernelInit& init) {
    std::vector<ValueInfo> logical;
    TransposedGeometry tg;
    MIXQ_RETURN_IF_ERROR(ComputeTransposedGeometry(init.attrs, RealValuedInfos(init, 3, &logical), &tg));
    g_ = tg.conv;
    stage_.Init(init, g_);
    taps_ = g_.kernel_h * g_.kernel_w;
    pixels_ = g_.in_h * g_.in_w;
    out_plane_ = g_.out_h * g_.out_w;
    pairs_ = g_.kernel_w == 2 && g_.stride_w == 2 && g_.dilation_w == 1 && g_.pad_left == 0 && 2 * g_.in_w <= g_.out_w;
    // Windows that tile the output exactly (kernel = stride, no dilation,
    // padding or extra rows): every output takes one tap of one pixel.
    disjoint_ = g_.kernel_h == g_.stride_h && g_.kernel_w == g_.stride_w && g_.dilation_h == 1 && g_.dilation_w == 1 &&
                g_.pad_top == 0 && g_.pad_left == 0 && g_.out_h == g_.in_h * g_.stride_h &&
                g_.out_w == g_.in_w * g_.stride_w;
    // Jobs own whole output channels and whole 6-row blocks of A: a unit of
    // channels whose rows fill blocks exactly.
    unit_ = kernels::kInt16RowBlock / std::gcd(kernels::kInt16RowBlock, taps_);
    const int64_t units = (g_.out_channels + unit_ - 1) / unit_;
    parts_ = std::min<int64_t>(units, std::max(1, omp_get_max_threads()));
    const ValueInfo& w = *init.inputs[1];
    const ir::QuantBinding& wq = *w.quant;
    const auto f_s = LogicalStrides(w.shape, g_.filter_axes);
    auto pack = [&, f_s](std::shared_ptr<const void>* out, int64_t* bytes) {
      auto packed = std::make_shared<DeconvFilter>();
      const auto* raw = static_cast<const T*>(w.const_data);
      auto value = [&](int64_t j, int64_t ic) {
        const int64_t oc = j / taps_, kh = j % taps_ / g_.kernel_w, kw = j % g_.kernel_w;
        const int32_t zp = wq.zero_points.empty() ? 0 : wq.zero_points[wq.axis >= 0 ? static_cast<size_t>(oc) : 0];
        return static_cast<int32_t>(raw[oc * f_s[0] + ic * f_s[1] + kh * f_s[2] + kw * f_s[3]]) - zp;
      };
      const int64_t rows = g_.out_channels * taps_;
      if constexpr (kInt16) {  // zero points are 0: the code itself, split in bytes
        kernels::PackInt16A(
            rows, g_.in_channels, [&](int64_t j, int64_t ic) { return static_cast<int16_t>(value(j, ic) >> 8); },
            &packed->a);
        kernels::PackInt16A(
            rows, g_.in_channels, [&](int64_t j, int64_t ic) { return static_cast<int16_t>(value(j, ic) & 0xFF); },
            &packed->low);
      } else {
        kernels::PackInt16A(
            rows, g_.in_channels, [&](int64_t j, int64_t ic) { return static_cast<int16_t>(value(j, ic)); },
            &packed->a);
      }
      *bytes = static_cast<int64_t>((packed->a.data.size() + packed->low.data.size()) * sizeof(int32_t));
      *out = packed;
      return Status::OK();
    };
    std::shared_ptr<const void> packed;
    if (init.weights)
      MIXQ_RETURN_IF_ERROR(init.weights->GetOrCreate(
          init.weight_key + (kInt16 ? "/avx2-int16-deconv" : "/avx2-int8-deconv"), pack, &packed));
    else
      MIXQ_RETURN_IF_ERROR(pack(&packed, &private_bytes_));
    filter_ = std::static_pointer_cast<const DeconvFilter>(packed);
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const TensorView& y = out[0];
    stage_.Prepare(in, y);
    const int32_t zp = in[0].quant->zero_point;
    const auto* x = in[0].Data<const T>();
    if (!disjoint_) planes_.resize(static_cast<size_t>(g_.out_channels * out_plane_));
    if (scratch_.size() < static_cast<size_t>(parts_)) scratch_.resize(static_cast<size_t>(parts_));
    const int64_t units = (g_.out_channels + unit_ - 1) / unit_;
    const bool parallel = parts_ > 1 && pixels_ * g_.in_channels * g_.out_channels * taps_ > kernels::kMinParallelMacs;
    for (int64_t n = 0; n < g_.batch; ++n) {
      const T* image = x + n * g_.in_channels * pixels_;
#pragma omp parallel for schedule(static, 1) num_threads(static_cast <int>(parts_)) if (parallel)
      for (int64_t part = 0; part < parts_; ++part) {
        const int64_t oc_begin = std::min(g_.out_channels, units * part / parts_ * unit_);
        const int64_t oc_end = std::min(g_.out_channels, units * (part + 1) / parts_ * unit_);
        if (oc_begin < oc_end) RunPart(image, zp, n, oc_begin, oc_end, y, &scratch_[static_cast<size_t>(part)]);
      }
    }
    return Status::OK();
  }

 private:
  struct Scratch {
    std::vector<int16_t> panels;
    std::vector<Acc> acc;
    std::vector<Acc> row;  // disjoint_: an output row segment's sums
  };

  // fn(out_row, iw0, run, at) for each run of the pixels [first, first +
  // cols) within one input row whose output row for tap row kh lies in the
  // image: out_row is that row of `plane`, iw0 the run's first input column,
  // at its offset from `first`. Row by row, no division per pixel: pixel
  // (ih, iw) lands on (ih * sh - pad + kh * dh, iw * sw - pad + kw * dw).
  template <typename Fn>
  void ForEachRowRun(int64_t first, int64_t cols, int64_t kh, Acc* plane, Fn fn) const {
    for (int64_t p = first; p < first + cols;) {
      const int64_t ih = p / g_.in_w, iw0 = p % g_.in_w;
      const int64_t run = std::min(g_.in_w - iw0, first + cols - p);
      const int64_t oh = ih * g_.stride_h - g_.pad_top + kh * g_.dilation_h;
      if (oh >= 0 && oh < g_.out_h) fn(plane + oh * g_.out_w, iw0, run, p - first);
      p += run;
    }
  }

  // disjoint_: the block's GEMM rows of channel oc straight to the output
  // stage, each run of pixels within an input row as the output row
  // segment its taps (kh, 0..KW-1) fill, the taps' values interleaved
  // (columns iw * KW + kw). No accumulator planes: PP-OCRv4 det qint16's 24
  // -> 24 2 x 2 upsampling at 80 x 80 had filled, added into and re-read 4.9
  // MB of int64 planes for 614,400 outputs that each take one sum.
  void StageDisjoint(const Acc* block_rows, int64_t padded, int64_t first, int64_t cols, int64_t n, int64_t oc,
                     const TensorView& y, Scratch* s) const {
    const int64_t kw_count = g_.kernel_w;
    s->row.resize(static_cast<size_t>(g_.out_w));
    for (int64_t kh = 0; kh < g_.kernel_h; ++kh) {
      const Acc* c = block_rows + (oc * taps_ + kh * kw_count) * padded;
      for (int64_t p = first; p < first + cols;) {
        const int64_t ih = p / g_.in_w, iw0 = p % g_.in_w;
        const int64_t run = std::min(g_.in_w - iw0, first + cols - p), at = p - first;
        if (kw_count == 2)
          Interleave2(c + at, c + padded + at, run, s->row.data());
        else
          for (int64_t t = 0; t < run; ++t)
            for (int64_t kw = 0; kw < kw_count; ++kw)
              s->row[static_cast<size_t>(t * kw_count + kw)] = c[kw * padded + at + t];
        const int64_t oh = ih * g_.stride_h + kh;
        stage_.Row(oc, s->row.data(), run * kw_count,
                   (n * g_.out_channels + oc) * out_plane_ + oh * g_.out_w + iw0 * kw_count, y);
        p += run;
      }
    }
  }

  // Output channels [oc_begin, oc_end) of image n: their planes from every
  // input pixel block, then the output stage over them.
  void RunPart(const T* image, int32_t zp, int64_t n, int64_t oc_begin, int64_t oc_end, const TensorView& y,
               Scratch* s) {
    Acc* planes = planes_.data() + oc_begin * out_plane_;
    if (!disjoint_) std::fill(planes, planes + (oc_end - oc_begin) * out_plane_, Acc{0});
    const int64_t first_block = oc_begin * taps_ / kernels::kInt16RowBlock;
    const int64_t last_block = (oc_end * taps_ + kernels::kInt16RowBlock - 1) / kernels::kInt16RowBlock;
    const int64_t cols_max = kBlockPanels * kPanel;
    s->panels.resize(static_cast<size_t>(filter_->a.pairs * 2 * cols_max));
    s->acc.resize(static_cast<size_t>((last_block - first_block) * kernels::kInt16RowBlock * cols_max));
    for (int64_t first = 0; first < pixels_; first += cols_max) {
      const int64_t cols = std::min(cols_max, pixels_ - first);
      const int64_t padded = (cols + kPanel - 1) / kPanel * kPanel;
      if constexpr (kInt16) {  // symmetric: the codes are the centered values
        kernels::PackInt16PanelsAvx2(image + first, pixels_, g_.in_channels, cols, s->panels.data());
        kernels::GemmInt16SplitTileAvx2(filter_->a, filter_->low, first_block, last_block, s->panels.data(),
                                        padded / kPanel, s->acc.data(), padded);
      } else {
        kernels::PackInt8PanelsAvx2(image + first, pixels_, g_.in_channels, cols, zp, s->panels.data());
        kernels::GemmInt16TileAvx2(filter_->a, first_block, last_block, s->panels.data(), padded / kPanel,
                                   s->acc.data(), padded);
      }
      if (disjoint_) {
        const Acc* block_rows = s->acc.data() - first_block * kernels::kInt16RowBlock * padded;
        for (int64_t oc = oc_begin; oc < oc_end; ++oc) StageDisjoint(block_rows, padded, first, cols, n, oc, y, s);
        continue;
      }
      for (int64_t j = oc_begin * taps_; j < oc_end * taps_; ++j) {
        const Acc* c = s->acc.data() + (j - first_block * kernels::kInt16RowBlock) * padded;
        const int64_t oc = j / taps_, kh = j % taps_ / g_.kernel_w, kw = j % g_.kernel_w;
        Acc* plane = planes_.data() + oc * out_plane_;
        if (pairs_) {  // taps kw = 0 and 1 of this (oc, kh) together: InterleaveAdd
          ForEachRowRun(first, cols, kh, plane, [&](Acc* row, int64_t iw0, int64_t run, int64_t at) {
            InterleaveAdd(c + at, c + padded + at, run, row + 2 * iw0);
          });
          ++j;
          continue;
        }
        ForEachRowRun(first, cols, kh, plane, [&](Acc* row, int64_t iw0, int64_t run, int64_t at) {
          const int64_t ow0 = iw0 * g_.stride_w - g_.pad_left + kw * g_.dilation_w;
          for (int64_t t = 0; t < run; ++t) {
            const int64_t ow = ow0 + t * g_.stride_w;
            if (ow >= 0 && ow < g_.out_w) row[ow] += c[at + t];
          }
        });
      }
    }
    if (disjoint_) return;
    for (int64_t oc = oc_begin; oc < oc_end; ++oc)
      stage_.Row(oc, planes_.data() + oc * out_plane_, out_plane_, (n * g_.out_channels + oc) * out_plane_, y);
  }

  ConvGeometry g_;
  Int8ConvOutputStage stage_;
  int64_t taps_ = 1, pixels_ = 0, out_plane_ = 0, unit_ = 1, parts_ = 1;
  bool pairs_ = false;     // 2-wide windows moving by 2, unpadded: InterleaveAdd
  bool disjoint_ = false;  // windows tile the output: StageDisjoint, no planes
  std::shared_ptr<const DeconvFilter> filter_;
  int64_t private_bytes_ = 0;
  std::vector<Acc> planes_;  // [out channel][out_h * out_w] accumulators of the image being run
  std::vector<Scratch> scratch_;
};

bool DeconvGeometry(const KernelInit& init, ConvGeometry* g) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1]) return false;
  std::vector<ValueInfo> logical;
  TransposedGeometry tg;
  if (!ComputeTransposedGeometry(init.attrs, RealValuedInfos(init, 3, &logical), &tg).ok()) return false;
  *g = tg.conv;
  return g->group == 1 && g->in_h > 0 && g->in_w > 0 && init.attrs.Str("input_layout", "NCHW") == "NCHW" &&
         init.attrs.Str("output_layout", "NCHW") == "NCHW";
}

bool Supports(const KernelInit& init) {
  ConvGeometry g;
  int64_t int_bias = 0;
  if (!DeconvGeometry(init, &g) || !FusedInt8StageSupports(init, g.out_channels, &int_bias)) return false;
  // Each output sums at most KH * KW exact GEMM results.
  return g.kernel_h * g.kernel_w * g.in_channels * 255 * 255 + int_bias < (int64_t{1} << 31);
}

// int64 sums: no bound to check.
bool Supports16(const KernelInit& init) {
  ConvGeometry g;
  return DeconvGeometry(init, &g) && FusedInt16StageSupports(init, g.out_channels);
}

template <typename T>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<ConvTransposeGemm<T>>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv_transpose2d, avx2_gemm) {
  mixq::ops::RegisterKernel({"avx2-int8", mixq::OpKind::kConvTranspose2D, mixq::kernels::Isa::kAvx2, 20,
                             mixq::ops::Supports, mixq::ops::Make<int8_t>});
  // Above avx2-int16-staged (10).
  mixq::ops::RegisterKernel({"avx2-int16", mixq::OpKind::kConvTranspose2D, mixq::kernels::Isa::kAvx2, 20,
                             mixq::ops::Supports16, mixq::ops::Make<int16_t>});
}
