// LayerNorm's rows: what its fast kernels (cpu_avx2.cc, cpu_avx512.cc)
// normalize over.
#pragma once

#include <cstdint>

#include "ops/kernel_registry.h"

namespace mixq::ops {

// The normalized block's element count (*n: the dims from `axis` on), with
// *rows the count before it; false for a bad axis or an empty block.
inline bool LayerNormBlock(const KernelInit& init, int64_t* rows, int64_t* n) {
  const ir::Shape& shape = init.inputs[0]->shape;
  int64_t axis = 0;
  if (!ir::NormalizeAxis(init.attrs.Int("axis", -1), static_cast<int64_t>(shape.size()), &axis)) return false;
  *rows = 1;
  *n = 1;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) (i < axis ? *rows : *n) *= shape[i];
  return *n > 0;
}

}  // namespace mixq::ops
