// float32 MatMul on oneDNN's matmul primitive, a constant b reordered once
// per engine. Fused post-ops as oneDNN attributes (ops/onednn_support.h):
// each kAdd a binary_add (a residual of the output's shape, or a bias with
// one value per column broadcast over the rows), activations as eltwise
// post-ops (GELU as eltwise_gelu_erf / eltwise_gelu_tanh), in their order.
// A float32 bias first in the chain is the primitive's own bias argument
// instead: the same float32 addition to the sums (the same bits, checked on
// BERT's shapes with and without GELU), at a third of the binary post-op's
// cost (oneDNN 2.6, AMX Xeon, one thread: BERT's 128 x 768 x 3072 product
// with bias and GELU 0.45 ms as binary_add, 0.35-0.37 as bias, 0.20 bare).
//
// "onednn-bf16": the same primitive computing in bfloat16 where the CPU has
// bfloat16 dot products (AVX512_BF16, AMX): a is BFLOAT16 storage, b is too
// (attention's activation products) or a constant holding bfloat16 values
// (a weight consumed in BFLOAT16, rounded by the planner), so every product
// is the reference's exactly and the sums are float32 as its; the post-ops
// run in float32 and the output (BFLOAT16 storage or FLOAT32) is rounded
// once, after them (docs/precision.md, bfloat16 arithmetic).
#include <unordered_map>

#include "kernels/cpu_features.h"
#include "kernels/onednn.h"
#include "ops/kernel_registry.h"
#include "ops/matmul/cpu.h"
#include "ops/matmul/geometry.h"
#include "ops/onednn_support.h"
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

using dnnl::memory;

// An operand as oneDNN sees it: rank-`rank` dims [1..., batch..., rows, cols]
// with the strides of how it is stored (transposed or not).
memory::desc OperandDesc(const Operand& op, size_t rank, memory::data_type type) {
  memory::dims dims(rank, 1), strides(rank, 0);
  const int64_t matrix = op.rows * op.cols;
  dims[rank - 2] = op.rows;
  dims[rank - 1] = op.cols;
  strides[rank - 2] = op.transposed ? 1 : op.cols;
  strides[rank - 1] = op.transposed ? op.rows : 1;
  int64_t step = matrix;
  for (size_t i = op.batch.size(); i-- > 0;) {
    const size_t d = rank - 2 - op.batch.size() + i;
    dims[d] = op.batch[i];
    strides[d] = step;
    step *= op.batch[i];
  }
  for (size_t d = 0; d + 2 + op.batch.size() < rank; ++d) strides[d] = step;  // padded dims of 1
  return memory::desc(dims, type, strides);
}

// oneDNN's type for a step tensor: bf16 for bfloat16 storage, else f32.
memory::data_type TypeOf(const ValueInfo& v) {
  return IsBFloat16Storage(v) ? memory::data_type::bf16 : memory::data_type::f32;
}

class OneDnnMatMul : public Kernel {
 public:
  const char* Name() const override { return bfloat16_ ? "onednn-bf16" : "onednn"; }
  // `describe_only`: the primitive descriptor alone (whether oneDNN has a
  // kernel for the step), no primitive, no packed weights.
  Status Init(const KernelInit& init, bool describe_only = false) {
    bfloat16_ = IsBFloat16Storage(*init.inputs[0]);
    // A constant b is packed as bf16 (exact: bfloat16 values) on the bfloat16 path.
    const memory::data_type b_type =
        bfloat16_ && init.inputs[1]->const_data ? memory::data_type::bf16 : TypeOf(*init.inputs[1]);
    MatMulGeometry g;
    MIXQ_RETURN_IF_ERROR(ComputeMatMulGeometry(init.attrs, init.inputs, &g));
    MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[0], "a"));
    MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[1], "b"));
    size_t rank = g.batch.size() + 2;
    for (size_t i = 0; i < g.batch.size(); ++i) {
      // Concrete shapes must broadcast strictly (inference let -1 match anything).
      const size_t la = g.batch.size() - g.a.batch.size(), lb = g.batch.size() - g.b.batch.size();
      const int64_t da = i < la ? 1 : g.a.batch[i - la], db = i < lb ? 1 : g.b.batch[i - lb];
      if (da != 1 && db != 1 && da != db)
        return InvalidArgument("batch dims of input 'a' ", ir::ShapeString(init.inputs[0]->shape), " and input 'b' ",
                               ir::ShapeString(init.inputs[1]->shape), " do not broadcast");
    }
    const void* constant_b = init.inputs[1]->const_data;
    // A constant 2-D b (or one with batch dims of 1) times an a stored
    // row-major: a's batch dims fold into its rows, one 2-D product. oneDNN
    // then takes b's packed layout (3-D it kept b plain: BERT's 128 x 768 x
    // 3072 product 0.47 against 0.37 ms in bfloat16, one thread).
    bool fold = constant_b && !g.a.transposed && !g.a.vector && !g.b.vector && g.a.batch.size() == g.batch.size();
    for (int64_t d : g.b.batch) fold = fold && d == 1;
    if (fold) {
      int64_t rows = g.a.rows;
      for (int64_t d : g.batch) rows *= d;
      Operand a = g.a, b = g.b;
      a.batch.clear();
      a.rows = rows;
      b.batch.clear();
      g.a = a;
      g.b = b;
      g.batch.clear();
      rank = 2;
    }
    a_md_ = OperandDesc(g.a, rank, TypeOf(*init.inputs[0]));
    b_md_ = OperandDesc(g.b, rank, TypeOf(*init.inputs[1]));  // a constant's own bytes: float32
    memory::dims dst_dims(g.batch.begin(), g.batch.end());
    dst_dims.push_back(g.a.rows);
    dst_dims.push_back(g.b.cols);
    dst_md_ = memory::desc(dst_dims, TypeOf(init.outputs[0]), DenseTag(rank));
    std::vector<PostOp> post_ops = init.post_ops ? *init.post_ops : std::vector<PostOp>{};
    // A per-column FLOAT32 addend first in the chain: the primitive's bias.
    bias_input_ = -1;
    if (!post_ops.empty() && post_ops[0].kind == PostOp::Kind::kAdd) {
      const ValueInfo& a = *init.inputs[static_cast<size_t>(post_ops[0].input)];
      if (a.shape != init.outputs[0].shape && TypeOf(a) == memory::data_type::f32) {
        memory::dims dims(rank, 1);
        dims[rank - 1] = a.shape.back();
        bias_md_ = memory::desc(dims, memory::data_type::f32, DenseTag(rank));
        bias_input_ = post_ops[0].input;
        post_ops.erase(post_ops.begin());
      }
    }
    // Each kAdd's addend as a binary_add source: the output's shape (dst's
    // dims) or one value per column, [1, ..., 1, N] (a bias).
    std::vector<memory::desc> addend_mds;
    for (const PostOp& op : post_ops) {
      if (op.kind != PostOp::Kind::kAdd) continue;
      const ValueInfo& a = *init.inputs[static_cast<size_t>(op.input)];
      memory::dims dims(rank, 1);
      if (a.shape == init.outputs[0].shape)
        dims = dst_dims;
      else
        dims[rank - 1] = a.shape.back();
      addend_mds.push_back(memory::desc(dims, TypeOf(a), DenseTag(rank)));
    }
    return kernels::OneDnnCall("MatMul (oneDNN)", [&] {
      auto& engine = kernels::CpuEngine();
      // A constant b may take whatever layout oneDNN runs fastest: packed once per engine.
      const memory::desc b_any(b_md_.dims(), b_type, memory::format_tag::any);
      const memory::desc& b_desc = constant_b ? b_any : b_md_;
      pd_ = dnnl::matmul::primitive_desc(bias_input_ >= 0 ? dnnl::matmul::desc(a_md_, b_desc, bias_md_, dst_md_)
                                                          : dnnl::matmul::desc(a_md_, b_desc, dst_md_),
                                         BinaryPostOpAttr(post_ops, addend_mds, &addends_), engine);
      if (bfloat16_ && !NativeBFloat16Impl(pd_.impl_info_str()))
        throw std::runtime_error("no native bfloat16 implementation");
      if (describe_only) return;
      matmul_ = dnnl::matmul(pd_);
      stream_ = dnnl::stream(engine);
      if (constant_b) {
        packed_b_ = PackWeights(init, "matmul", b_md_, constant_b, pd_.weights_desc(), &private_bytes_);
        b_packed_ = *packed_b_;
      }
    });
  }

  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    return kernels::OneDnnCall("MatMul (oneDNN)", [&] {
      auto& engine = kernels::CpuEngine();
      std::unordered_map<int, memory> args = {
          {DNNL_ARG_SRC, memory(a_md_, engine, in[0].data)},
          {DNNL_ARG_WEIGHTS, b_packed_ ? b_packed_ : memory(b_md_, engine, in[1].data)},
          {DNNL_ARG_DST, memory(dst_md_, engine, out[0].data)}};
      if (bias_input_ >= 0) args[DNNL_ARG_BIAS] = memory(bias_md_, engine, in[static_cast<size_t>(bias_input_)].data);
      for (const BinaryAddend& a : addends_) args[a.arg] = memory(a.md, engine, in[static_cast<size_t>(a.input)].data);
      matmul_.execute(stream_, args);
      stream_.wait();
    });
  }

 private:
  static memory::format_tag DenseTag(size_t rank) {
    static const memory::format_tag tags[] = {
        memory::format_tag::undef,       memory::format_tag::a,          memory::format_tag::ab,
        memory::format_tag::abc,         memory::format_tag::abcd,       memory::format_tag::abcde,
        memory::format_tag::abcdef,      memory::format_tag::abcdefg,    memory::format_tag::abcdefgh,
        memory::format_tag::abcdefghi,   memory::format_tag::abcdefghij, memory::format_tag::abcdefghijk,
        memory::format_tag::abcdefghijkl};
    return tags[rank];
  }

  bool bfloat16_ = false;
  memory::desc a_md_, b_md_, dst_md_;
  int bias_input_ = -1;  // the step input passed as the primitive's bias, or -1
  memory::desc bias_md_;
  std::vector<BinaryAddend> addends_;       // the fused adds' sources
  std::shared_ptr<const memory> packed_b_;  // shared with the engine
  memory b_packed_;
  int64_t private_bytes_ = 0;
  dnnl::matmul::primitive_desc pd_;
  dnnl::matmul matmul_;
  dnnl::stream stream_;
};

}  // namespace

Status MakeMatMulOneDnn(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  MatMulGeometry g;
  MIXQ_RETURN_IF_ERROR(ComputeMatMulGeometry(init.attrs, init.inputs, &g));
  // oneDNN takes up to 12 dims; more batch dims than that run the reference.
  if (g.batch.size() + 2 > 12) return Internal("MatMul (oneDNN) takes up to 12 dims");
  auto mm = std::make_unique<OneDnnMatMul>();
  MIXQ_RETURN_IF_ERROR(mm->Init(init));
  *kernel = std::move(mm);
  return Status::OK();
}

namespace {
bool SupportsFast(const KernelInit& init) {
  if (!AllPlainFloat32(init) || !OneDnnSupportsBinaryPostOps(init) || init.inputs.size() < 2 || !init.inputs[0] ||
      !init.inputs[1])
    return false;
  // oneDNN takes up to 12 dims.
  if (std::max(init.inputs[0]->shape.size(), init.inputs[1]->shape.size()) > 12) return false;
  // A per-column addend broadcasts along dst's last dim: b's columns, which
  // a 1-D b (promoted to [K, 1], its dim dropped from the output) is not.
  bool column_addend = false;
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops)
      column_addend = column_addend || (op.kind == PostOp::Kind::kAdd &&
                                        init.inputs[static_cast<size_t>(op.input)]->shape != init.outputs[0].shape);
  if (!column_addend) return true;
  MatMulGeometry g;
  return ComputeMatMulGeometry(init.attrs, init.inputs, &g).ok() && !g.b.vector &&
         init.outputs[0].shape.back() == g.b.cols;
}

// The bfloat16 form: a BFLOAT16 storage; b BFLOAT16 storage or a constant
// of bfloat16 values; the output BFLOAT16 storage or plain FLOAT32; post-ops
// with FLOAT32 or BFLOAT16 residual addends; oneDNN on native bfloat16
// instructions only.
bool SupportsBFloat16(const KernelInit& init) {
  if (!kernels::DetectedCpuFeatures().avx512bf16 || init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] ||
      init.outputs.size() != 1)
    return false;
  const ValueInfo &a = *init.inputs[0], &b = *init.inputs[1], &y = init.outputs[0];
  if (!IsBFloat16Storage(a) || a.quant || b.quant || y.quant) return false;
  if (!IsBFloat16Storage(b) && !(b.const_data && HoldsBFloat16Values(b))) return false;
  if (!IsBFloat16Storage(y) && (y.dtype != DataType::FLOAT32 || y.narrowed)) return false;
  for (const ValueInfo* v : {&a, &b})
    if (v->layout != MemoryLayout::kPlain) return false;
  if (y.layout != MemoryLayout::kPlain || !OneDnnSupportsBFloat16BinaryPostOps(init)) return false;
  if (std::max(a.shape.size(), b.shape.size()) > 12) return false;
  MatMulGeometry g;
  if (!ComputeMatMulGeometry(init.attrs, init.inputs, &g).ok()) return false;
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops)
      if (op.kind == PostOp::Kind::kAdd && init.inputs[static_cast<size_t>(op.input)]->shape != y.shape &&
          (g.b.vector || y.shape.back() != g.b.cols))
        return false;
  // Whether oneDNN has a native kernel for it.
  OneDnnMatMul probe;
  return probe.Init(init, /*describe_only=*/true).ok();
}
}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(matmul, onednn) {
  mixq::ops::RegisterKernel({"onednn", mixq::OpKind::kMatMul, mixq::kernels::Isa::kGeneric, 10, mixq::ops::SupportsFast,
                             mixq::ops::MakeMatMulOneDnn});
  mixq::ops::RegisterKernel({"onednn-bf16", mixq::OpKind::kMatMul, mixq::kernels::Isa::kAvx512, 30,
                             mixq::ops::SupportsBFloat16, mixq::ops::MakeMatMulOneDnn});
}
