#include "ops/onednn_support.h"

#include <stdexcept>

#include "kernels/cpu_features.h"
#include "kernels/thread_scratch.h"

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
  } else if (op.activation == "gelu_erf") {  // the same function (runtime/fusion: after float32 products only)
    e->alg = dnnl::algorithm::eltwise_gelu_erf;
  } else if (op.activation == "gelu_tanh") {
    e->alg = dnnl::algorithm::eltwise_gelu_tanh;
  } else {
    return false;
  }
  return true;
}

// One entry of a oneDNN post-op chain: an eltwise op, or (binary) the
// binary_add of the step input `input`.
struct Entry {
  bool binary = false;
  int input = -1;
  Eltwise e;
};

// The post-ops as a sum (first, when `sum`) and a chain of eltwise ops; with
// `binary_adds`, every kAdd instead becomes a binary_add entry in its place.
// Products and sums with scalars become one linear a * y + b (y * c: (c, 0);
// y + c: (1, c); y * a + b: (a, b), one fused multiply-add where the separate
// steps round twice, within the fusion tolerance). oneDNN 2.6's AVX2
// convolutions compute two eltwise post-ops of one algorithm with the first
// one's parameters (measured: relu, linear 0.37, linear 1 -0.2 gave
// relu(y) * 0.37 * 0.37), so a chain repeating an algorithm is refused.
bool PostOpChain(const std::vector<PostOp>& ops, bool binary_adds, bool* sum, std::vector<Entry>* chain) {
  *sum = false;
  chain->clear();
  bool linear_open = false;  // the last entry is a linear that may absorb a scalar
  for (size_t k = 0; k < ops.size(); ++k) {
    const PostOp& op = ops[k];
    if (op.kind == PostOp::Kind::kAdd) {
      if (binary_adds) {
        chain->push_back({true, op.input, {}});
        linear_open = false;
        continue;
      }
      if (k != 0) return false;
      *sum = true;
      continue;
    }
    if (op.kind == PostOp::Kind::kScalar) {
      if (op.activation != "mul" && op.activation != "add") return false;
      const bool mul = op.activation == "mul";
      if (linear_open && !mul) {
        chain->back().e.beta += op.lo;  // (a, b) then + c: (a, b + c); b is 0 after a lone * a
        linear_open = false;            // y * a + b, then nothing more: one rounding less is enough
        continue;
      }
      chain->push_back({false, -1, {dnnl::algorithm::eltwise_linear, mul ? op.lo : 1.0f, mul ? 0.0f : op.lo}});
      linear_open = mul;
      continue;
    }
    if (op.kind != PostOp::Kind::kActivation) return false;
    Entry entry;
    if (!ActivationEltwise(op, &entry.e)) return false;
    chain->push_back(entry);
    linear_open = false;
  }
  for (size_t i = 0; i < chain->size(); ++i)
    for (size_t j = i + 1; j < chain->size(); ++j)
      if (!(*chain)[i].binary && !(*chain)[j].binary && (*chain)[i].e.alg == (*chain)[j].e.alg) return false;
  return true;
}

}  // namespace

dnnl::primitive_attr PostOpAttr(const std::vector<PostOp>& ops) {
  dnnl::post_ops post_ops;
  bool sum = false;
  std::vector<Entry> chain;
  if (PostOpChain(ops, /*binary_adds=*/false, &sum, &chain)) {  // else refused by OneDnnSupportsPostOps
    if (sum) post_ops.append_sum(1.0f);
    for (const Entry& entry : chain) post_ops.append_eltwise(1.0f, entry.e.alg, entry.e.alpha, entry.e.beta);
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(post_ops);
  return attr;
}

bool OneDnnSupportsPostOps(const KernelInit& init, bool sum_allowed) {
  if (!init.post_ops) return true;
  bool sum = false;
  std::vector<Entry> chain;
  if (!PostOpChain(*init.post_ops, /*binary_adds=*/false, &sum, &chain)) return false;
  if (!sum) return true;
  // The sum accumulates onto the output: same shape.
  const PostOp& op = init.post_ops->front();
  return sum_allowed && op.input >= 0 && static_cast<size_t>(op.input) < init.inputs.size() &&
         init.inputs[static_cast<size_t>(op.input)] &&
         init.inputs[static_cast<size_t>(op.input)]->shape == init.outputs[0].shape;
}

namespace {
bool BinaryPostOpsTaken(const KernelInit& init, bool bfloat16_residuals) {
  if (!init.post_ops) return true;
  bool sum = false;
  std::vector<Entry> chain;
  if (!PostOpChain(*init.post_ops, /*binary_adds=*/true, &sum, &chain)) return false;
  const ir::Shape& out = init.outputs[0].shape;
  for (const Entry& entry : chain) {
    if (!entry.binary) continue;
    const ValueInfo* a =
        entry.input >= 0 && static_cast<size_t>(entry.input) < init.inputs.size() ? init.inputs[entry.input] : nullptr;
    if (a && bfloat16_residuals && IsBFloat16Storage(*a) && !a->quant && a->shape == out) continue;
    if (!a || a->dtype != DataType::FLOAT32 || a->narrowed || a->quant || !ir::IsStatic(a->shape)) return false;
    if (a->shape == out) continue;
    // One value per output column: [N] or [1, ..., 1, N].
    if (a->shape.empty() || out.empty() || a->shape.size() > out.size() || a->shape.back() != out.back()) return false;
    for (size_t d = 0; d + 1 < a->shape.size(); ++d)
      if (a->shape[d] != 1) return false;
  }
  return true;
}
}  // namespace

bool OneDnnSupportsBinaryPostOps(const KernelInit& init) {
  return BinaryPostOpsTaken(init, /*bfloat16_residuals=*/false);
}

bool OneDnnSupportsBFloat16BinaryPostOps(const KernelInit& init) {
  return BinaryPostOpsTaken(init, /*bfloat16_residuals=*/true);
}

bool IsBFloat16Storage(const ValueInfo& v) {
  return v.narrowed && v.dtype == DataType::BFLOAT16 && v.const_data == nullptr;
}

bool HoldsBFloat16Values(const ValueInfo& v) {
  if (!v.const_data || v.dtype != DataType::FLOAT32) return false;
  // Low halves all zero (NaN and inf pass through the conversion unchanged too).
  const auto* bits = static_cast<const uint32_t*>(v.const_data);
  const int64_t count = ir::ElementCount(v.shape);
  uint32_t low = 0;
  for (int64_t i = 0; i < count; ++i) low |= bits[i] & 0xffffu;
  return low == 0;
}

bool BindThreadScratch(dnnl::memory* const* copies, int count) {
  for (int slot = 0; slot < count; ++slot) {
    dnnl::memory& m = *copies[slot];
    if (!m) continue;
    void* p = kernels::ThreadScratch(slot, m.get_desc().get_size());
    if (!p) return false;
    m.set_data_handle(p);
  }
  return true;
}

dnnl::memory::format_tag ConvFilterTag(const std::string& layout, bool grouped) {
  using tag = dnnl::memory::format_tag;
  if (layout == "OIHW") return grouped ? tag::goihw : tag::oihw;
  if (layout == "OHWI") return grouped ? tag::gohwi : tag::ohwi;
  return grouped ? tag::hwigo : tag::hwio;  // HWCN
}

bool BFloat16ArithmeticAvailable() {
  return kernels::DetectedCpuFeatures().avx512bf16;
}

bool JitImpl(const std::string& impl) {
  return impl.rfind("jit", 0) == 0 || impl.rfind("brg", 0) == 0;
}

bool NativeBFloat16Impl(const std::string& impl) {
  const size_t colon = impl.find(':');
  if (colon == std::string::npos || (impl.rfind("jit", 0) != 0 && impl.rfind("br", 0) != 0)) return false;
  const std::string isa = impl.substr(colon + 1);
  return isa.find("bf16") != std::string::npos || isa.find("amx") != std::string::npos;
}

dnnl::primitive_attr BinaryPostOpAttr(const std::vector<PostOp>& ops, const std::vector<dnnl::memory::desc>& addends,
                                      std::vector<BinaryAddend>* args) {
  dnnl::post_ops post_ops;
  bool sum = false;
  std::vector<Entry> chain;
  args->clear();
  if (PostOpChain(ops, /*binary_adds=*/true, &sum, &chain)) {  // else refused by OneDnnSupportsBinaryPostOps
    for (size_t i = 0; i < chain.size(); ++i) {
      const Entry& entry = chain[i];
      if (entry.binary) {
        const dnnl::memory::desc& md = addends[args->size()];
        post_ops.append_binary(dnnl::algorithm::binary_add, md);
        args->push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(static_cast<int>(i)) | DNNL_ARG_SRC_1, entry.input, md});
      } else {
        post_ops.append_eltwise(1.0f, entry.e.alg, entry.e.alpha, entry.e.beta);
      }
    }
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(post_ops);
  return attr;
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
