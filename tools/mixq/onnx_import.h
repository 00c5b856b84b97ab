// Importing an ONNX file into a network, for the verbs that start from ONNX.
#pragma once

#include <map>
#include <string>

#include "mixq/mixq.h"

namespace mixq::cli {

// `input_dims` fixes the dims of graph inputs before parsing (IParser::SetInputShape).
Status ImportOnnx(const std::string& path, const std::map<std::string, Dims>& input_dims, INetwork* network);

// Parses repeated "NAME:DIMS" flags of option `flag` into a map (duplicates are errors).
Status ParseInputShapes(const std::vector<std::string>& flags, const std::string& flag,
                        std::map<std::string, Dims>* dims);

}  // namespace mixq::cli
