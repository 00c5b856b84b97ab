#include "frontend/onnx/import_pass.h"

#include "frontend/onnx/qdq_import.h"

namespace mixq::onnx_import {

std::vector<std::unique_ptr<ImportPass>> CreateImportPasses() {
  std::vector<std::unique_ptr<ImportPass>> passes;
  passes.push_back(CreateQdqImportPass());
  return passes;
}

}  // namespace mixq::onnx_import
