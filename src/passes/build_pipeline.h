// From a user's network to a deployable model: every build pass in order.
#pragma once

#include "format/model_file.h"
#include "passes/build_options.h"

namespace mixq::passes {

// Copies `network`, checks that every requested precision can be honoured,
// verifies it, removes nodes no output depends on, and records the precision
// report. The network itself is left untouched.
Status BuildModelData(const std::string& name, const ir::Graph& network, const BuildOptions& options,
                      const std::string& config_json, format::ModelData* model);

// Removes nodes whose outputs reach no network output (ids are renumbered).
void EliminateDeadNodes(ir::Graph* graph);

}  // namespace mixq::passes
