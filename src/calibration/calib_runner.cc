#include "calibration/calib_runner.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <set>
#include <string>

#include "ops/graph_verifier.h"
#include "passes/build_pipeline.h"
#include "passes/graph_edit.h"
#include "runtime/engine.h"
#include "util/status_util.h"

namespace mixq::quant {

ir::Graph GraphWithoutPrecisionChoices(const ir::Graph& graph) {
  ir::Graph copy = graph;
  for (size_t n = 0; n < copy.node_count(); ++n) {
    ir::Node* node = copy.node(static_cast<int>(n));
    node->input_precision.clear();
    node->output_type.clear();
  }
  for (size_t v = 0; v < copy.value_count(); ++v) {
    ir::Value* value = copy.value(static_cast<int>(v));
    value->boundary_precision.reset();
    value->range.reset();
  }
  return copy;
}

namespace {

// Where the data of one observed tensor comes from.
struct Tap {
  std::string name;
  int input_index = -1;   // a network input: the sample itself
  int output_index = -1;  // observe_as_outputs: an output of the float build
  int value = -1;         // else: the value the step observer reports
};

// The network with every precision choice removed (the float run must not
// need ranges) and the observed node outputs marked as graph outputs.
ir::Graph FloatGraphWithTaps(const ir::Graph& graph, const std::map<std::string, int>& observed) {
  ir::Graph copy = GraphWithoutPrecisionChoices(graph);
  for (const auto& [name, bits] : observed) {
    const ir::Value* v = copy.FindValue(name);
    if (!v || v->producer < 0) continue;
    bool already = false;
    for (int out : copy.outputs()) already = already || out == v->id;
    if (!already) copy.MarkOutput(v->id);
  }
  return copy;
}

Status CheckSample(const ir::Value& input, size_t input_index, int64_t sample, CalibDataInterface* data, Dims* dims,
                   void** bytes) {
  const std::string where = StrCat("Calibrate: sample ", sample, " of input ", input_index, " ('", input.name, "')");
  *dims = data->GetShape();
  if (dims->GetDimsNum() != static_cast<int64_t>(input.shape.size()))
    return InvalidArgument(where, " has dims ", dims->ToString(), " of rank ", dims->GetDimsNum(), "; the input is ",
                           ir::ShapeString(input.shape), " of rank ", input.shape.size());
  int64_t count = 1;
  for (size_t d = 0; d < input.shape.size(); ++d) {
    const int64_t given = dims->GetDims()[d];
    if (given < 0 || (input.shape[d] >= 0 && input.shape[d] != given))
      return InvalidArgument(where, " has dims ", dims->ToString(), "; the input takes ", ir::ShapeString(input.shape),
                             " (-1: any size)");
    if (given > 0 && count > std::numeric_limits<int64_t>::max() / 16 / given)
      return InvalidArgument(where, " has dims ", dims->ToString(), " whose element count overflows");
    count *= given;
  }
  const DataType type = data->GetDataType();
  if (type != input.dtype)
    return InvalidArgument(where, " is ", DataTypeName(type), " data; the input takes ", DataTypeName(input.dtype),
                           input.boundary_precision ? " (a quantized input receives float data)" : "");
  *bytes = data->GetSample();
  if (*bytes == nullptr && count > 0) return InvalidArgument(where, ": GetSample() returned null");
  return Status::OK();
}

// Advances every input to its next sample. *done: all inputs reported
// OUT_OF_RANGE together.
Status NextSample(const ir::Graph& graph, const std::vector<CalibDataInterface*>& data, int64_t sample, bool* done) {
  std::string ended, more;
  for (size_t k = 0; k < data.size(); ++k) {
    const Status status = data[k]->Next();
    const std::string name = StrCat("'", graph.value(graph.inputs()[k])->name, "'");
    if (status.code() == StatusCode::OUT_OF_RANGE) {
      ended += (ended.empty() ? "" : ", ") + name;
    } else if (!status.ok()) {
      return WithContext(status, StrCat("Calibrate: Next() for sample ", sample, " of input ", k, " (", name, ")"));
    } else {
      more += (more.empty() ? "" : ", ") + name;
    }
  }
  *done = more.empty();
  if (!ended.empty() && !more.empty())
    return InvalidArgument("Calibrate: the inputs ran out at different samples: at sample ", sample, " input(s) ",
                           ended, " ended but ", more, " did not (every input needs one sample per step)");
  return Status::OK();
}

// Per-channel sums / maxima of one tensor over every sample.
struct ChannelTap {
  int64_t axis = -1;  // negative: from the end
  bool mean = false;  // else absmax
  std::vector<double> values;
  int64_t count = 0;  // elements per channel seen (for the mean)

  Status Observe(const std::string& name, const float* x, const Dims& dims) {
    const int64_t rank = dims.GetDimsNum();
    const int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) return Internal("Calibrate: tensor '", name, "' has no axis ", axis);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < a; ++d) outer *= dims.GetDims()[d];
    for (int64_t d = a + 1; d < rank; ++d) inner *= dims.GetDims()[d];
    const int64_t channels = dims.GetDims()[a];
    if (values.empty()) values.assign(static_cast<size_t>(channels), 0.0);
    if (static_cast<int64_t>(values.size()) != channels)
      return InvalidArgument("Calibrate: tensor '", name, "' has ", channels, " channels on axis ", a,
                             " in one sample and ", values.size(), " in another");
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t c = 0; c < channels; ++c) {
        const float* p = x + (o * channels + c) * inner;
        double& v = values[static_cast<size_t>(c)];
        for (int64_t i = 0; i < inner; ++i) {
          if (!std::isfinite(p[i])) continue;
          v = mean ? v + p[i] : std::max(v, static_cast<double>(std::fabs(p[i])));
        }
      }
    count += outer * inner;
    return Status::OK();
  }
  std::vector<double> Result() const {
    std::vector<double> out = values;
    if (mean && count > 0)
      for (double& v : out) v /= static_cast<double>(count);
    return out;
  }
};

// `layout`: kPlain, or the blocked layout (nChw8c / nChw16c) the data is
// stored in, for the names RunSamples was given as any_layout.
using TapFn =
    std::function<Status(const std::string& name, const float* data, const Dims& dims, ops::MemoryLayout layout)>;

// Runs the float build of `graph` (already prepared) over every sample and
// hands each tensor in `names` to `fn`; `progress`: report samples.
// With `kept`, the first run.keep_samples samples are copied there.
Status RunSamples(const ir::Graph& graph, const CalibrationRun& run, const std::set<std::string>& names, bool progress,
                  const TapFn& fn, KeptSamples* kept = nullptr, const std::set<std::string>& any_layout = {}) {
  const size_t num_inputs = graph.inputs().size();
  std::map<std::string, int> tapped;
  for (const auto& name : names) tapped[name] = 8;
  auto model = std::make_shared<format::ModelData>();
  MIXQ_RETURN_IF_ERROR(WithContext(passes::BuildModelData("calibration", FloatGraphWithTaps(graph, tapped),
                                                          passes::BuildOptions{}, {}, "{}", model.get()),
                                   "Calibrate: building the float network"));
  if (!run.observe_as_outputs) {
    // The build kept every tapped tensor (a graph output); the run observes
    // them in place, so only the network's own outputs remain outputs.
    std::vector<int>& outputs = model->graph.mutable_outputs();
    if (outputs.size() < graph.outputs().size()) return Internal("Calibrate: the float build lost outputs");
    for (size_t o = 0; o < graph.outputs().size(); ++o)
      if (model->graph.value(outputs[o])->name != graph.value(graph.outputs()[o])->name)
        return Internal("Calibrate: output ", o, " of the float build is '", model->graph.value(outputs[o])->name,
                        "', not '", graph.value(graph.outputs()[o])->name, "'");
    outputs.resize(graph.outputs().size());
  }
  std::shared_ptr<const runtime::EngineState> engine;
  MIXQ_RETURN_IF_ERROR(WithContext(runtime::MakeEngineState(model, &engine), "Calibrate"));
  runtime::ContextImpl context(engine, ContextOptions{});

  std::vector<Tap> taps;
  const ir::Graph& built = engine->graph;
  std::map<int, size_t> tap_of_value;
  for (const auto& name : names) {
    Tap tap{name, -1, -1, -1};
    for (size_t k = 0; k < num_inputs; ++k)
      if (graph.value(graph.inputs()[k])->name == name) tap.input_index = static_cast<int>(k);
    if (tap.input_index < 0 && run.observe_as_outputs) {
      for (size_t o = 0; o < built.outputs().size(); ++o)
        if (built.value(built.outputs()[o])->name == name) tap.output_index = static_cast<int>(o);
    } else if (tap.input_index < 0) {
      const ir::Value* v = built.FindValue(name);
      if (v && v->producer >= 0) tap.value = v->id;
    }
    if (tap.input_index < 0 && tap.output_index < 0 && tap.value < 0)
      return Internal("Calibrate: tensor '", name, "' is neither an input nor a node output of the float build");
    if (tap.value >= 0) tap_of_value[tap.value] = taps.size();
    taps.push_back(tap);
  }
  if (!tap_of_value.empty()) {
    std::vector<int> values, blocked_ok;
    for (const auto& [value, index] : tap_of_value) {
      values.push_back(value);
      if (any_layout.count(taps[index].name)) blocked_ok.push_back(value);
    }
    context.SetStepObserver(
        values,
        [&](int value, const ops::TensorView& data, ops::MemoryLayout layout) -> Status {
          const Tap& tap = taps[tap_of_value.at(value)];
          if (data.dtype != DataType::FLOAT32)
            return Internal("Calibrate: tensor '", tap.name, "' is stored as ", DataTypeName(data.dtype),
                            " in the float build");
          return fn(tap.name, static_cast<const float*>(data.data), Dims(data.shape), layout);
        },
        blocked_ok);
  }

  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  MIXQ_RETURN_IF_ERROR(context.CreateInputTensors(&inputs));
  MIXQ_RETURN_IF_ERROR(context.CreateOutputTensors(&outputs));
  for (size_t k = 0; k < num_inputs; ++k)
    MIXQ_RETURN_IF_ERROR(WithContext(run.data[k]->Reset(), StrCat("Calibrate: Reset() of input ", k, " ('",
                                                                  graph.value(graph.inputs()[k])->name, "')")));
  const int64_t total = run.data[0]->GetSampleCount();
  std::vector<Dims> dims(num_inputs);
  std::vector<void*> samples(num_inputs);
  int64_t sample = 0;
  for (;; ++sample) {
    bool done = false;
    MIXQ_RETURN_IF_ERROR(NextSample(graph, run.data, sample, &done));
    if (done) break;
    for (size_t k = 0; k < num_inputs; ++k) {
      MIXQ_RETURN_IF_ERROR(CheckSample(*graph.value(graph.inputs()[k]), k, sample, run.data[k], &dims[k], &samples[k]));
      const size_t bytes = static_cast<size_t>(dims[k].GetElementCount()) * DataTypeSize(inputs[k]->GetDataType());
      MIXQ_RETURN_IF_ERROR(inputs[k]->SetDimensions(dims[k]));
      MIXQ_RETURN_IF_ERROR(inputs[k]->SetData(samples[k], bytes));
      if (kept && sample < run.keep_samples) {
        if (k == 0) kept->emplace_back();
        const auto* begin = static_cast<const uint8_t*>(samples[k]);
        kept->back().push_back(
            KeptInput{dims[k], inputs[k]->GetDataType(), std::vector<uint8_t>(begin, begin + bytes)});
      }
    }
    MIXQ_RETURN_IF_ERROR(
        WithContext(static_cast<IContext&>(context).Enqueue(inputs, outputs), StrCat("Calibrate: sample ", sample)));
    for (const Tap& tap : taps) {
      if (tap.input_index >= 0) {
        const size_t k = static_cast<size_t>(tap.input_index);
        MIXQ_RETURN_IF_ERROR(fn(tap.name, static_cast<const float*>(samples[k]), dims[k], ops::MemoryLayout::kPlain));
      } else if (tap.output_index >= 0) {
        const IRTTensor& out = *outputs[static_cast<size_t>(tap.output_index)];
        MIXQ_RETURN_IF_ERROR(
            fn(tap.name, static_cast<const float*>(out.GetData()), out.GetDimensions(), ops::MemoryLayout::kPlain));
      }
    }
    if (progress && run.progress) run.progress(sample + 1, total);
  }
  if (sample == 0) return FailedPrecondition("Calibrate: the data interfaces gave no sample (Next() ended at once)");
  return Status::OK();
}

// Per-channel taps on the inputs of the Conv2D / FullyConnected / MatMul nodes whose
// weights `graph` (prepared) quantizes and whose input is quantized
// (`observed`), for bias correction.
Status MeanTaps(const ir::Graph& graph, const passes::BuildOptions& options, const std::map<std::string, int>& observed,
                std::map<std::string, ChannelTap>* taps) {
  ir::Graph planned = graph;
  passes::PrecisionReport report;
  MIXQ_RETURN_IF_ERROR(passes::PlanPrecision(&planned, options, {}, &report, /*require_activation_ranges=*/false));
  for (size_t n = 0; n < planned.node_count(); ++n) {
    const ir::Node& node = *planned.node(static_cast<int>(n));
    int bias_node = -1;
    size_t bias_input = 0;
    if (node.inputs.size() < 2 || node.inputs[0] < 0 || !passes::BiasOf(planned, node, &bias_node, &bias_input))
      continue;
    if (node.input_quant.size() < 2 || !node.input_quant[1] || node.input_quant[1]->dynamic) continue;
    if (!passes::FloatConstant(planned, node.inputs[1], -1)) continue;  // an activation times an activation
    const ir::Value& x = *planned.value(node.inputs[0]);
    int64_t axis = 0;
    if (!observed.count(x.name) || !passes::InputChannelAxis(node, static_cast<int64_t>(x.shape.size()), &axis))
      continue;
    ChannelTap tap;
    tap.axis = axis;
    tap.mean = true;
    taps->emplace(x.name, tap);  // a second reader with another layout keeps the first's axis
  }
  return Status::OK();
}

}  // namespace

Status RunCalibration(const ir::Graph& graph, const passes::BuildOptions& options, const CalibrationRun& run,
                      CalibrationState* state) {
  const size_t num_inputs = graph.inputs().size();
  if (run.data.size() != num_inputs)
    return InvalidArgument("Calibrate: the network has ", num_inputs, " inputs but the calibrator was given ",
                           run.data.size(), " data interfaces (one per input, in input order)");
  for (size_t k = 0; k < num_inputs; ++k)
    if (run.data[k] == nullptr)
      return InvalidArgument("Calibrate: the data interface for input ", k, " ('", graph.value(graph.inputs()[k])->name,
                             "') is null");
  if (run.kept) run.kept->clear();
  passes::ChannelStatistics channels;
  std::map<std::string, int> observed;
  MIXQ_RETURN_IF_ERROR(WithContext(PlanStaticActivations(graph, options, &observed), "Calibrate"));
  if (observed.empty())
    return FailedPrecondition("Calibrate: nothing to calibrate: with precision_mode '", options.precision_mode,
                              "' and activation_quant_mode '", options.activation_quant_mode,
                              "' no activation is quantized with a static range");
  std::map<std::string, std::vector<std::string>> folded;
  ir::Graph prepared = graph;
  MIXQ_RETURN_IF_ERROR(WithContext(ir::VerifyGraph(prepared), "Calibrate"));
  // SmoothQuant's scales come from the unsmoothed activations: a first pass
  // gathers their per-channel maxima, then the network is smoothed.
  if (options.smooth_quant_alpha >= 0.0) {
    passes::BuildOptions unsmoothed = options;
    unsmoothed.smooth_quant_alpha = -1.0;
    MIXQ_RETURN_IF_ERROR(
        WithContext(passes::PrepareForPlanning(&prepared, unsmoothed, nullptr, &folded, nullptr), "Calibrate"));
    std::map<std::string, ChannelTap> taps;
    std::set<std::string> names;
    for (const auto& [name, k] : passes::SmoothQuantCandidates(prepared)) {
      taps[name].axis = -1;
      names.insert(name);
    }
    if (!names.empty())
      MIXQ_RETURN_IF_ERROR(
          RunSamples(prepared, run, names, false,
                     [&](const std::string& name, const float* x, const Dims& dims, ops::MemoryLayout) {
                       return taps.at(name).Observe(name, x, dims);  // plain: no name is given as any_layout
                     }));
    for (const auto& [name, tap] : taps) channels.absmax[name] = tap.Result();
    prepared = graph;
    MIXQ_RETURN_IF_ERROR(WithContext(ir::VerifyGraph(prepared), "Calibrate"));
    MIXQ_RETURN_IF_ERROR(WithContext(PlanStaticActivations(graph, options, &observed, &channels), "Calibrate"));
  }
  // Without a transform the float run is the network's own, as it always was;
  // with one, the transformed network (tensors a fusion removed are not
  // observed: the build does not quantize them).
  const bool transformed =
      options.cross_layer_equalization || options.smooth_quant_alpha >= 0.0 || options.bias_correction;
  if (transformed) {
    folded.clear();
    MIXQ_RETURN_IF_ERROR(
        WithContext(passes::PrepareForPlanning(&prepared, options, &channels, &folded, nullptr), "Calibrate"));
  }
  std::map<std::string, ChannelTap> mean_taps;
  if (options.bias_correction)
    MIXQ_RETURN_IF_ERROR(WithContext(MeanTaps(prepared, options, observed, &mean_taps), "Calibrate"));

  std::map<std::string, TensorObserver> observers;
  std::set<std::string> names;
  for (const auto& [name, bits] : observed) {
    if (transformed && !prepared.FindValue(name)) continue;
    observers.emplace(name, TensorObserver(run.num_bins));
    names.insert(name);
  }
  // The statistics do not depend on the order of the values
  // (TensorObserver::ObserveBlocked), so tensors without a per-channel mean
  // tap may stay blocked between the convolutions: PP-OCRv4 rec at 2 threads,
  // 100 samples, Calibrate 1.47-1.55 -> 1.25 s against 0.80-0.87 s of float
  // inference (AMD Zen 4; the reorders around each observed convolution
  // output are gone).
  std::set<std::string> any_layout;
  for (const std::string& name : names)
    if (!mean_taps.count(name)) any_layout.insert(name);
  MIXQ_RETURN_IF_ERROR(RunSamples(
      transformed ? prepared : graph, run, names, true,
      [&](const std::string& name, const float* x, const Dims& dims, ops::MemoryLayout layout) -> Status {
        const int64_t block = ops::BlockChannels(layout);
        if (layout != ops::MemoryLayout::kPlain && block == 0)
          return Internal("Calibrate: tensor '", name, "' is stored in a layout the observer does not read");
        if (block == 0) {
          observers.at(name).Observe(x, dims.GetElementCount());
        } else {
          if (dims.GetDimsNum() != 4 || dims.GetDims()[1] % block != 0)
            return Internal("Calibrate: tensor '", name, "' is stored blocked but is not 4-D in whole channel blocks");
          const TensorObserver::BlockedOrder order{dims.GetDims()[0], dims.GetDims()[1], dims.GetDims()[2],
                                                   dims.GetDims()[3], block};
          observers.at(name).ObserveBlocked(x, order);
        }
        if (auto it = mean_taps.find(name); it != mean_taps.end()) return it->second.Observe(name, x, dims);
        return Status::OK();
      },
      run.kept, any_layout));
  for (const auto& [name, tap] : mean_taps) channels.mean[name] = tap.Result();
  state->observers = std::move(observers);
  state->table_ranges.clear();
  state->network_hash = NetworkHash(graph);
  state->channels = std::move(channels);
  state->cross_layer_equalization = options.cross_layer_equalization;
  state->cle_relu6 = options.cle_relu6;
  state->smooth_quant_alpha = options.smooth_quant_alpha;
  return Status::OK();
}

}  // namespace mixq::quant
