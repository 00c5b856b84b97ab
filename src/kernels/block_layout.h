// Float32 activations between the plain NCHW layout and oneDNN's blocked
// nChw8c / nChw16c, for the tensors the plan keeps plain next to a
// convolution that runs blocked (MobileNetV2's 24-channel tensors on an
// AVX-512 CPU, which no whole 16-channel block holds).
//
// Also NCHW to and from NHWC, which oneDNN's 1 x 1 kernels pick for plain
// tensors (PP-OCRv4 det's neck).
//
// Why not oneDNN's reorder: on those tensors (24 x 56 x 56) its `jit:uni`
// reorder took 0.034 ms each at 1 thread and 0.041 at 2, five per
// MobileNetV2 inference; on det's 96 x 80 x 80 NCHW -> NHWC 0.11-0.17 ms at
// 2 threads (round 2 stop 46). These are 8 x 8 transposes split over
// threads by blocks and runs of pixels.
#pragma once

#include <cstdint>

namespace mixq::kernels {

// One image of `channels` planes of `spatial` floats (x) into the blocked
// layout of `block` channels: y[((c / block) * spatial + s) * block + c %
// block]. `block`: a multiple of 8; 8 or 16 for nChw8c / nChw16c, or
// `channels` itself for NHWC. The padding channels of the last block are
// written as zeros (oneDNN reads them).
void PlanesToBlocked(const float* x, float* y, int64_t channels, int64_t spatial, int64_t block);

// The inverse: the real channels of a blocked image (y) back as planes (x).
void BlockedToPlanes(const float* y, float* x, int64_t channels, int64_t spatial, int64_t block);

// 16-bit values (bfloat16 or float16 bits) of one image, NCHW planes to NHWC
// (y[s * channels + c] = x[c * spatial + s]) and back; any channel count
// (8 x 8 transposes, the last channels and pixels one by one).
void PlanesToChannelsLast16(const uint16_t* x, uint16_t* y, int64_t channels, int64_t spatial);
void ChannelsLastToPlanes16(const uint16_t* y, uint16_t* x, int64_t channels, int64_t spatial);

}  // namespace mixq::kernels
