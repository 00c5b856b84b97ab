// The build's clipping warning (issue 13): a range that cuts off a large
// share of what calibration observed is how entropy calibration silently
// ruins residual adds (amax 7.35 -> 0.87), so the build says so by name.
#pragma once

#include <string>
#include <vector>

#include "calibration/calib_state.h"
#include "ir/graph.h"
#include "passes/build_options.h"
#include "passes/precision_planner.h"

namespace mixq::quant {

// One sentence per statically quantized activation with calibration
// statistics whose range, as the build resolves it (custom_ranges, then a
// forced hand-set range, then `calibrated`), clips more than
// options.clip_warning_percent of the observed values or removes more than
// options.clip_warning_energy_percent of their energy. Null state: none.
Status ClippingWarnings(const ir::Graph& graph, const passes::BuildOptions& options, const CalibrationState* state,
                        const passes::CalibratedRanges& calibrated, std::vector<std::string>* warnings);

}  // namespace mixq::quant
