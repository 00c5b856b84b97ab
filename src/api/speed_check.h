// precision_config.speed_check "on" ("will it be faster?"): a quantized
// kernel is not faster everywhere. On a CPU without VNNI a tiny layer, a
// depthwise convolution or an int8 convolution that must compute a float
// chain (hard_swish, scale, shift) element by element before requantizing can
// take longer than the float kernel it replaces. The build then times the
// quantized plan against the float plan on the CPU at hand, keeps in float
// every quantized operator whose step measured slower (unless the user pinned
// its precision), re-times the result and keeps it only if the whole plan got
// faster. The report names each such operator with both times.
//
// Timing: one thread, pseudo-random inputs, the plans run in turn, each
// step's fastest run counted (ContextImpl::StepMinNanos). Builds with the
// check on are therefore not reproducible across machines or loads: the
// report says what was measured, and the decisions can be frozen by copying
// them into precision_config.node_precision.
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

namespace mixq::api {

// One quantized operator, timed in both plans.
struct OperatorTiming {
  std::string node;
  std::string quantized_kernel, float_kernel;
  // The quantized step (with what it fused) plus the Quantize steps that only
  // feed it; the float steps that run the same graph nodes, plus quantizing
  // its output where the quantized step writes integers (its readers would
  // need a Quantize step once it writes float).
  double quantized_ms = 0, float_ms = 0;
  bool pinned = false;  // the user set its precision: never moved
};

// Measured at least kSpeedCheckMinGainMs slower and kSpeedCheckMargin (relative) slower: timing
// noise on a shared machine alone must not move an operator.
constexpr double kSpeedCheckMargin = 0.20;
constexpr double kSpeedCheckMinGainMs = 0.005;

// The operators to keep in float, each with the reason the report gives.
// `float_type`: what they run in instead ("FLOAT32" / "FLOAT16").
std::map<std::string, std::string> SlowerQuantizedOperators(const std::vector<OperatorTiming>& timings,
                                                            const std::string& float_type);

struct SpeedCheckBuild {
  std::string name;
  const ir::Graph* network = nullptr;
  passes::BuildOptions options;  // the user's, precision_mode quantized
  passes::CalibratedRanges calibrated;
  std::string config_json;
  const passes::ChannelStatistics* channels = nullptr;
};

// Runs the check on `*model` (the build of `in` as configured) and replaces
// it by the rebuilt model when that measured faster. FAILED_PRECONDITION when
// an input has dynamic dims (nothing to time).
Status RunSpeedCheck(const SpeedCheckBuild& in, std::shared_ptr<format::ModelData>* model);

}  // namespace mixq::api
