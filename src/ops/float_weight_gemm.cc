#include "ops/float_weight_gemm.h"

#include "kernels/sgemm.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

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
    if (init.post_ops)
      for (const PostOp& op : *init.post_ops) addend_inputs_.push_back(op.input);  // all kAdd (FloatWeightGemmComputes)
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    epilogue_.bias = s_.bias_input >= 0 ? in[static_cast<size_t>(s_.bias_input)].Data<const float>() : nullptr;
    epilogue_.addends.clear();
    for (int input : addend_inputs_) epilogue_.addends.push_back(in[static_cast<size_t>(input)].Data<const float>());
    if (!kernels::SgemmAvx2(in[0].Data<const float>(), s_.m, s_.k, *weights_, epilogue_, out[0].Data<float>(), s_.n))
      return ResourceExhausted("avx2-f32: no memory for the packed rows of input 'a' (", s_.m * s_.k * 4, " bytes)");
    return Status::OK();
  }

 private:
  FloatWeightGemmShape s_;
  std::shared_ptr<const kernels::PackedSgemmB> weights_;  // shared with the engine
  int64_t private_bytes_ = 0;
  std::vector<int> addend_inputs_;
  kernels::SgemmEpilogue epilogue_;
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
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops) {
      if (op.kind != PostOp::Kind::kAdd) return false;  // activations run as their own steps
      const ValueInfo* addend = op.input >= 0 && static_cast<size_t>(op.input) < init.inputs.size()
                                    ? init.inputs[static_cast<size_t>(op.input)]
                                    : nullptr;
      if (!addend || addend->shape != out.shape) return false;
    }
  return true;
}

bool FloatWeightGemmPreferred(const FloatWeightGemmShape& shape) {
  return shape.m >= kernels::kSgemmRows && shape.k >= kernels::kSgemmDepthBlock;
}

Status MakeFloatWeightGemm(const KernelInit& init, const FloatWeightGemmShape& shape, std::unique_ptr<Kernel>* kernel) {
  if (!FloatWeightGemmComputes(init, shape))
    return InvalidArgument("avx2-f32 computes plain float32 products with constant weights, a bias per output ",
                           "column and same-shape adds only");
  auto k = std::make_unique<FloatWeightGemm>();
  MIXQ_RETURN_IF_ERROR(k->Init(init, shape));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace mixq::ops
