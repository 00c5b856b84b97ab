// AVX2 int8 Conv2D for NHWC activations (one group) on the fused weights GEMM
// (ops/int8_weight_gemm.h): output pixels are the rows, the im2col row of a
// pixel is KH * KW runs of its input channels (contiguous in NHWC), gathered
// 6 pixels at a time into the GEMM's packed A; the filter, packed once per
// engine, is B; the output stage runs per output channel column and writes
// NHWC rows directly. Bit-exact with reference-quantized (exact int32 sums,
// the SPEC §1.5 output stage).
#include <cstring>
#include <vector>

#include "ops/conv2d/conv_params.h"
#include "ops/conv2d/int8_conv_common.h"
#include "ops/int8_weight_gemm.h"
#include "ops/quantized_reference.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

bool Geometry(const KernelInit& init, ConvGeometry* g) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1]) return false;
  if (init.attrs.Str("input_layout", "NHWC") != "NHWC" || init.attrs.Str("output_layout", "NHWC") != "NHWC")
    return false;
  std::vector<ValueInfo> logical;
  // Few channels: avx2-int8 runs them through NCHW planes.
  return ComputeConv2DGeometry(init.attrs, RealValuedInfos(init, 3, &logical), g).ok() && g->group == 1 &&
         g->out_h > 0 && g->out_w > 0 && g->in_channels > kNhwcPlanesMaxChannels;
}

WeightGemmShape Shape(const KernelInit& init, const ConvGeometry& g) {
  WeightGemmShape s;
  s.m = g.batch * g.out_h * g.out_w;
  s.k = g.kernel_h * g.kernel_w * g.in_channels;
  s.n = g.out_channels;
  s.name = "avx2-int8-nhwc";
  const auto f_s = LogicalStrides(init.inputs[1]->shape, g.filter_axes);
  const int64_t ic = g.in_channels, kw_n = g.kernel_w;
  s.weight_index = [f_s, ic, kw_n](int64_t k, int64_t oc) {
    const int64_t c = k % ic, tap = k / ic, kh = tap / kw_n, kw = tap % kw_n;
    return oc * f_s[0] + c * f_s[1] + kh * f_s[2] + kw * f_s[3];
  };
  const auto in_s = LogicalStrides(init.inputs[0]->shape, g.input_axes);
  s.pack_rows = [g, in_s, k = s.k, m = s.m](const TensorView& a, int64_t block, int32_t* dst) {
    thread_local std::vector<int16_t> row;
    row.assign(static_cast<size_t>(k + 1), 0);  // + 1: an odd depth's last pair reads a zero
    const auto* x = a.Data<const int8_t>();
    const int32_t zp = a.quant->zero_point;
    const int64_t pairs = (k + 1) / 2;
    for (int64_t r = 0; r < 6; ++r) {
      const int64_t pixel = block * 6 + r;
      if (pixel >= m) {
        for (int64_t p = 0; p < pairs; ++p) dst[p * 6 + r] = 0;
        continue;
      }
      const int64_t n = pixel / (g.out_h * g.out_w), oh = pixel / g.out_w % g.out_h, ow = pixel % g.out_w;
      for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
        const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
        for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
          const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
          int16_t* out = row.data() + (kh * g.kernel_w + kw) * g.in_channels;
          if (ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w) {
            std::fill(out, out + g.in_channels, int16_t{0});  // padding: the real 0, centered
            continue;
          }
          const int8_t* src = x + n * in_s[0] + ih * in_s[2] + iw * in_s[3];
          if (in_s[1] == 1) {  // NHWC: the channels are contiguous (a loop the compiler vectorizes)
            for (int64_t c = 0; c < g.in_channels; ++c) out[c] = static_cast<int16_t>(src[c] - zp);
          } else {
            for (int64_t c = 0; c < g.in_channels; ++c) out[c] = static_cast<int16_t>(src[c * in_s[1]] - zp);
          }
        }
      }
      // Little-endian: the int32 view of an int16 pair is the packed pair (low = even k).
      for (int64_t p = 0; p < pairs; ++p) std::memcpy(&dst[p * 6 + r], row.data() + 2 * p, sizeof(int32_t));
    }
  };
  return s;
}

bool Supports(const KernelInit& init) {
  ConvGeometry g;
  return Geometry(init, &g) && Int8WeightGemmSupports(init, Shape(init, g), 2);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  ConvGeometry g;
  if (!Geometry(init, &g)) return Internal("Conv2D avx2-int8-nhwc: not an NHWC convolution of one group");
  return MakeInt8WeightGemm(init, Shape(init, g), 2, kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv2d, avx2_nhwc) {
  mixq::ops::RegisterKernel(
      {"avx2-int8-nhwc", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 20, mixq::ops::Supports, mixq::ops::Make});
}
