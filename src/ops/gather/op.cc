// Gather: ONNX Gather. Picks entries of `data` along an axis by `indices`;
// output shape is data[:axis] + indices.shape + data[axis+1:]. Negative
// indices count from the end. Data of any dtype is copied by element size.
#include <cstring>

#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

Status ComputeGather(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, int64_t* axis,
                     ValueInfo* out) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "data"));
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 1, "indices"));
  const ValueInfo& data = *inputs[0];
  const ValueInfo& indices = *inputs[1];
  if (indices.dtype != DataType::INT32 && indices.dtype != DataType::INT64)
    return InvalidArgument("input 'indices' must be INT32 or INT64, got ", DataTypeName(indices.dtype));
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  if (rank == 0) return InvalidArgument("input 'data' is a scalar; Gather needs at least 1 dim");
  MIXQ_RETURN_IF_ERROR(NormalizeAxisAttr(attrs.Int("axis"), rank, "axis", axis));
  out->dtype = data.dtype;
  out->shape.assign(data.shape.begin(), data.shape.begin() + *axis);
  out->shape.insert(out->shape.end(), indices.shape.begin(), indices.shape.end());
  out->shape.insert(out->shape.end(), data.shape.begin() + *axis + 1, data.shape.end());
  return Status::OK();
}

Status InferGather(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                   std::vector<ValueInfo>& outputs) {
  int64_t axis;
  return ComputeGather(attrs, inputs, &axis, &outputs[0]);
}

struct GatherParams {
  int64_t outer = 1;         // product of data dims before the axis
  int64_t axis = 0;
  int64_t dim = 0;           // data's extent along the axis
  int64_t num_indices = 0;
  size_t inner_bytes = 0;    // bytes of one entry: data dims after the axis x element size
  bool indices_64 = true;
};

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  GatherParams p;
  ValueInfo out;
  MIXQ_RETURN_IF_ERROR(ComputeGather(init.attrs, init.inputs, &p.axis, &out));
  const ValueInfo& data = *init.inputs[0];
  MIXQ_RETURN_IF_ERROR(ExpectStatic(data, "data"));
  MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[1], "indices"));
  p.outer = DimProduct(data.shape, 0, p.axis);
  p.dim = data.shape[p.axis];
  p.num_indices = ir::ElementCount(init.inputs[1]->shape);
  p.inner_bytes = static_cast<size_t>(DimProduct(data.shape, p.axis + 1, data.shape.size())) *
                  DataTypeSize(data.dtype);
  p.indices_64 = init.inputs[1]->dtype == DataType::INT64;
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        // Indices come from run-time data, so they are checked here, all
        // before any write: a bad one must fail cleanly, never read out of bounds.
        std::vector<int64_t> resolved(static_cast<size_t>(p.num_indices));
        for (int64_t i = 0; i < p.num_indices; ++i) {
          const int64_t v = p.indices_64 ? in[1].Data<int64_t>()[i] : in[1].Data<int32_t>()[i];
          if (v < -p.dim || v >= p.dim)
            return OutOfRange("input 'indices' entry ", i, " is ", v, ", out of range for dim ", p.dim,
                              " of input 'data' on axis ", p.axis, " (valid: ", -p.dim, "..", p.dim - 1, ")");
          resolved[i] = v < 0 ? v + p.dim : v;
        }
        if (p.inner_bytes == 0) return Status::OK();
        const auto* x = static_cast<const unsigned char*>(in[0].data);
        auto* y = static_cast<unsigned char*>(out[0].data);
        for (int64_t o = 0; o < p.outer; ++o)
          for (int64_t i = 0; i < p.num_indices; ++i) {
            std::memcpy(y, x + static_cast<size_t>(o * p.dim + resolved[i]) * p.inner_bytes, p.inner_bytes);
            y += p.inner_bytes;
          }
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& GatherSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kGather;
    s.name = "Gather";
    s.summary = "ONNX Gather: entries of data along an axis picked by INT32 / INT64 indices (any data dtype).";
    s.input_names = {"data", "indices"};
    s.min_inputs = 2;
    s.attrs = {
        {"axis", int64_t{0}, "axis of data the indices select along; negative counts from the last dim"},
    };
    s.infer = InferGather;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
