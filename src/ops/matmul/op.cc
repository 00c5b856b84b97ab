// MatMul: numpy.matmul, optionally transposing the last two dims of either
// operand first. A 1-D operand is promoted to a matrix (a: [1,K], b: [K,1]) and
// the added dim is removed from the result; batch dims broadcast.
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

// One operand seen as [batch..., rows, cols] after transposition / promotion.
struct Operand {
  ir::Shape batch;
  int64_t rows = 0, cols = 0;
  bool transposed = false;  // stored as [..., cols, rows]
  bool vector = false;      // was 1-D: its promoted dim leaves the output
};

Status ReadOperand(const ValueInfo& v, bool transpose, bool is_a, const char* name, Operand* op) {
  const size_t rank = v.shape.size();
  if (rank == 0) return InvalidArgument("input '", name, "' must have at least 1 dim, got a scalar");
  if (rank == 1) {
    // A vector has no second-to-last dim, so transposing it means nothing (as in numpy).
    op->vector = true;
    op->rows = is_a ? 1 : v.shape[0];
    op->cols = is_a ? v.shape[0] : 1;
    return Status::OK();
  }
  op->batch.assign(v.shape.begin(), v.shape.end() - 2);
  op->transposed = transpose;
  op->rows = transpose ? v.shape[rank - 1] : v.shape[rank - 2];
  op->cols = transpose ? v.shape[rank - 2] : v.shape[rank - 1];
  return Status::OK();
}

struct MatMulGeometry {
  Operand a, b;
  ir::Shape batch;  // broadcast batch dims of the output
  ir::Shape out;
};

Status ComputeGeometry(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, MatMulGeometry* g) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "a"));
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 1, "b"));
  MIXQ_RETURN_IF_ERROR(ExpectFloat(*inputs[0], "a"));
  MIXQ_RETURN_IF_ERROR(ExpectFloat(*inputs[1], "b"));
  MIXQ_RETURN_IF_ERROR(ReadOperand(*inputs[0], attrs.Int("transpose_a") != 0, true, "a", &g->a));
  MIXQ_RETURN_IF_ERROR(ReadOperand(*inputs[1], attrs.Int("transpose_b") != 0, false, "b", &g->b));
  const int64_t ka = g->a.cols, kb = g->b.rows;
  if (ka >= 0 && kb >= 0 && ka != kb)
    return InvalidArgument("inner dims differ: input 'a' ", ir::ShapeString(inputs[0]->shape),
                           g->a.transposed ? " (transposed)" : "", " has K=", ka, ", input 'b' ",
                           ir::ShapeString(inputs[1]->shape), g->b.transposed ? " (transposed)" : "", " has K=", kb);
  Status s = BroadcastShapes(g->a.batch, g->b.batch, &g->batch);
  if (!s.ok())
    return InvalidArgument("batch dims of input 'a' ", ir::ShapeString(inputs[0]->shape), " and input 'b' ",
                           ir::ShapeString(inputs[1]->shape), " do not broadcast: ", s.message());
  g->out = g->batch;
  if (!g->a.vector) g->out.push_back(g->a.rows);
  if (!g->b.vector) g->out.push_back(g->b.cols);
  return Status::OK();
}

Status InferMatMul(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                   std::vector<ValueInfo>& outputs) {
  MatMulGeometry g;
  MIXQ_RETURN_IF_ERROR(ComputeGeometry(attrs, inputs, &g));
  outputs[0].dtype = DataType::FLOAT32;
  outputs[0].shape = g.out;
  return Status::OK();
}

// Element strides of an operand's matrices along the output batch dims; 0
// where the operand is broadcast (missing dim or dim 1).
std::vector<int64_t> BatchStrides(const Operand& op, const ir::Shape& batch) {
  const int64_t matrix = op.rows * op.cols;
  std::vector<int64_t> own = ir::Strides(op.batch);
  std::vector<int64_t> strides(batch.size(), 0);
  const size_t lead = batch.size() - op.batch.size();
  for (size_t i = 0; i < op.batch.size(); ++i)
    if (op.batch[i] != 1) strides[lead + i] = own[i] * matrix;
  return strides;
}

struct MatMulParams {
  int64_t m, k, n;
  bool transpose_a, transpose_b;
  ir::Shape batch;
  std::vector<int64_t> a_strides, b_strides;  // per batch dim, in elements
};

// T is the element type (float, or int32 centered integers), Acc the
// accumulator (double, or int64 for exact integer sums), Out the stored result.
template <typename T, typename Acc, typename Out>
Status MakeMatMulKernel(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  MatMulGeometry g;
  MIXQ_RETURN_IF_ERROR(ComputeGeometry(init.attrs, init.inputs, &g));
  MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[0], "a"));
  MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[1], "b"));
  for (size_t i = 0; i < g.batch.size(); ++i) {
    // Inference lets a known dim win over -1; with concrete shapes the rule is strict.
    const size_t la = g.batch.size() - g.a.batch.size(), lb = g.batch.size() - g.b.batch.size();
    const int64_t da = i < la ? 1 : g.a.batch[i - la], db = i < lb ? 1 : g.b.batch[i - lb];
    if (da != 1 && db != 1 && da != db)
      return InvalidArgument("batch dims of input 'a' ", ir::ShapeString(init.inputs[0]->shape), " and input 'b' ",
                             ir::ShapeString(init.inputs[1]->shape), " do not broadcast");
  }
  MatMulParams p{g.a.rows, g.a.cols, g.b.cols, g.a.transposed, g.b.transposed, g.batch,
                 BatchStrides(g.a, g.batch), BatchStrides(g.b, g.batch)};
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const T* a = in[0].Data<T>();
        const T* b = in[1].Data<T>();
        Out* y = out[0].Data<Out>();
        const int64_t batches = ir::ElementCount(p.batch);
        std::vector<int64_t> index(p.batch.size(), 0);
        for (int64_t bi = 0; bi < batches; ++bi) {
          int64_t a_off = 0, b_off = 0;
          for (size_t d = 0; d < index.size(); ++d) {
            a_off += index[d] * p.a_strides[d];
            b_off += index[d] * p.b_strides[d];
          }
          Out* yb = y + bi * p.m * p.n;
          for (int64_t i = 0; i < p.m; ++i)
            for (int64_t j = 0; j < p.n; ++j) {
              Acc acc{0};
              for (int64_t t = 0; t < p.k; ++t) {
                const T av = a[a_off + (p.transpose_a ? t * p.m + i : i * p.k + t)];
                const T bv = b[b_off + (p.transpose_b ? j * p.k + t : t * p.n + j)];
                acc += static_cast<Acc>(av) * static_cast<Acc>(bv);
              }
              yb[i * p.n + j] = static_cast<Out>(acc);
            }
          for (size_t d = index.size(); d-- > 0;) {
            if (++index[d] < p.batch[d]) break;
            index[d] = 0;
          }
        }
        return Status::OK();
      },
      kernel);
}

// Per-axis weights are quantized along N, the output columns: the last axis
// of b as stored, or the second to last when b is stored transposed.
int64_t WeightOutputAxis(const ir::AttrMap& attrs, int64_t rank) {
  return attrs.Int("transpose_b") != 0 ? rank - 2 : rank - 1;
}

}  // namespace

const OpSchema& MatMulSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kMatMul;
    s.name = "MatMul";
    s.summary = "Matrix product with numpy.matmul semantics (1-D promotion, broadcast batch dims).";
    s.input_names = {"a", "b"};
    s.min_inputs = 2;
    s.attrs = {
        {"transpose_a", int64_t{0}, "1: transpose the last two dims of a before multiplying (ignored for 1-D a)"},
        {"transpose_b", int64_t{0}, "1: transpose the last two dims of b before multiplying (ignored for 1-D b)"},
    };
    s.infer = InferMatMul;
    s.reference = MakeMatMulKernel<float, double, float>;
    s.integer_reference = MakeMatMulKernel<int32_t, int64_t, int64_t>;
    s.quant.quantizable_inputs = {0, 1};
    s.quant.weight_input = 1;
    // A 1-D b has a single output column: the planner quantizes it per tensor.
    s.quant.resolve_weight_axis = WeightOutputAxis;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
