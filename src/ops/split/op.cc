// Split: cuts a tensor along an axis into consecutive pieces, one per output,
// of the given sizes or, with no sizes, of equal size. Any dtype.
#include <cstring>

#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

// The axis and each output's extent along it (-1 where unknown).
Status ComputeSplit(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, size_t num_outputs,
                    int64_t* axis, std::vector<int64_t>* extents) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  const ValueInfo& in = *inputs[0];
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  if (rank == 0) return InvalidArgument("input 'input' is a scalar; Split needs at least 1 dim");
  MIXQ_RETURN_IF_ERROR(NormalizeAxisAttr(attrs.Int("axis"), rank, "axis", axis));
  if (num_outputs == 0) return InvalidArgument("Split needs at least 1 output");
  const int64_t dim = in.shape[*axis];
  const std::vector<int64_t> sizes = attrs.Ints("sizes");
  const int64_t n = static_cast<int64_t>(num_outputs);
  if (sizes.empty()) {
    if (dim >= 0 && dim % n != 0)
      return InvalidArgument("input 'input' ", ir::ShapeString(in.shape), " has ", dim, " on axis ", *axis,
                             ", which does not split evenly into ", n, " outputs; give attribute 'sizes'");
    extents->assign(num_outputs, dim < 0 ? -1 : dim / n);
    return Status::OK();
  }
  if (sizes.size() != num_outputs)
    return InvalidArgument("attribute 'sizes' has ", sizes.size(), " entries but the node has ", num_outputs,
                           " outputs");
  int64_t total = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 0) return InvalidArgument("attribute 'sizes' entry ", i, " is negative (", sizes[i], ")");
    if (!ir::CheckedAdd(total, sizes[i], &total))
      return InvalidArgument("attribute 'sizes' ", ir::ShapeString(sizes), " sums beyond int64");
  }
  if (dim >= 0 && total != dim)
    return InvalidArgument("attribute 'sizes' sums to ", total, " but input 'input' ", ir::ShapeString(in.shape),
                           " has ", dim, " on axis ", *axis);
  *extents = sizes;  // known even when the input dim is not; checked again with concrete shapes
  return Status::OK();
}

Status InferSplit(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                  std::vector<ValueInfo>& outputs) {
  int64_t axis;
  std::vector<int64_t> extents;
  MIXQ_RETURN_IF_ERROR(ComputeSplit(attrs, inputs, outputs.size(), &axis, &extents));
  for (size_t o = 0; o < outputs.size(); ++o) {
    outputs[o].dtype = inputs[0]->dtype;
    outputs[o].shape = inputs[0]->shape;
    outputs[o].shape[axis] = extents[o];
  }
  return Status::OK();
}

struct SplitParams {
  int64_t outer = 1;                // product of the dims before the axis
  std::vector<size_t> chunk_bytes;  // per output: its extent x inner dims x element size
};

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  int64_t axis;
  std::vector<int64_t> extents;
  MIXQ_RETURN_IF_ERROR(ComputeSplit(init.attrs, init.inputs, init.outputs.size(), &axis, &extents));
  const ValueInfo& in = *init.inputs[0];
  MIXQ_RETURN_IF_ERROR(ExpectStatic(in, "input"));
  SplitParams p;
  p.outer = DimProduct(in.shape, 0, axis);
  const size_t inner_bytes = static_cast<size_t>(DimProduct(in.shape, axis + 1, in.shape.size())) *
                             DataTypeSize(in.dtype);
  for (int64_t e : extents) p.chunk_bytes.push_back(static_cast<size_t>(e) * inner_bytes);
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const auto* x = static_cast<const unsigned char*>(in[0].data);
        for (int64_t o = 0; o < p.outer; ++o)
          for (size_t i = 0; i < p.chunk_bytes.size(); ++i) {
            const size_t n = p.chunk_bytes[i];
            if (n == 0) continue;
            std::memcpy(static_cast<unsigned char*>(out[i].data) + static_cast<size_t>(o) * n, x, n);
            x += n;
          }
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& SplitSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kSplit;
    s.name = "Split";
    s.summary = "Splits a tensor along an axis into one piece per output (any dtype).";
    s.input_names = {"input"};
    s.max_outputs = 1024;
    s.attrs = {
        {"axis", int64_t{0}, "axis to split along; negative counts from the last dim"},
        {"sizes", std::vector<int64_t>{},
         "extent of each output along the axis; empty: equal pieces, one per output (uneven is an error)"},
    };
    s.infer = InferSplit;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
