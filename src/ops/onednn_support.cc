#include "ops/onednn_support.h"

#include <stdexcept>

namespace mixq::ops {

dnnl::primitive_attr PostOpAttr(const std::vector<PostOp>& ops) {
  dnnl::post_ops chain;
  for (const PostOp& op : ops)
    if (op.kind == PostOp::Kind::kAdd) chain.append_sum(1.0f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(chain);
  return attr;
}

bool OneDnnSupportsPostOps(const KernelInit& init, bool sum_allowed) {
  if (!init.post_ops) return true;
  for (size_t k = 0; k < init.post_ops->size(); ++k) {
    const PostOp& op = (*init.post_ops)[k];
    // oneDNN 2.6's relu / clip (eltwise, standalone or as post-ops) turn NaN
    // into 0 (vmaxps), while mixq's float activations propagate NaN
    // (docs/reliability.md): activations stay separate steps after oneDNN.
    if (op.kind != PostOp::Kind::kAdd) return false;
    // The sum accumulates onto the output: first in the chain, same shape.
    if (!sum_allowed || k != 0 || op.input < 0 || static_cast<size_t>(op.input) >= init.inputs.size() ||
        !init.inputs[static_cast<size_t>(op.input)] ||
        init.inputs[static_cast<size_t>(op.input)]->shape != init.outputs[0].shape)
      return false;
  }
  return true;
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
