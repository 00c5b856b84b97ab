// precision_config.node_precision: per-node precision overrides written in
// the builder config (what `mixq tune` produces), so a tuned plan is a JSON
// file a user can read, edit and keep rather than code calling SetPrecision.
#pragma once

#include "ir/graph.h"
#include "passes/build_options.h"

namespace mixq::passes {

// The values node_precision takes: "qint8", "qint16", "float16", "float32".
bool IsNodePrecisionName(const std::string& name);

// For every node named in options.node_precision, sets its input precisions
// (and for float16 / float32 its output types) as INode::SetPrecision /
// SetOutputType would, replacing what the network set for that node:
//   qint8 / qint16: the op's quantizable inputs (activations and weights) in
//                   QINT8 / QINT16; output as the network mode says;
//   float16 / float32: every float input and output in that type.
// NOT_FOUND listing the names the graph has no node for.
Status ApplyNodePrecision(const BuildOptions& options, ir::Graph* graph);

}  // namespace mixq::passes
