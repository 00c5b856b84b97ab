#include "ops/matmul/geometry.h"

#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

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

}  // namespace

Status ComputeMatMulGeometry(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, MatMulGeometry* g) {
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

std::vector<int64_t> BatchStrides(const Operand& op, const ir::Shape& batch) {
  const int64_t matrix = op.rows * op.cols;
  std::vector<int64_t> own = ir::Strides(op.batch);
  std::vector<int64_t> strides(batch.size(), 0);
  const size_t lead = batch.size() - op.batch.size();
  for (size_t i = 0; i < op.batch.size(); ++i)
    if (op.batch[i] != 1) strides[lead + i] = own[i] * matrix;
  return strides;
}

bool ConstantWeightGemmShape(const KernelInit& init, HalfWeightGemmShape* s) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || !init.inputs[1]->const_data) return false;
  if (!ir::IsStatic(init.inputs[0]->shape) || !ir::IsStatic(init.inputs[1]->shape)) return false;
  MatMulGeometry g;
  if (!ComputeMatMulGeometry(init.attrs, init.inputs, &g).ok()) return false;
  if (init.inputs[1]->shape.size() != 2 || g.a.transposed || g.a.vector || g.b.vector) return false;
  s->m = ir::ElementCount(g.a.batch) * g.a.rows;
  s->k = g.a.cols;
  s->n = g.b.cols;
  s->weights_transposed = g.b.transposed;
  return true;
}

}  // namespace mixq::ops
