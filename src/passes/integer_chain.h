// Integer chains (SPEC §1.5): part of precision planning. In a network-level
// qint8 mode with static activation ranges, an operator that today would turn
// an int8 chain back into floats (sigmoid, hard_swish, ... ; arithmetic with a
// scalar constant) consumes its data input as QINT8 when every consumer of its
// output consumes that output as static QINT8 too (or is such an operator
// itself, so chains of them qualify). The Q/DQ placement then lets its
// producer write int8 and the node write int8 itself (qdq_placement.h), and
// the node runs on its integers (ops/int8_chain.h): no float tensor between.
//
// Off unless the build config says `int8_table_chains: on`: every table step
// quantizes its output, an error the float path does not have (measured on
// PP-OCRv4 rec, docs/precision.md). Not applied: under dynamic quantization, in qint16 modes (int16 tensors stay
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

}  // namespace mixq::passes
