// Blocked activation layouts through the plan (issue 11 item 1): a tensor
// written by a kernel that runs in oneDNN's nChw8c / nChw16c and read only by
// kernels that run in it too stays blocked in the arena, so the reorders to
// and from the plain layout around each convolution disappear.
#pragma once

#include <functional>
#include <vector>

#include "runtime/execution_plan.h"

namespace mixq::runtime {

// Calls `use` with the KernelInit of step `step` built from the plan's
// current buffer infos.
using WithStepInit = std::function<void(int step, const std::function<void(const ops::KernelInit&)>& use)>;

// Gives buffer b the layout `block` when b holds a graph value that
// `keep_plain` does not name (network outputs, observed values not taken in
// any layout), is a 4-D FLOAT32 tensor whose channels (dim 1) are a
// multiple of the block, and its
// writer and every reader declare the slot blocked-capable
// (KernelDef::blocked_slots). Then each step touching a blocked buffer is
// asked `supports` again with the new infos; a step that declines sends its
// buffers back to plain. Returns the number of blocked buffers.
// `block` kChannelsLast: the candidates are 4-D INT8 tensors with static
// per-tensor quantization instead (any channel count), stored NHWC between
// the int8 kernels that run in it.
int AssignBlockedLayouts(ExecutionPlan* plan, const std::vector<bool>& keep_plain, ops::MemoryLayout block,
                         const WithStepInit& with_init);

// The block layout oneDNN's convolutions run in on this CPU (capped at
// `max_isa`): nChw16c with AVX-512, nChw8c otherwise.
ops::MemoryLayout NativeBlockLayout(kernels::Isa max_isa);

}  // namespace mixq::runtime
