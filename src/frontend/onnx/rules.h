// The ONNX op -> mixq mapping rules: one small rule per ONNX op type.
//
// A rule has up to two parts. `fold` computes the outputs at import time when
// every input is known (constants, or shapes derived from dims); `map` adds
// mixq nodes to the network. The importer calls `fold` when all inputs are
// known (or when there is no `map`), otherwise `map`. Rules are grouped by
// theme in rules_*.cc; rule_table.cc lists the groups.
#pragma once

#include <string>
#include <vector>

#include "frontend/onnx/import_context.h"

namespace mixq::onnx_import {

using RuleFn = Status (*)(NodeContext& ctx);

struct Rule {
  const char* op_type;  // ONNX op type in the default domain
  RuleFn map;           // null: only foldable (inputs must be known at import)
  RuleFn fold;          // null: never folded
  // Input indices (comma-separated) that mixq takes as attributes: they must
  // be constants after folding (Reshape's shape, Slice's starts, ...);
  // "dims" for fold-only ops that read just their input's dims (Shape, Size).
  const char* const_inputs;
  const char* mixq_ops;  // what it maps onto, for docs/onnx.md
  const char* notes;     // limitations, for docs/onnx.md
};

// Lowest and highest default-domain opset the importer accepts. Opset 22 only
// widened type lists (bfloat16 etc.) of the ops mapped here, so it is accepted.
constexpr int kMinOpset = 11;
constexpr int kMaxOpset = 22;

// All rules, sorted by op type.
const std::vector<Rule>& AllRules();
const Rule* FindRule(const std::string& op_type);
// The rule table as Markdown (docs/onnx.md holds a copy a test keeps current).
std::string RuleTableMarkdown();

// Groups (one per rules_*.cc file).
void AddConvRules(std::vector<Rule>* rules);
void AddPointwiseRules(std::vector<Rule>* rules);
void AddShapeRules(std::vector<Rule>* rules);
void AddTensorRules(std::vector<Rule>* rules);
void AddMathRules(std::vector<Rule>* rules);

// Helpers shared by rules.

// Normalizes a possibly negative axis against `rank`; error names `what`.
Status NormalizeAxis(int64_t axis, int64_t rank, const char* what, int64_t* out);

// ONNX auto_pad + pads ([x1_begin, x2_begin, x1_end, x2_end]) to mixq's
// padding_mode and (top, bottom, left, right).
Status ReadPadding2D(const NodeContext& ctx, PaddingMode* mode, std::vector<int64_t>* pads);

// Reads a 2-element spatial attribute (strides, dilations, kernel_shape) with a default.
Status ReadPair(const NodeContext& ctx, const std::string& name, int64_t fallback, std::vector<int64_t>* out);

}  // namespace mixq::onnx_import
