// float32 <-> float16 rows with F16C, for kernels that keep float16 storage
// and compute in float32 (SPEC §5: values rounded to float16 at operator
// boundaries). Rounding is to nearest even with NaN quieted, bit-identical
// with util/half.h's scalar FloatToHalf / HalfToFloat, which the tails use.
// The functions carry AVX2 + F16C target attributes: call them only where
// kernels::BestIsa() is at least kAvx2 (which implies F16C).
#pragma once

#include <cstdint>

namespace mixq::kernels {

// y[i] = x[i] widened (exact).
void HalfToFloatRow(const uint16_t* x, float* y, int64_t n);
// y[i] = x[i] rounded to float16.
void FloatToHalfRow(const float* x, uint16_t* y, int64_t n);
// The same over large rows, split over OpenMP threads above
// kMinParallelElements (kernels/parallel.h).
void HalfToFloatParallel(const uint16_t* x, float* y, int64_t n);
void FloatToHalfParallel(const float* x, uint16_t* y, int64_t n);

// bfloat16 (the top half of a float32): widening is a shift (exact);
// narrowing rounds to nearest even with NaN quieted, bit-identical with
// util/half.h's FloatToBFloat16 / BFloat16ToFloat. AVX2 integer arithmetic
// (no AVX512_BF16 needed), so the same call on every AVX2 CPU.
void BFloat16ToFloatRow(const uint16_t* x, float* y, int64_t n);
void FloatToBFloat16Row(const float* x, uint16_t* y, int64_t n);
void BFloat16ToFloatParallel(const uint16_t* x, float* y, int64_t n);
void FloatToBFloat16Parallel(const float* x, uint16_t* y, int64_t n);

// oneDNN's 8-channel blocked layout (nChw8c) for one image of `channels`
// planes of `spatial` elements: y[((c / 8) * spatial + s) * 8 + c % 8].
// The padding channels of the last block are written as zeros (oneDNN
// requires them).
void HalfPlanesToBlocked8(const uint16_t* x, float* y, int64_t channels, int64_t spatial);

// Walks a blocked (nChw8c) float32 image back as plain channel rows: calls
// row(values, n, c, s) with n <= kBlockedRow consecutive elements of channel
// c from spatial position s (values in a buffer that stays in L1). Blocks of
// 8 channels split over OpenMP threads when the image is large, so `row`
// must be safe to call concurrently for different (c, s).
constexpr int64_t kBlockedRow = 512;
using BlockedRowFn = void (*)(void* context, const float* values, int64_t n, int64_t c, int64_t s);
void ForEachBlocked8Row(const float* y, int64_t channels, int64_t spatial, BlockedRowFn row, void* context);

}  // namespace mixq::kernels
