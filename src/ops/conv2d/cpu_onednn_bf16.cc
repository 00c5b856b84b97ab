// "onednn-bf16": Conv2D computed in bfloat16 through oneDNN (issue 11, as
// OpenVINO does by default on such CPUs), where the CPU has bfloat16 dot
// products (AVX512_BF16, AMX-BF16). It takes a step whose input is BFLOAT16
// storage and whose filter is consumed in BFLOAT16 (force_bfloat16, or
// SetPrecision(BFLOAT16) on the filter): the values oneDNN multiplies are
// then exactly the reference's, every product of two bfloat16 values is
// exact in float32, and the sums are float32 as the reference's (only their
// order differs). The output (BFLOAT16 storage or FLOAT32) is rounded once,
// after the fused post-ops (activation, scalar, residual add) that oneDNN
// applies in float32: a fused step is one operator boundary. The unfused
// plan (force_reference) rounds between those steps too; the two differ by
// at most a bfloat16 step of each intermediate.
//
// Layouts: oneDNN's fast bfloat16 kernels run NHWC (brgconv on AMX, about
// 5-13x its float32 nChw16c kernels on ResNet-50's layers here, one
// thread); a plain NCHW input, output or residual addend goes through a
// reorder into thread scratch, and the layout pass (runtime/layout_pass.h)
// keeps bfloat16 tensors between such convolutions channels-last
// (MemoryLayout::kChannelsLast), where no copy is made.
//
// Only implementations on native bfloat16 instructions are taken: oneDNN
// also has emulated ones for plain AVX-512, slower than float32. Without
// them the step keeps bfloat16 storage around the float32 kernels.
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/block_layout.h"
#include "kernels/cpu_features.h"
#include "kernels/onednn.h"
#include "ops/conv2d/conv_params.h"
#include "ops/kernel_registry.h"
#include "ops/onednn_support.h"
#include "ops/op_util.h"

namespace mixq::ops {

namespace {

using dnnl::memory;
using tag = memory::format_tag;

bool LayoutTaken(const ValueInfo& v) {
  return v.layout == MemoryLayout::kPlain || v.layout == MemoryLayout::kChannelsLast;
}

// The residual addend's input slot, or -1.
int AddendInput(const KernelInit& init) {
  if (!init.post_ops) return -1;
  for (const PostOp& op : *init.post_ops)
    if (op.kind == PostOp::Kind::kAdd) return op.input;
  return -1;
}

// oneDNN's plain format of a tensor: NCHW or NHWC as its logical axes say,
// NHWC in kChannelsLast.
tag PlainTag(const ValueInfo& v, const AxisMap& axes) {
  if (v.layout == MemoryLayout::kChannelsLast) return tag::nhwc;
  return axes.pos[1] == 1 ? tag::nchw : tag::nhwc;
}

memory::dims FilterDims(const ConvGeometry& g) {
  return g.group > 1 ? memory::dims{g.group, g.out_channels / g.group, g.in_channels / g.group, g.kernel_h, g.kernel_w}
                     : memory::dims{g.out_channels, g.in_channels, g.kernel_h, g.kernel_w};
}

memory::data_type OutputType(const KernelInit& init) {
  return IsBFloat16Storage(init.outputs[0]) ? memory::data_type::bf16 : memory::data_type::f32;
}

// The primitive on NHWC activations, the filter in oneDNN's own format.
dnnl::convolution_forward::primitive_desc MakePd(const KernelInit& init, const ConvGeometry& g) {
  const auto bf16 = memory::data_type::bf16;
  const memory::desc src({g.batch, g.in_channels, g.in_h, g.in_w}, bf16, tag::nhwc);
  const memory::desc dst({g.batch, g.out_channels, g.out_h, g.out_w}, OutputType(init), tag::nhwc);
  const memory::desc weights(FilterDims(g), bf16, tag::any);
  const bool has_bias = init.inputs.size() > 2 && init.inputs[2];
  const memory::desc bias({g.out_channels}, memory::data_type::f32, tag::x);
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src,
                                       weights, has_bias ? bias : memory::desc(), dst, {g.stride_h, g.stride_w},
                                       {g.dilation_h - 1, g.dilation_w - 1}, {g.pad_top, g.pad_left},
                                       {g.pad_bottom, g.pad_right});
  const std::vector<PostOp> none;
  return dnnl::convolution_forward::primitive_desc(desc, PostOpAttr(init.post_ops ? *init.post_ops : none),
                                                   kernels::CpuEngine());
}

// Everything but the primitive: the step's types, layouts and post-ops.
bool StepTaken(const KernelInit& init, ConvGeometry* g) {
  if (!kernels::DetectedCpuFeatures().avx512bf16) return false;
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1) return false;
  const ValueInfo &x = *init.inputs[0], &w = *init.inputs[1], &y = init.outputs[0];
  if (!IsBFloat16Storage(x) || x.quant || y.quant) return false;
  if (!IsBFloat16Storage(y) && (y.dtype != DataType::FLOAT32 || y.narrowed)) return false;
  // The filter: a FLOAT32 constant holding bfloat16 values (the planner
  // rounds a filter consumed in BFLOAT16 once, passes/qdq_placement.cc).
  if (!w.const_data || w.dtype != DataType::FLOAT32 || w.quant || !HoldsBFloat16Values(w)) return false;
  if (init.inputs.size() > 2 && init.inputs[2]) {
    const ValueInfo& b = *init.inputs[2];
    if (!b.const_data || b.dtype != DataType::FLOAT32 || b.quant) return false;
  }
  if (!LayoutTaken(x) || !LayoutTaken(y) || w.layout != MemoryLayout::kPlain) return false;
  if (!ComputeConv2DGeometry(init.attrs, init.inputs, g).ok()) return false;
  // kChannelsLast is NHWC storage of a logical NCHW tensor.
  if ((x.layout == MemoryLayout::kChannelsLast && g->input_axes.pos[1] != 1) ||
      (y.layout == MemoryLayout::kChannelsLast && g->output_axes.pos[1] != 1))
    return false;
  if (!OneDnnSupportsPostOps(init, /*sum_allowed=*/true)) return false;
  const int addend = AddendInput(init);
  if (addend >= 0) {
    const ValueInfo& a = *init.inputs[static_cast<size_t>(addend)];
    if (a.dtype != y.dtype || a.narrowed != y.narrowed || a.quant || a.const_data || !LayoutTaken(a)) return false;
    if (a.layout == MemoryLayout::kChannelsLast && g->output_axes.pos[1] != 1) return false;
  }
  return true;
}

class OneDnnBFloat16Conv : public Kernel {
 public:
  const char* Name() const override { return "onednn-bf16"; }
  // The filter is packed; the bias is read when it runs.
  bool ReadsInputAtRun(size_t index) const override { return index != 1; }

  Status Init(const KernelInit& init) {
    if (!StepTaken(init, &g_)) return Internal("Conv2D (oneDNN bfloat16): unsupported step");
    has_bias_ = init.inputs.size() > 2 && init.inputs[2] != nullptr;
    addend_ = AddendInput(init);
    const memory::dims src_dims{g_.batch, g_.in_channels, g_.in_h, g_.in_w};
    const memory::dims dst_dims{g_.batch, g_.out_channels, g_.out_h, g_.out_w};
    const memory::data_type out_type = OutputType(init);
    input_md_ = memory::desc(src_dims, memory::data_type::bf16, PlainTag(*init.inputs[0], g_.input_axes));
    output_md_ = memory::desc(dst_dims, out_type, PlainTag(init.outputs[0], g_.output_axes));
    if (addend_ >= 0)
      addend_md_ =
          memory::desc(dst_dims, out_type, PlainTag(*init.inputs[static_cast<size_t>(addend_)], g_.output_axes));
    return kernels::OneDnnCall("Conv2D (oneDNN bfloat16)", [&] {
      auto& engine = kernels::CpuEngine();
      pd_ = MakePd(init, g_);
      if (!NativeBFloat16Impl(pd_.impl_info_str())) throw std::runtime_error("no native bfloat16 implementation");
      conv_ = dnnl::convolution_forward(pd_);
      stream_ = dnnl::stream(engine);
      if (pd_.src_desc() != input_md_) {
        src_copy_ = memory(pd_.src_desc(), engine, DNNL_MEMORY_NONE);  // in thread scratch on a run
        src_reorder_ = dnnl::reorder(memory(input_md_, engine, nullptr), src_copy_);
        src_own_ = OwnTranspose(input_md_, pd_.src_desc(), src_dims);
      }
      if (pd_.dst_desc() != output_md_) {
        dst_copy_ = memory(pd_.dst_desc(), engine, DNNL_MEMORY_NONE);
        dst_reorder_ = dnnl::reorder(dst_copy_, memory(output_md_, engine, nullptr));
        dst_own_ = OwnTranspose(output_md_, pd_.dst_desc(), dst_dims);
      }
      addend_own_ = addend_ >= 0 && OwnTranspose(addend_md_, pd_.dst_desc(), dst_dims);
      // The float32 filter (bfloat16 values) converted, exactly, once per engine.
      const memory::desc user_w(FilterDims(g_), memory::data_type::f32,
                                ConvFilterTag(init.attrs.Str("filter_layout"), g_.group > 1));
      packed_weights_ =
          PackWeights(init, "conv2d-bf16", user_w, init.inputs[1]->const_data, pd_.weights_desc(), &private_bytes_);
      if (has_bias_) bias_ = memory(pd_.bias_desc(), engine, const_cast<void*>(init.inputs[2]->const_data));
    });
  }

  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    memory* copies[2] = {&src_copy_, &dst_copy_};
    if (!BindThreadScratch(copies, 2))
      return ResourceExhausted("Conv2D (oneDNN bfloat16): no memory for its NHWC copies");
    return kernels::OneDnnCall("Conv2D (oneDNN bfloat16)", [&] {
      auto& engine = kernels::CpuEngine();
      memory src = src_copy_ ? src_copy_ : memory(pd_.src_desc(), engine, in[0].data);
      if (src_copy_ && src_own_) {
        ToChannelsLast(in[0].data, src_copy_.get_data_handle(), input_md_, g_.in_channels, g_.in_h * g_.in_w);
      } else if (src_copy_) {
        memory input(input_md_, engine, in[0].data);
        src_reorder_.execute(stream_, input, src_copy_);
      }
      memory dst = dst_copy_ ? dst_copy_ : memory(pd_.dst_desc(), engine, out[0].data);
      if (addend_ >= 0) {
        // The sum post-op accumulates onto the destination: the addend goes there first.
        const TensorView& a = in[static_cast<size_t>(addend_)];
        if (addend_md_ == dst.get_desc()) {
          if (a.data != dst.get_data_handle()) std::memcpy(dst.get_data_handle(), a.data, addend_md_.get_size());
        } else if (addend_own_ && (dst_copy_ || a.data != out[0].data)) {
          ToChannelsLast(a.data, dst.get_data_handle(), addend_md_, g_.out_channels, g_.out_h * g_.out_w);
        } else if (a.data != out[0].data || dst_copy_) {
          memory addend(addend_md_, engine, a.data);
          dnnl::reorder(addend, dst).execute(stream_, addend, dst);
        } else {
          throw std::runtime_error("residual addend shares the output's bytes in another layout");
        }
      }
      std::unordered_map<int, memory> args = {
          {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, *packed_weights_}, {DNNL_ARG_DST, dst}};
      if (has_bias_) args[DNNL_ARG_BIAS] = bias_;
      conv_.execute(stream_, args);
      if (dst_copy_ && !dst_own_) {
        memory output(output_md_, engine, out[0].data);
        dst_reorder_.execute(stream_, dst_copy_, output);
      }
      stream_.wait();
      if (dst_copy_ && dst_own_)
        ToPlanes(dst_copy_.get_data_handle(), out[0].data, output_md_, g_.out_channels, g_.out_h * g_.out_w);
    });
  }

 private:
  // Whether `plain` (NCHW) to or from `library` (NHWC, the same type) is a
  // transpose of kernels/block_layout.h: 16-bit values with 8 channels or
  // more, float32 ones with channels in whole eights. oneDNN's reorder ran
  // such copies on one thread (PP-OCRv4 det's 96 x 80 x 80: 0.13-0.19 ms
  // each at 2 threads, 1.3 ms per inference).
  static bool OwnTranspose(const memory::desc& plain, const memory::desc& library, const memory::dims& dims) {
    const memory::data_type type = plain.data_type();
    if (plain != memory::desc(dims, type, tag::nchw) || library != memory::desc(dims, type, tag::nhwc)) return false;
    // Fewer than 8 channels (the stems' 3) would go value by value: oneDNN's
    // reorder is faster there (PP-OCRv4 det's 3 x 320 x 320 0.217 against
    // 0.253 ms).
    if (dims[1] < 8) return false;
    return type == memory::data_type::bf16 || (type == memory::data_type::f32 && dims[1] % 8 == 0);
  }

  // The batch's NCHW images (type of `plain`) into NHWC at `to`, and back.
  void ToChannelsLast(const void* from, void* to, const memory::desc& plain, int64_t channels, int64_t plane) const {
    for (int64_t n = 0; n < g_.batch; ++n) {
      const int64_t at = n * channels * plane;
      if (plain.data_type() == memory::data_type::bf16)
        kernels::PlanesToChannelsLast16(static_cast<const uint16_t*>(from) + at, static_cast<uint16_t*>(to) + at,
                                        channels, plane);
      else
        kernels::PlanesToBlocked(static_cast<const float*>(from) + at, static_cast<float*>(to) + at, channels, plane,
                                 channels);
    }
  }
  void ToPlanes(const void* from, void* to, const memory::desc& plain, int64_t channels, int64_t plane) const {
    for (int64_t n = 0; n < g_.batch; ++n) {
      const int64_t at = n * channels * plane;
      if (plain.data_type() == memory::data_type::bf16)
        kernels::ChannelsLastToPlanes16(static_cast<const uint16_t*>(from) + at, static_cast<uint16_t*>(to) + at,
                                        channels, plane);
      else
        kernels::BlockedToPlanes(static_cast<const float*>(from) + at, static_cast<float*>(to) + at, channels, plane,
                                 channels);
    }
  }

  ConvGeometry g_;
  bool has_bias_ = false;
  bool src_own_ = false, dst_own_ = false, addend_own_ = false;  // OwnTranspose
  int addend_ = -1;
  memory::desc input_md_, output_md_, addend_md_;
  dnnl::convolution_forward::primitive_desc pd_;
  dnnl::convolution_forward conv_;
  dnnl::stream stream_;
  std::shared_ptr<const memory> packed_weights_;
  int64_t private_bytes_ = 0;
  memory bias_;
  memory src_copy_, dst_copy_;  // NHWC copies of plain tensors, in thread scratch
  dnnl::reorder src_reorder_, dst_reorder_;
};

bool Supports(const KernelInit& init) {
  ConvGeometry g;
  if (!StepTaken(init, &g)) return false;
  try {
    return NativeBFloat16Impl(MakePd(init, g).impl_info_str());
  } catch (const std::exception&) {
    return false;
  }
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto conv = std::make_unique<OneDnnBFloat16Conv>();
  MIXQ_RETURN_IF_ERROR(conv->Init(init));
  *kernel = std::move(conv);
  return Status::OK();
}

// The input, the output and a residual addend in kChannelsLast, where they
// need no copy (logical NCHW tensors only: NHWC ones are NHWC already).
void LayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs, std::vector<bool>* outputs) {
  inputs->assign(init.inputs.size(), false);
  outputs->assign(init.outputs.size(), false);
  ConvGeometry g;
  if (block != MemoryLayout::kChannelsLast || !ComputeConv2DGeometry(init.attrs, init.inputs, &g).ok()) return;
  (*inputs)[0] = IsBFloat16Storage(*init.inputs[0]) && g.input_axes.pos[1] == 1;
  (*outputs)[0] = IsBFloat16Storage(init.outputs[0]) && g.output_axes.pos[1] == 1;
  const int addend = AddendInput(init);
  if (addend >= 0 && static_cast<size_t>(addend) < inputs->size())
    (*inputs)[static_cast<size_t>(addend)] = (*outputs)[0];
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv2d, onednn_bf16) {
  mixq::ops::RegisterKernel({"onednn-bf16", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx512, 30, mixq::ops::Supports,
                             mixq::ops::Make, mixq::ops::LayoutSlots, nullptr, mixq::ops::AddendAlias});
}
