#include "ops/float_weight_gemm.h"

#include "kernels/cpu_features.h"
#include "kernels/sgemm.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

// The addend of kAdd post-op `op`, if it is a step input.
const ValueInfo* AddendOf(const KernelInit& init, const PostOp& op) {
  return op.input >= 0 && static_cast<size_t>(op.input) < init.inputs.size()
             ? init.inputs[static_cast<size_t>(op.input)]
             : nullptr;
}

// `addend` shaped [N] or [1, ..., 1, N] against an output [..., N] of at
// least its rank: one value per output column.
bool ColumnBias(const ir::Shape& addend, const ir::Shape& out) {
  if (addend.empty() || out.empty() || addend.size() > out.size() || addend.back() != out.back()) return false;
  for (size_t d = 0; d + 1 < addend.size(); ++d)
    if (addend[d] != 1) return false;
  return true;
}

// The epilogue operation of post-op `op`; false when there is none.
bool EpilogueOpOf(const KernelInit& init, const PostOp& op, kernels::SgemmEpilogueOp* e) {
  using Kind = kernels::SgemmEpilogueOp::Kind;
  const ir::Shape& out = init.outputs[0].shape;
  if (op.kind == PostOp::Kind::kAdd) {
    const ValueInfo* addend = AddendOf(init, op);
    if (!addend) return false;
    if (addend->shape == out) {
      e->kind = Kind::kAdd;
    } else if (ColumnBias(addend->shape, out)) {
      e->kind = Kind::kBias;  // the Elementwise step's broadcast along the last axis
    } else {
      return false;
    }
    return true;
  }
  if (op.kind != PostOp::Kind::kActivation) return false;  // kScalar, kQuantize: not here
  if (op.activation == "relu" || op.activation == "relu6" || op.activation == "clip") {
    e->kind = Kind::kClamp;
    e->lo = op.lo;
    e->hi = op.hi;
  } else if (op.activation == "leaky_relu") {
    e->kind = Kind::kLeakyRelu;
    e->lo = op.lo;
  } else if (op.activation == "gelu_erf") {
    e->kind = Kind::kGeluErf;
  } else if (op.activation == "gelu_tanh") {
    e->kind = Kind::kGeluTanh;
  } else {
    return false;  // hard_swish: the reference's double arithmetic, not here
  }
  return true;
}

class FloatWeightGemm : public Kernel {
 public:
  const char* Name() const override { return "avx2-f32"; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Init(const KernelInit& init, const FloatWeightGemmShape& shape) {
    s_ = shape;
    const auto* w = static_cast<const float*>(init.inputs[1]->const_data);
    auto pack = [&](std::shared_ptr<const void>* out, int64_t* bytes) {
      auto packed = std::make_shared<kernels::PackedSgemmB>();
      kernels::PackSgemmB(w, s_.k, s_.n, s_.weights_transposed, packed.get());
      *bytes = packed->Bytes();
      *out = packed;
      return Status::OK();
    };
    std::shared_ptr<const void> packed;
    if (init.weights)
      MIXQ_RETURN_IF_ERROR(init.weights->GetOrCreate(init.weight_key + "/avx2-f32-weights", pack, &packed));
    else
      MIXQ_RETURN_IF_ERROR(pack(&packed, &private_bytes_));
    weights_ = std::static_pointer_cast<const kernels::PackedSgemmB>(packed);
    if (s_.bias_input >= 0 &&
        (static_cast<size_t>(s_.bias_input) >= init.inputs.size() || !init.inputs[static_cast<size_t>(s_.bias_input)]))
      s_.bias_input = -1;
    // The epilogue: the op's own bias, then the post-ops in order (all
    // checked by FloatWeightGemmComputes); the pointers are set per Run.
    if (s_.bias_input >= 0) {
      epilogue_.ops.push_back({kernels::SgemmEpilogueOp::Kind::kBias});
      data_inputs_.push_back(s_.bias_input);
    }
    if (init.post_ops)
      for (const PostOp& op : *init.post_ops) {
        kernels::SgemmEpilogueOp e;
        EpilogueOpOf(init, op, &e);
        epilogue_.ops.push_back(e);
        data_inputs_.push_back(op.kind == PostOp::Kind::kAdd ? op.input : -1);
      }
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    for (size_t i = 0; i < data_inputs_.size(); ++i)
      if (data_inputs_[i] >= 0) epilogue_.ops[i].data = in[static_cast<size_t>(data_inputs_[i])].Data<const float>();
    if (!kernels::SgemmAvx2(in[0].Data<const float>(), s_.m, s_.k, *weights_, epilogue_, out[0].Data<float>(), s_.n))
      return ResourceExhausted("avx2-f32: no memory for the packed rows of input 'a' (", s_.m * s_.k * 4, " bytes)");
    return Status::OK();
  }

 private:
  FloatWeightGemmShape s_;
  std::shared_ptr<const kernels::PackedSgemmB> weights_;  // shared with the engine
  int64_t private_bytes_ = 0;
  kernels::SgemmEpilogue epilogue_;
  std::vector<int> data_inputs_;  // per epilogue op: the step input it reads (bias, addend), or -1
};

}  // namespace

bool FloatWeightGemmComputes(const KernelInit& init, const FloatWeightGemmShape& shape) {
  if (!AllPlainFloat32(init) || init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] ||
      !init.inputs[1]->const_data || init.outputs.size() != 1)
    return false;
  if (shape.m <= 0 || shape.k <= 0 || shape.n <= 0) return false;
  const ValueInfo& out = init.outputs[0];
  if (!ir::IsStatic(out.shape) || ir::ElementCount(out.shape) != shape.m * shape.n) return false;
  if (shape.bias_input >= 0 && static_cast<size_t>(shape.bias_input) < init.inputs.size() &&
      init.inputs[static_cast<size_t>(shape.bias_input)]) {
    const ir::Shape& c = init.inputs[static_cast<size_t>(shape.bias_input)]->shape;
    if (!ir::IsStatic(c) || ir::ElementCount(c) != shape.n || c.size() > 2 || (c.size() == 2 && c[0] != 1))
      return false;  // one bias per output column only
  }
  if (out.shape.empty() || out.shape.back() != shape.n) return false;
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops) {
      kernels::SgemmEpilogueOp e;
      if (!EpilogueOpOf(init, op, &e)) return false;
    }
  return true;
}

bool FloatWeightGemmPreferred(const FloatWeightGemmShape& shape) {
  if (kernels::OneDnnFloatGemmPays()) return false;
  return shape.m >= kernels::kSgemmRows && shape.k >= kernels::kSgemmDepthBlock;
}

Status MakeFloatWeightGemm(const KernelInit& init, const FloatWeightGemmShape& shape, std::unique_ptr<Kernel>* kernel) {
  if (!FloatWeightGemmComputes(init, shape))
    return InvalidArgument("avx2-f32 computes plain float32 products with constant weights, a bias per output ",
                           "column, then adds of a same-shape tensor or a per-column bias and the clamp, leaky_relu ",
                           "and GELU activations only");
  auto k = std::make_unique<FloatWeightGemm>();
  MIXQ_RETURN_IF_ERROR(k->Init(init, shape));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace mixq::ops
