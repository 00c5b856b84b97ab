// Engine (immutable, shared by threads) and Context (per-thread state).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "format/model_file.h"
#include "mixq/runtime.h"
#include "ops/kernel_registry.h"
#include "passes/qdq_placement.h"
#include "runtime/execution_plan.h"

namespace mixq::runtime {

// Everything about a model that does not depend on input shapes: the graph
// after Q/DQ placement (storage types, explicit Convert nodes) and the
// weights packed for the kernels, shared by every context.
struct EngineState {
  std::shared_ptr<const format::ModelData> model;
  ir::Graph graph;  // the model's graph after PlaceQuantization
  passes::PlacementSummary placement;
  std::vector<DataType> input_types, output_types;  // exchanged at run time
  mutable ops::WeightCache weights;
};

// The type a network output is handed over in: its producer's planned output
// type (FLOAT16 / BFLOAT16 outputs are handed over in that storage).
DataType RuntimeOutputType(const ir::Graph& graph, int value_id);

Status MakeEngineState(std::shared_ptr<const format::ModelData> model, std::shared_ptr<const EngineState>* state);

class EngineImpl : public IEngine {
 public:
  explicit EngineImpl(std::shared_ptr<const EngineState> state) : state_(std::move(state)) {}
  std::unique_ptr<IContext> CreateIContext(const ContextOptions& options) const override;
  std::vector<std::string> GetInputNames() const override;
  std::vector<std::string> GetOutputNames() const override;
  std::vector<Dims> GetInputDimensions() const override;
  std::vector<DataType> GetInputDataTypes() const override { return state_->input_types; }
  std::vector<DataType> GetOutputDataTypes() const override { return state_->output_types; }
  int64_t GetPreparedWeightBytes() const override { return state_->weights.bytes(); }
  const EngineState& state() const { return *state_; }

 private:
  std::shared_ptr<const EngineState> state_;
};

class ContextImpl : public IContext {
 public:
  ContextImpl(std::shared_ptr<const EngineState> state, const ContextOptions& options)
      : state_(std::move(state)), options_(options) {}
  Status CreateInputTensors(std::vector<std::unique_ptr<IRTTensor>>* inputs) const override;
  Status CreateOutputTensors(std::vector<std::unique_ptr<IRTTensor>>* outputs) const override;
  Status InferOutputShape(const std::vector<Dims>& input_dims, std::vector<Dims>* output_dims) override;
  Status Enqueue(const std::vector<IRTTensor*>& inputs, const std::vector<IRTTensor*>& outputs) override;
  int64_t GetActivationBytes() const override { return prepared_ ? plan_.arena_bytes : 0; }
  Status Prepare(const std::vector<Dims>& input_dims) override;
  std::string GetPrecisionReport() const override;
  std::string GetPrecisionReportJson() const override;
  std::string GetExecutionPlan(bool json) const override;
  std::string GetProfile(bool json) const override;

  // Calibration (calibration/calib_runner.cc): `fn` sees each tensor of
  // `values` (graph value ids) in place during Enqueue, right after the step
  // that writes it (before the steps, for one no step writes: an input, a
  // constant), while it is still in the arena: no extra network output, no
  // copy. The lowering keeps each such tensor in a buffer of its own (no
  // fusion swallows it: LoweringOptions::observed), so it holds the values a
  // network output would. An error from `fn` ends Enqueue with it. Call
  // before the first Enqueue; an empty `values` turns it off.
  // `any_layout` (a subset of `values`): tensors whose observer does not
  // depend on the order of the elements; those may stay in a blocked layout
  // (runtime/layout_pass.h: whole channel blocks, no padding), so the
  // convolutions around them need no reorders. `fn` gets the layout the
  // data is in (kPlain for every other tensor).
  using StepObserver = std::function<Status(int value, const ops::TensorView& data, ops::MemoryLayout layout)>;
  void SetStepObserver(const std::vector<int>& values, StepObserver fn, const std::vector<int>& any_layout = {});

  // For tests: off keeps every buffer of the plan plain (no blocked
  // layouts, runtime/layout_pass.h); takes effect at the next Prepare.
  void SetBlockedLayouts(bool on) {
    blocked_layouts_ = on;
    prepared_ = false;
  }
  // For tests: record the name of the kernel object that ran each step.
  void EnableKernelTrace(bool on) { trace_on_ = on; }
  const std::vector<std::string>& KernelTrace() const { return trace_; }
  const ExecutionPlan& plan() const { return plan_; }
  const ir::Graph& graph() const { return state_->graph; }
  // ContextOptions::profile: each step's fastest run since Prepare, the first
  // run left out once there are others (one-time costs); in nanoseconds, by
  // step. The minimum is what a noisy, shared machine distorts least.
  const std::vector<int64_t>& StepMinNanos() const { return min_ns_; }

 private:
  Status CheckInputDims(const std::vector<Dims>& dims) const;
  Status CheckOptions() const;
  Status PrepareShapes(const std::vector<ir::Shape>& input_shapes);

  std::shared_ptr<const EngineState> state_;
  ContextOptions options_;
  bool prepared_ = false;
  std::vector<ir::Shape> prepared_shapes_;
  ExecutionPlan plan_;
  std::unique_ptr<ir::Buffer> arena_;
  std::vector<ops::RunQuant> run_quant_;   // by buffer
  std::vector<void*> buffer_data_;         // by buffer, during a run
  std::vector<bool> observed_;             // by value id (SetStepObserver)
  std::vector<bool> observed_any_layout_;  // by value id: observed in any layout
  StepObserver observer_;
  std::vector<std::vector<int>> observed_after_;  // by step: observed values it writes (PrepareShapes)
  std::vector<int> observed_before_;              // observed values no step writes
  bool blocked_layouts_ = true;
  bool trace_on_ = false;
  std::vector<std::string> trace_;
  std::vector<int64_t> step_ns_;   // ContextOptions::profile: summed per step since Prepare
  std::vector<int64_t> first_ns_;  // the first run's share of step_ns_ (one-time costs: JIT, page faults)
  std::vector<int64_t> run_ns_;    // this run's time per step
  std::vector<int64_t> min_ns_;    // the fastest run of each step since Prepare, the first run left out
  int64_t profiled_runs_ = 0;
};

}  // namespace mixq::runtime
