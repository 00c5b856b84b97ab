// AnalyzeAccuracy: the float32 and the quantized build side by side on the
// user's samples (accumulated error of every tensor), then one build per
// analysed operator with only that operator quantized (isolated error and its
// effect on the network outputs). docs/accuracy.md explains the choices.
#include <algorithm>
#include <cmath>

#include "analysis/builds.h"
#include "analysis/error_accumulator.h"
#include "analysis/report_data.h"
#include "analysis/sample_runner.h"
#include "api/builder_config.h"
#include "api/network_impl.h"
#include "calibration/calib_state.h"
#include "mixq/analysis.h"
#include "ops/op_schema.h"
#include "util/boundary.h"
#include "util/status_util.h"

namespace mixq::analysis {

namespace {

// The reference and tested values of one tensor in one sample, checked alike.
Status Compare(const FloatTensors& reference, const FloatTensors& test, const std::string& name, int64_t sample,
               ErrorAccumulator* accumulator) {
  const auto r = reference.find(name), t = test.find(name);
  if (r == reference.end() || t == test.end())
    return Internal("analysis: tensor '", name, "' missing from the ", r == reference.end() ? "float32" : "tested",
                    " run of sample ", sample);
  if (r->second.first != t->second.first)
    return Internal("analysis: tensor '", name, "' has dims ", t->second.first.ToString(), " in the tested run but ",
                    r->second.first.ToString(), " in the float32 run (sample ", sample, ")");
  accumulator->Add(r->second.second.data(), t->second.second.data(), static_cast<int64_t>(r->second.second.size()));
  return Status::OK();
}

struct Analysis {
  BuildInputs in;
  std::vector<std::string> tensors;  // reported, in execution order
  std::vector<std::string> outputs;  // the network's real-valued outputs
  std::vector<AnalysedNode> nodes;
  std::map<std::string, std::pair<std::string, std::string>> producers;  // tensor -> node, op
  // The float32 values of the outputs and the analysed nodes' outputs, by
  // sample, when they fit in AnalysisOptions::reference_cache_bytes.
  std::vector<FloatTensors> reference_cache;
  bool cached = false;
};

// Keeps what the isolated passes compare with, while the budget allows.
void CacheReference(const FloatTensors& want, const AnalysisOptions& options, Analysis* a, int64_t* bytes) {
  if (!a->cached) return;
  FloatTensors kept;
  auto keep = [&](const std::string& name) {
    auto it = want.find(name);
    if (it == want.end() || kept.count(name)) return;
    *bytes += static_cast<int64_t>(it->second.second.size() * sizeof(float));
    kept.insert(*it);
  };
  for (const auto& name : a->outputs) keep(name);
  for (const auto& node : a->nodes)
    for (const auto& name : node.outputs) keep(name);
  if (*bytes > options.reference_cache_bytes) {
    a->cached = false;
    a->reference_cache.clear();
    return;
  }
  a->reference_cache.push_back(std::move(kept));
}

Status Accumulated(Analysis& a, Runner* reference, SampleReader* reader, const AnalysisOptions& options,
                   AccuracyAnalysis* result) {
  std::shared_ptr<const format::ModelData> quantized_model;
  MIXQ_RETURN_IF_ERROR(BuildQuantized(a.in, a.tensors, &quantized_model));
  Runner quantized;
  MIXQ_RETURN_IF_ERROR(quantized.Init(quantized_model, options.num_threads));
  std::vector<ErrorAccumulator> errors(a.tensors.size());
  a.cached = options.isolated;
  int64_t cache_bytes = 0;
  MIXQ_RETURN_IF_ERROR(reader->Reset());
  FloatTensors want, got;
  for (bool more = true;;) {
    MIXQ_RETURN_IF_ERROR(reader->Next(&more));
    if (!more) break;
    MIXQ_RETURN_IF_ERROR(WithContext(reference->Run(*reader, &want), "float32 run"));
    MIXQ_RETURN_IF_ERROR(WithContext(quantized.Run(*reader, &got), "quantized run"));
    for (size_t i = 0; i < a.tensors.size(); ++i)
      MIXQ_RETURN_IF_ERROR(Compare(want, got, a.tensors[i], reader->index(), &errors[i]));
    CacheReference(want, options, &a, &cache_bytes);
  }
  result->samples = reader->index() + 1;
  if (result->samples == 0) return InvalidArgument("the sample data is empty: nothing to analyse");
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    TensorError e;
    e.tensor = a.tensors[i];
    std::tie(e.node, e.op_type) = a.producers[e.tensor];
    errors[i].Finish(&e);
    if (std::find(a.outputs.begin(), a.outputs.end(), e.tensor) != a.outputs.end()) result->outputs.push_back(e);
    result->accumulated.push_back(std::move(e));
  }
  return Status::OK();
}

Status Isolated(Analysis& a, const AnalysedNode& node, Runner* reference, SampleReader* reader,
                const AnalysisOptions& options, OperatorImpact* impact) {
  std::shared_ptr<const format::ModelData> model;
  MIXQ_RETURN_IF_ERROR(BuildIsolated(a.in, node, &model));
  Runner isolated;
  MIXQ_RETURN_IF_ERROR(isolated.Init(model, options.num_threads));
  std::vector<ErrorAccumulator> own(node.outputs.size()), per_output(a.outputs.size());
  ErrorAccumulator all_outputs;
  MIXQ_RETURN_IF_ERROR(reader->Reset());
  FloatTensors want, got;
  for (bool more = true;;) {
    MIXQ_RETURN_IF_ERROR(reader->Next(&more));
    if (!more) break;
    const FloatTensors* reference_values = &want;
    if (a.cached)
      reference_values = &a.reference_cache.at(static_cast<size_t>(reader->index()));
    else
      MIXQ_RETURN_IF_ERROR(WithContext(reference->Run(*reader, &want), "float32 run"));
    MIXQ_RETURN_IF_ERROR(WithContext(isolated.Run(*reader, &got), "isolated run of node '" + node.name + "'"));
    for (size_t i = 0; i < node.outputs.size(); ++i)
      MIXQ_RETURN_IF_ERROR(Compare(*reference_values, got, node.outputs[i], reader->index(), &own[i]));
    for (size_t i = 0; i < a.outputs.size(); ++i) {
      MIXQ_RETURN_IF_ERROR(Compare(*reference_values, got, a.outputs[i], reader->index(), &per_output[i]));
      MIXQ_RETURN_IF_ERROR(Compare(*reference_values, got, a.outputs[i], reader->index(), &all_outputs));
    }
  }
  impact->node = node.name;
  impact->op_type = node.op_type;
  impact->precision = node.precision;
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    TensorError e;
    e.tensor = node.outputs[i];
    e.node = node.name;
    e.op_type = node.op_type;
    own[i].Finish(&e);
    impact->isolated.push_back(std::move(e));
  }
  impact->network_output.tensor = "(all network outputs)";
  all_outputs.Finish(&impact->network_output);
  for (const auto& acc : per_output) {
    TensorError e;
    acc.Finish(&e);
    impact->worst_output_cosine = std::min(impact->worst_output_cosine, e.cosine);
  }
  return Status::OK();
}

// Every analysed operator on its own, then the ranking.
Status IsolateAll(Analysis& a, Runner* reference, SampleReader* reader, const AnalysisOptions& options, int64_t steps,
                  AccuracyAnalysis* result) {
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    OperatorImpact impact;
    MIXQ_RETURN_IF_ERROR(WithContext(Isolated(a, a.nodes[i], reference, reader, options, &impact), "AnalyzeAccuracy"));
    result->ranking.push_back(std::move(impact));
    if (options.progress) options.progress(static_cast<int64_t>(i) + 2, steps, a.nodes[i].name);
  }
  // Lowest network-output SQNR first; stable, so ties keep execution order.
  std::stable_sort(result->ranking.begin(), result->ranking.end(),
                   [](const OperatorImpact& x, const OperatorImpact& y) {
                     return x.network_output.sqnr_db < y.network_output.sqnr_db;
                   });
  for (size_t i = 0; i < result->ranking.size(); ++i) result->ranking[i].rank = static_cast<int>(i) + 1;
  return Status::OK();
}

Status Analyze(INetwork* network, IBuilderConfig* config, const std::vector<CalibDataInterface*>& data,
               const AnalysisOptions& options, AccuracyAnalysis* result) {
  if (!result) return InvalidArgument("AnalyzeAccuracy: result is null");
  *result = AccuracyAnalysis{};
  if (!network) return InvalidArgument("AnalyzeAccuracy: network is null");
  api::NetworkImpl* impl = api::ToImpl(network);
  if (!impl) return InvalidArgument("AnalyzeAccuracy: network was not created by CreateINetwork");
  api::BuilderConfigImpl defaults;
  auto* config_impl = config ? dynamic_cast<api::BuilderConfigImpl*>(config) : &defaults;
  if (!config_impl) return InvalidArgument("AnalyzeAccuracy: config was not created by CreateIBuilderConfig");
  for (size_t i = 0; i < data.size(); ++i)
    if (!data[i]) return InvalidArgument("AnalyzeAccuracy: sample data of input ", i, " is null");
  if (static_cast<int64_t>(data.size()) != network->GetInputCount())
    return InvalidArgument("AnalyzeAccuracy: the network has ", network->GetInputCount(), " inputs but ", data.size(),
                           " sample data interfaces were given (one per input)");
  if (options.max_samples == 0 || options.max_samples < -1)
    return InvalidArgument("AnalyzeAccuracy: max_samples ", options.max_samples, " must be -1 (all) or >= 1");
  if (!options.report.dir.empty())
    MIXQ_RETURN_IF_ERROR(WithContext(PrepareReportDir(options.report.dir), "AnalyzeAccuracy"));

  Analysis a;
  a.in.network = &impl->graph();
  a.in.options = config_impl->options();
  a.in.config_json = config_impl->ToJson();
  a.in.channels = impl->calibration() ? &impl->calibration()->channels : nullptr;
  MIXQ_RETURN_IF_ERROR(
      WithContext(quant::CalibratedRangesFor(impl->graph(), a.in.options, impl->calibration(), &a.in.calibrated),
                  "AnalyzeAccuracy"));
  MIXQ_RETURN_IF_ERROR(
      WithContext(PlanAnalysis(a.in, &a.tensors, &a.nodes, &result->precision_mode), "AnalyzeAccuracy"));
  for (const AnalysedNode& node : a.nodes)
    for (const auto& t : node.outputs) a.producers[t] = {node.name, node.op_type};
  // Producers of tensors that are not analysed (they run in float32) too.
  for (size_t n = 0; n < impl->graph().node_count(); ++n) {
    const ir::Node& node = *impl->graph().node(static_cast<int>(n));
    for (int out : node.outputs)
      a.producers.emplace(impl->graph().value(out)->name,
                          std::make_pair(node.name, std::string(ops::GetSchema(node.op).name)));
  }
  for (int out : impl->graph().outputs()) {
    const std::string& name = impl->graph().value(out)->name;
    if (std::find(a.tensors.begin(), a.tensors.end(), name) != a.tensors.end()) a.outputs.push_back(name);
  }

  const int64_t steps = 1 + (options.isolated ? static_cast<int64_t>(a.nodes.size()) : 0);
  std::shared_ptr<const format::ModelData> float_model;
  MIXQ_RETURN_IF_ERROR(WithContext(BuildFloat(a.in, a.tensors, &float_model), "AnalyzeAccuracy"));
  Runner reference;
  MIXQ_RETURN_IF_ERROR(WithContext(reference.Init(float_model, options.num_threads), "AnalyzeAccuracy"));
  SampleReader reader(data, options.max_samples);
  MIXQ_RETURN_IF_ERROR(WithContext(Accumulated(a, &reference, &reader, options, result), "AnalyzeAccuracy"));
  if (options.progress) options.progress(1, steps, "accumulated");
  if (options.isolated) MIXQ_RETURN_IF_ERROR(IsolateAll(a, &reference, &reader, options, steps, result));
  if (options.report.dir.empty()) return Status::OK();
  ReportData report;
  report.title = options.report.title.empty() ? "network" : options.report.title;
  report.plan_label = "The plan as configured (" + result->precision_mode + ")";
  report.analysis = *result;
  MIXQ_RETURN_IF_ERROR(WithContext(ProfilePlan(*impl, a.in.options, a.in.config_json, data, options.report.profile_runs,
                                               options.num_threads, &report),
                                   "AnalyzeAccuracy"));
  return WithContext(WriteReport(options.report.dir, report), "AnalyzeAccuracy");
}

}  // namespace

}  // namespace mixq::analysis

namespace mixq {

Status AnalyzeAccuracy(INetwork* network, IBuilderConfig* config, const std::vector<CalibDataInterface*>& data,
                       const AnalysisOptions& options, AccuracyAnalysis* result) {
  return StatusAtBoundary("AnalyzeAccuracy", [&] { return analysis::Analyze(network, config, data, options, result); });
}

}  // namespace mixq
