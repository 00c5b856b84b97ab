// A float32 GEMM with constant, pre-packed B on AVX2 + FMA: C[M,N] = A[M,K] x
// B[K,N] (then per-column biases, same-shape addends and activations, in any
// order), for MatMul and FullyConnected with float32 weights
// (ops/float_weight_gemm.h).
//
// B is packed once per engine into panels of 16 columns, K-major inside a
// panel ([panel][k][16] floats, the last panel's columns past N zero), so a
// 6 x 16 micro-tile reads one contiguous stream of B. The micro-tile keeps 12
// ymm accumulators (6 rows x 2 vectors), two B vectors and one broadcast in
// registers: 12 FMAs per 8 loads, as MLAS / BLIS do on AVX2. K is blocked by
// kSgemmDepthBlock: the rows of A are packed once per call (tap-major in
// 6-row blocks, shared by the threads) and each panel's K block (16 KiB)
// stays in L1 while every row block of a chunk runs against it; the epilogue
// (SgemmEpilogue) is applied to each tile's sums before their store after
// the last K block.
// Threads split the (row chunk, column block of 256) tiles when the product
// is large enough (kernels/parallel.h).
//
// Float sums in another order than the reference's double ones: each output
// is a float32 FMA chain over K, error <= K * 2^-24 * sum_k |a_k b_k| or so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mixq::kernels {

constexpr int64_t kSgemmPanel = 16;        // columns of B per packed panel
constexpr int64_t kSgemmRows = 6;          // rows of A per micro-tile
constexpr int64_t kSgemmDepthBlock = 256;  // K per block
constexpr int64_t kSgemmBlockPanels = 16;  // panels per column block (256 columns)

struct PackedSgemmB {
  int64_t k = 0, n = 0, panels = 0;
  std::vector<float> storage;  // panels * k * 16 floats from `offset` (64-byte aligned)
  size_t offset = 0;
  const float* Panel(int64_t panel) const { return storage.data() + offset + panel * k * kSgemmPanel; }
  int64_t Bytes() const { return static_cast<int64_t>(storage.size() * sizeof(float)); }
};

// Packs B (K x N): element (t, j) at b[t * n + j], or at b[j * k + t] when
// `transposed` (B stored [N, K], as FullyConnected keeps its weights).
void PackSgemmB(const float* b, int64_t k, int64_t n, bool transposed, PackedSgemmB* packed);

// What is applied to each output after the product, in order, on each
// tile's sums (in L1) before their one store to C (no second pass over C):
// a bias per column (bias[j]), a same-shape addend (addend[i * ldc + j]), a clamp
// (maxps(y, lo) then minps(., hi): relu, relu6, clip, NaN -> lo), leaky_relu
// (y < 0 ? lo * y : y) or GELU (kernels/vector_math.h, the numbers of the
// float32 Activation kernel).
struct SgemmEpilogueOp {
  enum class Kind { kBias, kAdd, kClamp, kLeakyRelu, kGeluErf, kGeluTanh };
  Kind kind = Kind::kBias;
  const float* data = nullptr;  // kBias: N floats; kAdd: a tensor shaped like C
  float lo = 0.0f, hi = 0.0f;   // kClamp: the bounds; kLeakyRelu: lo = the slope
};

struct SgemmEpilogue {
  std::vector<SgemmEpilogueOp> ops;
};

// C[i][j] (row i at c + i * ldc) = sum_k A[i][k] * B[k][j] (row i of A at
// a + i * lda) + the epilogue. Splits over OpenMP threads when the product
// is large (kMinParallelMacs). Needs AVX2 + FMA. False when the calling
// thread's scratch for A's packed rows (kernels/thread_scratch.h, M * K
// floats rounded up to 6 rows) could not be had.
bool SgemmAvx2(const float* a, int64_t m, int64_t lda, const PackedSgemmB& b, const SgemmEpilogue& epilogue, float* c,
               int64_t ldc);

}  // namespace mixq::kernels
