#include "ops/op_util.h"

#include <algorithm>

namespace mixq::ops {

Status RequireInput(const std::vector<const ValueInfo*>& inputs, size_t index, const char* name) {
  if (index >= inputs.size() || inputs[index] == nullptr)
    return InvalidArgument("input ", index, " (", name, ") is required");
  return Status::OK();
}

Status ExpectRank(const ValueInfo& info, int64_t rank, const char* name) {
  if (static_cast<int64_t>(info.shape.size()) != rank)
    return InvalidArgument("input '", name, "' must have ", rank, " dims, got ", ir::ShapeString(info.shape));
  return Status::OK();
}

Status ExpectFloat(const ValueInfo& info, const char* name) {
  if (info.narrowed) return Status::OK();  // a real value in narrower storage (execution plans)
  if (info.dtype != DataType::FLOAT32)
    return InvalidArgument("input '", name, "' must be FLOAT32, got ", DataTypeName(info.dtype));
  return Status::OK();
}

Status BroadcastShapes(const ir::Shape& a, const ir::Shape& b, ir::Shape* out) {
  const size_t rank = std::max(a.size(), b.size());
  out->assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    int64_t d;
    if (da == 1) d = db;
    else if (db == 1) d = da;
    else if (da < 0) d = db;  // the known dim wins; checked again at run time
    else if (db < 0) d = da;
    else if (da == db) d = da;
    else
      return InvalidArgument("shapes ", ir::ShapeString(a), " and ", ir::ShapeString(b),
                             " cannot be broadcast (axis ", i, ": ", da, " vs ", db, ")");
    (*out)[i] = d;
  }
  return Status::OK();
}

Status CheckWindowAttr(const char* name, const std::vector<int64_t>& values) {
  for (int64_t v : values)
    if (v > kMaxWindowAttr)
      return InvalidArgument("attribute '", name, "' ", ir::ShapeString(values), " holds ", v, ", above the limit ",
                             kMaxWindowAttr);
  return Status::OK();
}

int64_t WindowOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin, int64_t pad_end,
                         int64_t dilation, bool ceil_mode) {
  if (in < 0) return -1;
  const int64_t extent = dilation * (kernel - 1) + 1;
  const int64_t span = in + pad_begin + pad_end - extent;
  if (span < 0) return 0;
  int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  // A last window that would start inside the end padding only is dropped (ONNX / PyTorch rule).
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
  return out;
}

Status ResolvePadding(const std::string& mode, int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                      int64_t* pad_begin, int64_t* pad_end) {
  if (mode == "EXPLICIT") return Status::OK();
  if (mode == "VALID") {
    *pad_begin = *pad_end = 0;
    return Status::OK();
  }
  if (mode != "SAME_UPPER" && mode != "SAME_LOWER")
    return InvalidArgument("attribute 'padding_mode' must be EXPLICIT, SAME_UPPER, SAME_LOWER or VALID, got '",
                           mode, "'");
  if (in < 0) {  // unknown until run time
    *pad_begin = *pad_end = 0;
    return Status::OK();
  }
  const int64_t out = (in + stride - 1) / stride;
  const int64_t extent = dilation * (kernel - 1) + 1;
  const int64_t total = std::max<int64_t>(0, (out - 1) * stride + extent - in);
  const int64_t small = total / 2, large = total - small;
  *pad_begin = mode == "SAME_UPPER" ? small : large;
  *pad_end = mode == "SAME_UPPER" ? large : small;
  return Status::OK();
}

}  // namespace mixq::ops
