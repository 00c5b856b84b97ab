// Optimized CPU kernel of ConvTranspose2D (oneDNN deconvolution), tested
// against the reference in cpu_test.cc.
#pragma once

#include "ops/op_schema.h"

namespace mixq::ops {

// float32 ConvTranspose2D on oneDNN for every layout, group, dilation,
// stride, padding and output padding the reference takes.
Status MakeConvTranspose2DOneDnn(const KernelInit& init, std::unique_ptr<Kernel>* kernel);

}  // namespace mixq::ops
