// The first stage of calibration (SPEC §3): run the float network over every
// sample and gather streaming statistics on the activations the plan will
// quantize.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "calibration/calib_state.h"
#include "ir/graph.h"
#include "mixq/calibrator.h"
#include "passes/build_options.h"

namespace mixq::quant {

// One input of one sample, as the data interface gave it.
struct KeptInput {
  Dims dims;
  DataType type = DataType::FLOAT32;
  std::vector<uint8_t> bytes;
};
// Samples calibration copied, by sample then input (CalibrationRun::kept).
using KeptSamples = std::vector<std::vector<KeptInput>>;

struct CalibrationRun {
  std::vector<CalibDataInterface*> data;  // one per network input, in input order
  int32_t num_bins = TensorObserver::kDefaultNumBins;
  std::function<void(int64_t done, int64_t total)> progress;  // may be empty
  // For tests: hand each observed tensor over as an extra network output
  // after the run (the path before the step observer) instead of observing
  // it in place. Both see the same values, bit for bit.
  bool observe_as_outputs = false;
  // When set: copies of the first `keep_samples` samples (the output-aware
  // `auto` search re-runs them; calibration/auto_search.h).
  int64_t keep_samples = 0;
  KeptSamples* kept = nullptr;
};

// Fills state->observers (and network_hash) for the network `graph`, whose
// plan under `options` decides which tensors are observed. The run uses a
// float32 build of the network (built with every observed node output marked
// as a graph output, so the build passes keep each one; those marks are then
// dropped) whose context observes each tensor in the arena right after the
// step that writes it (ContextImpl::SetStepObserver): the plan is the plain
// float32 plan except that no fusion swallows an observed tensor, and nothing
// is copied out. Observed network inputs are read from the samples
// themselves. Memory: one histogram per observed tensor plus one sample's
// activations.
//
// Errors name the input and sample index: a sample whose rank, fixed dims or
// data type does not match its input, a null GetSample(), a Next() or Reset()
// failure other than OUT_OF_RANGE at the end, inputs that run out at
// different samples, or no samples at all.
Status RunCalibration(const ir::Graph& graph, const passes::BuildOptions& options, const CalibrationRun& run,
                      CalibrationState* state);

// `graph` with every precision choice (node precisions, output types,
// boundary precisions) and every range removed: the float32 network.
ir::Graph GraphWithoutPrecisionChoices(const ir::Graph& graph);

}  // namespace mixq::quant
