// FullyConnected of one row with symmetric int16 operands and constant
// weights ("avx512vnni-int16-gemv": a classifier head in the qint16 modes),
// exact, inside the quantized reference's output stage like "avx2-int16", so
// bit-exact with reference-quantized.
//
// "avx2-int16" splits the weights in bytes (w = 256 * hi + lo) so that its
// int32 sums stay exact, which doubles the bytes a one-row product streams:
// MobileNetV2's 1000 x 1280 head read 5 MB per run. Here the single
// activation row is split instead (a = 256 * a_hi + a_lo, a_hi in [-128,
// 127], a_lo in [0, 255]), once per run, and the int16 weights are streamed
// once: per 16 columns x 2 taps one load and two vpdpwssd (the pair of a_hi
// and the pair of a_lo broadcast). Over 256 taps both int32 sums are exact
// (128 * 32768 * 256 = 2^30; 255 * 32768 * 256 < 2^31), then joined into
// the int64 sums as 256 * hi + lo.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/parallel.h"
#include "ops/kernel_registry.h"
#include "ops/quantized_reference.h"
#include "util/status_util.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, as in conv2d/cpu_avx2_dw.cc
#endif

namespace mixq::ops {

namespace {

#define MIXQ_GEMV16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

constexpr int64_t kPanel = 16;        // output columns per zmm of int32 sums
constexpr int64_t kPanels = 4;        // panels per step: 8 independent vpdpwssd chains
constexpr int64_t kChunkPairs = 128;  // tap pairs per exact int32 chunk (256 taps)
// Weights past this many bytes are streamed by both threads (a one-row
// product is bound by moving them).
constexpr int64_t kMinParallelWeightBytes = int64_t{1} << 19;

struct GemvShape {
  int64_t k = 0, n = 0;
  bool transpose_b = true;
};

bool ReadShape(const KernelInit& init, GemvShape* s) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1]) return false;
  const ir::Shape& a = init.inputs[0]->shape;
  const ir::Shape& b = init.inputs[1]->shape;
  if (a.size() != 2 || b.size() != 2 || !ir::IsStatic(a) || !ir::IsStatic(b)) return false;
  const bool transpose_a = init.attrs.Int("transpose_a") != 0;
  s->transpose_b = init.attrs.Int("transpose_b", 1) != 0;
  const int64_t m = transpose_a ? a[1] : a[0];
  s->k = transpose_a ? a[0] : a[1];
  s->n = s->transpose_b ? b[0] : b[1];
  return m == 1 && s->k > 0 && s->n > 0 && (s->transpose_b ? b[1] : b[0]) == s->k;
}

class GemvInt16 : public Kernel {
 public:
  explicit GemvInt16(const GemvShape& s) : s_(s) {
    pairs_ = (s.k + 1) / 2;
    steps_ = (s.n + kPanel * kPanels - 1) / (kPanel * kPanels);
    a_hi_.assign(static_cast<size_t>(pairs_), 0);
    a_lo_.assign(static_cast<size_t>(pairs_), 0);
  }

  // Inputs as the quantized reference stages them: int32 codes (centered:
  // zero points are 0), the weights constant; the output int64 sums.
  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int32_t* a = in[0].Data<const int32_t>();
    const int32_t* b = in[1].Data<const int32_t>();
    if (b != packed_from_) Pack(b);
    // The row's taps split in bytes, two taps per int32 (low half: the even tap).
    for (int64_t p = 0; p < pairs_; ++p) {
      const int32_t even = a[2 * p], odd = 2 * p + 1 < s_.k ? a[2 * p + 1] : 0;
      a_hi_[static_cast<size_t>(p)] = Pair(even >> 8, odd >> 8);
      a_lo_[static_cast<size_t>(p)] = Pair(even & 0xFF, odd & 0xFF);
    }
    int64_t* y = out[0].Data<int64_t>();
    const bool parallel = steps_ > 1 && static_cast<int64_t>(w_.size() * sizeof(int16_t)) >= kMinParallelWeightBytes;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t step = 0; step < steps_; ++step) Step(step, y);
    return Status::OK();
  }

 private:
  static int32_t Pair(int32_t even, int32_t odd) {
    return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(even)) |
                                static_cast<uint32_t>(static_cast<uint16_t>(odd)) << 16);
  }

  // w_: [step][pair][panel of the step][16 columns][2 taps] int16, zero
  // past k and n.
  void Pack(const int32_t* b) {
    w_.assign(static_cast<size_t>(steps_ * pairs_ * kPanels * kPanel * 2), 0);
    for (int64_t j = 0; j < s_.n; ++j) {
      const int64_t step = j / (kPanel * kPanels), within = j % (kPanel * kPanels);
      for (int64_t t = 0; t < s_.k; ++t) {
        const int32_t v = s_.transpose_b ? b[j * s_.k + t] : b[t * s_.n + j];
        const int64_t at = ((step * pairs_ + t / 2) * kPanels * kPanel + within) * 2 + t % 2;
        w_[static_cast<size_t>(at)] = static_cast<int16_t>(v);
      }
    }
    packed_from_ = b;
  }

  // kPanels x 16 columns' int64 sums over every chunk of 256 taps.
  MIXQ_GEMV16 void Step(int64_t step, int64_t* y) const {
    __m512i sums[kPanels][2];  // int64: columns 0-7 and 8-15 of each panel
    for (auto& s : sums) s[0] = s[1] = _mm512_setzero_si512();
    const int16_t* w = w_.data() + step * pairs_ * kPanels * kPanel * 2;
    for (int64_t p0 = 0; p0 < pairs_; p0 += kChunkPairs) {
      const int64_t p1 = std::min(pairs_, p0 + kChunkPairs);
      __m512i hi[kPanels], lo[kPanels];
      for (int u = 0; u < kPanels; ++u) hi[u] = lo[u] = _mm512_setzero_si512();
      for (int64_t p = p0; p < p1; ++p) {
        const __m512i bh = _mm512_set1_epi32(a_hi_[static_cast<size_t>(p)]);
        const __m512i bl = _mm512_set1_epi32(a_lo_[static_cast<size_t>(p)]);
        const int16_t* wp = w + p * kPanels * kPanel * 2;
        for (int u = 0; u < kPanels; ++u) {
          const __m512i wv = _mm512_loadu_si512(wp + u * kPanel * 2);
          hi[u] = _mm512_dpwssd_epi32(hi[u], wv, bh);
          lo[u] = _mm512_dpwssd_epi32(lo[u], wv, bl);
        }
      }
      for (int u = 0; u < kPanels; ++u)
        for (int half = 0; half < 2; ++half) {
          const __m256i h = half ? _mm512_extracti64x4_epi64(hi[u], 1) : _mm512_castsi512_si256(hi[u]);
          const __m256i l = half ? _mm512_extracti64x4_epi64(lo[u], 1) : _mm512_castsi512_si256(lo[u]);
          const __m512i joined =
              _mm512_add_epi64(_mm512_slli_epi64(_mm512_cvtepi32_epi64(h), 8), _mm512_cvtepi32_epi64(l));
          sums[u][half] = _mm512_add_epi64(sums[u][half], joined);
        }
    }
    const int64_t first = step * kPanel * kPanels;
    for (int u = 0; u < kPanels; ++u)
      for (int half = 0; half < 2; ++half) {
        const int64_t col = first + u * kPanel + half * 8, count = std::min<int64_t>(8, s_.n - col);
        if (count <= 0) return;
        _mm512_mask_storeu_epi64(y + col, static_cast<__mmask8>((1u << count) - 1), sums[u][half]);
      }
  }

  GemvShape s_;
  int64_t pairs_ = 0, steps_ = 0;
  std::vector<int16_t> w_;
  const int32_t* packed_from_ = nullptr;
  std::vector<int32_t> a_hi_, a_lo_;
};

Status MakeAccumulate(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  GemvShape s;
  if (!ReadShape(init, &s)) return Internal("FullyConnected avx512vnni-int16-gemv: not one row");
  *kernel = std::make_unique<GemvInt16>(s);
  return Status::OK();
}

bool Supports(const KernelInit& init) {
  GemvShape s;
  return TakesSymmetricInt16Operands(init) && init.inputs[1]->const_data && ReadShape(init, &s);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeQuantizedKernel(FullyConnectedSchema(), init, MakeAccumulate, "avx512vnni-int16-gemv", kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(fully_connected, avx512_int16_gemv) {
  // Above avx2-int16 (10), for the one-row products it streams split weights for.
  mixq::ops::RegisterKernel({"avx512vnni-int16-gemv", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx512Vnni,
                             12, mixq::ops::Supports, mixq::ops::Make});
}
