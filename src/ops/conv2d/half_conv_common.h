// What the float16-storage convolution kernels of mixq's own
// (cpu_half_dw.cc, cpu_half_pw.cc) ask of a step alike.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ops/conv2d/conv_params.h"
#include "ops/half_output_stage.h"
#include "ops/half_storage.h"
#include "ops/kernel_registry.h"
#include "util/status_util.h"

namespace mixq::ops {

// Float16 storage in and out, a const FLOAT32 filter (OIHW or OHWI) and
// bias, one output; `g` gets the geometry.
inline bool HalfConvOperands(const KernelInit& init, ConvGeometry* g) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1) return false;
  const ValueInfo &x = *init.inputs[0], &w = *init.inputs[1], &y = init.outputs[0];
  if (!IsHalfStorage(x) || !IsHalfStorage(y) || !w.const_data || w.dtype != DataType::FLOAT32 || w.quant) return false;
  if (init.inputs.size() > 2 && init.inputs[2] &&
      (!init.inputs[2]->const_data || init.inputs[2]->dtype != DataType::FLOAT32 || init.inputs[2]->quant))
    return false;
  const std::string filter_layout = init.attrs.Str("filter_layout", "OIHW");
  if (filter_layout != "OIHW" && filter_layout != "OHWI") return false;
  return ComputeConv2DGeometry(init.attrs, init.inputs, g).ok();
}

// A residual addend in the output's layout: what these kernels and the
// kernel they hand a mixed-layout step to (onednn-f16, whose output stage
// reads the addend position by position) both need. Taking a step whose
// addend differs would let the layout pass leave it in a mix no kernel runs
// (seen: ResNet-50's last block, a plain output and a blocked addend).
inline bool AddendsInOutputLayout(const KernelInit& init) {
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops)
      if (op.kind == PostOp::Kind::kAdd && op.input >= 0 && static_cast<size_t>(op.input) < init.inputs.size() &&
          init.inputs[static_cast<size_t>(op.input)] &&
          init.inputs[static_cast<size_t>(op.input)]->layout != init.outputs[0].layout)
        return false;
  return true;
}

// The input, the output and every residual addend in one layout: what these
// kernels run in (each kernel's keep_with_layouts adds its block checks).
inline bool OneLayoutThroughout(const KernelInit& init) {
  const MemoryLayout layout = init.inputs[0]->layout;
  if (init.outputs[0].layout != layout) return false;
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops)
      if (op.kind == PostOp::Kind::kAdd && init.inputs[static_cast<size_t>(op.input)]->layout != layout) return false;
  return true;
}

// KernelDef::blocked_slots for these kernels: when `fits`, the input, the
// output and every residual addend may be blocked; otherwise none.
inline void HalfConvBlockedSlots(const KernelInit& init, bool fits, std::vector<bool>* ins, std::vector<bool>* outs) {
  ins->assign(init.inputs.size(), false);
  outs->assign(init.outputs.size(), false);
  if (!fits) return;
  (*ins)[0] = true;
  (*outs)[0] = true;
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops)
      if (op.kind == PostOp::Kind::kAdd && op.input >= 0 && static_cast<size_t>(op.input) < ins->size())
        (*ins)[static_cast<size_t>(op.input)] = true;
}

// How a kernel may store its float32 registers as the output stage would:
// when `direct`, min(max(v, lo), hi) if `clamp`, then one rounding to
// float16 (HalfOutputStage::ClampsThenRound). Only for no clamp or one (the
// fused ReLU / ReLU6 / Clip); a chain of clamps goes through the stage, as
// do unary chains (hard_swish, * scale, + bias: applied in the tiles' stores
// they ran no faster than the stage's in-register pass over the float32
// strip, PP-OCR det force_float16 19.0 -> 19.5 ms, AMD Zen 4) and residual
// adds.
struct HalfDirectStore {
  bool direct = false;
  bool clamp = false;
  float lo = 0.0f, hi = 0.0f;
};
inline HalfDirectStore DirectStoreOf(const HalfOutputStage& stage) {
  HalfDirectStore d;
  std::vector<std::pair<float, float>> clamps;
  if (!stage.ClampsThenRound(&clamps) || clamps.size() > 1) return d;
  d.direct = true;
  if (clamps.empty()) return d;
  d.clamp = true;
  d.lo = clamps[0].first;
  d.hi = clamps[0].second;
  return d;
}

// Weights (with the bias after them) packed by `fill` into `floats` zeroed
// floats once per engine (PackOnce).
inline Status PackFloatsOnce(const KernelInit& init, const std::string& key, size_t floats,
                             const std::function<void(float*)>& fill, std::shared_ptr<const std::vector<float>>* packed,
                             int64_t* private_bytes) {
  return PackOnce<float>(init, key, floats, fill, packed, private_bytes);
}

}  // namespace mixq::ops
