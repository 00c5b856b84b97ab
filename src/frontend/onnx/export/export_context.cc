#include "frontend/onnx/export/export_context.h"

#include <cstring>
#include <numeric>

#include "ops/op_schema.h"
#include "util/status_util.h"

namespace mixq::onnx_export {

namespace {

bool IsQuantized(DataType t) {
  return t == DataType::QINT8 || t == DataType::QINT16;
}

bool IsIdentity(const std::vector<int64_t>& perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i)) return false;
  return true;
}

// Row-major permutation of raw elements: out dims[k] = in dims[perm[k]].
std::vector<uint8_t> PermuteBytes(const void* data, size_t element, const std::vector<int64_t>& dims,
                                  const std::vector<int64_t>& perm) {
  const size_t rank = dims.size();
  std::vector<int64_t> in_strides(rank, 1), out_dims(rank);
  for (size_t d = rank; d-- > 1;) in_strides[d - 1] = in_strides[d] * dims[d];
  for (size_t k = 0; k < rank; ++k) out_dims[k] = dims[static_cast<size_t>(perm[k])];
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  std::vector<uint8_t> out(static_cast<size_t>(count) * element);
  std::vector<int64_t> index(rank, 0);
  const auto* src = static_cast<const uint8_t*>(data);
  for (int64_t e = 0; e < count; ++e) {
    int64_t offset = 0;
    for (size_t k = 0; k < rank; ++k) offset += index[k] * in_strides[static_cast<size_t>(perm[k])];
    std::memcpy(out.data() + static_cast<size_t>(e) * element, src + static_cast<size_t>(offset) * element, element);
    for (size_t k = rank; k-- > 0;) {
      if (++index[k] < out_dims[k]) break;
      index[k] = 0;
    }
  }
  return out;
}

}  // namespace

std::vector<int64_t> SwapLastTwo(size_t rank) {
  std::vector<int64_t> perm(rank);
  std::iota(perm.begin(), perm.end(), 0);
  if (rank >= 2) std::swap(perm[rank - 1], perm[rank - 2]);
  return perm;
}

void ExportContext::Begin(const ir::Node& node, std::vector<std::string> outputs) {
  node_ = &node;
  outputs_ = std::move(outputs);
  attrs_ = ir::AttrMap();
  for (const auto& spec : ops::GetSchema(node.op).attrs) attrs_.Set(spec.name, spec.default_value);
  for (const auto& [name, value] : node.attrs.values()) attrs_.Set(name, value);
}

const void* ExportContext::ConstantData(size_t i) const {
  if (!HasInput(i)) return nullptr;
  const ir::Value& v = *graph_.value(node_->inputs[i]);
  if (v.producer < 0 || graph_.node(v.producer)->op != OpKind::kConstant) return nullptr;
  return graph_.node(v.producer)->constant->data();
}

std::string ExportContext::Transpose(const std::string& from, const std::vector<int64_t>& perm, const std::string& to) {
  const std::string out = to.empty() ? w_->Unique(from + "_t") : to;
  onnx::NodeProto* n = w_->AddNode("Transpose", {from}, {out});
  GraphWriter::SetAttr(n, "perm", perm);
  return out;
}

std::string ExportContext::ConstantInitializer(const ir::Value& v, const std::vector<int64_t>& perm,
                                               std::vector<int64_t>* dims) {
  const void* data = graph_.node(v.producer)->constant->data();
  *dims = v.shape;
  if (perm.empty() || IsIdentity(perm)) return w_->AddInitializer(v.name, v.dtype, v.shape, data);
  std::vector<uint8_t> permuted = PermuteBytes(data, DataTypeSize(v.dtype), v.shape, perm);
  for (size_t k = 0; k < perm.size(); ++k) (*dims)[k] = v.shape[static_cast<size_t>(perm[k])];
  return w_->AddInitializer(v.name, v.dtype, *dims, permuted.data());
}

Status ExportContext::Input(size_t i, std::string* name, const std::vector<int64_t>& perm) {
  name->clear();
  if (!HasInput(i)) return Status::OK();
  const int id = node_->inputs[i];
  const ir::Value& v = *graph_.value(id);
  const DataType compute = i < node_->input_compute.size() ? node_->input_compute[i] : v.dtype;
  const auto& binding = i < node_->input_quant.size() ? node_->input_quant[i] : std::nullopt;
  const bool constant = v.producer >= 0 && graph_.node(v.producer)->op == OpKind::kConstant;
  const bool permuted = !perm.empty() && !IsIdentity(perm);
  if (permuted && perm.size() != v.shape.size())
    return Internal("permutation of rank ", perm.size(), " for tensor '", v.name, "' of rank ", v.shape.size());

  // How the input is consumed decides the cache key.
  std::string how = DataTypeName(compute);
  if (binding) {
    if (binding->dynamic)
      return Unimplemented(ir::NodeLabel(graph_, *node_), " input ", i, " (tensor '", v.name,
                           "') is quantized dynamically, which has no QuantizeLinear form with fixed scales");
    how = StrCat(how, "/", binding->bits, "/", binding->axis);
    for (size_t c = 0; c < binding->scales.size(); ++c) {
      uint32_t bits = 0;  // exact: neighbouring scales must not share a key
      std::memcpy(&bits, &binding->scales[c], sizeof(bits));
      how = StrCat(how, "/", bits, ":", binding->zero_points[c]);
    }
  }
  const auto key = std::make_tuple(id, how, permuted ? perm : std::vector<int64_t>{});
  if (auto it = cache_.find(key); it != cache_.end()) {
    *name = it->second;
    return Status::OK();
  }

  std::string out;
  if (constant && binding) {
    // Weights (INT8 / INT16) or an INT32 bias, stored quantized: initializer ->
    // DequantizeLinear, per axis where the binding says (the axis follows the
    // permutation).
    std::vector<int64_t> dims;
    const std::string q = ConstantInitializer(v, permuted ? perm : std::vector<int64_t>{}, &dims);
    int64_t axis = binding->axis;
    if (axis >= 0 && permuted)
      for (size_t k = 0; k < perm.size(); ++k)
        if (perm[k] == axis) axis = static_cast<int64_t>(k);
    const std::vector<int64_t> param_dims = binding->axis >= 0
                                                ? std::vector<int64_t>{static_cast<int64_t>(binding->scales.size())}
                                                : std::vector<int64_t>{};
    const std::string scale =
        w_->AddInitializer(v.name + "_scale", DataType::FLOAT32, param_dims, binding->scales.data());
    std::string zero;
    if (v.dtype == DataType::INT8) {
      std::vector<int8_t> z(binding->zero_points.begin(), binding->zero_points.end());
      zero = w_->AddInitializer(v.name + "_zero_point", DataType::INT8, param_dims, z.data());
    } else if (v.dtype == DataType::INT16) {
      std::vector<int16_t> z(binding->zero_points.begin(), binding->zero_points.end());
      zero = w_->AddInitializer(v.name + "_zero_point", DataType::INT16, param_dims, z.data());
    } else {
      zero = w_->AddInitializer(v.name + "_zero_point", DataType::INT32, param_dims, binding->zero_points.data());
    }
    onnx::NodeProto* dq = nullptr;
    out = w_->AddNode1("DequantizeLinear", {q, scale, zero}, v.name + "_dq", &dq);
    if (binding->axis >= 0) GraphWriter::SetAttr(dq, "axis", axis);
  } else {
    std::string source;
    std::vector<int64_t> dims = v.shape;
    if (constant) {
      source = ConstantInitializer(v, permuted ? perm : std::vector<int64_t>{}, &dims);
    } else {
      auto it = names_.find(id);
      if (it == names_.end()) return Internal("tensor '", v.name, "' is used before it is produced");
      source = it->second;
    }
    out = source;
    if (binding && IsQuantized(compute)) {
      // An activation: QuantizeLinear -> DequantizeLinear with mixq's parameters.
      const DataType zt = binding->bits == 8 ? DataType::INT8 : DataType::INT16;
      const std::string scale = w_->AddFloatScalar(v.name + "_scale", binding->scales[0]);
      std::string zero;
      if (zt == DataType::INT8) {
        const int8_t z = static_cast<int8_t>(binding->zero_points[0]);
        zero = w_->AddInitializer(v.name + "_zero_point", zt, {}, &z);
      } else {
        const int16_t z = static_cast<int16_t>(binding->zero_points[0]);
        zero = w_->AddInitializer(v.name + "_zero_point", zt, {}, &z);
      }
      const std::string q = w_->AddNode1("QuantizeLinear", {out, scale, zero}, v.name + "_q");
      out = w_->AddNode1("DequantizeLinear", {q, scale, zero}, v.name + "_dq");
    } else if (compute == DataType::FLOAT16 || compute == DataType::BFLOAT16) {
      if (v.dtype == DataType::FLOAT32) {
        // float16 storage: the consumer reads values rounded to float16.
        onnx::NodeProto* down = nullptr;
        const std::string half = w_->AddNode1("Cast", {out}, v.name + "_f16", &down);
        GraphWriter::SetAttr(down, "to", static_cast<int64_t>(OnnxElementType(compute)));
        onnx::NodeProto* up = nullptr;
        out = w_->AddNode1("Cast", {half}, v.name + "_f32", &up);
        GraphWriter::SetAttr(up, "to", static_cast<int64_t>(onnx::TensorProto::FLOAT));
      }
    }
    if (permuted && !constant) out = Transpose(out, perm);
  }
  cache_[key] = out;
  *name = out;
  return Status::OK();
}

}  // namespace mixq::onnx_export
