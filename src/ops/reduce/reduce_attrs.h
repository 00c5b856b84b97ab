// Reduce's attributes, shared by its reference (op.cc) and its fast kernel
// (cpu_fast.cc): the op and the reduced axes.
#pragma once

#include <string>
#include <vector>

#include "ops/op_util.h"

namespace mixq::ops {

enum class RedOp { kMean, kSum, kMax, kMin };

inline Status ParseOp(const ir::AttrMap& attrs, RedOp* op) {
  const std::string name = attrs.Str("op");
  if (name == "mean")
    *op = RedOp::kMean;
  else if (name == "sum")
    *op = RedOp::kSum;
  else if (name == "max")
    *op = RedOp::kMax;
  else if (name == "min")
    *op = RedOp::kMin;
  else
    return InvalidArgument("attribute 'op': unknown reduce op '", name, "' (expected mean, sum, max or min)");
  return Status::OK();
}

// Marks the reduced axes of `rank`; empty `axes` reduces them all.
inline Status ReducedAxes(const ir::AttrMap& attrs, int64_t rank, std::vector<bool>* reduced) {
  const std::vector<int64_t> axes = attrs.Ints("axes");
  reduced->assign(static_cast<size_t>(rank), axes.empty());
  for (int64_t given : axes) {
    int64_t axis;
    if (!ir::NormalizeAxis(given, rank, &axis))
      return InvalidArgument("attribute 'axes': axis ", given, " is out of range for input 'input' of rank ", rank);
    if ((*reduced)[axis]) return InvalidArgument("attribute 'axes': axis ", given, " is listed twice");
    (*reduced)[axis] = true;
  }
  return Status::OK();
}

}  // namespace mixq::ops
