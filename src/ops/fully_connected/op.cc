// FullyConnected: ONNX Gemm, Y = alpha * op(A) * op(B) + beta * C, with A and
// B 2-D and C unidirectionally broadcastable to [M, N]. Unlike ONNX Gemm,
// transpose_b defaults to 1: the weight is stored [out_features, in_features],
// as most frameworks keep fully connected weights.
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

struct GemmGeometry {
  int64_t m = 0, k = 0, n = 0;
  bool transpose_a = false, transpose_b = true;
  bool has_bias = false;
  ir::Shape bias;  // C's shape as given (rank 0..2)
};

Status ComputeGeometry(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, GemmGeometry* g) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 1, "weight"));
  const ValueInfo& a = *inputs[0];
  const ValueInfo& b = *inputs[1];
  MIXQ_RETURN_IF_ERROR(ExpectFloat(a, "input"));
  MIXQ_RETURN_IF_ERROR(ExpectFloat(b, "weight"));
  MIXQ_RETURN_IF_ERROR(ExpectRank(a, 2, "input"));
  MIXQ_RETURN_IF_ERROR(ExpectRank(b, 2, "weight"));
  g->transpose_a = attrs.Int("transpose_a") != 0;
  g->transpose_b = attrs.Int("transpose_b", 1) != 0;
  g->m = g->transpose_a ? a.shape[1] : a.shape[0];
  g->k = g->transpose_a ? a.shape[0] : a.shape[1];
  const int64_t kb = g->transpose_b ? b.shape[1] : b.shape[0];
  g->n = g->transpose_b ? b.shape[0] : b.shape[1];
  if (g->k >= 0 && kb >= 0 && g->k != kb)
    return InvalidArgument("input 'input' ", ir::ShapeString(a.shape), " has ", g->k, " features but 'weight' ",
                           ir::ShapeString(b.shape), (g->transpose_b ? " (transpose_b = 1)" : " (transpose_b = 0)"),
                           " expects ", kb);
  if (inputs.size() > 2 && inputs[2]) {
    const ValueInfo& c = *inputs[2];
    MIXQ_RETURN_IF_ERROR(ExpectFloat(c, "bias"));
    if (c.shape.size() > 2)
      return InvalidArgument("input 'bias' must have at most 2 dims, got ", ir::ShapeString(c.shape));
    const ir::Shape target = {g->m, g->n};
    const size_t lead = 2 - c.shape.size();
    for (size_t i = 0; i < c.shape.size(); ++i) {
      const int64_t d = c.shape[i], t = target[lead + i];
      if (d >= 0 && d != 1 && t >= 0 && d != t)
        return InvalidArgument("input 'bias' ", ir::ShapeString(c.shape), " cannot be broadcast to the output [", g->m,
                               ",", g->n, "]");
    }
    g->has_bias = true;
    g->bias = c.shape;
  }
  return Status::OK();
}

Status InferFullyConnected(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                           std::vector<ValueInfo>& outputs) {
  GemmGeometry g;
  MIXQ_RETURN_IF_ERROR(ComputeGeometry(attrs, inputs, &g));
  outputs[0].dtype = DataType::FLOAT32;
  outputs[0].shape = {g.m, g.n};
  return Status::OK();
}

struct GemmParams {
  GemmGeometry g;
  float alpha, beta;
  int64_t bias_row_stride = 0, bias_col_stride = 0;  // 0 along broadcast dims
};

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  GemmParams p;
  MIXQ_RETURN_IF_ERROR(ComputeGeometry(init.attrs, init.inputs, &p.g));
  MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[0], "input"));
  MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[1], "weight"));
  p.alpha = init.attrs.Float("alpha", 1.0f);
  p.beta = init.attrs.Float("beta", 1.0f);
  if (p.g.has_bias) {
    MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[2], "bias"));
    const ir::Shape& c = p.g.bias;
    const int64_t rows = c.size() == 2 ? c[0] : 1, cols = c.empty() ? 1 : c.back();
    p.bias_row_stride = rows == 1 ? 0 : cols;
    p.bias_col_stride = cols == 1 ? 0 : 1;
  }
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const GemmGeometry& g = p.g;
        const float* a = in[0].Data<float>();
        const float* b = in[1].Data<float>();
        const float* c = g.has_bias && in.size() > 2 ? in[2].Data<float>() : nullptr;
        float* y = out[0].Data<float>();
        for (int64_t i = 0; i < g.m; ++i)
          for (int64_t j = 0; j < g.n; ++j) {
            double acc = 0.0;
            for (int64_t t = 0; t < g.k; ++t) {
              const float av = a[g.transpose_a ? t * g.m + i : i * g.k + t];
              const float bv = b[g.transpose_b ? j * g.k + t : t * g.n + j];
              acc += static_cast<double>(av) * bv;
            }
            double v = static_cast<double>(p.alpha) * acc;
            if (c) v += static_cast<double>(p.beta) * c[i * p.bias_row_stride + j * p.bias_col_stride];
            y[i * g.n + j] = static_cast<float>(v);
          }
        return Status::OK();
      },
      kernel);
}

// Exact integer reference (see OpSchema::integer_reference): centered INT32
// inputs, INT64 accumulators; alpha, beta and the bias are applied by the
// runtime after scaling.
Status MakeIntegerReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  GemmGeometry g;
  MIXQ_RETURN_IF_ERROR(ComputeGeometry(init.attrs, init.inputs, &g));
  MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[0], "input"));
  MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[1], "weight"));
  return MakeFunctionKernel(
      [g](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const int32_t* a = in[0].Data<int32_t>();
        const int32_t* b = in[1].Data<int32_t>();
        int64_t* y = out[0].Data<int64_t>();
        for (int64_t i = 0; i < g.m; ++i)
          for (int64_t j = 0; j < g.n; ++j) {
            int64_t acc = 0;
            for (int64_t t = 0; t < g.k; ++t)
              acc += static_cast<int64_t>(a[g.transpose_a ? t * g.m + i : i * g.k + t]) *
                     b[g.transpose_b ? j * g.k + t : t * g.n + j];
            y[i * g.n + j] = acc;
          }
        return Status::OK();
      },
      kernel);
}

int64_t WeightOutputAxis(const ir::AttrMap& attrs, int64_t) {
  return attrs.Int("transpose_b", 1) ? 0 : 1;
}

}  // namespace

const OpSchema& FullyConnectedSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kFullyConnected;
    s.name = "FullyConnected";
    s.summary = "Gemm: alpha * op(input) * op(weight) + beta * bias; weight [out, in] by default.";
    s.input_names = {"input", "weight", "bias"};
    s.min_inputs = 2;
    s.attrs = {
        {"transpose_a", int64_t{0}, "1: input is stored [K, M] instead of [M, K]"},
        {"transpose_b", int64_t{1}, "1 (default, unlike ONNX Gemm): weight is stored [N, K] = [out, in]; 0: [K, N]"},
        {"alpha", 1.0f, "scale of the product op(input) * op(weight)"},
        {"beta", 1.0f, "scale of bias (unused without bias)"},
    };
    s.infer = InferFullyConnected;
    s.reference = MakeReference;
    s.quant.quantizable_inputs = {0, 1};
    s.quant.weight_input = 1;
    // N (output features) is axis 0 of the weight with the default
    // transpose_b = 1; with transpose_b = 0 it is axis 1, which the planner
    // resolves from the attribute.
    s.quant.weight_axis = 0;
    s.quant.resolve_weight_axis = WeightOutputAxis;
    s.quant.bias_input = 2;
    s.quant.gemm_alpha_beta = true;
    s.integer_reference = MakeIntegerReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
