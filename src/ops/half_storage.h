// Float16 storage in float kernels (SPEC §5, §6): a kernel that reads and
// writes FLOAT16-stored tensors itself, widening on load and rounding on
// store with F16C (kernels/half_io.h), replaces the Cast steps the lowering
// would otherwise put around its float32 twin. The values are the same: the
// inputs are widened exactly, the float32 arithmetic is the twin's, and the
// output is rounded once at the operator boundary, as the Cast did.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "ops/kernel_registry.h"

namespace mixq::ops {

// A real value held as `narrow` (FLOAT16 or BFLOAT16) in the arena (not a
// constant: constants consumed in float16 / bfloat16 are rounded FLOAT32
// constants).
inline bool IsNarrowStorage(const ValueInfo& v, DataType narrow) {
  return v.narrowed && v.dtype == narrow && v.const_data == nullptr;
}
inline bool IsHalfStorage(const ValueInfo& v) {
  return IsNarrowStorage(v, DataType::FLOAT16);
}

// What a `narrow`-storage kernel takes: every present input FLOAT32 (consumed
// as FLOAT32) or `narrow` storage, every output FLOAT32 or `narrow` storage,
// at least one of them `narrow`, and no post-ops. The wrappers below take
// FLOAT16 and BFLOAT16 alike (their own kernels: "avx2-f16", "avx2-bf16");
// HalfOrFloatStorage is the FLOAT16 form.
// Every one of `count` float32 values a float16 value (NaNs aside): then a
// float16 copy holds the same values. Checked in chunks with F16C (a few ms
// for millions).
bool HoldsHalfValues(const float* w, int64_t count);

bool NarrowOrFloatStorage(const KernelInit& init, DataType narrow);
inline bool HalfOrFloatStorage(const KernelInit& init) {
  return NarrowOrFloatStorage(init, DataType::FLOAT16);
}

// The same step with FLOAT16 storage read as plain FLOAT32: what the float32
// kernel between the Cast steps is prepared with. `shape`, when given,
// replaces the shape of input 0 and of every output (`out_shape`, when given,
// that of the outputs): the chunks of a pointwise or row-wise op; other
// inputs (LayerNorm's scale, MatMul's weights) keep theirs. The chunk's
// kernel gets its own weight-cache key (weights may be packed per shape).
class WidenedInit {
 public:
  explicit WidenedInit(const KernelInit& init, const ir::Shape* shape = nullptr, const ir::Shape* out_shape = nullptr);
  WidenedInit(const WidenedInit&) = delete;
  WidenedInit& operator=(const WidenedInit&) = delete;
  const KernelInit& init() const { return *init_; }

 private:
  std::vector<ValueInfo> inputs_;
  std::vector<const ValueInfo*> input_ptrs_;
  std::vector<ValueInfo> outputs_;
  std::vector<DataType> compute_;
  std::optional<KernelInit> init_;
};

// Elements a float16 pointwise kernel converts at a time: its float32 copies
// (input and output) stay in L1.
constexpr int64_t kHalfChunk = 4096;

// A float16-storage kernel for a pointwise op of one input (y[i] = f(x[i]),
// Activation, Unary): chunks of kHalfChunk elements widened into a float32
// buffer, run through the op's own float32 kernel (chosen from the registry
// as for the widened step, prepared for the chunk's shape) and rounded back;
// chunks split over OpenMP threads above kMinParallelElements. The result is
// bit-identical with Cast, the float32 kernel, Cast. `name` is the kernel's
// registered name.
Status MakeHalfPointwise(OpKind op, const KernelInit& init, DataType narrow, const char* name,
                         std::unique_ptr<Kernel>* kernel);
// True when MakeHalfPointwise takes `init`: one input and one output of the
// same shape, HalfOrFloatStorage, and a float32 kernel (the reference
// included) for the widened step. Only for ops whose every kernel is
// pointwise, so that a kernel prepared for a chunk computes each element as
// the one prepared for the whole tensor.
bool SupportsHalfPointwise(OpKind op, const KernelInit& init, DataType narrow);

// A float16-storage kernel for an op that computes each row independently:
// input 0 and output 0 seen as rows of the dims from `axis` on (Softmax over
// the last axis, LayerNorm over its normalized block, MatMul / Gemm rows of
// activations times constant weights), the other inputs constants. Chunks of
// whole rows (about kHalfChunk elements, at least one row) widened, run
// through the op's float32 kernel prepared for the chunk's shape (the same
// rank, leading dims 1), rounded back; bit-identical with Cast, the float32
// kernel, Cast, when that kernel computes a row the same whatever the rows
// around it (Softmax, LayerNorm). `whole`: one chunk of every row, for
// kernels whose sums depend on the rows per call (oneDNN's GEMMs); then only
// steps of at most kHalfWholeLimit elements in or out are taken, so the
// float32 copies outside the arena stay small. The caller checks that the
// op's rows are the ones from `axis`.
constexpr int64_t kHalfWholeLimit = int64_t{1} << 16;
bool SupportsHalfRows(OpKind op, const KernelInit& init, DataType narrow, int64_t axis, bool whole = false);
Status MakeHalfRows(OpKind op, const KernelInit& init, DataType narrow, int64_t axis, bool whole, const char* name,
                    std::unique_ptr<Kernel>* kernel);

}  // namespace mixq::ops
