// Small graph edits the folding passes share.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace mixq::passes {

// The FLOAT32 constant `value_id` holds (`expected_count` elements, or any
// count when negative); null if it is not one.
const float* FloatConstant(const ir::Graph& g, int value_id, int64_t expected_count);

// How many node inputs and network outputs read `value_id`.
int ReaderCount(const ir::Graph& g, int value_id);

// Makes `producer` write what `dropped` wrote (a node folded into its
// producer); `dropped` is left reading nothing and writing the producer's old
// output, both unreachable for dead-node elimination.
void TakeOverOutput(ir::Graph* g, int producer, int dropped);

// A new FLOAT32 constant node named after `base`; returns its value id.
int AddConstant(ir::Graph* g, const std::string& base, const ir::Shape& shape, const std::vector<float>& values);

}  // namespace mixq::passes
