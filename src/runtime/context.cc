#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "ops/graph_verifier.h"
#include "runtime/engine.h"
#include "runtime/memory_budget.h"
#include "runtime/rt_tensor.h"
#include "util/half.h"
#include "util/status_util.h"

namespace mixq::runtime {

namespace {

constexpr int kMaxThreads = 1024;

// Sets the OpenMP thread count of the calling thread for one scope (oneDNN's
// primitives read it when they are created and when they run).
class ThreadScope {
 public:
  explicit ThreadScope(int threads) : previous_(omp_get_max_threads()), set_(threads > 0) {
    if (set_) omp_set_num_threads(threads);
  }
  ~ThreadScope() {
    if (set_) omp_set_num_threads(previous_);
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int previous_;
  bool set_;
};

float LoadReal(const void* data, DataType t, int64_t e) {
  if (t == DataType::FLOAT16) return HalfToFloat(static_cast<const uint16_t*>(data)[e]);
  if (t == DataType::BFLOAT16) return BFloat16ToFloat(static_cast<const uint16_t*>(data)[e]);
  return static_cast<const float*>(data)[e];
}

}  // namespace

Status ContextImpl::CreateInputTensors(std::vector<std::unique_ptr<IRTTensor>>* inputs) const {
  if (!inputs) return InvalidArgument("CreateInputTensors: the output vector is null");
  inputs->clear();
  for (size_t i = 0; i < graph().inputs().size(); ++i) {
    const ir::Value* v = graph().value(graph().inputs()[i]);
    inputs->push_back(CreateIRTTensor(state_->input_types[i], v->name, Dims(v->shape)));
  }
  return Status::OK();
}

Status ContextImpl::CreateOutputTensors(std::vector<std::unique_ptr<IRTTensor>>* outputs) const {
  if (!outputs) return InvalidArgument("CreateOutputTensors: the output vector is null");
  outputs->clear();
  for (size_t i = 0; i < graph().outputs().size(); ++i) {
    const ir::Value* v = graph().value(graph().outputs()[i]);
    outputs->push_back(CreateIRTTensor(state_->output_types[i], v->name, Dims(v->shape)));
  }
  return Status::OK();
}

Status ContextImpl::CheckInputDims(const std::vector<Dims>& dims) const {
  const auto& ids = graph().inputs();
  if (dims.size() != ids.size()) return InvalidArgument("the model has ", ids.size(), " inputs, got ", dims.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const ir::Value* v = graph().value(ids[i]);
    const auto& given = dims[i].GetDims();
    bool ok = given.size() == v->shape.size();
    for (size_t d = 0; ok && d < given.size(); ++d) ok = given[d] >= 0 && (v->shape[d] < 0 || v->shape[d] == given[d]);
    if (!ok)
      return InvalidArgument("input '", v->name, "' has dims ", dims[i].ToString(), " but the model expects ",
                             ir::ShapeString(v->shape), " (-1: any size)");
  }
  return Status::OK();
}

Status ContextImpl::CheckOptions() const {
  if (options_.num_threads < 0 || options_.num_threads > kMaxThreads)
    return InvalidArgument("ContextOptions::num_threads is ", options_.num_threads, "; expected 0 (the default) to ",
                           kMaxThreads);
  kernels::Isa isa;
  if (!options_.max_isa.empty() && !kernels::ParseIsa(options_.max_isa, &isa))
    return InvalidArgument("ContextOptions::max_isa is '", options_.max_isa,
                           "'; expected \"\", generic, avx2, avx512, avx512_vnni or amx");
  return Status::OK();
}

Status ContextImpl::InferOutputShape(const std::vector<Dims>& input_dims, std::vector<Dims>* output_dims) {
  if (!output_dims) return InvalidArgument("InferOutputShape: output_dims is null");
  MIXQ_RETURN_IF_ERROR(CheckInputDims(input_dims));
  std::vector<ir::Shape> shapes;
  for (const Dims& d : input_dims) shapes.push_back(d.GetDims());
  std::vector<int> order, steps;
  MIXQ_RETURN_IF_ERROR(graph().TopologicalOrder(&order));
  for (int id : order)
    if (graph().node(id)->op != OpKind::kConstant) steps.push_back(id);
  std::vector<ops::ValueInfo> infos;
  MIXQ_RETURN_IF_ERROR(ir::InferShapes(graph(), steps, shapes, &infos));
  output_dims->clear();
  for (int id : graph().outputs()) output_dims->emplace_back(infos[static_cast<size_t>(id)].shape);
  return Status::OK();
}

Status ContextImpl::Prepare(const std::vector<Dims>& input_dims) {
  MIXQ_RETURN_IF_ERROR(CheckOptions());
  MIXQ_RETURN_IF_ERROR(WithContext(CheckInputDims(input_dims), "Prepare"));
  std::vector<ir::Shape> shapes;
  for (const Dims& d : input_dims) shapes.push_back(d.GetDims());
  return PrepareShapes(shapes);
}

Status ContextImpl::PrepareShapes(const std::vector<ir::Shape>& input_shapes) {
  if (prepared_ && input_shapes == prepared_shapes_) return Status::OK();
  prepared_ = false;
  ThreadScope threads(options_.num_threads);
  LoweringOptions lowering;
  lowering.reference_only = options_.force_reference;
  lowering.max_isa = kernels::BestIsa();
  kernels::Isa cap;
  if (!options_.max_isa.empty() && kernels::ParseIsa(options_.max_isa, &cap) && cap < lowering.max_isa)
    lowering.max_isa = cap;
  lowering.observed = observed_;
  lowering.observed_any_layout = observed_any_layout_;
  // MIXQ_PLAIN_LAYOUTS=1 keeps every buffer plain: a diagnostic to measure
  // what the blocked layouts buy (docs/runtime.md), like MIXQ_MAX_ISA.
  const char* plain = std::getenv("MIXQ_PLAIN_LAYOUTS");
  lowering.blocked_layouts = blocked_layouts_ && !(plain && std::string(plain) == "1");
  MIXQ_RETURN_IF_ERROR(LowerToPlan(graph(), input_shapes, lowering, &state_->weights, &plan_));
  observed_after_.assign(plan_.steps.size(), {});
  observed_before_.clear();
  for (size_t v = 0; v < observed_.size(); ++v) {
    if (!observed_[v]) continue;
    const int b = plan_.value_buffer[v];
    if (b < 0) return Internal("observed tensor '", graph().value(static_cast<int>(v))->name, "' has no buffer");
    const int first = plan_.buffers[static_cast<size_t>(b)].first;
    if (first < 0)
      observed_before_.push_back(static_cast<int>(v));
    else
      observed_after_[static_cast<size_t>(first)].push_back(static_cast<int>(v));
  }
  for (const PlanBuffer& b : plan_.buffers)
    if (b.bytes < 0)
      return Internal("tensor '", b.name, "' has dims ", ir::ShapeString(b.info.shape),
                      " that are still unknown with concrete inputs");
  MIXQ_RETURN_IF_ERROR(CheckActivationBudget(plan_.arena_bytes, options_.max_activation_bytes));
  if (!arena_ || arena_->size() != static_cast<size_t>(plan_.arena_bytes)) {
    arena_.reset();
    arena_ = std::make_unique<ir::Buffer>(static_cast<size_t>(plan_.arena_bytes));
    if (!arena_->ok()) {
      const Status failed = ir::CheckAllocated(*arena_, "the activation arena");
      arena_.reset();
      return failed;
    }
  }
  run_quant_.assign(plan_.buffers.size(), ops::RunQuant{});
  for (size_t b = 0; b < plan_.buffers.size(); ++b) {
    const ops::ValueInfo& info = plan_.buffers[b].info;
    if (info.quant && !info.quant->dynamic && !info.quant->scales.empty()) {
      run_quant_[b].scale = info.quant->scales[0];
      run_quant_[b].zero_point = info.quant->zero_points.empty() ? 0 : info.quant->zero_points[0];
    }
  }
  step_ns_.assign(plan_.steps.size(), 0);
  run_ns_.assign(plan_.steps.size(), 0);
  min_ns_.clear();
  profiled_runs_ = 0;
  prepared_shapes_ = input_shapes;
  prepared_ = true;
  return Status::OK();
}

void ContextImpl::SetStepObserver(const std::vector<int>& values, StepObserver fn, const std::vector<int>& any_layout) {
  observed_.assign(values.empty() ? 0 : graph().value_count(), false);
  for (int v : values)
    if (v >= 0 && static_cast<size_t>(v) < observed_.size()) observed_[static_cast<size_t>(v)] = true;
  observed_any_layout_.assign(observed_.size(), false);
  for (int v : any_layout)
    if (v >= 0 && static_cast<size_t>(v) < observed_.size() && observed_[static_cast<size_t>(v)])
      observed_any_layout_[static_cast<size_t>(v)] = true;
  observer_ = std::move(fn);
  prepared_ = false;  // the plan keeps the observed tensors
  observed_after_.clear();
  observed_before_.clear();
}

Status ContextImpl::Enqueue(const std::vector<IRTTensor*>& inputs, const std::vector<IRTTensor*>& outputs) {
  const ir::Graph& g = graph();
  MIXQ_RETURN_IF_ERROR(CheckOptions());
  if (inputs.size() != g.inputs().size())
    return InvalidArgument("Enqueue: the model has ", g.inputs().size(), " inputs, got ", inputs.size());
  if (outputs.size() != g.outputs().size())
    return InvalidArgument("Enqueue: the model has ", g.outputs().size(), " outputs, got ", outputs.size());
  std::vector<Dims> dims;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = g.value(g.inputs()[i])->name;
    if (!inputs[i]) return InvalidArgument("Enqueue: input ", i, " ('", name, "') is null");
    if (inputs[i]->GetDataType() != state_->input_types[i])
      return InvalidArgument("Enqueue: input '", name, "' must be ", DataTypeName(state_->input_types[i]),
                             " data, got ", DataTypeName(inputs[i]->GetDataType()));
    dims.push_back(inputs[i]->GetDimensions());
  }
  for (size_t i = 0; i < outputs.size(); ++i)
    if (!outputs[i]) return InvalidArgument("Enqueue: output ", i, " ('", g.value(g.outputs()[i])->name, "') is null");
  MIXQ_RETURN_IF_ERROR(WithContext(CheckInputDims(dims), "Enqueue"));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = g.value(g.inputs()[i])->name;
    const size_t need = static_cast<size_t>(dims[i].GetElementCount()) * DataTypeSize(state_->input_types[i]);
    if (!inputs[i]->GetData() && need > 0)
      return InvalidArgument("Enqueue: input '", name, "' has no data (call SetData)");
    if (inputs[i]->GetSize() < need)
      return InvalidArgument("Enqueue: input '", name, "' holds ", inputs[i]->GetSize(), " bytes, dims ",
                             dims[i].ToString(), " of ", DataTypeName(state_->input_types[i]), " need ", need);
  }
  std::vector<ir::Shape> shapes;
  for (const Dims& d : dims) shapes.push_back(d.GetDims());
  MIXQ_RETURN_IF_ERROR(PrepareShapes(shapes));
  ThreadScope threads(options_.num_threads);

  buffer_data_.assign(plan_.buffers.size(), nullptr);
  auto* arena = static_cast<uint8_t*>(arena_->mutable_data());
  for (size_t b = 0; b < plan_.buffers.size(); ++b) {
    const PlanBuffer& buf = plan_.buffers[b];
    if (buf.offset >= 0)
      buffer_data_[b] = arena + buf.offset;
    else if (buf.info.const_data)
      buffer_data_[b] = const_cast<void*>(buf.info.const_data);
  }
  // Kernels never write their inputs, so user input buffers are read in place.
  for (size_t i = 0; i < inputs.size(); ++i) {
    const int b = plan_.value_buffer[static_cast<size_t>(g.inputs()[i])];
    if (b >= 0) buffer_data_[static_cast<size_t>(b)] = const_cast<void*>(inputs[i]->GetData());
  }
  if (trace_on_) trace_.clear();
  std::vector<ops::TensorView> in, out;
  auto view = [&](int b) -> ops::TensorView {
    if (b < 0) return {};
    const PlanBuffer& buf = plan_.buffers[static_cast<size_t>(b)];
    ops::TensorView v{buf.info.dtype, buf.info.shape, buffer_data_[static_cast<size_t>(b)]};
    if (buf.info.quant) v.quant = &run_quant_[static_cast<size_t>(b)];
    return v;
  };
  auto observe = [&](int value) {
    if (!observer_) return Status::OK();
    const int b = plan_.value_buffer[static_cast<size_t>(value)];
    return observer_(value, view(b),
                     b >= 0 ? plan_.buffers[static_cast<size_t>(b)].info.layout : ops::MemoryLayout::kPlain);
  };
  for (int value : observed_before_) MIXQ_RETURN_IF_ERROR(observe(value));
  using Clock = std::chrono::steady_clock;
  Clock::time_point last = options_.profile ? Clock::now() : Clock::time_point{};
  for (size_t s = 0; s < plan_.steps.size(); ++s) {
    const PlanStep& step = plan_.steps[s];
    in.clear();
    out.clear();
    for (int b : step.inputs) in.push_back(view(b));
    for (int b : step.outputs) out.push_back(view(b));
    Status status = step.kernel->Run(in, out);
    if (!status.ok()) return WithContext(status, step.node >= 0 ? ir::NodeLabel(g, *g.node(step.node)) : step.label);
    if (trace_on_) trace_.push_back(step.kernel->Name());
    for (int value : observed_after_[s]) MIXQ_RETURN_IF_ERROR(observe(value));
    if (options_.profile) {
      const Clock::time_point now = Clock::now();
      run_ns_[s] = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last).count();
      step_ns_[s] += run_ns_[s];
      last = now;
    }
  }
  if (options_.profile) {
    if (profiled_runs_++ == 0) first_ns_ = step_ns_;
    if (profiled_runs_ <= 2)  // the first run's one-time costs are replaced by the second's
      min_ns_ = run_ns_;
    else
      for (size_t s = 0; s < min_ns_.size(); ++s) min_ns_[s] = std::min(min_ns_[s], run_ns_[s]);
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const int id = g.outputs()[i];
    const int b = plan_.value_buffer[static_cast<size_t>(id)];
    if (b < 0) return Internal("network output '", g.value(id)->name, "' has no buffer in the plan");
    const PlanBuffer& buf = plan_.buffers[static_cast<size_t>(b)];
    auto* rt = dynamic_cast<RTTensorImpl*>(outputs[i]);
    if (!rt) return InvalidArgument("Enqueue: output ", i, " was not created by mixq (use CreateIRTTensor)");
    const DataType type = state_->output_types[i];
    if (rt->GetDataType() != type)
      return InvalidArgument("Enqueue: output '", rt->GetName(), "' is ", DataTypeName(rt->GetDataType()),
                             ", the model produces ", DataTypeName(type));
    const int64_t count = ir::ElementCount(buf.info.shape);
    MIXQ_RETURN_IF_ERROR(rt->PrepareOutput(Dims(buf.info.shape), static_cast<size_t>(count) * DataTypeSize(type)));
    const void* src = buffer_data_[static_cast<size_t>(b)];
    if (type == buf.info.dtype) {
      if (buf.bytes) std::memcpy(rt->GetMutableData(), src, static_cast<size_t>(buf.bytes));
    } else if (type == DataType::FLOAT16 || type == DataType::BFLOAT16 || type == DataType::FLOAT32) {
      for (int64_t e = 0; e < count; ++e) {
        const float x = LoadReal(src, buf.info.dtype, e);
        if (type == DataType::FLOAT32)
          static_cast<float*>(rt->GetMutableData())[e] = x;
        else
          static_cast<uint16_t*>(rt->GetMutableData())[e] =
              type == DataType::FLOAT16 ? FloatToHalf(x) : FloatToBFloat16(x);
      }
    } else {
      return Internal("network output '", g.value(id)->name, "' is stored as ", DataTypeName(buf.info.dtype),
                      " but handed over as ", DataTypeName(type));
    }
  }
  return Status::OK();
}

}  // namespace mixq::runtime

namespace mixq {
Status IContext::Enqueue(const std::vector<std::unique_ptr<IRTTensor>>& inputs,
                         const std::vector<std::unique_ptr<IRTTensor>>& outputs) {
  std::vector<IRTTensor*> in, out;
  for (const auto& t : inputs) in.push_back(t.get());
  for (const auto& t : outputs) out.push_back(t.get());
  return Enqueue(in, out);
}
}  // namespace mixq
