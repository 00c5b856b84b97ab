#include <cmath>

#include "api/network_impl.h"
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
  network_->mutable_graph().value(id_)->name = name;
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
