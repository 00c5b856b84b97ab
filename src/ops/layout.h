// Maps the logical axes of 4-D activations (N, C, H, W) and filters
// (O, I, KH, KW) onto the physical axes of each supported layout.
#pragma once

#include <array>
#include <string>

#include "ir/shape.h"
#include "mixq/types.h"

namespace mixq::ops {

// Positions of the logical axes in the physical order, e.g. NHWC -> N:0 C:3 H:1 W:2.
struct AxisMap {
  std::array<int, 4> pos;  // activations: N, C, H, W; filters: O, I, KH, KW
};

// Activation layouts: "NCHW", "NHWC". Filter layouts: "OIHW", "OHWI", "HWCN",
// and "IOHW" / "IHWO" for transposed-convolution filters. False if unknown.
bool ActivationAxes(const std::string& layout, AxisMap* map);
bool FilterAxes(const std::string& layout, AxisMap* map);

// Logical dims (N, C, H, W) or (O, I, KH, KW) of a physical shape.
inline std::array<int64_t, 4> Logical(const ir::Shape& shape, const AxisMap& map) {
  return {shape[map.pos[0]], shape[map.pos[1]], shape[map.pos[2]], shape[map.pos[3]]};
}
// Physical shape from logical dims.
inline ir::Shape Physical(const std::array<int64_t, 4>& logical, const AxisMap& map) {
  ir::Shape shape(4);
  for (int i = 0; i < 4; ++i) shape[map.pos[i]] = logical[i];
  return shape;
}
// Element strides of the logical axes.
inline std::array<int64_t, 4> LogicalStrides(const ir::Shape& shape, const AxisMap& map) {
  auto strides = ir::Strides(shape);
  return {strides[map.pos[0]], strides[map.pos[1]], strides[map.pos[2]], strides[map.pos[3]]};
}

}  // namespace mixq::ops
