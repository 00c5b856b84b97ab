// Checks of what the precision planner leaves on a graph (compute precisions
// and quantization bindings), which the runtime trusts when it prepares
// kernels. Shared by the writer (refuse to write what would not read back)
// and the reader (after ir::VerifyGraph, so value shapes are known).
#pragma once

#include "ir/graph.h"
#include "mixq/types.h"

namespace mixq::format {

// INVALID_ARGUMENT naming the metadata field, e.g. "nodes[2].input_quant[1].scales".
Status CheckPlannedPrecisions(const ir::Graph& graph);

}  // namespace mixq::format
