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

}  // namespace mixq::kernels
