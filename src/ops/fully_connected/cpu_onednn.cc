// FullyConnected in float32 on oneDNN's inner product: y = a * op(b)^T + c
// with the weight (constant, [N, K] or [K, N]) reordered once per engine into
// the layout oneDNN runs fastest and the bias [N] applied by the primitive.
// Taken when alpha = beta = 1, a is not transposed and the bias (if any) is
// per output feature; otherwise the reference runs. Float sums in another
// order than the reference's double ones: tested with a tolerance.
#include "kernels/onednn.h"
#include "ops/kernel_registry.h"
#include "ops/onednn_support.h"
#include "ops/op_util.h"

namespace mixq::ops {

namespace {

using dnnl::memory;

class OneDnnFullyConnected : public Kernel {
 public:
  const char* Name() const override { return "onednn"; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Init(const KernelInit& init) {
    const ir::Shape& a = init.inputs[0]->shape;
    const ir::Shape& b = init.inputs[1]->shape;
    const bool tb = init.attrs.Int("transpose_b", 1) != 0;
    const int64_t m = a[0], k = a[1], n = tb ? b[0] : b[1];
    has_bias_ = init.inputs.size() > 2 && init.inputs[2];
    src_md_ = memory::desc({m, k}, memory::data_type::f32, memory::format_tag::ab);
    // The weight as oneDNN's [O, I]: stored [N, K] (oi) or [K, N] (io).
    w_md_ = memory::desc({n, k}, memory::data_type::f32, tb ? memory::format_tag::oi : memory::format_tag::io);
    bias_md_ = memory::desc({n}, memory::data_type::f32, memory::format_tag::a);
    dst_md_ = memory::desc({m, n}, memory::data_type::f32, memory::format_tag::ab);
    const void* weights = init.inputs[1]->const_data;
    return kernels::OneDnnCall("FullyConnected (oneDNN)", [&] {
      auto& engine = kernels::CpuEngine();
      const memory::desc w_any({n, k}, memory::data_type::f32, memory::format_tag::any);
      const auto desc =
          has_bias_
              ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src_md_, w_any, bias_md_, dst_md_)
              : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src_md_, w_any, dst_md_);
      pd_ = dnnl::inner_product_forward::primitive_desc(desc, engine);
      ip_ = dnnl::inner_product_forward(pd_);
      stream_ = dnnl::stream(engine);
      packed_ = PackWeights(init, "inner_product", w_md_, weights, pd_.weights_desc(), &private_bytes_);
    });
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    return kernels::OneDnnCall("FullyConnected (oneDNN)", [&] {
      auto& engine = kernels::CpuEngine();
      std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, memory(src_md_, engine, in[0].data)},
                                              {DNNL_ARG_WEIGHTS, *packed_},
                                              {DNNL_ARG_DST, memory(dst_md_, engine, out[0].data)}};
      if (has_bias_) args[DNNL_ARG_BIAS] = memory(bias_md_, engine, in[2].data);
      ip_.execute(stream_, args);
      stream_.wait();
    });
  }

 private:
  bool has_bias_ = false;
  memory::desc src_md_, w_md_, bias_md_, dst_md_;
  std::shared_ptr<const memory> packed_;  // shared with the engine
  int64_t private_bytes_ = 0;
  dnnl::inner_product_forward::primitive_desc pd_;
  dnnl::inner_product_forward ip_;
  dnnl::stream stream_;
};

bool Supports(const KernelInit& init) {
  if (!AllPlainFloat32(init) || init.HasPostOps() || init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] ||
      !init.inputs[1]->const_data)
    return false;
  const ir::Shape& a = init.inputs[0]->shape;
  const ir::Shape& b = init.inputs[1]->shape;
  if (a.size() != 2 || b.size() != 2 || !ir::IsStatic(a) || !ir::IsStatic(b)) return false;
  if (init.attrs.Int("transpose_a") != 0 || init.attrs.Float("alpha", 1.0f) != 1.0f ||
      init.attrs.Float("beta", 1.0f) != 1.0f)
    return false;
  const bool tb = init.attrs.Int("transpose_b", 1) != 0;
  const int64_t k = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
  if (k != a[1]) return false;
  if (init.inputs.size() > 2 && init.inputs[2]) {  // per output feature only: [N] or [1, N]
    const ir::Shape& c = init.inputs[2]->shape;
    if (ir::ElementCount(c) != n || (c.size() == 2 && c[0] != 1) || c.size() > 2) return false;
  }
  return true;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<OneDnnFullyConnected>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(fully_connected, onednn) {
  mixq::ops::RegisterKernel({"onednn", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kGeneric, 10,
                             mixq::ops::Supports, mixq::ops::Make});
}
