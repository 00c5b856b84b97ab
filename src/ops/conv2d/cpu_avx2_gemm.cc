// AVX2 int8 Conv2D for NCHW activations, fused end to end: int8 in, int8 /
// float32 / float16 out, without the generic wrapper's int32 / int64
// staging. Per block of output pixels a thread gathers the block's im2col
// rows (centered int16), packs them into vpmaddwd panels, multiplies the
// packed weights with them (kernels/int16_gemm: the exact int16 path of
// DESIGN rule 9, no vpmaddubsw saturation) and runs the output stage of SPEC
// §1.5 (ops/int8_output_stage.h) on each channel's row, which in NCHW is
// contiguous in the output. Bit-exact with reference-quantized: the sums are
// exact (K * 255 * 255 + |int bias| < 2^31, checked when chosen) and the
// output stage is the same float32 arithmetic.
//
// Not taken here (the staged avx2-int8 kernel or the reference runs them):
// NHWC, depthwise, INT16 / BFLOAT16 outputs.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/int16_gemm.h"
#include "ops/conv2d/conv_params.h"
#include "ops/conv2d/int8_conv_common.h"
#include "ops/kernel_registry.h"
#include "ops/quantized_reference.h"
#include "quant/requantize.h"
#include "util/half.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

constexpr int64_t kPanel = kernels::kInt16Panel;

// Weights as GemmInt16TileAvx2's A, one per group: centered int16, rows the
// group's output channels, k = (c * KH + kh) * KW + kw.
struct PackedFilter {
  std::vector<kernels::PackedInt16A> groups;
};

class ConvInt8Gemm : public Kernel {
 public:
  const char* Name() const override { return "avx2-int8"; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Init(const KernelInit& init) {
    std::vector<ValueInfo> logical;
    MIXQ_RETURN_IF_ERROR(ComputeConv2DGeometry(init.attrs, RealValuedInfos(init, 3, &logical), &g_));
    ic_ = g_.in_channels / g_.group;
    oc_ = g_.out_channels / g_.group;
    depth_ = g_.kernel_h * g_.kernel_w * ic_;
    pairs_ = (depth_ + 1) / 2;
    pixels_ = g_.out_h * g_.out_w;
    // Jobs: blocks of up to 64 output pixels (A is reused 64 times per
    // load), and when there are too few of them for the threads, the output
    // channels split in parts too (each part gathers its own copy of B).
    pointwise_ = g_.kernel_h == 1 && g_.kernel_w == 1 && g_.stride_h == 1 && g_.stride_w == 1 && g_.pad_top == 0 &&
                 g_.pad_left == 0 && g_.pad_bottom == 0 && g_.pad_right == 0;
    row_blocks_ = (oc_ + kernels::kInt16RowBlock - 1) / kernels::kInt16RowBlock;
    const int64_t pixel_panels = (pixels_ + kPanel - 1) / kPanel;
    const int64_t threads = std::max(1, omp_get_max_threads());
    block_panels_ = 4;
    blocks_per_image_ = (pixel_panels + block_panels_ - 1) / block_panels_;
    row_parts_ = 1;
    while (g_.batch * blocks_per_image_ * row_parts_ < 2 * threads && row_parts_ < row_blocks_) ++row_parts_;

    const ValueInfo& w = *init.inputs[1];
    const ir::QuantBinding& wq = *w.quant;
    stage_.Init(init, g_);
    const AxisMap& fa = g_.filter_axes;
    const auto f_s = LogicalStrides(w.shape, fa);
    auto pack = [&, f_s](std::shared_ptr<const void>* out, int64_t* bytes) {
      auto packed = std::make_shared<PackedFilter>();
      packed->groups.resize(static_cast<size_t>(g_.group));
      const auto* raw = static_cast<const int8_t*>(w.const_data);
      *bytes = 0;
      for (int64_t grp = 0; grp < g_.group; ++grp) {
        kernels::PackInt16A(
            oc_, depth_,
            [&](int64_t row, int64_t k) {
              const int64_t o = grp * oc_ + row, c = k / (g_.kernel_h * g_.kernel_w);
              const int64_t kh = k / g_.kernel_w % g_.kernel_h, kw = k % g_.kernel_w;
              const int32_t zp = wq.zero_points.empty() ? 0 : wq.zero_points[wq.axis >= 0 ? static_cast<size_t>(o) : 0];
              return static_cast<int16_t>(raw[o * f_s[0] + c * f_s[1] + kh * f_s[2] + kw * f_s[3]] - zp);
            },
            &packed->groups[static_cast<size_t>(grp)]);
        *bytes += static_cast<int64_t>(packed->groups[static_cast<size_t>(grp)].data.size() * sizeof(int32_t));
      }
      *out = packed;
      return Status::OK();
    };
    std::shared_ptr<const void> packed;
    if (init.weights) {
      MIXQ_RETURN_IF_ERROR(init.weights->GetOrCreate(init.weight_key + "/avx2-int8-gemm", pack, &packed));
    } else {
      MIXQ_RETURN_IF_ERROR(pack(&packed, &private_bytes_));
    }
    filter_ = std::static_pointer_cast<const PackedFilter>(packed);

    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const TensorView& x = in[0];
    const TensorView& y = out[0];
    stage_.Prepare(in, y);
    const int32_t x_zp = x.quant->zero_point;
    const int64_t total = g_.batch * blocks_per_image_ * row_parts_;
    const int threads = std::max(1, omp_get_max_threads());
    if (scratch_.size() < static_cast<size_t>(threads)) scratch_.resize(static_cast<size_t>(threads));
    const auto* xs = x.Data<const int8_t>();
#pragma omp parallel for schedule(dynamic, 1) if (total > 1 && depth_ * pixels_ * oc_ * g_.group > (1 << 18))
    for (int64_t job = 0; job < total; ++job) {
      Scratch& s = scratch_[static_cast<size_t>(omp_get_thread_num())];
      const int64_t part = job % row_parts_, n = job / row_parts_ / blocks_per_image_;
      const int64_t block = job / row_parts_ % blocks_per_image_;
      const int64_t first = block * block_panels_ * kPanel;
      const int64_t cols = std::min(block_panels_ * kPanel, pixels_ - first);
      RunBlock(xs + n * g_.in_channels * g_.in_h * g_.in_w, x_zp, n, first, cols, row_blocks_ * part / row_parts_,
               row_blocks_ * (part + 1) / row_parts_, y, &s);
    }
    return Status::OK();
  }

 private:
  struct Scratch {
    std::vector<int16_t> rows, panels;
    std::vector<int32_t> acc;
  };

  // Output pixels [first, first + cols) of image n, for the row blocks
  // [first_block, last_block) of each group's output channels: gather, pack,
  // multiply, output stage.
  void RunBlock(const int8_t* image, int32_t x_zp, int64_t n, int64_t first, int64_t cols, int64_t first_block,
                int64_t last_block, const TensorView& y, Scratch* s) {
    const int64_t padded = (cols + kPanel - 1) / kPanel * kPanel;
    if (!pointwise_) s->rows.resize(static_cast<size_t>(depth_ * padded));
    s->panels.resize(static_cast<size_t>(pairs_ * 2 * padded));
    s->acc.resize(static_cast<size_t>((last_block - first_block) * kernels::kInt16RowBlock * padded));
    const int64_t plane = g_.in_h * g_.in_w;
    for (int64_t grp = 0; grp < g_.group; ++grp) {
      if (pointwise_) {  // B is the image itself: rows of pixels per channel
        kernels::PackInt8PanelsAvx2(image + grp * ic_ * plane + first, plane, depth_, cols, x_zp, s->panels.data());
      } else {
        Gather(image + grp * ic_ * plane, x_zp, first, cols, padded, s->rows.data());
        kernels::PackInt16PanelsAvx2(s->rows.data(), padded, depth_, padded, s->panels.data());
      }
      kernels::GemmInt16TileAvx2(filter_->groups[static_cast<size_t>(grp)], first_block, last_block, s->panels.data(),
                                 padded / kPanel, s->acc.data(), padded);
      const int64_t first_row = first_block * kernels::kInt16RowBlock;
      const int64_t last_row = std::min(oc_, last_block * kernels::kInt16RowBlock);
      for (int64_t row = first_row; row < last_row; ++row) {
        const int64_t o = grp * oc_ + row;
        const int32_t* acc = s->acc.data() + (row - first_row) * padded;
        const int64_t at = (n * g_.out_channels + o) * pixels_ + first;
        stage_.Row(o, acc, cols, at, y);
      }
    }
  }

  // im2col rows of one group for output pixels [first, first + cols): row k =
  // (c, kh, kw), centered int16, padding (the real 0) as 0, columns past
  // `cols` up to `padded` zero.
  __attribute__((target("avx2"))) void Gather(const int8_t* x, int32_t zp, int64_t first, int64_t cols, int64_t padded,
                                              int16_t* rows) const {
    const int64_t plane = g_.in_h * g_.in_w;
    for (int64_t c = 0; c < ic_; ++c)
      for (int64_t kh = 0; kh < g_.kernel_h; ++kh)
        for (int64_t kw = 0; kw < g_.kernel_w; ++kw) {
          int16_t* row = rows + ((c * g_.kernel_h + kh) * g_.kernel_w + kw) * padded;
          const int8_t* src = x + c * plane;
          int64_t j = 0;
          while (j < cols) {
            const int64_t p = first + j, oh = p / g_.out_w, ow0 = p % g_.out_w;
            const int64_t run = std::min(g_.out_w - ow0, cols - j);
            int16_t* dst = row + j;
            const int64_t ih = oh * g_.stride_h - g_.pad_top + kh * g_.dilation_h;
            if (ih < 0 || ih >= g_.in_h) {
              std::fill(dst, dst + run, int16_t{0});
            } else {
              const int8_t* line = src + ih * g_.in_w;
              const int64_t iw0 = ow0 * g_.stride_w - g_.pad_left + kw * g_.dilation_w;
              if (g_.stride_w == 1) {
                // Columns whose iw falls inside the row: [lo, hi).
                const int64_t lo = std::clamp<int64_t>(-iw0, 0, run), hi = std::clamp<int64_t>(g_.in_w - iw0, lo, run);
                std::fill(dst, dst + lo, int16_t{0});
                const int8_t* from = line + iw0;
                for (int64_t t = lo; t < hi; ++t) dst[t] = static_cast<int16_t>(from[t] - zp);
                std::fill(dst + hi, dst + run, int16_t{0});
              } else {
                for (int64_t t = 0; t < run; ++t) {
                  const int64_t iw = iw0 + t * g_.stride_w;
                  dst[t] = iw < 0 || iw >= g_.in_w ? int16_t{0} : static_cast<int16_t>(line[iw] - zp);
                }
              }
            }
            j += run;
          }
          std::fill(row + cols, row + padded, int16_t{0});
        }
  }

  ConvGeometry g_;
  int64_t ic_ = 0, oc_ = 0, depth_ = 0, pairs_ = 0, pixels_ = 0, block_panels_ = 1, blocks_per_image_ = 1;
  int64_t row_blocks_ = 1, row_parts_ = 1;
  bool pointwise_ = false;  // 1x1, stride 1, no padding: no im2col
  std::shared_ptr<const PackedFilter> filter_;
  int64_t private_bytes_ = 0;
  Int8ConvOutputStage stage_;
  std::vector<Scratch> scratch_;
};

bool Supports(const KernelInit& init) {
  ConvGeometry g;
  if (!FusedInt8ConvSupports(init, &g)) return false;
  // Depthwise is a GEMM of one row per group: avx2-int8-dw runs it.
  return !(g.in_channels == g.group && g.out_channels == g.group && g.group > 1);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<ConvInt8Gemm>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv2d, avx2_gemm) {
  mixq::ops::RegisterKernel(
      {"avx2-int8", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 20, mixq::ops::Supports, mixq::ops::Make});
}
