#include "ops/elementwise/int8_add.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/integer_clamp.h"
#include "kernels/parallel.h"
#include "ops/elementwise/lut_function.h"
#include "ops/quantized_reference.h"
#include "util/status_util.h"

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (GCC bug 105593:
// their unmasked forms pass an "undefined" vector as the merge source).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mixq::ops {

namespace {

// Elements per chunk of the parallel loop (a multiple of every form's step).
// Two chunks or more run in parallel: ResNet-50 QDQ's adds (100k-800k
// elements) ran on one thread before, 1.88 ms at 1 and 2 threads; 1.27 ms at
// 2 threads in chunks (AMD Zen 4, computed form).
constexpr int64_t kChunk = int64_t{1} << 16;

// An int8 output is a function of the two input codes: 65536 pairs. For a
// tensor of at least that many elements the kernel tabulates every pair once
// with its own range function (so the table holds its results, bit for
// bit) and then looks each pair up: two loads, a shift, an or and a gather
// per vector, against two dequantizations and a quantization (ResNet-50
// QDQ's 56 x 56 x 256 adds took 0.56-0.59 ms, 1 thread, AVX-512), where
// gathers are fast (kernels::GatherTablesPay: Intel, not AMD).
constexpr int64_t kPairs = int64_t{1} << 16;

// The affine form (int8_add.h Int8AddAffine) is fitted for int8 outputs of
// at least this many elements: a fit runs the form over the 65536 pairs a
// few times (tens of microseconds each), which smaller steps would not pay
// back. It replaces the computed form's two dequantizations and exact
// quantization (about 27 vector operations per 16 codes) by two
// conversions, two fused multiply-adds and a rounding conversion (about 9):
// ResNet-50 QDQ's 56 x 56 x 256 adds 0.156 -> 0.053 ms at 2 threads (AMD
// Zen 4, step minima). Of 39 random scale sets in the tests, 38 fit with no
// patch and one with two.
constexpr int64_t kMinAffineElements = 4096;

std::atomic<int> g_affine_forced{-1};

// Every pair of codes once: a = i >> 8, b = i & 0xff as int8.
struct EveryPair {
  std::vector<int8_t> a, b;
};

const EveryPair& EveryPairOfCodes() {
  static const EveryPair pairs = [] {
    EveryPair p{std::vector<int8_t>(kPairs), std::vector<int8_t>(kPairs)};
    for (int64_t i = 0; i < kPairs; ++i) {
      p.a[static_cast<size_t>(i)] = static_cast<int8_t>(static_cast<uint8_t>(i >> 8));
      p.b[static_cast<size_t>(i)] = static_cast<int8_t>(static_cast<uint8_t>(i & 0xff));
    }
    return p;
  }();
  return pairs;
}

// x moved by `steps` ulps (towards +infinity when positive).
float Ulps(float x, int steps) {
  for (; steps > 0; --steps) x = std::nextafter(x, std::numeric_limits<float>::infinity());
  for (; steps < 0; ++steps) x = std::nextafter(x, -std::numeric_limits<float>::infinity());
  return x;
}

// table[(uint8(a) << 8) | uint8(b)], eight pairs per 32-bit gather (the
// table's three spare bytes keep the last 4-byte read inside it).
__attribute__((target("avx2"))) void LookUpRange8(const int8_t* a, const int8_t* b, int64_t n, const uint8_t* table,
                                                  int8_t* y) {
  const int* base = reinterpret_cast<const int*>(table);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i ua = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a + i)));
    const __m256i ub = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + i)));
    const __m256i index = _mm256_or_si256(_mm256_slli_epi32(ua, 8), ub);
    const __m256i got = _mm256_and_si256(_mm256_i32gather_epi32(base, index, 1), _mm256_set1_epi32(0xff));
    const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(got), _mm256_extracti128_si256(got, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y + i), _mm_packus_epi16(words, words));
  }
  for (; i < n; ++i)
    y[i] = static_cast<int8_t>(
        table[(static_cast<unsigned>(static_cast<uint8_t>(a[i])) << 8) | static_cast<uint8_t>(b[i])]);
}

// The same, sixteen pairs per gather.
__attribute__((target("avx512f"))) void LookUpRange16(const int8_t* a, const int8_t* b, int64_t n, const uint8_t* table,
                                                      int8_t* y) {
  const int* base = reinterpret_cast<const int*>(table);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i ua = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
    const __m512i ub = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
    const __m512i index = _mm512_or_si512(_mm512_slli_epi32(ua, 8), ub);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm512_cvtepi32_epi8(_mm512_i32gather_epi32(index, base, 1)));
  }
  LookUpRange8(a + i, b + i, n - i, table, y + i);
}

class Int8Add : public Kernel {
 public:
  Int8Add(const char* name, Int8AddRange range, Int8AddAffineRange affine, Int8Params a, Int8Params b, bool int_out,
          Int8Params out, int64_t count, bool avx512, int32_t lo, int32_t hi)
      : name_(name),
        range_(range),
        a_(a),
        b_(b),
        int_out_(int_out),
        out_(out),
        count_(count),
        avx512_(avx512),
        lo_(lo),
        hi_(hi) {
    const int forced = g_affine_forced.load();
    if (int_out_ && affine && (forced == 1 || (forced == -1 && count_ >= kMinAffineElements)) &&
        FitInt8AddAffine(range_, affine, a_, b_, out_, &affine_form_)) {
      affine_ = affine;
    } else if (int_out_ && count_ >= kPairs && kernels::BestIsa() >= kernels::Isa::kAvx2 &&
               kernels::GatherTablesPay()) {
      const EveryPair& pairs = EveryPairOfCodes();
      table_.assign(kPairs + 3, 0);
      range_(pairs.a.data(), pairs.b.data(), kPairs, a_, b_, true, out_, table_.data());
    }
  }
  const char* Name() const override { return name_; }
  std::string Form() const {
    if (affine_) return "affine, " + std::to_string(affine_form_.patch_keys.size()) + " patches";
    return table_.empty() ? "computed" : "table";
  }
  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int8_t* a = in[0].Data<const int8_t>();
    const int8_t* b = in[1].Data<const int8_t>();
    auto* y = static_cast<char*>(out[0].data);
    const size_t width = int_out_ ? 1 : sizeof(float);
#pragma omp parallel for schedule(static) if (count_ > kChunk)
    for (int64_t at = 0; at < count_; at += kChunk) {
      const int64_t n = std::min(kChunk, count_ - at);
      if (affine_)
        affine_(a + at, b + at, n, affine_form_, reinterpret_cast<int8_t*>(y) + at);
      else if (table_.empty())
        range_(a + at, b + at, n, a_, b_, int_out_, out_, y + static_cast<size_t>(at) * width);
      else if (avx512_)
        LookUpRange16(a + at, b + at, n, table_.data(), reinterpret_cast<int8_t*>(y) + at);
      else
        LookUpRange8(a + at, b + at, n, table_.data(), reinterpret_cast<int8_t*>(y) + at);
      // A fused relu / relu6 / clip: the chunk's codes clamped while in cache.
      if (lo_ > -128 || hi_ < 127) {
        int8_t* codes = reinterpret_cast<int8_t*>(y) + at;
        kernels::ClampIntegers(codes, codes, n, lo_, hi_);
      }
    }
    return Status::OK();
  }

 private:
  const char* name_;
  Int8AddRange range_;
  Int8AddAffineRange affine_ = nullptr;  // set where the affine form fits: it runs instead of range_
  Int8AddAffine affine_form_;
  Int8Params a_, b_;
  bool int_out_;
  Int8Params out_;
  int64_t count_;
  std::vector<uint8_t> table_;  // int8 outputs of every pair of codes (see kPairs); empty: none
  bool avx512_;                 // the avx512-int8 form: 16 lookups per gather
  int32_t lo_, hi_;             // a fused clamp's bounds on the output codes
};

}  // namespace

bool FitInt8AddAffine(Int8AddRange exact, Int8AddAffineRange affine, Int8Params pa, Int8Params pb, Int8Params po,
                      Int8AddAffine* form) {
  // The real function: (sa (a - za) + sb (b - zb)) / so + zo.
  const double ka = static_cast<double>(pa.scale) / po.scale, kb = static_cast<double>(pb.scale) / po.scale;
  const double c = po.zero_point - ka * pa.zero_point - kb * pb.zero_point;
  constexpr double kLargest = 1e30;  // finite in float32 with room
  if (!(std::fabs(ka) < kLargest && std::fabs(kb) < kLargest && std::fabs(c) < kLargest)) return false;
  const EveryPair& pairs = EveryPairOfCodes();
  std::vector<int8_t> want(kPairs), got(kPairs);
  exact(pairs.a.data(), pairs.b.data(), kPairs, pa, pb, true, po, want.data());
  Int8AddAffine best;
  size_t best_misses = kMaxInt8AddPatches + 1;  // a trial stops counting at the best so far
  // Nearest constants first; c moves most often (it carries both zero points' products).
  std::vector<std::array<int, 3>> steps;  // ulps of ka, kb, c
  for (int dka : {0, 1, -1})
    for (int dkb : {0, 1, -1})
      for (int dc : {0, 1, -1, 2, -2}) steps.push_back({dka, dkb, dc});
  for (const auto& [dka, dkb, dc] : steps) {
    Int8AddAffine trial;
    trial.ka = Ulps(static_cast<float>(ka), dka);
    trial.kb = Ulps(static_cast<float>(kb), dkb);
    trial.c = Ulps(static_cast<float>(c), dc);
    affine(pairs.a.data(), pairs.b.data(), kPairs, trial, got.data());
    for (int64_t i = 0; i < kPairs && trial.patch_keys.size() < best_misses; ++i)
      if (got[static_cast<size_t>(i)] != want[static_cast<size_t>(i)]) {
        trial.patch_keys.push_back(pairs.a[static_cast<size_t>(i)] * 256 + static_cast<int32_t>(i & 0xff));
        trial.patch_codes.push_back(want[static_cast<size_t>(i)]);
      }
    if (trial.patch_keys.size() < best_misses) {
      best_misses = trial.patch_keys.size();
      best = std::move(trial);
      if (best_misses == 0) break;
    }
  }
  if (best_misses > kMaxInt8AddPatches) return false;
  affine(pairs.a.data(), pairs.b.data(), kPairs, best, got.data());  // the patches in place
  if (got != want) return false;
  *form = std::move(best);
  return true;
}

void SetInt8AddAffineForTesting(int forced) {
  g_affine_forced.store(forced);
}

std::string Int8AddForm(const Kernel& kernel) {
  const auto* add = dynamic_cast<const Int8Add*>(&kernel);
  return add ? add->Form() : "";
}

bool FusedClampOfInt8Add(const KernelInit& init, int32_t* lo, int32_t* hi) {
  *lo = -128;
  *hi = 127;
  if (!init.HasPostOps()) return true;
  const ValueInfo& out = init.outputs[0];
  if (init.post_ops->size() != 1 || out.dtype != DataType::INT8 || !out.quant || out.quant->scales.size() != 1 ||
      out.quant->zero_points.size() != 1)
    return false;
  const PostOp& op = init.post_ops->front();
  return op.kind == PostOp::Kind::kActivation && op.input < 0 &&
         IntegerActivationBounds(op, out.quant->scales[0], out.quant->zero_points[0], 8, lo, hi);
}

bool SameShapeInt8Add(const KernelInit& init) {
  int32_t lo = 0, hi = 0;
  // The add's own checks see the step without its fused clamp.
  const KernelInit add(init.attrs, init.inputs, init.outputs, init.input_compute);
  return FusedClampOfInt8Add(init, &lo, &hi) && Int8AddStep(add) && init.inputs[0]->shape == init.outputs[0].shape &&
         init.inputs[1]->shape == init.outputs[0].shape && UniformLayout(init);
}

void Int8AddLayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                        std::vector<bool>* outputs) {
  const bool ok =
      block == MemoryLayout::kChannelsLast && SameShapeInt8Add(init) && init.outputs[0].dtype == DataType::INT8;
  inputs->assign(init.inputs.size(), ok);
  outputs->assign(init.outputs.size(), ok);
}

Status MakeInt8Add(const KernelInit& init, const char* name, Int8AddRange range, Int8AddAffineRange affine,
                   std::unique_ptr<Kernel>* kernel, bool avx512) {
  if (!SameShapeInt8Add(init)) return Internal(name, " does not take this add");
  const ValueInfo& out = init.outputs[0];
  int32_t lo = -128, hi = 127;
  FusedClampOfInt8Add(init, &lo, &hi);
  *kernel = std::make_unique<Int8Add>(name, range, affine, ParamsOf(*init.inputs[0]), ParamsOf(*init.inputs[1]),
                                      out.dtype == DataType::INT8, ParamsOf(out), ir::ElementCount(out.shape), avx512,
                                      lo, hi);
  return Status::OK();
}

}  // namespace mixq::ops
