// Steps around the per-op mapping that need the whole graph. QDQ import, for
// example, is one: before mapping it removes QuantizeLinear/DequantizeLinear
// pairs from the ONNX graph and remembers their scales; after mapping it sets
// ranges and precisions on the network's tensors. Each pass lives in its own
// file and is listed in import_pass.cc.
#pragma once

#include <memory>
#include <vector>

#include "frontend/onnx/import_context.h"
#include "onnx/onnx.pb.h"

namespace mixq::onnx_import {

class ImportPass {
 public:
  virtual ~ImportPass() = default;
  virtual const char* name() const = 0;
  // Runs after verification, before any node is mapped; may rewrite the graph
  // (the model is verified again afterwards).
  virtual Status BeforeMapping(onnx::ModelProto* /*model*/) { return Status::OK(); }
  // Runs after every node is mapped and the outputs are marked.
  virtual Status AfterMapping(Importer& /*importer*/) { return Status::OK(); }
};

// The passes of one import, fresh state each, in the order they run.
std::vector<std::unique_ptr<ImportPass>> CreateImportPasses();

}  // namespace mixq::onnx_import
