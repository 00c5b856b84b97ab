// Elementwise ops between a blocked tensor and one value per channel (a
// squeeze-excitation block's x * scale: x [N, C, H, W] in nChw8c / nChw16c,
// scale [1, C, 1, 1]), so that such blocks stay in the convolutions'
// blocked layout instead of sending their tensors back to plain.
#pragma once

#include <memory>
#include <vector>

#include "ops/kernel_registry.h"

namespace mixq::ops {

// The slot (0 or 1) of the per-channel operand when `init` is this form, else
// -1: no post-ops; an add, sub, mul, div, max or min; output 0 of rank 4 with
// its channels in whole blocks of `block` (nChw8c / nChw16c); one operand of
// the output's shape, the other [1, C, 1, 1] or [C, 1, 1]; float32 storage,
// or float16 storage of float32 values where `half` (bfloat16 never: the
// blocked layouts hold float32 and float16 only). With `assigned`, the
// layouts are the plan's: the full operand and the output in `block`, the
// per-channel operand plain (for whole blocks the same bytes as blocked).
int ChannelBlockedOperand(const KernelInit& init, MemoryLayout block, bool half, bool assigned);

// KernelDef::blocked_slots of the Elementwise kernels "cpu-fast" (`half`
// false) and "avx2-f16" (true): the element-by-element form
// (ElementwiseBlockedSlots; for "avx2-f16" on float16 storage too), else
// the channel form (the full operand and the output).
template <bool half>
void BinaryBlockedSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                        std::vector<bool>* outputs);

// The kernel of the channel form (ChannelBlockedOperand with `assigned`):
// each block of B channels is a run of H * W * B values whose per-channel
// operand repeats every B values; the same float operation per pair as the
// reference (bit-exact), widened from and rounded to float16 on load and
// store where the storage is float16.
Status MakeChannelBlocked(const KernelInit& init, const char* name, std::unique_ptr<Kernel>* kernel);

// The same ops between a bfloat16 tensor stored channels-last
// (MemoryLayout::kChannelsLast: [N, H, W, C] bytes of an [N, C, H, W]
// value, the bfloat16 convolutions' layout) and one value per channel, so
// that squeeze-excitation blocks between those convolutions keep it: the
// slot (0 or 1) of the per-channel operand, else -1. Output and full operand
// BFLOAT16 storage, the per-channel operand BFLOAT16 storage or FLOAT32;
// with `assigned`, the full operand and the output channels-last, the
// per-channel one plain.
int ChannelsLastOperand(const KernelInit& init, bool assigned);

// KernelDef::blocked_slots of "avx2-bf16": in kChannelsLast, the
// element-by-element form (every input of the output's shape or one value)
// or the channel form above (the full operand and the output).
void BFloat16ChannelsLastSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                               std::vector<bool>* outputs);

// The kernel of that channel form: each pixel's C values paired with the
// C per-channel values, widened, the reference's float operation, rounded
// to bfloat16 once (bit-exact with the reference on the plain tensors).
Status MakeChannelsLast(const KernelInit& init, const char* name, std::unique_ptr<Kernel>* kernel);

}  // namespace mixq::ops
