// "avx2-int8": the int8 AvgPool2D of an integer chain (ops/int8_chain.h, a
// rescaling step), NCHW, int8 or float32 out. Per channel plane a thread
// writes the centered codes (q - z) as int32 into a plane padded with 0 and
// split by column phase (as the float kernel, cpu_avx2.cc), sums each
// window's taps 8 outputs at a time (exact int32, so any order is the
// reference's sum), and applies the output stage with the multiplier (or
// scale) of each output's divisor, precomputed per output position of a
// plane: f32(acc) * m + z_out, clamped, rounded half to even, the scalar
// formula's float32 operations in its order. Bit-exact with the reference.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>

#include "kernels/parallel.h"
#include "ops/int8_chain.h"
#include "ops/kernel_registry.h"
#include "ops/pool_params.h"
#include "ops/quantized_reference.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

#define MIXQ_AVX2 __attribute__((target("avx2")))

constexpr int64_t kLanes = 8;

class Int8AvgPoolAvx2 : public Kernel {
 public:
  const char* Name() const override { return "avx2-int8"; }

  Status Init(const KernelInit& init) {
    std::vector<ValueInfo> real;
    MIXQ_RETURN_IF_ERROR(ReadPoolGeometry(init.attrs, RealValuedInfos(init, 1, &real), false, &g_));
    const bool include_pad = init.attrs.Int("count_include_pad") != 0;
    in_ = ParamsOf(*init.inputs[0]);
    out_ = ParamsOf(init.outputs[0]);
    int_out_ = init.outputs[0].dtype == DataType::INT8;
    out_w_padded_ = (g_.out_w + kLanes - 1) / kLanes * kLanes;
    rows_ = std::max(g_.in_h + g_.pad_top + g_.pad_bottom, (g_.out_h - 1) * g_.stride_h + g_.kernel_h);
    phase_w_ = out_w_padded_ + (g_.kernel_w - 1) / g_.stride_w + 1;
    for (int64_t kh = 0; kh < g_.kernel_h; ++kh)
      for (int64_t kw = 0; kw < g_.kernel_w; ++kw)
        tap_offset_.push_back(((kw % g_.stride_w) * rows_ + kh) * phase_w_ + kw / g_.stride_w);
    // The output stage's constant of every output position of a plane.
    factor_.assign(static_cast<size_t>(g_.out_h * out_w_padded_), 0.0f);
    for (int64_t oh = 0; oh < g_.out_h; ++oh) {
      const int64_t ch =
          AvgPoolAxisCount(oh * g_.stride_h - g_.pad_top, g_.kernel_h, g_.in_h, g_.pad_top, g_.pad_bottom, include_pad);
      for (int64_t ow = 0; ow < g_.out_w; ++ow) {
        const int64_t count = ch * AvgPoolAxisCount(ow * g_.stride_w - g_.pad_left, g_.kernel_w, g_.in_w, g_.pad_left,
                                                    g_.pad_right, include_pad);
        factor_[static_cast<size_t>(oh * out_w_padded_ + ow)] =
            int_out_ ? MeanMultiplier(in_.scale, count, out_.scale) : MeanScale(in_.scale, count);
      }
    }
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int64_t planes = g_.batch * g_.channels;
    const int64_t in_plane = g_.in_h * g_.in_w, out_plane = g_.out_h * g_.out_w;
    const int threads = std::max(1, omp_get_max_threads());
    if (scratch_.size() < static_cast<size_t>(threads)) scratch_.resize(static_cast<size_t>(threads));
    const int8_t* x = in[0].Data<const int8_t>();
#pragma omp parallel for schedule(static) if (planes > 1 && planes * in_plane > kernels::kMinParallelElements)
    for (int64_t p = 0; p < planes; ++p) {
      Scratch& s = scratch_[static_cast<size_t>(omp_get_thread_num())];
      Widen(x + p * in_plane, &s);
      if (int_out_)
        Pool(&s, out[0].Data<int8_t>() + p * out_plane, nullptr);
      else
        Pool(&s, nullptr, out[0].Data<float>() + p * out_plane);
    }
    return Status::OK();
  }

 private:
  struct Scratch {
    std::vector<int32_t> plane;
    std::vector<int8_t> row8;
    std::vector<float> rowf;
  };

  void Widen(const int8_t* x, Scratch* s) const {
    const int64_t sw = g_.stride_w;
    s->plane.assign(static_cast<size_t>(sw * rows_ * phase_w_), 0);
    for (int64_t ih = 0; ih < g_.in_h; ++ih) {
      const int8_t* line = x + ih * g_.in_w;
      const int64_t r = ih + g_.pad_top;
      for (int64_t q = 0; q < sw; ++q) {
        const int64_t first = ((q - g_.pad_left) % sw + sw) % sw;
        int32_t* dst = s->plane.data() + (q * rows_ + r) * phase_w_ + (first + g_.pad_left) / sw;
        const int64_t n = std::min((g_.in_w - first + sw - 1) / sw, phase_w_ - (first + g_.pad_left) / sw);
        for (int64_t t = 0; t < n; ++t) dst[t] = line[first + t * sw] - in_.zero_point;
      }
    }
  }

  // y8: int8 output plane, or yf: float32 output plane.
  MIXQ_AVX2 void Pool(Scratch* s, int8_t* y8, float* yf) const {
    s->row8.resize(static_cast<size_t>(out_w_padded_));
    s->rowf.resize(static_cast<size_t>(out_w_padded_));
    const size_t taps = tap_offset_.size();
    const __m256 zp = _mm256_set1_ps(static_cast<float>(out_.zero_point));
    const __m256 lo = _mm256_set1_ps(-128.0f), hi = _mm256_set1_ps(127.0f);
    for (int64_t oh = 0; oh < g_.out_h; ++oh) {
      const int32_t* base = s->plane.data() + oh * g_.stride_h * phase_w_;
      const float* factor = factor_.data() + oh * out_w_padded_;
      for (int64_t ow = 0; ow < out_w_padded_; ow += kLanes) {
        __m256i acc = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + tap_offset_[0] + ow));
        for (size_t t = 1; t < taps; ++t)
          acc = _mm256_add_epi32(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + tap_offset_[t] + ow)));
        const __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(factor + ow));
        if (yf) {
          _mm256_storeu_ps(s->rowf.data() + ow, v);
          continue;
        }
        const __m256 r = _mm256_round_ps(_mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, zp), lo), hi),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __m256i q = _mm256_cvtps_epi32(r);
        const __m128i q16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(s->row8.data() + ow), _mm_packs_epi16(q16, q16));
      }
      if (yf)
        std::copy(s->rowf.data(), s->rowf.data() + g_.out_w, yf + oh * g_.out_w);
      else
        std::copy(s->row8.data(), s->row8.data() + g_.out_w, y8 + oh * g_.out_w);
    }
  }

  PoolGeometry g_;
  Int8Params in_, out_;
  bool int_out_ = true;
  int64_t rows_ = 0, out_w_padded_ = 0, phase_w_ = 0;
  std::vector<int64_t> tap_offset_;
  std::vector<float> factor_;
  std::vector<Scratch> scratch_;
};

bool Supports(const KernelInit& init) {
  if (init.inputs.size() != 1 || !init.inputs[0] || !RescaleStepSupported(init)) return false;
  if (init.attrs.Str("layout", "NCHW") != "NCHW") return false;
  PoolGeometry g;
  std::vector<ValueInfo> real;
  return ReadPoolGeometry(init.attrs, RealValuedInfos(init, 1, &real), false, &g).ok() && g.out_h > 0 && g.out_w > 0;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<Int8AvgPoolAvx2>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(avg_pool2d, avx2_int8) {
  mixq::ops::RegisterKernel(
      {"avx2-int8", mixq::OpKind::kAvgPool2D, mixq::kernels::Isa::kAvx2, 20, mixq::ops::Supports, mixq::ops::Make});
}
