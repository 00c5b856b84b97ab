#include "calibration/auto_search.h"

#include <cmath>
#include <limits>
#include <memory>
#include <set>

#include "calibration/calib_runner.h"
#include "passes/build_pipeline.h"
#include "quant/range_auto.h"
#include "runtime/engine.h"
#include "util/half.h"
#include "util/status_util.h"

namespace mixq::quant {

namespace {

// The real-valued outputs of one run, by network output (empty: not real-valued).
using Outputs = std::vector<std::vector<float>>;

// One quantized tensor and its candidates, each giving another quantization.
struct Candidates {
  std::string name;
  std::vector<RangeAlgorithm> algorithms;
  std::vector<Range> ranges;  // by algorithm above
  size_t proxy = 0;           // index of quant::AutoRange's choice
};

using Assignment = std::vector<size_t>;  // candidate index by tensor

// Whether two ranges quantize alike: symmetric grids depend on max |x| only.
bool SameGrid(Range a, Range b, bool symmetric) {
  if (!symmetric) return a.min == b.min && a.max == b.max;
  auto t = [](Range r) { return std::max(std::fabs(std::min(r.min, 0.0f)), std::max(r.max, 0.0f)); };
  return t(a) == t(b);
}

Status ToFloats(const IRTTensor& tensor, std::vector<float>* values) {
  const int64_t n = tensor.GetDimensions().GetElementCount();
  values->resize(static_cast<size_t>(n));
  const void* data = tensor.GetData();
  switch (tensor.GetDataType()) {
    case DataType::FLOAT32:
      std::copy_n(static_cast<const float*>(data), n, values->begin());
      break;
    case DataType::FLOAT16:
      for (int64_t i = 0; i < n; ++i)
        (*values)[static_cast<size_t>(i)] = HalfToFloat(static_cast<const uint16_t*>(data)[i]);
      break;
    case DataType::BFLOAT16:
      for (int64_t i = 0; i < n; ++i)
        (*values)[static_cast<size_t>(i)] = BFloat16ToFloat(static_cast<const uint16_t*>(data)[i]);
      break;
    default:
      values->clear();  // not real numbers: not scored
  }
  return Status::OK();
}

// Runs `model` on every kept sample and hands each sample's outputs to `fn`.
Status RunKept(std::shared_ptr<const format::ModelData> model, const KeptSamples& samples,
               const std::function<Status(size_t sample, const Outputs&)>& fn) {
  std::shared_ptr<const runtime::EngineState> engine;
  MIXQ_RETURN_IF_ERROR(runtime::MakeEngineState(std::move(model), &engine));
  runtime::ContextImpl context(engine, ContextOptions{});
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  MIXQ_RETURN_IF_ERROR(context.CreateInputTensors(&inputs));
  MIXQ_RETURN_IF_ERROR(context.CreateOutputTensors(&outputs));
  Outputs values(outputs.size());
  for (size_t s = 0; s < samples.size(); ++s) {
    if (samples[s].size() != inputs.size())
      return Internal("auto search: kept sample ", s, " has ", samples[s].size(), " inputs, the network ",
                      inputs.size());
    for (size_t k = 0; k < inputs.size(); ++k) {
      const KeptInput& in = samples[s][k];
      if (in.type != inputs[k]->GetDataType())
        return FailedPrecondition("input '", inputs[k]->GetName(), "' of the quantized build takes ",
                                  DataTypeName(inputs[k]->GetDataType()), " but the samples are ",
                                  DataTypeName(in.type));
      MIXQ_RETURN_IF_ERROR(inputs[k]->SetDimensions(in.dims));
      // Kernels never write their inputs: the context reads the buffer in place.
      MIXQ_RETURN_IF_ERROR(inputs[k]->SetData(const_cast<uint8_t*>(in.bytes.data()), in.bytes.size()));
    }
    MIXQ_RETURN_IF_ERROR(
        WithContext(static_cast<IContext&>(context).Enqueue(inputs, outputs), StrCat("kept sample ", s)));
    for (size_t o = 0; o < outputs.size(); ++o) MIXQ_RETURN_IF_ERROR(ToFloats(*outputs[o], &values[o]));
    MIXQ_RETURN_IF_ERROR(fn(s, values));
  }
  return Status::OK();
}

// The network in float32 (no precision overrides, no ranges): the reference.
Status BuildReference(const ir::Graph& graph, std::shared_ptr<const format::ModelData>* model) {
  const ir::Graph copy = GraphWithoutPrecisionChoices(graph);
  auto data = std::make_shared<format::ModelData>();
  MIXQ_RETURN_IF_ERROR(
      WithContext(passes::BuildModelData("auto-reference", copy, passes::BuildOptions{}, {}, "{}", data.get()),
                  "auto search: the float32 build"));
  *model = std::move(data);
  return Status::OK();
}

// What one choice of ranges scored on the kept samples.
struct Scored {
  double db = 0.0;            // SQNR over every sample and scored tensor; +inf when exact
  std::vector<double> noise;  // error energy by sample
};

class Search {
 public:
  Search(const ir::Graph& graph, const passes::BuildOptions& options, const KeptSamples& samples,
         const CalibrationState& state)
      : graph_(graph), options_(options), samples_(samples), state_(state) {}

  Status Init() {
    // A Softmax output is scored at its input (the logits), marked as an extra output.
    scored_graph_ = graph_;
    scored_.assign(graph_.outputs().size(), true);
    for (size_t o = 0; o < graph_.outputs().size(); ++o) {
      const ir::Value& v = *graph_.value(graph_.outputs()[o]);
      if (v.producer < 0 || graph_.node(v.producer)->op != OpKind::kSoftmax) continue;
      const int logits = graph_.node(v.producer)->inputs.at(0);
      if (logits < 0) continue;
      bool marked = false;
      for (int out : scored_graph_.outputs()) marked = marked || out == logits;
      if (!marked) {
        scored_graph_.MarkOutput(logits);
        scored_.push_back(true);
      }
      scored_[o] = false;
    }
    std::shared_ptr<const format::ModelData> reference;
    MIXQ_RETURN_IF_ERROR(BuildReference(scored_graph_, &reference));
    MIXQ_RETURN_IF_ERROR(RunKept(reference, samples_, [&](size_t, const Outputs& outputs) {
      reference_.push_back(outputs);
      for (size_t o = 0; o < outputs.size() && o < scored_.size(); ++o)
        if (!scored_[o]) reference_.back()[o] = {};  // kept only where scored
      return Status::OK();
    }));
    bool scored = false;
    for (size_t o = 0; o < scored_.size(); ++o) scored = scored || (scored_[o] && !reference_.front().at(o).empty());
    if (!scored) return FailedPrecondition("the network has no real-valued output to measure the error on");
    return FindCandidates();
  }

  const std::vector<Candidates>& tensors() const { return tensors_; }

  // The quantized build with these choices against the float32 build. A
  // choice scored before (a start met again in a pass) is not built again.
  Status Score(const Assignment& assignment, const Scored** out) {
    if (auto known = scores_.find(assignment); known != scores_.end()) {
      *out = &known->second;
      return Status::OK();
    }
    passes::CalibratedRanges ranges;
    for (size_t t = 0; t < tensors_.size(); ++t) ranges[tensors_[t].name] = tensors_[t].ranges[assignment[t]];
    auto model = std::make_shared<format::ModelData>();
    MIXQ_RETURN_IF_ERROR(WithContext(
        passes::BuildModelData("auto-candidate", scored_graph_, options_, ranges, "{}", model.get(), &state_.channels),
        "auto search: a candidate build"));
    ++builds_;
    Scored scored;
    scored.noise.assign(samples_.size(), 0.0);
    double signal = 0.0, noise = 0.0;
    MIXQ_RETURN_IF_ERROR(RunKept(model, samples_, [&](size_t s, const Outputs& outputs) {
      const Outputs& want = reference_.at(s);
      if (outputs.size() != want.size()) return Internal("auto search: the candidate has other outputs");
      for (size_t o = 0; o < want.size(); ++o) {
        if (!scored_[o] || want[o].size() != outputs[o].size()) continue;  // not real-valued in one of them
        for (size_t i = 0; i < want[o].size(); ++i) {
          const double r = want[o][i], e = static_cast<double>(outputs[o][i]) - r;
          if (!std::isfinite(r) || !std::isfinite(e)) continue;
          signal += r * r;
          noise += e * e;
          scored.noise[s] += e * e;
        }
      }
      return Status::OK();
    }));
    scored.db = noise > 0.0 ? 10.0 * std::log10(signal / noise) : std::numeric_limits<double>::infinity();
    *out = &(scores_[assignment] = std::move(scored));
    return Status::OK();
  }

  int64_t builds() const { return builds_; }

 private:
  // The quantized tensors the state covers (as CalibratedRangesFor picks
  // them), in execution order, each with its distinct candidate ranges.
  Status FindCandidates() {
    std::map<std::string, int> bits;
    MIXQ_RETURN_IF_ERROR(PlanStaticActivations(graph_, options_, &bits, &state_.channels));
    std::vector<std::string> order;
    for (int id : graph_.inputs()) order.push_back(graph_.value(id)->name);
    std::vector<int> nodes;
    MIXQ_RETURN_IF_ERROR(graph_.TopologicalOrder(&nodes));
    for (int n : nodes)
      for (int out : graph_.node(n)->outputs) order.push_back(graph_.value(out)->name);
    std::set<std::string> seen;
    for (const auto& name : order)
      if (bits.count(name)) MIXQ_RETURN_IF_ERROR(AddTensor(name, bits.at(name), &seen));
    for (const auto& [name, b] : bits)  // tensors the build adds (SmoothQuant's), last
      MIXQ_RETURN_IF_ERROR(AddTensor(name, b, &seen));
    return Status::OK();
  }

  Status AddTensor(const std::string& name, int bits, std::set<std::string>* seen) {
    if (!seen->insert(name).second) return Status::OK();
    const auto observer = state_.observers.find(name);
    if (observer == state_.observers.end()) return Status::OK();
    const ir::Value* v = graph_.FindValue(name);
    if (options_.custom_ranges.count(name) || (v && v->range && v->range->force)) return Status::OK();
    RangeOptions range_options;
    range_options.bits = bits;
    range_options.symmetric = passes::SymmetricActivations(options_, bits);
    range_options.percentile = state_.percentile;
    Candidates c;
    c.name = name;
    for (RangeAlgorithm a :
         {RangeAlgorithm::kLinear, RangeAlgorithm::kEqnm, RangeAlgorithm::kEntropy, RangeAlgorithm::kPercentile}) {
      if (a == RangeAlgorithm::kEqnm && !range_options.symmetric) continue;
      range_options.algorithm = a;
      Range range;
      MIXQ_RETURN_IF_ERROR(
          WithContext(ComputeRange(observer->second, range_options, &range),
                      StrCat("auto search: the ", RangeAlgorithmName(a), " range of tensor '", name, "'")));
      c.algorithms.push_back(a);
      c.ranges.push_back(range);
    }
    range_options.algorithm = RangeAlgorithm::kAuto;
    Range proxy_range;
    RangeAlgorithm proxy = RangeAlgorithm::kLinear;
    MIXQ_RETURN_IF_ERROR(AutoRange(observer->second, range_options, &proxy_range, &proxy));
    for (size_t i = 0; i < c.algorithms.size(); ++i)
      if (c.algorithms[i] == proxy) c.proxy = i;
    tensors_.push_back(std::move(c));
    return Status::OK();
  }

  const ir::Graph& graph_;
  const passes::BuildOptions& options_;
  const KeptSamples& samples_;
  const CalibrationState& state_;
  std::vector<Outputs> reference_;  // by kept sample
  std::vector<Candidates> tensors_;
  ir::Graph scored_graph_;    // the network with the scored logits marked as outputs
  std::vector<bool> scored_;  // by output of scored_graph_
  std::map<Assignment, Scored> scores_;
  int64_t builds_ = 0;
};

// The candidate of tensor `t` that algorithm `a` gives, or the proxy's when
// `a` is not a candidate (eqnm under asymmetric quantization).
size_t IndexOf(const Candidates& c, RangeAlgorithm a) {
  for (size_t i = 0; i < c.algorithms.size(); ++i)
    if (c.algorithms[i] == a) return i;
  return c.proxy;
}

// The sign test a switch must pass besides raising the SQNR: the error
// falls on at least kMinAgreeingShare of the kept samples, so a switch that
// helps one or two samples a lot (and hurts the others) is not kept.
bool Agrees(const Scored& now, const Scored& then) {
  size_t better = 0;
  for (size_t s = 0; s < now.noise.size(); ++s) better += then.noise[s] < now.noise[s] ? 1 : 0;
  return static_cast<double>(better) >= kMinAgreeingShare * static_cast<double>(now.noise.size());
}

}  // namespace

Status SearchAutoRanges(const ir::Graph& graph, const passes::BuildOptions& options, const KeptSamples& samples,
                        const std::function<void(int64_t done, int64_t total)>& progress, CalibrationState* state,
                        AutoSearchReport* report) {
  *report = AutoSearchReport{};
  if (samples.empty()) return InvalidArgument("auto search: no kept sample");
  Search search(graph, options, samples, *state);
  MIXQ_RETURN_IF_ERROR(search.Init());
  const std::vector<Candidates>& tensors = search.tensors();
  const bool symmetric = options.activation_quant_algo == "symmetric";

  // Distinct other candidates of each tensor, for the progress total.
  int64_t alternatives = 0;
  for (const Candidates& c : tensors) {
    std::vector<Range> distinct;
    for (const Range& r : c.ranges) {
      bool known = false;
      for (const Range& d : distinct) known = known || SameGrid(r, d, symmetric);
      if (!known) distinct.push_back(r);
    }
    alternatives += static_cast<int64_t>(distinct.size()) - 1;
  }
  std::vector<std::pair<std::string, Assignment>> starts;
  Assignment proxy(tensors.size());
  for (size_t t = 0; t < tensors.size(); ++t) proxy[t] = tensors[t].proxy;
  starts.emplace_back("auto (proxy)", proxy);
  for (RangeAlgorithm a :
       {RangeAlgorithm::kLinear, RangeAlgorithm::kEqnm, RangeAlgorithm::kEntropy, RangeAlgorithm::kPercentile}) {
    if (a == RangeAlgorithm::kEqnm && !symmetric) continue;
    Assignment all(tensors.size());
    for (size_t t = 0; t < tensors.size(); ++t) all[t] = IndexOf(tensors[t], a);
    starts.emplace_back(RangeAlgorithmName(a), all);
  }
  const int64_t total = static_cast<int64_t>(starts.size()) + kMaxPasses * alternatives;
  auto tick = [&] {
    if (progress) progress(search.builds(), total);
  };
  if (progress) progress(0, total);

  Assignment current;
  const Scored* best = nullptr;
  for (const auto& [name, assignment] : starts) {
    const Scored* scored = nullptr;
    MIXQ_RETURN_IF_ERROR(search.Score(assignment, &scored));
    tick();
    report->starts.emplace_back(name, scored->db);
    if (!best || scored->db > best->db) best = scored, current = assignment, report->start = name;
  }

  for (int pass = 0; pass < kMaxPasses; ++pass) {
    ++report->passes;
    bool switched = false;
    for (size_t t = 0; t < tensors.size(); ++t) {
      const Candidates& c = tensors[t];
      size_t chosen = current[t];
      const Scored* chosen_score = best;
      std::vector<Range> tried{c.ranges[current[t]]};
      for (size_t i = 0; i < c.ranges.size(); ++i) {
        bool known = false;
        for (const Range& r : tried) known = known || SameGrid(c.ranges[i], r, symmetric);
        if (known) continue;
        tried.push_back(c.ranges[i]);
        Assignment trial = current;
        trial[t] = i;
        const Scored* scored = nullptr;
        MIXQ_RETURN_IF_ERROR(search.Score(trial, &scored));
        tick();
        if (scored->db > chosen_score->db + kMinGainDb && Agrees(*best, *scored)) chosen = i, chosen_score = scored;
      }
      if (chosen == current[t]) continue;
      report->switches.push_back(StrCat(c.name, ": ", RangeAlgorithmName(c.algorithms[current[t]]), " -> ",
                                        RangeAlgorithmName(c.algorithms[chosen]), " (", best->db, " -> ",
                                        chosen_score->db, " dB)"));
      current[t] = chosen;
      best = chosen_score;
      switched = true;
    }
    if (!switched) break;
  }
  if (progress) progress(total, total);
  report->final_db = best->db;
  report->builds = search.builds();
  state->auto_choice.clear();
  for (size_t t = 0; t < tensors.size(); ++t) state->auto_choice[tensors[t].name] = tensors[t].algorithms[current[t]];
  return Status::OK();
}

}  // namespace mixq::quant
