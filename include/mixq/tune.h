// Automatic mixed precision under an accuracy target (issue 13, part 2):
// start from the configured (fastest) plan, promote the operators that hurt
// the outputs most, one precision step at a time (qint8 -> qint16 -> float16
// -> float32; each operator keeps the step that scored best before the next
// is tried), measure each candidate's output error and latency on this
// machine, and stop at the first candidate that meets the target; then try
// each promoted operator's other precisions on that plan and keep the
// fastest that still meets it (prefer_faster). The result
// is a builder config whose precision_config.node_precision lists the
// promoted operators: a file to read, edit and keep. docs/accuracy.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "mixq/analysis.h"
#include "mixq/builder.h"
#include "mixq/calibrator.h"
#include "mixq/network.h"
#include "mixq/types.h"

namespace mixq {

// One network output of one sample, as float32.
struct OutputTensor {
  std::string name;
  Dims dims;
  std::vector<float> values;
};
// Every output of every sample: [sample][output].
using SampleOutputs = std::vector<std::vector<OutputTensor>>;

struct TuneOptions {
  // The target, on all network outputs together over all samples: the lowest
  // cosine of any output >= min_cosine, and the SQNR >= min_sqnr_db.
  double min_cosine = 0.999;
  double min_sqnr_db = -1e300;  // no SQNR target unless set
  // A metric of the user's own (top-1 agreement, exact string match, ...):
  // called once per candidate with the candidate's outputs and the float32
  // build's, on the same samples; the candidate meets the target only when
  // *metric >= min_metric too (set min_cosine to -1 to use it alone). A
  // failed Status stops the search with it.
  std::function<Status(const SampleOutputs& candidate, const SampleOutputs& reference, double* metric)> metric;
  double min_metric = 0;
  // Wall-clock budget in seconds (the analysis included); the search stops
  // with the best candidate so far when it is spent.
  double time_budget_seconds = 600;
  int64_t max_samples = -1;  // samples taken from the data (-1: all)
  int latency_runs = 5;      // timed runs per candidate (median), on the first sample
  // After the target is met, two steps on the meeting plan. First, each
  // promotion, latest first, is taken back to its starting precision; the
  // plan without it is kept when it still meets the target and measures no
  // slower (greedy promotions made early can become unnecessary later).
  // Then every remaining promoted operator's other precisions above its
  // starting one are tried, and a variant that still meets the target and
  // measures at least 5 % faster is kept (on a CPU without native float16,
  // float32 usually beats float16 and often qint16). False: the first
  // candidate that met the target.
  bool prefer_faster = true;
  // Precision modes the search may start from ("qint8_mixed_float32",
  // "qint8_mixed_float16", ...): each is built with the configuration's
  // other keys and timed on the first sample, in turn (3 rounds of
  // latency_runs runs, the fastest median of each), and the fastest on this
  // machine becomes the starting plan; the harm order is then analysed on
  // it. Empty: the configured mode.
  std::vector<std::string> start_modes;
  int num_threads = 0;  // threads per inference
  // (candidates done, message) after every candidate.
  std::function<void(int64_t, const std::string&)> progress;
  // (builds done, builds in all, what) during the accuracy analysis that
  // gives the harm order (AnalysisOptions::progress), the search's first
  // and often longest phase.
  std::function<void(int64_t, int64_t, const std::string&)> analysis_progress;
  // The HTML report: the analysis of the starting plan, the graph and the
  // time per operator of the chosen plan, and the trajectory of every
  // candidate (latency against output SQNR, or against the metric).
  ReportOptions report;
};

struct TuneCandidate {
  std::map<std::string, std::string> node_precision;  // node -> "qint16", "float16", "float32"
  double output_sqnr_db = 0;
  double output_cosine = 1;  // the lowest of any output
  double latency_ms = 0;     // median of latency_runs
  double metric = 0;         // TuneOptions::metric's value (0 without one)
  bool meets_target = false;
};

// prefer_faster: a variant that met the target, timed in turn with the best
// plan so far on the first sample (3 rounds of latency_runs runs each; the
// fastest median of each). A variant that drops a promotion (`dropped`) is
// kept when variant_ms <= best_ms; one that moves a promoted operator to
// another precision when variant_ms < 0.95 * best_ms.
struct TuneComparison {
  std::map<std::string, std::string> best, variant;  // their node_precision
  double best_ms = 0, variant_ms = 0;
  bool dropped = false;  // variant: best with one promotion taken back
  bool kept = false;
};

struct TuneResult {
  bool target_met = false;
  // The candidate returned: the first that met the target or, with
  // prefer_faster, the last variant of it kept by `comparisons` (each timed
  // in turn with the best plan before it); else the most accurate one
  // (highest output SQNR, or highest metric when there is one).
  TuneCandidate chosen;
  std::vector<TuneCandidate> trajectory;    // every candidate, in the order tried
  std::vector<TuneComparison> comparisons;  // prefer_faster's decisions, in order
  std::map<std::string, double> start_ms;   // start_modes: each mode's time (ms), the fastest the start
  std::string config_json;                  // the builder config of `chosen`
  std::string stop_reason;                  // "target met", "time budget spent", "every operator promoted"
};

// `network` needs its ranges (calibrate it first); `config` is the starting
// plan (e.g. qint8_mixed_float32); `data` one CalibDataInterface per input.
Status TunePrecision(INetwork* network, IBuilderConfig* config, const std::vector<CalibDataInterface*>& data,
                     const TuneOptions& options, TuneResult* result);

}  // namespace mixq
