#include "ops/kernel_registry.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>
#include <vector>

#include "ops/int8_chain.h"
#include "ops/quantized_reference.h"
#include "util/status_util.h"

// Declarations of the generated list's functions (one per kernel file).
#define MIXQ_KERNEL_FILE(folder, lib) MIXQ_REGISTER_KERNELS(folder, lib);
#include "kernel_files.inc"
#undef MIXQ_KERNEL_FILE

namespace mixq::ops {

bool ChainPostOpsIn(const std::vector<PostOp>* post_ops) {
  if (!post_ops) return false;
  for (const PostOp& op : *post_ops)
    if (op.kind == PostOp::Kind::kScalar || op.kind == PostOp::Kind::kQuantize ||
        (op.kind == PostOp::Kind::kActivation && op.activation == "hard_swish"))
      return true;
  return false;
}

namespace {

using Table = std::array<std::vector<KernelDef>, static_cast<size_t>(OpKind::kCount)>;

Table& MutableTable() {
  static Table table;
  return table;
}

const Table& FilledTable() {
  static const bool filled = [] {
#define MIXQ_KERNEL_FILE(folder, lib) RegisterKernels_##folder##_##lib();
#include "kernel_files.inc"
#undef MIXQ_KERNEL_FILE
    for (auto& defs : MutableTable())
      std::stable_sort(defs.begin(), defs.end(),
                       [](const KernelDef& a, const KernelDef& b) { return a.priority > b.priority; });
    return true;
  }();
  (void)filled;
  return MutableTable();
}

// Ops whose reference kernels run on quantized integers directly, because
// they only move or compare values (SPEC §1.5). Which nodes may do so is the
// Q/DQ placement pass's decision (passes/qdq_placement.cc).
bool MovesIntegers(OpKind op) {
  switch (op) {
    case OpKind::kMaxPool2D:
    case OpKind::kActivation:
    case OpKind::kReshape:
    case OpKind::kFlatten:
    case OpKind::kSqueeze:
    case OpKind::kUnsqueeze:
    case OpKind::kPermute:
    case OpKind::kSlice:
    case OpKind::kPad:
    case OpKind::kSplit:
    case OpKind::kConcat:
    case OpKind::kResize:
    case OpKind::kGather:
    case OpKind::kConvert:
      return true;
    default:
      return false;
  }
}

// Ops that only copy bytes (of any element size): they take FLOAT16 /
// BFLOAT16 storage as it is.
bool MovesBytes(OpKind op) {
  switch (op) {
    case OpKind::kReshape:
    case OpKind::kFlatten:
    case OpKind::kSqueeze:
    case OpKind::kUnsqueeze:
    case OpKind::kPermute:
    case OpKind::kSlice:
    case OpKind::kSplit:
    case OpKind::kConcat:
    case OpKind::kGather:
      return true;
    default:
      return false;
  }
}

bool AnyQuantizedCompute(const KernelInit& init) {
  for (size_t i = 0; i < init.inputs.size(); ++i)
    if (init.inputs[i] && (init.ComputeOf(i) == DataType::QINT8 || init.ComputeOf(i) == DataType::QINT16)) return true;
  return false;
}

// The reference takes FLOAT32 real values and, for ops that move integers,
// INT8 / INT16 quantized ones; FLOAT16 / BFLOAT16 storage of a real value is
// converted to FLOAT32 around it by the lowering. No post-ops.
template <OpKind kOp>
bool ReferenceSupports(const KernelInit& init) {
  if (init.HasPostOps() || AnyQuantizedCompute(init)) return false;
  auto ok = [](const ValueInfo& v) {
    if (!v.narrowed) return true;
    if (kOp == OpKind::kConvert) return true;
    if ((v.dtype == DataType::FLOAT16 || v.dtype == DataType::BFLOAT16) && MovesBytes(kOp)) return true;
    return IsIntegerStorage(v) && MovesIntegers(kOp);
  };
  for (const ValueInfo* in : init.inputs)
    if (in && !in->const_data && !ok(*in)) return false;
  for (const ValueInfo& out : init.outputs)
    if (!ok(out)) return false;
  return true;
}

template <OpKind kOp>
Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return GetSchema(kOp).reference(init, kernel);
}

// Ops with an accumulator (integer_reference) or integer-chain ops (chain_reference).
template <OpKind kOp>
bool QuantizedSupports(const KernelInit& init) {
  const OpSchema& schema = GetSchema(kOp);
  if (!AnyQuantizedCompute(init)) return false;
  if (schema.integer_reference) return QuantizedReferenceSupports(init);
  return schema.quant.chain_reference && IntegerChainStep(init);
}

template <OpKind kOp>
Status MakeQuantized(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  const OpSchema& schema = GetSchema(kOp);
  if (schema.integer_reference) return MakeQuantizedReference(schema, init, kernel);
  return schema.quant.chain_reference(init, kernel);
}

}  // namespace

void RegisterKernel(const KernelDef& def) {
  MutableTable().at(static_cast<size_t>(def.op)).push_back(def);
}

const std::vector<KernelDef>& RegisteredKernels(OpKind op) {
  return FilledTable().at(static_cast<size_t>(op));
}

const KernelDef* FindKernel(OpKind op, const std::string& name) {
  for (const KernelDef& def : RegisteredKernels(op))
    if (name == def.name) return &def;
  return nullptr;
}

const KernelDef& ReferenceKernel(OpKind op) {
  static const auto defs = [] {
    std::array<KernelDef, static_cast<size_t>(OpKind::kCount)> all{};
#define MIXQ_OP(kind, folder)                                                               \
  all[static_cast<size_t>(OpKind::k##kind)] = KernelDef{"reference",                        \
                                                        OpKind::k##kind,                    \
                                                        kernels::Isa::kGeneric,             \
                                                        -1,                                 \
                                                        ReferenceSupports<OpKind::k##kind>, \
                                                        MakeReference<OpKind::k##kind>};
#include "ops/ops.def"
#undef MIXQ_OP
    // Ops that only change the shape copy their input's bytes as they are:
    // where the lowering lets the output take the input's bytes (the input
    // read last here, same byte count and layout), the copy is skipped and
    // the step is a view (MakeByteCopyKernel).
    for (OpKind shape_only : {OpKind::kReshape, OpKind::kFlatten, OpKind::kSqueeze, OpKind::kUnsqueeze})
      all[static_cast<size_t>(shape_only)].output_aliases = [](const KernelInit&) { return 0; };
    return all;
  }();
  return defs.at(static_cast<size_t>(op));
}

const KernelDef& QuantizedReferenceKernel(OpKind op) {
  static const auto defs = [] {
    std::array<KernelDef, static_cast<size_t>(OpKind::kCount)> all{};
#define MIXQ_OP(kind, folder)                                                                                         \
  all[static_cast<size_t>(OpKind::k##kind)] = KernelDef{                                                              \
      "reference-quantized",         OpKind::k##kind, kernels::Isa::kGeneric, -1, QuantizedSupports<OpKind::k##kind>, \
      MakeQuantized<OpKind::k##kind>};
#include "ops/ops.def"
#undef MIXQ_OP
    return all;
  }();
  return defs.at(static_cast<size_t>(op));
}

bool UniformLayout(const KernelInit& init) {
  if (init.outputs.size() != 1) return true;
  const ValueInfo& out = init.outputs[0];
  for (const ValueInfo* v : init.inputs)
    if (v && v->shape == out.shape && v->layout != out.layout) return false;
  return true;
}

bool PositionalBlockedSlots(const KernelInit& init, bool storage_ok, std::vector<bool>* inputs,
                            std::vector<bool>* outputs) {
  inputs->assign(init.inputs.size(), false);
  outputs->assign(init.outputs.size(), false);
  if (init.outputs.size() != 1 || !storage_ok) return false;
  const ir::Shape& shape = init.outputs[0].shape;
  for (size_t i = 0; i < init.inputs.size(); ++i) {
    const ValueInfo* v = init.inputs[i];
    if (!v || v->quant) return false;
    if (v->shape == shape)
      (*inputs)[i] = true;
    else if (ir::ElementCount(v->shape) != 1) {
      inputs->assign(init.inputs.size(), false);  // a broadcast: positions matter
      return false;
    }
  }
  (*outputs)[0] = true;
  return true;
}

void ElementwiseBlockedSlots(const KernelInit& init, MemoryLayout, std::vector<bool>* inputs,
                             std::vector<bool>* outputs) {
  PositionalBlockedSlots(init, AllPlainFloat32(init), inputs, outputs);
}

namespace {

// Same storage type, shape and layout as output 0: the bytes can be shared.
bool SameStorageAsOutput(const KernelInit& init, size_t slot) {
  if (init.outputs.size() != 1 || slot >= init.inputs.size() || !init.inputs[slot]) return false;
  const ValueInfo &v = *init.inputs[slot], &out = init.outputs[0];
  return !v.const_data && v.dtype == out.dtype && v.narrowed == out.narrowed && v.shape == out.shape &&
         v.layout == out.layout && (v.quant == nullptr) == (out.quant == nullptr) &&
         // Static quantization parameters live in the plan, per tensor, and
         // a run's per buffer (dynamic ones too): the bytes alone are shared.
         (v.quant == nullptr || (!v.quant->dynamic && !out.quant->dynamic));
}

bool IsPostOpInput(const KernelInit& init, size_t slot) {
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops)
      if (op.input >= 0 && static_cast<size_t>(op.input) == slot) return true;
  return false;
}

}  // namespace

int AddendAlias(const KernelInit& init) {
  if (!init.post_ops) return -1;
  for (const PostOp& op : *init.post_ops)
    if (op.kind == PostOp::Kind::kAdd && op.input >= 0 && SameStorageAsOutput(init, static_cast<size_t>(op.input)))
      return op.input;
  return -1;
}

int OperandAlias(const KernelInit& init) {
  for (size_t i = 0; i < init.inputs.size(); ++i)
    if (!IsPostOpInput(init, i) && SameStorageAsOutput(init, i)) return static_cast<int>(i);
  return -1;
}

namespace {

// MIXQ_EXCLUDE_KERNELS=name,name,...: kernels selection skips (read once),
// to measure what one kernel buys against the next in line.
bool Excluded(const char* name) {
  static const std::vector<std::string> excluded = [] {
    std::vector<std::string> names;
    const char* env = std::getenv("MIXQ_EXCLUDE_KERNELS");
    std::string list = env ? env : "";
    for (size_t at = 0; at <= list.size() && !list.empty();) {
      const size_t comma = std::min(list.find(',', at), list.size());
      if (comma > at) names.push_back(list.substr(at, comma - at));
      at = comma + 1;
    }
    return names;
  }();
  return std::find(excluded.begin(), excluded.end(), name) != excluded.end();
}

}  // namespace

void Int8UnaryChannelsLastSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                                std::vector<bool>* outputs) {
  inputs->assign(init.inputs.size(), false);
  outputs->assign(init.outputs.size(), false);
  if (block != MemoryLayout::kChannelsLast || init.inputs.size() != 1 || !init.inputs[0] || init.outputs.size() != 1)
    return;
  const ValueInfo &x = *init.inputs[0], &y = init.outputs[0];
  if (x.dtype != DataType::INT8 || y.dtype != DataType::INT8 || !x.quant || !y.quant || x.shape != y.shape) return;
  (*inputs)[0] = true;
  (*outputs)[0] = true;
}

Status SelectKernel(OpKind op, const KernelInit& init, bool reference_only, kernels::Isa max_isa, const KernelDef** def,
                    const KernelDef* skip) {
  if (!reference_only) {
    // After a give-back only the kernels ranked below it: one that ranks
    // above was passed over already (or would take the step back in turn).
    bool past_skip = skip == nullptr;
    for (const KernelDef& candidate : RegisteredKernels(op)) {
      if (!past_skip) {
        past_skip = &candidate == skip;
        continue;
      }
      if (candidate.isa <= max_isa && !Excluded(candidate.name) && candidate.supports(init)) {
        *def = &candidate;
        return Status::OK();
      }
    }
  }
  for (const KernelDef* fallback : {&QuantizedReferenceKernel(op), &ReferenceKernel(op)})
    if (fallback->supports(init)) {
      *def = fallback;
      return Status::OK();
    }
  return FailedPrecondition("no kernel of ", GetSchema(op).name, " takes these storage types",
                            init.HasPostOps() ? " with fused post-ops" : "");
}

Status WeightCache::GetOrCreate(const std::string& key, const Maker& make, std::shared_ptr<const void>* packed) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end()) {
    *packed = it->second.packed;
    return Status::OK();
  }
  Entry entry;
  MIXQ_RETURN_IF_ERROR(make(&entry.packed, &entry.bytes));
  bytes_ += entry.bytes;
  *packed = entry.packed;
  entries_.emplace(key, std::move(entry));
  return Status::OK();
}

int64_t WeightCache::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

size_t WeightCache::entries() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

}  // namespace mixq::ops
