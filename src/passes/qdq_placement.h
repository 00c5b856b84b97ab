// Q/DQ placement (SPEC §1.5): decides how every value is stored at run time
// and makes every change of representation an explicit Convert node.
//
// Runs on a built graph whose precisions are planned (PlanPrecision) and
// weights quantized (QuantizeWeights), when an engine is created:
//  1. storage: FLOAT32 / FLOAT16 / BFLOAT16 as each producer's output is
//     planned; constants and non-real values as they are.
//  2. an input consumed in QINT8 / QINT16 reads a Convert (quantize) of its
//     value with the consumer's parameters; consumers with equal static
//     parameters share one, so a tensor is quantized once. An input consumed
//     in FLOAT16 / BFLOAT16 from a wider value reads one shared Convert (cast).
//  3. a static quantize is moved above operators that only move or compare
//     values (max-pool, relu / relu6 / clip, reshape, flatten, squeeze,
//     unsqueeze, permute, slice, pad, split, concat, gather,
//     nearest resize) when it is the only consumer of their output (of each
//     output, all with equal parameters, for split): they then run on the integers,
//     which is exact because those operators commute with quantization.
//  4. a static quantize that is the only consumer of a quantized operator's
//     output (Conv2D, ConvTranspose2D, MatMul, FullyConnected) is folded into
//     it: the operator requantizes its accumulator straight into the integers
//     (quant/requantize.h) and no float copy exists. The same for an int8
//     integer-chain node (passes/integer_chain.h): it writes int8 itself.
// The result is the graph the execution plan lowers, with or without
// force_reference: steps 3 and 4 are part of what the model computes.
#pragma once

#include "ir/graph.h"

namespace mixq::passes {

struct PlacementSummary {
  int quantize = 0, cast = 0;       // Convert nodes left in the graph
  int moved_through = 0;            // operators that now run on integers
  int folded_into_producer = 0;     // quantized producers writing integers
};

Status PlaceQuantization(ir::Graph* graph, PlacementSummary* summary = nullptr);

// True when a node of this op (with these attributes) can run on quantized
// integers with the same result as quantizing its float output.
bool RunsOnIntegers(const ir::Node& node, const ir::Graph& graph);

}  // namespace mixq::passes
