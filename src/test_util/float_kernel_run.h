// Runs one kernel of a one-input, one-output operator on FLOAT32 data of
// `shape` (output of the same shape), for the optimized-vs-reference tests of
// the float kernels. Expectation failures are reported through GoogleTest.
#pragma once

#include <vector>

#include "ops/kernel_registry.h"

namespace mixq::test_util {

std::vector<float> RunFloatKernel(const ops::KernelDef& def, const ir::AttrMap& attrs, const ir::Shape& shape,
                                  const std::vector<float>& x);

}  // namespace mixq::test_util
