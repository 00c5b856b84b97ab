// Structural checks on an ONNX model before any mapping: the opset, names,
// types and dims of graph inputs, that every node input is defined, and an
// evaluation order (nodes sorted topologically, cycles rejected).
#pragma once

#include <vector>

#include "mixq/types.h"
#include "onnx/onnx.pb.h"

namespace mixq::onnx_import {

// The default-domain ("" / "ai.onnx") opset the model imports.
Status DefaultOpset(const onnx::ModelProto& model, int* opset);

// On success `order` lists the graph's node indices in an order where every
// node comes after the producers of its inputs.
Status VerifyModel(const onnx::ModelProto& model, std::vector<int>* order);

}  // namespace mixq::onnx_import
