#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "kernels/block_layout.h"
#include "kernels/cpu_features.h"
#include "kernels/half_io.h"
#include "kernels/onednn.h"
#include "kernels/parallel.h"
#include "kernels/thread_scratch.h"
#include "ops/conv2d/conv_params.h"
#include "ops/conv2d/cpu.h"
#include "ops/conv2d/onednn_half_bands.h"
#include "ops/half_output_stage.h"
#include "ops/half_storage.h"
#include "ops/kernel_registry.h"
#include "ops/onednn_support.h"
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;

// oneDNN's plain format for an activation layout.
tag ActivationTag(const AxisMap& axes) {
  return axes.pos[1] == 1 ? tag::nchw : tag::nhwc;
}

// oneDNN's format for a blocked layout (op_schema.h MemoryLayout).
tag BlockTag(MemoryLayout layout) {
  return layout == MemoryLayout::kBlocked16 ? tag::nChw16c : tag::nChw8c;
}

struct ConvDescs {
  memory::dims src, dst, weights;
};

ConvDescs DescDims(const ConvGeometry& g) {
  ConvDescs d;
  d.src = {g.batch, g.in_channels, g.in_h, g.in_w};
  d.dst = {g.batch, g.out_channels, g.out_h, g.out_w};
  d.weights = g.group > 1
                  ? memory::dims{g.group, g.out_channels / g.group, g.in_channels / g.group, g.kernel_h, g.kernel_w}
                  : memory::dims{g.out_channels, g.in_channels, g.kernel_h, g.kernel_w};
  return d;
}

dnnl::convolution_forward::primitive_desc ConvPd(const ConvGeometry& g, const memory::desc& w_md, bool has_bias,
                                                 const std::vector<PostOp>& post_ops, tag src_tag, tag dst_tag,
                                                 bool winograd = false) {
  const auto f32 = memory::data_type::f32;
  const ConvDescs d = DescDims(g);
  const memory::desc src_md(d.src, f32, src_tag), dst_md(d.dst, f32, dst_tag);
  const memory::desc bias_md({g.out_channels}, f32, tag::x);
  dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference,
      winograd ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct, src_md, w_md,
      has_bias ? bias_md : memory::desc(), dst_md, {g.stride_h, g.stride_w}, {g.dilation_h - 1, g.dilation_w - 1},
      {g.pad_top, g.pad_left}, {g.pad_bottom, g.pad_right});
  return dnnl::convolution_forward::primitive_desc(desc, PostOpAttr(post_ops), kernels::CpuEngine());
}

// A jit implementation (direct or brgemm), not a reference or gemm one.
bool FastImpl(const dnnl::convolution_forward::primitive_desc& pd) {
  return JitImpl(pd.impl_info_str());
}

// Where "onednn-winograd" runs: a 3 x 3 stride-1 undilated ungrouped
// convolution with input channels in whole 16-blocks, output channels in
// whole eights (oneDNN pads its last block of 16: PP-OCRv4 det's 96 -> 24 at
// 80 x 80 1.26 -> 1.06 ms, at 40 x 40 0.32 -> 0.25, 2 threads, against its
// direct NHWC kernel; det float32 0.938x / 0.982x at 2 / 1 threads, float16
// 0.955x / 0.996x; round 2 stop 46) and an output of at least 28 x 28 (14 x
// 14 on Intel CPUs). oneDNN 2.6's F(2x2, 3x3) kernel
// (`jit_fp32_wino_2x3`, AVX-512 only) against its direct nChw16c one,
// ResNet-50's layers in the model (per-step minima, bench/step_minima_ab.py),
// 1 thread, AMD: 64 -> 64 at 56 x 56 1.36-1.48 against 1.88-1.96 ms, 128 at
// 28 x 28 1.55-1.62 against 1.98-2.11; 256 at 14 x 14 2.1-2.5 against
// 2.2-2.3 (its transformed weights, 16 / 9 of the filter, come from memory
// on every run). On an Intel Xeon (AMX) 256 at 14 x 14 runs 1.27-1.31
// against 1.37-1.39 at 1 thread, 0.50 against 0.71 at 2; 512 at 7 x 7
// 1.93 against 1.80-1.86 and 1.00 against 0.98: not taken.
bool WinogradShape(const ConvGeometry& g) {
  const int64_t min_plane = kernels::DetectedCpuFeatures().intel ? 14 * 14 : 28 * 28;
  return g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 && g.dilation_h == 1 &&
         g.dilation_w == 1 && g.group == 1 && g.in_channels % 16 == 0 && g.out_channels % 8 == 0 &&
         g.out_h * g.out_w >= min_plane;
}

// oneDNN's Winograd kernel on nChw16c tensors, or throws dnnl::error.
dnnl::convolution_forward::primitive_desc WinogradPd(const ConvGeometry& g, const memory::desc& w_md, bool has_bias,
                                                     const std::vector<PostOp>& post_ops) {
  auto pd = ConvPd(g, w_md, has_bias, post_ops, tag::nChw16c, tag::nChw16c, /*winograd=*/true);
  if (std::string(pd.impl_info_str()).find("wino") == std::string::npos)
    throw dnnl::error(dnnl_unimplemented, "no Winograd kernel");
  return pd;
}

// The convolution with activations (and a constant filter's weights) in
// whatever formats oneDNN runs fastest, or, for an activation the plan keeps
// blocked (`src_block` / `dst_block` not kPlain), in that blocked format
// where a fast implementation takes it. On AVX-512 oneDNN 2.6 picks NHWC
// brgemm kernels for "any", which would put reorders around every
// convolution of a blocked chain; its direct nChw16c kernels run the chain
// as is. Throws dnnl::error.
dnnl::convolution_forward::primitive_desc MakeConvPd(const ConvGeometry& g, const memory::desc& w_md, bool has_bias,
                                                     const std::vector<PostOp>& post_ops,
                                                     MemoryLayout src_block = MemoryLayout::kPlain,
                                                     MemoryLayout dst_block = MemoryLayout::kPlain) {
  if (src_block != MemoryLayout::kPlain || dst_block != MemoryLayout::kPlain) {
    const tag src_tag = src_block != MemoryLayout::kPlain ? BlockTag(src_block) : tag::any;
    const tag dst_tag = dst_block != MemoryLayout::kPlain ? BlockTag(dst_block) : tag::any;
    try {
      auto pd = ConvPd(g, w_md, has_bias, post_ops, src_tag, dst_tag);
      if (FastImpl(pd)) return pd;
    } catch (const dnnl::error&) {
      // no implementation takes those formats: oneDNN's own choice below
    }
  }
  return ConvPd(g, w_md, has_bias, post_ops, tag::any, tag::any);
}

// How float16 storage meets oneDNN's float32 format for an activation: the
// same plain layout (convert in place of a copy), nChw8c from or to NCHW
// (the conversion does the reorder), or anything else (convert to the plain
// float32 layout, then oneDNN's reorder).
enum class HalfLayout { kSame, kBlocked8, kBlocked16, kChannelsLast, kReorder };

// Plain float16 tensors are widened straight into oneDNN's nChw8c / nChw16c
// (padded channels zero) or NHWC (channels in whole eights) and read back
// from them row by row.
HalfLayout HalfLayoutOf(const memory::desc& library, const memory::desc& plain, const memory::dims& dims,
                        const AxisMap& axes) {
  if (library == plain) return HalfLayout::kSame;
  if (axes.pos[1] == 1 && library == memory::desc(dims, memory::data_type::f32, tag::nChw8c))
    return HalfLayout::kBlocked8;
  if (axes.pos[1] == 1 && library == memory::desc(dims, memory::data_type::f32, tag::nChw16c))
    return HalfLayout::kBlocked16;
  // oneDNN's brgemm 1x1 kernels pick NHWC for plain tensors.
  if (axes.pos[1] == 1 && dims.size() == 4 && dims[1] % 8 == 0 &&
      library == memory::desc(dims, memory::data_type::f32, tag::nhwc))
    return HalfLayout::kChannelsLast;
  return HalfLayout::kReorder;
}

// The block of kernels/block_layout.h where oneDNN's format `library` is
// one it converts the plain NCHW tensor `plain` to: 8 or 16 for nChw8c /
// nChw16c, the channel count for NHWC (oneDNN's brgemm 1 x 1 kernels pick
// it; channels in whole eights); else 0 (oneDNN's reorder).
int64_t PlainToBlock(const memory::desc& library, const memory::desc& plain, const memory::dims& dims,
                     const AxisMap& axes) {
  switch (HalfLayoutOf(library, plain, dims, axes)) {
    case HalfLayout::kBlocked8:
      return 8;
    case HalfLayout::kBlocked16:
      return 16;
    case HalfLayout::kChannelsLast:
      return dims[1];  // HalfLayoutOf: a multiple of 8
    default:
      return 0;
  }
}

class OneDnnConv : public Kernel {
 public:
  const char* Name() const override {
    if (half_) return winograd_ ? "onednn-f16-winograd" : "onednn-f16";
    return winograd_ ? "onednn-winograd" : "onednn";
  }
  // The filter once packed; the bias is read when it runs.
  bool ReadsInputAtRun(size_t index) const override { return index != 1 || !weights_; }
  // `winograd`: oneDNN's Winograd kernel (SupportsWinograd), on nChw16c.
  Status Init(const KernelInit& init, bool winograd = false) {
    winograd_ = winograd;
    MIXQ_RETURN_IF_ERROR(ComputeConv2DGeometry(init.attrs, init.inputs, &g_));
    for (int i = 0; i < 2; ++i) MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[static_cast<size_t>(i)], "input"));
    has_bias_ = init.inputs.size() > 2 && init.inputs[2] != nullptr;
    const bool grouped = g_.group > 1;
    const ConvDescs dims = DescDims(g_);
    const memory::dims &src_dims = dims.src, &dst_dims = dims.dst, &w_dims = dims.weights;
    const auto f32 = memory::data_type::f32;
    // A blocked layout (runtime/layout_pass.h) is the plain tensor's bytes in
    // oneDNN's nChw8c / nChw16c: the convolution reads and writes it as is.
    const MemoryLayout in_layout = init.inputs[0]->layout, out_layout = init.outputs[0].layout;
    src_md_ = memory::desc(src_dims, f32,
                           in_layout != MemoryLayout::kPlain ? BlockTag(in_layout) : ActivationTag(g_.input_axes));
    dst_md_ = memory::desc(dst_dims, f32,
                           out_layout != MemoryLayout::kPlain ? BlockTag(out_layout) : ActivationTag(g_.output_axes));
    user_w_md_ = memory::desc(w_dims, f32, ConvFilterTag(init.attrs.Str("filter_layout"), grouped));
    const void* filter = init.inputs[1]->const_data;
    if (init.post_ops) post_ops_ = *init.post_ops;
    for (const PostOp& op : post_ops_) {
      if (op.kind != PostOp::Kind::kAdd) continue;
      const MemoryLayout l = init.inputs[static_cast<size_t>(op.input)]->layout;
      addend_md_ = memory::desc(dst_dims, f32, l != MemoryLayout::kPlain ? BlockTag(l) : ActivationTag(g_.output_axes));
    }
    in_half_ = IsHalfStorage(*init.inputs[0]);
    half_ = in_half_ || IsHalfStorage(init.outputs[0]);
    // On float16 storage the post-ops run in the output stage, rounded as
    // their own steps would round them; oneDNN computes the convolution only.
    if (half_) stage_ = std::make_unique<HalfOutputStage>(init);
    const std::vector<PostOp> library_post_ops = half_ ? std::vector<PostOp>{} : post_ops_;
    return kernels::OneDnnCall("Conv2D (oneDNN)", [&] {
      auto& engine = kernels::CpuEngine();
      // A constant filter may take whatever format oneDNN runs fastest.
      const memory::desc w_any(w_dims, f32, tag::any);
      // Activations too may take oneDNN's blocked formats (its fast jit
      // kernels need them for NCHW); they are reordered around the conv
      // unless the plan already keeps them blocked.
      pd_ = winograd_ ? WinogradPd(g_, w_any, has_bias_, library_post_ops)
                      : MakeConvPd(g_, filter ? w_any : user_w_md_, has_bias_, library_post_ops, in_layout, out_layout);
      conv_ = dnnl::convolution_forward(pd_);
      stream_ = dnnl::stream(engine);
      if (half_) InitHalf(src_dims, dst_dims);
      if (half_ && filter) InitBands(init);
      if (half_ && filter) InitChannelBlocks(init);
      if (in_half_) {
        // The float16 input is widened into src_blocked_ (below, in RunHalf).
      } else if (pd_.src_desc() != src_md_) {
        src_blocked_ = memory(pd_.src_desc(), engine, DNNL_MEMORY_NONE);  // bound to scratch in Run
        src_reorder_ = dnnl::reorder(memory(src_md_, engine, nullptr), src_blocked_);
        src_block_ = PlainToBlock(pd_.src_desc(), src_md_, src_dims, g_.input_axes);
      }
      if (!half_ && pd_.dst_desc() != dst_md_) {
        dst_blocked_ = memory(pd_.dst_desc(), engine, DNNL_MEMORY_NONE);
        dst_reorder_ = dnnl::reorder(dst_blocked_, memory(dst_md_, engine, nullptr));
        dst_block_ = PlainToBlock(pd_.dst_desc(), dst_md_, dst_dims, g_.output_axes);
      }
      if (filter) {
        // Reordered once per engine and shared by its contexts.
        packed_weights_ = PackWeights(init, "conv2d", user_w_md_, filter, pd_.weights_desc(), &private_bytes_);
        weights_ = *packed_weights_;
      }
    });
  }

  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  // The blocked / plain temporaries live in this thread's scratch
  // (kernels/thread_scratch.h), shared with every other kernel it runs.
  bool BindScratch() {
    memory* temporaries[kernels::kScratchSlots] = {&src_blocked_, &dst_blocked_, &src_plain_, &dst_plain_};
    return BindThreadScratch(temporaries, kernels::kScratchSlots);
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    if (!BindScratch()) return ResourceExhausted("Conv2D (oneDNN): no memory for its blocked activations");
    if (half_) return RunHalf(in, out);
    return kernels::OneDnnCall("Conv2D (oneDNN)", [&] {
      auto& engine = kernels::CpuEngine();
      memory src(src_md_, engine, in[0].data), dst(dst_md_, engine, out[0].data);
      if (src_blocked_ && src_block_ > 0)
        ToBlocked(in[0].Data<const float>(), src_blocked_, g_.in_channels, g_.in_h * g_.in_w, src_block_);
      else if (src_blocked_)
        src_reorder_.execute(stream_, src, src_blocked_);
      // A fused residual add (sum post-op) accumulates onto the destination.
      for (const PostOp& op : post_ops_) {
        if (op.kind != PostOp::Kind::kAdd) continue;
        const TensorView& addend = in[static_cast<size_t>(op.input)];
        memory a(addend_md_, engine, addend.data);
        if (dst_blocked_ && dst_block_ > 0 && addend_md_ == dst_md_) {
          ToBlocked(addend.Data<const float>(), dst_blocked_, g_.out_channels, g_.out_h * g_.out_w, dst_block_);
        } else if (dst_blocked_) {
          dnnl::reorder(a, dst_blocked_).execute(stream_, a, dst_blocked_);
        } else if (addend_md_ == dst_md_) {
          if (out[0].data != addend.data) std::memcpy(out[0].data, addend.data, out[0].Bytes());
        } else if (out[0].data != addend.data) {  // the addend in another layout than the output
          dnnl::reorder(a, dst).execute(stream_, a, dst);
        } else {
          throw std::runtime_error("residual addend shares the output's bytes in another layout");
        }
      }
      std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src_blocked_ ? src_blocked_ : src},
                                              {DNNL_ARG_DST, dst_blocked_ ? dst_blocked_ : dst}};
      args[DNNL_ARG_WEIGHTS] = weights_ ? weights_ : memory(user_w_md_, engine, in[1].data);
      if (has_bias_ && in.size() > 2 && in[2].data) args[DNNL_ARG_BIAS] = memory(pd_.bias_desc(), engine, in[2].data);
      conv_.execute(stream_, args);
      if (dst_blocked_ && dst_block_ == 0) dst_reorder_.execute(stream_, dst_blocked_, dst);
      stream_.wait();
      if (dst_blocked_ && dst_block_ > 0) {
        const int64_t plane = g_.out_h * g_.out_w, padded = PaddedChannels(g_.out_channels, dst_block_);
        const auto* y = static_cast<const float*>(dst_blocked_.get_data_handle());
        for (int64_t n = 0; n < g_.batch; ++n)
          kernels::BlockedToPlanes(y + n * padded * plane, out[0].Data<float>() + n * g_.out_channels * plane,
                                   g_.out_channels, plane, dst_block_);
      }
    });
  }

 private:
  static int64_t PaddedChannels(int64_t channels, int64_t block) { return (channels + block - 1) / block * block; }

  // Plain float32 images into oneDNN's blocked buffer (kernels/block_layout.h).
  void ToBlocked(const float* x, const memory& blocked, int64_t channels, int64_t plane, int64_t block) const {
    auto* y = static_cast<float*>(blocked.get_data_handle());
    const int64_t padded = PaddedChannels(channels, block);
    for (int64_t n = 0; n < g_.batch; ++n)
      kernels::PlanesToBlocked(x + n * channels * plane, y + n * padded * plane, channels, plane, block);
  }

  // Float16 storage: oneDNN runs on float32 buffers of this kernel in the
  // formats it picked; the input is widened into its own (in that format
  // when it is nChw8c) and the output rounded back through the stage.
  void InitHalf(const memory::dims& src_dims, const memory::dims& dst_dims) {
    auto& engine = kernels::CpuEngine();
    src_layout_ = HalfLayoutOf(pd_.src_desc(), src_md_, src_dims, g_.input_axes);
    dst_layout_ = HalfLayoutOf(pd_.dst_desc(), dst_md_, dst_dims, g_.output_axes);
    if (in_half_) {
      src_blocked_ = memory(pd_.src_desc(), engine, DNNL_MEMORY_NONE);
      if (src_layout_ == HalfLayout::kReorder) {
        src_plain_ = memory(src_md_, engine, DNNL_MEMORY_NONE);
        src_reorder_ = dnnl::reorder(src_plain_, src_blocked_);
      }
    }
    dst_blocked_ = memory(pd_.dst_desc(), engine, DNNL_MEMORY_NONE);
    if (dst_layout_ == HalfLayout::kReorder) {
      dst_plain_ = memory(dst_md_, engine, DNNL_MEMORY_NONE);
      dst_reorder_ = dnnl::reorder(dst_blocked_, dst_plain_);
    }
  }

  // A pointwise convolution between float16 nChw16c tensors runs as jobs of
  // rows x output channels whose float32 copies stay in L2
  // (conv2d/onednn_half_bands.h): the widening, oneDNN's 1x1 kernel and the
  // output stage each touch a job's data while it is hot, instead of three
  // passes over whole float32 tensors (MobileNetV2's 16 -> 96 at 112 x 112:
  // 1.01 ms against 0.43 in float32 before).
  void InitBands(const KernelInit& init) {
    const ConvGeometry& g = g_;
    // Strided ones too, over the pixels they read (onednn_half_bands.h).
    const bool pointwise = g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h >= 1 && g.stride_w >= 1 && g.pad_top == 0 &&
                           g.pad_left == 0 && g.pad_bottom == 0 && g.pad_right == 0 && g.group == 1 &&
                           g.dilation_h == 1 && g.dilation_w == 1;
    if (!pointwise || winograd_ || !in_half_ || !IsHalfStorage(init.outputs[0]) || g.in_channels % 16 != 0 ||
        g.out_channels % 16 != 0 || init.inputs[0]->layout != MemoryLayout::kBlocked16 ||
        init.outputs[0].layout != MemoryLayout::kBlocked16 || src_layout_ != HalfLayout::kSame ||
        dst_layout_ != HalfLayout::kSame)
      return;
    bands_.Init(g, pd_.weights_desc(), std::max(1, omp_get_max_threads()), [&](int64_t rows, int64_t out_channels) {
      ConvGeometry b = g;
      b.in_h = b.out_h = rows;
      b.in_w = b.out_w = g.out_w;
      b.stride_h = b.stride_w = 1;
      b.out_channels = out_channels;
      b.batch = 1;
      return ConvPd(b, memory::desc(DescDims(b).weights, memory::data_type::f32, tag::any), has_bias_, {}, tag::nChw16c,
                    tag::nChw16c);
    });
  }

  // A depthwise convolution between float16 nChw16c tensors runs one block
  // of 16 channels at a time (each reads only its own block): the block's
  // widened input and oneDNN's float32 output stay in L2 for the output
  // stage, instead of three passes over whole float32 tensors.
  void InitChannelBlocks(const KernelInit& init) {
    constexpr int64_t kMinBlockedBytes = 1024 * 1024;
    const ConvGeometry& g = g_;
    if (winograd_ || bands_.active() || !in_half_ || !IsHalfStorage(init.outputs[0]) || g.group != g.in_channels ||
        g.group != g.out_channels || g.in_channels % 16 != 0 || init.inputs[0]->layout != MemoryLayout::kBlocked16 ||
        init.outputs[0].layout != MemoryLayout::kBlocked16 || src_layout_ != HalfLayout::kSame ||
        dst_layout_ != HalfLayout::kSame ||
        std::max(g.in_h * g.in_w, g.out_h * g.out_w) * g.in_channels * 4 < kMinBlockedBytes)
      return;
    const auto f32 = memory::data_type::f32;
    ConvGeometry b = g;
    b.in_channels = b.out_channels = b.group = 16;
    b.batch = 1;
    const memory::dims block_w = DescDims(b).weights;
    auto block_pd = ConvPd(b, memory::desc(block_w, f32, tag::any), has_bias_, {}, tag::nChw16c, tag::nChw16c);
    // Each block's weights are a slice of the whole convolution's packed ones.
    if (!FastImpl(block_pd) || block_pd.weights_desc() != memory::desc(block_w, f32, tag::Goihw16g) ||
        pd_.weights_desc() != memory::desc(DescDims(g).weights, f32, tag::Goihw16g))
      return;
    block_pd_ = block_pd;
    block_conv_ = dnnl::convolution_forward(block_pd_);
    channel_blocks_ = g.in_channels / 16;
  }

  Status RunChannelBlocks(const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
    const int64_t in_run = g_.in_h * g_.in_w * 16, out_run = g_.out_h * g_.out_w * 16;
    const int64_t jobs = g_.batch * channel_blocks_, taps = g_.kernel_h * g_.kernel_w * 16;
    const int threads = std::max(1, omp_get_max_threads());
    if (band_workers_.size() < static_cast<size_t>(threads)) band_workers_.resize(static_cast<size_t>(threads));
    for (BandWorker& bw : band_workers_) {
      bw.src.resize(static_cast<size_t>(in_run));
      bw.dst.resize(static_cast<size_t>(out_run));
    }
    const uint16_t* x = in[0].Data<const uint16_t>();
    float* weights = static_cast<float*>(weights_.get_data_handle());
    const float* bias = has_bias_ && in.size() > 2 ? in[2].Data<const float>() : nullptr;
    bool failed = false;
    std::string error;
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1 && threads > 1)
    for (int64_t job = 0; job < jobs; ++job) {
      BandWorker& bw = band_workers_[static_cast<size_t>(omp_get_thread_num())];
      const int64_t block = job % channel_blocks_;
      kernels::HalfToFloatRow(x + job * in_run, bw.src.data(), in_run);
      try {
        auto& engine = kernels::CpuEngine();
        if (!bw.stream) bw.stream = dnnl::stream(engine);
        std::unordered_map<int, memory> args = {
            {DNNL_ARG_SRC, memory(block_pd_.src_desc(), engine, bw.src.data())},
            {DNNL_ARG_DST, memory(block_pd_.dst_desc(), engine, bw.dst.data())},
            {DNNL_ARG_WEIGHTS, memory(block_pd_.weights_desc(), engine, weights + block * taps)}};
        if (bias) args[DNNL_ARG_BIAS] = memory(block_pd_.bias_desc(), engine, const_cast<float*>(bias) + block * 16);
        block_conv_.execute(bw.stream, args);
        bw.stream.wait();
      } catch (const std::exception& e) {
#pragma omp critical(mixq_conv_block_error)
        {
          failed = true;
          error = e.what();
        }
        continue;
      }
      stage_->Apply(bw.dst.data(), out_run, job * out_run, in, out[0]);
    }
    if (failed) return Internal("Conv2D (oneDNN, float16 storage, by channel block): ", error);
    return Status::OK();
  }

  Status RunHalf(const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
    if (bands_.active())
      return bands_.Run(in[0].Data<const uint16_t>(), weights_.get_data_handle(),
                        has_bias_ && in.size() > 2 ? in[2].Data<const float>() : nullptr, *stage_, in, out[0]);
    if (channel_blocks_ > 0) return RunChannelBlocks(in, out);
    return kernels::OneDnnCall("Conv2D (oneDNN, float16 storage)", [&] {
      auto& engine = kernels::CpuEngine();
      const int64_t in_plane = g_.in_h * g_.in_w, out_plane = g_.out_h * g_.out_w;
      memory src;
      if (!in_half_) {
        memory user(src_md_, engine, in[0].data);
        src = user;
        if (pd_.src_desc() != src_md_) {
          src_reorder_.execute(stream_, user, src_blocked_);
          src = src_blocked_;
        }
      } else {
        const uint16_t* x = in[0].Data<const uint16_t>();
        float* wide = static_cast<float*>(src_blocked_.get_data_handle());
        if (src_layout_ == HalfLayout::kBlocked8 || src_layout_ == HalfLayout::kBlocked16) {
          const int64_t block = src_layout_ == HalfLayout::kBlocked8 ? 8 : 16;
          const int64_t padded = (g_.in_channels + block - 1) / block * block;
          for (int64_t n = 0; n < g_.batch; ++n)
            if (block == 8)
              kernels::HalfPlanesToBlocked8(x + n * g_.in_channels * in_plane, wide + n * padded * in_plane,
                                            g_.in_channels, in_plane);
            else
              kernels::HalfPlanesToBlocked16(x + n * g_.in_channels * in_plane, wide + n * padded * in_plane,
                                             g_.in_channels, in_plane);
        } else if (src_layout_ == HalfLayout::kChannelsLast) {
          for (int64_t n = 0; n < g_.batch; ++n)
            kernels::HalfPlanesToChannelsLast(x + n * g_.in_channels * in_plane, wide + n * g_.in_channels * in_plane,
                                              g_.in_channels, in_plane);
        } else if (src_layout_ == HalfLayout::kSame) {
          kernels::HalfToFloatParallel(x, wide, in[0].Count());
        } else {
          kernels::HalfToFloatParallel(x, static_cast<float*>(src_plain_.get_data_handle()), in[0].Count());
          src_reorder_.execute(stream_, src_plain_, src_blocked_);
        }
        src = src_blocked_;
      }
      std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst_blocked_}};
      args[DNNL_ARG_WEIGHTS] = weights_ ? weights_ : memory(user_w_md_, engine, in[1].data);
      if (has_bias_ && in.size() > 2 && in[2].data) args[DNNL_ARG_BIAS] = memory(pd_.bias_desc(), engine, in[2].data);
      conv_.execute(stream_, args);
      if (dst_layout_ == HalfLayout::kReorder) dst_reorder_.execute(stream_, dst_blocked_, dst_plain_);
      stream_.wait();
      if (dst_layout_ == HalfLayout::kBlocked8 || dst_layout_ == HalfLayout::kBlocked16 ||
          dst_layout_ == HalfLayout::kChannelsLast) {
        // A plain output from oneDNN's blocked or channels-last one: read
        // back row by row through the stage, without a float32 reorder pass
        // (PP-OCR det's 12 -> 96 at 80 x 80: oneDNN's 1x1 kernel writes NHWC).
        const int64_t block = dst_layout_ == HalfLayout::kBlocked8 ? 8 : dst_layout_ == HalfLayout::kBlocked16 ? 16 : 1;
        const int64_t padded = (g_.out_channels + block - 1) / block * block;
        const float* y = static_cast<const float*>(dst_blocked_.get_data_handle());
        for (int64_t n = 0; n < g_.batch; ++n) {
          RowContext context{this, &in, &out[0], n * g_.out_channels * out_plane, out_plane};
          const float* image = y + n * padded * out_plane;
          if (block == 8)
            kernels::ForEachBlocked8Row(image, g_.out_channels, out_plane, &StageRow, &context);
          else if (block == 16)
            kernels::ForEachBlocked16Row(image, g_.out_channels, out_plane, &StageRow, &context);
          else
            kernels::ForEachChannelsLastRow(image, g_.out_channels, out_plane, &StageRow, &context);
        }
      } else {
        const memory& plain = dst_layout_ == HalfLayout::kSame ? dst_blocked_ : dst_plain_;
        const float* y = static_cast<const float*>(plain.get_data_handle());
        const int64_t count = out[0].Count(), block = int64_t{1} << 14;
#pragma omp parallel for schedule(static) if (count > kernels::kMinParallelWidenElements)
        for (int64_t at = 0; at < count; at += block)
          stage_->Apply(y + at, std::min(block, count - at), at, in, out[0]);
      }
    });
  }

  struct RowContext {
    const OneDnnConv* conv;
    const std::vector<TensorView>* in;
    const TensorView* out;
    int64_t image_offset, plane;
  };
  static void StageRow(void* context, const float* values, int64_t n, int64_t c, int64_t s) {
    const auto* r = static_cast<const RowContext*>(context);
    r->conv->stage_->Apply(values, n, r->image_offset + c * r->plane + s, *r->in, *r->out);
  }

  ConvGeometry g_;
  bool has_bias_ = false, winograd_ = false;
  memory::desc src_md_, dst_md_, user_w_md_, addend_md_;
  dnnl::convolution_forward::primitive_desc pd_;
  dnnl::convolution_forward conv_;
  dnnl::stream stream_;
  memory weights_;
  std::shared_ptr<const memory> packed_weights_;  // keeps weights_ alive (shared with the engine)
  int64_t private_bytes_ = 0;
  std::vector<PostOp> post_ops_;
  memory src_blocked_, dst_blocked_;  // when oneDNN runs in its own formats
  dnnl::reorder src_reorder_, dst_reorder_;
  // Float32: 8 or 16 where oneDNN's format is nChw8c / nChw16c of a plain
  // NCHW tensor (converted by kernels/block_layout.h, not the reorder), else 0.
  int64_t src_block_ = 0, dst_block_ = 0;
  // Float16 storage (SupportsOneDnnHalf).
  bool half_ = false, in_half_ = false;
  HalfLayout src_layout_ = HalfLayout::kSame, dst_layout_ = HalfLayout::kSame;
  memory src_plain_, dst_plain_;  // float32 plain copies where oneDNN's reorder is needed
  std::unique_ptr<HalfOutputStage> stage_;
  // Pointwise float16 convolutions as jobs of rows x output channels (InitBands).
  HalfPointwiseBands bands_;
  // Depthwise ones: one worker's buffers per OpenMP thread (InitChannelBlocks).
  struct BandWorker {
    std::vector<float> src, dst;
    dnnl::stream stream;
  };
  std::vector<BandWorker> band_workers_;
  // Depthwise float16 convolutions by blocks of 16 channels (InitChannelBlocks).
  int64_t channel_blocks_ = 0;
  dnnl::convolution_forward::primitive_desc block_pd_;
  dnnl::convolution_forward block_conv_;
};

}  // namespace

Status MakeConv2DOneDnn(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto conv = std::make_unique<OneDnnConv>();
  MIXQ_RETURN_IF_ERROR(conv->Init(init));
  *kernel = std::move(conv);
  return Status::OK();
}

namespace {
Status MakeConv2DWinograd(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto conv = std::make_unique<OneDnnConv>();
  MIXQ_RETURN_IF_ERROR(conv->Init(init, /*winograd=*/true));
  *kernel = std::move(conv);
  return Status::OK();
}
}  // namespace

namespace {
bool SupportsOneDnn(const KernelInit& init) {
  return AllPlainFloat32(init) && OneDnnSupportsPostOps(init, /*sum_allowed=*/true);
}

bool SupportsOneDnnHalf(const KernelInit& init);

// A constant OIHW filter (oneDNN 2.6 reorders only plain OIHW weights into
// its Winograd format), NCHW activations, the Winograd shape, and oneDNN's
// Winograd kernel taking the step with `post_ops` (what oneDNN applies).
bool WinogradTakes(const KernelInit& init, const std::vector<PostOp>& post_ops) {
  ConvGeometry g;
  if (init.inputs.size() < 2 || !init.inputs[1] || !init.inputs[1]->const_data ||
      init.attrs.Str("filter_layout", "OIHW") != "OIHW" || !ComputeConv2DGeometry(init.attrs, init.inputs, &g).ok() ||
      !WinogradShape(g) || g.input_axes.pos[1] != 1 || g.output_axes.pos[1] != 1)
    return false;
  try {
    const memory::desc w_any(DescDims(g).weights, memory::data_type::f32, tag::any);
    WinogradPd(g, w_any, init.inputs.size() > 2 && init.inputs[2] != nullptr, post_ops);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// Plain float32 as "onednn", and oneDNN's Winograd kernel taking the step
// with its post-ops.
bool SupportsWinograd(const KernelInit& init) {
  return SupportsOneDnn(init) && WinogradTakes(init, init.post_ops ? *init.post_ops : std::vector<PostOp>{});
}

// The same on float16 storage ("onednn-f16-winograd"): the float16 tensors
// widened into oneDNN's float32 buffers, post-ops in the output stage.
bool SupportsWinogradHalf(const KernelInit& init) {
  return SupportsOneDnnHalf(init) && WinogradTakes(init, {});
}

// Input, output and residual addend nChw16c (the kernel's own format); on
// float16 storage only the float16 tensors, an addend in the output's layout.
void WinogradSlots(const KernelInit& init, MemoryLayout block, bool half, std::vector<bool>* ins,
                   std::vector<bool>* outs) {
  ins->assign(init.inputs.size(), false);
  outs->assign(init.outputs.size(), false);
  if (block != MemoryLayout::kBlocked16 || !(half ? SupportsWinogradHalf(init) : SupportsWinograd(init))) return;
  (*ins)[0] = !half || IsHalfStorage(*init.inputs[0]);
  (*outs)[0] = !half || IsHalfStorage(init.outputs[0]);
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops)
      if (op.kind == PostOp::Kind::kAdd && op.input >= 0 && static_cast<size_t>(op.input) < ins->size())
        (*ins)[static_cast<size_t>(op.input)] = (*outs)[0];
}

void BlockedSlotsWinograd(const KernelInit& init, MemoryLayout block, std::vector<bool>* ins, std::vector<bool>* outs) {
  WinogradSlots(init, block, /*half=*/false, ins, outs);
}

void BlockedSlotsWinogradHalf(const KernelInit& init, MemoryLayout block, std::vector<bool>* ins,
                              std::vector<bool>* outs) {
  WinogradSlots(init, block, /*half=*/true, ins, outs);
}

// Blocked layouts oneDNN runs this convolution in natively: the input and
// the output where the primitive it would pick for plain tensors wants
// `block` (NCHW only), and a residual addend. float32: the addend is read
// through a reorder whatever its layout. Float16 storage (`half`): only the
// float16 tensors, converted straight to and from oneDNN's float32 buffers
// in that layout, and an addend only in the output's layout (the output
// stage reads it position by position).
void BlockedSlots(const KernelInit& init, MemoryLayout block, bool half, std::vector<bool>* ins,
                  std::vector<bool>* outs) {
  ins->assign(init.inputs.size(), false);
  outs->assign(init.outputs.size(), false);
  ConvGeometry g;
  if (!(half ? SupportsOneDnnHalf(init) : SupportsOneDnn(init)) ||
      !ComputeConv2DGeometry(init.attrs, init.inputs, &g).ok())
    return;
  const ConvDescs d = DescDims(g);
  const auto f32 = memory::data_type::f32;
  // On float16 storage oneDNN runs the convolution alone (the stage applies the post-ops).
  const std::vector<PostOp> post_ops = init.post_ops && !half ? *init.post_ops : std::vector<PostOp>{};
  const bool has_bias = init.inputs.size() > 2 && init.inputs[2] != nullptr;
  try {
    const memory::desc w_any(d.weights, f32, tag::any);
    const bool in_ok = (!half || IsHalfStorage(*init.inputs[0])) && g.input_axes.pos[1] == 1;
    const bool out_ok = (!half || IsHalfStorage(init.outputs[0])) && g.output_axes.pos[1] == 1;
    const MemoryLayout plain = MemoryLayout::kPlain;
    // Both sides blocked where a fast kernel takes it, else either side alone.
    for (const auto& [src, dst] : {std::pair{block, block}, std::pair{block, plain}, std::pair{plain, block}}) {
      if ((src != plain && !in_ok) || (dst != plain && !out_ok)) continue;
      const auto pd = MakeConvPd(g, w_any, has_bias, post_ops, src, dst);
      const bool src_blocked = pd.src_desc() == memory::desc(d.src, f32, BlockTag(block));
      const bool dst_blocked = pd.dst_desc() == memory::desc(d.dst, f32, BlockTag(block));
      if ((src != plain && !src_blocked) || (dst != plain && !dst_blocked)) continue;
      (*ins)[0] = in_ok && src_blocked;
      (*outs)[0] = out_ok && dst_blocked;
      break;
    }
    if (!init.post_ops) return;
    for (const PostOp& op : *init.post_ops)
      if (op.kind == PostOp::Kind::kAdd && op.input >= 0 && static_cast<size_t>(op.input) < ins->size())
        (*ins)[static_cast<size_t>(op.input)] = half ? (*outs)[0] : g.output_axes.pos[1] == 1;
  } catch (const std::exception&) {
    ins->assign(init.inputs.size(), false);
    outs->assign(init.outputs.size(), false);
  }
}

void BlockedSlotsOneDnn(const KernelInit& init, MemoryLayout block, std::vector<bool>* ins, std::vector<bool>* outs) {
  BlockedSlots(init, block, /*half=*/false, ins, outs);
}

void BlockedSlotsOneDnnHalf(const KernelInit& init, MemoryLayout block, std::vector<bool>* ins,
                            std::vector<bool>* outs) {
  BlockedSlots(init, block, /*half=*/true, ins, outs);
}

bool PlainFloat32Input(const KernelInit& init, size_t i) {
  const ValueInfo* v = init.inputs[i];
  return v->dtype == DataType::FLOAT32 && !v->narrowed && init.ComputeOf(i) == DataType::FLOAT32;
}

// Float16 storage in or out (or both); filter and bias FLOAT32 (float16
// weights are rounded FLOAT32 constants); post-ops the output stage applies.
bool SupportsOneDnnHalf(const KernelInit& init) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1) return false;
  const bool in_half = IsHalfStorage(*init.inputs[0]), out_half = IsHalfStorage(init.outputs[0]);
  if (!in_half && !out_half) return false;
  if (!in_half && !PlainFloat32Input(init, 0)) return false;
  if (!out_half && (init.outputs[0].dtype != DataType::FLOAT32 || init.outputs[0].narrowed)) return false;
  for (size_t i = 1; i < std::min<size_t>(init.inputs.size(), 3); ++i)
    if (init.inputs[i] && !PlainFloat32Input(init, i)) return false;
  // Blocked layouts (BlockedSlotsOneDnnHalf) on float16 tensors only, and a
  // residual addend in the output's layout.
  if ((!in_half && init.inputs[0]->layout != MemoryLayout::kPlain) ||
      (!out_half && init.outputs[0].layout != MemoryLayout::kPlain))
    return false;
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops)
      if (op.kind == PostOp::Kind::kAdd && op.input >= 0 && static_cast<size_t>(op.input) < init.inputs.size() &&
          init.inputs[static_cast<size_t>(op.input)] &&
          init.inputs[static_cast<size_t>(op.input)]->layout != init.outputs[0].layout)
        return false;
  return HalfOutputStage::Supports(init);
}
}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv2d, onednn) {
  mixq::ops::RegisterKernel({"onednn", mixq::OpKind::kConv2D, mixq::kernels::Isa::kGeneric, 10,
                             mixq::ops::SupportsOneDnn, mixq::ops::MakeConv2DOneDnn, mixq::ops::BlockedSlotsOneDnn,
                             nullptr, mixq::ops::AddendAlias});
  // Above "onednn" where oneDNN has its AVX-512 Winograd kernel.
  mixq::ops::RegisterKernel({"onednn-winograd", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx512, 11,
                             mixq::ops::SupportsWinograd, mixq::ops::MakeConv2DWinograd,
                             mixq::ops::BlockedSlotsWinograd, nullptr, mixq::ops::AddendAlias});
  mixq::ops::RegisterKernel({"onednn-f16-winograd", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx512, 11,
                             mixq::ops::SupportsWinogradHalf, mixq::ops::MakeConv2DWinograd,
                             mixq::ops::BlockedSlotsWinogradHalf, nullptr, mixq::ops::AddendAlias});
  mixq::ops::RegisterKernel({"onednn-f16", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::SupportsOneDnnHalf, mixq::ops::MakeConv2DOneDnn,
                             mixq::ops::BlockedSlotsOneDnnHalf, nullptr, mixq::ops::AddendAlias});
}
