#include "ops/onednn_support.h"

#include <stdexcept>

namespace mixq::ops {

namespace {

struct Eltwise {
  dnnl::algorithm alg;
  float alpha = 0.0f, beta = 0.0f;
};

// The oneDNN eltwise post-op computing activation `op` on float32, if there
// is one: relu / relu6 / clip as maxps-then-minps clamps (the mixq
// definition, ops/clamp.h: NaN -> the lower bound), leaky_relu as relu with a
// slope (x > 0 ? x : slope * x, NaN propagates), and hard_swish as oneDNN's
// x * relu6(x + 3) / 6 in float32 (within 2 ulp of the reference's double
// arithmetic: the fusion tolerance, tests/unit/onednn_post_ops_test.cc).
bool ActivationEltwise(const PostOp& op, Eltwise* e) {
  if (op.activation == "relu") {
    e->alg = dnnl::algorithm::eltwise_relu;  // alpha 0: maxps(y, 0)
  } else if (op.activation == "relu6" || op.activation == "clip") {
    e->alg = dnnl::algorithm::eltwise_clip;
    e->alpha = op.lo;
    e->beta = op.hi;
  } else if (op.activation == "leaky_relu") {
    // A slope of 0 would take oneDNN's maxps path (NaN -> 0) where
    // leaky_relu propagates NaN.
    if (op.lo == 0.0f) return false;
    e->alg = dnnl::algorithm::eltwise_relu;
    e->alpha = op.lo;
  } else if (op.activation == "hard_swish") {
    e->alg = dnnl::algorithm::eltwise_hardswish;
  } else {
    return false;
  }
  return true;
}

// The post-ops as a sum (first, when `sum`) and a chain of eltwise ops.
// Products and sums with scalars become one linear a * y + b (y * c: (c, 0);
// y + c: (1, c); y * a + b: (a, b), one fused multiply-add where the separate
// steps round twice, within the fusion tolerance). oneDNN 2.6's AVX2
// convolutions compute two eltwise post-ops of one algorithm with the first
// one's parameters (measured: relu, linear 0.37, linear 1 -0.2 gave
// relu(y) * 0.37 * 0.37), so a chain repeating an algorithm is refused.
bool EltwiseChain(const std::vector<PostOp>& ops, bool* sum, std::vector<Eltwise>* chain) {
  *sum = false;
  chain->clear();
  bool linear_open = false;  // the last entry is a linear that may absorb a scalar
  for (size_t k = 0; k < ops.size(); ++k) {
    const PostOp& op = ops[k];
    if (op.kind == PostOp::Kind::kAdd) {
      if (k != 0) return false;
      *sum = true;
      continue;
    }
    if (op.kind == PostOp::Kind::kScalar) {
      if (op.activation != "mul" && op.activation != "add") return false;
      const bool mul = op.activation == "mul";
      if (linear_open && !mul) {
        chain->back().beta += op.lo;  // (a, b) then + c: (a, b + c); b is 0 after a lone * a
        linear_open = false;          // y * a + b, then nothing more: one rounding less is enough
        continue;
      }
      chain->push_back({dnnl::algorithm::eltwise_linear, mul ? op.lo : 1.0f, mul ? 0.0f : op.lo});
      linear_open = mul;
      continue;
    }
    if (op.kind != PostOp::Kind::kActivation) return false;
    Eltwise e;
    if (!ActivationEltwise(op, &e)) return false;
    chain->push_back(e);
    linear_open = false;
  }
  for (size_t i = 0; i < chain->size(); ++i)
    for (size_t j = i + 1; j < chain->size(); ++j)
      if ((*chain)[i].alg == (*chain)[j].alg) return false;
  return true;
}

}  // namespace

dnnl::primitive_attr PostOpAttr(const std::vector<PostOp>& ops) {
  dnnl::post_ops post_ops;
  bool sum = false;
  std::vector<Eltwise> chain;
  if (EltwiseChain(ops, &sum, &chain)) {  // else refused by OneDnnSupportsPostOps
    if (sum) post_ops.append_sum(1.0f);
    for (const Eltwise& e : chain) post_ops.append_eltwise(1.0f, e.alg, e.alpha, e.beta);
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(post_ops);
  return attr;
}

bool OneDnnSupportsPostOps(const KernelInit& init, bool sum_allowed) {
  if (!init.post_ops) return true;
  bool sum = false;
  std::vector<Eltwise> chain;
  if (!EltwiseChain(*init.post_ops, &sum, &chain)) return false;
  if (!sum) return true;
  // The sum accumulates onto the output: same shape.
  const PostOp& op = init.post_ops->front();
  return sum_allowed && op.input >= 0 && static_cast<size_t>(op.input) < init.inputs.size() &&
         init.inputs[static_cast<size_t>(op.input)] &&
         init.inputs[static_cast<size_t>(op.input)]->shape == init.outputs[0].shape;
}

std::shared_ptr<const dnnl::memory> PackWeights(const KernelInit& init, const char* what,
                                                const dnnl::memory::desc& user_md, const void* user,
                                                const dnnl::memory::desc& packed_md, int64_t* private_bytes) {
  auto pack = [&](std::shared_ptr<const void>* packed, int64_t* bytes) {
    return kernels::OneDnnCall(what, [&] {
      auto& engine = kernels::CpuEngine();
      auto weights = std::make_shared<dnnl::memory>(packed_md, engine);
      dnnl::memory source(user_md, engine, const_cast<void*>(user));
      dnnl::stream stream(engine);
      dnnl::reorder(source, *weights).execute(stream, source, *weights);
      stream.wait();
      *bytes = static_cast<int64_t>(packed_md.get_size());
      *packed = weights;
    });
  };
  std::shared_ptr<const void> packed;
  Status status;
  if (init.weights) {
    status = init.weights->GetOrCreate(init.weight_key + "/" + what + "/" + kernels::DescKey(packed_md), pack, &packed);
  } else {
    status = pack(&packed, private_bytes);
  }
  if (!status.ok()) throw std::runtime_error(status.message());
  return std::static_pointer_cast<const dnnl::memory>(packed);
}

}  // namespace mixq::ops
