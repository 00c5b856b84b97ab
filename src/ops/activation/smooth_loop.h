// The float32 Activation kernel's loops for the smooth functions (sigmoid,
// tanh, silu, gelu_erf, gelu_tanh; kernels/vector_math.h, 8 lanes with a
// zero-padded tail), shared with the float16 output stage that fuses them
// (ops/half_output_stage.h): one compiled loop, so a fused step gives the
// separate step's bits.
#pragma once

#include <cstdint>
#include <string>

namespace mixq::ops {

// y[0..n) = f(x[0..n)); y may be x. Needs AVX2 + FMA.
using SmoothLoopFn = void (*)(const float* x, float* y, int64_t n);
// The loop for an Activation "type", or null for another type.
SmoothLoopFn SmoothLoopFor(const std::string& type);

}  // namespace mixq::ops
