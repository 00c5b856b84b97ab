// The mixq model file: a built model (graph, precisions, quantization
// parameters, weights) as bytes, and the verified reader that turns bytes back
// into a model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace mixq::format {

// Version 2 added float16-encoded constant payloads ("encoding"); this build
// reads versions kOldestModelFormatVersion to kModelFormatVersion.
constexpr uint32_t kModelFormatVersion = 2;
constexpr uint32_t kOldestModelFormatVersion = 1;

struct ModelData {
  std::string name;
  ir::Graph graph;                // verified, shapes inferred
  std::string build_config_json;  // the builder configuration it was built with
  std::string report_json;        // precision report (may be empty)
};

Status WriteModel(const ModelData& model, std::vector<uint8_t>* bytes);

// Verifies everything before use (magic, version, sizes, checksum, structure,
// then ir::VerifyGraph). Truncated or corrupted bytes give DATA_LOSS, a wrong
// version or an inconsistent structure INVALID_ARGUMENT, each with the byte
// offset or field at fault. Never crashes, whatever the bytes.
Status ReadModel(const uint8_t* data, size_t size, ModelData* model);
// The same for a mapped model file: the model's plain constants (not those
// stored as float16) stay in the mapping, which they keep alive.
Status ReadModel(std::shared_ptr<const MappedFile> file, ModelData* model);

}  // namespace mixq::format
