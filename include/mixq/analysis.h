// Layer-wise accuracy analysis (issue 13): how far every tensor of a
// quantized build is from the float32 build of the same network, on sample
// data, and which operators cost the most accuracy at the network outputs.
//
//   accumulated: the quantized build as planned; a tensor's error includes
//                everything quantized upstream of it.
//   isolated:    one operator in the precision the plan gives it, every other
//                operator in float32; its inputs are exactly the float run's,
//                so its error is its own. The operators are ranked by the
//                network-output SQNR of their isolated build (worst first).
//
// How it is done (one float32 and one quantized build with every tensor
// marked as an output, plus one build per analysed operator) and what that
// costs: docs/accuracy.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mixq/builder.h"
#include "mixq/calibrator.h"
#include "mixq/network.h"
#include "mixq/types.h"

namespace mixq {

// Error of one tensor against its float32 reference, over every sample (the
// sums run over all elements of all samples, as if the samples were one
// vector). With r the reference and t the tested values, e = t - r:
//   sqnr_db     = 10 log10(sum r^2 / sum e^2)   (+inf when e is all zero)
//   cosine      = sum r t / sqrt(sum r^2 * sum t^2)  (1 when both are all zero)
//   max_abs     = max |e|
//   relative_l2 = sqrt(sum e^2 / sum r^2)
// Elements that are NaN or infinite on either side are left out of the sums
// and counted in nonfinite.
struct TensorError {
  std::string tensor;
  std::string node;     // the producer
  std::string op_type;  // "Conv2D", ...
  double sqnr_db = 0;
  double cosine = 1;
  double max_abs = 0;
  double relative_l2 = 0;
  int64_t elements = 0;
  int64_t nonfinite = 0;
};

// One analysed operator: what the plan runs it in, the error of its own
// outputs with only it quantized, and what that does to the network outputs.
struct OperatorImpact {
  std::string node;
  std::string op_type;
  std::string precision;              // e.g. "QINT8 in / FLOAT32 out"
  std::vector<TensorError> isolated;  // its outputs, only it quantized
  TensorError network_output;         // all network outputs together, only it quantized
  double worst_output_cosine = 1;     // the lowest cosine of any single network output
  int rank = 0;                       // 1: the most harmful
};

struct AccuracyAnalysis {
  int64_t samples = 0;
  std::string precision_mode;
  // Every tensor the quantized build computes (network inputs and constants
  // excepted), in execution order: the accumulated error.
  std::vector<TensorError> accumulated;
  // The network outputs of the quantized build (accumulated), one per output.
  std::vector<TensorError> outputs;
  // The analysed operators, most harmful first (lowest network-output SQNR
  // with only that operator quantized).
  std::vector<OperatorImpact> ranking;
  // {"format": "mixq-accuracy-analysis", "version": 1, ...}; an infinite
  // SQNR is written as null.
  std::string ToJson() const;
  // Tables for people: the ranking, then the accumulated errors.
  std::string ToString() const;
};

// The HTML report (docs/accuracy.md, "The report"): one self-contained page,
// DIR/index.html, with the error of every tensor (accumulated and isolated),
// the plan graph coloured by the precision each node runs in, the time per
// operator of a profiled run of the plan and, after TunePrecision, every
// candidate's latency against its accuracy.
struct ReportOptions {
  // "": no report. Otherwise the directory (created when missing) that gets
  // index.html; checked before the analysis starts, so a path that cannot be
  // written fails at once with a Status naming it.
  std::string dir;
  std::string title;     // the page's heading, e.g. the model file ("network" when empty)
  int profile_runs = 5;  // profiled runs of the plan on the first sample, after one warm-up run
};

struct AnalysisOptions {
  // Samples taken from the data (-1: all of them).
  int64_t max_samples = -1;
  // Build and run the isolated variant of every analysed operator (the
  // costly part: one build and one pass over the data per operator).
  bool isolated = true;
  // The float32 values the isolated builds are compared with are kept from
  // the first pass when they fit in this many bytes (all samples together);
  // otherwise the float32 build runs again beside every isolated build.
  int64_t reference_cache_bytes = int64_t{1} << 30;
  // Threads per inference (ContextOptions::num_threads).
  int num_threads = 0;
  // Called with (step done, steps in all, what) as the analysis goes.
  std::function<void(int64_t, int64_t, const std::string&)> progress;
  // The HTML report of the plan as configured (no tuning section).
  ReportOptions report;
};

// Analyses `network` (with ranges: calibrated, hand-set or from the config)
// built with `config` (its precision mode and per-node overrides) against its
// float32 build, on the samples of `data` (one interface per network input,
// as for calibration; iterated once, then once more per analysed operator).
// The network is left unchanged. Errors name the build, sample or tensor at fault.
Status AnalyzeAccuracy(INetwork* network, IBuilderConfig* config, const std::vector<CalibDataInterface*>& data,
                       const AnalysisOptions& options, AccuracyAnalysis* result);

}  // namespace mixq
