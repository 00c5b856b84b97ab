#include "runtime/layout_pass.h"

#include "kernels/cpu_features.h"

namespace mixq::runtime {

namespace {

bool Candidate(const PlanBuffer& b, const std::vector<bool>& keep_plain, ops::MemoryLayout block) {
  if (b.value < 0 || b.info.const_data || b.first < 0) return false;  // scratch, constant, network input
  if (static_cast<size_t>(b.value) < keep_plain.size() && keep_plain[static_cast<size_t>(b.value)]) return false;
  const ops::ValueInfo& v = b.info;
  if (block == ops::MemoryLayout::kChannelsLast) {  // any channel count
    // Static int8 codes of a real value, or bfloat16 storage (the bfloat16 convolutions).
    const bool int8 = v.dtype == DataType::INT8 && v.quant && !v.quant->dynamic && v.quant->axis < 0;
    const bool bfloat16 = v.dtype == DataType::BFLOAT16 && v.narrowed && !v.quant;
    return (int8 || bfloat16) && v.layout == ops::MemoryLayout::kPlain && v.shape.size() == 4 && v.shape[1] > 0 &&
           ir::ElementCount(v.shape) > 0;
  }
  // float32, or float16 storage of a float32 value (the float16 kernels).
  const bool real = (v.dtype == DataType::FLOAT32 && !v.narrowed) || (v.dtype == DataType::FLOAT16 && v.narrowed);
  return real && !v.quant && v.layout == ops::MemoryLayout::kPlain && v.shape.size() == 4 && v.shape[1] > 0 &&
         v.shape[1] % ops::BlockChannels(block) == 0;
}

bool Allowed(const std::vector<bool>& slots, size_t i) {
  return i < slots.size() && slots[i];
}

}  // namespace

ops::MemoryLayout NativeBlockLayout(kernels::Isa max_isa) {
  const bool avx512 = kernels::DetectedCpuFeatures().avx512f && max_isa >= kernels::Isa::kAvx512;
  return avx512 ? ops::MemoryLayout::kBlocked16 : ops::MemoryLayout::kBlocked8;
}

int AssignBlockedLayouts(ExecutionPlan* plan, const std::vector<bool>& keep_plain, ops::MemoryLayout block,
                         const WithStepInit& with_init) {
  const size_t step_count = plan->steps.size();
  std::vector<std::vector<bool>> in_ok(step_count), out_ok(step_count);
  for (size_t s = 0; s < step_count; ++s) {
    const PlanStep& step = plan->steps[s];
    if (!step.def || !step.def->blocked_slots) continue;
    with_init(static_cast<int>(s),
              [&](const ops::KernelInit& init) { step.def->blocked_slots(init, block, &in_ok[s], &out_ok[s]); });
  }
  // Every (step, slot) that writes or reads each buffer, in one pass.
  struct Use {
    size_t step, slot;
    bool output;
  };
  std::vector<std::vector<Use>> uses(plan->buffers.size());
  for (size_t s = 0; s < step_count; ++s) {
    const PlanStep& step = plan->steps[s];
    for (size_t i = 0; i < step.outputs.size(); ++i)
      if (step.outputs[i] >= 0) uses[static_cast<size_t>(step.outputs[i])].push_back({s, i, true});
    for (size_t i = 0; i < step.inputs.size(); ++i)
      if (step.inputs[i] >= 0) uses[static_cast<size_t>(step.inputs[i])].push_back({s, i, false});
  }
  std::vector<bool> blocked(plan->buffers.size(), false);
  for (size_t b = 0; b < plan->buffers.size(); ++b) {
    if (!Candidate(plan->buffers[b], keep_plain, block)) continue;
    bool ok = true, read = false;
    for (const Use& u : uses[b]) {
      ok = ok && Allowed(u.output ? out_ok[u.step] : in_ok[u.step], u.slot);
      read = read || !u.output;
    }
    if (ok && read) blocked[b] = true;
  }
  for (size_t b = 0; b < blocked.size(); ++b)
    if (blocked[b]) plan->buffers[b].info.layout = block;
  // Every step touching a blocked buffer must still take its step; a step
  // that declines sends its buffers back to plain (and its neighbours are
  // asked again).
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t s = 0; s < step_count; ++s) {
      PlanStep& step = plan->steps[s];
      bool touches = false;
      for (int b : step.inputs) touches = touches || (b >= 0 && blocked[static_cast<size_t>(b)]);
      for (int b : step.outputs) touches = touches || (b >= 0 && blocked[static_cast<size_t>(b)]);
      if (!touches) continue;
      bool supported = false;
      with_init(static_cast<int>(s), [&](const ops::KernelInit& init) { supported = step.def->supports(init); });
      if (supported) continue;
      for (const std::vector<int>* list : {&step.inputs, &step.outputs})
        for (int b : *list)
          if (b >= 0 && blocked[static_cast<size_t>(b)]) {
            blocked[static_cast<size_t>(b)] = false;
            plan->buffers[static_cast<size_t>(b)].info.layout = ops::MemoryLayout::kPlain;
          }
      changed = true;
    }
  }
  int count = 0;
  for (bool b : blocked) count += b;
  return count;
}

}  // namespace mixq::runtime
