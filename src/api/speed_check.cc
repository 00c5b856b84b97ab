#include "api/speed_check.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "api/model_impl.h"
#include "ops/op_schema.h"
#include "passes/build_pipeline.h"
#include "runtime/engine.h"
#include "util/half.h"
#include "util/status_util.h"

namespace mixq::api {

namespace {

constexpr int kWarmupRuns = 2;
constexpr int kTimedRounds = 7;    // per-step minima: deciding which operators move
constexpr int kVerifyRounds = 15;  // whole-plan minima: a few percent apart at most

std::string Ms(double ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", ms);
  return text;
}

bool IsQuantized(DataType t) {
  return t == DataType::QINT8 || t == DataType::QINT16;
}

// One plan on one thread with fixed pseudo-random inputs, every step timed.
class PlanTimer {
 public:
  Status Init(std::shared_ptr<const format::ModelData> model) {
    for (int id : model->graph.inputs()) {
      const ir::Value& v = *model->graph.value(id);
      if (!ir::IsStatic(v.shape))
        return FailedPrecondition(
            "precision_config.speed_check times the plans, so it needs static input dims: input '", v.name,
            "' has dims ", ir::ShapeString(v.shape),
            " (fix them when building the network, e.g. mixq build --input-shape ", v.name, ":...)");
      dims_.emplace_back(v.shape);
    }
    model_ = std::make_unique<ModelImpl>(std::move(model));
    engine_ = model_->CreateIEngine();
    if (!engine_) return model_->GetLastStatus();
    ContextOptions options;
    options.num_threads = 1;
    options.profile = true;
    context_ = engine_->CreateIContext(options);
    impl_ = dynamic_cast<runtime::ContextImpl*>(context_.get());
    if (!impl_) return Internal("speed check: the context is not mixq's runtime context");
    MIXQ_RETURN_IF_ERROR(context_->CreateInputTensors(&in_));
    MIXQ_RETURN_IF_ERROR(context_->CreateOutputTensors(&out_));
    const std::vector<DataType> types = engine_->GetInputDataTypes();
    std::mt19937 rng(1234);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (size_t i = 0; i < in_.size(); ++i) {
      MIXQ_RETURN_IF_ERROR(in_[i]->SetDimensions(dims_[i]));
      const int64_t count = dims_[i].GetElementCount();
      std::vector<uint8_t> bytes(static_cast<size_t>(count) * DataTypeSize(types[i]), 0);
      for (int64_t e = 0; e < count; ++e) {  // other types stay zero: valid indices, neutral flags
        if (types[i] == DataType::FLOAT32)
          reinterpret_cast<float*>(bytes.data())[e] = uniform(rng);
        else if (types[i] == DataType::FLOAT16)
          reinterpret_cast<uint16_t*>(bytes.data())[e] = FloatToHalf(uniform(rng));
      }
      inputs_.push_back(std::move(bytes));
    }
    for (size_t i = 0; i < in_.size(); ++i) MIXQ_RETURN_IF_ERROR(in_[i]->SetData(inputs_[i].data(), inputs_[i].size()));
    return Status::OK();
  }

  Status Run() {
    const auto start = std::chrono::steady_clock::now();
    MIXQ_RETURN_IF_ERROR(context_->Enqueue(in_, out_));
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (++runs_ > kWarmupRuns) best_ms_ = std::min(best_ms_, ms);
    return Status::OK();
  }

  double best_ms() const { return best_ms_; }
  // Forget the fastest whole run so far (a warm plan timed again).
  void ResetBest() { best_ms_ = 1e300; }
  const runtime::ContextImpl& context() const { return *impl_; }
  double StepMs(size_t step) const { return static_cast<double>(impl_->StepMinNanos()[step]) / 1e6; }

 private:
  std::vector<Dims> dims_;
  std::unique_ptr<ModelImpl> model_;
  std::unique_ptr<IEngine> engine_;
  std::unique_ptr<IContext> context_;
  runtime::ContextImpl* impl_ = nullptr;
  std::vector<std::unique_ptr<IRTTensor>> in_, out_;
  std::vector<std::vector<uint8_t>> inputs_;
  int runs_ = 0;
  double best_ms_ = 1e300;
};

// Runs the timers in turn: warm-up, then `rounds` rounds.
Status TimeInTurn(const std::vector<PlanTimer*>& timers, int rounds) {
  for (int r = 0; r < kWarmupRuns + rounds; ++r)
    for (PlanTimer* t : timers) MIXQ_RETURN_IF_ERROR(t->Run());
  return Status::OK();
}

std::string NodeName(const runtime::ContextImpl& c, int node) {
  return c.graph().node(node)->name;
}

// The user chose this node's precision (SetPrecision, node_precision, a
// quantized input declaration): the check leaves it alone.
bool Pinned(const ir::Graph& network, const passes::BuildOptions& options, const std::string& name) {
  if (options.node_precision.count(name)) return true;
  const ir::Node* node = network.FindNode(name);
  if (!node) return false;
  if (!node->input_precision.empty()) return true;
  for (int id : node->inputs)
    if (id >= 0 && network.value(id)->boundary_precision) return true;
  return false;
}

// Pairs every quantized compute step of `q` with the float steps running the
// same graph nodes in `f`.
std::vector<OperatorTiming> PairSteps(const PlanTimer& q, const PlanTimer& f, const ir::Graph& network,
                                      const passes::BuildOptions& options) {
  const runtime::ContextImpl& qc = q.context();
  const runtime::ContextImpl& fc = f.context();
  std::map<std::string, size_t> float_step;  // graph node name -> the float step running it
  for (size_t s = 0; s < fc.plan().steps.size(); ++s) {
    const runtime::PlanStep& step = fc.plan().steps[s];
    if (step.node >= 0) float_step[NodeName(fc, step.node)] = s;
    for (int n : step.fused) float_step[NodeName(fc, n)] = s;
  }
  const runtime::ExecutionPlan& plan = qc.plan();
  std::vector<int> producer(plan.buffers.size(), -1), readers(plan.buffers.size(), 0);
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    for (int b : plan.steps[s].outputs)
      if (b >= 0) producer[static_cast<size_t>(b)] = static_cast<int>(s);
    for (int b : plan.steps[s].inputs)
      if (b >= 0) ++readers[static_cast<size_t>(b)];
  }
  // What quantizing a float tensor costs per element here: the cheapest
  // Quantize step of the plan. An operator moved to float writes float where
  // it wrote integers, and its integer readers then need such a step.
  double quantize_ms_per_element = 0;
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    const runtime::PlanStep& step = plan.steps[s];
    if (step.op != OpKind::kConvert || step.inputs.empty() || step.outputs.empty()) continue;
    const ops::ValueInfo& from = plan.buffers[static_cast<size_t>(step.inputs[0])].info;
    const ops::ValueInfo& to = plan.buffers[static_cast<size_t>(step.outputs[0])].info;
    const int64_t elements = ir::ElementCount(to.shape);
    if (!to.quant || from.quant || elements < 4096) continue;  // a Quantize of a tensor big enough to time
    const double per_element = q.StepMs(s) / static_cast<double>(elements);
    if (quantize_ms_per_element == 0 || per_element < quantize_ms_per_element) quantize_ms_per_element = per_element;
  }
  std::vector<OperatorTiming> timings;
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    const runtime::PlanStep& step = plan.steps[s];
    if (step.node < 0) continue;
    const ir::Node& node = *qc.graph().node(step.node);
    if (ops::GetSchema(node.op).quant.quantizable_inputs.empty()) continue;
    if (std::none_of(node.input_compute.begin(), node.input_compute.end(), IsQuantized)) continue;
    auto own = float_step.find(node.name);
    if (own == float_step.end()) continue;  // nothing to compare with
    OperatorTiming t;
    t.node = node.name;
    t.quantized_kernel = step.def ? step.def->name : "?";
    t.float_kernel = fc.plan().steps[own->second].def ? fc.plan().steps[own->second].def->name : "?";
    t.quantized_ms = q.StepMs(s);
    // The Quantize steps that exist only for this operator go with it.
    for (int b : step.inputs) {
      if (b < 0) continue;
      const int p = producer[static_cast<size_t>(b)];
      if (p >= 0 && plan.steps[static_cast<size_t>(p)].op == OpKind::kConvert && readers[static_cast<size_t>(b)] == 1)
        t.quantized_ms += q.StepMs(static_cast<size_t>(p));
    }
    for (int b : step.outputs)
      if (b >= 0 && plan.buffers[static_cast<size_t>(b)].info.quant)
        t.float_ms += quantize_ms_per_element *
                      static_cast<double>(ir::ElementCount(plan.buffers[static_cast<size_t>(b)].info.shape));
    std::set<size_t> float_steps{own->second};
    for (int n : step.fused)
      if (auto it = float_step.find(NodeName(qc, n)); it != float_step.end()) float_steps.insert(it->second);
    for (size_t fs : float_steps) t.float_ms += f.StepMs(fs);
    t.pinned = Pinned(network, options, node.name);
    timings.push_back(t);
  }
  return timings;
}

Status AddReportLine(const std::string& line, format::ModelData* model) {
  nlohmann::json doc = nlohmann::json::parse(model->report_json, nullptr, false);
  if (!doc.is_object()) return Internal("speed check: the build's precision report is not a JSON object");
  doc["transforms"].push_back(line);
  model->report_json = doc.dump();
  return Status::OK();
}

std::string FloatMode(const std::string& mode) {
  return mode.ends_with("_float16") ? "force_float16" : "force_float32";
}

}  // namespace

std::map<std::string, std::string> SlowerQuantizedOperators(const std::vector<OperatorTiming>& timings,
                                                            const std::string& float_type) {
  std::map<std::string, std::string> slower;
  for (const OperatorTiming& t : timings) {
    if (t.pinned) continue;
    const double gain = t.quantized_ms - t.float_ms;
    if (gain < kSpeedCheckMinGainMs || t.quantized_ms <= t.float_ms * (1 + kSpeedCheckMargin)) continue;
    slower[t.node] =
        StrCat("speed_check: quantized kernel ", t.quantized_kernel, " took ", Ms(t.quantized_ms), " ms, ", float_type,
               " kernel ", t.float_kernel, " ", Ms(t.float_ms), " ms on this CPU (1 thread): kept in ", float_type);
  }
  return slower;
}

Status RunSpeedCheck(const SpeedCheckBuild& in, std::shared_ptr<format::ModelData>* model) {
  passes::BuildOptions float_options = in.options;
  float_options.precision_mode = FloatMode(in.options.precision_mode);
  float_options.speed_check = "off";
  auto float_model = std::make_shared<format::ModelData>();
  MIXQ_RETURN_IF_ERROR(WithContext(passes::BuildModelData(in.name, *in.network, float_options, in.calibrated,
                                                          in.config_json, float_model.get(), in.channels),
                                   "speed check, float build"));
  PlanTimer quantized, floating;
  MIXQ_RETURN_IF_ERROR(quantized.Init(*model));
  MIXQ_RETURN_IF_ERROR(floating.Init(float_model));
  MIXQ_RETURN_IF_ERROR(TimeInTurn({&quantized, &floating}, kTimedRounds));
  const std::vector<OperatorTiming> timings = PairSteps(quantized, floating, *in.network, in.options);
  const std::string float_type = float_options.precision_mode == "force_float16" ? "FLOAT16" : "FLOAT32";
  const std::map<std::string, std::string> slower = SlowerQuantizedOperators(timings, float_type);
  const std::string head = "speed_check (1 thread): ";
  if (slower.empty())
    return AddReportLine(
        StrCat(head, "none of ", timings.size(), " quantized operators measured slower than ", float_type, "; plan ",
               Ms(quantized.best_ms()), " ms, all ", float_type, " ", Ms(floating.best_ms()), " ms"),
        model->get());

  passes::BuildOptions keep_options = in.options;
  keep_options.keep_float = slower;
  auto kept = std::make_shared<format::ModelData>();
  MIXQ_RETURN_IF_ERROR(WithContext(passes::BuildModelData(in.name, *in.network, keep_options, in.calibrated,
                                                          in.config_json, kept.get(), in.channels),
                                   "speed check, rebuild"));
  // The quantized plan's timer is warm already: it times the "before" side.
  PlanTimer& before = quantized;
  before.ResetBest();
  PlanTimer after;
  MIXQ_RETURN_IF_ERROR(after.Init(kept));
  MIXQ_RETURN_IF_ERROR(TimeInTurn({&before, &after}, kVerifyRounds));
  if (after.best_ms() < before.best_ms()) {
    MIXQ_RETURN_IF_ERROR(AddReportLine(
        StrCat(head, slower.size(), " of ", timings.size(), " quantized operators kept in ", float_type,
               " (measured slower quantized); plan ", Ms(after.best_ms()), " ms against ", Ms(before.best_ms()),
               " ms with them quantized, all ", float_type, " ", Ms(floating.best_ms()), " ms"),
        kept.get()));
    *model = kept;
    return Status::OK();
  }
  return AddReportLine(StrCat(head, slower.size(), " of ", timings.size(), " quantized operators measured slower than ",
                              float_type, " one by one, but the plan with them in ", float_type, " took ",
                              Ms(after.best_ms()), " ms against ", Ms(before.best_ms()), " ms: all kept quantized"),
                       model->get());
}

}  // namespace mixq::api
