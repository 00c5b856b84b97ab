// Elementwise add / sub / mul / div of a tensor and a scalar constant on int8
// storage inside an integer chain (ops/int8_chain.h): one lookup table over
// the 256 codes, as for activations. (PP-OCR's learnable affine blocks:
// hard_swish, then * a, then + b, between two convolutions.)
#pragma once

#include "ops/int8_chain.h"

namespace mixq::ops {

// True for the non-constant input of an add / sub / mul / div whose other
// input is a one-element FLOAT32 constant of no higher rank, and for both
// inputs of an add of two FLOAT32 tensors (OpSchema::QuantTraits::chain_input).
bool ElementwiseChainInput(const ir::Graph& graph, const ir::Node& node, size_t input);

// x op c (or c op x) with the float kernel's float32 arithmetic.
Status ElementwiseLutOp(const KernelInit& init, LutOp* op);

// An add of two tensors (neither a constant) inside an integer chain, a
// rescaling step of ops/int8_chain.h: both inputs consumed in QINT8 with
// their own parameters, y = Dequantize(a) + Dequantize(b) in float32, the
// output quantized with its own (or FLOAT32). True for such a step of
// static shapes (broadcasting allowed).
bool Int8AddStep(const KernelInit& init);

}  // namespace mixq::ops
