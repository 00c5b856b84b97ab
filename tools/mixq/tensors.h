// Moving tensors between .npy files, the model's run-time tensors and plain
// float vectors, for the verbs that run a model.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mixq/mixq.h"
#include "util/npy.h"

namespace mixq::cli {

// An input ready to hand to a context: its dims and bytes in the model's
// run-time input type.
struct HostTensor {
  std::string name;
  DataType type = DataType::FLOAT32;
  Dims dims;
  std::vector<uint8_t> bytes;
};

Status LoadModel(const std::string& path, std::unique_ptr<IModel>* model);

// Converts an array to `type` (float32 / float16 / bfloat16 / integer / bool);
// the message names `what` when the conversion is not possible.
Status ConvertArray(const NpyArray& array, DataType type, const std::string& what, HostTensor* out);

// Inputs from "--input NAME=FILE.npy" flags, one per model input, in the
// model's input order. A single FILE without NAME= is allowed for a model
// with one input. Unknown names, missing inputs and duplicates are errors.
Status LoadInputs(const std::vector<std::string>& flags, const std::vector<std::string>& names,
                  const std::vector<DataType>& types, std::vector<HostTensor>* inputs);

// The dims each input runs with: the model's declared dims with "--shape
// NAME:DIMS" flags applied; an input still dynamic is an error naming it.
Status ResolveInputDims(const std::vector<std::string>& shape_flags, const std::vector<std::string>& names,
                        const std::vector<Dims>& declared, std::vector<Dims>* dims);

// Deterministic pseudo-random inputs: floats uniform in [-1, 1), integers 0,
// bool false; the same seed gives the same values on every platform.
void RandomInputs(const std::vector<std::string>& names, const std::vector<DataType>& types,
                  const std::vector<Dims>& dims, uint64_t seed, std::vector<HostTensor>* inputs);

// Runs `context` once; outputs come back in the context's output tensors.
Status RunOnce(IContext* context, std::vector<HostTensor>* inputs, std::vector<std::unique_ptr<IRTTensor>>* in_tensors,
               std::vector<std::unique_ptr<IRTTensor>>* out_tensors);

// An output tensor's values as float32 (from float16 / bfloat16 / integers).
Status ToFloat(const IRTTensor& tensor, std::vector<float>* values);

// Writes an output as .npy in its own type (bfloat16 as float32: .npy has none).
Status WriteTensorNpy(const std::string& path, const IRTTensor& tensor);

// A file name for a tensor name: characters other than [A-Za-z0-9._-] become '_'.
std::string FileNameFor(const std::string& tensor_name);

}  // namespace mixq::cli
