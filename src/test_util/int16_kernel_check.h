// Runs one integer kernel of an operator with symmetric int16 operands (the
// qint16 modes) and returns its output bytes, for the bit-exact checks of the
// "avx2-int16" kernels against reference-quantized: operands full-range with
// both extremes (-32768, 32767), weights per output channel, INT16 / FLOAT32
// / FLOAT16 outputs, a float bias and optional post-ops.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/kernel_registry.h"

namespace mixq::test_util {

struct Int16KernelCase {
  ir::AttrMap attrs;
  ir::Shape a, b, y;           // input 0, input 1 (weights when b_constant), output
  int64_t b_channel_axis = 0;  // per-channel weight scales along this axis of b (-1: per tensor)
  bool b_constant = true;
  int64_t bias_size = 0;    // > 0: a FLOAT32 bias input of that many values
  bool int32_bias = false;  // the bias an INT32 constant in accumulator units instead (a QDQ model's)
  DataType output = DataType::INT16;
  std::vector<ops::PostOp> post_ops;
  // Nonzero: every code of a and b is this one (sums at the bounds an
  // exact kernel's int32 chunks are sized for), in place of random codes.
  int16_t every_code = 0;
  // Nonzero: codes uniform in [-code_limit, code_limit] (sums small enough
  // for the kernels' int32 shortcuts), in place of full-range ones.
  int16_t code_limit = 0;
};

// Empty when `def` does not take the case; `name` gets the kernel's name.
std::vector<uint8_t> RunInt16Kernel(const ops::KernelDef& def, const Int16KernelCase& c, uint32_t seed,
                                    std::string* name);

}  // namespace mixq::test_util
