#include <cmath>

#include "api/network_impl.h"
#include "quant/quant_math.h"
#include "util/status_util.h"

namespace mixq::api {

namespace {
Status CheckRange(const Range& r, const std::string& tensor) {
  if (!std::isfinite(r.min) || !std::isfinite(r.max) || r.min > r.max)
    return InvalidArgument("tensor '", tensor, "': range [", r.min, ", ", r.max,
                           "] must be finite with min <= max");
  return Status::OK();
}
}  // namespace

Dims TensorImpl::GetDimension() const {
  network_->RefreshShapes();
  return Dims(network_->graph().value(id_)->shape);
}

Status TensorImpl::SetDimension(const Dims& dims) {
  ir::Value* v = network_->mutable_graph().value(id_);
  if (v->producer >= 0)
    return FailedPrecondition("tensor '", v->name, "' is a node output: its dims are inferred, only network inputs can be set");
  for (int64_t d : dims.GetDims())
    if (d < -1) return InvalidArgument("tensor '", v->name, "': dims ", dims.ToString(), " hold a value below -1");
  v->shape = dims.GetDims();
  return Status::OK();
}

DataType TensorImpl::GetDataType() const {
  network_->RefreshShapes();
  const ir::Value* v = network_->graph().value(id_);
  return v->boundary_precision ? *v->boundary_precision : v->dtype;
}

Status TensorImpl::SetDataType(DataType type) {
  ir::Value* v = network_->mutable_graph().value(id_);
  if (v->producer >= 0)
    return FailedPrecondition("tensor '", v->name, "' is a node output: use INode::SetOutputType");
  if (DataTypeSize(type) == 0) return InvalidArgument("tensor '", v->name, "': unknown data type");
  const bool quantized = type == DataType::QINT8 || type == DataType::QINT16;
  v->dtype = quantized ? DataType::FLOAT32 : type;
  if (quantized) v->boundary_precision = type;
  else v->boundary_precision.reset();
  return Status::OK();
}

std::string TensorImpl::GetTensorName() const { return network_->graph().value(id_)->name; }

Status TensorImpl::SetTensorName(const std::string& name) {
  if (name.empty()) return InvalidArgument("tensor name must not be empty");
  const ir::Value* other = network_->graph().FindValue(name);
  if (other && other->id != id_) return InvalidArgument("a tensor named '", name, "' already exists");
  network_->mutable_graph().RenameValue(id_, name);
  return Status::OK();
}

Status TensorImpl::SetDynamicRange(const Range& range, bool force) {
  ir::Value* v = network_->mutable_graph().value(id_);
  MIXQ_RETURN_IF_ERROR(CheckRange(range, v->name));
  v->range = ir::RangeSpec{{range}, -1, force};
  return Status::OK();
}

Status TensorImpl::SetDynamicRangePerAxis(const std::vector<Range>& ranges, bool force) {
  ir::Value* v = network_->mutable_graph().value(id_);
  if (ranges.empty()) return InvalidArgument("tensor '", v->name, "': SetDynamicRangePerAxis got no ranges");
  for (const Range& r : ranges) MIXQ_RETURN_IF_ERROR(CheckRange(r, v->name));
  // The axis is the weight axis of the consumer; the precision planner checks the count.
  v->range = ir::RangeSpec{ranges, 0, force};
  return Status::OK();
}

bool TensorImpl::HasDynamicRange() const { return network_->graph().value(id_)->range.has_value(); }

Range TensorImpl::GetDynamicRange() const {
  const auto& r = network_->graph().value(id_)->range;
  return r && r->ranges.size() == 1 ? r->ranges[0] : Range{};
}

std::vector<Range> TensorImpl::GetDynamicRangePerAxis() const {
  const auto& r = network_->graph().value(id_)->range;
  return r ? r->ranges : std::vector<Range>{};
}

Status TensorImpl::SetQuantizationParameters(const QuantizationParameters& params) {
  ir::Value* v = network_->mutable_graph().value(id_);
  quant::QuantParams checked;
  checked.bits = params.bits;
  checked.symmetric = false;
  checked.axis = params.axis < 0 ? quant::kPerTensor : params.axis;
  checked.scales = params.scales;
  checked.zero_points = params.zero_points;
  MIXQ_RETURN_IF_ERROR(WithContext(quant::ValidateQuantParams(checked), "tensor '" + v->name + "'"));
  // Dims as far as known now (a constant's are; others are checked at build).
  const std::vector<int64_t> dims = GetDimension().GetDims();
  if (params.axis < -1 || (params.axis >= 0 && !dims.empty() && params.axis >= static_cast<int64_t>(dims.size())))
    return InvalidArgument("tensor '", v->name, "' has rank ", dims.size(), "; quantization axis ", params.axis,
                           " is outside it (-1: per tensor)");
  if (params.axis >= 0 && !dims.empty() && dims[static_cast<size_t>(params.axis)] >= 0 &&
      dims[static_cast<size_t>(params.axis)] != static_cast<int64_t>(params.scales.size()))
    return InvalidArgument("tensor '", v->name, "' has ", dims[static_cast<size_t>(params.axis)],
                           " slices along axis ", params.axis, " but ", params.scales.size(), " scales");
  ir::QuantBinding b;
  b.bits = params.bits;
  b.axis = params.axis;
  b.scales = params.scales;
  b.zero_points = params.zero_points;
  b.symmetric = true;
  for (int32_t z : params.zero_points) b.symmetric = b.symmetric && z == 0;
  v->fixed_quant = b;
  return Status::OK();
}

bool TensorImpl::GetQuantizationParameters(QuantizationParameters* params) const {
  const auto& b = network_->graph().value(id_)->fixed_quant;
  if (!b || !params) return b.has_value();
  *params = QuantizationParameters{b->bits, b->scales, b->zero_points, b->axis};
  return true;
}

INode* TensorImpl::GetProducer() const {
  int producer = network_->graph().value(id_)->producer;
  return producer < 0 ? nullptr : network_->node(producer);
}

}  // namespace mixq::api

namespace mixq {

namespace {
const char* PaddingModeName(PaddingMode mode) {
  switch (mode) {
    case PaddingMode::EXPLICIT: return "EXPLICIT";
    case PaddingMode::SAME_UPPER: return "SAME_UPPER";
    case PaddingMode::SAME_LOWER: return "SAME_LOWER";
    case PaddingMode::VALID: return "VALID";
  }
  return "UNKNOWN";
}
}  // namespace

Status IConvNode::SetPaddingMode(PaddingMode mode) { return SetAttr("padding_mode", PaddingModeName(mode)); }

Status IConvNode::SetLayout(Layout input, Layout filter, Layout output) {
  MIXQ_RETURN_IF_ERROR(SetAttr("input_layout", LayoutName(input)));
  MIXQ_RETURN_IF_ERROR(SetAttr("filter_layout", LayoutName(filter)));
  return SetAttr("output_layout", LayoutName(output));
}

Status IPool2DNode::SetPaddingMode(PaddingMode mode) { return SetAttr("padding_mode", PaddingModeName(mode)); }
Status IPool2DNode::SetLayout(Layout layout) { return SetAttr("layout", LayoutName(layout)); }
Status IGlobalAvgPoolNode::SetLayout(Layout layout) { return SetAttr("layout", LayoutName(layout)); }

}  // namespace mixq
