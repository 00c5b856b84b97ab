#include <algorithm>
#include <cstring>

#include "frontend/onnx/rules.h"
#include "util/status_util.h"

namespace mixq::onnx_import {

const std::vector<Rule>& AllRules() {
  static const std::vector<Rule> rules = [] {
    std::vector<Rule> r;
    AddConvRules(&r);
    AddPointwiseRules(&r);
    AddShapeRules(&r);
    AddTensorRules(&r);
    AddMathRules(&r);
    std::sort(r.begin(), r.end(), [](const Rule& a, const Rule& b) { return std::strcmp(a.op_type, b.op_type) < 0; });
    return r;
  }();
  return rules;
}

const Rule* FindRule(const std::string& op_type) {
  for (const Rule& rule : AllRules())
    if (op_type == rule.op_type) return &rule;
  return nullptr;
}

std::string RuleTableMarkdown() {
  std::string out = "| ONNX op | mixq operators | inputs that must be constant | notes |\n|---|---|---|---|\n";
  for (const Rule& rule : AllRules()) {
    std::string constant = rule.const_inputs;
    if (constant == "dims")
      constant = "none (reads only the input's dims)";
    else if (!rule.map)
      constant = "all (folded at import)";
    out += StrCat("| ", rule.op_type, " | ", rule.mixq_ops, " | ", constant.empty() ? "-" : constant, " | ",
                  *rule.notes ? rule.notes : "-", " |\n");
  }
  return out;
}

Status NormalizeAxis(int64_t axis, int64_t rank, const char* what, int64_t* out) {
  if (axis < -rank || axis >= rank) return InvalidArgument(what, " ", axis, " is out of range for rank ", rank);
  *out = axis < 0 ? axis + rank : axis;
  return Status::OK();
}

Status ReadPair(const NodeContext& ctx, const std::string& name, int64_t fallback, std::vector<int64_t>* out) {
  MIXQ_RETURN_IF_ERROR(ctx.AttrInts(name, {fallback, fallback}, out));
  if (out->size() != 2)
    return Unimplemented("attribute '", name, "' has ", out->size(), " values; only 2-D (NCHW) is supported");
  return Status::OK();
}

Status ReadPadding2D(const NodeContext& ctx, PaddingMode* mode, std::vector<int64_t>* pads) {
  std::string auto_pad;
  MIXQ_RETURN_IF_ERROR(ctx.AttrString("auto_pad", "NOTSET", &auto_pad));
  std::vector<int64_t> onnx_pads;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInts("pads", {0, 0, 0, 0}, &onnx_pads));
  if (onnx_pads.size() != 4)
    return Unimplemented("attribute 'pads' has ", onnx_pads.size(), " values; only 2-D (4 values) is supported");
  for (int64_t p : onnx_pads)
    if (p < 0) return InvalidArgument("attribute 'pads' must be >= 0, got ", Dims(onnx_pads).ToString());
  *pads = {onnx_pads[0], onnx_pads[2], onnx_pads[1], onnx_pads[3]};
  if (auto_pad == "NOTSET") {
    *mode = PaddingMode::EXPLICIT;
  } else if (auto_pad == "SAME_UPPER") {
    *mode = PaddingMode::SAME_UPPER;
  } else if (auto_pad == "SAME_LOWER") {
    *mode = PaddingMode::SAME_LOWER;
  } else if (auto_pad == "VALID") {
    *mode = PaddingMode::VALID;
  } else {
    return InvalidArgument("attribute 'auto_pad' = '", auto_pad,
                           "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
  }
  return Status::OK();
}

}  // namespace mixq::onnx_import
