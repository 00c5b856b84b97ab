// One export rule per mixq operator: writes the ONNX nodes computing it.
#pragma once

#include "frontend/onnx/export/export_context.h"
#include "ops/op_kind.h"

namespace mixq::onnx_export {

using ExportRule = Status (*)(ExportContext& ctx);

// Null for Constant (constants become initializers where they are consumed).
ExportRule FindExportRule(OpKind kind);

// Rules by family, registered into the table by FindExportRule.
void AddNeuralNetworkRules(ExportRule* table);
void AddTensorRules(ExportRule* table);

// Shared helpers of the rule files.
// Permutation taking a tensor in `layout` (NCHW / NHWC) to NCHW, and back.
std::vector<int64_t> ToNchw(const std::string& layout);
std::vector<int64_t> FromNchw(const std::string& layout);
// Writes `op_type` over NCHW inputs; transposes its output into Out(0) when
// `output_layout` is NHWC. Returns the node for attributes.
onnx::NodeProto* AddNchwNode(ExportContext& ctx, const std::string& op_type, const std::vector<std::string>& inputs,
                             const std::string& output_layout);

}  // namespace mixq::onnx_export
