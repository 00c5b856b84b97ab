// Optimized CPU kernels of Conv2D (DESIGN.md: oneDNN for conv on the CPU),
// tested against the reference in cpu_test.cc.
#pragma once

#include "ops/op_schema.h"

namespace mixq::ops {

// float32 Conv2D on oneDNN: every layout, group, dilation, stride and padding
// the reference takes. Filters that are constants are reordered once, here.
Status MakeConv2DOneDnn(const KernelInit& init, std::unique_ptr<Kernel>* kernel);

}  // namespace mixq::ops
