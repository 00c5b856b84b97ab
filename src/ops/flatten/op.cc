// Flatten: ONNX Flatten, a 2-D view [prod(dims[:axis]), prod(dims[axis:])].
// Row-major order is unchanged, so the kernel copies bytes. Any dtype.
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

Status ComputeFlatten(const ir::AttrMap& attrs, const ValueInfo& in, ir::Shape* out) {
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  int64_t axis = attrs.Int("axis", 1);
  // Unlike most axis attributes, axis == rank is valid: everything goes to the rows.
  if (axis < -rank || axis > rank)
    return InvalidArgument("attribute 'axis' value ", axis, " is out of range for input 'input' ",
                           ir::ShapeString(in.shape), " (valid: ", -rank, "..", rank, ")");
  if (axis < 0) axis += rank;
  *out = {DimProduct(in.shape, 0, static_cast<size_t>(axis)),
          DimProduct(in.shape, static_cast<size_t>(axis), in.shape.size())};
  return Status::OK();
}

Status InferFlatten(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                    std::vector<ValueInfo>& outputs) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  outputs[0].dtype = inputs[0]->dtype;
  return ComputeFlatten(attrs, *inputs[0], &outputs[0].shape);
}

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  MIXQ_RETURN_IF_ERROR(RequireInput(init.inputs, 0, "input"));
  MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[0], "input"));
  return MakeByteCopyKernel(kernel);
}

}  // namespace

const OpSchema& FlattenSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kFlatten;
    s.name = "Flatten";
    s.summary = "ONNX Flatten: 2-D view splitting the dims before and from `axis` (any dtype).";
    s.input_names = {"input"};
    s.attrs = {
        {"axis", int64_t{1}, "dims before it form the rows, the rest the columns; -rank..rank"},
    };
    s.infer = InferFlatten;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
