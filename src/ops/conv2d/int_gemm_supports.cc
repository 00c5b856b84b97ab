#include "ops/conv2d/int_gemm_supports.h"

#include <vector>

#include "kernels/u8s8_gemm.h"
#include "kernels/u8s8_gemm_amx.h"
#include "ops/conv2d/conv_params.h"
#include "ops/conv2d/int8_conv_common.h"
#include "ops/quantized_reference.h"

namespace mixq::ops::int_gemm {

bool Supports(const KernelInit& init) {
  ConvGeometry g;
  if (!FusedInt8ConvSupports(init, &g, /*nhwc_too=*/true)) return false;
  // NHWC with many input channels: avx2-int8-nhwc's contiguous gathers win.
  if (init.attrs.Str("input_layout") == "NHWC" && g.in_channels / g.group > kNhwcPlanesMaxChannels) return false;
  // Depthwise is a GEMM of one row per group: avx2-int8-dw runs it.
  return !(g.in_channels == g.group && g.out_channels == g.group && g.group > 1);
}

// int16: every layout and group count; depthwise too (a row block per group
// wastes 5 of 6 rows, still far ahead of the staged kernel's int64 loop).
bool Supports16(const KernelInit& init) {
  ConvGeometry g;
  return FusedInt16ConvSupports(init, &g);
}

// The most remainder steps per dense step (kernels::U8S8RestStepShare) the
// u8s8 form takes, kernels::kU8S8MaxRestSteps (0.15, shared with the MatMul
// / FullyConnected form). A remainder step costs about one dense step, and
// the dense u8s8 loop is 1.1-1.4x the int16 path on ResNet-50's layers with
// their own costs (im2col, output stage) included; measured with
// mixq_int8_kernels_bench 'trained' (normal weights, each channel's largest
// at 127; AMD Zen 3, medians of 5, three runs): 3x3 / 512 at 7x7 (0.058
// steps per step) 2.71 against 3.71 ms in the int16 path, 3x3 / 64 (0.146)
// 2.50-3.10 against 2.83-4.05, 1x1 320 -> 1280 at 7x7 (0.197) 0.62 against
// 0.57, 1x1 256 -> 64 (0.234) 1.08-1.36 against 1.11-1.31, 1x1 64 -> 256
// (0.433) 1.92-2.27 against 1.08-1.64. The steps run about twice the share
// of split (row, quad)s: each chunk runs its block's densest row's count.

// Below 48 output channels per group the dense u8s8 loop gains less over
// the int16 path (about 1.1x on PP-OCRv4 det's 3x3 96 -> 24 at 80x80), and
// a remainder of 0.10-0.12 steps per step made its four such layers slower
// in the model (Conv.58 3.54 -> 4.24 ms, Conv.61 3.76 -> 3.86, Conv.55 0.94
// -> 1.01; one thread, stop 16): there only a small remainder is taken.
constexpr double kFewRowsMaxRestSteps = 0.05;

// The u8s8 form: avx2-int8's cases whose weights vpmaddubsw sums exactly,
// as they are or split with a sparse enough remainder.
bool SupportsU8S8(const KernelInit& init) {
  if (!Supports(init)) return false;
  ConvGeometry g;
  std::vector<ValueInfo> logical;
  if (!ComputeConv2DGeometry(init.attrs, RealValuedInfos(init, 3, &logical), &g).ok()) return false;
  const int64_t oc = g.out_channels / g.group, depth = g.kernel_h * g.kernel_w * (g.in_channels / g.group);
  for (int64_t grp = 0; grp < g.group; ++grp) {
    const std::vector<int16_t> a = CenteredFilter(*init.inputs[1], g, grp);
    if (kernels::U8S8SplitShare(a.data(), oc, depth, depth) > 1.0) return false;  // a value outside [-128, 128]
    kernels::PackedS8A packed;
    std::vector<int64_t> rows;
    kernels::PackS8ASortedRows(a.data(), oc, depth, depth, &packed, &rows);
    if (kernels::U8S8RestStepShare(packed) > (oc >= 48 ? kernels::kU8S8MaxRestSteps : kFewRowsMaxRestSteps))
      return false;
  }
  return true;
}

namespace {

// Symmetric weights (every zero point 0): the centered values are the int8
// codes, which s8 holds, with no scan of the filter.
bool ZeroWeightZeroPoints(const KernelInit& init) {
  const ir::QuantBinding* wq = init.inputs[1]->quant;
  if (!wq) return false;
  for (int32_t z : wq->zero_points)
    if (z != 0) return false;
  return true;
}

// avx2-int8's cases whose every group's centered filter (oc x depth int16)
// passes `fits`; symmetric weights pass without a scan (their int8 codes
// are the centered values).
template <typename Fits>
bool SupportsCenteredWeights(const KernelInit& init, const Fits& fits) {
  if (!Supports(init)) return false;
  if (ZeroWeightZeroPoints(init)) return true;
  ConvGeometry g;
  std::vector<ValueInfo> logical;
  if (!ComputeConv2DGeometry(init.attrs, RealValuedInfos(init, 3, &logical), &g).ok()) return false;
  const int64_t oc = g.out_channels / g.group, depth = g.kernel_h * g.kernel_w * (g.in_channels / g.group);
  for (int64_t grp = 0; grp < g.group; ++grp)
    if (!fits(CenteredFilter(*init.inputs[1], g, grp).data(), oc, depth)) return false;
  return true;
}

}  // namespace

// The VNNI form: every centered value in [-128, 128] (a centered 128 is
// split off); any 8-bit weights.
bool SupportsVnni(const KernelInit& init) {
  return SupportsCenteredWeights(init, [](const int16_t* a, int64_t oc, int64_t depth) {
    return kernels::U8S8SplitShare(a, oc, depth, depth) <= 1.0;
  });
}

// The AMX form: every centered value s8 holds, and each group's depth fills
// more than half of a tile row (64 bytes). Shallower convolutions run faster
// as avx512vnni-int8, whose K step is 4: on the AMX Xeon, 1 thread
// (build/bench/mixq_int8_kernels_bench --benchmark_filter=mb2, ms, VNNI /
// AMX): MobileNetV2's stem (depth 27) 0.489 / 0.613, its 1x1 16 -> 96 at
// 112 x 112 0.523 / 0.699, 24 -> 144 at 56 x 56 0.266 / 0.299, 32 -> 16 at
// 112 x 112 0.135 / 0.140.
constexpr int64_t kAmxMinDepth = 33;

bool SupportsAmx(const KernelInit& init) {
  ConvGeometry g;
  std::vector<ValueInfo> logical;
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] ||
      !ComputeConv2DGeometry(init.attrs, RealValuedInfos(init, 3, &logical), &g).ok() ||
      g.kernel_h * g.kernel_w * (g.in_channels / g.group) < kAmxMinDepth)
    return false;
  return SupportsCenteredWeights(
      init, [](const int16_t* a, int64_t oc, int64_t depth) { return kernels::FitsS8(a, oc, depth, depth); });
}

// amx-int16: a depth of more than half a tile row (64 taps) and a 16-row
// block of output channels per group; shallower layers waste most of each
// tile product and run faster as avx2-int16 (vpdpwssd). MobileNetV2 qint16
// on the AMX Xeon, 1 thread, step minima (avx2-int16 / amx-int16 ms): 16 ->
// 96 at 112 x 112 0.64 / 0.92, 24 -> 144 at 56 x 56 0.29 / 0.31; but 144 ->
// 32 at 28 x 28 0.071 / 0.055, 960 -> 160 at 7 x 7 0.18 / 0.09. Layers of
// 16 to 31 channels (a second block mostly padding) still gain where they
// are deep (round 2 stop 44): PP-OCRv4 det's 3 x 3 96 -> 24 at 80 x 80 2.50
// -> 1.53 ms, MobileNetV2's 144 -> 24 at 56 x 56 0.224 -> 0.169.
bool SupportsAmx16(const KernelInit& init) {
  ConvGeometry g;
  return FusedInt16ConvSupports(init, &g) && g.kernel_h * g.kernel_w * (g.in_channels / g.group) >= kAmxMinDepth &&
         g.out_channels / g.group >= kernels::kAmxRows;
}

}  // namespace mixq::ops::int_gemm
