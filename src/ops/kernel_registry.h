// The kernel registry (DESIGN data flow: lowering picks a kernel per step).
// Each optimized kernel is one KernelDef registered by its op folder
// (src/ops/<op>/cpu_<lib>.cc, through MIXQ_REGISTER_KERNELS); the build
// collects those files, so no central list names them. A kernel is keyed by
// its op, the storage types of the step's inputs and outputs and the ISA it
// needs; `supports` checks the storage types and whatever else it needs
// (attributes, shapes, fused post-ops). Selection takes the highest-priority
// supported kernel whose ISA the CPU has; the op's reference kernel is the
// last resort and the only choice under force_reference.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/cpu_features.h"
#include "ops/op_schema.h"

namespace mixq::ops {

// An operation fused into a step's output, applied in order after the op
// itself: an activation (relu, relu6, clip, leaky_relu; hard_swish; gelu_erf
// and gelu_tanh only after a float32 MatMul / FullyConnected), the addition
// of another tensor of the output's shape (a residual add) or, after a
// float32 MatMul / FullyConnected, of a constant bias per output column ([N]
// or [1, ..., 1, N]: kernels taking a kAdd check the addend's shape), the
// product or sum with a scalar constant, or the output's quantization.
//
// hard_swish, kScalar and kQuantize are "float chain" post-ops: the step
// computes its float32 output as the op would, applies them as the float
// steps they replace would (hard_swish in double, rounded once; y * c; y +
// c), and a final kQuantize quantizes the result into the integer output
// exactly as a Quantize step (q = clamp(rint(y / s) + z), NaN -> z). Only
// kernels that say so take them (ChainPostOpsIn).
//
// kFakeQuantize (after a float32 Elementwise step, the FakeQuantize nodes of
// an imported QDQ model): y = s * (clamp(rint(y / s) + z) - z) per tensor, as
// the FakeQuantize op computes it. kTable: a FakeQuantize step followed by a
// region of float operators whose every value is a function of its 8-bit
// code (runtime/fusion/fuse_qdq_region.cc) computes the region's output by
// lookup.
struct PostOp {
  enum class Kind { kActivation, kAdd, kScalar, kQuantize, kFakeQuantize, kTable };
  Kind kind = Kind::kActivation;
  std::string activation;  // relu, relu6, clip, leaky_relu, hard_swish; kScalar: "mul" or "add"

  float lo = 0.0f, hi = 0.0f;  // clip bounds (relu6: 0, 6); leaky_relu: lo = slope; kScalar: lo = the constant
  int input = -1;              // kAdd: the addend's index among the step's inputs
  bool add_first = false;      // kAdd: addend + y instead of y + addend (same value; kept for the record)
  float scale = 0.0f;          // kFakeQuantize: the scale, zero point and bits
  int32_t zero_point = 0;
  int bits = 8;
  // kTable (on a FakeQuantize step): y = table[q + 128], q the step's int8
  // code of x: what the fused float region after it computes for that code.
  std::shared_ptr<const std::vector<float>> table;
};

// True when a post-op of `post_ops` is a float chain post-op (hard_swish,
// kScalar, kQuantize): kernels that do not implement them decline the step.
bool ChainPostOpsIn(const std::vector<PostOp>* post_ops);

// Weights prepared (reordered, packed) once per engine and shared, read-only,
// by every context of that engine (SPEC §6). Thread-safe.
class WeightCache {
 public:
  using Maker = std::function<Status(std::shared_ptr<const void>* packed, int64_t* bytes)>;
  // The entry under `key`, made by `make` the first time it is asked for.
  Status GetOrCreate(const std::string& key, const Maker& make, std::shared_ptr<const void>* packed);
  int64_t bytes() const;
  size_t entries() const;

 private:
  mutable std::mutex mutex_;
  struct Entry {
    std::shared_ptr<const void> packed;
    int64_t bytes = 0;
  };
  std::unordered_map<std::string, Entry> entries_;
  int64_t bytes_ = 0;
};

// `count` zeroed elements filled by `fill` once per engine through
// init.weights (key: init.weight_key + "/" + `key`, telling apart the
// packings of one step), shared by every context of that engine; privately,
// counted in *private_bytes, where the step comes without a cache (kernels
// made directly, as tests do).
template <typename T>
Status PackOnce(const KernelInit& init, const std::string& key, size_t count, const std::function<void(T*)>& fill,
                std::shared_ptr<const std::vector<T>>* packed, int64_t* private_bytes) {
  auto pack = [&](std::shared_ptr<const void>* out, int64_t* bytes) {
    auto p = std::make_shared<std::vector<T>>(count, T{});
    fill(p->data());
    *bytes = static_cast<int64_t>(count * sizeof(T));
    *out = std::move(p);
    return Status::OK();
  };
  std::shared_ptr<const void> any;
  const Status made =
      init.weights ? init.weights->GetOrCreate(init.weight_key + "/" + key, pack, &any) : pack(&any, private_bytes);
  if (!made.ok()) return made;
  *packed = std::static_pointer_cast<const std::vector<T>>(any);
  return Status::OK();
}

struct KernelDef {
  const char* name = "";  // in the plan and the precision report: "onednn", "cpu-fast", ...
  OpKind op = OpKind::kCount;
  kernels::Isa isa = kernels::Isa::kGeneric;  // the CPU must have at least this
  int priority = 0;                           // higher wins among supported kernels
  // Storage types (init.inputs[i]->dtype, init.outputs[o].dtype), compute
  // precisions, attributes, shapes, post-ops: true when `make` handles them.
  bool (*supports)(const KernelInit& init) = nullptr;
  KernelFactory make = nullptr;
  // Optional: the input and output slots of `init` (a supported step, all
  // plain) that this kernel reads or writes natively in the blocked layout
  // `block`, sized like init.inputs / init.outputs. Null: plain only. The
  // layout pass gives a value `block` when its writer and every reader say
  // so here; `supports` and `make` then see it in ValueInfo::layout.
  void (*blocked_slots)(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                        std::vector<bool>* outputs) = nullptr;
  // Optional: with the layouts the pass gave its tensors, whether this
  // kernel still beats the next one in line (a kernel fast only between
  // neighbours that share its layout); false: the lowering selects again
  // without it and assigns the layouts anew. Null: always kept.
  bool (*keep_with_layouts)(const KernelInit& init) = nullptr;
  // Optional: the input slot whose bytes output 0 may take (in-place), or
  // -1. The kernel promises to read each element of that input before it
  // writes the same position of the output, and never to read it elsewhere
  // (a residual addend accumulated onto, an operand of an element-by-element
  // op). The lowering shares the bytes only where the input's last reader is
  // this step, no other slot of the step reads it, and both tensors have the
  // same storage type, shape and layout. Null: never.
  int (*output_aliases)(const KernelInit& init) = nullptr;
};

// KernelDef::output_aliases of a kernel whose fused residual add (a kAdd
// post-op) reads the addend position by position as the output is written:
// the addend's slot when it matches the output's storage, shape and layout.
int AddendAlias(const KernelInit& init);

// KernelDef::output_aliases of an element-by-element kernel: the first
// operand (not a post-op addend) that matches the output's storage, shape
// and layout.
int OperandAlias(const KernelInit& init);

// KernelDef::blocked_slots of an element-by-element float32 kernel: every
// slot whose tensor has the output's shape, when every input has that shape
// or a single element (a blocked layout permutes the elements of all of them
// alike, which changes nothing element by element).
void ElementwiseBlockedSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                             std::vector<bool>* outputs);
// The same for a kernel with storage types of its own (`storage_ok`: it
// takes them); true when it offered the slots.
bool PositionalBlockedSlots(const KernelInit& init, bool storage_ok, std::vector<bool>* inputs,
                            std::vector<bool>* outputs);

// KernelDef::blocked_slots of an element-by-element kernel on int8 codes
// (one input of the output's shape): both in kChannelsLast, where
// `supports` takes the step.
void Int8UnaryChannelsLastSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                                std::vector<bool>* outputs);

// True when the output and every input of the output's shape share one
// layout: what an element-by-element kernel (ElementwiseBlockedSlots) needs,
// since it pairs elements by their position in memory.
bool UniformLayout(const KernelInit& init);

// Called by the generated registration list (see MIXQ_REGISTER_KERNELS).
void RegisterKernel(const KernelDef& def);
const std::vector<KernelDef>& RegisteredKernels(OpKind op);
// The registered kernel of `op` named `name` (tests force a path with it); null if none.
const KernelDef* FindKernel(OpKind op, const std::string& name);

// The kernel that runs `init` for `op`: the best registered one (unless
// `reference_only`) or the reference. Never null on OK; FAILED_PRECONDITION
// when not even the reference handles these storage types or post-ops.
// `skip`: a kernel that gave the step back (KernelDef::keep_with_layouts):
// only kernels ranked below it are taken.
Status SelectKernel(OpKind op, const KernelInit& init, bool reference_only, kernels::Isa max_isa, const KernelDef** def,
                    const KernelDef* skip = nullptr);

// The reference kernels as registry entries: "reference" (float and integer
// storage of move-only ops) and "reference-quantized" (ops with quantized
// inputs: the exact integer reference plus the requantization of SPEC §1.5).
const KernelDef& ReferenceKernel(OpKind op);
const KernelDef& QuantizedReferenceKernel(OpKind op);

// True for real-valued storage a kernel must treat as quantized.
inline bool IsIntegerStorage(const ValueInfo& v) {
  return v.quant != nullptr && (v.dtype == DataType::INT8 || v.dtype == DataType::INT16);
}

// Every present input and output a plain FLOAT32 tensor (stored and consumed
// as FLOAT32, nothing narrowed): what the float32 kernels take.
inline bool AllPlainFloat32(const KernelInit& init) {
  for (size_t i = 0; i < init.inputs.size(); ++i) {
    const ValueInfo* v = init.inputs[i];
    if (v && (v->dtype != DataType::FLOAT32 || v->narrowed || init.ComputeOf(i) != DataType::FLOAT32)) return false;
  }
  for (const ValueInfo& o : init.outputs)
    if (o.dtype != DataType::FLOAT32 || o.narrowed) return false;
  return true;
}

}  // namespace mixq::ops

// Defines the registration function of one kernel file; the build finds every
// src/ops/<folder>/cpu_<lib>.cc and calls RegisterKernels_<folder>_<lib>().
#define MIXQ_REGISTER_KERNELS(folder, lib) void RegisterKernels_##folder##_##lib()
