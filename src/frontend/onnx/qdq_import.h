// QDQ (explicit quantization) import: QuantizeLinear / DequantizeLinear from a
// QAT model or ONNX Runtime's quantize_static become precisions and exact
// quantization parameters on the mixq network (SPEC §1, "QAT").
#pragma once

#include <memory>

#include "frontend/onnx/import_pass.h"

namespace mixq::onnx_import {

std::unique_ptr<ImportPass> CreateQdqImportPass();

}  // namespace mixq::onnx_import
