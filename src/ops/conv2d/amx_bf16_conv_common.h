// What mixq's bfloat16 convolutions on AMX-BF16 tiles share ("amx-bf16-pw":
// cpu_amx_bf16_pw.cc; "amx-bf16-conv": cpu_amx_bf16_conv.cc): the steps
// they take (bfloat16 storage, a filter of bfloat16 values, the chain of
// ops/bf16_chain.h) and their channels-last layouts.
#pragma once

#include <vector>

#include "kernels/cpu_features.h"
#include "ops/bf16_chain.h"
#include "ops/conv2d/conv_params.h"
#include "ops/kernel_registry.h"
#include "ops/onednn_support.h"
#include "ops/op_util.h"

namespace mixq::ops {

struct AmxBFloat16ConvStep {
  ConvGeometry g;
  HalfChain chain;
  int addend = -1;  // the residual addend's input slot
};

// Everything but the filter shape and the layouts the pass gives: the CPU
// has AMX-BF16 (with AVX512-BF16); input, output and a residual addend
// BFLOAT16 storage, plain or channels-last; a constant filter holding
// bfloat16 values (the planner rounds a filter consumed in BFLOAT16 once), a
// constant FLOAT32 bias; logical NCHW; post-ops the bfloat16 chain takes.
// The kernels check their filter shapes on s->g.
inline bool AmxBFloat16ConvTaken(const KernelInit& init, AmxBFloat16ConvStep* s) {
  const kernels::CpuFeatures& cpu = kernels::DetectedCpuFeatures();
  if (!cpu.amx_bf16 || !cpu.avx512bw || !cpu.avx512vl || !cpu.avx512bf16) return false;
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1) return false;
  auto layout_taken = [](const ValueInfo& v) {
    return v.layout == MemoryLayout::kPlain || v.layout == MemoryLayout::kChannelsLast;
  };
  const ValueInfo &x = *init.inputs[0], &w = *init.inputs[1], &y = init.outputs[0];
  if (!IsBFloat16Storage(x) || !IsBFloat16Storage(y) || x.quant || y.quant || !layout_taken(x) || !layout_taken(y))
    return false;
  if (!w.const_data || w.dtype != DataType::FLOAT32 || w.quant || w.layout != MemoryLayout::kPlain ||
      !HoldsBFloat16Values(w))
    return false;
  if (init.inputs.size() > 2 && init.inputs[2]) {
    const ValueInfo& b = *init.inputs[2];
    if (!b.const_data || b.dtype != DataType::FLOAT32 || b.quant) return false;
  }
  if (!ComputeConv2DGeometry(init.attrs, init.inputs, &s->g).ok()) return false;
  // Logical NCHW tensors (kChannelsLast stores them NHWC).
  if (s->g.input_axes.pos[1] != 1 || s->g.output_axes.pos[1] != 1) return false;
  if (!BFloat16ChainOf(init.post_ops, &s->chain, &s->addend)) return false;
  for (size_t i = 3; i < init.inputs.size(); ++i)  // past the bias: only the addend
    if (static_cast<int>(i) != s->addend) return false;
  if (s->addend >= 0) {
    if (static_cast<size_t>(s->addend) >= init.inputs.size() || !init.inputs[static_cast<size_t>(s->addend)])
      return false;
    const ValueInfo& a = *init.inputs[static_cast<size_t>(s->addend)];
    if (!IsBFloat16Storage(a) || a.quant || a.const_data || a.shape != y.shape || !layout_taken(a)) return false;
  }
  return true;
}

// The step's output, input and addend all channels-last: what the kernels run on.
inline bool AmxBFloat16ConvAllChannelsLast(const KernelInit& init, const AmxBFloat16ConvStep& s) {
  if (init.inputs[0]->layout != MemoryLayout::kChannelsLast || init.outputs[0].layout != MemoryLayout::kChannelsLast)
    return false;
  return s.addend < 0 || init.inputs[static_cast<size_t>(s.addend)]->layout == MemoryLayout::kChannelsLast;
}

// KernelDef::blocked_slots of a step the kernel takes (`taken`, s filled):
// input, output and addend channels-last.
inline void AmxBFloat16ConvSlots(const KernelInit& init, MemoryLayout block, bool taken, const AmxBFloat16ConvStep& s,
                                 std::vector<bool>* inputs, std::vector<bool>* outputs) {
  inputs->assign(init.inputs.size(), false);
  outputs->assign(init.outputs.size(), false);
  if (block != MemoryLayout::kChannelsLast || !taken) return;
  (*inputs)[0] = true;
  (*outputs)[0] = true;
  if (s.addend >= 0) (*inputs)[static_cast<size_t>(s.addend)] = true;
}

}  // namespace mixq::ops
