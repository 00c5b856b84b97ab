// Importing networks from other frameworks' model files.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "mixq/network.h"
#include "mixq/types.h"

namespace mixq {

enum class ModelKind : int32_t { kOnnx = 0 };

// Fills an (empty) INetwork from a model file: inputs, constants, nodes,
// outputs, and — for explicitly quantized (QDQ) models — precisions and ranges.
// Every failure names the op type, node name and where in the file.
class IParser {
 public:
  virtual ~IParser() = default;
  // Overrides the dims of a graph input before parsing (for example a fixed
  // batch of 1), so that shape-computation subgraphs can be folded.
  virtual Status SetInputShape(const std::string& input_name, const Dims& dims) = 0;
  // External data files are looked up relative to the model file's folder.
  virtual Status Parse(INetwork* network, const std::string& path) = 0;
  // `base_dir` is where external data files are looked up ("" = none allowed).
  virtual Status ParseFromMemory(INetwork* network, const void* data, size_t size,
                                 const std::string& base_dir = "") = 0;
};

std::unique_ptr<IParser> CreateIParser(ModelKind kind);

}  // namespace mixq
