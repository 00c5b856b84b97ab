// Reshape: ONNX Reshape with the target shape as an attribute. A 0 copies the
// input dim at the same index (unless allowzero), one -1 is inferred from the
// element count. Row-major order is unchanged, so the kernel copies bytes.
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

Status ComputeReshape(const ir::AttrMap& attrs, const ValueInfo& in, ir::Shape* out) {
  const std::vector<int64_t> target = attrs.Ints("shape");
  const bool allow_zero = attrs.Int("allowzero") != 0;
  const size_t rank = in.shape.size();
  out->assign(target.size(), 0);
  std::vector<bool> copied(rank, false);
  int64_t inferred = -1;  // index of the -1 entry
  bool has_zero = false;
  for (size_t i = 0; i < target.size(); ++i) {
    const int64_t t = target[i];
    if (t < -1) return InvalidArgument("attribute 'shape' entry ", i, " is ", t, "; dims must be >= -1");
    if (t == -1) {
      if (inferred >= 0)
        return InvalidArgument("attribute 'shape' ", ir::ShapeString(target), " has more than one -1");
      inferred = static_cast<int64_t>(i);
      (*out)[i] = -1;
    } else if (t == 0 && !allow_zero) {
      if (i >= rank)
        return InvalidArgument("attribute 'shape' entry ", i, " is 0 (copy the input dim) but input 'input' ",
                               ir::ShapeString(in.shape), " has only ", rank, " dims");
      (*out)[i] = in.shape[i];
      copied[i] = true;
    } else {
      has_zero |= t == 0;
      (*out)[i] = t;
    }
  }
  if (allow_zero && has_zero && inferred >= 0)
    return InvalidArgument("attribute 'shape' ", ir::ShapeString(target),
                           " holds both 0 and -1, which allowzero = 1 forbids (the -1 would be ambiguous)");
  // Copied dims appear on both sides and cancel, so a dynamic copied dim
  // does not stop the -1 from being inferred (e.g. [-1,3,4] -> [0,-1] gives [-1,12]).
  int64_t in_rest = 1;
  for (size_t i = 0; i < rank; ++i) {
    if (copied[i]) continue;
    if (in.shape[i] < 0) {
      in_rest = -1;
      break;
    }
    in_rest *= in.shape[i];
  }
  int64_t out_rest = 1;
  for (size_t i = 0; i < target.size(); ++i)
    if (static_cast<int64_t>(i) != inferred && !(i < rank && copied[i]) &&
        !ir::CheckedMul(out_rest, (*out)[i], &out_rest))
      return InvalidArgument("attribute 'shape' ", ir::ShapeString(target), " has more elements than int64 can count");
  if (inferred >= 0) {
    if (in_rest < 0) return Status::OK();  // stays -1 until the shape is known
    if (out_rest == 0 || in_rest % out_rest != 0)
      return InvalidArgument("input 'input' ", ir::ShapeString(in.shape), " cannot be reshaped to attribute 'shape' ",
                             ir::ShapeString(target), ": ", in_rest, " elements do not divide by ", out_rest);
    (*out)[inferred] = in_rest / out_rest;
  } else if (in_rest >= 0 && in_rest != out_rest) {
    return InvalidArgument("input 'input' ", ir::ShapeString(in.shape), " and attribute 'shape' ",
                           ir::ShapeString(target), " (resolved ", ir::ShapeString(*out),
                           ") hold different element counts");
  }
  return Status::OK();
}

Status InferReshape(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                    std::vector<ValueInfo>& outputs) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  outputs[0].dtype = inputs[0]->dtype;
  return ComputeReshape(attrs, *inputs[0], &outputs[0].shape);
}

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  MIXQ_RETURN_IF_ERROR(RequireInput(init.inputs, 0, "input"));
  MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[0], "input"));
  ir::Shape out;
  MIXQ_RETURN_IF_ERROR(ComputeReshape(init.attrs, *init.inputs[0], &out));
  return MakeByteCopyKernel(kernel);
}

}  // namespace

const OpSchema& ReshapeSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kReshape;
    s.name = "Reshape";
    s.summary = "ONNX Reshape: same elements, new shape (0 copies a dim, one -1 is inferred; any dtype).";
    s.input_names = {"input"};
    s.attrs = {
        {"shape", std::vector<int64_t>{},
         "target shape; 0 copies the input dim at that index (unless allowzero), one -1 is inferred"},
        {"allowzero", int64_t{0}, "1: a 0 in 'shape' is a real zero-sized dim, not a copy"},
    };
    s.infer = InferReshape;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
