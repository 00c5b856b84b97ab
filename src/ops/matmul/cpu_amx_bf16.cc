// "amx-bf16-gemm": MatMul of a BFLOAT16-storage activation (row-major, its
// batch dims folded into rows) by a constant holding bfloat16 values, on
// AMX-BF16 tiles (ops/amx_bf16_gemm.h); a Linear layer's bias, a residual
// add and the unary post-ops of ops/bf16_chain.h fused; BFLOAT16 storage
// out, rounded once, as onednn-bf16 does (docs/precision.md).
//
// Why: BERT-base's feed-forward products (128 x 768 x 3072 and back) took
// 0.58-0.63 ms each in oneDNN 2.6's brgemm matmul on the AMX Xeon (one
// thread, step minima) where OpenVINO's newer oneDNN took 0.55.
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu_features.h"
#include "ops/amx_bf16_gemm.h"
#include "ops/bf16_chain.h"
#include "ops/kernel_registry.h"
#include "ops/matmul/geometry.h"
#include "ops/onednn_support.h"
#include "ops/op_util.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

struct Step {
  HalfWeightGemmShape shape;
  HalfChain chain;
  int bias = -1;    // the Linear bias's input slot (a constant FLOAT32 per column, first in the chain)
  int addend = -1;  // the residual addend's input slot
};

// A constant FLOAT32 addend of one value per column: [N] or [1, ..., 1, N].
bool IsConstantColumnBias(const ValueInfo* v, const ValueInfo& y) {
  if (!v || !v->const_data || v->dtype != DataType::FLOAT32 || v->narrowed || v->quant || v->shape.empty() ||
      v->shape == y.shape || v->shape.back() != y.shape.back() || !ir::IsStatic(v->shape))
    return false;
  for (size_t d = 0; d + 1 < v->shape.size(); ++d)
    if (v->shape[d] != 1) return false;
  return true;
}

bool StepTaken(const KernelInit& init, Step* s) {
  const kernels::CpuFeatures& cpu = kernels::DetectedCpuFeatures();
  if (!cpu.amx_bf16 || !cpu.avx512bw || !cpu.avx512vl) return false;
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1) return false;
  const ValueInfo &a = *init.inputs[0], &b = *init.inputs[1], &y = init.outputs[0];
  if (!IsBFloat16Storage(a) || !IsBFloat16Storage(y) || a.quant || y.quant) return false;
  for (const ValueInfo* v : {&a, &b, &y})
    if (v->layout != MemoryLayout::kPlain) return false;
  // The weights hold bfloat16 values (the planner rounds a weight consumed in BFLOAT16 once).
  if (!b.const_data || b.dtype != DataType::FLOAT32 || b.quant || !HoldsBFloat16Values(b)) return false;
  if (!ConstantWeightGemmShape(init, &s->shape)) return false;
  std::vector<PostOp> rest = init.post_ops ? *init.post_ops : std::vector<PostOp>{};
  if (!rest.empty() && rest.front().kind == PostOp::Kind::kAdd && rest.front().input >= 0 &&
      static_cast<size_t>(rest.front().input) < init.inputs.size() &&
      IsConstantColumnBias(init.inputs[static_cast<size_t>(rest.front().input)], y)) {
    s->bias = rest.front().input;
    rest.erase(rest.begin());
  }
  // GELU stays with onednn-bf16: with vector_math.h's erf on two 8-lane
  // halves in this epilogue BERT's 128 x 768 x 3072 product + GELU took
  // 0.58 -> 1.00 ms (one thread) where the product alone gained.
  if (!BFloat16ChainOf(&rest, &s->chain, &s->addend)) return false;
  for (size_t i = 2; i < init.inputs.size(); ++i)  // every other input is the bias or the addend
    if (static_cast<int>(i) != s->bias && static_cast<int>(i) != s->addend) return false;
  if (s->addend >= 0) {
    if (static_cast<size_t>(s->addend) >= init.inputs.size() || !init.inputs[static_cast<size_t>(s->addend)])
      return false;
    const ValueInfo& r = *init.inputs[static_cast<size_t>(s->addend)];
    if (!IsBFloat16Storage(r) || r.quant || r.const_data || r.shape != y.shape || r.layout != MemoryLayout::kPlain)
      return false;
  }
  return true;
}

class AmxBFloat16MatMul : public Kernel {
 public:
  const char* Name() const override { return "amx-bf16-gemm"; }
  // The weights and the bias are packed; the activation and the addend are read.
  bool ReadsInputAtRun(size_t index) const override { return index == 0 || static_cast<int>(index) == step_.addend; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Init(const KernelInit& init) {
    if (!StepTaken(init, &step_)) return Internal("amx-bf16-gemm does not take this MatMul");
    const HalfWeightGemmShape& s = step_.shape;
    const auto* w = static_cast<const float*>(init.inputs[1]->const_data);
    const float* bias =
        step_.bias >= 0 ? static_cast<const float*>(init.inputs[static_cast<size_t>(step_.bias)]->const_data) : nullptr;
    const int64_t k = s.k, n = s.n, words = AmxBFloat16BWords(k, n);
    const bool transposed = s.weights_transposed;
    MIXQ_RETURN_IF_ERROR(PackOnce<uint32_t>(
        init, Name(), static_cast<size_t>(words),
        [&](uint32_t* words_data) {
          PackAmxBFloat16B(
              k, n, [&](int64_t kk, int64_t nn) { return transposed ? w[nn * k + kk] : w[kk * n + nn]; }, bias,
              words_data);
        },
        &packed_, &private_bytes_));
    b_ = ViewAmxBFloat16B(k, n, packed_->data());
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const HalfWeightGemmShape& s = step_.shape;
    AmxBFloat16Out o;
    o.y = out[0].Data<uint16_t>();
    o.ldy = s.n;
    if (step_.addend >= 0) {
      o.addend = in[static_cast<size_t>(step_.addend)].Data<const uint16_t>();
      o.ld_addend = s.n;
    }
    o.chain = &step_.chain;
    AmxBFloat16Gemm(in[0].Data<const uint16_t>(), s.k, s.m, b_, o, &scratch_);
    return Status::OK();
  }

 private:
  Step step_;
  std::shared_ptr<const std::vector<uint32_t>> packed_;
  AmxBFloat16B b_;
  int64_t private_bytes_ = 0;
  std::vector<AmxBFloat16Scratch> scratch_;  // one per OpenMP thread
};

bool Supports(const KernelInit& init) {
  Step s;
  return StepTaken(init, &s);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto matmul = std::make_unique<AmxBFloat16MatMul>();
  MIXQ_RETURN_IF_ERROR(matmul->Init(init));
  *kernel = std::move(matmul);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(matmul, amx_bf16) {
  // Above onednn-bf16 (30) for the steps it takes.
  mixq::ops::RegisterKernel({"amx-bf16-gemm", mixq::OpKind::kMatMul, mixq::kernels::Isa::kAmx, 31, mixq::ops::Supports,
                             mixq::ops::Make, nullptr, nullptr, mixq::ops::AddendAlias});
}
