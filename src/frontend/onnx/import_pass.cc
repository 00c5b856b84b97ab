#include "frontend/onnx/import_pass.h"

namespace mixq::onnx_import {

std::vector<std::unique_ptr<ImportPass>> CreateImportPasses() {
  // None yet: QDQ import (QuantizeLinear / DequantizeLinear) will be the first.
  return {};
}

}  // namespace mixq::onnx_import
