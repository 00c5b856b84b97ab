// Integer chains (SPEC §1.5): part of precision planning. In a network-level
// qint8 mode with static activation ranges, an operator that today would turn
// an int8 chain back into floats consumes its data inputs as QINT8 when every
// consumer of its output consumes that output as static QINT8 too (directly,
// through operators that run on the integers such as Reshape or Concat, or
// as such an operator itself, so chains of them qualify). The Q/DQ placement
// then lets its producers write int8 and the node write int8 itself
// (qdq_placement.h), and the node runs on its integers (ops/int8_chain.h): no
// float tensor between. Two kinds, each behind its own build option:
//
// - table steps (`int8_table_chains: on`): sigmoid, hard_swish, ...;
//   arithmetic with a scalar constant. Every table step quantizes its output,
//   an error the float path does not have (measured on PP-OCRv4 rec,
//   docs/precision.md).
// - rescaling steps (`int8_rescale_chains: on`): an add of two tensors,
//   AvgPool2D, GlobalAvgPool; each input keeps its own parameters and the
//   output gets its own. Their inputs (a residual branch, the tensor pooled)
//   are quantized where the float path kept them float (docs/precision.md).
//
// Not applied: under dynamic quantization, in qint16 modes (int16 tensors stay
// on float), to nodes with node-level precision overrides, to tensors carrying
// QAT parameters (the QAT model quantizes only what it says), to a network
// output, or where the input has no range at build time (it keeps today's
// float path then). The calibrator plans with ranges not required, so it
// observes every tensor a chain may need.
#pragma once

#include "passes/precision_planner.h"

namespace mixq::passes {

// Which ops take part: OpSchema::QuantTraits::chain_input. Updates the
// node's input_compute / input_quant and its row of `report`.
Status PlanIntegerChains(ir::Graph* graph, const BuildOptions& options, const CalibratedRanges& calibrated,
                         bool require_ranges, PrecisionReport* report);

// The same rescaling steps in an imported QDQ model, with the parameters of
// its FakeQuantize nodes, which it then folds into the quantization of their
// inputs where every reader quantizes with them (qdq_integer_chain.cc).
// Behind `int8_rescale_chains`, in any precision mode.
Status PlanQdqIntegerChains(ir::Graph* graph, const BuildOptions& options, PrecisionReport* report);

// An add of two tensors, AvgPool2D or GlobalAvgPool: a chain step that
// rescales int8 inputs with their own parameters (ops/int8_chain.h).
bool IsRescaleStep(const ir::Graph& g, const ir::Node& node);

}  // namespace mixq::passes
