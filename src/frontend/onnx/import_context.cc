#include "frontend/onnx/import_context.h"

#include <algorithm>
#include <cmath>

#include "util/status_util.h"

namespace mixq::onnx_import {

using onnx::AttributeProto;

ImportedValue* Importer::Find(const std::string& name) {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

Status Importer::TensorOf(const std::string& name, ITensor** out) {
  ImportedValue* v = Find(name);
  if (!v) return NotFound("value '", name, "' is not defined");
  if (!v->tensor) {
    const FoldValue& c = *v->constant;
    if (!c.AllKnown())
      return InvalidArgument("value '", name,
                             "' is a shape computed from dims only known at run time; mixq cannot compute it inside "
                             "the network (fix the input shape with SetInputShape)");
    const std::vector<uint8_t> bytes = c.Bytes();
    IConstNode* node = network_->AddIConstNode(c.dtype, Dims(c.dims), bytes.data());
    if (!node) return WithContext(network_->GetLastStatus(), StrCat("constant '", name, "'"));
    MIXQ_RETURN_IF_ERROR(node->SetNodeName(UniqueName(name)));
    MIXQ_RETURN_IF_ERROR(node->GetOutput(0)->SetTensorName(name));
    v->tensor = node->GetOutput(0);
  }
  *out = v->tensor;
  return Status::OK();
}

std::string Importer::UniqueName(const std::string& base) {
  std::string name = base;
  // Resume at the last suffix tried for this base: 50,000 nodes sharing one
  // name stay linear-ish instead of quadratic.
  int& next = next_suffix_[base];
  for (next = std::max(next, 1); used_names_.count(name); ++next) name = StrCat(base, "__", next);
  used_names_[name] = 1;
  return name;
}

// --- inputs

Status NodeContext::Tensor(int i, ITensor** out) {
  if (!HasInput(i)) return InvalidArgument("input ", i, " is missing");
  return importer_->TensorOf(node_.input(i), out);
}

const FoldValue* NodeContext::Constant(int i) const {
  if (!HasInput(i)) return nullptr;
  ImportedValue* v = importer_->Find(node_.input(i));
  return v ? v->constant.get() : nullptr;
}

Status NodeContext::KnownInput(int i, const FoldValue** out) const {
  if (!HasInput(i)) return InvalidArgument("input ", i, " is missing");
  *out = Constant(i);
  if (!*out) return Unimplemented("input ", i, " '", node_.input(i), "' is not known at import");
  return Status::OK();
}

bool NodeContext::AllInputsKnown() const {
  for (int i = 0; i < InputCount(); ++i)
    if (HasInput(i) && !Constant(i)) return false;
  return true;
}

Status NodeContext::RequireKnownInputs() const {
  for (int i = 0; i < InputCount(); ++i)
    if (HasInput(i) && !Constant(i))
      return Unimplemented("input ", i, " '", node_.input(i), "' is computed at run time; mixq only supports ",
                           node_.op_type(), " when its inputs are known at import (shape computations)");
  return Status::OK();
}

Status NodeContext::ConstInts(int i, const char* role, std::vector<int64_t>* out) const {
  const std::string what = StrCat("input ", i, " ('", role, "')");
  if (!HasInput(i)) return InvalidArgument(what, " is missing");
  const FoldValue* c = Constant(i);
  if (!c)
    return Unimplemented(what, " '", node_.input(i),
                         "' must be a constant (an initializer or computable at import time); it is computed at "
                         "run time");
  return c->ToInt64s(what, out);
}

Status NodeContext::ConstFloats(int i, const char* role, std::vector<float>* out) const {
  const std::string what = StrCat("input ", i, " ('", role, "')");
  if (!HasInput(i)) return InvalidArgument(what, " is missing");
  const FoldValue* c = Constant(i);
  if (!c)
    return Unimplemented(what, " '", node_.input(i),
                         "' must be a constant (an initializer or computable at import time); it is computed at "
                         "run time");
  return c->ToFloats(what, out);
}

Status NodeContext::InputDims(int i, Dims* out) {
  if (!HasInput(i)) return InvalidArgument("input ", i, " is missing");
  if (const FoldValue* c = Constant(i)) {
    *out = Dims(c->dims);
    return Status::OK();
  }
  ITensor* t = nullptr;
  MIXQ_RETURN_IF_ERROR(Tensor(i, &t));
  *out = t->GetDimension();
  return Status::OK();
}

Status NodeContext::InputType(int i, DataType* out) {
  if (!HasInput(i)) return InvalidArgument("input ", i, " is missing");
  if (const FoldValue* c = Constant(i)) {
    *out = c->dtype;
    return Status::OK();
  }
  ITensor* t = nullptr;
  MIXQ_RETURN_IF_ERROR(Tensor(i, &t));
  *out = t->GetDataType();
  return Status::OK();
}

Status NodeContext::InputRank(int i, int64_t* rank) {
  Dims d;
  MIXQ_RETURN_IF_ERROR(InputDims(i, &d));
  *rank = d.GetDimsNum();
  return Status::OK();
}

// --- attributes

const AttributeProto* NodeContext::FindAttr(const std::string& name) const {
  for (const auto& a : node_.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

Status NodeContext::AttrOfType(const std::string& name, int type, const AttributeProto** out) const {
  *out = FindAttr(name);
  if (!*out) return Status::OK();
  if ((*out)->type() != type)
    return InvalidArgument("attribute '", name, "' has type ",
                           AttributeProto::AttributeType_Name(static_cast<AttributeProto::AttributeType>(
                               AttributeProto::AttributeType_IsValid((*out)->type()) ? (*out)->type() : 0)),
                           ", expected ",
                           AttributeProto::AttributeType_Name(static_cast<AttributeProto::AttributeType>(type)));
  return Status::OK();
}

Status NodeContext::AttrInt(const std::string& name, int64_t fallback, int64_t* out) const {
  const AttributeProto* a = nullptr;
  MIXQ_RETURN_IF_ERROR(AttrOfType(name, AttributeProto::INT, &a));
  *out = a ? a->i() : fallback;
  return Status::OK();
}

Status NodeContext::AttrFloat(const std::string& name, float fallback, float* out) const {
  const AttributeProto* a = nullptr;
  MIXQ_RETURN_IF_ERROR(AttrOfType(name, AttributeProto::FLOAT, &a));
  *out = a ? a->f() : fallback;
  return Status::OK();
}

Status NodeContext::AttrString(const std::string& name, const std::string& fallback, std::string* out) const {
  const AttributeProto* a = nullptr;
  MIXQ_RETURN_IF_ERROR(AttrOfType(name, AttributeProto::STRING, &a));
  *out = a ? a->s() : fallback;
  return Status::OK();
}

Status NodeContext::AttrInts(const std::string& name, const std::vector<int64_t>& fallback,
                             std::vector<int64_t>* out) const {
  const AttributeProto* a = nullptr;
  MIXQ_RETURN_IF_ERROR(AttrOfType(name, AttributeProto::INTS, &a));
  if (a)
    out->assign(a->ints().begin(), a->ints().end());
  else
    *out = fallback;
  return Status::OK();
}

Status NodeContext::AttrFloats(const std::string& name, const std::vector<float>& fallback,
                               std::vector<float>* out) const {
  const AttributeProto* a = nullptr;
  MIXQ_RETURN_IF_ERROR(AttrOfType(name, AttributeProto::FLOATS, &a));
  if (a)
    out->assign(a->floats().begin(), a->floats().end());
  else
    *out = fallback;
  return Status::OK();
}

Status NodeContext::AttrTensor(const std::string& name, FoldValue* out) const {
  const AttributeProto* a = nullptr;
  MIXQ_RETURN_IF_ERROR(AttrOfType(name, AttributeProto::TENSOR, &a));
  if (!a) return InvalidArgument("attribute '", name, "' is missing");
  return WithContext(FoldValueFromProto(a->t(), importer_->base_dir(), out), StrCat("attribute '", name, "'"));
}

Status NodeContext::ExpectAttrInt(const std::string& name, int64_t allowed, const char* why) const {
  int64_t v = allowed;
  MIXQ_RETURN_IF_ERROR(AttrInt(name, allowed, &v));
  if (v != allowed) return Unimplemented("attribute '", name, "' = ", v, " is not supported (", why, ")");
  return Status::OK();
}

// --- outputs

Status NodeContext::ExpectOutputsAtMost(int n) const {
  for (int i = n; i < OutputCount(); ++i)
    if (HasOutput(i)) return Unimplemented("output ", i, " ('", node_.output(i), "') is not supported");
  return Status::OK();
}

Status NodeContext::Bind(INode* node) {
  MIXQ_RETURN_IF_ERROR(node->SetNodeName(node_name_));
  for (int i = 0; i < node->GetOutputCount(); ++i) {
    if (HasOutput(i)) {
      MIXQ_RETURN_IF_ERROR(SetOutput(i, node->GetOutput(i)));
    } else {
      MIXQ_RETURN_IF_ERROR(node->GetOutput(i)->SetTensorName(HelperName(StrCat("unused", i))));
    }
  }
  return Status::OK();
}

Status NodeContext::SetOutput(int i, ITensor* tensor) {
  if (!HasOutput(i)) return Status::OK();
  const std::string& name = node_.output(i);
  // A tensor already bound to another ONNX name (Identity, Dropout) is aliased.
  ImportedValue* existing = nullptr;
  for (int k = 0; k < InputCount() && !existing; ++k)
    if (HasInput(k)) {
      ImportedValue* v = importer_->Find(node_.input(k));
      if (v && v->tensor == tensor) existing = v;
    }
  if (!existing) MIXQ_RETURN_IF_ERROR(tensor->SetTensorName(name));
  importer_->Define(name, ImportedValue{tensor, nullptr});
  return Status::OK();
}

Status NodeContext::SetConstOutput(int i, FoldValue value) {
  if (!HasOutput(i)) return Status::OK();
  MIXQ_RETURN_IF_ERROR(CheckDims(value.dims, StrCat("output '", node_.output(i), "'")));
  importer_->Define(node_.output(i), ImportedValue{nullptr, std::make_shared<const FoldValue>(std::move(value))});
  return Status::OK();
}

Status NodeContext::NameHelper(INode* node, const std::string& suffix) {
  MIXQ_RETURN_IF_ERROR(node->SetNodeName(HelperName(suffix)));
  for (int i = 0; i < node->GetOutputCount(); ++i)
    MIXQ_RETURN_IF_ERROR(node->GetOutput(i)->SetTensorName(HelperName(StrCat(suffix, "_out", i))));
  return Status::OK();
}

}  // namespace mixq::onnx_import
