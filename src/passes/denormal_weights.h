// Denormal float32 weights set to zero before planning
// (precision_config.denormal_weights: "flush", the default; "keep").
//
// Why: a multiply-add whose weight is denormal (nonzero, below 2^-126 in
// magnitude) gives a denormal product, which Intel cores finish in a
// microcode assist of about a hundred cycles. Trained networks carry such
// weights where training pushed a filter towards zero: PP-OCRv4 rec's
// squeeze-and-excitation layers hold 31,350 (22-31 % of their weights), and
// its 480 -> 120 layer took 0.14 ms in float32 against 0.019 with them zero
// (57,600 multiply-adds; Intel Xeon, one thread). OpenVINO flushes them too.
//
// What it changes: each such product is below 2^-126 * |x|, so for inputs
// below 2^100 in magnitude it moves a sum by less than 2^-26 per product,
// under float32's rounding of a sum above 4 and invisible next to ONNX
// Runtime's 1e-4 parity; only sums of such products themselves change.
#pragma once

#include "ir/graph.h"

namespace mixq::passes {

// Zeroes (keeping the sign) the denormal values of FLOAT32 constants whose
// every reader takes them as the weights of a multiply-add: Conv2D,
// ConvTranspose2D and FullyConnected input 1, MatMul input 0 or 1. Returns
// how many values changed; *tensors counts the constants. The graph's
// constant buffers are replaced, never written (another graph may share
// them).
int FlushDenormalWeights(ir::Graph* graph, int* tensors);

}  // namespace mixq::passes
