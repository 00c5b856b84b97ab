// Optimized CPU kernel of MatMul (oneDNN matmul), tested in cpu_test.cc.
#pragma once

#include "ops/op_schema.h"

namespace mixq::ops {

// float32 MatMul on oneDNN: transposes, 1-D operands and broadcast batch
// dims described by strides; nothing is copied.
Status MakeMatMulOneDnn(const KernelInit& init, std::unique_ptr<Kernel>* kernel);

}  // namespace mixq::ops
