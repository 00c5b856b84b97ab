// HalfChainFp16: the float16 post-op chain (ops/half_chain.h) with its
// multiplies, adds and clamps in AVX512-FP16 arithmetic on the float16
// values. The float32 form pays an F16C round trip (vcvtps2ph + vcvtph2ps,
// two uops each on Intel's FMA ports) before every op; PP-OCR's hard_swish,
// * scale, + bias after each convolution spent more uops on those than on
// the convolution's own multiply-adds (its 5 x 5 depthwise layers: the
// chain 38 % of the step). Here a value stays float16 from the first
// rounding it needs on, one uop per op for 16 values, and is widened only
// for an op that computes in float32 (hard_swish, leaky_relu, an op whose
// constant is not a float16 value).
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "ops/half_chain.h"
#include "util/half.h"

// GCC 12 warns inside its own AVX-512 headers (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace mixq::ops {

namespace {

bool IsHalfValue(float v) {
  if (std::isnan(v)) return false;
  const float back = HalfToFloat(FloatToHalf(v));
  return std::memcmp(&back, &v, sizeof(v)) == 0;
}

#define MIXQ_FP16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512fp16,f16c,fma")))

// Float16 vectors are held as __m256i and their arithmetic written as asm:
// GCC 12 has the AVX512-FP16 intrinsics, Clang 14 (the fuzz build) only
// with -mavx512fp16 for the whole file, which would let AVX-512 code into
// this file's copies of inline functions from shared headers.
MIXQ_FP16 inline __m256i RoundToHalf16(__m512 f) {
  return _mm512_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
MIXQ_FP16 inline __m512 Widen16(__m256i h) {
  return _mm512_cvtph_ps(h);
}
MIXQ_FP16 inline __m256i Broadcast16(float v) {
  return _mm256_set1_epi16(static_cast<short>(FloatToHalf(v)));
}
// x op y with x the instruction's first source: with two NaNs x86 keeps
// its payload (as the Add step's operand order asks; GCC's _mm256_add_ph,
// a commutative vector +, may swap them), and max / min return y when
// either is NaN (as _mm512_max_ps(x, y) does).
#define MIXQ_FP16_OP(NAME, INSN)                            \
  MIXQ_FP16 inline __m256i NAME(__m256i x, __m256i y) {     \
    __m256i r;                                              \
    __asm__(INSN " %2, %1, %0" : "=v"(r) : "v"(x), "v"(y)); \
    return r;                                               \
  }
MIXQ_FP16_OP(MulHalf, "vmulph")
MIXQ_FP16_OP(AddHalf, "vaddph")
MIXQ_FP16_OP(MaxHalf, "vmaxph")
MIXQ_FP16_OP(MinHalf, "vminph")
#undef MIXQ_FP16_OP

// kVectors vectors of 16 values, each either float16 (h, `half`) or float32
// not yet rounded (f); all of them in the same form after every op.
template <int kVectors>
struct Values {
  __m512 f[kVectors];
  __m256i h[kVectors];  // float16 bits
  bool half = false;
};

// The float16 rounding of every vector, as float16.
template <int kVectors>
MIXQ_FP16 inline void ToHalf(Values<kVectors>* v) {
  if (v->half) return;
  for (int u = 0; u < kVectors; ++u) v->h[u] = RoundToHalf16(v->f[u]);
  v->half = true;
}
// The float16 rounding of every vector, widened to float32 (an op's input
// where the op computes in float32).
template <int kVectors>
MIXQ_FP16 inline void RoundedFloat(Values<kVectors>* v) {
  for (int u = 0; u < kVectors; ++u) v->f[u] = Widen16(v->half ? v->h[u] : RoundToHalf16(v->f[u]));
  v->half = false;
}

struct Constants {
  __m512 lo[HalfChain::kMaxOps], hi[HalfChain::kMaxOps];
  __m256i lo16[HalfChain::kMaxOps], hi16[HalfChain::kMaxOps];
};

template <int kVectors>
MIXQ_FP16 inline void RunOps(Values<kVectors>* v, const HalfChain& chain, const Constants& c,
                             const ChainAddends& addends, int64_t at) {
  for (int k = 0; k < chain.count; ++k) {
    const bool exact = chain.half_exact[k];
    switch (chain.kind[k]) {
      case HalfChain::kMul:
      case HalfChain::kAdd: {
        const bool mul = chain.kind[k] == HalfChain::kMul;
        if (exact) {
          ToHalf(v);
          for (int u = 0; u < kVectors; ++u) v->h[u] = mul ? MulHalf(v->h[u], c.lo16[k]) : AddHalf(v->h[u], c.lo16[k]);
        } else {
          RoundedFloat(v);
          for (int u = 0; u < kVectors; ++u)
            v->f[u] = mul ? _mm512_mul_ps(v->f[u], c.lo[k]) : _mm512_add_ps(v->f[u], c.lo[k]);
        }
        break;
      }
      case HalfChain::kClamp:
        // No rounding first (HalfChainOp16 says why): a float16 value
        // clamped to the rounded bounds stays float16 (HalfChain::half_exact
        // says why); a float32 one is clamped as it is.
        if (v->half && exact) {
          for (int u = 0; u < kVectors; ++u) v->h[u] = MinHalf(MaxHalf(v->h[u], c.lo16[k]), c.hi16[k]);
        } else {
          for (int u = 0; u < kVectors; ++u) {
            const __m512 x = v->half ? Widen16(v->h[u]) : v->f[u];
            v->f[u] = _mm512_min_ps(_mm512_max_ps(x, c.lo[k]), c.hi[k]);
          }
          v->half = false;
        }
        break;
      case HalfChain::kAddTensor:
        if (addends.half[k]) {
          ToHalf(v);
          for (int u = 0; u < kVectors; ++u) {
            const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(addends.half[k] + at + 16 * u));
            v->h[u] = chain.add_first[k] ? AddHalf(a, v->h[u]) : AddHalf(v->h[u], a);
          }
        } else {
          RoundedFloat(v);
          for (int u = 0; u < kVectors; ++u) {
            const __m512 a = _mm512_loadu_ps(addends.single[k] + at + 16 * u);
            v->f[u] = chain.add_first[k] ? _mm512_add_ps(a, v->f[u]) : _mm512_add_ps(v->f[u], a);
          }
        }
        break;
      case HalfChain::kHardSwish:  // HalfChainOp16's, on the rounded values
        RoundedFloat(v);
        for (int u = 0; u < kVectors; ++u) v->f[u] = kernels::HardSwishOfHalf16(v->f[u]);
        break;
      case HalfChain::kLeaky:
        RoundedFloat(v);
        for (int u = 0; u < kVectors; ++u)
          v->f[u] = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v->f[u], _mm512_setzero_ps(), _CMP_LT_OQ), v->f[u],
                                         _mm512_mul_ps(c.lo[k], v->f[u]));
        break;
    }
  }
}

template <int kVectors>
MIXQ_FP16 inline void Store(const Values<kVectors>& v, uint16_t* out) {
  for (int u = 0; u < kVectors; ++u) {
    const __m256i bits = v.half ? v.h[u] : _mm512_cvtps_ph(v.f[u], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 16 * u), bits);
  }
}

}  // namespace

void HalfChain::SetHalfExact(int k) {
  switch (kind[k]) {
    case kMul:
    case kAdd:
      half_exact[k] = IsHalfValue(lo[k]);
      break;
    case kClamp:
      half_exact[k] = !std::isnan(lo[k]) && !std::isnan(hi[k]);
      break;
    default:
      half_exact[k] = false;
  }
}

bool ChainHasHalfArithmetic(const HalfChain& chain, const bool* half_addends) {
  for (int k = 0; k < chain.count; ++k) {
    const bool mul_or_add = chain.kind[k] == HalfChain::kMul || chain.kind[k] == HalfChain::kAdd;
    if ((mul_or_add && chain.half_exact[k]) || (chain.kind[k] == HalfChain::kAddTensor && half_addends[k])) return true;
  }
  return false;
}

MIXQ_FP16 int64_t HalfChainFp16(const float* y, int64_t n, uint16_t* out, const HalfChain& chain,
                                const ChainAddends& addends) {
  Constants c;
  for (int k = 0; k < chain.count; ++k) {
    c.lo[k] = _mm512_set1_ps(chain.lo[k]);
    c.hi[k] = _mm512_set1_ps(chain.hi[k]);
    c.lo16[k] = Broadcast16(chain.half_exact[k] ? chain.lo[k] : 0.0f);
    c.hi16[k] = Broadcast16(chain.half_exact[k] ? chain.hi[k] : 0.0f);
  }
  // Four vectors in flight, as Chain512: each one's ops are serial.
  constexpr int kVectors = 4;
  int64_t i = 0;
  for (; i + 16 * kVectors <= n; i += 16 * kVectors) {
    Values<kVectors> v;
    for (int u = 0; u < kVectors; ++u) v.f[u] = _mm512_loadu_ps(y + i + 16 * u);
    RunOps(&v, chain, c, addends, i);
    Store(v, out + i);
  }
  for (; i + 16 <= n; i += 16) {
    Values<1> v;
    v.f[0] = _mm512_loadu_ps(y + i);
    RunOps(&v, chain, c, addends, i);
    Store(v, out + i);
  }
  return i;
}

#undef MIXQ_FP16

}  // namespace mixq::ops

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
