// The builds the analysis compares: the float32 reference and the quantized
// build with every tensor marked as a network output (so one run yields every
// intermediate tensor, without a debug hook inside the runtime), and one
// "isolated" build per analysed operator.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "format/model_file.h"
#include "ir/graph.h"
#include "passes/build_options.h"
#include "passes/precision_planner.h"
#include "passes/ptq_transforms.h"

namespace mixq::analysis {

// What every build of one analysis shares.
struct BuildInputs {
  const ir::Graph* network = nullptr;                   // the user's network, untouched
  passes::BuildOptions options;                         // the quantized config
  passes::CalibratedRanges calibrated;                  // ranges for the quantized config
  const passes::ChannelStatistics* channels = nullptr;  // calibration's, for the PTQ transforms
  std::string config_json;
};

// An operator of the quantized plan that runs in something else than float32.
struct AnalysedNode {
  std::string name;
  std::string op_type;
  std::string precision;  // "in QINT8, QINT8, FLOAT32; out FLOAT32"
  std::vector<std::string> outputs;
  std::map<size_t, DataType> input_precision;  // what the isolated build sets
  std::map<size_t, DataType> output_type;
};

// The quantized build as the user would make it; from it, the tensors to
// report (real-valued node outputs, in execution order) and the analysed nodes.
Status PlanAnalysis(const BuildInputs& in, std::vector<std::string>* tensors, std::vector<AnalysedNode>* nodes,
                    std::string* precision_mode);

// The network in float32 everywhere (per-node overrides and quantized input
// declarations cleared) with `extra_outputs` marked as outputs too.
Status BuildFloat(const BuildInputs& in, const std::vector<std::string>& extra_outputs,
                  std::shared_ptr<const format::ModelData>* model);
// The network as configured, with `extra_outputs` marked as outputs too.
Status BuildQuantized(const BuildInputs& in, const std::vector<std::string>& extra_outputs,
                      std::shared_ptr<const format::ModelData>* model);
// Float32 everywhere but `node`, which gets the plan's precisions; its
// outputs are marked as outputs too.
Status BuildIsolated(const BuildInputs& in, const AnalysedNode& node, std::shared_ptr<const format::ModelData>* model);

}  // namespace mixq::analysis
