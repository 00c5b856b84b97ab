// A chain of unary post-ops on float16 storage (hard_swish, scalar * and +,
// leaky_relu, clamps) applied to values in registers: before each op the
// value is rounded to float16 (the previous step's output), as the separate
// steps round their outputs (SPEC §5); the caller rounds the last op's
// result when it stores. HalfOutputStage runs its unary chains this way.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/hard_swish.h"

namespace mixq::ops {

struct HalfChain {
  // kAddTensor: + a same-shaped tensor (a residual addend), which the caller
  // loads and adds itself (HalfChainOp16 / 8 take only the unary kinds).
  enum Kind : uint8_t { kHardSwish, kMul, kAdd, kLeaky, kClamp, kAddTensor };
  static constexpr int kMaxOps = 8;
  int count = 0;
  Kind kind[kMaxOps] = {};
  // kMul / kAdd: the constant in lo; kLeaky: the slope in lo; kClamp:
  // min(max(v, lo), hi) in that operand order (NaN -> lo).
  float lo[kMaxOps] = {}, hi[kMaxOps] = {};
  // kAddTensor: addend + v rather than v + addend (with two NaNs, x86 keeps
  // the first operand's payload).
  bool add_first[kMaxOps] = {};
  // kMul / kAdd: the constant is a float16 value; kClamp: the bounds are
  // not NaN. Then the op on a float16 value h gives the same float16 in
  // float16 arithmetic (the constants rounded to float16) as widened to
  // float32 and rounded back: a product of two float16 values is exact in
  // float32 (22 significant bits), so one rounding remains; so is a sum
  // whose exponents differ by at most 12, and where they differ by more the
  // smaller operand is below a quarter of the larger's float16 step, so
  // neither form moves the larger value; and rounding r is monotonic with
  // r(h) = h, so r(min(h, b)) = min(h, r(b)) (max alike), NaN h giving the
  // bound in both (SetHalfExact).
  bool half_exact[kMaxOps] = {};
  void SetHalfExact(int k);  // from kind[k], lo[k], hi[k]
};

// The addends of a chain's kAddTensor ops, at the first element a call
// covers: float16 (half) or float32.
struct ChainAddends {
  const uint16_t* half[HalfChain::kMaxOps] = {};
  const float* single[HalfChain::kMaxOps] = {};
};

// One op on v, rounded to float16 first; a clamp skips that rounding: the
// caller rounds its result (the next op or the store), and rounding r is
// monotonic, so r(c(r(x))) == r(c(x)) for a clamp c (the proof is at
// HalfOutputStage::Apply). A residual add then ReLU saves one of its three
// round trips through float16 (two F16C conversions, two uops each on Intel).
__attribute__((target("avx512f,avx512vl,f16c,fma"), always_inline)) inline __m512 HalfChainOp16(__m512 v,
                                                                                                HalfChain::Kind kind,
                                                                                                __m512 lo, __m512 hi) {
  if (kind == HalfChain::kClamp) return _mm512_min_ps(_mm512_max_ps(v, lo), hi);
  v = _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  switch (kind) {
    case HalfChain::kHardSwish:
      return kernels::HardSwishOfHalf16(v);
    case HalfChain::kMul:
      return _mm512_mul_ps(v, lo);
    case HalfChain::kAdd:
      return _mm512_add_ps(v, lo);
    case HalfChain::kLeaky:
      return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), v, _mm512_mul_ps(lo, v));
    case HalfChain::kClamp:
    case HalfChain::kAddTensor:  // not here: the caller's
      break;
  }
  return _mm512_min_ps(_mm512_max_ps(v, lo), hi);
}

// The same on 8 lanes.
__attribute__((target("avx2,f16c,fma"), always_inline)) inline __m256 HalfChainOp8(__m256 v, HalfChain::Kind kind,
                                                                                   __m256 lo, __m256 hi) {
  if (kind == HalfChain::kClamp) return _mm256_min_ps(_mm256_max_ps(v, lo), hi);
  v = _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  switch (kind) {
    case HalfChain::kHardSwish:
      return kernels::HardSwishOfHalf8(v);
    case HalfChain::kMul:
      return _mm256_mul_ps(v, lo);
    case HalfChain::kAdd:
      return _mm256_add_ps(v, lo);
    case HalfChain::kLeaky:
      return _mm256_blendv_ps(v, _mm256_mul_ps(lo, v), _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ));
    case HalfChain::kClamp:
    case HalfChain::kAddTensor:  // not here: the caller's
      break;
  }
  return _mm256_min_ps(_mm256_max_ps(v, lo), hi);
}

// The chain over the whole 16-value vectors of y[0, n) with the ops whose
// operands allow it (HalfChain::half_exact, and residual adds of float16
// addends) in AVX512-FP16 arithmetic on the float16 values, the others as
// HalfChainOp16: bit for bit the float32 form. Call only where
// kernels::Float16ArithmeticPays(). Returns the elements done.
int64_t HalfChainFp16(const float* y, int64_t n, uint16_t* out, const HalfChain& chain, const ChainAddends& addends);

// Whether HalfChainFp16 runs any op of `chain` in float16 arithmetic
// (`half_addends`: which kAddTensor addends are float16).
bool ChainHasHalfArithmetic(const HalfChain& chain, const bool* half_addends);

}  // namespace mixq::ops
