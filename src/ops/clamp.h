// The clamp of relu, relu6 and clip, one definition for every kernel:
// max(x, lo) then min(., hi) in the operand order of x86's maxps / minps
// (IEEE 754-2008 maxNum / minNum for a NaN x). So NaN becomes the lower
// bound (relu: 0, relu6: 0, clip: min, -inf when unset) and -0.0 becomes
// +0.0 under relu, in the reference, in mixq's own kernels and in oneDNN's
// fused eltwise post-ops alike (docs/reliability.md, NaN and inf policy).
#pragma once

namespace mixq::ops {

template <typename T>
inline T ClampActivation(T x, T lo, T hi) {
  const T t = x > lo ? x : lo;  // maxps(x, lo): lo when x is NaN or equal
  return t < hi ? t : hi;       // minps(t, hi)
}

}  // namespace mixq::ops
