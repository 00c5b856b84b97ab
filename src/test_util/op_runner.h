// Test helper: runs one operator's shape inference and reference kernel on
// concrete tensors, without building a network.
#pragma once

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "ir/attr.h"
#include "ops/op_schema.h"

namespace mixq::testing {

struct HostTensor {
  DataType dtype = DataType::FLOAT32;
  ir::Shape shape;
  std::vector<uint8_t> bytes;
  bool is_constant = false;  // presented to the op as a constant (weights)

  template <typename T>
  static HostTensor Make(DataType dtype, ir::Shape shape, const std::vector<T>& values) {
    HostTensor t;
    t.dtype = dtype;
    t.shape = std::move(shape);
    t.bytes.resize(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
    return t;
  }
  static HostTensor F32(ir::Shape shape, const std::vector<float>& values) {
    return Make(DataType::FLOAT32, std::move(shape), values);
  }
  static HostTensor I64(ir::Shape shape, const std::vector<int64_t>& values) {
    return Make(DataType::INT64, std::move(shape), values);
  }
  HostTensor Const() const {
    HostTensor t = *this;
    t.is_constant = true;
    return t;
  }
  template <typename T>
  std::vector<T> Values() const {
    std::vector<T> out(bytes.size() / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
  std::vector<float> Floats() const { return Values<float>(); }
};

// Fills attribute defaults from the schema, checks attribute names / types,
// infers output shapes, then runs the reference kernel. std::nullopt inputs
// are omitted optional inputs. Errors come back as the Status.
enum class KernelKind { kReference, kOptimized };
Status RunOp(OpKind kind, const ir::AttrMap& attrs, const std::vector<std::optional<HostTensor>>& inputs,
             int num_outputs, std::vector<HostTensor>* outputs, KernelKind kernel = KernelKind::kReference);

// The same on the registered kernel named `kernel_name` (FindKernel), made
// even where its `supports` would leave the case to another kernel (its
// factory checks what it computes); FAILED_PRECONDITION when this CPU lacks
// its ISA.
Status RunOpWithKernel(OpKind kind, const ir::AttrMap& attrs, const std::vector<std::optional<HostTensor>>& inputs,
                       int num_outputs, std::vector<HostTensor>* outputs, const char* kernel_name);

// The name of the kernel the registry picks for these inputs (the one
// RunOp's kOptimized runs) into `name`.
Status SelectedKernelName(OpKind kind, const ir::AttrMap& attrs, const std::vector<std::optional<HostTensor>>& inputs,
                          int num_outputs, std::string* name);

// Only shape inference; inputs given as infos (shapes may hold -1).
Status InferOp(OpKind kind, const ir::AttrMap& attrs, const std::vector<std::optional<ops::ValueInfo>>& inputs,
               int num_outputs, std::vector<ops::ValueInfo>* outputs);

// Single-output convenience: the output, or a failed gtest assertion message.
HostTensor RunOpOrDie(OpKind kind, const ir::AttrMap& attrs, const std::vector<std::optional<HostTensor>>& inputs);

}  // namespace mixq::testing
