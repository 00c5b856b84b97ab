// The fused post-ops of mixq's own bfloat16 kernels (avx512-bf16-dw,
// amx-bf16-pw, amx-bf16-gemm), applied in float32 to values in registers before the one
// rounding to bfloat16 that onednn-bf16 also makes (docs/precision.md,
// bfloat16 arithmetic): HalfChain's description of the ops without its
// float16 roundings between them.
#pragma once

#include <immintrin.h>

#include <limits>
#include <vector>

#include "ops/half_chain.h"
#include "ops/kernel_registry.h"

namespace mixq::ops {

#define MIXQ_BF16_CHAIN __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma"), always_inline)) inline

// `post_ops` as a chain: relu / relu6 / clip as clamps, leaky_relu,
// hard_swish, scalar * and +, and where `addend` is given a residual add
// (PostOp::Kind::kAdd, at most one: kAddTensor, its input slot in
// *addend); false where an op is none of these.
inline bool BFloat16ChainOf(const std::vector<PostOp>* post_ops, HalfChain* chain, int* addend = nullptr) {
  if (addend) *addend = -1;
  if (!post_ops) return true;
  for (const PostOp& op : *post_ops) {
    if (chain->count == HalfChain::kMaxOps) return false;
    const int i = chain->count++;
    chain->lo[i] = op.lo;
    chain->hi[i] = op.hi;
    if (op.kind == PostOp::Kind::kAdd) {
      if (!addend || *addend >= 0 || op.input < 0) return false;
      *addend = op.input;
      chain->kind[i] = HalfChain::kAddTensor;
      chain->add_first[i] = op.add_first;
    } else if (op.kind == PostOp::Kind::kScalar && (op.activation == "mul" || op.activation == "add")) {
      chain->kind[i] = op.activation == "mul" ? HalfChain::kMul : HalfChain::kAdd;
    } else if (op.kind != PostOp::Kind::kActivation) {
      return false;
    } else if (op.activation == "relu") {
      chain->kind[i] = HalfChain::kClamp;
      chain->lo[i] = 0.0f;
      chain->hi[i] = std::numeric_limits<float>::infinity();
    } else if (op.activation == "relu6" || op.activation == "clip") {
      chain->kind[i] = HalfChain::kClamp;
    } else if (op.activation == "leaky_relu") {
      chain->kind[i] = HalfChain::kLeaky;
    } else if (op.activation == "hard_swish") {
      chain->kind[i] = HalfChain::kHardSwish;
    } else {
      return false;
    }
  }
  return true;
}

// The chain on N registers, each op's constants broadcast once; with
// kAddend, kAddTensor adds addend[u] to v[u] (N vectors the caller loaded).
template <int N, bool kAddend = false>
MIXQ_BF16_CHAIN void ApplyBFloat16Chain(__m512* v, const HalfChain& c, const __m512* addend = nullptr) {
  for (int i = 0; i < c.count; ++i) {
    const __m512 lo = _mm512_set1_ps(c.lo[i]);
    switch (c.kind[i]) {
      case HalfChain::kClamp: {  // NaN -> lo: max returns its second operand (as mixq's clamps, ops/clamp.h)
        // relu: no upper bound (min with +inf after that max changes nothing).
        if (c.hi[i] == std::numeric_limits<float>::infinity()) {
          for (int u = 0; u < N; ++u) v[u] = _mm512_max_ps(v[u], lo);
          break;
        }
        const __m512 hi = _mm512_set1_ps(c.hi[i]);
        for (int u = 0; u < N; ++u) v[u] = _mm512_min_ps(_mm512_max_ps(v[u], lo), hi);
        break;
      }
      case HalfChain::kLeaky:
        for (int u = 0; u < N; ++u)
          v[u] = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v[u], _mm512_setzero_ps(), _CMP_LT_OQ), v[u],
                                      _mm512_mul_ps(lo, v[u]));
        break;
      case HalfChain::kHardSwish: {
        const __m512 sixth = _mm512_set1_ps(1.0f / 6.0f), half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
        for (int u = 0; u < N; ++u) {
          const __m512 t = _mm512_add_ps(_mm512_mul_ps(v[u], sixth), half);
          v[u] = _mm512_mul_ps(v[u], _mm512_min_ps(_mm512_max_ps(t, _mm512_setzero_ps()), one));
        }
        break;
      }
      case HalfChain::kMul:
        for (int u = 0; u < N; ++u) v[u] = _mm512_mul_ps(v[u], lo);
        break;
      case HalfChain::kAdd:
        for (int u = 0; u < N; ++u) v[u] = _mm512_add_ps(v[u], lo);
        break;
      case HalfChain::kAddTensor:
        if constexpr (kAddend)
          for (int u = 0; u < N; ++u)
            v[u] = c.add_first[i] ? _mm512_add_ps(addend[u], v[u]) : _mm512_add_ps(v[u], addend[u]);
        break;
    }
  }
}

#undef MIXQ_BF16_CHAIN

}  // namespace mixq::ops
