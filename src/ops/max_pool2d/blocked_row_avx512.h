// One output row of MaxPool2D over one nChw16c channel block of FLOAT32 or
// FLOAT16 storage, 16 channels per zmm (cpu_avx2.cc's "avx2" / "avx2-f16"
// kernel calls it for nChw16c tensors where the CPU has AVX-512).
//
// Why: the AVX2 row combined each pixel's taps one pixel at a time through
// a tap list, a serial chain of compare-and-blend per 8 channels: ResNet-50
// float32's 3 x 3 stride-2 pool to 64 x 56 x 56 took 0.40 ms at 1 thread on
// an Intel Xeon, ONNX Runtime's 0.18.
//
// How: windows wholly inside the row's columns run four output pixels at a
// time, four independent chains of vmaxps over the taps at fixed offsets;
// vmaxps(v, best) is the reference's combination (v replaces best only
// where v > best, ties keep the first) except where v is NaN, so any NaN in
// a tap sends those four pixels through the exact combination (the first
// NaN of a window kept) instead. Border pixels take that exact path too.
// Float16 values are widened exactly and the maximum, one of them, stored
// back. Bit-exact with the reference (float16: with the Cast path).
#pragma once

#include <cstdint>

#include "ops/pool_params.h"

namespace mixq::ops {

// Output row `oh` of the block image `image` ([in_h][in_w][16]) into
// `dst` ([out_w][16]). Needs AVX-512 F.
void MaxPoolRowBlocked16Avx512(const PoolGeometry& g, const float* image, int64_t oh, float* dst);
void MaxPoolRowBlocked16Avx512(const PoolGeometry& g, const uint16_t* image, int64_t oh, uint16_t* dst);

}  // namespace mixq::ops
