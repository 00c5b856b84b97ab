#include "ops/layout.h"

namespace mixq::ops {

namespace {
// Position of each of `axes` (4 letters) in `layout` (4 letters).
bool MapLetters(const std::string& layout, const char* axes, AxisMap* map) {
  if (layout.size() != 4) return false;
  for (int i = 0; i < 4; ++i) {
    auto p = layout.find(axes[i]);
    if (p == std::string::npos) return false;
    map->pos[i] = static_cast<int>(p);
  }
  return true;
}
}  // namespace

bool ActivationAxes(const std::string& layout, AxisMap* map) {
  if (layout != "NCHW" && layout != "NHWC") return false;
  return MapLetters(layout, "NCHW", map);
}

bool FilterAxes(const std::string& layout, AxisMap* map) {
  // HWCN names the input-channel axis C and the output-channel axis N.
  if (layout == "HWCN") return MapLetters("HWIO", "OIHW", map);
  if (layout != "OIHW" && layout != "OHWI" && layout != "IOHW" && layout != "IHWO") return false;
  return MapLetters(layout, "OIHW", map);
}

}  // namespace mixq::ops
