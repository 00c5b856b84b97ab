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
memory::desc ActivationDesc(const ir::Shape& physical, const AxisMap& axes) {
  const auto strides = ir::Strides(physical);
  memory::dims dims(4), logical_strides(4);
  for (int k = 0; k < 4; ++k) {
    dims[static_cast<size_t>(k)] = physical[static_cast<size_t>(axes.pos[k])];
    logical_strides[static_cast<size_t>(k)] = strides[static_cast<size_t>(axes.pos[k])];
  }
  return memory::desc(dims, memory::data_type::f32, logical_strides);
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

class OneDnnDeconv : public Kernel {
 public:
  const char* Name() const override { return "onednn"; }
  Status Init(const KernelInit& init) {
    TransposedGeometry tg;
    MIXQ_RETURN_IF_ERROR(ComputeTransposedGeometry(init.attrs, init.inputs, &tg));
    for (size_t i = 0; i < 2; ++i) MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[i], "input"));
    const ConvGeometry& g = tg.conv;
    has_bias_ = init.inputs.size() > 2 && init.inputs[2] != nullptr;
    src_md_ = ActivationDesc(init.inputs[0]->shape, g.input_axes);
    dst_md_ = ActivationDesc(init.outputs[0].shape, g.output_axes);
    user_w_md_ = FilterDesc(init.inputs[1]->shape, g.filter_axes, g);
    const memory::desc bias_md({g.out_channels}, memory::data_type::f32, memory::format_tag::x);
    const void* filter = init.inputs[1]->const_data;
    const std::vector<PostOp> post_ops = init.post_ops ? *init.post_ops : std::vector<PostOp>{};
    return kernels::OneDnnCall("ConvTranspose2D (oneDNN)", [&] {
      auto& engine = kernels::CpuEngine();
      const memory::desc w_any(user_w_md_.dims(), memory::data_type::f32, memory::format_tag::any);
      // Output padding extends the end of the output: less end padding.
      dnnl::deconvolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                                             src_md_, filter ? w_any : user_w_md_, has_bias_ ? bias_md : memory::desc(),
                                             dst_md_, {g.stride_h, g.stride_w}, {g.dilation_h - 1, g.dilation_w - 1},
                                             {g.pad_top, g.pad_left},
                                             {g.pad_bottom - tg.output_pad_h, g.pad_right - tg.output_pad_w});
      pd_ = dnnl::deconvolution_forward::primitive_desc(desc, PostOpAttr(post_ops), engine);
      deconv_ = dnnl::deconvolution_forward(pd_);
      stream_ = dnnl::stream(engine);
      if (filter) {
        packed_weights_ = PackWeights(init, "deconv", user_w_md_, filter, pd_.weights_desc(), &private_bytes_);
        weights_ = *packed_weights_;
      }
    });
  }

  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    return kernels::OneDnnCall("ConvTranspose2D (oneDNN)", [&] {
      auto& engine = kernels::CpuEngine();
      std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, memory(src_md_, engine, in[0].data)},
                                              {DNNL_ARG_DST, memory(dst_md_, engine, out[0].data)}};
      args[DNNL_ARG_WEIGHTS] = weights_ ? weights_ : memory(user_w_md_, engine, in[1].data);
      if (has_bias_ && in.size() > 2 && in[2].data) args[DNNL_ARG_BIAS] = memory(pd_.bias_desc(), engine, in[2].data);
      deconv_.execute(stream_, args);
      stream_.wait();
    });
  }

 private:
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
}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv_transpose2d, onednn) {
  mixq::ops::RegisterKernel({"onednn", mixq::OpKind::kConvTranspose2D, mixq::kernels::Isa::kGeneric, 10,
                             mixq::ops::SupportsFast, mixq::ops::MakeConvTranspose2DOneDnn});
}
