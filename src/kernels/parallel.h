// When a kernel splits its work over OpenMP threads. A parallel region costs
// a fork / join (microseconds on an idle machine) and, when the other cores
// are busy, the wake-up of a sleeping worker (up to milliseconds): measured
// here, PP-OCR rec int8 ran slower on 2 threads than on 1 under load with a
// region per small step. Below these sizes a step stays on one thread.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace mixq::kernels {

// Multiply-accumulates of a GEMM-like step (about 100 us on one core).
constexpr int64_t kMinParallelMacs = int64_t{1} << 22;
// Weight bytes from which a product with constant weights runs on every
// thread whatever its multiply-adds: few rows over large weights (a batch-1
// classifier head) stream them from L3 or memory at one core's bandwidth
// (MobileNetV2's 1280 -> 1000 head at 2 threads: int8 0.104 -> 0.029 ms on
// AMD Zen 4, float32 0.168 -> 0.084 on an Intel Xeon).
constexpr int64_t kMinParallelWeightBytes = int64_t{1} << 20;

// The same for a depthwise convolution, whose MAC costs several GEMM MACs
// (6-9 GMAC/s against 100+ on one core): a sixteenth, about 40 us of work.
// MobileNetV2's 3x3 depthwise layers of 1.0 M MACs (576 channels at 14 x 14,
// 144 at 28 x 28) ran at 1.0x on 2 threads with the GEMM's quarter; 1.6x now.
constexpr int64_t kMinParallelDepthwiseMacs = kMinParallelMacs / 16;
// Elements of a memory-bound step (about 25 us on one core). It was 2^18
// (about 100 us); on an Intel Xeon VM a worker asleep after a serial stretch
// of 40+ us costs 0.1-0.2 ms to wake, so short serial steps between
// convolutions cost more than their own time. 2^16, medians at 2 threads
// (`mixq bench`, AMX Xeon, two rounds): PP-OCR rec force_bfloat16 5.2-6.0 ->
// 4.7-4.8 ms, rec float32 7.2-7.5 -> 6.7-6.9, MobileNetV2 QDQ 1.83-1.84 ->
// 1.58-1.65, others within noise; with a busy loop on the second core rec
// force_bfloat16 7.6-7.7 -> 8.0 and MobileNetV2 float32 unchanged.
constexpr int64_t kMinParallelElements = int64_t{1} << 16;
// Elements of a step that computes an exp per element (softmax: about 3.5
// ns each on one core here, so about 100 us): BERT-base's attention softmax
// (12 x 128 x 128) is below the memory-bound threshold but worth two threads
// (0.69 ms on one).
constexpr int64_t kMinParallelExpElements = int64_t{1} << 15;

// An elementwise pass over n elements in chunks of `chunk` (a multiple of
// the vector width the callee needs at its starts), over OpenMP threads when
// n is past kMinParallelElements: fn(begin, count). Elementwise work gives the
// same result whatever the split.
template <typename Fn>
void ForEachChunk(int64_t n, Fn fn, int64_t chunk = int64_t{1} << 14) {
  const int64_t chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (n > kMinParallelElements && chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) fn(c * chunk, std::min(chunk, n - c * chunk));
}

}  // namespace mixq::kernels
