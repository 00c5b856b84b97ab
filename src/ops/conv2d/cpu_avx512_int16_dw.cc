// AVX-512 int16 depthwise Conv2D in double FMAs ("avx512-int16-dw"), for
// the qint16 modes' NCHW depthwise layers, bit-exact with
// reference-quantized.
//
// Why doubles: an int16 x int16 product takes 31 bits, so the sum of a 3 x 3
// kernel's products does not fit int32, and "avx512vnni-int16-dw" splits
// each weight in bytes (two vpdpwssd per pair of taps), then joins the
// halves in double for the output stage. Every product and every partial sum
// of up to 256 taps is an integer below 2^53, exact in a double lane: one
// FMA per tap and output, no split, no pairs to interleave, and the
// accumulator is already the double the output stage starts from.
//
// Why flat planes: MobileNetV2's 14- and 7-column rows filled under half of
// a vector in row-by-row steps. Here the plane's outputs are one run of
// out_h * out_w lanes. Each input plane is widened once into zero-padded
// double planes split by stride phase (row and column parity for stride 2),
// out_w columns wide, so that tap (kh, kw) reads the output run shifted by a
// constant; the lanes whose column would leave the row (and wrap into the
// next) are masked to zero per tap. The outputs then land in NCHW order with
// no compaction. Taken where every phase fits out_w columns (the "same"
// padding of MobileNetV2-style layers); other geometries stay on
// avx512vnni-int16-dw.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/int16_requant.h"
#include "kernels/parallel.h"
#include "ops/conv2d/int8_conv_common.h"
#include "ops/quantized_reference.h"
#include "util/status_util.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, as in cpu_avx2_dw.cc
#endif

namespace mixq::ops {

namespace {

#define MIXQ_DW_F64 __attribute__((target("avx512f,avx512bw,avx512vl")))

constexpr int64_t kBlock = 32;                // the run's masks cover it rounded up to this many outputs
constexpr int64_t kMaxPlaneBytes = 64 << 10;  // FlatPlanes::Plan
constexpr int64_t kFront = 16;                // slack doubles before each phase plane, for negative column shifts
constexpr int64_t kChunk = 256;               // outputs per pass of Accumulate (its column sums: 5 x 2 KiB)
constexpr int64_t kSumsFront = 8;             // column sums on either side of a chunk: shifts up to 8 columns

int64_t FloorDiv(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// Where the widened planes put every tap, and whether the geometry fits.
struct FlatPlanes {
  int64_t phases_h = 1, phases_w = 1;  // the strides
  int64_t top = 0;                     // zero rows above row 0 of each phase plane
  int64_t rows = 0;                    // rows per phase plane, zero rows included
  int64_t plane = 0;                   // doubles per phase plane, slack included
  std::vector<int64_t> tap_offset;     // per tap: from output q to its input, in doubles from the planes' start
  std::vector<int64_t> column_shift;   // per kernel column: its taps' column shift in the phase plane

  // False where a phase's columns do not fit out_w.
  bool Plan(const ConvGeometry& g) {
    // 3 x 3 and 5 x 5 (the unrolled forms), strides 1 and 2.
    if (g.stride_h > 2 || g.stride_w > 2 || g.kernel_h != g.kernel_w || (g.kernel_h != 3 && g.kernel_h != 5))
      return false;
    phases_h = g.stride_h;
    phases_w = g.stride_w;
    const int64_t width = g.out_w;
    for (int64_t pc = 0; pc < phases_w; ++pc)
      if ((g.in_w - pc + phases_w - 1) / phases_w > width) return false;
    int64_t min_r = 0, max_r = 0;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      const int64_t r = FloorDiv(kh * g.dilation_h - g.pad_top, phases_h);
      min_r = std::min(min_r, r);
      max_r = std::max(max_r, r);
    }
    top = -min_r;
    const int64_t phase_rows = (g.in_h + phases_h - 1) / phases_h;
    rows = top + std::max(phase_rows, g.out_h + max_r) + 1;
    // Slack: a negative column shift reads before row 0 (front), a step's
    // last vector up to kBlock past the run (back).
    // Whole cache lines per phase plane, so that every phase's rows start
    // where the first one's do when out_w is a multiple of 8.
    plane = (kFront + rows * width + kBlock + 8 + 7) / 8 * 8;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh)
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const int64_t eh = kh * g.dilation_h - g.pad_top, ew = kw * g.dilation_w - g.pad_left;
        const int64_t pr = ((eh % phases_h) + phases_h) % phases_h, pc = ((ew % phases_w) + phases_w) % phases_w;
        const int64_t rs = FloorDiv(eh, phases_h), cs = FloorDiv(ew, phases_w);
        // Past the slack of the planes or of the column sums, or never in the row.
        if (cs < -kSumsFront || cs > kSumsFront || cs <= -width || cs >= width) return false;
        tap_offset.push_back((pr * phases_w + pc) * plane + kFront + (top + rs) * width + cs);
        if (kh == 0) column_shift.push_back(cs);
      }
    // Planes past L1 (MobileNetV2's 112 x 112 layers: 100 KiB of doubles)
    // run slower than avx512vnni-int16-dw's int16 rows (1 thread, ms: 0.34
    // against 0.28 at stride 1, 0.53 against 0.31 at stride 2), and widening
    // them costs a fifth of their time; in bands of output rows whose planes
    // fit 64 KiB they still did (0.35 against 0.30 at stride 2, PP-OCRv4
    // det's 160 x 160 layer 0.47 against 0.45; round 2 stop 44). Up to 64 KiB
    // they gain: det's 80 x 80 layer (50 KiB) 0.418 -> 0.369 ms from 48 KiB.
    return phases_h * phases_w * plane * static_cast<int64_t>(sizeof(double)) <= kMaxPlaneBytes;
  }

  // Where phase (pr, pc)'s row i, column j lies.
  int64_t At(int64_t pr, int64_t pc, int64_t i, int64_t j, int64_t width) const {
    return (pr * phases_w + pc) * plane + kFront + (top + i) * width + j;
  }
};

class DepthwiseInt16F64 : public Kernel {
 public:
  const char* Name() const override { return "avx512-int16-dw"; }
  int64_t PrivateWeightBytes() const override {
    return static_cast<int64_t>(w_.size() * sizeof(double) + masks_.size() * sizeof(uint8_t));
  }

  Status Init(const KernelInit& init) {
    if (!FusedInt16ConvSupports(init, &g_) || !flat_.Plan(g_))
      return Status(StatusCode::INTERNAL, "avx512-int16-dw: not a geometry it takes");
    stage_.Init(init, g_);
    taps_ = g_.kernel_h * g_.kernel_w;
    const ValueInfo& w = *init.inputs[1];
    const ir::QuantBinding& wq = *w.quant;
    const auto f_s = LogicalStrides(w.shape, g_.filter_axes);
    const auto* raw = static_cast<const int16_t*>(w.const_data);
    w_.assign(static_cast<size_t>(g_.out_channels * taps_), 0.0);
    for (int64_t c = 0; c < g_.out_channels; ++c) {
      const int32_t zp = wq.zero_points.empty() ? 0 : wq.zero_points[wq.axis >= 0 ? static_cast<size_t>(c) : 0];
      for (int64_t t = 0; t < taps_; ++t) {
        const int64_t kh = t / g_.kernel_w, kw = t % g_.kernel_w;
        w_[static_cast<size_t>(c * taps_ + t)] = raw[c * f_s[0] + kh * f_s[2] + kw * f_s[3]] - zp;
      }
    }
    // Per kernel row and phase column: where its phase-plane row starts (the
    // column sums' reads); per kernel column: its phase column.
    row_base_.assign(static_cast<size_t>(g_.kernel_h * 2), 0);
    for (int64_t kh = 0; kh < g_.kernel_h; ++kh) {
      const int64_t eh = kh * g_.dilation_h - g_.pad_top, ph = flat_.phases_h;
      const int64_t pr = ((eh % ph) + ph) % ph, rs = FloorDiv(eh, ph);
      for (int64_t pc = 0; pc < flat_.phases_w; ++pc)
        row_base_[static_cast<size_t>(kh * 2 + pc)] = flat_.At(pr, pc, rs, 0, g_.out_w);
    }
    for (int64_t kw = 0; kw < g_.kernel_w; ++kw) {
      const int64_t ew = kw * g_.dilation_w - g_.pad_left, pw = flat_.phases_w;
      column_slot_.push_back(static_cast<int>(((ew % pw) + pw) % pw));
    }
    // Every column on one phase column, or alternating (Accumulate's forms).
    alternate_ = g_.kernel_w > 1 && column_slot_[1] != column_slot_[0];
    for (int64_t kw = 0; kw < g_.kernel_w; ++kw)
      if (column_slot_[static_cast<size_t>(kw)] != (column_slot_[0] ^ (alternate_ ? static_cast<int>(kw % 2) : 0)))
        return Status(StatusCode::INTERNAL, "avx512-int16-dw: kernel columns on neither phase pattern");
    // Per kernel column, per 8-lane vector of the run: the lanes whose
    // column plus the column's shift stays in [0, out_w).
    run_ = g_.out_h * g_.out_w;
    vectors_ = (run_ + kBlock - 1) / kBlock * (kBlock / 8);
    masks_.assign(static_cast<size_t>(g_.kernel_w * vectors_), 0);
    for (int64_t kw = 0; kw < g_.kernel_w; ++kw)
      for (int64_t q = 0; q < vectors_ * 8; ++q) {
        const int64_t col = q % g_.out_w + flat_.column_shift[static_cast<size_t>(kw)];
        if (col >= 0 && col < g_.out_w) masks_[static_cast<size_t>(kw * vectors_ + q / 8)] |= 1u << (q % 8);
      }
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const TensorView& y = out[0];
    stage_.Prepare(in, y);
    direct_ = stage_.PlainInt16Requant();  // exact: |sum| <= 25 taps * 2^30 plus an int32 bias, below 2^51
    const auto* x = in[0].Data<const int16_t>();
    const int32_t zp = in[0].quant->zero_point;
    const int64_t planes = g_.batch * g_.out_channels;
    const int threads = std::max(1, omp_get_max_threads());
    if (scratch_.size() < static_cast<size_t>(threads)) scratch_.resize(static_cast<size_t>(threads));
    const bool parallel = planes > 1 && planes * run_ * taps_ > kernels::kMinParallelDepthwiseMacs / 4;
#pragma omp parallel if (parallel)
    {
      // Each thread's planes in order, the next one widened before the
      // current one is accumulated, into the other buffer: MobileNetV2's
      // 56 x 56 layer 0.32 -> 0.29 ms at 1 thread (its widening's stores
      // drain while the taps run), the smaller planes unchanged.
      const int64_t team = omp_get_num_threads(), id = omp_get_thread_num();
      const int64_t begin = planes * id / team, end = planes * (id + 1) / team;
      Scratch& s = scratch_[static_cast<size_t>(omp_get_thread_num())];
      if (begin < end) Widen(x + begin * g_.in_h * g_.in_w, zp, &s, begin % 2);
      for (int64_t p = begin; p < end; ++p) {
        if (p + 1 < end) Widen(x + (p + 1) * g_.in_h * g_.in_w, zp, &s, (p + 1) % 2);
        const int64_t c = p % g_.out_channels;
        const double* plane = Aligned(&s.planes[p % 2]);
        if (!direct_.empty()) {
          AccumulatePlane(c, plane, ColumnSums(&s), y.Data<int16_t>() + p * run_, nullptr);
          continue;
        }
        s.sums.resize(static_cast<size_t>(vectors_ * 8));
        AccumulatePlane(c, plane, ColumnSums(&s), nullptr, s.sums.data());
        stage_.RowOfSums(c, s.sums.data(), run_, p * run_, y);
      }
    }
    return Status::OK();
  }

 private:
  struct Scratch {
    std::vector<double> planes[2];    // two planes' phase planes (FlatPlanes), zero outside the input
    std::vector<double> sums;         // the run's sums, where the stage is not applied in registers
    std::vector<double> column_sums;  // Accumulate's, per kernel column, a chunk and its sides each
  };

  // The scratch's column sums, 64-byte aligned.
  static double* ColumnSums(Scratch* s) {
    const size_t size = static_cast<size_t>(5 * (kChunk + 2 * kSumsFront) + 8);
    if (s->column_sums.size() != size) s->column_sums.assign(size, 0.0);
    const auto at = reinterpret_cast<uintptr_t>(s->column_sums.data());
    return s->column_sums.data() + (64 - at % 64) % 64 / sizeof(double);
  }

  // The phase planes' start in a buffer of 8 doubles more: where the first
  // phase's row 0 lies on a 64-byte boundary, so that the widening's stores
  // of a plane written as one line are whole cache lines.
  double* Aligned(std::vector<double>* buffer) const {
    const auto row0 = reinterpret_cast<uintptr_t>(buffer->data() + flat_.At(0, 0, 0, 0, g_.out_w));
    return buffer->data() + (64 - row0 % 64) % 64 / sizeof(double);
  }

  // The channel's input plane, centered, as doubles in the phase planes:
  // 16 values per step, a row's last step masked.
  MIXQ_DW_F64 void Widen(const int16_t* x, int32_t zp, Scratch* s, int64_t buffer) const {
    const size_t size = static_cast<size_t>(flat_.phases_h * flat_.phases_w * flat_.plane + 8);
    std::vector<double>& to = s->planes[buffer];
    // Zeroed once: every run writes the same interior, so the pads stay 0.
    if (to.size() != size) to.assign(size, 0.0);
    double* planes = Aligned(&to);
    const int64_t width = g_.out_w, in_w = g_.in_w;
    const __m512i center = _mm512_set1_epi32(zp);
    auto widen16 = [&](const int16_t* from, __mmask16 mask, __m512d* lo, __m512d* hi) MIXQ_DW_F64 {
      const __m512i values = _mm512_sub_epi32(_mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(mask, from)), center);
      *lo = _mm512_cvtepi32_pd(_mm512_castsi512_si256(values));
      *hi = _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(values, 1));
    };
    __m512d lo, hi;
    if (flat_.phases_w == 1) {
      // Stride 1 across: a row is out_w wide, so rows of the same phase lie
      // end to end and the plane (or each row phase's rows) runs as one line
      // where the input is as wide as the output.
      const bool whole = in_w == width && flat_.phases_h == 1;
      const int64_t lines = whole ? 1 : g_.in_h, line_n = whole ? g_.in_h * in_w : in_w;
      for (int64_t l = 0; l < lines; ++l) {
        const int16_t* line = x + l * in_w;
        double* dst = planes + flat_.At(l % flat_.phases_h, 0, l / flat_.phases_h, 0, width);
        int64_t i = 0;
        for (; i + 16 <= line_n; i += 16) {
          widen16(line + i, 0xFFFF, &lo, &hi);
          _mm512_storeu_pd(dst + i, lo);
          _mm512_storeu_pd(dst + i + 8, hi);
        }
        if (i < line_n) {
          const int64_t n = line_n - i;
          widen16(line + i, static_cast<__mmask16>((1u << n) - 1), &lo, &hi);
          _mm512_mask_storeu_pd(dst + i, static_cast<__mmask8>((1u << std::min<int64_t>(n, 8)) - 1), lo);
          if (n > 8) _mm512_mask_storeu_pd(dst + i + 8, static_cast<__mmask8>((1u << (n - 8)) - 1), hi);
        }
      }
      return;
    }
    // Stride 2 across: even columns to phase 0, odd ones to phase 1, eight each per step.
    const __m512i evens = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14),
                  odds = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
    for (int64_t ih = 0; ih < g_.in_h; ++ih) {
      const int16_t* line = x + ih * in_w;
      const int64_t pr = ih % flat_.phases_h, r = ih / flat_.phases_h;
      double* even = planes + flat_.At(pr, 0, r, 0, width);
      double* odd = planes + flat_.At(pr, 1, r, 0, width);
      int64_t iw = 0;
      for (; iw + 16 <= in_w; iw += 16) {
        widen16(line + iw, 0xFFFF, &lo, &hi);
        _mm512_storeu_pd(even + iw / 2, _mm512_permutex2var_pd(lo, evens, hi));
        _mm512_storeu_pd(odd + iw / 2, _mm512_permutex2var_pd(lo, odds, hi));
      }
      if (iw < in_w) {
        const int64_t n = in_w - iw, n_even = (n + 1) / 2, n_odd = n / 2;
        widen16(line + iw, static_cast<__mmask16>((1u << n) - 1), &lo, &hi);
        _mm512_mask_storeu_pd(even + iw / 2, static_cast<__mmask8>((1u << n_even) - 1),
                              _mm512_permutex2var_pd(lo, evens, hi));
        _mm512_mask_storeu_pd(odd + iw / 2, static_cast<__mmask8>((1u << n_odd) - 1),
                              _mm512_permutex2var_pd(lo, odds, hi));
      }
    }
  }

  // The run's sums, kBlock outputs per step, each tap read at the output's
  // shifted position (3 x 3 kernels: AccumulateColumns ran them 10-15 %
  // slower, its second pass costing more than the split loads it saves on
  // three columns). out16, run_sums: as AccumulateColumns. The taps of one kernel column
  // share a column shift: their products are summed apart, unmasked (a
  // wrapped read lands in a lane the mask then drops), and each column's
  // sums are added under its mask at the end of the step: 2 * kV masked adds
  // per step in place of a masked load per tap, every FMA reading memory.
  template <int KH, int KW>
  MIXQ_DW_F64 void AccumulateShifted(int64_t c, const double* planes, int16_t* out16, double* run_sums) const {
    constexpr int kV = kBlock / 8;  // accumulators per kernel column
    const double* w = w_.data() + c * KH * KW;
    kernels::Int16RequantVectors requant{};
    if (out16) requant = kernels::VectorsOf(direct_[static_cast<size_t>(c)]);
    const __m512d start = out16 ? requant.int_bias_d : _mm512_setzero_pd();
    const double* from[KH * KW];
    for (int t = 0; t < KH * KW; ++t) from[t] = planes + flat_.tap_offset[static_cast<size_t>(t)];
    const uint8_t* column_masks[KW];
    for (int kw = 0; kw < KW; ++kw) column_masks[kw] = masks_.data() + static_cast<size_t>(kw * vectors_);
    for (int64_t q = 0; q < run_; q += kBlock) {
      __m512d sums[KW][kV];
      for (int kw = 0; kw < KW; ++kw)
        for (int k = 0; k < kV; ++k) sums[kw][k] = _mm512_setzero_pd();
      for (int kh = 0; kh < KH; ++kh)
        for (int kw = 0; kw < KW; ++kw) {
          const int t = kh * KW + kw;
          const __m512d wt = _mm512_set1_pd(w[t]);
          for (int k = 0; k < kV; ++k)
            sums[kw][k] = _mm512_fmadd_pd(_mm512_loadu_pd(from[t] + q + 8 * k), wt, sums[kw][k]);
        }
      __m512d total[kV];
      const int64_t v = q / 8;
      for (int k = 0; k < kV; ++k) {
        total[k] = start;
        for (int kw = 0; kw < KW; ++kw)
          total[k] = _mm512_mask_add_pd(total[k], column_masks[kw][v + k], total[k], sums[kw][k]);
      }
      if (out16) {
        kernels::StoreRequantizedInt16FromDoubles(total[0], total[1], requant, out16 + q, run_ - q);
        if (q + 16 < run_)
          kernels::StoreRequantizedInt16FromDoubles(total[2], total[3], requant, out16 + q + 16, run_ - q - 16);
        continue;
      }
      for (int k = 0; k < kV; ++k) _mm512_storeu_pd(run_sums + q + 8 * k, total[k]);
    }
  }

  // The run's sums in chunks of kChunk outputs, in two passes (5 x 5
  // kernels: PP-OCRv4 rec's 240-channel layers at 12 x 80 0.43 -> 0.35 ms).
  //
  // Pass 1, column sums: S_kw[j] = sum over kh of w[kh][kw] * P_kh,kw[j],
  // where P_kh,kw is the phase-plane row the tap reads, taken without its
  // column shift: every tap of one kernel row reads the same vector (one
  // per phase column), from a 64-byte boundary wherever out_w is a multiple
  // of 8. A tap read at the output's shifted position (the earlier form)
  // split a cache line on 4 of 5 loads of a 5 x 5 kernel, and its loads,
  // not its FMAs, set its speed.
  //
  // Pass 2: output q is the sum over kw of S_kw[q + shift_kw], each column
  // added under its mask (lanes whose shifted column leaves the row). out16:
  // requantized from the registers into the plane's INT16 output; otherwise
  // the exact sums into run_sums as doubles, for the stage's float chain
  // (RowOfSums adds the int bias; no int64 round trip).
  // kAlternate: kernel columns read phase columns slot0, 1 - slot0, slot0,
  // ... (stride 2 across, odd dilation); else all read slot0. Fixed at
  // compile time: a select per column in the loop cost more than it saved.
  template <int KH, int KW, bool kAlternate>
  MIXQ_DW_F64 void AccumulateColumns(int64_t c, const double* planes, double* column_sums, int16_t* out16,
                                     double* run_sums) const {
    const double* w = w_.data() + c * KH * KW;
    kernels::Int16RequantVectors requant{};
    if (out16) requant = kernels::VectorsOf(direct_[static_cast<size_t>(c)]);
    const __m512d start = out16 ? requant.int_bias_d : _mm512_setzero_pd();
    __m512d wt[KH][KW];
    for (int kh = 0; kh < KH; ++kh)
      for (int kw = 0; kw < KW; ++kw) wt[kh][kw] = _mm512_set1_pd(w[kh * KW + kw]);
    const int slot0 = column_slot_[0];
    const double* rows[KH][2];
    for (int kh = 0; kh < KH; ++kh)  // the second phase column only where the columns alternate
      for (int k = 0; k < 2; ++k)
        rows[kh][k] = planes + row_base_[static_cast<size_t>(kh * 2 + (kAlternate ? slot0 ^ k : slot0))] - kSumsFront;
    int shift_of[KW];
    for (int kw = 0; kw < KW; ++kw) shift_of[kw] = static_cast<int>(flat_.column_shift[static_cast<size_t>(kw)]);
    const uint8_t* column_masks[KW];
    for (int kw = 0; kw < KW; ++kw) column_masks[kw] = masks_.data() + static_cast<size_t>(kw * vectors_);
    constexpr int64_t kLine = kChunk + 2 * kSumsFront;  // column sums per kernel column in a chunk
    for (int64_t q0 = 0; q0 < run_; q0 += kChunk) {
      const int64_t chunk = std::min<int64_t>(kChunk, (run_ - q0 + 15) / 16 * 16);
      // Pass 1: column sums for j in [q0 - kSumsFront, q0 + chunk + kSumsFront).
      for (int64_t j = 0; j < chunk + 2 * kSumsFront; j += 8) {
        __m512d sum[KW];
        for (int kw = 0; kw < KW; ++kw) sum[kw] = _mm512_setzero_pd();
        for (int kh = 0; kh < KH; ++kh) {
          const __m512d x0 = _mm512_loadu_pd(rows[kh][0] + q0 + j);
          const __m512d x1 = kAlternate ? _mm512_loadu_pd(rows[kh][1] + q0 + j) : x0;
          for (int kw = 0; kw < KW; ++kw)
            sum[kw] = _mm512_fmadd_pd(kAlternate && kw % 2 ? x1 : x0, wt[kh][kw], sum[kw]);
        }
        for (int kw = 0; kw < KW; ++kw) _mm512_store_pd(column_sums + kw * kLine + j, sum[kw]);
      }
      // Pass 2: the outputs, 16 per step.
      for (int64_t q = 0; q < chunk; q += 16) {
        __m512d total[2] = {start, start};
        const int64_t v = (q0 + q) / 8;
        for (int kw = 0; kw < KW; ++kw) {
          const double* from = column_sums + kw * kLine + kSumsFront + q + shift_of[kw];
          for (int k = 0; k < 2; ++k)
            total[k] = _mm512_mask_add_pd(total[k], column_masks[kw][v + k], total[k], _mm512_loadu_pd(from + 8 * k));
        }
        const int64_t at = q0 + q;
        if (at >= run_) break;
        if (out16) {
          kernels::StoreRequantizedInt16FromDoubles(total[0], total[1], requant, out16 + at, run_ - at);
        } else {
          _mm512_storeu_pd(run_sums + at, total[0]);
          _mm512_storeu_pd(run_sums + at + 8, total[1]);
        }
      }
    }
  }

  MIXQ_DW_F64 void AccumulatePlane(int64_t c, const double* planes, double* column_sums, int16_t* out16,
                                   double* sums) const {
    if (g_.kernel_h == 3)
      AccumulateShifted<3, 3>(c, planes, out16, sums);
    else if (alternate_)
      AccumulateColumns<5, 5, true>(c, planes, column_sums, out16, sums);
    else
      AccumulateColumns<5, 5, false>(c, planes, column_sums, out16, sums);
  }

  ConvGeometry g_;
  FlatPlanes flat_;
  Int8ConvOutputStage stage_;
  int64_t taps_ = 0, run_ = 0, vectors_ = 0;
  std::vector<double> w_;          // [channel][tap], centered
  std::vector<uint8_t> masks_;     // [column shift][8-lane vector of the run]
  std::vector<int64_t> row_base_;  // [kernel row][phase column]: its phase-plane row 0, in doubles from the planes
  std::vector<int> column_slot_;   // [kernel column]: its phase column
  bool alternate_ = false;         // the columns alternate between the two phase columns
  std::vector<kernels::Int16Requant> direct_;
  std::vector<Scratch> scratch_;
};

bool Supports(const KernelInit& init) {
  ConvGeometry g;
  FlatPlanes flat;
  return FusedInt16ConvSupports(init, &g) && g.in_channels == g.group && g.out_channels == g.group && g.group > 1 &&
         init.attrs.Str("input_layout") == "NCHW" && init.attrs.Str("output_layout") == "NCHW" && flat.Plan(g);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<DepthwiseInt16F64>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv2d, avx512_int16_dw) {
  // Above avx512vnni-int16-dw (32), for the geometries FlatPlanes takes.
  mixq::ops::RegisterKernel({"avx512-int16-dw", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx512, 34,
                             mixq::ops::Supports, mixq::ops::Make});
}
