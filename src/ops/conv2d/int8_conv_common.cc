#include "ops/conv2d/int8_conv_common.h"

#include <algorithm>
#include <cstdlib>

#include "ops/quantized_reference.h"
#include "quant/requantize.h"
#include "util/half.h"

namespace mixq::ops {

namespace {

bool LayoutTaken(const ir::AttrMap& attrs, const char* key, bool nhwc_too) {
  const std::string layout = attrs.Str(key, "NCHW");
  return layout == "NCHW" || (nhwc_too && layout == "NHWC");
}

// Bias (float, or an INT32 constant) and residual addends (float, the
// output's shape) the output stage takes.
bool StageInputsSupported(const KernelInit& init) {
  const ValueInfo& out = init.outputs[0];
  if (init.inputs.size() > 2 && init.inputs[2] && init.ComputeOf(2) != DataType::INT32) {
    const DataType b = init.inputs[2]->dtype;
    if (b != DataType::FLOAT32 && b != DataType::FLOAT16 && b != DataType::BFLOAT16) return false;
  }
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops)
      if (op.kind == PostOp::Kind::kAdd) {
        const ValueInfo* a = op.input >= 0 && static_cast<size_t>(op.input) < init.inputs.size()
                                 ? init.inputs[static_cast<size_t>(op.input)]
                                 : nullptr;
        if (!a || (a->dtype != DataType::FLOAT32 && a->dtype != DataType::FLOAT16) || a->shape != out.shape)
          return false;
      }
  return MaxAbsIntBias(init, 2) >= 0;
}

// Float chain post-ops (kernel_registry.h): any number of activations,
// scalars and residual adds in float, and a kQuantize last exactly when the
// output is `quantized` (INT8 for the int8 kernels, INT16 for the int16 ones).
bool ChainPostOpsSupported(const KernelInit& init, DataType quantized) {
  const std::vector<PostOp>& ops = *init.post_ops;
  bool quantize = false;
  for (size_t k = 0; k < ops.size(); ++k)
    if (ops[k].kind == PostOp::Kind::kQuantize) {
      if (k + 1 != ops.size()) return false;
      quantize = true;
    }
  return quantize == (init.outputs[0].dtype == quantized);
}

// `init` with a float32 output and no post-ops: how a step with float chain
// post-ops is checked (it computes that float output, then the chain).
template <typename Check>
bool TakenAsFloatOutput(const KernelInit& init, Check check) {
  std::vector<ValueInfo> float_out = init.outputs;
  for (ValueInfo& o : float_out) {
    o.dtype = DataType::FLOAT32;
    o.quant = nullptr;
    o.narrowed = false;
  }
  const KernelInit plain(init.attrs, init.inputs, float_out, init.input_compute);
  return check(plain);
}

// The int16 form of Int8OperandsTaken below.
bool Int16OperandsTaken(const KernelInit& init) {
  if (!ChainPostOpsIn(init.post_ops)) return TakesSymmetricInt16Operands(init);
  return ChainPostOpsSupported(init, DataType::INT16) && TakenAsFloatOutput(init, TakesSymmetricInt16Operands);
}

// The reference's operand checks. A step with float chain post-ops computes
// the op's float output and then what those post-ops say, all in the stage:
// checked as that float-output step without them.
bool Int8OperandsTaken(const KernelInit& init) {
  if (!ChainPostOpsIn(init.post_ops)) return TakesInt8Operands(init);
  return ChainPostOpsSupported(init, DataType::INT8) && TakenAsFloatOutput(init, TakesInt8Operands);
}

}  // namespace

bool FusedInt8StageSupports(const KernelInit& init, int64_t out_channels, int64_t* int_bias) {
  if (!Int8OperandsTaken(init) || !init.inputs[1]->const_data) return false;
  const ir::QuantBinding& wq = *init.inputs[1]->quant;
  if (wq.axis >= 0 && (wq.scales.size() != static_cast<size_t>(out_channels) ||
                       wq.zero_points.size() != static_cast<size_t>(out_channels)))
    return false;
  if (wq.axis < 0 && wq.scales.size() != 1) return false;
  const ValueInfo& out = init.outputs[0];
  if (out.dtype != DataType::INT8 && out.dtype != DataType::FLOAT32 && out.dtype != DataType::FLOAT16) return false;
  if (!StageInputsSupported(init)) return false;
  *int_bias = MaxAbsIntBias(init, 2);
  return *int_bias >= 0;
}

bool FusedInt16StageSupports(const KernelInit& init, int64_t out_channels) {
  if (!Int16OperandsTaken(init) || !init.inputs[1]->const_data) return false;
  const ir::QuantBinding& wq = *init.inputs[1]->quant;
  if (wq.axis >= 0 && wq.scales.size() != static_cast<size_t>(out_channels)) return false;
  if (wq.axis < 0 && wq.scales.size() != 1) return false;
  const DataType out = init.outputs[0].dtype;
  if (out != DataType::INT16 && out != DataType::FLOAT32 && out != DataType::FLOAT16) return false;
  return StageInputsSupported(init);
}

bool FusedInt16ConvSupports(const KernelInit& init, ConvGeometry* geometry) {
  std::vector<ValueInfo> logical;
  ConvGeometry g;
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] ||
      !ComputeConv2DGeometry(init.attrs, RealValuedInfos(init, 3, &logical), &g).ok() ||
      !FusedInt16StageSupports(init, g.out_channels))
    return false;
  *geometry = g;
  return true;
}

bool FusedInt8ConvSupports(const KernelInit& init, ConvGeometry* geometry, bool nhwc_too) {
  std::vector<ValueInfo> logical;
  ConvGeometry g;
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] ||
      !ComputeConv2DGeometry(init.attrs, RealValuedInfos(init, 3, &logical), &g).ok())
    return false;
  int64_t int_bias = 0;
  if (!LayoutTaken(init.attrs, "input_layout", nhwc_too) || !LayoutTaken(init.attrs, "output_layout", nhwc_too) ||
      !FusedInt8StageSupports(init, g.out_channels, &int_bias))
    return false;
  // Exact int32 sums: |acc| <= K * 255 * 255, plus the integer bias.
  *geometry = g;
  return g.kernel_h * g.kernel_w * (g.in_channels / g.group) * 255 * 255 + int_bias < (int64_t{1} << 31);
}

std::vector<int16_t> CenteredFilter(const ValueInfo& w, const ConvGeometry& g, int64_t grp) {
  // CenteredWeight's element order with its index arithmetic hoisted out of
  // the loops: the kernels' Supports call this once per convolution and the
  // layout pass again, over every weight of the model.
  const auto f_s = LogicalStrides(w.shape, g.filter_axes);
  const ir::QuantBinding& wq = *w.quant;
  const int64_t oc = g.out_channels / g.group, ic = g.in_channels / g.group;
  const int64_t depth = g.kernel_h * g.kernel_w * ic;
  const auto* data = static_cast<const int8_t*>(w.const_data);
  std::vector<int16_t> out(static_cast<size_t>(oc * depth));
  int16_t* dst = out.data();
  for (int64_t r = 0; r < oc; ++r) {
    const int64_t o = grp * oc + r;
    const int32_t zp = wq.zero_points.empty() ? 0 : wq.zero_points[wq.axis >= 0 ? static_cast<size_t>(o) : 0];
    for (int64_t c = 0; c < ic; ++c)
      for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
        const int8_t* row = data + o * f_s[0] + c * f_s[1] + kh * f_s[2];
        for (int64_t kw = 0; kw < g.kernel_w; ++kw) *dst++ = static_cast<int16_t>(row[kw * f_s[3]] - zp);
      }
  }
  return out;
}

void Int8ConvOutputStage::Init(const KernelInit& init, const ConvGeometry& g) {
  channels_ = g.out_channels;
  w_scales_ = init.inputs[1]->quant->scales;
  if (init.inputs.size() > 2 && init.inputs[2]) {
    has_bias_ = true;
    int_bias_ = init.ComputeOf(2) == DataType::INT32;
    round_bias_half_ = init.ComputeOf(2) == DataType::FLOAT16;
    bias_type_ = init.inputs[2]->dtype;
  }
  int_out_ = init.outputs[0].dtype == DataType::INT8 || init.outputs[0].dtype == DataType::INT16;
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops) quantize_float_ = quantize_float_ || op.kind == PostOp::Kind::kQuantize;
  bits_ = init.outputs[0].dtype == DataType::INT16 ? 16 : 8;
  out_type_ = init.outputs[0].dtype;
  if (init.post_ops) {
    post_ops_ = DecodePostOps(*init.post_ops);
    for (const PostOp& op : *init.post_ops) {
      if (op.kind == PostOp::Kind::kAdd)
        addend_inputs_.push_back(op.input);
      else if (op.kind == PostOp::Kind::kActivation)
        activations_.push_back(op);
    }
  }
}

void Int8ConvOutputStage::Prepare(const std::vector<TensorView>& in, const TensorView& y) {
  addends_.clear();
  for (int input : addend_inputs_)
    addends_.push_back({in[static_cast<size_t>(input)].dtype, in[static_cast<size_t>(input)].data});
  stage_.assign(static_cast<size_t>(channels_), ChannelStage{});
  const double s_in = in[0].quant->scale;
  const double out_scale = int_out_ ? y.quant->scale : 1.0;
  for (int64_t o = 0; o < channels_; ++o) {
    ChannelStage& c = stage_[static_cast<size_t>(o)];
    const double u = 1.0 * s_in * static_cast<double>(w_scales_.size() == 1 ? w_scales_[0] : w_scales_[o]);
    // A fused Quantize computes the float output first, as the steps it replaces.
    c.multiplier =
        int_out_ && !quantize_float_ ? quant::RequantMultiplier(u, 1.0, out_scale) : quant::AccumulatorScale(u, 1.0);
    if (!has_bias_ || !in[2].data) continue;
    if (int_bias_) {
      c.int_bias = in[2].Data<const int32_t>()[o];
    } else {
      float b = LoadReal(bias_type_, in[2].data, o);
      if (round_bias_half_) b = RoundToHalf(b);
      c.bias = quant::BiasInAccumulatorUnits(b, u, 1.0);
    }
  }
  if (quantize_float_) {
    zero_point_ = y.quant->zero_point;
    out_scale_ = y.quant->scale;
    shortcut_ = y.dtype == DataType::INT16 ? HardSwishInt16ShortcutFor(post_ops_, out_scale_, zero_point_)
                                           : HardSwishInt8ShortcutFor(post_ops_, out_scale_);
  } else if (int_out_) {
    zero_point_ = y.quant->zero_point;
    lo_ = quant::QMin(bits_);
    hi_ = quant::QMax(bits_);
    for (const PostOp& op : activations_) {
      int32_t lo, hi;
      if (IntegerActivationBounds(op, y.quant->scale, y.quant->zero_point, bits_, &lo, &hi)) {
        lo_ = std::max(lo_, lo);
        hi_ = std::min(hi_, hi);
      }
    }
  }
}

void Int8ConvOutputStage::Row(int64_t o, const int32_t* acc, int64_t n, int64_t at, const TensorView& y) const {
  const ChannelStage& c = stage_[static_cast<size_t>(o)];
  if (quantize_float_)
    DequantizeQuantizeRowToInt8(acc, n, c, post_ops_, addends_, at, out_scale_, zero_point_, y.Data<int8_t>() + at,
                                &shortcut_);
  else if (int_out_)
    RequantizeRowToInt8(acc, n, c, zero_point_, lo_, hi_, y.Data<int8_t>() + at);
  else
    DequantizeRow(acc, n, c, post_ops_, addends_, at, out_type_, y.data, at);
}

const ChannelStage* Int8ConvOutputStage::PlainInt8(int32_t* zero_point, int32_t* lo, int32_t* hi) const {
  if (!int_out_ || quantize_float_ || bits_ != 8) return nullptr;
  *zero_point = zero_point_;
  *lo = lo_;
  *hi = hi_;
  return stage_.data();
}

const ChannelStage* Int8ConvOutputStage::PlainInt16(int32_t* zero_point, int32_t* lo, int32_t* hi) const {
  if (!int_out_ || quantize_float_ || bits_ != 16) return nullptr;
  *zero_point = zero_point_;
  *lo = lo_;
  *hi = hi_;
  return stage_.data();
}

std::vector<kernels::Int16Requant> Int8ConvOutputStage::PlainInt16Requant() const {
  int32_t zero_point = 0, lo = 0, hi = 0;
  const ChannelStage* stages = PlainInt16(&zero_point, &lo, &hi);
  if (!stages) return {};
  std::vector<kernels::Int16Requant> direct(stage_.size());
  for (size_t c = 0; c < direct.size(); ++c) {
    if (!StageIsFinite(stages[c])) return {};
    direct[c] = {stages[c].int_bias, stages[c].bias, stages[c].multiplier, zero_point, lo, hi};
  }
  return direct;
}

void Int8ConvOutputStage::Row(int64_t o, const int64_t* acc, int64_t n, int64_t at, const TensorView& y) const {
  const ChannelStage& c = stage_[static_cast<size_t>(o)];
  if (quantize_float_)
    DequantizeQuantizeRow64ToInt16(acc, n, c, post_ops_, addends_, at, out_scale_, zero_point_, y.Data<int16_t>() + at,
                                   &shortcut_);
  else if (int_out_)
    RequantizeRow64ToInt16(acc, n, c, zero_point_, lo_, hi_, y.Data<int16_t>() + at);
  else
    DequantizeRow64(acc, n, c, post_ops_, addends_, at, out_type_, y.data, at);
}

void Int8ConvOutputStage::RowOfSums(int64_t o, const double* sums, int64_t n, int64_t at, const TensorView& y) const {
  const ChannelStage& c = stage_[static_cast<size_t>(o)];
  if (quantize_float_) {
    DequantizeQuantizeRowF64ToInt16Avx512(sums, n, c, post_ops_, addends_, at, out_scale_, zero_point_,
                                          y.Data<int16_t>() + at, &shortcut_);
  } else if (int_out_) {
    // A plain INT16 output whose constants are not all finite (finite ones
    // are requantized in the kernel's registers): the int64 row, in pieces.
    int64_t acc[256];
    for (int64_t j = 0; j < n; j += 256) {
      const int64_t m = std::min<int64_t>(256, n - j);
      SumsToInt64Avx512(sums + j, m, acc);
      Row(o, acc, m, at + j, y);
    }
  } else {
    DequantizeRowF64Avx512(sums, n, c, post_ops_, addends_, at, out_type_, y.data, at);
  }
}

void Int8ConvOutputStage::RowsOfSums(int64_t o, int64_t rows, const double* sums, int64_t ld_sums, int64_t n,
                                     int64_t at, int64_t ld_out, const TensorView& y) const {
  if (quantize_float_ && shortcut_.applies) {
    DequantizeQuantizeRowsF64ToInt16Avx512(sums, ld_sums, rows, n, stage_.data() + o, post_ops_, out_scale_,
                                           y.Data<int16_t>() + at, ld_out, shortcut_);
    return;
  }
  for (int64_t r = 0; r < rows; ++r) RowOfSums(o + r, sums + r * ld_sums, n, at + r * ld_out, y);
}

}  // namespace mixq::ops
