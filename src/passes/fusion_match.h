// What the fusion rules (passes/fuse_*.cc) share: an index of who reads each
// value, matchers for the scalar-constant arithmetic exporters spell
// activations with, and one rewrite that first checks the match changes
// nothing but the arithmetic (see ApplyFusion).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "passes/build_options.h"

namespace mixq::passes {

// Constants of a pattern match their exact values within this relative
// distance (1.4142135 and 0.70710678 both spell sqrt(2)).
constexpr double kConstantTolerance = 1e-6;
bool Near(double got, double want);

// Per value: the nodes that read it (once per input slot) and whether it is
// a network output. Kept up to date by ApplyFusion.
class Readers {
 public:
  explicit Readers(const ir::Graph& graph);
  const std::vector<int>& Of(int value) const;
  bool IsOutput(int value) const { return is_output_[static_cast<size_t>(value)]; }
  // The one node that reads `value` (in one slot) when nothing else does and
  // it is no network output; -1 otherwise.
  int Sole(int value) const;
  void Remove(int node, const std::vector<int>& inputs);
  void Add(int node, const std::vector<int>& inputs);

 private:
  void Grow(size_t values);
  std::vector<std::vector<int>> readers_;
  std::vector<bool> is_output_;
};

bool IsElementwise(const ir::Node& node, const char* op);  // a two-input Elementwise `op`
bool IsActivation(const ir::Node& node, const char* type);
bool IsUnary(const ir::Node& node, const char* op);
bool IsReduceMean(const ir::Node& node);

// The value of a one-element FLOAT32 constant; false for anything else.
bool ScalarConstant(const ir::Graph& g, int value, double* c);
// The operand of the two-input `node` that is not `value`; -1 when `value`
// is not exactly one of its operands.
int OtherOperand(const ir::Node& node, int value);
// `node` scales one value by a scalar constant: v * c, c * v or v / c
// (factor 1 / c); false otherwise.
bool AsScale(const ir::Graph& g, const ir::Node& node, int* value, double* factor);
// `node` shifts one value by a scalar constant: v + c, c + v or v - c
// (shift -c); false otherwise.
bool AsShift(const ir::Graph& g, const ir::Node& node, int* value, double* shift);
// The node producing `value`, or null (a network input).
const ir::Node* Producer(const ir::Graph& g, int value);

// A FLOAT32 constant the fused node takes as an input.
struct NewConstant {
  std::string base;  // its name is made from this
  ir::Shape shape;
  std::vector<float> values;
};

// One match: the decomposed nodes and the node that replaces them.
struct Fusion {
  std::vector<int> nodes;  // every node of the pattern; the last one writes the result
  int x = -1;              // the pattern's input; the result has its shape
  OpKind op = OpKind::kCount;
  std::string suffix;  // the fused node is named "<last node>_<suffix>"
  ir::AttrMap attrs;
  std::vector<NewConstant> constants;  // inputs after x (LayerNorm scale, bias)
};

// A rule: true with `fusion` filled when `anchor` starts its pattern.
using FusionRule = bool (*)(const ir::Graph& g, const Readers& readers, int anchor, Fusion* fusion);

// Rewrites the match as one node writing the last node's output, only when
// that changes nothing but the arithmetic: no node of the pattern has a
// precision or output type pinned (SetPrecision / SetOutputType, or named in
// options.node_precision), every intermediate value is read only inside the
// pattern, is no network output and has no range or quantization
// parameters set by the user (in the network, a QAT model's Q/DQ, or
// options.custom_ranges), x and the result are FLOAT32 and of the same shape. `folded` gets the fused node's name ->
// the labels of the nodes it replaced. False (nothing changed) when a check fails.
bool ApplyFusion(const Fusion& fusion, const BuildOptions& options, ir::Graph* graph, Readers* readers,
                 std::map<std::string, std::vector<std::string>>* folded);

// The rules, one file each (fuse_<name>.cc).
bool MatchSilu(const ir::Graph& g, const Readers& readers, int anchor, Fusion* fusion);
bool MatchGeluErf(const ir::Graph& g, const Readers& readers, int anchor, Fusion* fusion);
bool MatchGeluTanh(const ir::Graph& g, const Readers& readers, int anchor, Fusion* fusion);
bool MatchHardSigmoid(const ir::Graph& g, const Readers& readers, int anchor, Fusion* fusion);
bool MatchLayerNorm(const ir::Graph& g, const Readers& readers, int anchor, Fusion* fusion);

// The tail both GELU forms share: 0.5 * x * e for the value e = 1 + f(x), as
// (x * e) * 0.5, (x * 0.5) * e or x * (e * 0.5) (each product either way
// round, a halving also as a division by 2). Appends its nodes, the result's
// last; false when the value is not read so.
bool MatchHalfXTimes(const ir::Graph& g, const Readers& readers, int e, int x, std::vector<int>* nodes);

}  // namespace mixq::passes
