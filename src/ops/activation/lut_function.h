// Activation on int8 storage inside an integer chain (ops/int8_chain.h): the
// non-piecewise-linear types (sigmoid, tanh, hard_sigmoid, hard_swish, silu,
// gelu_erf, gelu_tanh) and leaky_relu, as a lookup table over the 256 codes.
// relu / relu6 / clip need none: they run on the integers as clamps.
#pragma once

#include "ops/int8_chain.h"

namespace mixq::ops {

// True for input 0 of an Activation of a type above (OpSchema::QuantTraits::chain_input).
bool ActivationChainInput(const ir::Graph& graph, const ir::Node& node, size_t input);

// The float reference function of the node's type, as the float kernel computes it.
Status ActivationLutOp(const KernelInit& init, LutOp* op);

}  // namespace mixq::ops
