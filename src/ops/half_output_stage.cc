#include "ops/half_output_stage.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "kernels/cpu_features.h"
#include "kernels/hard_swish.h"
#include "ops/activation/smooth_loop.h"
#include "ops/clamp.h"
#include "ops/half_storage.h"
#include "ops/quantized_reference.h"
#include "util/half.h"

namespace mixq::ops {

bool HalfOutputStage::Supports(const KernelInit& init) {
  if (!init.post_ops) return true;
  for (const PostOp& op : *init.post_ops) {
    if (op.kind == PostOp::Kind::kActivation) {
      if (op.activation != "relu" && op.activation != "relu6" && op.activation != "clip" &&
          op.activation != "leaky_relu" && op.activation != "hard_swish" &&
          !(SmoothLoopFor(op.activation) && kernels::DetectedCpuFeatures().fma))
        return false;
      continue;
    }
    if (op.kind == PostOp::Kind::kScalar) {
      if (op.activation != "mul" && op.activation != "add") return false;
      continue;
    }
    if (op.kind != PostOp::Kind::kAdd) return false;
    if (op.input < 0 || static_cast<size_t>(op.input) >= init.inputs.size() || !init.inputs[op.input]) return false;
    const ValueInfo& addend = *init.inputs[static_cast<size_t>(op.input)];
    if (addend.shape != init.outputs[0].shape || !(addend.dtype == DataType::FLOAT32 || IsHalfStorage(addend)))
      return false;
  }
  return true;
}

HalfOutputStage::HalfOutputStage(const KernelInit& init, kernels::Isa isa) {
  out_half_ = IsHalfStorage(init.outputs[0]);
  avx512_ = isa >= kernels::Isa::kAvx512 && kernels::BestIsa() >= kernels::Isa::kAvx512;
  if (!init.post_ops) return;
  for (const PostOp& p : *init.post_ops) {
    Op op;
    if (p.kind == PostOp::Kind::kAdd) {
      op.add = true;
      op.input = p.input;
      op.input_half = IsHalfStorage(*init.inputs[static_cast<size_t>(p.input)]);
      op.add_first = p.add_first;
    } else if (p.kind == PostOp::Kind::kScalar) {
      op.scalar_mul = p.activation == "mul";
      op.scalar_add = !op.scalar_mul;
      op.lo = p.lo;
    } else if (p.activation == "hard_swish") {
      op.hard_swish = true;
    } else if (SmoothLoopFn smooth = SmoothLoopFor(p.activation)) {
      op.smooth = smooth;
    } else if (p.activation == "leaky_relu") {
      op.leaky = true;
      op.lo = p.lo;
    } else {
      op.lo = p.lo;
      op.hi = p.activation == "relu" ? std::numeric_limits<float>::infinity() : p.hi;
    }
    ops_.push_back(op);
  }
  rounding_commutes_ = out_half_ && std::all_of(ops_.begin(), ops_.end(), [](const Op& op) { return op.IsClamp(); });
  // ApplyBiased's register form of such a stage: the clamps, then the store's rounding.
  if (rounding_commutes_ && ops_.size() <= static_cast<size_t>(HalfChain::kMaxOps))
    for (const Op& op : ops_) {
      const int k = clamp_chain_.count++;
      clamp_chain_.kind[k] = HalfChain::kClamp;
      clamp_chain_.lo[k] = op.lo;
      clamp_chain_.hi[k] = op.hi;
    }
  // The table costs 128 KiB and a pass over 65536 values: outputs of at
  // least that many elements, where it replaces 2-4 passes per element
  // (PP-OCR's hard_swish, * scale, + bias after every convolution), on CPUs
  // with fast gathers (kernels::GatherTablesPay; on an AMD Zen 4 the passes
  // ran PP-OCR det force_float16's convolutions in 16.4 ms against 17.0).
  const bool unary = std::none_of(ops_.begin(), ops_.end(), [](const Op& op) { return op.add; });
  // The smooth functions run as passes of the float32 kernel's own loop.
  const bool smooth = std::any_of(ops_.begin(), ops_.end(), [](const Op& op) { return op.smooth != nullptr; });
  chained_ = out_half_ && !rounding_commutes_ && !smooth && !ops_.empty() &&
             ops_.size() <= static_cast<size_t>(HalfChain::kMaxOps);
  if (chained_)
    for (const Op& op : ops_) {
      const int k = chain_.count++;
      chain_.kind[k] = op.add          ? HalfChain::kAddTensor
                       : op.hard_swish ? HalfChain::kHardSwish
                       : op.scalar_mul ? HalfChain::kMul
                       : op.scalar_add ? HalfChain::kAdd
                       : op.leaky      ? HalfChain::kLeaky
                                       : HalfChain::kClamp;
      chain_.lo[k] = op.lo;
      chain_.hi[k] = op.hi;
      chain_.add_first[k] = op.add_first;
      chain_.SetHalfExact(k);
    }
  if (chained_ && avx512_ && kernels::Float16ArithmeticPays()) {
    bool half_addends[HalfChain::kMaxOps] = {};
    for (size_t k = 0; k < ops_.size(); ++k) half_addends[k] = ops_[k].add && ops_[k].input_half;
    fp16_chain_ = ChainHasHalfArithmetic(chain_, half_addends);
  }
  // A chain the 16-lane registers run (Chain512) beats the table's gathers
  // even where they are fast: on an Intel Xeon (AMX) without the table
  // PP-OCRv4 det force_float16 ran 0.97x / 0.96x the time (1 / 2 threads,
  // sums of step minima), rec 0.98x / 0.99x (its hard_swish, * scale,
  // + bias after each convolution). The table stays for 8-lane chains and
  // for the smooth functions, which run as passes.
  constexpr int64_t kEntries = int64_t{1} << 16;
  if (out_half_ && !rounding_commutes_ && unary && !ops_.empty() && !(chained_ && avx512_) &&
      ir::ElementCount(init.outputs[0].shape) >= kEntries && kernels::BestIsa() >= kernels::Isa::kAvx2 &&
      kernels::GatherTablesPay()) {
    std::vector<float> every(kEntries);
    for (int64_t h = 0; h < kEntries; ++h) every[static_cast<size_t>(h)] = HalfToFloat(static_cast<uint16_t>(h));
    std::vector<uint16_t> table(kEntries + 2, 0);
    const TensorView view{DataType::FLOAT16, {kEntries}, table.data(), nullptr};
    Apply(every.data(), kEntries, 0, {}, view);  // table_ still empty: the passes below
    table_ = std::move(table);
  }
}

namespace {

#define MIXQ_F16C __attribute__((target("avx2,f16c,fma")))

MIXQ_F16C inline __m256 Round8(__m256 v) {
  return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

// The reference's hard_swish (ops/activation/op.cc), bit for bit.
MIXQ_F16C inline __m256 HardSwish8(__m256 x) {
  return kernels::HardSwishExact8(x);
}

inline float HardSwish1(float x) {
  const double v = x, t = v / 6.0 + 0.5;
  return static_cast<float>(v * (t < 0 ? 0.0 : t > 1 ? 1.0 : t));
}

// One post-op over m values (a multiple of 8): dst[j] = op(round(src[j]))
// where `round` (the previous step's float16 output) is asked for.
MIXQ_F16C inline __m256 Load8(const float* src, int64_t j, bool round) {
  const __m256 v = _mm256_loadu_ps(src + j);
  return round ? Round8(v) : v;
}

// A smooth function (ops/activation/smooth_loop.h) over m values, its input
// rounded to float16 first where asked.
MIXQ_F16C void SmoothPass(SmoothLoopFn smooth, const float* src, float* dst, int64_t m, bool round) {
  if (round) {
    for (int64_t j = 0; j < m; j += 8) _mm256_store_ps(dst + j, Round8(_mm256_loadu_ps(src + j)));
    src = dst;
  }
  smooth(src, dst, m);
}

MIXQ_F16C void AddPass(const float* src, const float* add32, const uint16_t* add16, float* dst, int64_t m, bool round,
                       bool add_first) {
  for (int64_t j = 0; j < m; j += 8) {
    const __m256 v = Load8(src, j, round);
    const __m256 a = add16 ? _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(add16 + j)))
                           : _mm256_loadu_ps(add32 + j);
    _mm256_store_ps(dst + j, add_first ? _mm256_add_ps(a, v) : _mm256_add_ps(v, a));
  }
}

// With `round` the input is a float16 value and the result is rounded to
// float16 next (each pass rounds its input, the store its output), so
// kernels::HardSwishOfHalf8's four float32 operations give the same float16
// as the exact double form.
MIXQ_F16C void HardSwishPass(const float* src, float* dst, int64_t m, bool round) {
  if (round)
    for (int64_t j = 0; j < m; j += 8)
      _mm256_store_ps(dst + j, kernels::HardSwishOfHalf8(Round8(_mm256_loadu_ps(src + j))));
  else
    for (int64_t j = 0; j < m; j += 8) _mm256_store_ps(dst + j, HardSwish8(_mm256_loadu_ps(src + j)));
}

// The 16-lane form of HardSwishPass (kernels::HardSwishExact16: the same
// bits), where hard_swish's double arithmetic is most of the stage's time.
// (GCC 12 warns inside its own AVX-512 headers, GCC bug 105593: their
// unmasked forms pass an "undefined" vector as the unused merge source.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#define MIXQ_AVX512_F16C __attribute__((target("avx512f,avx512vl,f16c,fma"), noinline))
MIXQ_AVX512_F16C void HardSwishPass512(const float* src, float* dst, int64_t m, bool round) {
  int64_t j = 0;
  if (round)  // HardSwishPass's float16 form
    for (; j + 16 <= m; j += 16) {
      const __m512 v =
          _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_loadu_ps(src + j), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      _mm512_store_ps(dst + j, kernels::HardSwishOfHalf16(v));
    }
  else
    for (; j + 16 <= m; j += 16) _mm512_store_ps(dst + j, kernels::HardSwishExact16(_mm512_loadu_ps(src + j)));
  if (j < m) HardSwishPass(src + j, dst + j, m - j, round);
}
// A unary chain on float16 storage with each vector in registers: per op the
// value rounded to float16 (the previous step's output), then the op, as
// the passes below compute it, bit for bit; the store rounds the last. No
// loads and stores between the ops, 16 lanes: PP-OCR's hard_swish, * scale,
// + bias after each convolution ran in passes at about a third of the
// convolution's time (det force_float16, AMD Zen 4). Returns the elements done.
__attribute__((target("avx512f,avx512vl,f16c,fma"), always_inline)) inline void StoreHalf16(uint16_t* out, __m512 v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                      _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

__attribute__((target("avx512f,avx512vl,f16c,fma"), always_inline)) inline __m512 AddTensor16(
    __m512 v, const HalfChain& chain, const ChainAddends& addends, int k, int64_t at) {
  v = _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  const __m512 a = addends.half[k]
                       ? _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(addends.half[k] + at)))
                       : _mm512_loadu_ps(addends.single[k] + at);
  return chain.add_first[k] ? _mm512_add_ps(a, v) : _mm512_add_ps(v, a);
}

MIXQ_AVX512_F16C int64_t Chain512(const float* y, int64_t n, uint16_t* out, const HalfChain& chain,
                                  const ChainAddends& addends) {
  // The ops' constants broadcast once.
  __m512 lo[HalfChain::kMaxOps], hi[HalfChain::kMaxOps];
  for (int k = 0; k < chain.count; ++k) {
    lo[k] = _mm512_set1_ps(chain.lo[k]);
    hi[k] = _mm512_set1_ps(chain.hi[k]);
  }
  // Four vectors at a time: each one's chain of conversions and operations
  // is serial (about 30 cycles of latency), four in flight fill the pipes.
  constexpr int kLanes = 16, kVectors = 4;
  int64_t i = 0;
  for (; i + kLanes * kVectors <= n; i += kLanes * kVectors) {
    __m512 v[kVectors];
    for (int u = 0; u < kVectors; ++u) v[u] = _mm512_loadu_ps(y + i + u * kLanes);
    for (int k = 0; k < chain.count; ++k)
      if (chain.kind[k] == HalfChain::kAddTensor)
        for (int u = 0; u < kVectors; ++u) v[u] = AddTensor16(v[u], chain, addends, k, i + u * kLanes);
      else
        for (int u = 0; u < kVectors; ++u) v[u] = HalfChainOp16(v[u], chain.kind[k], lo[k], hi[k]);
    for (int u = 0; u < kVectors; ++u) StoreHalf16(out + i + u * kLanes, v[u]);
  }
  for (; i + kLanes <= n; i += kLanes) {
    __m512 v = _mm512_loadu_ps(y + i);
    for (int k = 0; k < chain.count; ++k)
      v = chain.kind[k] == HalfChain::kAddTensor ? AddTensor16(v, chain, addends, k, i)
                                                 : HalfChainOp16(v, chain.kind[k], lo[k], hi[k]);
    StoreHalf16(out + i, v);
  }
  return i;
}

// What ApplyBiased does before the stage's own work, and which of the two
// register forms that work takes (a table, or a chain with its addends).
struct BiasedEnd {
  const float* bias = nullptr;
  const float* column_bias = nullptr;
  bool column_bias_first = false;
  const int* table = nullptr;
  const HalfChain* chain = nullptr;
  const ChainAddends* addends = nullptr;
};

// ApplyBiased's 16-lane loop over whole vectors: the biases as the separate
// passes add them, then the table lookup or the chain, one store. Returns
// the elements done.
MIXQ_AVX512_F16C int64_t BiasedEnd512(const float* y, int64_t n, const BiasedEnd& e, uint16_t* out) {
  __m512 lo[HalfChain::kMaxOps], hi[HalfChain::kMaxOps];
  const int ops = e.chain ? e.chain->count : 0;
  for (int k = 0; k < ops; ++k) {
    lo[k] = _mm512_set1_ps(e.chain->lo[k]);
    hi[k] = _mm512_set1_ps(e.chain->hi[k]);
  }
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_loadu_ps(y + i);
    if (e.bias) v = _mm512_add_ps(v, _mm512_loadu_ps(e.bias + i));
    if (e.column_bias) {
      v = _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      const __m512 c = _mm512_loadu_ps(e.column_bias + i);
      v = e.column_bias_first ? _mm512_add_ps(c, v) : _mm512_add_ps(v, c);
    }
    if (e.table) {
      const __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m512i got = _mm512_i32gather_epi32(_mm512_cvtepu16_epi32(h), e.table, 2);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtepi32_epi16(got));  // the low halves
      continue;
    }
    for (int k = 0; k < ops; ++k)
      v = e.chain->kind[k] == HalfChain::kAddTensor ? AddTensor16(v, *e.chain, *e.addends, k, i)
                                                    : HalfChainOp16(v, e.chain->kind[k], lo[k], hi[k]);
    StoreHalf16(out + i, v);
  }
  return i;
}
#undef MIXQ_AVX512_F16C
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// Chain512's 8-lane form.
MIXQ_F16C int64_t Chain256(const float* y, int64_t n, uint16_t* out, const HalfChain& chain,
                           const ChainAddends& addends) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(y + i);
    for (int k = 0; k < chain.count; ++k) {
      if (chain.kind[k] != HalfChain::kAddTensor) {
        v = HalfChainOp8(v, chain.kind[k], _mm256_set1_ps(chain.lo[k]), _mm256_set1_ps(chain.hi[k]));
        continue;
      }
      v = Round8(v);
      const __m256 a = addends.half[k]
                           ? _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(addends.half[k] + i)))
                           : _mm256_loadu_ps(addends.single[k] + i);
      v = chain.add_first[k] ? _mm256_add_ps(a, v) : _mm256_add_ps(v, a);
    }
    __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __asm__("" : "+x"(h));  // vcvtps2ph to memory runs at half the rate on Zen 4
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  return i;
}

MIXQ_F16C void ScalarPass(const float* src, float* dst, int64_t m, bool round, bool mul, float c) {
  const __m256 k = _mm256_set1_ps(c);
  if (mul)
    for (int64_t j = 0; j < m; j += 8) _mm256_store_ps(dst + j, _mm256_mul_ps(Load8(src, j, round), k));
  else
    for (int64_t j = 0; j < m; j += 8) _mm256_store_ps(dst + j, _mm256_add_ps(Load8(src, j, round), k));
}

MIXQ_F16C void LeakyPass(const float* src, float* dst, int64_t m, bool round, float slope) {
  const __m256 k = _mm256_set1_ps(slope), zero = _mm256_setzero_ps();
  for (int64_t j = 0; j < m; j += 8) {
    const __m256 v = Load8(src, j, round);
    _mm256_store_ps(dst + j, _mm256_blendv_ps(v, _mm256_mul_ps(k, v), _mm256_cmp_ps(v, zero, _CMP_LT_OQ)));
  }
}

// maxps(v, lo) then minps: ClampActivation (ops/clamp.h), NaN -> lo.
MIXQ_F16C void ClampPass(const float* src, float* dst, int64_t m, bool round, float lo, float hi) {
  const __m256 l = _mm256_set1_ps(lo), h = _mm256_set1_ps(hi);
  for (int64_t j = 0; j < m; j += 8) _mm256_store_ps(dst + j, _mm256_min_ps(_mm256_max_ps(Load8(src, j, round), l), h));
}

}  // namespace

namespace {
// Eight values rounded to float16 as the first pass rounds them, then looked
// up with one 32-bit gather (the table's two spare entries keep the last
// 4-byte read inside it).
MIXQ_F16C inline __m128i LookUp8(const int* table, __m256 v) {
  const __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256i got =
      _mm256_and_si256(_mm256_i32gather_epi32(table, _mm256_cvtepu16_epi32(h), 2), _mm256_set1_epi32(0xffff));
  return _mm_packus_epi32(_mm256_castsi256_si128(got), _mm256_extracti128_si256(got, 1));
}
}  // namespace

namespace {
// BiasedEnd512's 8-lane form.
MIXQ_F16C int64_t BiasedEnd256(const float* y, int64_t n, const BiasedEnd& e, uint16_t* out) {
  const int ops = e.chain ? e.chain->count : 0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(y + i);
    if (e.bias) v = _mm256_add_ps(v, _mm256_loadu_ps(e.bias + i));
    if (e.column_bias) {
      v = Round8(v);
      const __m256 c = _mm256_loadu_ps(e.column_bias + i);
      v = e.column_bias_first ? _mm256_add_ps(c, v) : _mm256_add_ps(v, c);
    }
    if (e.table) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), LookUp8(e.table, v));
      continue;
    }
    for (int k = 0; k < ops; ++k) {
      if (e.chain->kind[k] != HalfChain::kAddTensor) {
        v = HalfChainOp8(v, e.chain->kind[k], _mm256_set1_ps(e.chain->lo[k]), _mm256_set1_ps(e.chain->hi[k]));
        continue;
      }
      v = Round8(v);
      const __m256 a = e.addends->half[k]
                           ? _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(e.addends->half[k] + i)))
                           : _mm256_loadu_ps(e.addends->single[k] + i);
      v = e.chain->add_first[k] ? _mm256_add_ps(a, v) : _mm256_add_ps(v, a);
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  return i;
}
}  // namespace

ChainAddends HalfOutputStage::AddendsAt(const std::vector<TensorView>& in, int64_t offset) const {
  ChainAddends addends;
  for (int k = 0; k < chain_.count; ++k) {
    const Op& op = ops_[static_cast<size_t>(k)];
    if (!op.add) continue;
    const TensorView& a = in[static_cast<size_t>(op.input)];
    if (op.input_half)
      addends.half[k] = a.Data<const uint16_t>() + offset;
    else
      addends.single[k] = a.Data<const float>() + offset;
  }
  return addends;
}

void HalfOutputStage::ApplyBiased(float* y, int64_t n, int64_t offset, const float* bias, const float* column_bias,
                                  bool column_bias_first, const std::vector<TensorView>& in,
                                  const TensorView& out) const {
  int64_t i = 0;
  const bool clamps = rounding_commutes_ && clamp_chain_.count == static_cast<int>(ops_.size());
  if (out_half_ && (chained_ || !table_.empty() || clamps)) {
    ChainAddends addends;
    BiasedEnd e;
    e.bias = bias;
    e.column_bias = column_bias;
    e.column_bias_first = column_bias_first;
    if (!table_.empty()) {
      e.table = reinterpret_cast<const int*>(table_.data());
    } else if (chained_) {
      addends = AddendsAt(in, offset);
      e.chain = &chain_;
      e.addends = &addends;
    } else {
      e.chain = &clamp_chain_;  // no addends: clamps only
      e.addends = &addends;
    }
    uint16_t* out16 = out.Data<uint16_t>() + offset;
    i = avx512_ ? BiasedEnd512(y, n, e, out16) : BiasedEnd256(y, n, e, out16);
    if (i == n) return;
  }
  // The rest (all of it where the stage runs in passes): the biases in
  // place, then the stage.
  for (int64_t j = i; j < n; ++j) {
    if (bias) y[j] += bias[j];
    if (column_bias) y[j] = column_bias_first ? column_bias[j] + RoundToHalf(y[j]) : RoundToHalf(y[j]) + column_bias[j];
  }
  Apply(y + i, n - i, offset + i, in, out);
}

MIXQ_F16C void HalfOutputStage::ApplyTable(const float* y, int64_t n, uint16_t* out) const {
  const int* table = reinterpret_cast<const int*>(table_.data());
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), LookUp8(table, _mm256_loadu_ps(y + i)));
  if (i < n) {
    alignas(32) float rest[8] = {};
    alignas(16) uint16_t looked[8];
    std::memcpy(rest, y + i, static_cast<size_t>(n - i) * sizeof(float));
    _mm_store_si128(reinterpret_cast<__m128i*>(looked), LookUp8(table, _mm256_load_ps(rest)));
    std::memcpy(out + i, looked, static_cast<size_t>(n - i) * sizeof(uint16_t));
  }
}

MIXQ_F16C void HalfOutputStage::Apply(const float* y, int64_t n, int64_t offset, const std::vector<TensorView>& in,
                                      const TensorView& out) const {
  if (!table_.empty()) return ApplyTable(y, n, out.Data<uint16_t>() + offset);
  int64_t i = 0;
  // Pointers into the tensors held in locals: stores through `out` would
  // otherwise make the compiler reload them (and each op's fields) per vector.
  uint16_t* out16 = out_half_ ? out.Data<uint16_t>() + offset : nullptr;
  float* out32 = out_half_ ? nullptr : out.Data<float>() + offset;
  // The common chain on float16 storage: nothing, or clamps (relu, relu6,
  // clip). Rounding r to float16 is monotonic, so for a clamp c,
  // r(c(r(x))) == r(c(x)): where c and r move x in different directions the
  // bound lies between x and r(x), in x's rounding cell, and rounds to r(x)
  // too (ties to the same even neighbour; NaN: both ways the lower bound).
  // A chain of clamps is a clamp, so one rounding, the store's, gives the
  // rounded-at-every-boundary result. F16C conversions are most of this
  // stage's cost (two uops each on AMD Zen 3).
  if (rounding_commutes_) {
    for (; i + 8 <= n; i += 8) {
      __m256 v = _mm256_loadu_ps(y + i);
      for (const Op& op : ops_) v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(op.lo)), _mm256_set1_ps(op.hi));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out16 + i),
                       _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
  }
  if (chained_) {
    const ChainAddends addends = AddendsAt(in, offset);
    i = fp16_chain_ ? HalfChainFp16(y, n, out16, chain_, addends)
        : avx512_   ? Chain512(y, n, out16, chain_, addends)
                    : Chain256(y, n, out16, chain_, addends);
  }
  constexpr size_t kMaxOps = 8;
  const uint16_t* add16[kMaxOps] = {};
  const float* add32[kMaxOps] = {};
  const bool hoisted = ops_.size() <= kMaxOps;
  if (hoisted)
    for (size_t k = 0; k < ops_.size(); ++k) {
      if (!ops_[k].add) continue;
      const TensorView& a = in[static_cast<size_t>(ops_[k].input)];
      if (ops_[k].input_half)
        add16[k] = a.Data<const uint16_t>() + offset;
      else
        add32[k] = a.Data<const float>() + offset;
    }
  // Op by op over chunks that stay in L1: each pass rounds its input (the
  // previous step's float16 output) and applies one operation, so the loops
  // carry no per-vector dispatch on the op; the values and their order of
  // operations are those of the element-by-element form below.
  constexpr int64_t kChunk = 512;
  alignas(64) float chunk[kChunk];  // whole cache lines, 64-byte stores aligned
  while (hoisted && i + 8 <= n) {
    const int64_t m = std::min<int64_t>(kChunk, (n - i) / 8 * 8);
    const float* src = y + i;
    for (size_t k = 0; k < ops_.size(); ++k) {
      const Op& op = ops_[k];
      if (op.add) {
        if (op.input_half)
          AddPass(src, nullptr, add16[k] + i, chunk, m, out_half_, op.add_first);
        else
          AddPass(src, add32[k] + i, nullptr, chunk, m, out_half_, op.add_first);
      } else if (op.hard_swish) {
        if (avx512_)
          HardSwishPass512(src, chunk, m, out_half_);
        else
          HardSwishPass(src, chunk, m, out_half_);
      } else if (op.smooth) {
        SmoothPass(op.smooth, src, chunk, m, out_half_);
      } else if (op.scalar_mul || op.scalar_add) {
        ScalarPass(src, chunk, m, out_half_, op.scalar_mul, op.lo);
      } else if (op.leaky) {
        LeakyPass(src, chunk, m, out_half_, op.lo);
      } else {
        ClampPass(src, chunk, m, out_half_, op.lo, op.hi);
      }
      src = chunk;
    }
    if (out_half_)
      for (int64_t j = 0; j < m; j += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out16 + i + j),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + j), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    else
      std::memcpy(out32 + i, src, static_cast<size_t>(m) * sizeof(float));
    i += m;
  }
  // The tail one value at a time, with the scalar forms of the same operations.
  for (; i < n; ++i) {
    float v = y[i];
    for (const Op& op : ops_) {
      if (out_half_) v = RoundToHalf(v);
      if (op.add) {
        const TensorView& a = in[static_cast<size_t>(op.input)];
        const float addend =
            op.input_half ? HalfToFloat(a.Data<const uint16_t>()[offset + i]) : a.Data<const float>()[offset + i];
        v = op.add_first ? addend + v : v + addend;
      } else if (op.hard_swish) {
        v = HardSwish1(v);
      } else if (op.smooth) {
        const float x = v;
        op.smooth(&x, &v, 1);  // the loop's zero-padded vector: the same bits as in a full vector
      } else if (op.scalar_mul) {
        v = v * op.lo;
      } else if (op.scalar_add) {
        v = v + op.lo;
      } else if (op.leaky) {
        v = v < 0.0f ? op.lo * v : v;
      } else {
        v = ClampActivation(v, op.lo, op.hi);
      }
    }
    if (out_half_)
      out.Data<uint16_t>()[offset + i] = FloatToHalf(v);
    else
      out.Data<float>()[offset + i] = v;
  }
}

}  // namespace mixq::ops
