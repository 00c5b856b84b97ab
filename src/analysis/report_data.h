// Fills the accuracy report's ReportData (html_report.h) from what the
// engine says about a plan, and writes the page: the plan graph from the
// context's precision report, the times from its profile (ContextOptions::
// profile), both of one build of the network run on the first sample.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "analysis/html_report.h"
#include "api/network_impl.h"
#include "mixq/calibrator.h"
#include "passes/build_options.h"

namespace mixq::analysis {

// The boxes and edges of the plan from IContext::GetPrecisionReportJson:
// one box per row (node, fused node or quantize / dequantize step) plus one
// per network input (`input_names`), each edge from the box writing a tensor
// to each box reading it. A reader of a quantized input is fed by the
// quantize step the plan put in front of it (a step whose output no row
// names and whose storage matches the reader's precision).
Status ParsePlanGraph(const std::string& precision_report_json, const std::vector<std::string>& input_names,
                      std::vector<PlanNode>* plan);
// steps / ops / total_ms / runs of IContext::GetProfile(true).
Status ParseProfile(const std::string& profile_json, ReportData* data);

// Builds `network` with `options` (ranges from its calibration), runs it
// `runs` times on the first sample of `data` with profiling on (after one
// warm-up run) and fills data->plan, steps, ops, total_ms, profile_runs.
Status ProfilePlan(const api::NetworkImpl& network, const passes::BuildOptions& options, const std::string& config_json,
                   const std::vector<CalibDataInterface*>& data, int runs, int num_threads, ReportData* report);

// Creates `dir` (and its parents) and checks that files can be written in it:
// called before the analysis, so a bad path fails in seconds, not after it.
Status PrepareReportDir(const std::string& dir);
// Renders the page and writes dir/index.html.
Status WriteReport(const std::string& dir, const ReportData& data);

}  // namespace mixq::analysis
