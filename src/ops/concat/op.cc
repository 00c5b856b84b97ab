// Concat: joins any number of tensors of one dtype and rank along an axis.
// Data movement only, so every dtype is copied by its element size.
#include <cstring>

#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

// Checks the inputs against input 0 and computes the output shape. With
// `strict`, -1 is no longer a wildcard (kernel preparation).
Status ComputeConcat(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, bool strict,
                     ValueInfo* output, int64_t* axis) {
  if (inputs.empty()) return InvalidArgument("needs at least 1 input");
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i]) return InvalidArgument("input ", i, " is missing");
  const ValueInfo& first = *inputs[0];
  const int64_t rank = static_cast<int64_t>(first.shape.size());
  if (rank == 0) return InvalidArgument("input 0 is a scalar; Concat needs at least 1 dim");
  MIXQ_RETURN_IF_ERROR(NormalizeAxisAttr(attrs.Int("axis"), rank, "axis", axis));
  ir::Shape out = first.shape;
  for (size_t i = 1; i < inputs.size(); ++i) {
    const ValueInfo& in = *inputs[i];
    if (in.dtype != first.dtype)
      return InvalidArgument("input ", i, " is ", DataTypeName(in.dtype), " but input 0 is ",
                             DataTypeName(first.dtype));
    if (static_cast<int64_t>(in.shape.size()) != rank)
      return InvalidArgument("input ", i, " ", ir::ShapeString(in.shape), " has rank ", in.shape.size(),
                             " but input 0 ", ir::ShapeString(first.shape), " has rank ", rank);
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t dim = in.shape[d];
      if (d == *axis) {
        out[d] = out[d] < 0 || dim < 0 ? -1 : out[d] + dim;
        continue;
      }
      const bool unknown = out[d] < 0 || dim < 0;
      if (unknown && !strict) {
        if (out[d] < 0) out[d] = dim;  // a known dim wins; checked again with concrete shapes
        continue;
      }
      if (dim != out[d])
        return InvalidArgument("input ", i, " ", ir::ShapeString(in.shape), " has dim ", dim, " on axis ", d,
                               " where input 0 ", ir::ShapeString(first.shape), " and the others have ", out[d],
                               "; only the concat axis ", *axis, " may differ");
    }
  }
  output->dtype = first.dtype;
  output->shape = out;
  return Status::OK();
}

Status InferConcat(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                   std::vector<ValueInfo>& outputs) {
  int64_t axis;
  return ComputeConcat(attrs, inputs, false, &outputs[0], &axis);
}

struct ConcatParams {
  int64_t outer = 1;                 // product of the dims before the axis
  std::vector<size_t> chunk_bytes;   // per input: its axis dim x inner dims x element size
};

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  ValueInfo out;
  int64_t axis;
  MIXQ_RETURN_IF_ERROR(ComputeConcat(init.attrs, init.inputs, true, &out, &axis));
  ConcatParams p;
  for (size_t i = 0; i < init.inputs.size(); ++i) {
    const ValueInfo& in = *init.inputs[i];
    if (!ir::IsStatic(in.shape))
      return InvalidArgument("input ", i, " needs a concrete shape, got ", ir::ShapeString(in.shape));
    p.chunk_bytes.push_back(static_cast<size_t>(DimProduct(in.shape, axis, in.shape.size())) *
                            DataTypeSize(in.dtype));
  }
  p.outer = DimProduct(out.shape, 0, axis);
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        auto* y = static_cast<unsigned char*>(out[0].data);
        for (int64_t o = 0; o < p.outer; ++o)
          for (size_t i = 0; i < p.chunk_bytes.size(); ++i) {
            const size_t n = p.chunk_bytes[i];
            if (n == 0) continue;
            std::memcpy(y, static_cast<const unsigned char*>(in[i].data) + static_cast<size_t>(o) * n, n);
            y += n;
          }
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& ConcatSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kConcat;
    s.name = "Concat";
    s.summary = "Concatenation of same-dtype, same-rank tensors along one axis (any dtype).";
    s.input_names = {"input"};
    s.min_inputs = 1;
    s.variadic_inputs = true;
    s.attrs = {
        {"axis", int64_t{0}, "axis to join along; negative counts from the last dim"},
    };
    s.infer = InferConcat;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
