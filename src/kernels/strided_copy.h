// Fast affine copies for the data-movement kernels (Permute, Slice): output
// element (i0, i1, ...) over `shape`, written row-major, is input element
// base + sum(ik * steps[k]) — the loop of ops/shape_ops_util.h's reference
// StridedCopy, planned once per step:
//   - dims of size 1 are dropped and output-adjacent dims whose input steps
//     chain (steps[k] == steps[k + 1] * shape[k + 1]) are merged;
//   - innermost input step 1: memcpy of contiguous runs (one memcpy when all
//     of it is one run);
//   - another dim with input step 1 (a transpose of the input's contiguous
//     dim with the output's): cache-blocked 2-D transposes (32-row blocks,
//     32-column tiles), when `avx2` in 8x8 register tiles (4-byte elements:
//     AVX2 unpack / shuffle / permute2f128; 2- and 1-byte elements: SSE2
//     unpacks), scalar tiles otherwise and for 8-byte elements;
//   - anything else (strided slices): a typed gather along the innermost dim.
// Values are moved as bytes, so the result is bit-identical with the
// reference for every element size. Large copies (kMinParallelElements,
// kernels/parallel.h) split their outer work over OpenMP threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mixq::kernels {

class StridedCopyPlan {
 public:
  enum class Path { kEmpty, kOneRun, kRuns, kTranspose, kGather };

  // shape: the output shape (static, every dim >= 0); steps: input element
  // step per output dim (any sign); base: input element of output element 0;
  // element_size: bytes per element (any; 1, 2, 4 and 8 have typed loops);
  // avx2: the CPU has AVX2 (callers check kernels::BestIsa()).
  StridedCopyPlan(const std::vector<int64_t>& shape, const std::vector<int64_t>& steps, int64_t base,
                  size_t element_size, bool avx2);

  void Run(const void* input, void* output) const;

  Path path() const { return path_; }
  // The merged dims (tests and the benchmark print them).
  const std::vector<int64_t>& shape() const { return shape_; }
  const std::vector<int64_t>& steps() const { return steps_; }

 private:
  void RunRuns(const unsigned char* in, unsigned char* out) const;
  void RunTranspose(const unsigned char* in, unsigned char* out) const;
  void RunGather(const unsigned char* in, unsigned char* out) const;

  Path path_ = Path::kEmpty;
  std::vector<int64_t> shape_, steps_;  // merged output dims, input steps
  std::vector<int64_t> out_strides_;    // row-major strides of shape_
  int64_t base_ = 0, count_ = 0;
  size_t es_ = 0;
  bool avx2_ = false;
  size_t t_ = 0;  // kTranspose: the output dim whose input step is 1
};

}  // namespace mixq::kernels
