#include "ops/quantized_reference.h"

#include <cmath>
#include <limits>

#include "ops/clamp.h"
#include "ops/op_util.h"
#include "quant/requantize.h"
#include "util/half.h"

namespace mixq::ops {

namespace {

bool IsQuantizedCompute(DataType t) {
  return t == DataType::QINT8 || t == DataType::QINT16;
}
bool IsFloatStorage(DataType t) {
  return t == DataType::FLOAT32 || t == DataType::FLOAT16 || t == DataType::BFLOAT16;
}

float LoadFloat(const TensorView& t, int64_t e) {
  if (t.dtype == DataType::FLOAT16) return HalfToFloat(t.Data<const uint16_t>()[e]);
  if (t.dtype == DataType::BFLOAT16) return BFloat16ToFloat(t.Data<const uint16_t>()[e]);
  return t.Data<const float>()[e];
}

struct QuantInput {
  bool quantized = false;
  bool constant = false;
  int bits = 8;
  std::vector<float> scales;      // weights: per channel or one; activations: filled per run
  std::vector<int32_t> centered;  // constant: once; activation: per run scratch
};

class QuantizedReference : public Kernel {
 public:
  QuantizedReference(KernelFactory accumulate, const char* name) : accumulate_(accumulate), name_(name) {}
  const char* Name() const override { return name_; }
  Status Prepare(const OpSchema& schema, const KernelInit& init);
  Status Run(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs) override;

 private:
  void OutputStage(const std::vector<TensorView>& inputs, const TensorView& out);

  KernelFactory accumulate_;
  const char* name_;
  const OpSchema* schema_ = nullptr;
  std::vector<QuantInput> in_;  // by input; `quantized` false for omitted inputs and addends
  int bias_input_ = -1;
  bool int_bias_ = false;
  bool round_bias_half_ = false;
  std::vector<float> bias_;  // float bias, as consumed (rounded when FLOAT16)
  std::vector<int32_t> int_bias_q_;
  ir::Shape bias_shape_;
  bool gemm_ = false;
  double alpha_ = 1.0, beta_ = 1.0;
  ir::Shape out_shape_;
  std::vector<int64_t> out_strides_;
  int64_t out_axis_ = -1;
  int64_t channels_ = 1, channel_stride_ = 1;
  std::vector<PostOp> post_ops_;
  std::unique_ptr<Kernel> inner_;
  std::vector<int64_t> acc_;
};

Status QuantizedReference::Prepare(const OpSchema& schema, const KernelInit& init) {
  schema_ = &schema;
  bias_input_ = schema.quant.bias_input;
  gemm_ = schema.quant.gemm_alpha_beta;
  if (gemm_) {
    alpha_ = init.attrs.Float("alpha", 1.0f);
    beta_ = init.attrs.Float("beta", 1.0f);
  }
  if (init.post_ops) post_ops_ = *init.post_ops;
  std::vector<bool> addend(init.inputs.size(), false);
  for (const PostOp& op : post_ops_)
    if (op.kind == PostOp::Kind::kAdd && op.input >= 0 && static_cast<size_t>(op.input) < addend.size())
      addend[static_cast<size_t>(op.input)] = true;
  in_.assign(init.inputs.size(), QuantInput{});
  std::vector<ValueInfo> inner_infos(init.inputs.size());
  std::vector<const ValueInfo*> inner(init.inputs.size(), nullptr);
  for (size_t i = 0; i < init.inputs.size(); ++i) {
    const ValueInfo* v = init.inputs[i];
    if (!v || addend[i]) continue;
    if (static_cast<int>(i) == bias_input_) {
      const int64_t n = ir::ElementCount(v->shape);
      bias_shape_ = v->shape;
      if (init.ComputeOf(i) == DataType::INT32) {
        if (!v->const_data || v->dtype != DataType::INT32)
          return Internal("INT32 bias input ", i, " is not an INT32 constant");
        const auto* q = static_cast<const int32_t*>(v->const_data);
        int_bias_q_.assign(q, q + n);
        int_bias_ = true;
      } else {
        round_bias_half_ = init.ComputeOf(i) == DataType::FLOAT16;
        bias_.resize(static_cast<size_t>(n));
      }
      continue;
    }
    if (static_cast<int>(i) >= static_cast<int>(init.inputs.size()) || !IsQuantizedCompute(init.ComputeOf(i)))
      return Internal("input ", i, " of a quantized ", schema.name, " is not consumed quantized");
    QuantInput& q = in_[i];
    q.quantized = true;
    if (!v->quant) return Internal("quantized input ", i, " has no quantization parameters");
    q.bits = v->quant->bits;
    const int64_t count = ir::ElementCount(v->shape);
    if (v->const_data) {
      q.constant = true;
      q.scales = v->quant->scales;
      const auto strides = ir::Strides(v->shape);
      q.centered.resize(static_cast<size_t>(count));
      for (int64_t e = 0; e < count; ++e) {
        const int32_t raw = v->dtype == DataType::INT8 ? static_cast<const int8_t*>(v->const_data)[e]
                                                       : static_cast<const int16_t*>(v->const_data)[e];
        size_t c = 0;
        if (v->quant->axis >= 0)
          c = static_cast<size_t>((e / strides[static_cast<size_t>(v->quant->axis)]) %
                                  v->shape[static_cast<size_t>(v->quant->axis)]);
        q.centered[static_cast<size_t>(e)] = raw - v->quant->zero_points.at(c);
      }
    } else {
      q.centered.resize(static_cast<size_t>(count));
    }
    inner_infos[i] = *v;
    inner_infos[i].dtype = DataType::FLOAT32;
    // A constant's centered INT32 values (what Run passes), so that an inner
    // kernel knows which operands it may pack once; null for an activation,
    // whose buffer here keeps its address while its values change per run.
    inner_infos[i].const_data = q.constant ? q.centered.data() : nullptr;
    inner_infos[i].quant = nullptr;
    inner_infos[i].narrowed = false;
    inner[i] = &inner_infos[i];
  }
  while (!inner.empty() && inner.back() == nullptr) inner.pop_back();
  out_shape_ = init.outputs[0].shape;
  out_strides_ = ir::Strides(out_shape_);
  out_axis_ = schema.quant.OutputChannelAxis(init.attrs, static_cast<int64_t>(out_shape_.size()));
  if (out_axis_ >= 0 && !out_shape_.empty()) {
    channels_ = out_shape_[static_cast<size_t>(out_axis_)];
    channel_stride_ = out_strides_[static_cast<size_t>(out_axis_)];
  }
  acc_.resize(static_cast<size_t>(ir::ElementCount(out_shape_)));
  std::vector<ValueInfo> inner_outputs = init.outputs;
  for (ValueInfo& o : inner_outputs) {
    o.dtype = DataType::FLOAT32;
    o.quant = nullptr;
    o.narrowed = false;
  }
  return accumulate_({init.attrs, inner, inner_outputs}, &inner_);
}

void QuantizedReference::OutputStage(const std::vector<TensorView>& inputs, const TensorView& out) {
  const int64_t count = static_cast<int64_t>(acc_.size());
  // Scales of the inputs: s_in (per tensor) and s_w[c] (one or per channel).
  std::vector<const std::vector<float>*> scales;
  std::vector<float> run_scale_storage(inputs.size());
  std::vector<std::vector<float>> run_scales(inputs.size());
  for (size_t i = 0; i < in_.size(); ++i) {
    if (!in_[i].quantized) continue;
    if (in_[i].constant) {
      scales.push_back(&in_[i].scales);
    } else {
      run_scales[i] = {inputs[i].quant->scale};
      scales.push_back(&run_scales[i]);
    }
  }
  const bool has_bias = bias_input_ >= 0 && static_cast<size_t>(bias_input_) < inputs.size() &&
                        inputs[static_cast<size_t>(bias_input_)].data != nullptr;
  std::vector<int64_t> bias_strides(out_shape_.size(), 0);
  if (has_bias && gemm_) {
    const auto cs = ir::Strides(bias_shape_);
    const size_t offset = out_shape_.size() - bias_shape_.size();
    for (size_t d = 0; d < bias_shape_.size(); ++d) bias_strides[offset + d] = bias_shape_[d] == 1 ? 0 : cs[d];
  }
  const bool int_out = out.dtype == DataType::INT8 || out.dtype == DataType::INT16;
  const int bits = out.dtype == DataType::INT16 ? 16 : 8;
  const double out_scale = int_out ? out.quant->scale : 1.0;
  const int32_t out_zp = int_out ? out.quant->zero_point : 0;
  // Integer-domain bounds of fused activations on an integer output.
  int32_t qlo = quant::QMin(bits), qhi = quant::QMax(bits);
  if (int_out)
    for (const PostOp& op : post_ops_) {
      int32_t lo, hi;
      if (op.kind == PostOp::Kind::kActivation &&
          IntegerActivationBounds(op, out.quant->scale, out.quant->zero_point, bits, &lo, &hi)) {
        qlo = std::max(qlo, lo);
        qhi = std::min(qhi, hi);
      }
    }
  // Per-channel constants of the output stage (SPEC §1.5), once per run:
  // the input scale may be dynamic.
  std::vector<double> unit(static_cast<size_t>(channels_));
  std::vector<float> scale(static_cast<size_t>(channels_)), multiplier(static_cast<size_t>(channels_));
  std::vector<float> channel_bias(static_cast<size_t>(channels_), 0.0f);
  for (int64_t c = 0; c < channels_; ++c) {
    double u = 1.0;
    for (const auto* s : scales)
      u *= static_cast<double>(s->size() == 1 ? (*s)[0] : (*s)[static_cast<size_t>(c) % s->size()]);
    unit[static_cast<size_t>(c)] = u;
    scale[static_cast<size_t>(c)] = quant::AccumulatorScale(u, 1.0, alpha_);
    multiplier[static_cast<size_t>(c)] = quant::RequantMultiplier(u, 1.0, out_scale, alpha_);
    if (has_bias && !gemm_ && !int_bias_)
      channel_bias[static_cast<size_t>(c)] = quant::BiasInAccumulatorUnits(bias_[static_cast<size_t>(c)], u, 1.0);
  }
  bool has_add = false;
  for (const PostOp& op : post_ops_) has_add = has_add || op.kind == PostOp::Kind::kAdd;
  if (!(has_bias && gemm_) && !has_add) {
    // Channel blocks: the same formula with the constants hoisted.
    const int64_t inner = channel_stride_, outer = count / std::max<int64_t>(1, channels_ * inner);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t c = 0; c < channels_; ++c) {
        const int64_t base = (o * channels_ + c) * inner;
        const int64_t* a = acc_.data() + base;
        const int64_t ib = int_bias_ ? int_bias_q_[static_cast<size_t>(c) % int_bias_q_.size()] : 0;
        const float bias_c = channel_bias[static_cast<size_t>(c)];
        const float scale_c = scale[static_cast<size_t>(c)], multiplier_c = multiplier[static_cast<size_t>(c)];
        if (int_out && bits == 8) {
          int8_t* y = out.Data<int8_t>() + base;
          for (int64_t i = 0; i < inner; ++i)
            y[i] = static_cast<int8_t>(
                std::clamp(quant::RequantizeOutput(a[i] + ib, bias_c, multiplier_c, out_zp, bits), qlo, qhi));
        } else if (int_out) {
          int16_t* y = out.Data<int16_t>() + base;
          for (int64_t i = 0; i < inner; ++i)
            y[i] = static_cast<int16_t>(
                std::clamp(quant::RequantizeOutput(a[i] + ib, bias_c, multiplier_c, out_zp, bits), qlo, qhi));
        } else {
          for (int64_t i = 0; i < inner; ++i) {
            float y = quant::DequantizeOutput(a[i] + ib, bias_c, scale_c);
            for (const PostOp& op : post_ops_) y = ApplyFloatActivation(op, y);
            const int64_t e = base + i;
            if (out.dtype == DataType::FLOAT16)
              out.Data<uint16_t>()[e] = FloatToHalf(y);
            else if (out.dtype == DataType::BFLOAT16)
              out.Data<uint16_t>()[e] = FloatToBFloat16(y);
            else
              out.Data<float>()[e] = y;
          }
        }
      }
    return;
  }
  for (int64_t e = 0; e < count; ++e) {
    const int64_t c = (e / channel_stride_) % channels_;
    int64_t acc = acc_[static_cast<size_t>(e)];
    float bias_acc = channel_bias[static_cast<size_t>(c)];
    if (int_bias_) {
      acc += int_bias_q_[static_cast<size_t>(c) % int_bias_q_.size()];
    } else if (has_bias && gemm_) {
      int64_t bo = 0, rest = e;
      for (size_t d = 0; d < out_shape_.size(); ++d) {
        bo += (rest / out_strides_[d]) * bias_strides[d];
        rest %= out_strides_[d];
      }
      bias_acc = quant::BiasInAccumulatorUnits(bias_[static_cast<size_t>(bo)], unit[static_cast<size_t>(c)], 1.0,
                                               alpha_, beta_);
    }
    const float scale_c = scale[static_cast<size_t>(c)], multiplier_c = multiplier[static_cast<size_t>(c)];
    if (int_out) {
      const int32_t q = std::clamp(quant::RequantizeOutput(acc, bias_acc, multiplier_c, out_zp, bits), qlo, qhi);
      if (bits == 8)
        out.Data<int8_t>()[e] = static_cast<int8_t>(q);
      else
        out.Data<int16_t>()[e] = static_cast<int16_t>(q);
      continue;
    }
    float y = quant::DequantizeOutput(acc, bias_acc, scale_c);
    for (const PostOp& op : post_ops_) {
      if (op.kind == PostOp::Kind::kActivation)
        y = ApplyFloatActivation(op, y);
      else
        y = y + LoadFloat(inputs[static_cast<size_t>(op.input)], e);
    }
    if (out.dtype == DataType::FLOAT16)
      out.Data<uint16_t>()[e] = FloatToHalf(y);
    else if (out.dtype == DataType::BFLOAT16)
      out.Data<uint16_t>()[e] = FloatToBFloat16(y);
    else
      out.Data<float>()[e] = y;
  }
}

Status QuantizedReference::Run(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs) {
  std::vector<TensorView> inner;
  for (size_t i = 0; i < in_.size() && i < inputs.size(); ++i) {
    TensorView v = inputs[i];
    if (static_cast<int>(i) == bias_input_) {
      if (!int_bias_ && v.data) {
        const int64_t n = v.Count();
        for (int64_t e = 0; e < n; ++e) {
          const float b = LoadFloat(v, e);
          bias_[static_cast<size_t>(e)] = round_bias_half_ ? RoundToHalf(b) : b;
        }
      }
      continue;  // joins the output stage
    }
    QuantInput& q = in_[i];
    if (!q.quantized) continue;  // an omitted input, or a post-op's addend
    if (!q.constant && v.data) {
      const int64_t n = v.Count();
      const int32_t z = v.quant->zero_point;
      if (v.dtype == DataType::INT8)
        for (int64_t e = 0; e < n; ++e) q.centered[static_cast<size_t>(e)] = v.Data<const int8_t>()[e] - z;
      else
        for (int64_t e = 0; e < n; ++e) q.centered[static_cast<size_t>(e)] = v.Data<const int16_t>()[e] - z;
    }
    v.dtype = DataType::INT32;
    v.data = q.centered.data();
    v.quant = nullptr;
    inner.push_back(v);
  }
  ops::TensorView acc{DataType::INT64, out_shape_, acc_.data()};
  MIXQ_RETURN_IF_ERROR(inner_->Run(inner, {acc}));
  OutputStage(inputs, outputs[0]);
  return Status::OK();
}

}  // namespace

bool ActivationPostOp(const ir::AttrMap& attrs, PostOp* op) {
  const std::string type = attrs.Str("type");
  const float alpha = attrs.Float("alpha", std::numeric_limits<float>::quiet_NaN());
  const float beta = attrs.Float("beta", std::numeric_limits<float>::quiet_NaN());
  op->kind = PostOp::Kind::kActivation;
  op->activation = type;
  if (type == "relu") {
    op->lo = 0.0f;
    op->hi = std::numeric_limits<float>::infinity();
  } else if (type == "relu6") {
    op->lo = 0.0f;
    op->hi = 6.0f;
  } else if (type == "clip") {
    op->lo = std::isnan(alpha) ? -std::numeric_limits<float>::infinity() : alpha;
    op->hi = std::isnan(beta) ? std::numeric_limits<float>::infinity() : beta;
  } else if (type == "leaky_relu") {
    op->lo = std::isnan(alpha) ? 0.01f : alpha;
  } else if (type != "hard_swish") {  // hard_swish: a float chain post-op (kernel_registry.h)
    return false;
  }
  return true;
}

float ApplyFloatActivation(const PostOp& op, float v) {
  if (op.activation == "relu") return ClampActivation(v, 0.0f, std::numeric_limits<float>::infinity());
  if (op.activation == "hard_swish") {  // the Activation kernel's double arithmetic
    const double x = v, t = x / 6.0 + 0.5;
    return static_cast<float>(x * (t < 0 ? 0.0 : t > 1 ? 1.0 : t));
  }
  if (op.activation == "leaky_relu") return v < 0.0f ? op.lo * v : v;
  return ClampActivation(v, op.lo, op.hi);  // relu6, clip
}

bool IntegerActivationBounds(const PostOp& op, float scale, int32_t zero_point, int bits, int32_t* lo, int32_t* hi) {
  // Only the clamps commute with quantization (leaky_relu and hard_swish do not).
  if (op.activation != "relu" && op.activation != "relu6" && op.activation != "clip") return false;
  *lo = std::isinf(op.lo) ? quant::QMin(bits) : quant::Quantize(op.lo, scale, zero_point, bits);
  *hi = std::isinf(op.hi) ? quant::QMax(bits) : quant::Quantize(op.hi, scale, zero_point, bits);
  if (op.activation == "relu") *lo = zero_point;
  return true;
}

std::vector<const ValueInfo*> RealValuedInfos(const KernelInit& init, size_t count, std::vector<ValueInfo>* storage) {
  storage->clear();
  for (size_t i = 0; i < count && i < init.inputs.size(); ++i) {
    storage->push_back(init.inputs[i] ? *init.inputs[i] : ValueInfo{});
    storage->back().dtype = DataType::FLOAT32;
    storage->back().quant = nullptr;
  }
  std::vector<const ValueInfo*> pointers;
  for (size_t i = 0; i < storage->size(); ++i) pointers.push_back(init.inputs[i] ? &(*storage)[i] : nullptr);
  return pointers;
}

bool TakesInt8Operands(const KernelInit& init) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1]) return false;
  if (init.ComputeOf(0) != DataType::QINT8 || init.ComputeOf(1) != DataType::QINT8) return false;
  return QuantizedReferenceSupports(init);
}

bool TakesSymmetricInt16Operands(const KernelInit& init) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1]) return false;
  if (init.ComputeOf(0) != DataType::QINT16 || init.ComputeOf(1) != DataType::QINT16) return false;
  for (int i = 0; i < 2; ++i) {
    const ir::QuantBinding* q = init.inputs[static_cast<size_t>(i)]->quant;
    if (!q || !q->symmetric) return false;
    for (int32_t z : q->zero_points)
      if (z != 0) return false;
  }
  return QuantizedReferenceSupports(init);
}

bool IsColumnAddend(const KernelInit& init, const PostOp& op) {
  if (op.kind != PostOp::Kind::kAdd || op.input < 0 || static_cast<size_t>(op.input) >= init.inputs.size() ||
      init.outputs.size() != 1)
    return false;
  const ValueInfo* a = init.inputs[static_cast<size_t>(op.input)];
  const ir::Shape& out = init.outputs[0].shape;
  if (!a || a->dtype != DataType::FLOAT32 || a->narrowed || a->quant ||
      init.ComputeOf(static_cast<size_t>(op.input)) != DataType::FLOAT32 || a->shape == out || a->shape.empty() ||
      out.empty() || a->shape.size() > out.size() || a->shape.back() != out.back() || !ir::IsStatic(a->shape) ||
      !ir::IsStatic(out))
    return false;
  for (size_t d = 0; d + 1 < a->shape.size(); ++d)
    if (a->shape[d] != 1) return false;
  return true;
}

int SplitLeadingColumnAddend(const KernelInit& init, std::vector<PostOp>* rest) {
  if (!init.HasPostOps() || !IsColumnAddend(init, init.post_ops->front())) return -1;
  rest->assign(init.post_ops->begin() + 1, init.post_ops->end());
  return init.post_ops->front().input;
}

bool QuantizedReferenceSupports(const KernelInit& init) {
  if (init.outputs.size() != 1) return false;
  const ValueInfo& out = init.outputs[0];
  const bool int_out = IsIntegerStorage(out);
  if (!int_out && !IsFloatStorage(out.dtype)) return false;
  if (int_out && out.quant->dynamic) return false;
  for (size_t i = 0; i < init.inputs.size(); ++i) {
    const ValueInfo* v = init.inputs[i];
    if (!v) continue;
    const DataType compute = init.ComputeOf(i);
    if (IsQuantizedCompute(compute)) {
      if (v->dtype != (compute == DataType::QINT8 ? DataType::INT8 : DataType::INT16) || !v->quant) return false;
      if (!v->const_data && v->quant->axis >= 0) return false;
    }
  }
  // Float chain post-ops (hard_swish, scalars, a fused Quantize) run only in
  // the fused int8 convolution kernels; the reference runs them as steps.
  if (ChainPostOpsIn(init.post_ops)) return false;
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops) {
      if (op.kind == PostOp::Kind::kAdd && int_out) return false;
      if (op.kind == PostOp::Kind::kAdd && (op.input < 0 || static_cast<size_t>(op.input) >= init.inputs.size() ||
                                            !init.inputs[static_cast<size_t>(op.input)] ||
                                            init.inputs[static_cast<size_t>(op.input)]->shape != out.shape))
        return false;  // a column addend (IsColumnAddend): only the kernels that say so
      if (op.kind == PostOp::Kind::kActivation && int_out && op.activation == "leaky_relu") return false;
    }
  return true;
}

Status MakeQuantizedReference(const OpSchema& schema, const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  if (!schema.integer_reference) return Internal(schema.name, " has no integer reference kernel");
  return MakeQuantizedKernel(schema, init, schema.integer_reference, "reference-quantized", kernel);
}

Status MakeQuantizedKernel(const OpSchema& schema, const KernelInit& init, KernelFactory accumulate, const char* name,
                           std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<QuantizedReference>(accumulate, name);
  MIXQ_RETURN_IF_ERROR(k->Prepare(schema, init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace mixq::ops
