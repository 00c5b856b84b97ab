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

// The promotion ladder; an operator starts at the level its plan gives it.
constexpr const char* kLadder[] = {"qint8", "qint16", "float16", "float32"};
constexpr int kLevels = 4;

int LevelOf(const std::string& precision) {
  if (precision.find("QINT8") != std::string::npos) return 0;
  if (precision.find("QINT16") != std::string::npos) return 1;
  if (precision.find("FLOAT16") != std::string::npos) return 2;  // BFLOAT16 too
  return 3;
}

SampleOutputs::value_type ToOutputs(const FloatTensors& tensors, const std::vector<std::string>& names) {
  SampleOutputs::value_type sample;
  for (const auto& name : names)
    if (auto it = tensors.find(name); it != tensors.end())
      sample.push_back(OutputTensor{name, it->second.first, it->second.second});
  return sample;
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

  // The plan of a candidate, built as the user's build would build it.
  Status Build(const std::map<std::string, std::string>& node_precision,
               std::shared_ptr<const format::ModelData>* built) {
    passes::BuildOptions options = options_;
    options.node_precision = node_precision;
    passes::CalibratedRanges ranges;  // again: a promotion to qint16 changes the ranges' bits
    MIXQ_RETURN_IF_ERROR(quant::CalibratedRangesFor(network_.graph(), options, network_.calibration(), &ranges));
    auto model = std::make_shared<format::ModelData>();
    MIXQ_RETURN_IF_ERROR(passes::BuildModelData("tune-candidate", network_.graph(), options, ranges, config_json_,
                                                model.get(),
                                                network_.calibration() ? &network_.calibration()->channels : nullptr));
    *built = std::move(model);
    return Status::OK();
  }

  // The plans `a` and `b` timed in turn on the first sample, kPairRounds
  // times each (latency_runs runs per turn): each one's fastest median. A
  // single median per candidate, minutes apart, measures the machine's load
  // as much as the plan; taken in turn, both see the same load.
  static constexpr int kPairRounds = 3;
  Status TimePair(const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b,
                  double* a_ms, double* b_ms) {
    std::shared_ptr<const format::ModelData> model_a, model_b;
    MIXQ_RETURN_IF_ERROR(Build(a, &model_a));
    MIXQ_RETURN_IF_ERROR(Build(b, &model_b));
    Runner runner_a, runner_b;
    MIXQ_RETURN_IF_ERROR(runner_a.Init(model_a, tune_.num_threads));
    MIXQ_RETURN_IF_ERROR(runner_b.Init(model_b, tune_.num_threads));
    MIXQ_RETURN_IF_ERROR(reader_.Reset());
    bool more = false;
    MIXQ_RETURN_IF_ERROR(reader_.Next(&more));
    if (!more) return Internal("TunePrecision: no sample to time");
    *a_ms = *b_ms = std::numeric_limits<double>::infinity();
    for (int round = 0; round < kPairRounds; ++round) {
      double ms = 0;
      MIXQ_RETURN_IF_ERROR(runner_a.Time(reader_, tune_.latency_runs, &ms));
      *a_ms = std::min(*a_ms, ms);
      MIXQ_RETURN_IF_ERROR(runner_b.Time(reader_, tune_.latency_runs, &ms));
      *b_ms = std::min(*b_ms, ms);
    }
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

// TuneOptions::prefer_faster: each operator the meeting plan promoted is
// tried at its other precisions above where it started, one at a time on the
// best plan so far; a variant is kept when it meets the target and measured
// at least 5 % faster than the best plan, the two timed in turn (`pair`: the
// margin and the pairing keep timing noise from deciding).
template <typename Spent, typename Evaluate, typename Pair>
Status PreferFaster(const AccuracyAnalysis& analysis, Spent spent, const TuneOptions& options, Evaluate evaluate,
                    Pair pair, TuneResult* result) {
  std::map<std::string, int> start;  // node -> its level in the starting plan
  for (const OperatorImpact& op : analysis.ranking) start[op.node] = LevelOf(op.precision);
  const std::map<std::string, std::string> promoted = result->chosen.node_precision;
  for (const auto& [node, precision] : promoted) {
    const auto it = start.find(node);
    if (it == start.end()) continue;  // set by the configuration, not by the search
    for (int level = it->second + 1; level < kLevels; ++level) {
      if (spent() > options.time_budget_seconds) {
        result->stop_reason = "target met; time budget spent while trying faster variants";
        return Status::OK();
      }
      if (result->chosen.node_precision.at(node) == kLadder[level]) continue;
      std::map<std::string, std::string> variant = result->chosen.node_precision;
      variant[node] = kLadder[level];
      MIXQ_RETURN_IF_ERROR(evaluate(variant));
      const TuneCandidate& c = result->trajectory.back();
      if (!c.meets_target) continue;
      TuneComparison comparison;
      comparison.best = result->chosen.node_precision;
      comparison.variant = c.node_precision;
      MIXQ_RETURN_IF_ERROR(pair(comparison.best, comparison.variant, &comparison.best_ms, &comparison.variant_ms));
      comparison.kept = comparison.variant_ms < 0.95 * comparison.best_ms;
      if (comparison.kept) result->chosen = c;
      result->comparisons.push_back(std::move(comparison));
    }
  }
  return Status::OK();
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
  // Validates network, config and data, and gives the harm order.
  AccuracyAnalysis analysis;
  AnalysisOptions analysis_options;
  analysis_options.max_samples = options.max_samples;
  analysis_options.num_threads = options.num_threads;
  MIXQ_RETURN_IF_ERROR(
      WithContext(AnalyzeAccuracy(network, config, data, analysis_options, &analysis), "TunePrecision"));
  api::NetworkImpl* impl = api::ToImpl(network);
  api::BuilderConfigImpl defaults;
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
    if (options.prefer_faster)
      MIXQ_RETURN_IF_ERROR(PreferFaster(analysis, spent, options, evaluate_plan, pair, result));
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
