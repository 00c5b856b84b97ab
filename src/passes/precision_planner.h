// Precision planning (SPEC §2): resolves, for every node, the precision each
// input is consumed in and the type each output is produced in, from the
// network-level mode, the operator-level overrides (which win) and what the
// operator can do; binds quantization parameters to every QINT8 / QINT16
// input; and records the precision report.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "ir/graph.h"
#include "passes/build_options.h"
#include "passes/precision_report.h"

namespace mixq::passes {

// Ranges measured by calibration, by tensor name (may be empty).
using CalibratedRanges = std::map<std::string, Range>;

// Fills Node::input_compute / output_compute / input_quant. A requested
// precision an operator cannot honour is INVALID_ARGUMENT naming node and
// input; QINT inputs without a range are FAILED_PRECONDITION listing every
// such tensor, found before any other work. require_activation_ranges ==
// false skips that check (the calibrator plans before any range exists, to
// learn which activations will be quantized).
Status PlanPrecision(ir::Graph* graph, const BuildOptions& options, const CalibratedRanges& calibrated,
                     PrecisionReport* report, bool require_activation_ranges = true);

// The range of an activation: hand-set forced > custom_ranges > calibrated >
// hand-set unforced; none when it has none of these.
std::optional<Range> ActivationRange(const ir::Value& v, const BuildOptions& options,
                                     const CalibratedRanges& calibrated);

// Replaces every float constant consumed as QINT8 / QINT16 by an INT8 /
// INT16 constant quantized with the input's binding (weights are stored
// quantized in the model file).
Status QuantizeWeights(ir::Graph* graph);

}  // namespace mixq::passes
