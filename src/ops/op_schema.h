// What every operator provides: its schema (inputs, outputs, attributes),
// shape/type inference, quantization traits and its reference kernel.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ir/attr.h"
#include "ir/graph.h"
#include "ir/shape.h"
#include "mixq/types.h"
#include "ops/op_kind.h"

namespace mixq::ops {

// What inference and kernel preparation know about one input or output.
// How a tensor's elements lie in memory. kPlain: row-major in its dims.
// kBlocked8 / kBlocked16: a 4-D NCHW tensor in oneDNN's nChw8c / nChw16c
// (channels in blocks of 8 / 16, innermost), only with C a multiple of the
// block, so the bytes are the plain tensor's. The lowering gives a value a
// blocked layout only between kernels that declare they run in it
// (KernelDef::blocked_slots, runtime/layout_pass.h); every other kernel
// sees plain tensors. kChannelsLast: a 4-D NCHW INT8 / INT16 quantized
// tensor stored NHWC (channels innermost, any count), the layout oneDNN's
// int8 convolutions read and write directly; given the same way.
enum class MemoryLayout : uint8_t { kPlain, kBlocked8, kBlocked16, kChannelsLast };

// Channels per block of a blocked layout (nChw8c: 8, nChw16c: 16); 0 otherwise.
inline int64_t BlockChannels(MemoryLayout layout) {
  return layout == MemoryLayout::kBlocked16 ? 16 : layout == MemoryLayout::kBlocked8 ? 8 : 0;
}

struct ValueInfo {
  DataType dtype = DataType::FLOAT32;
  ir::Shape shape;
  // The constant's bytes when the value is a constant (weights); else null.
  const void* const_data = nullptr;
  // Quantization parameters of an INT8 / INT16 stored real-valued tensor
  // (static scales, or `dynamic`: measured on every run); null otherwise.
  const ir::QuantBinding* quant = nullptr;
  // True when a real (FLOAT32) value is stored narrower: FLOAT16, BFLOAT16,
  // or INT8 / INT16 with `quant`. Logical FLOAT16 tensors (a Cast's) are not.
  bool narrowed = false;
  // Last, so the positional initializers of the fields above stay valid.
  MemoryLayout layout = MemoryLayout::kPlain;
};

// Per-tensor quantization parameters of a quantized activation on the
// current run: fixed at prepare for static parameters, written by the
// Convert step that quantizes a dynamic tensor and read by its consumers.
struct RunQuant {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

// A tensor as a kernel sees it at run time.
struct TensorView {
  DataType dtype = DataType::FLOAT32;
  ir::Shape shape;
  void* data = nullptr;
  RunQuant* quant = nullptr;  // set for INT8 / INT16 stored activations

  template <typename T>
  T* Data() const {
    return static_cast<T*>(data);
  }
  int64_t Count() const { return ir::ElementCount(shape); }
  size_t Bytes() const { return static_cast<size_t>(Count()) * DataTypeSize(dtype); }
};

// Prepared once per input shape (rule 2 of DESIGN.md), run many times.
class Kernel {
 public:
  virtual ~Kernel() = default;
  // Omitted optional inputs have data == nullptr.
  virtual Status Run(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs) = 0;
  // Bytes of weights this kernel packed for itself (not shared by the engine).
  virtual int64_t PrivateWeightBytes() const { return 0; }
  // False when Run never reads input `index`'s bytes: a constant the kernel
  // packed (or copied) when it was made. The plan then keeps no float32
  // copy of a narrow (float16-stored) constant for it (runtime/lowering.cc,
  // KeepPinsReadAtRun); that input's view may point at freed bytes. Kernels
  // that pack say so; by default every input is read.
  virtual bool ReadsInputAtRun(size_t index) const {
    (void)index;
    return true;
  }
  // What this kernel object is, said by the object itself ("reference",
  // "onednn", ...): instrumented runs record it to check the precision report.
  virtual const char* Name() const { return "reference"; }
};

// Everything a kernel may precompute from: attributes (defaults filled),
// input infos (null for omitted optional inputs) and the inferred outputs.
struct PostOp;
class WeightCache;
struct KernelInit {
  KernelInit(const ir::AttrMap& a, const std::vector<const ValueInfo*>& in, const std::vector<ValueInfo>& out,
             const std::vector<DataType>* compute = nullptr, const std::vector<PostOp>* post = nullptr,
             WeightCache* cache = nullptr, std::string key = "")
      : attrs(a),
        inputs(in),
        outputs(out),
        input_compute(compute),
        post_ops(post),
        weights(cache),
        weight_key(std::move(key)) {}
  const ir::AttrMap& attrs;
  const std::vector<const ValueInfo*>& inputs;
  const std::vector<ValueInfo>& outputs;
  // What the execution plan adds (see ops/kernel_registry.h); the defaults
  // describe a plain float32 node with nothing fused.
  const std::vector<DataType>* input_compute = nullptr;  // precision each input is consumed in
  const std::vector<PostOp>* post_ops = nullptr;         // fused into the output, in order
  WeightCache* weights = nullptr;                        // the engine's packed weights
  std::string weight_key;                                // this step's key in `weights`

  DataType ComputeOf(size_t input) const {
    return input_compute && input < input_compute->size() ? (*input_compute)[input]
           : input < inputs.size() && inputs[input]       ? inputs[input]->dtype
                                                          : DataType::FLOAT32;
  }
  bool HasPostOps() const { return post_ops && !post_ops->empty(); }
};

// Fills `outputs` (already sized to the node's output count) with dtype and
// shape. Must accept dynamic (-1) dims and propagate them. Errors name the
// input or attribute at fault; the caller adds the node name.
using InferFn = Status (*)(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                           std::vector<ValueInfo>& outputs);
using KernelFactory = Status (*)(const KernelInit& init, std::unique_ptr<Kernel>* kernel);

struct AttrSpec {
  std::string name;
  ir::AttrValue default_value;  // also gives the attribute's type
  std::string doc;
};

// Quantization traits, read by the precision planner and the quantized
// execution path (SPEC §2). An op with quantizable inputs computes, for
// quantized inputs, on their centered integer values (q - z) and the result
// is scaled back per output channel: y = acc * s_in * s_w[c] (+ bias).
struct QuantTraits {
  std::vector<int> quantizable_inputs;  // may be consumed as QINT8 / QINT16
  int weight_input = -1;                // the input that may be quantized per axis
  int weight_axis = 0;                  // its output-channel axis (negative: from the end)
  int bias_input = -1;                  // added after scaling, in float
  bool gemm_alpha_beta = false;         // y = alpha * acc * scales + beta * bias (Gemm)
  // Where layouts or transposes move those axes; null: use weight_axis / the last axis.
  int64_t (*resolve_weight_axis)(const ir::AttrMap& attrs, int64_t weight_rank) = nullptr;
  int64_t (*output_channel_axis)(const ir::AttrMap& attrs, int64_t output_rank) = nullptr;

  int64_t WeightAxis(const ir::AttrMap& attrs, int64_t rank) const {
    int64_t axis = resolve_weight_axis ? resolve_weight_axis(attrs, rank) : weight_axis;
    return axis < 0 ? axis + rank : axis;
  }
  int64_t OutputChannelAxis(const ir::AttrMap& attrs, int64_t rank) const {
    int64_t axis = output_channel_axis ? output_channel_axis(attrs, rank) : -1;
    return axis < 0 ? axis + rank : axis;
  }
  // Integer chains (SPEC §1.5, passes/integer_chain.h): inputs an op may
  // consume as QINT8 storage although it has no accumulator, because it maps
  // int8 to int8 exactly as its reference defines (a lookup table, a rescaling
  // add). Null: none. The planner uses them only between quantized operators.
  bool (*chain_input)(const ir::Graph& graph, const ir::Node& node, size_t input) = nullptr;
  // The kernel that computes such a node on its integers (the oracle the fast
  // chain kernels are bit-exact with); null when chain_input is.
  KernelFactory chain_reference = nullptr;

  bool IsQuantizable(int input) const {
    for (int q : quantizable_inputs)
      if (q == input) return true;
    return false;
  }
};

struct OpSchema {
  OpKind kind = OpKind::kCount;
  std::string name;
  std::string summary;
  std::vector<std::string> input_names;  // optional ones after `min_inputs`
  int min_inputs = 1;
  bool variadic_inputs = false;  // any count >= min_inputs (Concat)
  int min_outputs = 1;
  int max_outputs = 1;  // Split: many
  std::vector<AttrSpec> attrs;
  InferFn infer = nullptr;
  KernelFactory reference = nullptr;
  // For ops with quantizable inputs: the exact integer reference. It is
  // prepared from the same infos as `reference` (without the bias), but at
  // run time every input holds INT32 centered integers (q - zero_point) and
  // it writes INT64 accumulators. The runtime quantizes the inputs and scales
  // the accumulators back (SPEC §1.5): see ops/quantized_reference.h.
  KernelFactory integer_reference = nullptr;
  // Optimized kernels are not part of the schema: each registers itself in
  // the kernel registry (ops/kernel_registry.h) from src/ops/<op>/cpu_<lib>.cc.
  QuantTraits quant;

  const AttrSpec* FindAttr(const std::string& attr_name) const {
    for (const auto& a : attrs)
      if (a.name == attr_name) return &a;
    return nullptr;
  }
  std::string InputName(size_t index) const {
    return index < input_names.size() ? input_names[index] : input_names.empty() ? "input" : input_names.back();
  }
};

const OpSchema& GetSchema(OpKind kind);
// By name ("Conv2D"); null if unknown.
const OpSchema* FindSchema(const std::string& name);
const std::vector<const OpSchema*>& AllSchemas();

#define MIXQ_OP(kind, folder) const OpSchema& kind##Schema();
#include "ops/ops.def"
#undef MIXQ_OP

}  // namespace mixq::ops
