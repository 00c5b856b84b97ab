// Unsqueeze: ONNX Unsqueeze, inserts dims of extent 1 at the listed positions
// of the output. Row-major order is unchanged, so the kernel copies bytes.
// Any dtype.
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

Status ComputeUnsqueeze(const ir::AttrMap& attrs, const ValueInfo& in, ir::Shape* out) {
  const std::vector<int64_t> axes_attr = attrs.Ints("axes");
  if (axes_attr.empty()) return InvalidArgument("attribute 'axes' must list at least one axis");
  // Axes index the output, so negative ones count from the output's end.
  const int64_t out_rank = static_cast<int64_t>(in.shape.size() + axes_attr.size());
  std::vector<int64_t> axes;
  MIXQ_RETURN_IF_ERROR(NormalizeAxesAttr(axes_attr, out_rank, "axes", &axes));
  std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
  for (int64_t a : axes) inserted[a] = true;
  out->clear();
  size_t next = 0;
  for (int64_t d = 0; d < out_rank; ++d) out->push_back(inserted[d] ? 1 : in.shape[next++]);
  return Status::OK();
}

Status InferUnsqueeze(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                      std::vector<ValueInfo>& outputs) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  outputs[0].dtype = inputs[0]->dtype;
  return ComputeUnsqueeze(attrs, *inputs[0], &outputs[0].shape);
}

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  MIXQ_RETURN_IF_ERROR(RequireInput(init.inputs, 0, "input"));
  MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[0], "input"));
  ir::Shape out;
  MIXQ_RETURN_IF_ERROR(ComputeUnsqueeze(init.attrs, *init.inputs[0], &out));
  return MakeByteCopyKernel(kernel);
}

}  // namespace

const OpSchema& UnsqueezeSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kUnsqueeze;
    s.name = "Unsqueeze";
    s.summary = "Inserts dims of extent 1 (ONNX Unsqueeze; any dtype).";
    s.input_names = {"input"};
    s.attrs = {
        {"axes", std::vector<int64_t>{},
         "positions of the new dims in the output (required); negative counts from the output's end"},
    };
    s.infer = InferUnsqueeze;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
