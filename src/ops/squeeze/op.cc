// Squeeze: removes dims of extent 1 (the listed ones, or all of them).
// Row-major order is unchanged, so the kernel copies bytes. Any dtype.
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

// With `strict`, a -1 on a listed axis is an error rather than assumed to be 1.
Status ComputeSqueeze(const ir::AttrMap& attrs, const ValueInfo& in, bool strict, ir::Shape* out) {
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  const std::vector<int64_t> axes_attr = attrs.Ints("axes");
  std::vector<bool> drop(static_cast<size_t>(rank), false);
  if (axes_attr.empty()) {
    for (int64_t d = 0; d < rank; ++d) {
      // Whether a -1 dim would be squeezed is unknowable, and the output rank with it.
      if (in.shape[d] < 0)
        return InvalidArgument("input 'input' ", ir::ShapeString(in.shape), " has a dynamic dim at axis ", d,
                               "; give attribute 'axes' explicitly");
      drop[d] = in.shape[d] == 1;
    }
  } else {
    std::vector<int64_t> axes;
    MIXQ_RETURN_IF_ERROR(NormalizeAxesAttr(axes_attr, rank, "axes", &axes));
    for (int64_t a : axes) {
      const int64_t dim = in.shape[a];
      if (dim == 1 || (dim < 0 && !strict)) {
        drop[a] = true;
        continue;
      }
      return InvalidArgument("attribute 'axes' names axis ", a, " of input 'input' ", ir::ShapeString(in.shape),
                             ", whose dim is ", dim, ", not 1");
    }
  }
  out->clear();
  for (int64_t d = 0; d < rank; ++d)
    if (!drop[d]) out->push_back(in.shape[d]);
  return Status::OK();
}

Status InferSqueeze(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                    std::vector<ValueInfo>& outputs) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  outputs[0].dtype = inputs[0]->dtype;
  return ComputeSqueeze(attrs, *inputs[0], false, &outputs[0].shape);
}

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  MIXQ_RETURN_IF_ERROR(RequireInput(init.inputs, 0, "input"));
  MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[0], "input"));
  ir::Shape out;
  MIXQ_RETURN_IF_ERROR(ComputeSqueeze(init.attrs, *init.inputs[0], true, &out));
  return MakeByteCopyKernel(kernel);
}

}  // namespace

const OpSchema& SqueezeSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kSqueeze;
    s.name = "Squeeze";
    s.summary = "Removes dims of extent 1 (any dtype).";
    s.input_names = {"input"};
    s.attrs = {
        {"axes", std::vector<int64_t>{},
         "dims to remove, each of extent 1 (negative allowed); empty: every dim of extent 1"},
    };
    s.infer = InferSqueeze;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
