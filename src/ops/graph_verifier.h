// Graph verification and shape / type inference. They need the op schemas,
// so they live in ops/ (ir/ knows no schema), in the namespace of what they check.
#pragma once

#include <vector>

#include "ir/graph.h"
#include "ops/op_schema.h"

namespace mixq::ir {

// Checks structure (op kinds, input and output counts, dangling or missing
// inputs, unknown or mistyped attributes, cycles, unmarked outputs, duplicate
// names), fills attribute defaults, and infers every value's dtype and shape
// in place (-1 where only known at run time). The message names the node,
// input or attribute at fault.
Status VerifyGraph(Graph& graph);

// Checks one node's structure and fills its attribute defaults.
Status VerifyNodeStructure(Graph& graph, Node& node);

// Runs shape inference over `order` with the given input shapes (concrete at
// run time), filling `infos` indexed by value id. Constant values point at
// their payload (a narrow buffer's: its 16-bit bytes, not float32 values;
// ir::Buffer::narrow). `nodes_done`, if given, receives how many nodes of `order`
// were inferred (all of them on success).
Status InferShapes(const Graph& graph, const std::vector<int>& order,
                   const std::vector<Shape>& input_shapes, std::vector<ops::ValueInfo>* infos,
                   size_t* nodes_done = nullptr);

}  // namespace mixq::ir
