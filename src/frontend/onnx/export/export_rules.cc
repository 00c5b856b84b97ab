#include "frontend/onnx/export/export_rules.h"

#include <array>

namespace mixq::onnx_export {

ExportRule FindExportRule(OpKind kind) {
  static const auto table = [] {
    std::array<ExportRule, static_cast<size_t>(OpKind::kCount)> t{};
    AddNeuralNetworkRules(t.data());
    AddTensorRules(t.data());
    return t;
  }();
  const size_t index = static_cast<size_t>(kind);
  return index < table.size() ? table[index] : nullptr;
}

std::vector<int64_t> ToNchw(const std::string& layout) {
  return layout == "NHWC" ? std::vector<int64_t>{0, 3, 1, 2} : std::vector<int64_t>{};
}

std::vector<int64_t> FromNchw(const std::string& layout) {
  return layout == "NHWC" ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{};
}

onnx::NodeProto* AddNchwNode(ExportContext& ctx, const std::string& op_type, const std::vector<std::string>& inputs,
                             const std::string& output_layout) {
  if (output_layout != "NHWC") return ctx.w().AddNode(op_type, inputs, {ctx.Out(0)});
  const std::string nchw = ctx.w().Unique(ctx.Out(0) + "_nchw");
  onnx::NodeProto* node = ctx.w().AddNode(op_type, inputs, {nchw});
  ctx.Transpose(nchw, FromNchw(output_layout), ctx.Out(0));
  return node;
}

}  // namespace mixq::onnx_export
