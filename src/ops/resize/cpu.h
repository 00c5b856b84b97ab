// Resize: the taps every kernel computes from, and the optimized CPU kernel
// (see cpu.cc), tested against the reference in cpu_test.cc.
#pragma once

#include "ops/op_schema.h"

namespace mixq::ops {

// One axis: the two input taps of every output index and the weight of the
// second (0 when one tap suffices, as for nearest and unscaled axes).
struct AxisTaps {
  std::vector<int64_t> first, second;
  std::vector<double> weight;
};

struct ResizeParams {
  ir::Shape out;
  std::vector<int64_t> in_strides;
  std::vector<AxisTaps> axes;
};

// Plans the output shape and every axis's taps (errors name the attribute).
Status BuildResizeParams(const KernelInit& init, ResizeParams* params);

Status MakeResizeFast(const KernelInit& init, std::unique_ptr<Kernel>* kernel);

}  // namespace mixq::ops
