// One softmax row of the AVX2 float32 kernel (ops/softmax/cpu_avx2.cc),
// shared with the float16 / bfloat16 storage kernel, which runs it on rows
// widened in its own buffer: the same float32 values, so the same bits as
// the float32 kernel between Cast steps.
#pragma once

#include <cstdint>

namespace mixq::ops {

// y = softmax(x) over n values (see cpu_avx2.cc); y may be x. Needs AVX2 + FMA.
void SoftmaxRowAvx2(const float* x, float* y, int64_t n);

// The same on AVX-512 (F, BW, VL), within the same tolerance but not the
// same bits (softmax_row_avx512.cc).
void SoftmaxRowAvx512(const float* x, float* y, int64_t n);

// SoftmaxRowAvx512's float32 values from a row stored as float32 or, where
// `x_narrow`, 16-bit (bfloat16 where `bfloat16`, else float16), written as
// float32 or rounded to that 16-bit type (`y_narrow`): the bits of widening,
// the float32 row, and rounding. `buffer` holds n floats (used when y is
// narrow).
void SoftmaxRowNarrowAvx512(const void* x, bool x_narrow, void* y, bool y_narrow, bool bfloat16, float* buffer,
                            int64_t n);

using SoftmaxRowFn = void (*)(const float* x, float* y, int64_t n);

}  // namespace mixq::ops
