// What calibration leaves on a network (SPEC §3, first stage) and how the
// build turns it into ranges (second stage). The state is keyed by tensor
// name and tied to the network it was gathered on by a hash of its structure
// and weights, so statistics from another network are never applied silently.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ir/graph.h"
#include "passes/build_options.h"
#include "passes/precision_planner.h"
#include "passes/ptq_transforms.h"
#include "quant/observer.h"
#include "quant/range_algorithms.h"

namespace mixq::quant {

struct CalibrationState {
  uint64_t network_hash = 0;
  // Statistics per tensor name (from Calibrate or a calibration file).
  std::map<std::string, TensorObserver> observers;
  // Ranges read from a range table: used as given, no statistics behind them.
  std::map<std::string, Range> table_ranges;
  RangeAlgorithm algorithm = RangeAlgorithm::kLinear;
  double percentile = 99.99;
  // With algorithm kAuto: the single algorithm the output-aware search
  // (calibration/auto_search.h) chose per tensor; a tensor not listed gets
  // the histogram proxy's choice. Calibration files do not record it.
  std::map<std::string, RangeAlgorithm> auto_choice;
  // The post-training transforms the statistics were gathered under (they
  // change activations, so the build must use the same), and the
  // per-channel statistics bias correction and SmoothQuant need. Only
  // Calibrate fills these; calibration files and range tables do not carry them.
  bool cross_layer_equalization = false;
  std::string cle_relu6 = "skip";
  double smooth_quant_alpha = -1.0;
  passes::ChannelStatistics channels;
};

// CRC-64 over what determines the values every tensor takes for given inputs:
// input names, types and dims, every node's op, name, attributes, connections
// and constant bytes. Precision choices, ranges and the list of outputs are
// left out: they do not change any tensor's values.
uint64_t NetworkHash(const ir::Graph& graph);

// The activations (non-constant tensors) the plan for `options` quantizes
// with a static range, each with its bit width (the larger one when two
// consumers quantize it differently). Planning runs on a verified copy with
// dead nodes removed, exactly as the build does, minus the missing-range check.
// `channels`: with options.smooth_quant_alpha, the per-channel maxima that
// decide which activations are smoothed (their "<X>_smoothed" tensors are
// then quantized too).
Status PlanStaticActivations(const ir::Graph& graph, const passes::BuildOptions& options,
                             std::map<std::string, int>* bits, const passes::ChannelStatistics* channels = nullptr);

// The ranges the build uses: for every activation the plan quantizes
// statically and `state` covers, the table range or the range the state's
// algorithm derives at that tensor's bit width and the config's symmetry.
// Tensors with a forced hand-set range or a custom_ranges entry are skipped
// (those win anyway). Null state: no ranges. FAILED_PRECONDITION when the
// network changed since the statistics were gathered, or when `options` ask
// for cross-layer equalization or SmoothQuant other than the statistics were
// gathered under.
Status CalibratedRangesFor(const ir::Graph& graph, const passes::BuildOptions& options, const CalibrationState* state,
                           passes::CalibratedRanges* ranges);

// Range of one tensor from the state (table range, or the algorithm's: for
// kAuto the tensor's auto_choice when it has one).
Status RangeFromState(const CalibrationState& state, const std::string& tensor, int bits, bool symmetric, Range* out);

}  // namespace mixq::quant
