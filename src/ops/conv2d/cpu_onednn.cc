#include <cmath>
#include <cstring>

#include "kernels/onednn.h"
#include "ops/conv2d/conv_params.h"
#include "ops/conv2d/cpu.h"
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

// Filter formats by layout, grouped or not; the grouped dims are (G, O/G, I/G, KH, KW).
tag FilterTag(const std::string& layout, bool grouped) {
  if (layout == "OIHW") return grouped ? tag::goihw : tag::oihw;
  if (layout == "OHWI") return grouped ? tag::gohwi : tag::ohwi;
  return grouped ? tag::hwigo : tag::hwio;  // HWCN
}

class OneDnnConv : public Kernel {
 public:
  const char* Name() const override { return "onednn"; }
  Status Init(const KernelInit& init) {
    MIXQ_RETURN_IF_ERROR(ComputeConv2DGeometry(init.attrs, init.inputs, &g_));
    for (int i = 0; i < 2; ++i) MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[static_cast<size_t>(i)], "input"));
    has_bias_ = init.inputs.size() > 2 && init.inputs[2] != nullptr;
    const bool grouped = g_.group > 1;
    const memory::dims src_dims = {g_.batch, g_.in_channels, g_.in_h, g_.in_w};
    const memory::dims dst_dims = {g_.batch, g_.out_channels, g_.out_h, g_.out_w};
    const memory::dims w_dims = grouped ? memory::dims{g_.group, g_.out_channels / g_.group, g_.in_channels / g_.group,
                                                       g_.kernel_h, g_.kernel_w}
                                        : memory::dims{g_.out_channels, g_.in_channels, g_.kernel_h, g_.kernel_w};
    const auto f32 = memory::data_type::f32;
    src_md_ = memory::desc(src_dims, f32, ActivationTag(g_.input_axes));
    dst_md_ = memory::desc(dst_dims, f32, ActivationTag(g_.output_axes));
    user_w_md_ = memory::desc(w_dims, f32, FilterTag(init.attrs.Str("filter_layout"), grouped));
    const memory::desc bias_md({g_.out_channels}, f32, tag::x);
    const void* filter = init.inputs[1]->const_data;
    if (init.post_ops) post_ops_ = *init.post_ops;
    return kernels::OneDnnCall("Conv2D (oneDNN)", [&] {
      auto& engine = kernels::CpuEngine();
      // A constant filter may take whatever format oneDNN runs fastest.
      const memory::desc w_any(w_dims, f32, tag::any);
      const memory::desc& w_md = filter ? w_any : user_w_md_;
      // Activations too may take oneDNN's blocked formats (its fast jit
      // kernels need them for NCHW); they are reordered around the conv.
      const memory::desc src_any(src_dims, f32, tag::any), dst_any(dst_dims, f32, tag::any);
      dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                           src_any, w_md, has_bias_ ? bias_md : memory::desc(), dst_any,
                                           {g_.stride_h, g_.stride_w}, {g_.dilation_h - 1, g_.dilation_w - 1},
                                           {g_.pad_top, g_.pad_left}, {g_.pad_bottom, g_.pad_right});
      pd_ = dnnl::convolution_forward::primitive_desc(desc, PostOpAttr(post_ops_), engine);
      conv_ = dnnl::convolution_forward(pd_);
      stream_ = dnnl::stream(engine);
      if (pd_.src_desc() != src_md_) {
        src_blocked_ = memory(pd_.src_desc(), engine);
        src_reorder_ = dnnl::reorder(memory(src_md_, engine, nullptr), src_blocked_);
      }
      if (pd_.dst_desc() != dst_md_) {
        dst_blocked_ = memory(pd_.dst_desc(), engine);
        dst_reorder_ = dnnl::reorder(dst_blocked_, memory(dst_md_, engine, nullptr));
      }
      if (filter) {
        // Reordered once per engine and shared by its contexts.
        packed_weights_ = PackWeights(init, "conv2d", user_w_md_, filter, pd_.weights_desc(), &private_bytes_);
        weights_ = *packed_weights_;
      }
    });
  }

  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    return kernels::OneDnnCall("Conv2D (oneDNN)", [&] {
      auto& engine = kernels::CpuEngine();
      memory src(src_md_, engine, in[0].data), dst(dst_md_, engine, out[0].data);
      if (src_blocked_) src_reorder_.execute(stream_, src, src_blocked_);
      // A fused residual add (sum post-op) accumulates onto the destination.
      for (const PostOp& op : post_ops_) {
        if (op.kind != PostOp::Kind::kAdd) continue;
        const TensorView& addend = in[static_cast<size_t>(op.input)];
        if (dst_blocked_) {
          memory plain(dst_md_, engine, addend.data);
          dnnl::reorder(plain, dst_blocked_).execute(stream_, plain, dst_blocked_);
        } else if (out[0].data != addend.data) {
          std::memcpy(out[0].data, addend.data, out[0].Bytes());
        }
      }
      std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src_blocked_ ? src_blocked_ : src},
                                              {DNNL_ARG_DST, dst_blocked_ ? dst_blocked_ : dst}};
      args[DNNL_ARG_WEIGHTS] = weights_ ? weights_ : memory(user_w_md_, engine, in[1].data);
      if (has_bias_ && in.size() > 2 && in[2].data) args[DNNL_ARG_BIAS] = memory(pd_.bias_desc(), engine, in[2].data);
      conv_.execute(stream_, args);
      if (dst_blocked_) dst_reorder_.execute(stream_, dst_blocked_, dst);
      stream_.wait();
    });
  }

 private:
  ConvGeometry g_;
  bool has_bias_ = false;
  memory::desc src_md_, dst_md_, user_w_md_;
  dnnl::convolution_forward::primitive_desc pd_;
  dnnl::convolution_forward conv_;
  dnnl::stream stream_;
  memory weights_;
  std::shared_ptr<const memory> packed_weights_;  // keeps weights_ alive (shared with the engine)
  int64_t private_bytes_ = 0;
  std::vector<PostOp> post_ops_;
  memory src_blocked_, dst_blocked_;  // when oneDNN runs in its own formats
  dnnl::reorder src_reorder_, dst_reorder_;
};

}  // namespace

Status MakeConv2DOneDnn(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto conv = std::make_unique<OneDnnConv>();
  MIXQ_RETURN_IF_ERROR(conv->Init(init));
  *kernel = std::move(conv);
  return Status::OK();
}

namespace {
bool SupportsOneDnn(const KernelInit& init) {
  return AllPlainFloat32(init) && OneDnnSupportsPostOps(init, /*sum_allowed=*/true);
}
}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv2d, onednn) {
  mixq::ops::RegisterKernel({"onednn", mixq::OpKind::kConv2D, mixq::kernels::Isa::kGeneric, 10,
                             mixq::ops::SupportsOneDnn, mixq::ops::MakeConv2DOneDnn});
}
