// The graph IR: values (tensors) and nodes (operator instances).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/attr.h"
#include "ir/shape.h"
#include "mixq/types.h"
#include "ops/op_kind.h"
#include "util/mapped_file.h"

namespace mixq::ir {

// Bytes of a constant, 64-byte aligned so kernels can use them directly.
// When the allocation fails the buffer is empty and ok() is false: every
// owner checks ok() before writing (an out-of-memory is a Status, not a crash).
//
// A buffer may instead hold bytes in place inside a mapped model file
// (`mapping`, kept alive by the buffer): read-only, mutable_data() is null,
// and ReleasePages() lets the kernel drop them from resident memory once a
// kernel has packed them (they are read again from the file if touched).
//
// Or it may hold a FLOAT32 constant stored narrow (float16 / bfloat16, a
// force_float16 model file's weights): the 16-bit bytes in place in the
// mapping (or copied), widened to float32 only when asked. data() widens
// once and keeps the copy for the buffer's life, as any other buffer's
// bytes. Pin() widens (or shares the copy already made) and keeps it only
// as long as a pin holds it: the lowering pins what its kernels pack and
// lets go once they have packed, so a loaded model does not hold a float32
// copy of every weight beside the engine's packed ones (ResNet-50
// force_float16: 102 MB). narrow() buffers are read-only.
class Buffer {
 public:
  explicit Buffer(size_t size);
  Buffer(const void* data, size_t size);
  // In place: `data` (64-byte aligned) lies inside `mapping`.
  Buffer(const void* data, size_t size, std::shared_ptr<const MappedFile> mapping);
  // Narrow: `count` FLOAT16 or BFLOAT16 (`encoding`) values at `narrow`,
  // in place inside `mapping` or (null mapping) copied.
  Buffer(const void* narrow, size_t count, DataType encoding, std::shared_ptr<const MappedFile> mapping);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  // Narrow: the float32 values, widened now if no copy exists (null when
  // that allocation fails), kept until the buffer goes.
  const void* data() const { return narrow_ ? KeptWidened() : data_; }
  void* mutable_data() { return mapping_ || narrow_ ? nullptr : data_; }
  bool mapped() const { return mapping_ != nullptr; }
  void ReleasePages() const {
    if (mapping_) mapping_->Release(narrow_ ? narrow_ : data_, narrow_ ? size_ / 2 : size_);
  }
  // FLOAT32 bytes (a narrow buffer's once widened).
  size_t size() const { return size_; }
  bool ok() const { return data_ != nullptr || narrow_ != nullptr; }
  // The bytes that could not be allocated (0 when ok()).
  size_t failed_size() const { return failed_size_; }

  // Narrow buffers: the 16-bit values and their encoding (FLOAT32: not narrow).
  bool narrow() const { return narrow_ != nullptr; }
  const void* narrow_data() const { return narrow_; }
  DataType encoding() const { return encoding_; }
  // Narrow: the float32 values, held while the returned pointer lives (or
  // for good, once data() has widened them); null when out of memory. Not
  // narrow: the bytes, held by the buffer.
  std::shared_ptr<const void> Pin() const;
  // Narrow: whether a float32 copy exists now (data()'s, or one pinned).
  bool HoldsWidened() const;

 private:
  const void* KeptWidened() const;
  std::shared_ptr<float> WidenLocked() const;  // a new float32 copy (null: out of memory); mutex_ held
  void* data_ = nullptr;
  size_t size_ = 0;
  size_t failed_size_ = 0;
  std::shared_ptr<const MappedFile> mapping_;
  // Narrow only.
  void* narrow_ = nullptr;  // the 16-bit values (in `mapping_`, or owned)
  bool owns_narrow_ = false;
  DataType encoding_ = DataType::FLOAT32;
  mutable std::mutex mutex_;
  mutable std::shared_ptr<float> kept_;  // data()'s copy, held for good
  mutable std::weak_ptr<float> pinned_;  // the copy pins hold, if any
};

// OK, or RESOURCE_EXHAUSTED naming `what` and the bytes that could not be allocated.
Status CheckAllocated(const Buffer& buffer, const std::string& what);

// A hand-set or calibrated range of a value (SPEC §2).
struct RangeSpec {
  std::vector<Range> ranges;  // one (per tensor) or one per slice along `axis`
  int64_t axis = -1;          // -1: per tensor
  bool force = true;          // a forced range wins over calibration
};

// How a quantized input (QINT8 / QINT16) of a node is quantized: static
// parameters fixed at build time (per tensor, or per slice along `axis` for
// weights), or dynamic: the range is measured on every inference (SPEC §1).
struct QuantBinding {
  int bits = 8;
  bool symmetric = true;
  bool dynamic = false;
  int64_t axis = -1;  // -1: per tensor
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
};

struct Value {
  int id = -1;
  std::string name;
  DataType dtype = DataType::FLOAT32;
  Shape shape;
  int producer = -1;  // node id; -1 for a graph input
  int producer_output = 0;
  std::optional<RangeSpec> range;
  // Exact quantization parameters from a QAT model (ONNX Q/DQ), used as given.
  std::optional<QuantBinding> fixed_quant;
  // A network input declared QINT8 / QINT16: it carries FLOAT32 data and is
  // quantized at the boundary, as if every consumer asked for this precision.
  std::optional<DataType> boundary_precision;
  // How the value is held in memory at run time (SPEC §1.5), decided by the
  // Q/DQ placement pass (passes/qdq_placement.h) when an engine is created:
  // FLOAT32, FLOAT16, BFLOAT16, INT8 / INT16 (quantized with `storage_quant`),
  // or the logical dtype for non-real values. Unset before placement.
  std::optional<DataType> storage;
  std::optional<QuantBinding> storage_quant;
};

struct Node {
  int id = -1;
  std::string name;
  OpKind op = OpKind::kCount;
  std::vector<int> inputs;  // value ids; -1 for an omitted optional input
  std::vector<int> outputs;
  AttrMap attrs;
  std::map<size_t, DataType> input_precision;  // user overrides (SetPrecision)
  std::map<size_t, DataType> output_type;      // user overrides (SetOutputType)
  std::shared_ptr<const Buffer> constant;      // payload of a Constant node
  // Filled by the precision planner (empty before): the precision each input
  // is consumed in, the type each output is produced in, and for QINT8 /
  // QINT16 inputs how they are quantized.
  std::vector<DataType> input_compute;
  std::vector<DataType> output_compute;
  std::vector<std::optional<QuantBinding>> input_quant;
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph& other);
  Graph& operator=(const Graph& other);

  Value* AddInput(const std::string& name, DataType dtype, const Shape& shape);
  // Creates the node and `num_outputs` output values named "<node>:<i>".
  Node* AddNode(OpKind op, const std::string& name, const std::vector<int>& inputs, int num_outputs);
  void MarkOutput(int value_id) { outputs_.push_back(value_id); }

  Value* value(int id) { return values_.at(static_cast<size_t>(id)).get(); }
  const Value* value(int id) const { return values_.at(static_cast<size_t>(id)).get(); }
  Node* node(int id) { return nodes_.at(static_cast<size_t>(id)).get(); }
  const Node* node(int id) const { return nodes_.at(static_cast<size_t>(id)).get(); }
  size_t value_count() const { return values_.size(); }
  size_t node_count() const { return nodes_.size(); }
  const std::vector<int>& inputs() const { return inputs_; }
  const std::vector<int>& outputs() const { return outputs_; }
  std::vector<int>& mutable_inputs() { return inputs_; }
  std::vector<int>& mutable_outputs() { return outputs_; }

  // By name, through an index (50,000-node graphs are imported in linear-ish
  // time); rename with RenameValue / RenameNode so the index stays true.
  const Value* FindValue(const std::string& name) const;
  const Node* FindNode(const std::string& name) const;
  void RenameValue(int id, const std::string& name);
  void RenameNode(int id, const std::string& name);
  // A name not used by any node or value yet, built from `base` ("base",
  // then "base_1", "base_2", ...). Amortized O(log n), not O(n), per call.
  std::string UniqueName(const std::string& base) const;

  // Nodes in an order where every producer comes before its consumers.
  // INVALID_ARGUMENT naming a node on the cycle if there is one.
  Status TopologicalOrder(std::vector<int>* order) const;

  // Raw access for the model reader, which rebuilds graphs node by node.
  std::vector<std::unique_ptr<Value>>& raw_values() { return values_; }
  std::vector<std::unique_ptr<Node>>& raw_nodes() { return nodes_; }

 private:
  std::vector<std::unique_ptr<Value>> values_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<int> inputs_;
  std::vector<int> outputs_;

  // Name index, filled lazily for values / nodes added since the last look-up.
  // Guarded by a mutex: const look-ups may come from several threads.
  void IndexNewNamesLocked() const;
  mutable std::mutex names_mutex_;
  mutable std::unordered_map<std::string, int> value_index_, node_index_;
  mutable std::unordered_map<std::string, int64_t> next_suffix_;
  mutable size_t indexed_values_ = 0, indexed_nodes_ = 0;
};

// "node 'conv_0' (Conv2D)"
std::string NodeLabel(const Graph& graph, const Node& node);

}  // namespace mixq::ir
