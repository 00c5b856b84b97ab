// The AVX2 pooling kernels' input layout: one NCHW plane, padded, split by
// the horizontal stride's phase so that every window tap of a row of
// outputs is one contiguous, unit-stride load (MaxPool2D, AvgPool2D).
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/half_io.h"
#include "ops/pool_params.h"

namespace mixq::ops {

// plane[(q * rows + r) * phase_w + j] holds padded input row r, padded column
// q + j * stride_w; positions outside the input hold `fill`. S is T, or
// uint16_t (float16 storage, or bfloat16 with `bfloat16`; T float): each
// input line is widened into `line` first.
template <typename T, typename S>
void SplitByStridePhase(const S* x, const PoolGeometry& g, int64_t rows, int64_t phase_w, T fill, std::vector<T>* plane,
                        std::vector<float>* line, bool bfloat16) {
  const int64_t sw = g.stride_w;
  plane->assign(static_cast<size_t>(sw * rows * phase_w), fill);
  for (int64_t ih = 0; ih < g.in_h; ++ih) {
    const T* row;
    if constexpr (std::is_same_v<S, T>) {
      row = x + ih * g.in_w;
    } else {
      line->resize(static_cast<size_t>(g.in_w));
      kernels::Narrow16ToFloatRow(bfloat16, x + ih * g.in_w, line->data(), g.in_w);
      row = line->data();
    }
    const int64_t r = ih + g.pad_top;
    for (int64_t q = 0; q < sw; ++q) {
      const int64_t first = ((q - g.pad_left) % sw + sw) % sw;
      T* dst = plane->data() + (q * rows + r) * phase_w + (first + g.pad_left) / sw;
      const int64_t n = std::min((g.in_w - first + sw - 1) / sw, phase_w - (first + g.pad_left) / sw);
      for (int64_t t = 0; t < n; ++t) dst[t] = row[first + t * sw];
    }
  }
}

}  // namespace mixq::ops
