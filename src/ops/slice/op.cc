// Slice: ONNX Slice with its attributes as node attributes. Negative indices
// count from the end, out-of-range indices clamp, negative steps walk
// backwards, and INT64_MAX / INT64_MIN as ends mean "to the end" / "to the
// beginning". Any dtype.
#include <algorithm>

#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

// What one input axis contributes: first element, step and element count.
struct AxisSlice {
  int64_t start = 0, step = 1, count = 0;  // count -1 when the input dim is dynamic
};

// ONNX's clamping rules for one axis of known extent `dim`.
AxisSlice ResolveAxis(int64_t start, int64_t end, int64_t step, int64_t dim) {
  AxisSlice s;
  if (dim == 0) return s;       // nothing to take; also keeps the clamp bounds below ordered
  if (start < 0) start += dim;  // cannot overflow: start < 0 <= dim
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
  }
  // A step longer than the axis takes at most the first element, so clamping
  // its magnitude to the extent keeps the count and avoids overflow below.
  const int64_t limit = std::max<int64_t>(dim, 1);
  step = step > 0 ? std::min(step, limit) : std::max(step, -limit);
  s.start = start;
  s.step = step;
  if (step > 0)
    s.count = end > start ? (end - start + step - 1) / step : 0;
  else
    s.count = start > end ? (start - end - step - 1) / -step : 0;
  return s;
}

// One AxisSlice per input dim (untouched dims: the whole axis, step 1).
Status ComputeSlice(const ir::AttrMap& attrs, const ValueInfo& in, std::vector<AxisSlice>* axes_out) {
  const std::vector<int64_t> starts = attrs.Ints("starts"), ends = attrs.Ints("ends");
  const std::vector<int64_t> axes_attr = attrs.Ints("axes"), steps_attr = attrs.Ints("steps");
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  if (starts.size() != ends.size())
    return InvalidArgument("attributes 'starts' (", starts.size(), " entries) and 'ends' (", ends.size(),
                           " entries) must have the same length");
  if (!axes_attr.empty() && axes_attr.size() != starts.size())
    return InvalidArgument("attribute 'axes' has ", axes_attr.size(), " entries, 'starts' has ", starts.size());
  if (!steps_attr.empty() && steps_attr.size() != starts.size())
    return InvalidArgument("attribute 'steps' has ", steps_attr.size(), " entries, 'starts' has ", starts.size());
  std::vector<int64_t> axes;
  if (axes_attr.empty()) {
    if (static_cast<int64_t>(starts.size()) > rank)
      return InvalidArgument("attribute 'starts' has ", starts.size(), " entries but input 'input' ",
                             ir::ShapeString(in.shape), " has only ", rank, " dims");
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  } else {
    MIXQ_RETURN_IF_ERROR(NormalizeAxesAttr(axes_attr, rank, "axes", &axes));
  }
  axes_out->assign(in.shape.size(), AxisSlice{});
  for (size_t d = 0; d < in.shape.size(); ++d) (*axes_out)[d].count = in.shape[d];
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t step = steps_attr.empty() ? 1 : steps_attr[i];
    if (step == 0) return InvalidArgument("attribute 'steps' entry ", i, " is 0");
    const int64_t dim = in.shape[axes[i]];
    AxisSlice& s = (*axes_out)[axes[i]];
    if (dim < 0) {
      // Where the slice starts and ends depends on the extent.
      s.count = -1;
      continue;
    }
    s = ResolveAxis(starts[i], ends[i], step, dim);
  }
  return Status::OK();
}

Status InferSlice(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                  std::vector<ValueInfo>& outputs) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  std::vector<AxisSlice> axes;
  MIXQ_RETURN_IF_ERROR(ComputeSlice(attrs, *inputs[0], &axes));
  outputs[0].dtype = inputs[0]->dtype;
  outputs[0].shape.clear();
  for (const AxisSlice& s : axes) outputs[0].shape.push_back(s.count);
  return Status::OK();
}

}  // namespace

Status SliceCopyParams(const KernelInit& init, StridedCopyParams* params) {
  MIXQ_RETURN_IF_ERROR(RequireInput(init.inputs, 0, "input"));
  const ValueInfo& in = *init.inputs[0];
  MIXQ_RETURN_IF_ERROR(ExpectStatic(in, "input"));
  std::vector<AxisSlice> axes;
  MIXQ_RETURN_IF_ERROR(ComputeSlice(init.attrs, in, &axes));
  const std::vector<int64_t> strides = ir::Strides(in.shape);
  StridedCopyParams& p = *params;
  p = StridedCopyParams{};
  p.element_size = DataTypeSize(in.dtype);
  for (size_t d = 0; d < axes.size(); ++d) {
    p.shape.push_back(axes[d].count);
    p.steps.push_back(axes[d].step * strides[d]);
    p.base += axes[d].start * strides[d];
  }
  return Status::OK();
}

namespace {

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  StridedCopyParams p;
  MIXQ_RETURN_IF_ERROR(SliceCopyParams(init, &p));
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        StridedCopy(p, in[0].data, out[0].data);
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& SliceSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kSlice;
    s.name = "Slice";
    s.summary = "ONNX Slice: strided ranges along chosen axes, negative indices and steps, clamped ends.";
    s.input_names = {"input"};
    s.attrs = {
        {"starts", std::vector<int64_t>{}, "first index per sliced axis; negative counts from the end"},
        {"ends", std::vector<int64_t>{},
         "end index (exclusive) per sliced axis; clamped, so INT64_MAX / INT64_MIN mean the end / the beginning"},
        {"axes", std::vector<int64_t>{}, "the sliced axes (negative allowed); empty: 0 .. len(starts)-1"},
        {"steps", std::vector<int64_t>{}, "step per sliced axis, nonzero, negative walks backwards; empty: all 1"},
    };
    s.infer = InferSlice;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
