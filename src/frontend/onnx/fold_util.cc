#include "frontend/onnx/fold_util.h"

#include <algorithm>

#include "util/status_util.h"

namespace mixq::onnx_import {

bool BroadcastDims(const std::vector<int64_t>& a, const std::vector<int64_t>& b, std::vector<int64_t>* out) {
  const size_t rank = std::max(a.size(), b.size());
  out->assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) return false;
    (*out)[i] = da == 1 ? db : da;
  }
  return true;
}

std::vector<int64_t> BroadcastSourceIndex(const std::vector<int64_t>& in_dims, const std::vector<int64_t>& out_dims) {
  int64_t count = 1;
  for (int64_t d : out_dims) count *= d;
  std::vector<int64_t> result(static_cast<size_t>(count));
  const size_t rank = out_dims.size(), offset = rank - in_dims.size();
  std::vector<int64_t> in_strides(rank, 0);
  int64_t stride = 1;
  for (size_t i = rank; i-- > offset;) {
    const int64_t d = in_dims[i - offset];
    in_strides[i] = d == 1 ? 0 : stride;
    stride *= d;
  }
  std::vector<int64_t> idx(rank, 0);
  for (int64_t flat = 0; flat < count; ++flat) {
    int64_t src = 0;
    for (size_t i = 0; i < rank; ++i) src += idx[i] * in_strides[i];
    result[static_cast<size_t>(flat)] = src;
    for (size_t i = rank; i-- > 0;) {
      if (++idx[i] < out_dims[i]) break;
      idx[i] = 0;
    }
  }
  return result;
}

FoldValue TakeElements(const FoldValue& v, const std::vector<int64_t>& indices, std::vector<int64_t> dims) {
  FoldValue out;
  out.dtype = v.dtype;
  out.dims = std::move(dims);
  if (v.IsInt()) {
    for (int64_t i : indices) out.ints.push_back(v.ints[static_cast<size_t>(i)]);
  } else if (v.IsFloat()) {
    for (int64_t i : indices) out.floats.push_back(v.floats[static_cast<size_t>(i)]);
  } else {
    const size_t width = DataTypeSize(v.dtype);
    for (int64_t i : indices)
      out.raw.insert(out.raw.end(), v.raw.begin() + i * static_cast<int64_t>(width),
                     v.raw.begin() + (i + 1) * static_cast<int64_t>(width));
  }
  return out;
}

Status FoldBinary(const FoldValue& a, const FoldValue& b, const std::function<int64_t(int64_t, int64_t)>& int_op,
                  const std::function<float(float, float)>& float_op, FoldValue* out) {
  if (a.dtype != b.dtype)
    return InvalidArgument("inputs have different types (", DataTypeName(a.dtype), ", ", DataTypeName(b.dtype), ")");
  if (!a.IsInt() && !a.IsFloat())
    return Unimplemented("folding over ", DataTypeName(a.dtype), " values is not supported");
  std::vector<int64_t> dims;
  if (!BroadcastDims(a.dims, b.dims, &dims))
    return InvalidArgument("dims ", Dims(a.dims).ToString(), " and ", Dims(b.dims).ToString(), " do not broadcast");
  MIXQ_RETURN_IF_ERROR(CheckDims(dims, "result"));
  const auto ia = BroadcastSourceIndex(a.dims, dims), ib = BroadcastSourceIndex(b.dims, dims);
  out->dtype = a.dtype;
  out->dims = dims;
  out->ints.clear();
  out->floats.clear();
  out->raw.clear();
  for (size_t k = 0; k < ia.size(); ++k) {
    if (a.IsFloat()) {
      out->floats.push_back(float_op(a.floats[static_cast<size_t>(ia[k])], b.floats[static_cast<size_t>(ib[k])]));
      continue;
    }
    const SymInt& x = a.ints[static_cast<size_t>(ia[k])];
    const SymInt& y = b.ints[static_cast<size_t>(ib[k])];
    out->ints.push_back(x.known && y.known ? SymInt::Known(int_op(x.value, y.value)) : SymInt::Unknown());
  }
  return Status::OK();
}

}  // namespace mixq::onnx_import
