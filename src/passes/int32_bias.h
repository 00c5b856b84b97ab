// Bias quantized to int32 (SPEC §2, issue "conv bias may stay float or be
// int32"): the bias is added to the integer accumulator before scaling, so it
// must be expressed in the accumulator's scale s_x * s_w[c].
#pragma once

#include <string>

#include "ir/graph.h"
#include "ops/op_schema.h"

namespace mixq::passes {

// Binds the bias input `input` of `node` as INT32 with scales s_x * s_w[c],
// one per bias element. Needs static QINT bindings on the data input (0) and
// the weight input, and a constant 1-D float bias with one value per output
// channel. `where` names the input in errors.
Status BindInt32Bias(const ir::Graph& graph, const ir::Node& node, size_t input, const ops::OpSchema& schema,
                     const std::string& where, ir::QuantBinding* binding);

// Why an INT32 bias cannot be bound (empty when it can): the same checks as
// BindInt32Bias, for the network-level option which falls back to float.
std::string Int32BiasObstacle(const ir::Graph& graph, const ir::Node& node, size_t input, const ops::OpSchema& schema);

// q[c] = round_half_even(beta * bias[c] / (alpha * scale[c])), saturated to int32
// (alpha, beta: Gemm's factors, 1 for convolutions).
void QuantizeInt32Bias(const float* bias, const ir::QuantBinding& binding, float alpha, float beta, int64_t count,
                       int32_t* out);

}  // namespace mixq::passes
