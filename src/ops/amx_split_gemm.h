// The GEMM of mixq's float16 kernels on AMX-BF16 tiles ("amx-f16-pw":
// conv2d/cpu_amx_f16_pw.cc; "amx-f16-gemm": matmul/cpu_amx_f16.cc): float32
// arithmetic on float16 values through exact bfloat16 splits
// (kernels/half_split.h). B is packed once as ops/amx_bf16_gemm.h's tiles
// with K doubled: (wh, wl) pairs for each k. A block of 32 rows of A is
// split per chunk of 16 values of K into a tile pair of (xh, xh) pairs and
// one of (xl, xl) pairs (kSplitBlockValues bfloat16 values a chunk), and
// both multiply the same B tile into the same C tile: four exact products
// per multiply-add, summed in float32.
#pragma once

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "kernels/thread_scratch.h"
#include "kernels/u8s8_gemm_amx.h"
#include "ops/amx_jobs.h"

namespace mixq::ops {

// A staged chunk of 16 values of K for 32 rows: 32 rows of 32 hi values
// ((xh, xh) per k), then 32 rows of lo values.
constexpr int64_t kSplitBlockValues = 2048;
// B tiles prefetched this many chunks ahead.
constexpr int64_t kSplitPrefetchTiles = 2;

// C (32 rows x 32 columns, float32, rows kAmxBlockCols apart) = the staged
// row block `a` (`chunks` chunks) times B's tiles for one or two column
// tiles (the second b_stride words on). The caller has configured the
// tiles (kernels::ConfigureAmxTiles).
template <int C>
MIXQ_AMX_KERNEL inline void SplitTileProducts(const uint16_t* a, int64_t chunks, const uint32_t* b, int64_t b_stride,
                                              float* c) {
  constexpr int64_t kTile = 16;
  ZeroAmxFloatBlock<C>();
  for (int64_t k = 0; k < chunks; ++k) {
    const uint16_t* at = a + k * kSplitBlockValues;
    const uint32_t* bt = b + k * kAmxBTileWords;
    PrefetchAmxBTiles<C>(bt, b_stride, kSplitPrefetchTiles);
    _tile_loadd(6, bt, 64);
    if constexpr (C == 2) _tile_loadd(7, bt + b_stride, 64);
    for (int half = 0; half < 2; ++half) {  // the hi pairs, then the lo pairs, into the same C tiles
      const uint16_t* rows = at + half * (kSplitBlockValues / 2);
      AmxBFloat16RowPairProducts<C>(rows, rows + kTile * 32, 64);
    }
  }
  StoreAmxFloatBlock<C>(c);
}

// The plan's jobs over OpenMP threads (a team of its own where
// plan.parallel): stage(rb, to) splits row block rb into `to`
// (block_values values, 64-byte aligned), compute(rb, a, pair, c) runs the
// staged block against column pair `pair` with c a 32 x 32 float32 block.
// A job sweeping its row blocks per column pair stages them all first. The
// buffers are the threads' scratch (kernels/thread_scratch.h, slots 0 and
// 1). False where that memory could not be had.
template <typename Stage, typename Compute>
bool RunSplitJobs(const AmxJobPlan& plan, int64_t block_values, const Stage& stage, const Compute& compute) {
  bool failed = false;
#pragma omp parallel if (plan.parallel)
  {
    const int64_t most = plan.cols_outer ? plan.row_blocks : 1;
    auto* staged =
        static_cast<uint16_t*>(kernels::ThreadScratch(0, static_cast<size_t>(most * block_values) * sizeof(uint16_t)));
    auto* c = static_cast<float*>(
        kernels::ThreadScratch(1, static_cast<size_t>(kAmxBlockRows * kAmxBlockCols) * sizeof(float)));
    if (!staged || !c) {
#pragma omp atomic write
      failed = true;
    } else {
      kernels::ConfigureAmxTiles();
#pragma omp for schedule(static)
      for (int64_t item = 0; item < plan.items; ++item) {
        const int64_t rb0 = plan.RowBegin(item), rb1 = plan.RowEnd(item);
        const int64_t pair0 = plan.PairBegin(item), pair1 = plan.PairEnd(item);
        if (plan.cols_outer) {
          for (int64_t rb = rb0; rb < rb1; ++rb) stage(rb, staged + (rb - rb0) * block_values);
          for (int64_t pair = pair0; pair < pair1; ++pair)
            for (int64_t rb = rb0; rb < rb1; ++rb) compute(rb, staged + (rb - rb0) * block_values, pair, c);
        } else {
          for (int64_t rb = rb0; rb < rb1; ++rb) {
            stage(rb, staged);
            for (int64_t pair = pair0; pair < pair1; ++pair) compute(rb, staged, pair, c);
          }
        }
      }
      kernels::ReleaseAmxTiles();
    }
  }
  return !failed;
}

}  // namespace mixq::ops
