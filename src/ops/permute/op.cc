// Permute: ONNX Transpose; output dim i is input dim perm[i]. Any dtype.
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

Status ReadPerm(const ir::AttrMap& attrs, const ValueInfo& in, std::vector<int64_t>* perm) {
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  *perm = attrs.Ints("perm");
  if (perm->empty()) {
    for (int64_t d = rank - 1; d >= 0; --d) perm->push_back(d);
    return Status::OK();
  }
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  bool valid = static_cast<int64_t>(perm->size()) == rank;
  for (size_t i = 0; valid && i < perm->size(); ++i) {
    const int64_t p = (*perm)[i];
    valid = p >= 0 && p < rank && !seen[p];
    if (valid) seen[p] = true;
  }
  if (!valid)
    return InvalidArgument("attribute 'perm' ", ir::ShapeString(*perm), " is not a permutation of 0..", rank - 1,
                           " (input 'input' is ", ir::ShapeString(in.shape), ")");
  return Status::OK();
}

Status InferPermute(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                    std::vector<ValueInfo>& outputs) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  std::vector<int64_t> perm;
  MIXQ_RETURN_IF_ERROR(ReadPerm(attrs, *inputs[0], &perm));
  outputs[0].dtype = inputs[0]->dtype;
  outputs[0].shape.clear();
  for (int64_t p : perm) outputs[0].shape.push_back(inputs[0]->shape[p]);
  return Status::OK();
}

}  // namespace

Status PermuteCopyParams(const KernelInit& init, StridedCopyParams* params) {
  MIXQ_RETURN_IF_ERROR(RequireInput(init.inputs, 0, "input"));
  const ValueInfo& in = *init.inputs[0];
  MIXQ_RETURN_IF_ERROR(ExpectStatic(in, "input"));
  std::vector<int64_t> perm;
  MIXQ_RETURN_IF_ERROR(ReadPerm(init.attrs, in, &perm));
  // Walking the output row-major means stepping through the input by the
  // stride of the dim each output axis came from.
  const std::vector<int64_t> strides = ir::Strides(in.shape);
  StridedCopyParams& p = *params;
  p = StridedCopyParams{};
  p.element_size = DataTypeSize(in.dtype);
  for (int64_t d : perm) {
    p.shape.push_back(in.shape[d]);
    p.steps.push_back(strides[d]);
  }
  return Status::OK();
}

namespace {

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  StridedCopyParams p;
  MIXQ_RETURN_IF_ERROR(PermuteCopyParams(init, &p));
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        StridedCopy(p, in[0].data, out[0].data);
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& PermuteSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kPermute;
    s.name = "Permute";
    s.summary = "Reorders dims (ONNX Transpose): output dim i is input dim perm[i] (any dtype).";
    s.input_names = {"input"};
    s.attrs = {
        {"perm", std::vector<int64_t>{}, "a permutation of 0..rank-1; empty: reverse the dims"},
    };
    s.infer = InferPermute;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
