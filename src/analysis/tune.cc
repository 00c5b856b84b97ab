// TunePrecision: greedy promotion of the most harmful operators under an
// accuracy target (include/mixq/tune.h). The harm order comes from one
// AnalyzeAccuracy (isolated errors); every candidate is then built and run on
// the samples against float32 outputs kept from one float32 pass.
#include "mixq/tune.h"

#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>

#include "analysis/builds.h"
#include "analysis/error_accumulator.h"
#include "analysis/report_data.h"
#include "analysis/sample_runner.h"
#include "analysis/tune_steps.h"
#include "api/builder_config.h"
#include "api/network_impl.h"
#include "calibration/calib_state.h"
#include "mixq/analysis.h"
#include "passes/build_pipeline.h"
#include "util/boundary.h"
#include "util/status_util.h"

namespace mixq::analysis {

namespace {

using Clock = std::chrono::steady_clock;

SampleOutputs::value_type ToOutputs(const FloatTensors& tensors, const std::vector<std::string>& names) {
  SampleOutputs::value_type sample;
  for (const auto& name : names)
    if (auto it = tensors.find(name); it != tensors.end())
      sample.push_back(OutputTensor{name, it->second.first, it->second.second});
  return sample;
}

// The plan of a candidate, built as the user's build would build it.
Status BuildPlan(const api::NetworkImpl& network, passes::BuildOptions options, const std::string& config_json,
                 const std::map<std::string, std::string>& node_precision,
                 std::shared_ptr<const format::ModelData>* built) {
  options.node_precision = node_precision;
  passes::CalibratedRanges ranges;  // again: a promotion to qint16 changes the ranges' bits
  MIXQ_RETURN_IF_ERROR(quant::CalibratedRangesFor(network.graph(), options, network.calibration(), &ranges));
  auto model = std::make_shared<format::ModelData>();
  MIXQ_RETURN_IF_ERROR(passes::BuildModelData("tune-candidate", network.graph(), options, ranges, config_json,
                                              model.get(),
                                              network.calibration() ? &network.calibration()->channels : nullptr));
  *built = std::move(model);
  return Status::OK();
}

// Runners timed in turn on the reader's first sample, kPairRounds times each
// (`runs` runs per turn): each one's fastest median. A single median per
// plan, minutes apart, measures the machine's load as much as the plan;
// taken in turn, all see the same load.
constexpr int kPairRounds = 3;
Status TimeInTurn(const std::vector<Runner*>& runners, SampleReader* reader, int runs, std::vector<double>* ms) {
  MIXQ_RETURN_IF_ERROR(reader->Reset());
  bool more = false;
  MIXQ_RETURN_IF_ERROR(reader->Next(&more));
  if (!more) return Internal("TunePrecision: no sample to time");
  ms->assign(runners.size(), std::numeric_limits<double>::infinity());
  for (int round = 0; round < kPairRounds; ++round)
    for (size_t i = 0; i < runners.size(); ++i) {
      double t = 0;
      MIXQ_RETURN_IF_ERROR(runners[i]->Time(*reader, runs, &t));
      (*ms)[i] = std::min((*ms)[i], t);
    }
  return Status::OK();
}

// A copy of `config` with another precision_mode.
Status ConfigInMode(const api::BuilderConfigImpl& config, const std::string& mode, api::BuilderConfigImpl* out) {
  nlohmann::json json = nlohmann::json::parse(config.ToJson());
  json["precision_config"]["precision_mode"] = mode;
  return WithContext(out->ParseFromString(json.dump()), StrCat("TunePrecision: start mode '", mode, "'"));
}

// TuneOptions::start_modes: the fastest of them, measured here, in *start.
Status PickStartMode(const api::NetworkImpl& network, const api::BuilderConfigImpl& config,
                     const std::vector<CalibDataInterface*>& data, const TuneOptions& options,
                     api::BuilderConfigImpl* start, TuneResult* result) {
  const size_t n = options.start_modes.size();
  std::vector<api::BuilderConfigImpl> configs(n);
  std::vector<Runner> runners(n);
  std::vector<Runner*> timed;
  for (size_t i = 0; i < n; ++i) {
    MIXQ_RETURN_IF_ERROR(ConfigInMode(config, options.start_modes[i], &configs[i]));
    std::shared_ptr<const format::ModelData> model;
    MIXQ_RETURN_IF_ERROR(WithContext(
        BuildPlan(network, configs[i].options(), configs[i].ToJson(), configs[i].options().node_precision, &model),
        StrCat("TunePrecision: start mode '", options.start_modes[i], "'")));
    MIXQ_RETURN_IF_ERROR(runners[i].Init(model, options.num_threads));
    timed.push_back(&runners[i]);
  }
  SampleReader reader(data, options.max_samples);
  std::vector<double> ms;
  MIXQ_RETURN_IF_ERROR(TimeInTurn(timed, &reader, std::max(1, options.latency_runs), &ms));
  size_t fastest = 0;
  for (size_t i = 0; i < n; ++i) {
    result->start_ms[options.start_modes[i]] = ms[i];
    if (ms[i] < ms[fastest]) fastest = i;
    if (options.progress) options.progress(0, StrCat("start mode ", options.start_modes[i], ": ", ms[i], " ms"));
  }
  if (options.progress) options.progress(0, StrCat("starting from ", options.start_modes[fastest], ", the fastest"));
  return ConfigInMode(config, options.start_modes[fastest], start);
}

class Evaluator {
 public:
  Evaluator(const api::NetworkImpl& network, const passes::BuildOptions& options, std::string config_json,
            std::vector<CalibDataInterface*> data, const TuneOptions& tune)
      : network_(network),
        options_(options),
        config_json_(std::move(config_json)),
        reader_(std::move(data), tune.max_samples),
        tune_(tune) {}

  // One float32 pass: the reference outputs of every sample.
  Status Init() {
    for (int out : network_.graph().outputs()) outputs_.push_back(network_.graph().value(out)->name);
    BuildInputs in;
    in.network = &network_.graph();
    in.options = options_;
    in.config_json = config_json_;
    std::shared_ptr<const format::ModelData> model;
    MIXQ_RETURN_IF_ERROR(BuildFloat(in, {}, &model));
    Runner runner;
    MIXQ_RETURN_IF_ERROR(runner.Init(model, tune_.num_threads));
    MIXQ_RETURN_IF_ERROR(reader_.Reset());
    for (bool more = true;;) {
      MIXQ_RETURN_IF_ERROR(reader_.Next(&more));
      if (!more) break;
      reference_.emplace_back();
      MIXQ_RETURN_IF_ERROR(WithContext(runner.Run(reader_, &reference_.back()), "float32 run"));
      if (tune_.metric) reference_outputs_.push_back(ToOutputs(reference_.back(), outputs_));
    }
    return Status::OK();
  }

  Status Build(const std::map<std::string, std::string>& node_precision,
               std::shared_ptr<const format::ModelData>* built) {
    return BuildPlan(network_, options_, config_json_, node_precision, built);
  }

  // The plans `a` and `b` timed in turn on the first sample (TimeInTurn).
  Status TimePair(const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b,
                  double* a_ms, double* b_ms) {
    std::shared_ptr<const format::ModelData> model_a, model_b;
    MIXQ_RETURN_IF_ERROR(Build(a, &model_a));
    MIXQ_RETURN_IF_ERROR(Build(b, &model_b));
    Runner runner_a, runner_b;
    MIXQ_RETURN_IF_ERROR(runner_a.Init(model_a, tune_.num_threads));
    MIXQ_RETURN_IF_ERROR(runner_b.Init(model_b, tune_.num_threads));
    std::vector<double> ms;
    MIXQ_RETURN_IF_ERROR(TimeInTurn({&runner_a, &runner_b}, &reader_, tune_.latency_runs, &ms));
    *a_ms = ms[0];
    *b_ms = ms[1];
    return Status::OK();
  }

  Status Evaluate(const std::map<std::string, std::string>& node_precision, TuneCandidate* candidate) {
    std::shared_ptr<const format::ModelData> model;
    MIXQ_RETURN_IF_ERROR(Build(node_precision, &model));
    Runner runner;
    MIXQ_RETURN_IF_ERROR(runner.Init(model, tune_.num_threads));
    ErrorAccumulator all;
    std::vector<ErrorAccumulator> each(outputs_.size());
    FloatTensors got;
    SampleOutputs candidate_outputs;
    MIXQ_RETURN_IF_ERROR(reader_.Reset());
    for (bool more = true;;) {
      MIXQ_RETURN_IF_ERROR(reader_.Next(&more));
      if (!more) break;
      if (reader_.index() == 0) MIXQ_RETURN_IF_ERROR(runner.Time(reader_, tune_.latency_runs, &candidate->latency_ms));
      MIXQ_RETURN_IF_ERROR(runner.Run(reader_, &got));
      if (tune_.metric) candidate_outputs.push_back(ToOutputs(got, outputs_));
      const FloatTensors& want = reference_.at(static_cast<size_t>(reader_.index()));
      for (size_t i = 0; i < outputs_.size(); ++i) {
        const auto r = want.find(outputs_[i]);
        const auto t = got.find(outputs_[i]);
        if (r == want.end() || t == got.end() || r->second.first != t->second.first) continue;  // not real-valued
        const auto n = static_cast<int64_t>(r->second.second.size());
        all.Add(r->second.second.data(), t->second.second.data(), n);
        each[i].Add(r->second.second.data(), t->second.second.data(), n);
      }
    }
    TensorError e;
    all.Finish(&e);
    candidate->node_precision = node_precision;
    candidate->output_sqnr_db = e.sqnr_db;
    candidate->output_cosine = 1.0;
    for (const auto& acc : each) {
      TensorError one;
      acc.Finish(&one);
      candidate->output_cosine = std::min(candidate->output_cosine, one.cosine);
    }
    candidate->meets_target = candidate->output_cosine >= tune_.min_cosine && e.sqnr_db >= tune_.min_sqnr_db;
    if (tune_.metric) {
      MIXQ_RETURN_IF_ERROR(
          WithContext(tune_.metric(candidate_outputs, reference_outputs_, &candidate->metric), "the user's metric"));
      candidate->meets_target = candidate->meets_target && candidate->metric >= tune_.min_metric;
    }
    return Status::OK();
  }

 private:
  const api::NetworkImpl& network_;
  passes::BuildOptions options_;
  std::string config_json_;
  SampleReader reader_;
  const TuneOptions& tune_;
  std::vector<std::string> outputs_;
  std::vector<FloatTensors> reference_;
  SampleOutputs reference_outputs_;  // for TuneOptions::metric
};

std::string ConfigWith(const std::string& base_json, const std::map<std::string, std::string>& node_precision) {
  nlohmann::json config = nlohmann::json::parse(base_json);
  config["precision_config"]["node_precision"] = node_precision;
  return config.dump(2);
}

std::string Promotions(const TuneCandidate& c) {
  std::string promoted;
  for (const auto& [node, p] : c.node_precision) promoted += (promoted.empty() ? "" : ", ") + node + "=" + p;
  return promoted.empty() ? "(start)" : promoted;
}

std::string Describe(const TuneCandidate& c, bool metric) {
  return StrCat(Promotions(c), ": SQNR ", c.output_sqnr_db, " dB, cosine ", c.output_cosine,
                metric ? StrCat(", metric ", c.metric) : std::string(), ", ", c.latency_ms, " ms",
                c.meets_target ? " (meets the target)" : "");
}

Status Tune(INetwork* network, IBuilderConfig* config, const std::vector<CalibDataInterface*>& data,
            const TuneOptions& options, TuneResult* result) {
  if (!result) return InvalidArgument("TunePrecision: result is null");
  *result = TuneResult{};
  if (!(options.time_budget_seconds > 0)) return InvalidArgument("TunePrecision: time_budget_seconds must be > 0");
  if (!(options.min_cosine <= 1.0)) return InvalidArgument("TunePrecision: min_cosine ", options.min_cosine, " > 1");
  if (!options.report.dir.empty())
    MIXQ_RETURN_IF_ERROR(WithContext(PrepareReportDir(options.report.dir), "TunePrecision"));
  const auto start = Clock::now();
  auto spent = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  api::BuilderConfigImpl defaults, started;
  if (!options.start_modes.empty()) {
    // The analysis below validates its inputs; the start is picked before it.
    if (!network || !api::ToImpl(network)) return InvalidArgument("TunePrecision: network is null or not a mixq one");
    auto* given = config ? dynamic_cast<api::BuilderConfigImpl*>(config) : &defaults;
    if (!given) return InvalidArgument("TunePrecision: config was not created by CreateIBuilderConfig");
    if (static_cast<int64_t>(data.size()) != network->GetInputCount())
      return InvalidArgument("TunePrecision: the network has ", network->GetInputCount(), " inputs but ", data.size(),
                             " sample data interfaces were given (one per input)");
    for (size_t i = 0; i < data.size(); ++i)
      if (!data[i]) return InvalidArgument("TunePrecision: sample data of input ", i, " is null");
    MIXQ_RETURN_IF_ERROR(PickStartMode(*api::ToImpl(network), *given, data, options, &started, result));
    config = &started;
  }
  // Validates network, config and data, and gives the harm order.
  AccuracyAnalysis analysis;
  AnalysisOptions analysis_options;
  analysis_options.max_samples = options.max_samples;
  analysis_options.num_threads = options.num_threads;
  analysis_options.progress = options.analysis_progress;
  MIXQ_RETURN_IF_ERROR(
      WithContext(AnalyzeAccuracy(network, config, data, analysis_options, &analysis), "TunePrecision"));
  api::NetworkImpl* impl = api::ToImpl(network);
  auto* config_impl = config ? dynamic_cast<api::BuilderConfigImpl*>(config) : &defaults;
  Evaluator evaluator(*impl, config_impl->options(), config_impl->ToJson(), data, options);
  MIXQ_RETURN_IF_ERROR(WithContext(evaluator.Init(), "TunePrecision"));

  std::map<std::string, std::string> promoted = config_impl->options().node_precision;
  auto evaluate_plan = [&](const std::map<std::string, std::string>& node_precision) -> Status {
    TuneCandidate candidate;
    MIXQ_RETURN_IF_ERROR(WithContext(evaluator.Evaluate(node_precision, &candidate), "TunePrecision"));
    result->trajectory.push_back(candidate);
    if (options.progress)
      options.progress(static_cast<int64_t>(result->trajectory.size()),
                       Describe(candidate, static_cast<bool>(options.metric)));
    return Status::OK();
  };
  auto evaluate = [&]() { return evaluate_plan(promoted); };
  MIXQ_RETURN_IF_ERROR(evaluate());
  // The most accurate: by the user's metric when there is one.
  auto score = [&](const TuneCandidate& c) { return options.metric ? c.metric : c.output_sqnr_db; };
  result->stop_reason = "every operator promoted";
  double current = score(result->trajectory.back());
  for (size_t r = 0; r < analysis.ranking.size() && !result->trajectory.back().meets_target; ++r) {
    const OperatorImpact& op = analysis.ranking[r];
    // Every step of this operator's ladder is tried; it keeps the step that
    // scored best, or none when none helped: errors of several operators can
    // cancel, so a higher precision is not always better (on PP-OCR rec,
    // p2o.Conv.29 in qint16 beat it in float32 by 0.5 dB).
    const auto before = promoted.find(op.node) == promoted.end() ? std::string() : promoted[op.node];
    std::string best_step = before;
    for (int level = LevelOf(op.precision) + 1; level < kLevels && !result->trajectory.back().meets_target; ++level) {
      if (spent() > options.time_budget_seconds) {
        result->stop_reason = "time budget spent";
        break;
      }
      promoted[op.node] = kLadder[level];
      MIXQ_RETURN_IF_ERROR(evaluate());
      if (score(result->trajectory.back()) > current)
        current = score(result->trajectory.back()), best_step = kLadder[level];
    }
    if (result->trajectory.back().meets_target) break;
    if (best_step.empty())
      promoted.erase(op.node);
    else
      promoted[op.node] = best_step;
    if (result->stop_reason == "time budget spent") break;
  }
  result->target_met = result->trajectory.back().meets_target;
  if (result->target_met) {
    result->stop_reason = "target met";
    result->chosen = result->trajectory.back();
    auto pair = [&](const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b,
                    double* a_ms,
                    double* b_ms) { return WithContext(evaluator.TimePair(a, b, a_ms, b_ms), "TunePrecision"); };
    if (options.prefer_faster) {
      MIXQ_RETURN_IF_ERROR(
          DropPromotions(analysis, config_impl->options().node_precision, spent, options, evaluate_plan, pair, result));
      if (result->stop_reason == "target met")
        MIXQ_RETURN_IF_ERROR(PreferFaster(analysis, spent, options, evaluate_plan, pair, result));
    }
  } else {
    result->chosen = result->trajectory.front();
    for (const auto& c : result->trajectory)
      if (score(c) > score(result->chosen)) result->chosen = c;
  }
  result->config_json = ConfigWith(config_impl->ToJson(), result->chosen.node_precision);
  if (options.report.dir.empty()) return Status::OK();
  ReportData report;
  report.title = options.report.title.empty() ? "network" : options.report.title;
  report.plan_label = "The plan tuning chose (" + analysis.precision_mode + ", " + Promotions(result->chosen) + ")";
  report.analysis = std::move(analysis);
  report.tuned = true;
  report.tune = *result;
  report.tune_metric = static_cast<bool>(options.metric);
  report.min_cosine = options.min_cosine;
  report.min_sqnr_db = options.min_sqnr_db;
  report.min_metric = options.min_metric;
  passes::BuildOptions chosen = config_impl->options();
  chosen.node_precision = result->chosen.node_precision;
  MIXQ_RETURN_IF_ERROR(WithContext(ProfilePlan(*impl, chosen, config_impl->ToJson(), data, options.report.profile_runs,
                                               options.num_threads, &report),
                                   "TunePrecision"));
  return WithContext(WriteReport(options.report.dir, report), "TunePrecision");
}

}  // namespace

}  // namespace mixq::analysis

namespace mixq {

Status TunePrecision(INetwork* network, IBuilderConfig* config, const std::vector<CalibDataInterface*>& data,
                     const TuneOptions& options, TuneResult* result) {
  return StatusAtBoundary("TunePrecision", [&] { return analysis::Tune(network, config, data, options, result); });
}

}  // namespace mixq
