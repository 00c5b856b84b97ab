// Engine (immutable plan, shared by threads) and Context (per-thread state).
#pragma once

#include <memory>
#include <vector>

#include "format/model_file.h"
#include "mixq/runtime.h"
#include "ops/op_schema.h"

namespace mixq::runtime {

// Everything about a model that does not depend on input shapes.
struct Plan {
  std::shared_ptr<const format::ModelData> model;
  std::vector<int> steps;  // non-constant node ids in execution order
  // Data type exchanged at run time for each graph input / output.
  std::vector<DataType> input_types, output_types;
};

// The type a network output is handed over in: its producer's planned output
// type (FLOAT16 / BFLOAT16 outputs are converted at the end of a run).
DataType RuntimeOutputType(const ir::Graph& graph, int value_id);

Status MakePlan(std::shared_ptr<const format::ModelData> model, std::shared_ptr<const Plan>* plan);

class EngineImpl : public IEngine {
 public:
  explicit EngineImpl(std::shared_ptr<const Plan> plan) : plan_(std::move(plan)) {}
  std::unique_ptr<IContext> CreateIContext(const ContextOptions& options) const override;
  std::vector<std::string> GetInputNames() const override;
  std::vector<std::string> GetOutputNames() const override;
  std::vector<Dims> GetInputDimensions() const override;
  std::vector<DataType> GetInputDataTypes() const override { return plan_->input_types; }
  std::vector<DataType> GetOutputDataTypes() const override { return plan_->output_types; }

 private:
  std::shared_ptr<const Plan> plan_;
};

class ContextImpl : public IContext {
 public:
  ContextImpl(std::shared_ptr<const Plan> plan, const ContextOptions& options)
      : plan_(std::move(plan)), options_(options) {}
  Status CreateInputTensors(std::vector<std::unique_ptr<IRTTensor>>* inputs) const override;
  Status CreateOutputTensors(std::vector<std::unique_ptr<IRTTensor>>* outputs) const override;
  Status InferOutputShape(const std::vector<Dims>& input_dims, std::vector<Dims>* output_dims) override;
  Status Enqueue(const std::vector<IRTTensor*>& inputs, const std::vector<IRTTensor*>& outputs) override;
  int64_t GetActivationBytes() const override { return arena_ ? static_cast<int64_t>(arena_->size()) : 0; }

 private:
  const ir::Graph& graph() const { return plan_->model->graph; }
  Status CheckInputDims(const std::vector<Dims>& dims) const;
  // Infers shapes, plans memory and prepares kernels for these input shapes
  // (once per distinct set of shapes).
  Status Prepare(const std::vector<ir::Shape>& input_shapes);

  std::shared_ptr<const Plan> plan_;
  ContextOptions options_;
  bool prepared_ = false;
  std::vector<ir::Shape> prepared_shapes_;
  std::vector<ops::ValueInfo> infos_;              // by value id
  std::vector<int64_t> arena_offsets_;             // by value id; -1 if not in the arena
  std::unique_ptr<ir::Buffer> arena_;
  std::vector<std::unique_ptr<ops::Kernel>> kernels_;  // by step
  std::vector<void*> value_data_;                  // by value id, during a run
};

}  // namespace mixq::runtime
