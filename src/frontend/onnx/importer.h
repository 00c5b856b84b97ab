// Imports a parsed ONNX model into an empty INetwork: verify, run the import
// passes, map every node with its rule, mark the outputs.
#pragma once

#include <map>
#include <string>

#include "mixq/network.h"
#include "onnx/onnx.pb.h"

namespace mixq::onnx_import {

struct ImportOptions {
  std::string base_dir;                      // external data folder ("" = none)
  std::map<std::string, Dims> input_shapes;  // overrides of graph input dims
};

// Decodes `size` bytes as an ONNX ModelProto; a one-line error when they are not one.
Status ParseModelProto(const void* data, size_t size, onnx::ModelProto* model);

Status ImportModel(onnx::ModelProto* model, INetwork* network, const ImportOptions& options);

}  // namespace mixq::onnx_import
