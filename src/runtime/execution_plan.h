// The execution plan (DESIGN data flow): what a context runs for one set of
// input shapes. Graph + concrete shapes -> an ordered list of steps, each a
// kernel chosen from the registry for the step's storage types and this CPU,
// its prepared state, and the buffers it reads and writes.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ops/kernel_registry.h"

namespace mixq::runtime {

struct PlanBuffer {
  int value = -1;  // graph value id; -1 for a scratch the lowering added
  std::string name;
  ops::ValueInfo info;  // storage type, shape, constant bytes, quantization
  int64_t bytes = 0;
  int first = -1, last = -1;  // step writing it, last step reading it (network outputs: past the end)
  int64_t offset = -1;        // in the arena; -1: constants and network inputs live elsewhere
};

struct PlanStep {
  int node = -1;      // graph node whose kernel this is; -1: a widening the lowering added
  std::string label;  // the node's name, or what the added step is for
  OpKind op = OpKind::kCount;
  const ops::KernelDef* def = nullptr;
  std::unique_ptr<ops::Kernel> kernel;
  std::vector<int> inputs, outputs;  // buffer ids (-1: omitted optional input)
  std::vector<DataType> input_compute;
  std::vector<ops::PostOp> post_ops;
  std::vector<int> fused;  // graph nodes fused into this step, in order
};

struct ExecutionPlan {
  std::vector<PlanBuffer> buffers;
  std::vector<PlanStep> steps;
  std::vector<int> value_buffer;  // graph value id -> buffer id (-1: not used)
  std::vector<int> fused_into;    // graph node id -> step that runs it fused (-1: its own step or none)
  std::vector<int> node_step;     // graph node id -> its own step (-1: fused or constant)
  int64_t arena_bytes = 0;
  // Quantization the lowering gave a buffer that the graph does not carry
  // (the int8 codes an operator writes for a QDQ region's table step):
  // buffer infos point here, so the addresses must stay put (a deque's do,
  // moves of the plan included).
  std::deque<ir::QuantBinding> owned_bindings;
  // Copies of the small constants steps read at run time (Lowering::
  // CopySmallConstants); buffer infos point into them.
  std::vector<std::shared_ptr<void>> owned_constants;
  // Float32 copies of narrow (float16-stored) constants that steps read at
  // run time (ir::Buffer::Pin); those only packed are not held.
  std::vector<std::shared_ptr<const void>> pinned_constants;
};

struct LoweringOptions {
  bool reference_only = false;  // ContextOptions::force_reference: no fusion, reference kernels
  kernels::Isa max_isa = kernels::Isa::kGeneric;
  // Graph value id -> true: a tensor a step observer reads (ContextImpl::
  // SetStepObserver). Like a network output, no fusion swallows it, so some
  // step writes it into a buffer of its own; unlike one, its buffer is freed
  // after its last reader and nothing copies it out. May be empty.
  std::vector<bool> observed;
  // Graph value id -> true: an observed tensor that may be stored blocked
  // (ContextImpl::SetStepObserver's any_layout). May be empty.
  std::vector<bool> observed_any_layout;
  // Blocked activation layouts between kernels that run in them
  // (runtime/layout_pass.h); off: every buffer plain (tests compare both).
  bool blocked_layouts = true;
};

// The operator a step runs, as reports name it: the schema name, or for a
// Convert step what it does (Quantize, QuantizeDynamic, Dequantize,
// Requantize, Cast).
std::string StepOpName(const ExecutionPlan& plan, const PlanStep& step);

// Lowers `graph` (after Q/DQ placement) for these input shapes. `weights` is
// the engine's cache of packed weights (shared by its contexts).
Status LowerToPlan(const ir::Graph& graph, const std::vector<ir::Shape>& input_shapes, const LoweringOptions& options,
                   ops::WeightCache* weights, ExecutionPlan* plan);

}  // namespace mixq::runtime
