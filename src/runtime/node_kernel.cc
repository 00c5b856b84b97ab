#include "runtime/node_kernel.h"

#include <cstring>

#include "quant/quant_math.h"
#include "util/half.h"
#include "util/status_util.h"

namespace mixq::runtime {

namespace {

// kBias: a float bias added after scaling; kIntBias: an INT32 bias added to the
// integer accumulator (it is in the accumulator's scale).
enum class InputMode { kPass, kRoundHalf, kRoundBFloat16, kQuantize, kBias, kIntBias, kOmitted };

bool IsQuantized(DataType t) {
  return t == DataType::QINT8 || t == DataType::QINT16;
}

void RoundInPlace(float* x, int64_t n, DataType type) {
  if (type == DataType::FLOAT16)
    for (int64_t i = 0; i < n; ++i) x[i] = RoundToHalf(x[i]);
  else if (type == DataType::BFLOAT16)
    for (int64_t i = 0; i < n; ++i) x[i] = RoundToBFloat16(x[i]);
}

struct InputPlan {
  InputMode mode = InputMode::kPass;
  DataType compute = DataType::FLOAT32;
  ir::QuantBinding binding;
  int64_t channel_axis = -1;        // per-axis weights: the axis of the scales
  std::vector<int32_t> constant_q;  // centered integers of quantized constant weights
  std::vector<float> scratch;       // rounded copy of a float input
  std::vector<int32_t> scratch_q;   // centered integers of a quantized activation
  std::vector<float> run_scales;    // scales used on the current run
};

class NodeKernel : public ops::Kernel {
 public:
  Status Prepare(const ir::Node& node, const std::vector<const ops::ValueInfo*>& inputs,
                 const std::vector<ops::ValueInfo>& outputs);
  Status Run(const std::vector<ops::TensorView>& inputs, const std::vector<ops::TensorView>& outputs) override;

 private:
  Status PrepareQuantizedInput(size_t i, const ops::ValueInfo& info);
  void ScaleAccumulators(const std::vector<ops::TensorView>& inputs, const ops::TensorView& output);

  const ops::OpSchema* schema_ = nullptr;
  std::vector<InputPlan> plans_;
  std::vector<DataType> output_compute_;
  bool quantized_ = false;
  int bias_input_ = -1;
  float alpha_ = 1.0f, beta_ = 1.0f;
  int64_t out_channel_axis_ = -1;
  std::vector<int64_t> out_strides_;
  ir::Shape out_shape_;
  std::unique_ptr<ops::Kernel> inner_;
  std::vector<int64_t> accumulators_;
};

Status NodeKernel::PrepareQuantizedInput(size_t i, const ops::ValueInfo& info) {
  InputPlan& p = plans_[i];
  p.mode = InputMode::kQuantize;
  const int64_t count = ir::ElementCount(info.shape);
  if (p.binding.axis >= 0) p.channel_axis = p.binding.axis;
  if (info.const_data) {
    // Weights were quantized at build: center them once.
    p.constant_q.resize(static_cast<size_t>(count));
    const auto strides = ir::Strides(info.shape);
    for (int64_t e = 0; e < count; ++e) {
      const int32_t q = info.dtype == DataType::INT8    ? static_cast<const int8_t*>(info.const_data)[e]
                        : info.dtype == DataType::INT16 ? static_cast<const int16_t*>(info.const_data)[e]
                                                        : 0;
      size_t c = 0;
      if (p.channel_axis >= 0)
        c = static_cast<size_t>((e / strides[static_cast<size_t>(p.channel_axis)]) %
                                info.shape[static_cast<size_t>(p.channel_axis)]);
      p.constant_q[static_cast<size_t>(e)] = q - p.binding.zero_points.at(c);
    }
    if (info.dtype != DataType::INT8 && info.dtype != DataType::INT16)
      return Internal("quantized constant input ", i, " is stored as ", DataTypeName(info.dtype));
  } else {
    p.scratch_q.resize(static_cast<size_t>(count));
  }
  p.run_scales = p.binding.scales;
  return Status::OK();
}

Status NodeKernel::Prepare(const ir::Node& node, const std::vector<const ops::ValueInfo*>& inputs,
                           const std::vector<ops::ValueInfo>& outputs) {
  schema_ = &ops::GetSchema(node.op);
  plans_.assign(inputs.size(), InputPlan{});
  output_compute_ = node.output_compute;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (i < node.input_compute.size() && IsQuantized(node.input_compute[i])) quantized_ = true;
  bias_input_ = quantized_ ? schema_->quant.bias_input : -1;
  if (quantized_ && !schema_->integer_reference)
    return Internal(schema_->name, " has quantizable inputs but no integer reference kernel");

  std::vector<ops::ValueInfo> inner_infos(inputs.size());
  std::vector<const ops::ValueInfo*> inner(inputs.size(), nullptr);
  for (size_t i = 0; i < inputs.size(); ++i) {
    InputPlan& p = plans_[i];
    if (!inputs[i]) {
      p.mode = InputMode::kOmitted;
      continue;
    }
    p.compute = i < node.input_compute.size() ? node.input_compute[i] : inputs[i]->dtype;
    inner_infos[i] = *inputs[i];
    inner[i] = &inner_infos[i];
    if (IsQuantized(p.compute)) {
      if (!node.input_quant.at(i)) return Internal("quantized input ", i, " has no quantization parameters");
      p.binding = *node.input_quant[i];
      MIXQ_RETURN_IF_ERROR(PrepareQuantizedInput(i, *inputs[i]));
      inner_infos[i].dtype = DataType::FLOAT32;  // the kernel prepares from real-valued shapes
      inner_infos[i].const_data = nullptr;
    } else if (static_cast<int>(i) == bias_input_ && p.compute == DataType::INT32) {
      if (!inputs[i]->const_data || inputs[i]->dtype != DataType::INT32)
        return Internal("INT32 bias input ", i, " is not an INT32 constant");
      p.mode = InputMode::kIntBias;
      const auto* q = static_cast<const int32_t*>(inputs[i]->const_data);
      p.constant_q.assign(q, q + ir::ElementCount(inputs[i]->shape));
      inner[i] = nullptr;
    } else if (static_cast<int>(i) == bias_input_) {
      p.mode = InputMode::kBias;  // added after scaling
      p.scratch.resize(static_cast<size_t>(ir::ElementCount(inputs[i]->shape)));
      inner[i] = nullptr;
    } else if (p.compute == DataType::FLOAT16 || p.compute == DataType::BFLOAT16) {
      p.mode = p.compute == DataType::FLOAT16 ? InputMode::kRoundHalf : InputMode::kRoundBFloat16;
      p.scratch.resize(static_cast<size_t>(ir::ElementCount(inputs[i]->shape)));
      inner_infos[i].const_data = nullptr;  // the kernel must read the rounded copy
    }
  }
  // Trailing omitted inputs (the bias) are dropped, as the ops expect.
  while (!inner.empty() && inner.back() == nullptr) inner.pop_back();
  if (quantized_) {
    if (schema_->quant.gemm_alpha_beta) {
      alpha_ = node.attrs.Float("alpha", 1.0f);
      beta_ = node.attrs.Float("beta", 1.0f);
    }
    out_shape_ = outputs[0].shape;
    out_strides_ = ir::Strides(out_shape_);
    out_channel_axis_ = schema_->quant.OutputChannelAxis(node.attrs, static_cast<int64_t>(out_shape_.size()));
    accumulators_.resize(static_cast<size_t>(ir::ElementCount(out_shape_)));
    return schema_->integer_reference({node.attrs, inner, outputs}, &inner_);
  }
  return schema_->reference({node.attrs, inner, outputs}, &inner_);
}

void NodeKernel::ScaleAccumulators(const std::vector<ops::TensorView>& inputs, const ops::TensorView& output) {
  float* y = output.Data<float>();
  const int64_t count = static_cast<int64_t>(accumulators_.size());
  const int64_t channels =
      out_channel_axis_ >= 0 && !out_shape_.empty() ? out_shape_[static_cast<size_t>(out_channel_axis_)] : 1;
  const int64_t stride =
      out_channel_axis_ >= 0 && !out_shape_.empty() ? out_strides_[static_cast<size_t>(out_channel_axis_)] : 1;
  // Bias: per output channel (Conv), or broadcast to the output (Gemm's C).
  const float* bias = nullptr;
  ir::Shape bias_shape;
  if (bias_input_ >= 0 && static_cast<size_t>(bias_input_) < inputs.size() &&
      inputs[static_cast<size_t>(bias_input_)].data &&
      plans_[static_cast<size_t>(bias_input_)].mode == InputMode::kBias) {
    bias = plans_[static_cast<size_t>(bias_input_)].scratch.data();
    bias_shape = inputs[static_cast<size_t>(bias_input_)].shape;
  }
  const InputPlan* int_bias = nullptr;
  if (bias_input_ >= 0 && static_cast<size_t>(bias_input_) < plans_.size() &&
      plans_[static_cast<size_t>(bias_input_)].mode == InputMode::kIntBias)
    int_bias = &plans_[static_cast<size_t>(bias_input_)];
  std::vector<int64_t> bias_strides(out_shape_.size(), 0);
  if (bias && schema_->quant.gemm_alpha_beta) {
    // Unidirectional broadcast of C to the output shape.
    const auto cs = ir::Strides(bias_shape);
    const size_t offset = out_shape_.size() - bias_shape.size();
    for (size_t d = 0; d < bias_shape.size(); ++d) bias_strides[offset + d] = bias_shape[d] == 1 ? 0 : cs[d];
  }
  for (int64_t e = 0; e < count; ++e) {
    const int64_t c = (e / stride) % channels;
    double scale = 1.0;
    for (const InputPlan& p : plans_) {
      if (p.mode != InputMode::kQuantize) continue;
      scale *= static_cast<double>(
          p.run_scales.size() == 1 ? p.run_scales[0] : p.run_scales[static_cast<size_t>(c) % p.run_scales.size()]);
    }
    int64_t acc = accumulators_[static_cast<size_t>(e)];
    if (int_bias) acc += int_bias->constant_q[static_cast<size_t>(c) % int_bias->constant_q.size()];
    float value = static_cast<float>(static_cast<double>(acc) * scale);
    if (schema_->quant.gemm_alpha_beta) {
      value *= alpha_;
      if (bias) {
        int64_t bo = 0, rest = e;
        for (size_t d = 0; d < out_shape_.size(); ++d) {
          bo += (rest / out_strides_[d]) * bias_strides[d];
          rest %= out_strides_[d];
        }
        value += beta_ * bias[bo];
      }
    } else if (bias) {
      value += bias[c];
    }
    y[e] = value;
  }
}

Status NodeKernel::Run(const std::vector<ops::TensorView>& inputs, const std::vector<ops::TensorView>& outputs) {
  std::vector<ops::TensorView> inner(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    InputPlan& p = plans_[i];
    inner[i] = inputs[i];
    const int64_t n = inputs[i].data ? inputs[i].Count() : 0;
    switch (p.mode) {
      case InputMode::kPass:
      case InputMode::kOmitted:
        break;
      case InputMode::kIntBias:
        inner[i].data = nullptr;  // joins the accumulators in ScaleAccumulators
        break;
      case InputMode::kRoundHalf:
      case InputMode::kRoundBFloat16:
      case InputMode::kBias:
        std::memcpy(p.scratch.data(), inputs[i].data, static_cast<size_t>(n) * sizeof(float));
        RoundInPlace(p.scratch.data(), n, p.compute);
        inner[i].data = p.scratch.data();
        if (p.mode == InputMode::kBias) inner[i].data = nullptr;
        break;
      case InputMode::kQuantize: {
        inner[i].dtype = DataType::INT32;
        if (!p.constant_q.empty() || n == 0) {
          inner[i].data = p.constant_q.data();
          break;
        }
        const float* x = inputs[i].Data<float>();
        float scale = p.binding.scales.empty() ? 1.0f : p.binding.scales[0];
        int32_t zero_point = p.binding.zero_points.empty() ? 0 : p.binding.zero_points[0];
        if (p.binding.dynamic) {
          // Dynamic PTQ: this inference's own range.
          MIXQ_RETURN_IF_ERROR(quant::ChooseScaleZeroPoint(quant::MinMax(x, n), p.binding.bits, p.binding.symmetric,
                                                           &scale, &zero_point));
          p.run_scales = {scale};
        }
        for (int64_t e = 0; e < n; ++e)
          p.scratch_q[static_cast<size_t>(e)] = quant::Quantize(x[e], scale, zero_point, p.binding.bits) - zero_point;
        inner[i].data = p.scratch_q.data();
        break;
      }
    }
  }
  while (!inner.empty() && inner.back().data == nullptr && plans_[inner.size() - 1].mode != InputMode::kPass)
    inner.pop_back();
  if (quantized_) {
    ops::TensorView acc{DataType::INT64, out_shape_, accumulators_.data()};
    MIXQ_RETURN_IF_ERROR(inner_->Run(inner, {acc}));
    ScaleAccumulators(inputs, outputs[0]);
  } else {
    MIXQ_RETURN_IF_ERROR(inner_->Run(inner, outputs));
  }
  for (size_t o = 0; o < outputs.size() && o < output_compute_.size(); ++o)
    if (outputs[o].dtype == DataType::FLOAT32)
      RoundInPlace(outputs[o].Data<float>(), outputs[o].Count(), output_compute_[o]);
  return Status::OK();
}

bool NeedsAdapter(const ir::Node& node, const std::vector<const ops::ValueInfo*>& inputs) {
  for (size_t i = 0; i < node.input_compute.size() && i < inputs.size(); ++i)
    if (inputs[i] && node.input_compute[i] != inputs[i]->dtype) return true;
  for (DataType t : node.output_compute)
    if (t == DataType::FLOAT16 || t == DataType::BFLOAT16) return true;
  return false;
}

}  // namespace

bool UsesOptimized(const ir::Node& node, const std::vector<const ops::ValueInfo*>& inputs) {
  for (const ops::ValueInfo* in : inputs)
    if (in && in->dtype != DataType::FLOAT32) return false;
  for (DataType t : node.output_compute)
    if (t != DataType::FLOAT32) return false;
  return true;
}

Status MakeNodeKernel(const ir::Node& node, const std::vector<const ops::ValueInfo*>& inputs,
                      const std::vector<ops::ValueInfo>& outputs, bool optimized,
                      std::unique_ptr<ops::Kernel>* kernel) {
  const ops::OpSchema& schema = ops::GetSchema(node.op);
  if (!NeedsAdapter(node, inputs)) {
    if (optimized && schema.optimized && UsesOptimized(node, inputs))
      return schema.optimized({node.attrs, inputs, outputs}, kernel);
    return schema.reference({node.attrs, inputs, outputs}, kernel);
  }
  auto adapter = std::make_unique<NodeKernel>();
  MIXQ_RETURN_IF_ERROR(adapter->Prepare(node, inputs, outputs));
  *kernel = std::move(adapter);
  return Status::OK();
}

}  // namespace mixq::runtime
