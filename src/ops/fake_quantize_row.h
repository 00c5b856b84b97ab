// FakeQuantize over a row of float32 values, vectorized for AVX2 and
// bit-exact with the reference (quant::Dequantize(quant::Quantize(x))): y = s
// * (clamp(rint(x / s) + z, n, p) - z) with the reference's float32
// operations (the division, round half to even, the clamp, NaN -> z, the
// product rounded once) saturated to +-FLT_MAX. Shared by the FakeQuantize
// kernel and the Elementwise steps that fuse one (PostOp::kFakeQuantize).
// Needs AVX2; `scale` > 0 and finite. x == y is allowed.
#pragma once

#include <cstdint>

namespace mixq::ops {

void FakeQuantizeRowAvx2(const float* x, float* y, int64_t n, float scale, int32_t zero_point, int bits);

}  // namespace mixq::ops
