// float32 ConvTranspose2D on oneDNN's deconvolution, a constant filter
// reordered once per engine. "onednn-bf16": the same computing in bfloat16
// where the CPU has bfloat16 dot products, on BFLOAT16 storage and a filter
// holding bfloat16 values (products exact, float32 sums, post-ops in
// float32, the output rounded once: docs/precision.md). It runs NHWC
// (oneDNN's AMX kernel: PP-OCR det's 24 -> 24 at 80 x 80 0.44 ms, against
// 19 ms for its NCHW bfloat16 gemm and 2-4 ms for float32), plain tensors
// reordered through thread scratch, kChannelsLast ones read in place.
#include <string>

#include "kernels/cpu_features.h"
#include "kernels/onednn.h"
#include "ops/conv_transpose2d/cpu.h"
#include "ops/conv_transpose2d/geometry.h"
#include "ops/kernel_registry.h"
#include "ops/onednn_support.h"
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

using dnnl::memory;

// A plain activation as oneDNN's logical (N, C, H, W) with the layout's strides.
memory::desc ActivationDesc(const ir::Shape& physical, const AxisMap& axes, memory::data_type type) {
  const auto strides = ir::Strides(physical);
  memory::dims dims(4), logical_strides(4);
  for (int k = 0; k < 4; ++k) {
    dims[static_cast<size_t>(k)] = physical[static_cast<size_t>(axes.pos[k])];
    logical_strides[static_cast<size_t>(k)] = strides[static_cast<size_t>(axes.pos[k])];
  }
  return memory::desc(dims, type, logical_strides);
}

// The filter as oneDNN's deconvolution weights: (O, I, KH, KW), or grouped
// (G, O/G, I/G, KH, KW). mixq's transposed filters hold logical (O/G, I, KH,
// KW) with I = g * (I/G) + i, in any physical order: strides describe it.
memory::desc FilterDesc(const ir::Shape& physical, const AxisMap& axes, const ConvGeometry& g) {
  const auto strides = ir::Strides(physical);
  auto stride = [&](int logical) { return strides[static_cast<size_t>(axes.pos[logical])]; };
  const int64_t opg = g.out_channels / g.group, ipg = g.in_channels / g.group;
  if (g.group == 1)
    return memory::desc({opg, g.in_channels, g.kernel_h, g.kernel_w}, memory::data_type::f32,
                        {stride(0), stride(1), stride(2), stride(3)});
  return memory::desc({g.group, opg, ipg, g.kernel_h, g.kernel_w}, memory::data_type::f32,
                      {ipg * stride(1), stride(0), stride(1), stride(2), stride(3)});
}

// oneDNN's AMX (or brgemm) bfloat16 deconvolution. Without AMX, oneDNN 2.6
// runs a bfloat16 deconvolution on its backward-data convolution kernel
// ("jit_bf16:avx512_core_bf16"): PP-OCR det's 24 -> 24 upsampling (2 x 2,
// stride 2, 80 x 80) took 41.8 ms there on an AMD Zen 4, one thread, against
// 1.3 ms for onednn-col2im in float32 between two casts (the step's values
// are the same: products of bfloat16 values are exact in float32).
bool FastBFloat16Deconvolution(const std::string& impl) {
  if (!NativeBFloat16Impl(impl)) return false;
  return impl.rfind("brg", 0) == 0 || impl.find("amx") != std::string::npos;
}

class OneDnnDeconv : public Kernel {
 public:
  const char* Name() const override { return bfloat16_ ? "onednn-bf16" : "onednn"; }
  // `describe_only`: the primitive descriptor alone (whether oneDNN has a
  // native kernel for the step).
  Status Init(const KernelInit& init, bool describe_only = false) {
    bfloat16_ = IsBFloat16Storage(*init.inputs[0]);
    const auto f32 = memory::data_type::f32, bf16 = memory::data_type::bf16;
    TransposedGeometry tg;
    MIXQ_RETURN_IF_ERROR(ComputeTransposedGeometry(init.attrs, init.inputs, &tg));
    for (size_t i = 0; i < 2; ++i) MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[i], "input"));
    const ConvGeometry& g = tg.conv;
    has_bias_ = init.inputs.size() > 2 && init.inputs[2] != nullptr;
    src_md_ = ActivationDesc(init.inputs[0]->shape, g.input_axes, bfloat16_ ? bf16 : f32);
    dst_md_ = ActivationDesc(init.outputs[0].shape, g.output_axes, IsBFloat16Storage(init.outputs[0]) ? bf16 : f32);
    if (bfloat16_) {
      // The tensors as stored (kChannelsLast: NHWC bytes of the logical
      // NCHW shape); the primitive on NHWC.
      const memory::data_type out_type = dst_md_.data_type();
      if (init.inputs[0]->layout == MemoryLayout::kChannelsLast)
        src_md_ = memory::desc(src_md_.dims(), bf16, memory::format_tag::nhwc);
      if (init.outputs[0].layout == MemoryLayout::kChannelsLast)
        dst_md_ = memory::desc(dst_md_.dims(), out_type, memory::format_tag::nhwc);
      in_md_ = src_md_;
      out_md_ = dst_md_;
      src_md_ = memory::desc(src_md_.dims(), bf16, memory::format_tag::nhwc);
      dst_md_ = memory::desc(dst_md_.dims(), out_type, memory::format_tag::nhwc);
    }
    user_w_md_ = FilterDesc(init.inputs[1]->shape, g.filter_axes, g);
    const memory::desc bias_md({g.out_channels}, memory::data_type::f32, memory::format_tag::x);
    const void* filter = init.inputs[1]->const_data;
    const std::vector<PostOp> post_ops = init.post_ops ? *init.post_ops : std::vector<PostOp>{};
    return kernels::OneDnnCall("ConvTranspose2D (oneDNN)", [&] {
      auto& engine = kernels::CpuEngine();
      // bfloat16: the constant filter converted once (exact: bfloat16 values).
      const memory::desc w_any(user_w_md_.dims(), bfloat16_ ? bf16 : f32, memory::format_tag::any);
      // Output padding extends the end of the output: less end padding.
      dnnl::deconvolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                                             src_md_, filter ? w_any : user_w_md_, has_bias_ ? bias_md : memory::desc(),
                                             dst_md_, {g.stride_h, g.stride_w}, {g.dilation_h - 1, g.dilation_w - 1},
                                             {g.pad_top, g.pad_left},
                                             {g.pad_bottom - tg.output_pad_h, g.pad_right - tg.output_pad_w});
      pd_ = dnnl::deconvolution_forward::primitive_desc(desc, PostOpAttr(post_ops), engine);
      if (bfloat16_ && !FastBFloat16Deconvolution(pd_.impl_info_str()))
        throw std::runtime_error("no fast native bfloat16 implementation");
      if (describe_only) return;
      deconv_ = dnnl::deconvolution_forward(pd_);
      stream_ = dnnl::stream(engine);
      if (bfloat16_ && in_md_ != src_md_) {
        src_copy_ = memory(src_md_, engine, DNNL_MEMORY_NONE);  // in thread scratch on a run
        src_reorder_ = dnnl::reorder(memory(in_md_, engine, nullptr), src_copy_);
      }
      if (bfloat16_ && out_md_ != dst_md_) {
        dst_copy_ = memory(dst_md_, engine, DNNL_MEMORY_NONE);
        dst_reorder_ = dnnl::reorder(dst_copy_, memory(out_md_, engine, nullptr));
      }
      if (filter) {
        packed_weights_ = PackWeights(init, "deconv", user_w_md_, filter, pd_.weights_desc(), &private_bytes_);
        weights_ = *packed_weights_;
      }
    });
  }

  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    memory* copies[2] = {&src_copy_, &dst_copy_};
    if (!BindThreadScratch(copies, 2))
      return ResourceExhausted("ConvTranspose2D (oneDNN bfloat16): no memory for its NHWC copies");
    return kernels::OneDnnCall("ConvTranspose2D (oneDNN)", [&] {
      auto& engine = kernels::CpuEngine();
      memory src = src_copy_ ? src_copy_ : memory(src_md_, engine, in[0].data);
      if (src_copy_) {
        memory input(in_md_, engine, in[0].data);
        src_reorder_.execute(stream_, input, src_copy_);
      }
      std::unordered_map<int, memory> args = {
          {DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst_copy_ ? dst_copy_ : memory(dst_md_, engine, out[0].data)}};
      args[DNNL_ARG_WEIGHTS] = weights_ ? weights_ : memory(user_w_md_, engine, in[1].data);
      if (has_bias_ && in.size() > 2 && in[2].data) args[DNNL_ARG_BIAS] = memory(pd_.bias_desc(), engine, in[2].data);
      deconv_.execute(stream_, args);
      if (dst_copy_) {
        memory output(out_md_, engine, out[0].data);
        dst_reorder_.execute(stream_, dst_copy_, output);
      }
      stream_.wait();
    });
  }

 private:
  bool bfloat16_ = false;
  memory::desc in_md_, out_md_;  // bfloat16: the tensors as stored
  memory src_copy_, dst_copy_;   // their NHWC copies where they are not NHWC
  dnnl::reorder src_reorder_, dst_reorder_;
  bool has_bias_ = false;
  memory::desc src_md_, dst_md_, user_w_md_;
  dnnl::deconvolution_forward::primitive_desc pd_;
  dnnl::deconvolution_forward deconv_;
  dnnl::stream stream_;
  memory weights_;
  std::shared_ptr<const memory> packed_weights_;  // shared with the engine
  int64_t private_bytes_ = 0;
};

}  // namespace

Status MakeConvTranspose2DOneDnn(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto deconv = std::make_unique<OneDnnDeconv>();
  MIXQ_RETURN_IF_ERROR(deconv->Init(init));
  *kernel = std::move(deconv);
  return Status::OK();
}

namespace {
bool SupportsFast(const KernelInit& init) {
  // No post-ops: oneDNN 2.6's deconvolution on AVX2 (gemm, col2im) applies
  // eltwise post-ops in a slow pass of its own: PP-OCR det's last
  // ConvTranspose went from 1.3 to 6.5 ms with a fused scalar add. The
  // activation after it runs as its own step instead.
  return AllPlainFloat32(init) && (!init.post_ops || init.post_ops->empty());
}

// BFLOAT16 storage in, BFLOAT16 storage or plain FLOAT32 out, a constant
// filter of bfloat16 values, a FLOAT32 constant bias, eltwise post-ops (the
// AVX-512 bfloat16 kernels apply them in their own epilogue); oneDNN on
// native bfloat16 instructions only.
bool SupportsBFloat16(const KernelInit& init) {
  if (!kernels::DetectedCpuFeatures().avx512bf16 || init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] ||
      init.outputs.size() != 1)
    return false;
  const ValueInfo &x = *init.inputs[0], &w = *init.inputs[1], &y = init.outputs[0];
  if (!IsBFloat16Storage(x) || x.quant || y.quant || w.quant || !HoldsBFloat16Values(w)) return false;
  if (!IsBFloat16Storage(y) && (y.dtype != DataType::FLOAT32 || y.narrowed)) return false;
  if (init.inputs.size() > 2 && init.inputs[2] &&
      (!init.inputs[2]->const_data || init.inputs[2]->dtype != DataType::FLOAT32 || init.inputs[2]->quant))
    return false;
  if (w.layout != MemoryLayout::kPlain) return false;
  for (const ValueInfo* v : {&x, &y})
    if (v->layout != MemoryLayout::kPlain && v->layout != MemoryLayout::kChannelsLast) return false;
  if (!OneDnnSupportsPostOps(init, /*sum_allowed=*/false)) return false;
  OneDnnDeconv probe;
  return probe.Init(init, /*describe_only=*/true).ok();
}

// bfloat16: the input and output in kChannelsLast (logical NCHW), read and
// written in place.
void LayoutSlotsBFloat16(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                         std::vector<bool>* outputs) {
  inputs->assign(init.inputs.size(), false);
  outputs->assign(init.outputs.size(), false);
  TransposedGeometry tg;
  if (block != MemoryLayout::kChannelsLast || !ComputeTransposedGeometry(init.attrs, init.inputs, &tg).ok()) return;
  (*inputs)[0] = IsBFloat16Storage(*init.inputs[0]) && tg.conv.input_axes.pos[1] == 1;
  (*outputs)[0] = IsBFloat16Storage(init.outputs[0]) && tg.conv.output_axes.pos[1] == 1;
}
}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv_transpose2d, onednn) {
  mixq::ops::RegisterKernel({"onednn", mixq::OpKind::kConvTranspose2D, mixq::kernels::Isa::kGeneric, 10,
                             mixq::ops::SupportsFast, mixq::ops::MakeConvTranspose2DOneDnn});
  mixq::ops::RegisterKernel({"onednn-bf16", mixq::OpKind::kConvTranspose2D, mixq::kernels::Isa::kAvx512, 30,
                             mixq::ops::SupportsBFloat16, mixq::ops::MakeConvTranspose2DOneDnn,
                             mixq::ops::LayoutSlotsBFloat16});
}
