// Optimized CPU kernel of Elementwise (see cpu.cc), tested in cpu_test.cc.
#pragma once

#include "ops/op_schema.h"

namespace mixq::ops {

Status MakeElementwiseFast(const KernelInit& init, std::unique_ptr<Kernel>* kernel);

}  // namespace mixq::ops
