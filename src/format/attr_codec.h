// How one node attribute is stored in the metadata: {"type": "ints", "value": [...]}.
// The type is explicit because CBOR alone cannot tell an empty ints list from an
// empty floats list, nor a float attribute that holds 2.0 from an int.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "ir/attr.h"
#include "mixq/types.h"

namespace mixq::format {

nlohmann::json EncodeAttr(const ir::AttrValue& value);
// INVALID_ARGUMENT naming `path` (e.g. "nodes[3].attrs.strides") on any mismatch.
Status DecodeAttr(const nlohmann::json& j, const std::string& path, ir::AttrValue* value);

}  // namespace mixq::format
