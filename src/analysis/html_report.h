// The accuracy report: one self-contained HTML page (inline CSS and SVG, no
// script, no external file) with the per-tensor error bars of an analysis,
// the plan graph coloured by the precision each node runs in, the time per
// operator from a profiled run, and the tuning trajectory when there was one.
// RenderHtmlReport is a pure function of ReportData (tests feed it by hand);
// report_data.cc fills ReportData from a build and a profiled run.
#pragma once

#include <string>
#include <vector>

#include "mixq/analysis.h"
#include "mixq/tune.h"

namespace mixq::analysis {

// The precision classes a node box is coloured by (CSS class "p-<name>").
// A node runs in what its inputs are consumed in ("qint8" before "qint16"
// before "float16" when they differ); a node with float inputs that runs on
// integers (a ReLU fused into its producer) in the storage it writes
// ("qint8" for INT8 / UINT8, "qint16", "float16"); else "float32".
// "convert" for quantize / dequantize / requantize / cast steps, "input" for
// the network inputs.
inline constexpr const char* kPrecisionClasses[] = {"qint8", "qint16", "float16", "float32", "convert", "input"};

// One box of the plan graph.
struct PlanNode {
  std::string name;
  std::string op;                    // "FullyConnected", "Quantize", ...
  std::string precision;             // one of kPrecisionClasses
  std::string detail;                // the tooltip: kernel, storage types, fusion
  std::vector<std::string> inputs;   // tensor names read
  std::vector<std::string> outputs;  // tensor names written
  // Set by ParsePlanGraph: the boxes this one reads from (indices), an edge each.
  std::vector<int> from;
};

// Wall time of one step of the plan (a node and the nodes fused into it).
struct StepTime {
  std::string node, op, kernel, fused;
  double ms = 0, share = 0;
};
// All steps of one operator type together.
struct OpTime {
  std::string op;
  int steps = 0;
  double ms = 0, share = 0;
};

struct ReportData {
  std::string title;       // the model
  std::string plan_label;  // which plan the graph and the times are of
  AccuracyAnalysis analysis;
  std::vector<PlanNode> plan;  // execution order
  // The profile (ContextOptions::profile) of the plan.
  std::vector<StepTime> steps;  // execution order
  std::vector<OpTime> ops;      // heaviest first
  double total_ms = 0;
  int64_t profile_runs = 0;
  std::string profile_note;  // threads, sample, ...
  // The tuning, when one was run.
  bool tuned = false;
  TuneResult tune;
  bool tune_metric = false;  // the trajectory's y axis is the user's metric, not the output SQNR
  double min_cosine = -1, min_sqnr_db = -1e300, min_metric = 0;
};

std::string RenderHtmlReport(const ReportData& data);

}  // namespace mixq::analysis
