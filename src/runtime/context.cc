#include <cstring>

#include "ir/verifier.h"
#include "runtime/engine.h"
#include "runtime/memory_budget.h"
#include "runtime/memory_plan.h"
#include "runtime/node_kernel.h"
#include "util/half.h"
#include "runtime/rt_tensor.h"
#include "util/status_util.h"

namespace mixq::runtime {

Status ContextImpl::CreateInputTensors(std::vector<std::unique_ptr<IRTTensor>>* inputs) const {
  if (!inputs) return InvalidArgument("CreateInputTensors: the output vector is null");
  inputs->clear();
  for (size_t i = 0; i < graph().inputs().size(); ++i) {
    const ir::Value* v = graph().value(graph().inputs()[i]);
    inputs->push_back(CreateIRTTensor(plan_->input_types[i], v->name, Dims(v->shape)));
  }
  return Status::OK();
}

Status ContextImpl::CreateOutputTensors(std::vector<std::unique_ptr<IRTTensor>>* outputs) const {
  if (!outputs) return InvalidArgument("CreateOutputTensors: the output vector is null");
  outputs->clear();
  for (size_t i = 0; i < graph().outputs().size(); ++i) {
    const ir::Value* v = graph().value(graph().outputs()[i]);
    outputs->push_back(CreateIRTTensor(plan_->output_types[i], v->name, Dims(v->shape)));
  }
  return Status::OK();
}

Status ContextImpl::CheckInputDims(const std::vector<Dims>& dims) const {
  const auto& ids = graph().inputs();
  if (dims.size() != ids.size())
    return InvalidArgument("the model has ", ids.size(), " inputs, got ", dims.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const ir::Value* v = graph().value(ids[i]);
    const auto& given = dims[i].GetDims();
    bool ok = given.size() == v->shape.size();
    for (size_t d = 0; ok && d < given.size(); ++d)
      ok = given[d] >= 0 && (v->shape[d] < 0 || v->shape[d] == given[d]);
    if (!ok)
      return InvalidArgument("input '", v->name, "' has dims ", dims[i].ToString(), " but the model expects ",
                             ir::ShapeString(v->shape), " (-1: any size)");
  }
  return Status::OK();
}

Status ContextImpl::InferOutputShape(const std::vector<Dims>& input_dims, std::vector<Dims>* output_dims) {
  if (!output_dims) return InvalidArgument("InferOutputShape: output_dims is null");
  MIXQ_RETURN_IF_ERROR(CheckInputDims(input_dims));
  std::vector<ir::Shape> shapes;
  for (const Dims& d : input_dims) shapes.push_back(d.GetDims());
  std::vector<ops::ValueInfo> infos;
  MIXQ_RETURN_IF_ERROR(ir::InferShapes(graph(), plan_->steps, shapes, &infos));
  output_dims->clear();
  for (int id : graph().outputs()) output_dims->emplace_back(infos[static_cast<size_t>(id)].shape);
  return Status::OK();
}

Status ContextImpl::Prepare(const std::vector<ir::Shape>& input_shapes) {
  if (prepared_ && input_shapes == prepared_shapes_) return Status::OK();
  prepared_ = false;
  const ir::Graph& g = graph();
  MIXQ_RETURN_IF_ERROR(ir::InferShapes(g, plan_->steps, input_shapes, &infos_));
  // Lifetimes of node outputs: written at their step, alive until the last
  // step reading them; network outputs until the end.
  const int steps = static_cast<int>(plan_->steps.size());
  std::vector<int> first(g.value_count(), -1), last(g.value_count(), -1);
  for (int s = 0; s < steps; ++s) {
    const ir::Node& node = *g.node(plan_->steps[static_cast<size_t>(s)]);
    for (int out : node.outputs) first[static_cast<size_t>(out)] = last[static_cast<size_t>(out)] = s;
    for (int in : node.inputs)
      if (in >= 0) last[static_cast<size_t>(in)] = s;
  }
  for (int out : g.outputs()) last[static_cast<size_t>(out)] = steps;
  std::vector<BufferRequest> requests;
  std::vector<int> request_value;
  for (size_t v = 0; v < g.value_count(); ++v) {
    if (first[v] < 0) continue;
    const int64_t count = ir::ElementCount(infos_[v].shape);
    if (count < 0)
      return Internal("tensor '", g.value(static_cast<int>(v))->name, "' has dims ",
                      ir::ShapeString(infos_[v].shape), " that are still unknown with concrete inputs");
    requests.push_back({count * static_cast<int64_t>(DataTypeSize(infos_[v].dtype)), first[v], last[v]});
    request_value.push_back(static_cast<int>(v));
  }
  MemoryPlan memory = PlanMemory(requests);
  MIXQ_RETURN_IF_ERROR(CheckActivationBudget(memory.total_bytes, options_.max_activation_bytes));
  arena_offsets_.assign(g.value_count(), -1);
  for (size_t r = 0; r < requests.size(); ++r)
    arena_offsets_[static_cast<size_t>(request_value[r])] = memory.offsets[r];
  if (!arena_ || arena_->size() != static_cast<size_t>(memory.total_bytes))
    arena_ = std::make_unique<ir::Buffer>(static_cast<size_t>(memory.total_bytes));

  kernels_.clear();
  std::vector<const ops::ValueInfo*> in;
  std::vector<ops::ValueInfo> out;
  for (int id : plan_->steps) {
    const ir::Node& node = *g.node(id);
    in.clear();
    for (int i : node.inputs) in.push_back(i < 0 ? nullptr : &infos_[static_cast<size_t>(i)]);
    out.clear();
    for (int o : node.outputs) out.push_back(infos_[static_cast<size_t>(o)]);
    std::unique_ptr<ops::Kernel> kernel;
    Status status = MakeNodeKernel(node, in, out, !options_.force_reference, &kernel);
    if (!status.ok()) return WithContext(status, ir::NodeLabel(g, node));
    kernels_.push_back(std::move(kernel));
  }
  prepared_shapes_ = input_shapes;
  prepared_ = true;
  return Status::OK();
}

Status ContextImpl::Enqueue(const std::vector<IRTTensor*>& inputs, const std::vector<IRTTensor*>& outputs) {
  const ir::Graph& g = graph();
  if (inputs.size() != g.inputs().size())
    return InvalidArgument("Enqueue: the model has ", g.inputs().size(), " inputs, got ", inputs.size());
  if (outputs.size() != g.outputs().size())
    return InvalidArgument("Enqueue: the model has ", g.outputs().size(), " outputs, got ", outputs.size());
  std::vector<Dims> dims;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = g.value(g.inputs()[i])->name;
    if (!inputs[i]) return InvalidArgument("Enqueue: input ", i, " ('", name, "') is null");
    if (inputs[i]->GetDataType() != plan_->input_types[i])
      return InvalidArgument("Enqueue: input '", name, "' must be ", DataTypeName(plan_->input_types[i]),
                             " data, got ", DataTypeName(inputs[i]->GetDataType()));
    dims.push_back(inputs[i]->GetDimensions());
  }
  for (size_t i = 0; i < outputs.size(); ++i)
    if (!outputs[i])
      return InvalidArgument("Enqueue: output ", i, " ('", g.value(g.outputs()[i])->name, "') is null");
  MIXQ_RETURN_IF_ERROR(WithContext(CheckInputDims(dims), "Enqueue"));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = g.value(g.inputs()[i])->name;
    const size_t need = static_cast<size_t>(dims[i].GetElementCount()) * DataTypeSize(plan_->input_types[i]);
    if (!inputs[i]->GetData() && need > 0)
      return InvalidArgument("Enqueue: input '", name, "' has no data (call SetData)");
    if (inputs[i]->GetSize() < need)
      return InvalidArgument("Enqueue: input '", name, "' holds ", inputs[i]->GetSize(), " bytes, dims ",
                             dims[i].ToString(), " of ", DataTypeName(plan_->input_types[i]), " need ", need);
  }
  std::vector<ir::Shape> shapes;
  for (const Dims& d : dims) shapes.push_back(d.GetDims());
  MIXQ_RETURN_IF_ERROR(Prepare(shapes));

  value_data_.assign(g.value_count(), nullptr);
  auto* arena = static_cast<uint8_t*>(arena_->mutable_data());
  for (size_t v = 0; v < g.value_count(); ++v) {
    if (arena_offsets_[v] >= 0) value_data_[v] = arena + arena_offsets_[v];
    else if (infos_[v].const_data) value_data_[v] = const_cast<void*>(infos_[v].const_data);
  }
  // Kernels never write their inputs, so user input buffers are read in place.
  for (size_t i = 0; i < inputs.size(); ++i)
    value_data_[static_cast<size_t>(g.inputs()[i])] = const_cast<void*>(inputs[i]->GetData());

  std::vector<ops::TensorView> in, out;
  for (size_t s = 0; s < plan_->steps.size(); ++s) {
    const ir::Node& node = *g.node(plan_->steps[s]);
    in.clear();
    for (int i : node.inputs) {
      if (i < 0) {
        in.push_back({});
        continue;
      }
      const auto& info = infos_[static_cast<size_t>(i)];
      in.push_back({info.dtype, info.shape, value_data_[static_cast<size_t>(i)]});
    }
    out.clear();
    for (int o : node.outputs) {
      const auto& info = infos_[static_cast<size_t>(o)];
      out.push_back({info.dtype, info.shape, value_data_[static_cast<size_t>(o)]});
    }
    Status status = kernels_[s]->Run(in, out);
    if (!status.ok()) return WithContext(status, ir::NodeLabel(g, node));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const int id = g.outputs()[i];
    const auto& info = infos_[static_cast<size_t>(id)];
    const size_t bytes = static_cast<size_t>(ir::ElementCount(info.shape)) * DataTypeSize(info.dtype);
    auto* rt = dynamic_cast<RTTensorImpl*>(outputs[i]);
    if (!rt) return InvalidArgument("Enqueue: output ", i, " was not created by mixq (use CreateIRTTensor)");
    const DataType type = plan_->output_types[i];
    if (rt->GetDataType() != type)
      return InvalidArgument("Enqueue: output '", rt->GetName(), "' is ", DataTypeName(rt->GetDataType()),
                             ", the model produces ", DataTypeName(type));
    const int64_t count = ir::ElementCount(info.shape);
    MIXQ_RETURN_IF_ERROR(rt->PrepareOutput(Dims(info.shape), static_cast<size_t>(count) * DataTypeSize(type)));
    const void* src = value_data_[static_cast<size_t>(id)];
    if (type == info.dtype) {
      if (bytes) std::memcpy(rt->GetMutableData(), src, bytes);
    } else {
      // Outputs produced in FLOAT16 / BFLOAT16 are handed over in that storage type.
      const float* x = static_cast<const float*>(src);
      uint16_t* y = static_cast<uint16_t*>(rt->GetMutableData());
      for (int64_t e = 0; e < count; ++e) y[e] = type == DataType::FLOAT16 ? FloatToHalf(x[e]) : FloatToBFloat16(x[e]);
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
