// MatMul: numpy.matmul, optionally transposing the last two dims of either
// operand first. A 1-D operand is promoted to a matrix (a: [1,K], b: [K,1]) and
// the added dim is removed from the result; batch dims broadcast.
#include "ops/matmul/cpu.h"
#include "ops/matmul/geometry.h"
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

Status InferMatMul(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                   std::vector<ValueInfo>& outputs) {
  MatMulGeometry g;
  MIXQ_RETURN_IF_ERROR(ComputeMatMulGeometry(attrs, inputs, &g));
  outputs[0].dtype = DataType::FLOAT32;
  outputs[0].shape = g.out;
  return Status::OK();
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
  MIXQ_RETURN_IF_ERROR(ComputeMatMulGeometry(init.attrs, init.inputs, &g));
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
  MatMulParams p{g.a.rows,
                 g.a.cols,
                 g.b.cols,
                 g.a.transposed,
                 g.b.transposed,
                 g.batch,
                 BatchStrides(g.a, g.batch),
                 BatchStrides(g.b, g.batch)};
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
