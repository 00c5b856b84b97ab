// Reduce: mean, sum, max or min over a set of axes (all axes when empty),
// keeping the reduced axes as size 1 or dropping them.
#include <limits>

#include "ops/op_util.h"
#include "ops/reduce/reduce_attrs.h"

namespace mixq::ops {

namespace {

Status InferReduce(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                   std::vector<ValueInfo>& outputs) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  MIXQ_RETURN_IF_ERROR(ExpectFloat(*inputs[0], "input"));
  RedOp op;
  MIXQ_RETURN_IF_ERROR(ParseOp(attrs, &op));
  const ir::Shape& in = inputs[0]->shape;
  std::vector<bool> reduced;
  MIXQ_RETURN_IF_ERROR(ReducedAxes(attrs, static_cast<int64_t>(in.size()), &reduced));
  const bool keep_dims = attrs.Int("keep_dims") != 0;
  outputs[0].dtype = DataType::FLOAT32;
  outputs[0].shape.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (!reduced[i])
      outputs[0].shape.push_back(in[i]);
    else if (keep_dims)
      outputs[0].shape.push_back(1);
  }
  return Status::OK();
}

struct ReduceParams {
  RedOp op = RedOp::kSum;
  ir::Shape in_shape;
  std::vector<int64_t> out_strides;  // per input axis; 0 along a reduced axis
  int64_t in_count = 0, out_count = 0;
  int64_t reduced_count = 1;  // elements folded into each output (the mean's divisor)
};

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  ReduceParams p;
  MIXQ_RETURN_IF_ERROR(ParseOp(init.attrs, &p.op));
  p.in_shape = init.inputs[0]->shape;
  const size_t rank = p.in_shape.size();
  std::vector<bool> reduced;
  MIXQ_RETURN_IF_ERROR(ReducedAxes(init.attrs, static_cast<int64_t>(rank), &reduced));
  // Output strides over the kept axes only (keep_dims does not change the layout).
  p.out_strides.assign(rank, 0);
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    if (reduced[i]) {
      p.reduced_count *= p.in_shape[i];
    } else {
      p.out_strides[i] = stride;
      stride *= p.in_shape[i];
    }
  }
  p.in_count = ir::ElementCount(p.in_shape);
  p.out_count = ir::ElementCount(init.outputs[0].shape);
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const float* x = in[0].Data<float>();
        float* y = out[0].Data<float>();
        // Empty reductions give the identity: 0 for sum, -inf / +inf for
        // max / min, and 0/0 = NaN for mean.
        double init_value = 0.0;
        if (p.op == RedOp::kMax) init_value = -std::numeric_limits<double>::infinity();
        if (p.op == RedOp::kMin) init_value = std::numeric_limits<double>::infinity();
        std::vector<double> acc(static_cast<size_t>(p.out_count), init_value);
        std::vector<int64_t> index(p.in_shape.size(), 0);
        int64_t o = 0;
        for (int64_t i = 0; i < p.in_count; ++i) {
          const double v = x[i];
          double& a = acc[static_cast<size_t>(o)];
          switch (p.op) {
            case RedOp::kMean:
            case RedOp::kSum:
              a += v;
              break;
            // NaN propagates: once a is NaN no comparison replaces it.
            case RedOp::kMax:
              if (v > a || v != v) a = v;
              break;
            case RedOp::kMin:
              if (v < a || v != v) a = v;
              break;
          }
          for (size_t axis = index.size(); axis-- > 0;) {
            o += p.out_strides[axis];
            if (++index[axis] < p.in_shape[axis]) break;
            o -= p.out_strides[axis] * index[axis];
            index[axis] = 0;
          }
        }
        for (int64_t k = 0; k < p.out_count; ++k) {
          double v = acc[static_cast<size_t>(k)];
          if (p.op == RedOp::kMean) v /= static_cast<double>(p.reduced_count);
          y[k] = static_cast<float>(v);
        }
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& ReduceSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kReduce;
    s.name = "Reduce";
    s.summary = "Mean, sum, max or min over a set of axes.";
    s.input_names = {"input"};
    s.attrs = {
        {"op", std::string("mean"), "mean, sum, max or min"},
        {"axes", std::vector<int64_t>{}, "the reduced axes (negative count from the end); empty = all axes"},
        {"keep_dims", int64_t{1}, "1 keeps each reduced axis as size 1, 0 drops it"},
    };
    s.infer = InferReduce;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
