// What the BatchNorm kernels share: the input seen as (outer, channels,
// inner) rows along the `axis` attribute, static shapes, statistics one per
// channel and epsilon >= 0. False when the step is not such a BatchNorm.
#pragma once

#include "ops/kernel_registry.h"

namespace mixq::ops {

inline bool BatchNormRows(const KernelInit& init, int64_t* outer, int64_t* channels, int64_t* inner) {
  if (init.inputs.size() != 5 || init.outputs.size() != 1) return false;
  for (const ValueInfo* v : init.inputs)
    if (!v || !ir::IsStatic(v->shape)) return false;
  const ir::Shape& shape = init.inputs[0]->shape;
  int64_t axis = 0;
  if (!ir::NormalizeAxis(init.attrs.Int("axis"), static_cast<int64_t>(shape.size()), &axis)) return false;
  *channels = shape[static_cast<size_t>(axis)];
  *outer = *inner = 1;
  for (int64_t i = 0; i < axis; ++i) *outer *= shape[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < shape.size(); ++i) *inner *= shape[i];
  for (size_t i = 1; i < 5; ++i)
    if (init.inputs[i]->shape != ir::Shape{*channels}) return false;
  return init.attrs.Float("epsilon") >= 0.0f;
}

}  // namespace mixq::ops
