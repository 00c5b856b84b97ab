// The bfloat16 GEMM on AMX-BF16 tiles under mixq's own bfloat16 kernels
// ("amx-bf16-pw": 1 x 1 convolutions on NHWC tensors; "amx-bf16-gemm":
// MatMul by a constant): Y = chain(A . B + bias) for A of M rows of K
// bfloat16 values (a row lda elements on), B a constant K x N packed once
// per engine, Y M rows of N bfloat16 values, rounded once.
//
// How: an A tile (16 rows x 32 values, 64 bytes a row) loads straight from
// A at its row stride: no packing of the activations. B is packed as tiles
// of 16 pairs x 16 columns (TDPBF16PS's layout: two values of K per 32-bit
// word, the even one low). A job of 32 rows holds 2 x 2 C tiles (32 rows x
// 32 columns) over every K chunk, stores them to a 4 KiB float32 block in
// L1, and the epilogue adds the bias, runs the chain of post-ops in float32
// (ops/bf16_chain.h: activations, scalars, a residual addend widened from
// bfloat16) and rounds once (vcvtneps2bf16, nearest even); with a residual
// addend, a block's tiles are stored and its epilogue run while the next
// block's tile products are under way (ops/amx_jobs.h,
// AmxTileProductsAfter). K past the
// last whole 32 comes from a zero-padded copy of the tail; a last block of
// fewer than 32 rows from a zero-padded copy of its rows: the tiles never
// read past A; the larger operand in bytes is read once (ops/amx_jobs.h).
//
// Accuracy, as onednn-bf16 (docs/precision.md): every product of two
// bfloat16 values is exact in float32, the sums are float32 (TDPBF16PS's
// order: pairs, 32 values of K at a time; denormal inputs and results of the
// tile product flushed to zero, as oneDNN's AMX kernels do), one rounding at
// the end.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "ops/amx_jobs.h"
#include "ops/bf16_chain.h"

namespace mixq::ops {

// B packed: tiles [n block of 16][K chunk of 32][pair][column] of 32-bit
// words, zero past K and N, then n_blocks * 16 + 16 float32 biases (zero
// past N, all zero without a bias). `words` holds AmxBFloat16BWords(k, n)
// words and may start anywhere: the packing starts at its first 64-byte
// boundary.
int64_t AmxBFloat16BWords(int64_t k, int64_t n);
// `value(kk, nn)`: B[kk][nn], a float32 holding a bfloat16 value (its low
// 16 bits zero); `bias`: N floats or null.
void PackAmxBFloat16B(int64_t k, int64_t n, const std::function<float(int64_t, int64_t)>& value, const float* bias,
                      uint32_t* words);

struct AmxBFloat16B {
  int64_t k = 0, n = 0, chunks = 0, n_blocks = 0;
  const uint32_t* tiles = nullptr;  // 64-byte aligned
  const float* bias = nullptr;      // n_blocks * 16 + 16 floats
};
// The view of a packing at `words` (as PackAmxBFloat16B wrote it).
AmxBFloat16B ViewAmxBFloat16B(int64_t k, int64_t n, const uint32_t* words);

// Where the epilogue writes, and what it adds.
struct AmxBFloat16Out {
  uint16_t* y = nullptr;  // row r at y + r * ldy
  int64_t ldy = 0;
  const uint16_t* addend =
      nullptr;  // the chain's kAddTensor operand (bfloat16, row r at addend + r * ld_addend), or null
  int64_t ld_addend = 0;
  const HalfChain* chain = nullptr;
};

// The epilogue alone, for kernels with tile loops of their own
// (conv2d/cpu_amx_bf16_conv.cc): `rows` rows of a 32 x 32 float32 C block
// (32 floats a row) holding columns [col0, col0 + 32) of Y's rows [row0,
// row0 + rows): + bias, chain (addend rows at row0 too), one rounding, the
// store. Needs AVX512-BF16.
void AmxBFloat16StoreRows(const float* c, int64_t rows, int64_t row0, int64_t col0, const AmxBFloat16B& b,
                          const AmxBFloat16Out& out);

// One thread's buffers (a kernel keeps one per OpenMP thread).
struct AmxBFloat16Scratch {
  std::vector<float> c;                       // the 32 x 32 C block
  std::vector<uint16_t> tail, rows;           // ops/amx_jobs.h's copies
  std::vector<AmxRowBlock<uint16_t>> blocks;  // a job's row blocks, where it sweeps them per column pair
};

// Y = chain(A . B + bias): A's M rows of K values lda elements apart.
// Splits over OpenMP threads (the team this call opens) from a few million
// multiply-adds; *scratch is grown to one entry per thread. Needs AMX-BF16
// (kernels::CpuFeatures::amx_bf16).
void AmxBFloat16Gemm(const uint16_t* a, int64_t lda, int64_t m, const AmxBFloat16B& b, const AmxBFloat16Out& out,
                     std::vector<AmxBFloat16Scratch>* scratch);

}  // namespace mixq::ops
