// FullyConnected in float32 on oneDNN's inner product: y = a * op(b)^T + c
// with the weight (constant, [N, K] or [K, N]) reordered once per engine into
// the layout oneDNN runs fastest and the bias [N] applied by the primitive.
// Taken when alpha = beta = 1, a is not transposed and the bias (if any) is
// per output feature; otherwise the reference runs. Float sums in another
// order than the reference's double ones: tested with a tolerance.
// "onednn-bf16": the same computing in bfloat16 where the CPU has bfloat16
// dot products, on BFLOAT16 storage and a weight holding bfloat16 values
// (products exact, float32 sums, the output rounded once: docs/precision.md).
#include "kernels/cpu_features.h"
#include "kernels/onednn.h"
#include "ops/kernel_registry.h"
#include "ops/onednn_support.h"
#include "ops/op_util.h"

namespace mixq::ops {

namespace {

using dnnl::memory;

class OneDnnFullyConnected : public Kernel {
 public:
  const char* Name() const override { return bfloat16_ ? "onednn-bf16" : "onednn"; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  // `describe_only`: the primitive descriptor alone (whether oneDNN has a
  // native kernel for the step), no primitive, no packed weights.
  Status Init(const KernelInit& init, bool describe_only = false) {
    bfloat16_ = IsBFloat16Storage(*init.inputs[0]);
    const auto f32 = memory::data_type::f32, bf16 = memory::data_type::bf16;
    const ir::Shape& a = init.inputs[0]->shape;
    const ir::Shape& b = init.inputs[1]->shape;
    const bool tb = init.attrs.Int("transpose_b", 1) != 0;
    const int64_t m = a[0], k = a[1], n = tb ? b[0] : b[1];
    has_bias_ = init.inputs.size() > 2 && init.inputs[2];
    src_md_ = memory::desc({m, k}, bfloat16_ ? bf16 : f32, memory::format_tag::ab);
    // The weight as oneDNN's [O, I]: stored [N, K] (oi) or [K, N] (io).
    w_md_ = memory::desc({n, k}, memory::data_type::f32, tb ? memory::format_tag::oi : memory::format_tag::io);
    bias_md_ = memory::desc({n}, memory::data_type::f32, memory::format_tag::a);
    dst_md_ = memory::desc({m, n}, IsBFloat16Storage(init.outputs[0]) ? bf16 : f32, memory::format_tag::ab);
    const void* weights = init.inputs[1]->const_data;
    return kernels::OneDnnCall("FullyConnected (oneDNN)", [&] {
      auto& engine = kernels::CpuEngine();
      // bfloat16: the weight converted once (exact: bfloat16 values).
      const memory::desc w_any({n, k}, bfloat16_ ? bf16 : f32, memory::format_tag::any);
      const auto desc =
          has_bias_
              ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src_md_, w_any, bias_md_, dst_md_)
              : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src_md_, w_any, dst_md_);
      pd_ = dnnl::inner_product_forward::primitive_desc(desc, engine);
      if (bfloat16_ && !NativeBFloat16Impl(pd_.impl_info_str()))
        throw std::runtime_error("no native bfloat16 implementation");
      if (describe_only) return;
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
  bool bfloat16_ = false;
  bool has_bias_ = false;
  memory::desc src_md_, w_md_, bias_md_, dst_md_;
  std::shared_ptr<const memory> packed_;  // shared with the engine
  int64_t private_bytes_ = 0;
  dnnl::inner_product_forward::primitive_desc pd_;
  dnnl::inner_product_forward ip_;
  dnnl::stream stream_;
};

// The shapes and attributes the primitive takes (both forms).
bool Shapes(const KernelInit& init) {
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

bool Supports(const KernelInit& init) {
  return AllPlainFloat32(init) && !init.HasPostOps() && init.inputs.size() >= 2 && init.inputs[0] && init.inputs[1] &&
         init.inputs[1]->const_data && Shapes(init);
}

// BFLOAT16 storage in, BFLOAT16 storage or plain FLOAT32 out, a constant
// weight of bfloat16 values, a FLOAT32 constant bias, no post-ops.
bool SupportsBFloat16(const KernelInit& init) {
  if (!kernels::DetectedCpuFeatures().avx512bf16 || init.HasPostOps() || init.inputs.size() < 2 || !init.inputs[0] ||
      !init.inputs[1] || init.outputs.size() != 1)
    return false;
  const ValueInfo &x = *init.inputs[0], &w = *init.inputs[1], &y = init.outputs[0];
  if (!IsBFloat16Storage(x) || x.quant || y.quant || w.quant || !HoldsBFloat16Values(w)) return false;
  if (!IsBFloat16Storage(y) && (y.dtype != DataType::FLOAT32 || y.narrowed)) return false;
  if (init.inputs.size() > 2 && init.inputs[2] &&
      (!init.inputs[2]->const_data || init.inputs[2]->dtype != DataType::FLOAT32 || init.inputs[2]->quant))
    return false;
  if (x.layout != MemoryLayout::kPlain || y.layout != MemoryLayout::kPlain || !Shapes(init)) return false;
  OneDnnFullyConnected probe;
  return probe.Init(init, /*describe_only=*/true).ok();
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
  mixq::ops::RegisterKernel({"onednn-bf16", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx512, 30,
                             mixq::ops::SupportsBFloat16, mixq::ops::Make});
}
