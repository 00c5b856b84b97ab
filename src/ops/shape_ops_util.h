// Helpers shared by the data-movement operators (Concat, Split, Slice,
// Reshape, Flatten, Permute, Squeeze, Unsqueeze, Gather) and MatMul: axis
// attributes, dynamic-aware dim products and the copy loops their reference
// kernels are made of. Data movement works on raw bytes, so one kernel serves
// every dtype.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ops/op_schema.h"

namespace mixq::ops {

// Normalizes a possibly negative axis attribute into [0, rank); the error
// names the attribute and the rank.
Status NormalizeAxisAttr(int64_t axis, int64_t rank, const char* attr, int64_t* normalized);
// The same for a list of axes, which must also be distinct.
Status NormalizeAxesAttr(const std::vector<int64_t>& axes, int64_t rank, const char* attr,
                         std::vector<int64_t>* normalized);

// Product of dims [begin, end); -1 if any of them is dynamic.
int64_t DimProduct(const ir::Shape& shape, size_t begin, size_t end);

// Error unless every dim is known: kernels are prepared from concrete shapes,
// and a -1 reaching a factory would silently size loops wrong.
Status ExpectStatic(const ValueInfo& info, const char* name);

// An affine view of the input written out row-major: output element
// (i0, i1, ...) over `shape` is input element base + sum(ik * steps[k]).
// Slice (offset start, possibly negative steps) and Permute (permuted
// strides) are both this one loop.
struct StridedCopyParams {
  ir::Shape shape;             // output shape, static
  std::vector<int64_t> steps;  // input element step per output axis
  int64_t base = 0;            // input element of output element 0
  size_t element_size = 0;     // bytes per element
};
void StridedCopy(const StridedCopyParams& params, const void* input, void* output);

// The affine views of Permute and Slice (defined in their op.cc), which
// their reference and their fast kernels (cpu_fast.cc) both copy.
Status PermuteCopyParams(const KernelInit& init, StridedCopyParams* params);
Status SliceCopyParams(const KernelInit& init, StridedCopyParams* params);

// The fast kernels of those views (kernels/strided_copy.h: merged dims,
// memcpy of contiguous runs, blocked transposes, 8x8 AVX2 tiles for 4-byte
// elements when `avx2`), bit-identical with StridedCopy. `name` is the
// kernel's name in the plan.
Status MakeFastStridedCopyKernel(const StridedCopyParams& params, bool avx2, const char* name,
                                 std::unique_ptr<Kernel>* kernel);
// Where they apply: whatever the reference of `op` takes (the same storage
// rules, no post-ops), with a static input and output elements the size of
// the input's.
bool FastStridedCopySupports(OpKind op, const KernelInit& init);

// The kernel of ops that only change the shape (Reshape, Flatten, Squeeze,
// Unsqueeze): row-major order is unchanged, so output 0 is input 0's bytes.
Status MakeByteCopyKernel(std::unique_ptr<Kernel>* kernel);

}  // namespace mixq::ops
