// Rebuilds a model from its parsed metadata and weights section, checking
// every field, id and payload range on the way (but not yet the graph's
// semantics: the caller runs ir::VerifyGraph afterwards).
#pragma once

#include <nlohmann/json.hpp>

#include "format/file_layout.h"
#include "format/model_file.h"

namespace mixq::format {

// INVALID_ARGUMENT naming the field path ("nodes[3].attrs.strides") on any
// missing, mistyped, unknown or out-of-range field.
Status DecodeModel(const nlohmann::json& metadata, const FileSections& sections, ModelData* model);

}  // namespace mixq::format
