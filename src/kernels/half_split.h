// Float16 values as exact sums of two bfloat16 values, laid out as AMX-BF16
// A tiles, so that bfloat16 tile products compute a float16-storage
// convolution in float32 (ops/conv2d/cpu_amx_f16_pw.cc).
//
// Why exact: a float16 value x has 11 significant bits; hi = x rounded to
// bfloat16 (8 bits, nearest even) and lo = x - hi (at most 3 significant
// bits, an exact float32 difference) are both bfloat16 values, and x = hi +
// lo. bfloat16 has float32's exponent range, so float16's subnormals split
// exactly too. Infinities: hi = x, lo = 0 (not inf - inf); NaN stays NaN.
//
// The pairs form: an A row of (xh, xh) for each channel against a B column
// of (wh, wl) pairs (TDPBF16PS multiplies element 2k by 2k and 2k + 1 by
// 2k + 1) gives xh * wh + xh * wl, and the (xl, xl) row xl * wh + xl * wl:
// their sum is x * w as four exact products, accumulated in float32. An
// infinite x goes in as the pairs (x, 0) and (0, 0): x * wh, an infinity of
// w's sign (NaN where w is 0), as x * w; (x, x) would add x * wl, NaN where
// wl is 0. (Infinite filter values are the caller's to decline.)
#pragma once

#include <cstdint>

namespace mixq::kernels {

// Output pixels [p0, p0 + rows) (rows 1-32) of a 1 x 1 convolution with
// strides stride_h x stride_w over a float16 nChw16c image (channels a
// multiple of 16, height x width; out_w output pixels a row): output pixel
// p reads input pixel (p / out_w * stride_h, p % out_w * stride_w). Writes,
// for each block b of 16 channels, 2048 bfloat16 values at out + b * 2048:
// 32 rows of 32 (hi pairs: (xh, xh) per channel, (x, 0) for an infinite
// x), then 32 rows of lo pairs;
// rows past `rows` zero. Needs AVX512-BF16.
void SplitHalfPixelsToPairTiles(const uint16_t* x, int64_t channels, int64_t height, int64_t width, int64_t stride_h,
                                int64_t stride_w, int64_t out_w, int64_t p0, int64_t rows, uint16_t* out);

// Rows [r0, r0 + rows) (rows 1-32) of a row-major float16 matrix (k values
// a row, rows lda values apart) in the same tile layout, a chunk of 16
// values of K where SplitHalfPixelsToPairTiles has a block of 16 channels:
// out + c * 2048 for chunk c (ceil(k / 16) of them, zero past k); rows past
// `rows` zero. Needs AVX512-BF16.
void SplitHalfRowsToPairTiles(const uint16_t* a, int64_t lda, int64_t k, int64_t r0, int64_t rows, uint16_t* out);

// `n` consecutive pixels of one 16-channel block of a float16 nChw16c image
// (x: the first pixel's 16 values) as n rows of 32 hi values at `hi` and n
// of lo values at `lo` (both 64-byte aligned), the pairs form above.
void SplitHalfRunToPairs(const uint16_t* x, int64_t n, uint16_t* hi, uint16_t* lo);

// The same from float32 values that are float16 ones (a widened copy).
void SplitFloatRunToPairs(const float* x, int64_t n, uint16_t* hi, uint16_t* lo);

// The split of one float16 value (its bits) as float32 holding bfloat16
// values: what SplitHalfPixelsToPairTiles writes, in scalar form (tests,
// the filter's packing).
void SplitHalfValue(uint16_t half, float* hi, float* lo);

}  // namespace mixq::kernels
