// Deploying and running a model: model file, engine, context, run-time tensors.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mixq/types.h"

namespace mixq {

class IEngine;
class IContext;

// A tensor handed to or returned from IContext::Enqueue. Its data is either a
// buffer the user set (SetData, not owned) or memory the tensor allocates
// itself when the context writes an output into it.
class IRTTensor {
 public:
  virtual ~IRTTensor() = default;
  virtual std::string GetName() const = 0;
  virtual DataType GetDataType() const = 0;
  virtual Dims GetDimensions() const = 0;
  virtual Status SetDimensions(const Dims& dims) = 0;
  // `bytes` is the size of the buffer; it is checked against dims at Enqueue.
  virtual Status SetData(void* data, size_t bytes) = 0;
  virtual void* GetMutableData() = 0;
  virtual const void* GetData() const = 0;
  // Bytes of the data pointed to (0 when there is none).
  virtual size_t GetSize() const = 0;
};

std::unique_ptr<IRTTensor> CreateIRTTensor(DataType type, const std::string& name, const Dims& dims);

// A built model: the network with its precisions, quantization parameters and weights.
class IModel {
 public:
  virtual ~IModel() = default;
  virtual std::string GetName() const = 0;
  virtual Status SerializeToFile(const std::string& path) const = 0;
  virtual Status SerializeToMemory(std::vector<uint8_t>* bytes) const = 0;
  // The file is verified (magic, version, checksum, structure) before use.
  virtual Status DeserializeFromFile(const std::string& path) = 0;
  virtual Status DeserializeFromMemory(const void* data, size_t size) = 0;

  virtual int64_t GetInputNum() const = 0;
  virtual int64_t GetOutputNum() const = 0;
  virtual std::vector<std::string> GetInputNames() const = 0;
  virtual std::vector<std::string> GetOutputNames() const = 0;
  virtual std::vector<Dims> GetInputDimensions() const = 0;
  virtual std::vector<Dims> GetOutputDimensions() const = 0;
  // Types of the data exchanged at run time (a QINT8 input takes FLOAT32 data).
  virtual std::vector<DataType> GetInputDataTypes() const = 0;
  virtual std::vector<DataType> GetOutputDataTypes() const = 0;
  // Bytes of weights held by the model (a model read from a force_float16 /
  // force_bfloat16 file holds its 16-bit weights as they are stored).
  virtual int64_t GetWeightBytes() const = 0;
  // One row per node: the precision each input is consumed in and each output
  // produced in (requested and actual), the kernel, and why they differ.
  virtual std::string GetPrecisionReport() const = 0;      // a table for people
  virtual std::string GetPrecisionReportJson() const = 0;  // the same as JSON

  // Null on failure (an empty model); GetLastStatus() says why.
  virtual std::unique_ptr<IEngine> CreateIEngine() const = 0;
  virtual Status GetLastStatus() const = 0;
};

std::unique_ptr<IModel> CreateIModel();

// Options for a context.
struct ContextOptions {
  // Run every operator on its reference kernel (the oracle), never an
  // optimized one, and fuse nothing.
  bool force_reference = false;
  // Threads one inference may use (intra-op; oneDNN's OpenMP pool). 0: the
  // default (OMP_NUM_THREADS, else every core). 1 to 1024 otherwise; run
  // several contexts on several threads for inter-op parallelism.
  int num_threads = 0;
  // Caps the instruction set of mixq's hand-written kernels: "" (what the CPU
  // has), "generic", "avx2", "avx512", "avx512_vnni" or "amx"; tests use it to run
  // the path this CPU would not pick. oneDNN dispatches by itself.
  std::string max_isa;
  // Most bytes of activation memory the context may plan for one set of input
  // shapes (4 GiB by default; <= 0: no limit). Enqueue refuses shapes that
  // need more with RESOURCE_EXHAUSTED stating both figures, before allocating.
  int64_t max_activation_bytes = int64_t{4} << 30;
  // Time every step of every Enqueue (one clock read per step) for
  // GetProfile. Off by default.
  bool profile = false;
};

// The immutable, executable form of a model. Shareable across threads: each
// thread creates its own context.
class IEngine {
 public:
  virtual ~IEngine() = default;
  virtual std::unique_ptr<IContext> CreateIContext(const ContextOptions& options = {}) const = 0;
  virtual std::vector<std::string> GetInputNames() const = 0;
  virtual std::vector<std::string> GetOutputNames() const = 0;
  virtual std::vector<Dims> GetInputDimensions() const = 0;
  virtual std::vector<DataType> GetInputDataTypes() const = 0;
  virtual std::vector<DataType> GetOutputDataTypes() const = 0;
  // Bytes of weights prepared (reordered, packed) for the kernels, held once
  // by the engine and shared by all its contexts; grows as contexts prepare.
  virtual int64_t GetPreparedWeightBytes() const = 0;
};

// Per-thread execution state: activation memory sized for the input shapes it
// last ran with. One thread at a time.
class IContext {
 public:
  virtual ~IContext() = default;
  // One tensor per model input / output, named and typed; dynamic dims are -1
  // until set.
  virtual Status CreateInputTensors(std::vector<std::unique_ptr<IRTTensor>>* inputs) const = 0;
  virtual Status CreateOutputTensors(std::vector<std::unique_ptr<IRTTensor>>* outputs) const = 0;
  // Output dims for the given input dims.
  virtual Status InferOutputShape(const std::vector<Dims>& input_dims,
                                  std::vector<Dims>* output_dims) = 0;
  // Runs the model. Inputs are matched by position and must have their dims
  // and data set; outputs get their dims set and, when no buffer was set, a
  // buffer of their own.
  virtual Status Enqueue(const std::vector<IRTTensor*>& inputs,
                         const std::vector<IRTTensor*>& outputs) = 0;
  Status Enqueue(const std::vector<std::unique_ptr<IRTTensor>>& inputs,
                 const std::vector<std::unique_ptr<IRTTensor>>& outputs);
  // Peak bytes of activation memory planned for the last input shapes.
  virtual int64_t GetActivationBytes() const = 0;
  // Lowers the model to an execution plan for these input dims without
  // running it (Enqueue does this on its own when the dims change).
  virtual Status Prepare(const std::vector<Dims>& input_dims) = 0;
  // The precision report of the plan prepared last, read from what runs: per
  // node the precision requested and run, the kernel (or the step it is
  // fused into), each output's storage type and the quantize / dequantize /
  // cast steps. Empty before the first Prepare or Enqueue.
  virtual std::string GetPrecisionReport() const = 0;
  virtual std::string GetPrecisionReportJson() const = 0;
  // The execution plan itself: steps, kernels, storage types, fused nodes and
  // buffer sizes, as a table or JSON. Empty before the first Prepare or Enqueue.
  virtual std::string GetExecutionPlan(bool json = false) const = 0;
  // Where the time went, with ContextOptions::profile: per step of the plan
  // (node, op, kernel, storage types) the mean wall time over the runs since
  // the last Prepare (the first of them left out once there are others: it
  // pays one-time costs), heaviest first, and the totals per operator type.
  // "" when profiling is off or nothing has run.
  virtual std::string GetProfile(bool json = false) const = 0;
};

}  // namespace mixq
