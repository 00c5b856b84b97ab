// "amx-bf16-pw": pointwise Conv2D (1 x 1 filter, stride 1, no padding, one
// group) between bfloat16 tensors the plan stores channels-last (NHWC), on
// AMX-BF16 tiles; the residual add and the unary post-ops fused.
//
// Why: oneDNN 2.6's brgconv_1x1 (what onednn-bf16 runs these layers in)
// took 0.22-0.26 ms on PP-OCR rec's 240 -> 240 and 480 -> 480 layers at 12 x
// 80 and 6 x 80 on the AMX Xeon (one thread, step minima), where
// OpenVINO's newer oneDNN took 0.14-0.18 in the same run, and a layer's 55
// million multiply-adds are about 7,000 tile products (16 cycles each): 40
// us of arithmetic. PP-OCR rec force_bfloat16 spent 2.35 ms of 5.1 in 14
// such layers.
//
// How: in NHWC a 1 x 1 convolution is a GEMM, pixels x input channels
// times input channels x output channels, whose A (the input, a pixel's
// channels a row) AMX loads straight from the tensor: ops/amx_bf16_gemm.h
// runs it with the bias, the residual add and the post-op chain fused, and
// rounds once, as onednn-bf16 does (docs/precision.md; within a bfloat16
// step of a double reference, cpu_onednn_bf16_test.cc).
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu_features.h"
#include "ops/amx_bf16_gemm.h"
#include "ops/bf16_chain.h"
#include "ops/conv2d/amx_bf16_conv_common.h"
#include "ops/conv2d/conv_params.h"
#include "ops/kernel_registry.h"
#include "ops/layout.h"
#include "ops/onednn_support.h"
#include "ops/op_util.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

using Step = AmxBFloat16ConvStep;

// A step AmxBFloat16ConvTaken takes, with a 1 x 1 filter, stride 1, no padding and one group.
bool StepTaken(const KernelInit& init, Step* s) {
  if (!AmxBFloat16ConvTaken(init, s)) return false;
  const ConvGeometry& g = s->g;
  return g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 && g.group == 1 && g.pad_top == 0 &&
         g.pad_left == 0 && g.pad_bottom == 0 && g.pad_right == 0 && g.out_h == g.in_h && g.out_w == g.in_w;
}

class AmxBFloat16Pointwise : public Kernel {
 public:
  const char* Name() const override { return "amx-bf16-pw"; }
  // The filter and the bias are packed; the input and the addend are read.
  bool ReadsInputAtRun(size_t index) const override { return index == 0 || static_cast<int>(index) == step_.addend; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Init(const KernelInit& init) {
    if (!StepTaken(init, &step_) || !AmxBFloat16ConvAllChannelsLast(init, step_))
      return Internal("amx-bf16-pw does not take this convolution");
    const ConvGeometry& g = step_.g;
    k_ = g.in_channels;
    n_ = g.out_channels;
    const ValueInfo& w = *init.inputs[1];
    const auto strides = LogicalStrides(w.shape, g.filter_axes);
    const auto* filter = static_cast<const float*>(w.const_data);
    const auto* bias =
        init.inputs.size() > 2 && init.inputs[2] ? static_cast<const float*>(init.inputs[2]->const_data) : nullptr;
    const int64_t k = k_, n = n_, words = AmxBFloat16BWords(k, n);
    MIXQ_RETURN_IF_ERROR(PackOnce<uint32_t>(
        init, Name(), static_cast<size_t>(words),
        [&](uint32_t* words_data) {
          PackAmxBFloat16B(
              k, n, [&](int64_t i, int64_t o) { return filter[o * strides[0] + i * strides[1]]; }, bias, words_data);
        },
        &packed_, &private_bytes_));
    b_ = ViewAmxBFloat16B(k_, n_, packed_->data());
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const ConvGeometry& g = step_.g;
    AmxBFloat16Out o;
    o.y = out[0].Data<uint16_t>();
    o.ldy = n_;
    if (step_.addend >= 0) {
      o.addend = in[static_cast<size_t>(step_.addend)].Data<const uint16_t>();
      o.ld_addend = n_;
    }
    o.chain = &step_.chain;
    // NHWC: every pixel of the batch a row of K channels.
    AmxBFloat16Gemm(in[0].Data<const uint16_t>(), k_, g.batch * g.in_h * g.in_w, b_, o, &scratch_);
    return Status::OK();
  }

 private:
  Step step_;
  int64_t k_ = 0, n_ = 0;
  std::shared_ptr<const std::vector<uint32_t>> packed_;
  AmxBFloat16B b_;
  int64_t private_bytes_ = 0;
  std::vector<AmxBFloat16Scratch> scratch_;  // one per OpenMP thread
};

bool Supports(const KernelInit& init) {
  Step s;
  return StepTaken(init, &s);
}

// Kept where its tensors are channels-last (between onednn-bf16 and
// avx512-bf16-dw steps); a plain side goes to onednn-bf16, which reorders it.
bool KeepWithLayouts(const KernelInit& init) {
  Step s;
  return StepTaken(init, &s) && AmxBFloat16ConvAllChannelsLast(init, s);
}

void LayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs, std::vector<bool>* outputs) {
  Step s;
  const bool taken = StepTaken(init, &s);
  AmxBFloat16ConvSlots(init, block, taken, s, inputs, outputs);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto conv = std::make_unique<AmxBFloat16Pointwise>();
  MIXQ_RETURN_IF_ERROR(conv->Init(init));
  *kernel = std::move(conv);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv2d, amx_bf16_pw) {
  // Above onednn-bf16 (30) for the pointwise steps it takes.
  mixq::ops::RegisterKernel({"amx-bf16-pw", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAmx, 31, mixq::ops::Supports,
                             mixq::ops::Make, mixq::ops::LayoutSlots, mixq::ops::KeepWithLayouts,
                             mixq::ops::AddendAlias});
}
