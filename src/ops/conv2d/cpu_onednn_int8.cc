// "onednn-int8": an int8 Conv2D (INT8 in, INT8 out, the plain requantization
// of SPEC §1.5 with fused clamping activations) through oneDNN's int8
// convolution, on NHWC activations: oneDNN 2.6 runs those in its AMX /
// AVX-512 VNNI kernels (brgconv, jit), reading the activations straight into
// its tiles and requantizing from them. On AMX this is 3-10x mixq's own
// amx-int8 on ResNet-50's 3x3 layers (0.07-0.12 ms against 0.75 for 64 ->
// 64 at 56 x 56, one thread), whose im2col packing and NCHW output stage
// cost more than the tile products.
//
// Bit-exact with the reference by construction, or not chosen:
// - oneDNN computes, per output channel, f32(acc) + bias, times the output
//   scale, plus the destination zero point, each a separate float32
//   operation rounded to nearest even (checked against the reference on
//   every case of cpu_onednn_int8_test.cc), then clips and converts: the
//   reference's clamp(rint((f32(acc + int_bias) + bias) * m + zp), lo, hi).
// - Zero point 0 (symmetric activations): the bias as it is (f32, or s32),
//   the multiplier as oneDNN's per-channel output scale.
// - An INT32 bias (or none) with a zero point, no padding: its term folds
//   into the s32 bias (int_bias - zp * sum(w)), so f32(acc + s32 bias) is
//   the reference's f32(acc + int_bias) whenever every partial value is
//   below 2^24 (exact in float32): taken only where the weights bound them
//   so (128 * sum|w| + |s32 bias| and 255 * sum|w| + |int_bias| per
//   channel). oneDNN runs this form in its brgemm kernels (ResNet-50's 1x1
//   layers 0.7-0.8x the src zero point form's time on AMD Zen 4; on an AMX
//   Xeon MobileNetV2 QDQ's 34 1x1 layers 0.92 ms in brgconv_1x1 against
//   1.78 in jit_1x1 with the src zero point, which also ran 1.7x slower at
//   2 threads than at 1).
// - Zero point -128 (a uint8 tensor's 0 from a QDQ model, shifted to int8
//   by the importer) where folding does not apply, dense layers: the codes
//   + 128 (sign bits flipped into a scratch copy) are the centered values as
//   u8, read with no zero point and the bias as it is; oneDNN's padding code
//   0 is then the real 0. oneDNN 2.6 runs these in brgconv, where a src zero
//   point takes its older jit kernels: ResNet-50 QDQ's 3x3 layers on an AMX
//   Xeon 0.15 -> 0.09-0.10 ms at 14 x 14 and 0.30 -> 0.18 at 7 x 7 (the
//   56 x 56 ones 0.126 -> 0.10 with the copy); the whole model 7.25 -> 6.39
//   ms at 1 thread, 4.68 -> 4.00 at 2 (sums of step minima), and 0.90x
//   with oneDNN capped at AVX512_CORE_VNNI (no AMX, as on AMD Zen 4).
// - A padded convolution with another zero point, a float bias, or sums too deep
//   to fold: oneDNN's src zero point (it subtracts zp * the weights of the
//   taps inside the image from the int32 sum itself; oneDNN pads with the
//   code 0, the reference with a real 0) with the bias as it is. A padded
//   convolution used to read a copy of its input padded with the zero point
//   and fold: slower on both CPUs measured (MobileNetV2 QDQ with INT32
//   biases on an AMX Xeon: 2.15 -> 2.00 ms at 1 thread, 2.2-2.4 -> 1.5-1.6
//   at 2 without the copy). Folding the zero point with a float bias and the
//   multiplier as binary add / mul post-ops (exact too) was 1.4-2.4x slower
//   than the src zero point on ResNet-50's layers, so that form is not used.
// - Clamping activations (ReLU, ReLU6, clip) are the output stage's integer
//   bounds [lo, hi]: oneDNN's clip post-op at lo - zp and hi - zp (exact
//   integers) before the zero point is added clamps the same values; the
//   zero point is a linear post-op y * 1 + zp, exact whether fused or not.
// - Only oneDNN implementations on VNNI or AMX instructions: on plain
//   AVX2 / AVX-512 its vpmaddubsw kernels may saturate.
//
// Layouts: the activations run NHWC; a plain NCHW input or output is
// reordered into a thread-scratch copy (oneDNN's reorder), so the kernel
// takes any step it supports, and the layout pass (runtime/layout_pass.h)
// stores the int8 tensors between such convolutions channels-last
// (MemoryLayout::kChannelsLast), where no copy is made. NHWC operators (the
// builder API's layout) read and write their plain tensors in place too: on
// the bundled demo's 3- to 16-channel layers at batch 4 this took the six
// convolutions from 106 us (avx512vnni-int8, whose planes need NCHW copies)
// to 39 us at one thread (AMD Zen 4, `mixq bench --threads 1`).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/onednn.h"
#include "kernels/parallel.h"
#include "ops/conv2d/conv_params.h"
#include "ops/conv2d/int8_conv_common.h"
#include "ops/kernel_registry.h"
#include "ops/onednn_support.h"
#include "ops/op_util.h"
#include "ops/quantized_reference.h"

namespace mixq::ops {

namespace {

using dnnl::memory;
using tag = memory::format_tag;

constexpr int64_t kExactInFloat = int64_t{1} << 24;

// The operator's attribute `name` (input_layout / output_layout) is NHWC.
bool NhwcOperand(const KernelInit& init, const char* name) {
  return init.attrs.Str(name) == "NHWC";
}

// What the oneDNN primitive is made from, worked out once from the step.
struct Int8ConvSetup {
  ConvGeometry g;
  std::vector<int8_t> weights;  // centered, OIHW
  std::vector<float> scales;    // the stage's multiplier per output channel
  bool s32_bias = false;        // else f32
  std::vector<int32_t> bias_s32;
  std::vector<float> bias_f32;
  int32_t src_zero_point = 0;  // as oneDNN's src zero point attribute; 0: none
  bool u8_src = false;         // read as u8 (code + 128): a zero point of -128 made 0
  int32_t dst_zero_point = 0, lo = -128, hi = 127;
};

// The stage's constants for the step's static parameters, as
// Int8ConvOutputStage::Prepare computes them on a run.
const ChannelStage* StageOf(const KernelInit& init, const ConvGeometry& g, Int8ConvOutputStage* stage, int32_t* zp,
                            int32_t* lo, int32_t* hi) {
  stage->Init(init, g);
  const ir::QuantBinding &xq = *init.inputs[0]->quant, &yq = *init.outputs[0].quant;
  RunQuant x_quant{xq.scales[0], xq.zero_points.empty() ? 0 : xq.zero_points[0]};
  RunQuant y_quant{yq.scales[0], yq.zero_points.empty() ? 0 : yq.zero_points[0]};
  std::vector<TensorView> in(init.inputs.size());
  in[0].quant = &x_quant;
  if (init.inputs.size() > 2 && init.inputs[2]) {
    in[2].dtype = init.inputs[2]->dtype;
    in[2].data = const_cast<void*>(init.inputs[2]->const_data);
  }
  TensorView y;
  y.quant = &y_quant;
  stage->Prepare(in, y);
  return stage->PlainInt8(zp, lo, hi);
}

// Fills *s when oneDNN computes this step bit-exactly (see the file comment).
bool PlanSetup(const KernelInit& init, Int8ConvSetup* s) {
  ConvGeometry& g = s->g;
  if (!FusedInt8ConvSupports(init, &g, /*nhwc_too=*/true)) return false;
  const ValueInfo &x = *init.inputs[0], &y = init.outputs[0];
  // An NHWC operator (the builder API's layout) reads and writes plain
  // NHWC tensors: oneDNN's nhwc as they are. Its tensors are never stored
  // channels-last (that is for NCHW operators' tensors).
  if ((NhwcOperand(init, "input_layout") && x.layout != MemoryLayout::kPlain) ||
      (NhwcOperand(init, "output_layout") && y.layout != MemoryLayout::kPlain))
    return false;
  if (x.dtype != DataType::INT8 || y.dtype != DataType::INT8 || !x.quant || !y.quant || x.quant->dynamic ||
      y.quant->dynamic || x.quant->scales.size() != 1 || y.quant->scales.size() != 1)
    return false;
  for (const ValueInfo* v : {&x, &y})
    if (v->layout != MemoryLayout::kPlain && v->layout != MemoryLayout::kChannelsLast) return false;
  const bool has_bias = init.inputs.size() > 2 && init.inputs[2];
  if (has_bias && !init.inputs[2]->const_data) return false;
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops)
      if (op.kind != PostOp::Kind::kActivation) return false;
  Int8ConvOutputStage stage;
  const ChannelStage* c = StageOf(init, g, &stage, &s->dst_zero_point, &s->lo, &s->hi);
  if (!c) return false;
  // Every group's [oc / group][depth] rows one after the other: goihw, output channel o's row at o * depth.
  std::vector<int16_t> centered;
  for (int64_t grp = 0; grp < g.group; ++grp) {
    const std::vector<int16_t> rows = CenteredFilter(*init.inputs[1], g, grp);
    centered.insert(centered.end(), rows.begin(), rows.end());
  }
  const int64_t oc = g.out_channels, depth = g.kernel_h * g.kernel_w * (g.in_channels / g.group);
  const int32_t zp = x.quant->zero_points.empty() ? 0 : x.quant->zero_points[0];
  s->weights.resize(centered.size());
  s->scales.resize(static_cast<size_t>(oc));
  bool float_bias = false;
  for (int64_t o = 0; o < oc; ++o) {
    if (!std::isfinite(c[o].bias) || !std::isfinite(c[o].multiplier)) return false;
    float_bias = float_bias || c[o].bias != 0.0f;
  }
  // Per channel: the weights (s8) and whether the folded form is exact
  // (every partial sum below 2^24).
  std::vector<int64_t> sums(static_cast<size_t>(oc));
  bool foldable = true, attr_exact = true;
  for (int64_t o = 0; o < oc; ++o) {
    int64_t abs_sum = 0, sum = 0;
    for (int64_t k = 0; k < depth; ++k) {
      const int16_t w = centered[static_cast<size_t>(o * depth + k)];
      if (w < -128 || w > 127) return false;
      s->weights[static_cast<size_t>(o * depth + k)] = static_cast<int8_t>(w);
      abs_sum += std::abs(w);
      sum += w;
    }
    sums[static_cast<size_t>(o)] = sum;
    s->scales[static_cast<size_t>(o)] = c[o].multiplier;
    const int64_t ib = c[o].int_bias, folded = ib - int64_t{zp} * sum;
    const bool reference_exact = 255 * abs_sum + std::abs(ib) < kExactInFloat;
    foldable = foldable && reference_exact && 128 * abs_sum + std::abs(folded) < kExactInFloat;
    attr_exact = attr_exact && reference_exact;
    if (float_bias && ib != 0) return false;  // a float bias and an integer one: not this kernel's form
  }
  const bool padded = g.pad_top || g.pad_bottom || g.pad_left || g.pad_right;
  if (zp == 0) {
    // Codes are centered values: the bias as it is, the multiplier as oneDNN's output scale.
    if (!float_bias && !attr_exact) return false;
    s->s32_bias = !float_bias;
  } else if (foldable && !float_bias && !padded) {
    s->s32_bias = true;  // the zero point's term folded into the bias
  } else if (zp == -128 && g.group == 1) {
    // Codes + 128 are the centered values, u8 (a uint8 tensor's own codes):
    // no zero point left, and oneDNN's padding code 0 is the real 0. Not for
    // depthwise layers, whose few MACs per input byte do not pay for the
    // shifted copy (MobileNetV2 QDQ's 3x3 depthwise layers lost 5-80 %).
    if (!float_bias && !attr_exact) return false;
    s->s32_bias = !float_bias;
    s->u8_src = true;
  } else {
    // oneDNN subtracts zp * (the weights of the taps inside the image) itself.
    if (!float_bias && !attr_exact) return false;
    s->s32_bias = !float_bias;
    s->src_zero_point = zp;
  }
  const bool fold = zp != 0 && s->src_zero_point == 0 && !s->u8_src;
  for (int64_t o = 0; o < oc; ++o) {
    if (s->s32_bias)
      s->bias_s32.push_back(
          static_cast<int32_t>(c[o].int_bias - (fold ? int64_t{zp} * sums[static_cast<size_t>(o)] : 0)));
    if (!s->s32_bias) s->bias_f32.push_back(c[o].bias);
  }
  return true;
}

// oihw, or goihw for a grouped (depthwise) convolution.
memory::dims WeightDims(const ConvGeometry& g) {
  if (g.group == 1) return {g.out_channels, g.in_channels, g.kernel_h, g.kernel_w};
  return {g.group, g.out_channels / g.group, g.in_channels / g.group, g.kernel_h, g.kernel_w};
}

dnnl::convolution_forward::primitive_desc MakePd(const Int8ConvSetup& s) {
  const ConvGeometry& g = s.g;
  const auto s8 = memory::data_type::s8;
  const memory::desc src({g.batch, g.in_channels, g.in_h, g.in_w}, s.u8_src ? memory::data_type::u8 : s8, tag::nhwc);
  const memory::desc dst({g.batch, g.out_channels, g.out_h, g.out_w}, s8, tag::nhwc);
  const memory::desc w(WeightDims(g), s8, tag::any);
  const memory::desc bias({g.out_channels}, s.s32_bias ? memory::data_type::s32 : memory::data_type::f32, tag::x);
  const memory::dims pad_l{g.pad_top, g.pad_left}, pad_r{g.pad_bottom, g.pad_right};
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, w,
                                       bias, dst, {g.stride_h, g.stride_w}, {g.dilation_h - 1, g.dilation_w - 1}, pad_l,
                                       pad_r);
  dnnl::primitive_attr attr;
  dnnl::post_ops ops;
  attr.set_output_scales(2, s.scales);
  if (s.src_zero_point != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {s.src_zero_point});
  // The output zero point as a post-op y * 1 + zp (one rounding, fused or
  // not): oneDNN 2.6 has no brgemm kernel with a dst zero point attribute
  // and falls back to its slower jit ones.
  if (s.lo > -128 || s.hi < 127)
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, static_cast<float>(s.lo - s.dst_zero_point),
                       static_cast<float>(s.hi - s.dst_zero_point));
  if (s.dst_zero_point != 0)
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, 1.0f, static_cast<float>(s.dst_zero_point));
  if (ops.len() > 0) attr.set_post_ops(ops);
  return dnnl::convolution_forward::primitive_desc(desc, attr, kernels::CpuEngine());
}

// The sign bits of n bytes flipped, 32 a step (AVX2).
__attribute__((target("avx2"))) void FlipSignBitsAvx2(const uint8_t* s, uint8_t* d, int64_t n) {
  const __m256i sign = _mm256_set1_epi8(static_cast<char>(0x80));
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i),
                        _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i)), sign));
  for (; i < n; ++i) d[i] = static_cast<uint8_t>(s[i] ^ 0x80u);
}

// u8 codes (s8 code + 128) of `bytes` s8 codes: the sign bits flipped, 32
// bytes a step where the CPU has AVX2, else 8 (a byte loop ran at a byte a
// cycle: 0.07 ms for ResNet-50's 56 x 56 x 64 activations, two thirds of
// the convolution's own time). `to` may be `from`.
void ShiftToUnsigned(const void* from, void* to, size_t bytes) {
  const auto* s = static_cast<const uint8_t*>(from);
  auto* d = static_cast<uint8_t*>(to);
  const bool avx2 = kernels::DetectedCpuFeatures().avx2;
  constexpr uint64_t kSignBits = 0x8080808080808080u;
  kernels::ForEachChunk(static_cast<int64_t>(bytes), [&](int64_t begin, int64_t count) {
    if (avx2) return FlipSignBitsAvx2(s + begin, d + begin, count);
    int64_t i = begin;
    for (; i + 8 <= begin + count; i += 8) {
      uint64_t word;
      std::memcpy(&word, s + i, 8);
      word ^= kSignBits;
      std::memcpy(d + i, &word, 8);
    }
    for (; i < begin + count; ++i) d[i] = static_cast<uint8_t>(s[i] ^ 0x80u);
  });
}

// An implementation on exact instructions: AMX tiles or VNNI dot products.
bool ExactImpl(const dnnl::convolution_forward::primitive_desc& pd) {
  const std::string impl = pd.impl_info_str();
  return impl.find("amx") != std::string::npos || impl.find("vnni") != std::string::npos;
}

class OneDnnInt8Conv : public Kernel {
 public:
  const char* Name() const override { return "onednn-int8"; }

  Status Init(const KernelInit& init) {
    if (!PlanSetup(init, &s_)) return Internal("onednn-int8 does not take this convolution");
    src_channels_last_ = init.inputs[0]->layout == MemoryLayout::kChannelsLast || NhwcOperand(init, "input_layout");
    dst_channels_last_ = init.outputs[0].layout == MemoryLayout::kChannelsLast || NhwcOperand(init, "output_layout");
    const ConvGeometry& g = s_.g;
    return kernels::OneDnnCall("Conv2D (oneDNN int8)", [&] {
      auto& engine = kernels::CpuEngine();
      pd_ = MakePd(s_);
      if (!ExactImpl(pd_)) throw std::runtime_error(std::string("no exact implementation: ") + pd_.impl_info_str());
      conv_ = dnnl::convolution_forward(pd_);
      stream_ = dnnl::stream(engine);
      const auto s8 = memory::data_type::s8;
      const memory::desc user_w(WeightDims(g), s8, g.group > 1 ? tag::goihw : tag::oihw);
      packed_weights_ =
          PackWeights(init, "conv2d-int8", user_w, s_.weights.data(), pd_.weights_desc(), &private_bytes_);
      s_.weights = {};
      bias_ = memory(pd_.bias_desc(), engine,
                     s_.s32_bias ? static_cast<void*>(s_.bias_s32.data()) : static_cast<void*>(s_.bias_f32.data()));
      plain_src_md_ = memory::desc({g.batch, g.in_channels, g.in_h, g.in_w}, s8, tag::nchw);
      plain_dst_md_ = memory::desc({g.batch, g.out_channels, g.out_h, g.out_w}, s8, tag::nchw);
      const memory::desc input_md =
          src_channels_last_ ? memory::desc({g.batch, g.in_channels, g.in_h, g.in_w}, s8, tag::nhwc) : plain_src_md_;
      s8_nhwc_md_ = memory::desc({g.batch, g.in_channels, g.in_h, g.in_w}, s8, tag::nhwc);
      if (!src_channels_last_ || s_.u8_src) src_copy_ = memory(pd_.src_desc(), engine, DNNL_MEMORY_NONE);
      if (!src_channels_last_)
        src_reorder_ = dnnl::reorder(memory(plain_src_md_, engine, nullptr), memory(s8_nhwc_md_, engine, nullptr));
      input_md_ = input_md;
      if (!dst_channels_last_) {
        dst_copy_ = memory(pd_.dst_desc(), engine, DNNL_MEMORY_NONE);
        dst_reorder_ = dnnl::reorder(dst_copy_, memory(plain_dst_md_, engine, nullptr));
      }
    });
  }

  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    memory* copies[2] = {&src_copy_, &dst_copy_};
    if (!BindThreadScratch(copies, 2)) return ResourceExhausted("Conv2D (oneDNN int8): no memory for its NHWC copies");
    return kernels::OneDnnCall("Conv2D (oneDNN int8)", [&] {
      auto& engine = kernels::CpuEngine();
      memory src = src_copy_, dst = dst_copy_;
      memory input(input_md_, engine, in[0].data);
      if (src_channels_last_ && !s_.u8_src) {
        src = memory(pd_.src_desc(), engine, in[0].data);
      } else {
        const void* codes = in[0].data;
        if (!src_channels_last_) {
          memory s8_copy(s8_nhwc_md_, engine, src_copy_.get_data_handle());
          src_reorder_.execute(stream_, input, s8_copy);
          stream_.wait();
          codes = src_copy_.get_data_handle();
        }
        if (s_.u8_src) ShiftToUnsigned(codes, src_copy_.get_data_handle(), s8_nhwc_md_.get_size());
      }
      if (dst_channels_last_) dst = memory(pd_.dst_desc(), engine, out[0].data);
      conv_.execute(
          stream_,
          {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, *packed_weights_}, {DNNL_ARG_BIAS, bias_}, {DNNL_ARG_DST, dst}});
      if (!dst_channels_last_) {
        memory plain(plain_dst_md_, engine, out[0].data);
        dst_reorder_.execute(stream_, dst_copy_, plain);
      }
      stream_.wait();
    });
  }

 private:
  Int8ConvSetup s_;
  bool src_channels_last_ = false, dst_channels_last_ = false;
  dnnl::convolution_forward::primitive_desc pd_;
  dnnl::convolution_forward conv_;
  dnnl::stream stream_;
  std::shared_ptr<const memory> packed_weights_;
  int64_t private_bytes_ = 0;
  memory bias_;
  memory::desc plain_src_md_, plain_dst_md_, input_md_, s8_nhwc_md_;
  memory src_copy_, dst_copy_;  // NHWC copies, in thread scratch
  dnnl::reorder src_reorder_, dst_reorder_;
};

bool Supports(const KernelInit& init) {
  Int8ConvSetup s;
  if (!PlanSetup(init, &s)) return false;
  try {
    return ExactImpl(MakePd(s));
  } catch (const std::exception&) {
    return false;
  }
}

// The input and the output in kChannelsLast, where they need no copy.
void LayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs, std::vector<bool>* outputs) {
  inputs->assign(init.inputs.size(), false);
  outputs->assign(init.outputs.size(), false);
  if (block != MemoryLayout::kChannelsLast) return;
  (*inputs)[0] = true;
  (*outputs)[0] = true;
}

// Kept where it reads and writes NHWC, or, for a window wider than 1x1,
// either. A 1x1 convolution with a plain side (MobileNetV2's,
// between its NCHW depthwise kernels) ran 1.2-2.5x slower here than in
// amx-int8 / avx512vnni-int8 (1 thread, same minute: 16 -> 96 at 112 x 112
// 1.20 against 0.48 ms, 144 -> 24 at 56 x 56 0.21 against 0.10), the
// reorders and oneDNN's shallow 1x1 kernels; with both sides NHWC
// (ResNet-50's) it ran 0.5-0.6x their time. MobileNetV2's stem (3x3, both
// sides plain) 0.33 against 0.30.
bool KeepWithLayouts(const KernelInit& init) {
  const bool in_nhwc = init.inputs[0]->layout == MemoryLayout::kChannelsLast || NhwcOperand(init, "input_layout");
  const bool out_nhwc = init.outputs[0].layout == MemoryLayout::kChannelsLast || NhwcOperand(init, "output_layout");
  ConvGeometry g;
  std::vector<ValueInfo> logical;
  const bool pointwise = ComputeConv2DGeometry(init.attrs, RealValuedInfos(init, 3, &logical), &g).ok() &&
                         g.kernel_h == 1 && g.kernel_w == 1;
  return (in_nhwc && out_nhwc) || (!pointwise && (in_nhwc || out_nhwc));
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto conv = std::make_unique<OneDnnInt8Conv>();
  MIXQ_RETURN_IF_ERROR(conv->Init(init));
  *kernel = std::move(conv);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv2d, onednn_int8) {
  // Above amx-int8 (35) and avx512vnni-int8 (30): it declines where oneDNN
  // has no VNNI / AMX implementation or exactness is not guaranteed.
  mixq::ops::RegisterKernel({"onednn-int8", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx512Vnni, 40,
                             mixq::ops::Supports, mixq::ops::Make, mixq::ops::LayoutSlots, mixq::ops::KeepWithLayouts});
}
