// LayerNorm on AVX-512: the AVX2 kernel's double arithmetic (cpu_avx2.cc:
// the mean and the centred sum of squares in double, two passes, then
// ((x - mean) * inv_std) * scale + bias in double, rounded once), eight
// doubles a vector. The row is widened to double once, into the thread's
// buffer (6 KB for BERT's 768), which the second and third passes read
// instead of converting again; scale and bias are kept in double. On
// float16 / bfloat16 storage ("avx512-f16", "avx512-bf16") the input is
// widened and the output rounded in registers: the "avx512" float32
// kernel's bits between Cast steps, without the chunked wrappers' passes.
// BERT's 128 x 768 LayerNorm, 1 thread, AMX Xeon: float32 0.055 -> 0.045
// ms, float16 storage 0.075 -> 0.040, bfloat16 0.090 -> 0.050 (against
// "avx2" and the chunked "avx2-f16" / "avx2-bf16").
//
// Tolerance as the AVX2 kernel's (only the summation order differs from the
// reference): |y - ref| <= 2^-23 |ref| + 1e-15 (1 + |bias|). Built with
// -ffp-contract=off (CMakeLists.txt): the products and sums stay unfused,
// as the reference's.
#include <immintrin.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "kernels/avx512_warnings.h"
#include "kernels/cpu_features.h"
#include "kernels/half_io.h"
#include "kernels/narrow16_avx512.h"
#include "kernels/parallel.h"
#include "kernels/thread_scratch.h"
#include "ops/half_storage.h"
#include "ops/kernel_registry.h"
#include "ops/layer_norm/normalized_block.h"
#include "util/status_util.h"

MIXQ_AVX512_WARNINGS_OFF  // kernels/avx512_warnings.h

namespace mixq::ops {

namespace {

#define MIXQ_LN512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,f16c"), always_inline)) inline

using kernels::BFloat16Bits;

using kernels::Lanes16;
using kernels::Load16;
using kernels::Store16;

MIXQ_LN512 __m512d Low8(__m512 v) {
  return _mm512_cvtps_pd(_mm512_castps512_ps256(v));
}
MIXQ_LN512 __m512d High8(__m512 v) {
  return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}
MIXQ_LN512 double Sum(__m512d a, __m512d b, __m512d c, __m512d d) {
  return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(a, b), _mm512_add_pd(c, d)));
}

// Passes 1 and 2 of one row of n values: the row widened into `xd` (n + 16
// doubles, zeros past n), its mean and 1 / sqrt(variance + epsilon).
template <typename In>
__attribute__((target("avx512f,avx512bw,avx512vl,avx2,f16c"))) void RowStats(const In* x, double* xd, int64_t n,
                                                                             double epsilon, double* mean_out,
                                                                             double* inv_out) {
  // The values in double (0 past the end), summed on four chains.
  __m512d s[4] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd()};
  int64_t k = 0;
  for (; k + 32 <= n; k += 32) {
    const __m512 a = Load16(x + k, 0xFFFF), b = Load16(x + k + 16, 0xFFFF);
    const __m512d v[4] = {Low8(a), High8(a), Low8(b), High8(b)};
    for (int j = 0; j < 4; ++j) {
      _mm512_storeu_pd(xd + k + 8 * j, v[j]);
      s[j] = _mm512_add_pd(s[j], v[j]);
    }
  }
  for (; k < n; k += 16) {
    const __m512 a = Load16(x + k, Lanes16(n - k));
    const __m512d lo = Low8(a), hi = High8(a);
    _mm512_storeu_pd(xd + k, lo);
    _mm512_storeu_pd(xd + k + 8, hi);
    s[0] = _mm512_add_pd(s[0], lo);
    s[1] = _mm512_add_pd(s[1], hi);
  }
  const double mean = Sum(s[0], s[1], s[2], s[3]) / static_cast<double>(n);
  const __m512d m = _mm512_set1_pd(mean);
  // The centred squares; the padding past n (zeros) is masked out.
  for (auto& v : s) v = _mm512_setzero_pd();
  for (k = 0; k + 32 <= n; k += 32)
    for (int j = 0; j < 4; ++j) {
      const __m512d d = _mm512_sub_pd(_mm512_loadu_pd(xd + k + 8 * j), m);
      s[j] = _mm512_add_pd(s[j], _mm512_mul_pd(d, d));
    }
  for (; k < n; k += 8) {
    const __mmask8 lanes = n - k >= 8 ? static_cast<__mmask8>(0xFF) : static_cast<__mmask8>((1u << (n - k)) - 1);
    const __m512d d = _mm512_maskz_sub_pd(lanes, _mm512_loadu_pd(xd + k), m);
    s[0] = _mm512_add_pd(s[0], _mm512_mul_pd(d, d));
  }
  const double var = Sum(s[0], s[1], s[2], s[3]) / static_cast<double>(n);
  *mean_out = mean;
  *inv_out = 1.0 / std::sqrt(var + epsilon);
}

// ((x - mean) * inv_std) * scale + bias for the 16 values at xd + k, rounded
// once to float32; past n (the lanes not in `lanes`) scale / bias are not
// read.
MIXQ_LN512 __m512 Output16(const double* xd, const double* scale, const double* bias, int64_t k, __m512d m, __m512d inv,
                           __mmask16 lanes) {
  __m512d v[2];
  for (int j = 0; j < 2; ++j) {
    const __mmask8 half = static_cast<__mmask8>(lanes >> (8 * j));
    v[j] = _mm512_mul_pd(_mm512_mul_pd(_mm512_sub_pd(_mm512_loadu_pd(xd + k + 8 * j), m), inv),
                         _mm512_maskz_loadu_pd(half, scale + k + 8 * j));
    if (bias) v[j] = _mm512_add_pd(v[j], _mm512_maskz_loadu_pd(half, bias + k + 8 * j));
  }
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm512_cvtpd_ps(v[0]))),
                                             _mm256_castps_pd(_mm512_cvtpd_ps(v[1])), 1));
}

// Pass 3, stored as Out.
template <typename Out>
__attribute__((target("avx512f,avx512bw,avx512vl,avx2,f16c"))) void RowOutput(const double* xd, const double* scale,
                                                                              const double* bias, double mean,
                                                                              double inv_std, Out* y, int64_t n) {
  const __m512d m = _mm512_set1_pd(mean), inv = _mm512_set1_pd(inv_std);
  for (int64_t k = 0; k < n; k += 16) {
    const __mmask16 lanes = Lanes16(n - k);
    Store16(y + k, Output16(xd, scale, bias, k, m, inv, lanes), lanes);
  }
}
// The same into bfloat16 through vcvtneps2bf16 (kernels/narrow16_avx512.h).
__attribute__((target(MIXQ_BFLOAT16_NATIVE_TARGET))) void RowOutputNative(const double* xd, const double* scale,
                                                                          const double* bias, double mean,
                                                                          double inv_std, BFloat16Bits* y, int64_t n) {
  const __m512d m = _mm512_set1_pd(mean), inv = _mm512_set1_pd(inv_std);
  for (int64_t k = 0; k < n; k += 16) {
    const __mmask16 lanes = Lanes16(n - k);
    kernels::StoreBFloat16x16Native(reinterpret_cast<uint16_t*>(y + k), Output16(xd, scale, bias, k, m, inv, lanes),
                                    lanes);
  }
}

#undef MIXQ_LN512

// kernels::ThreadScratch slot for the row in double (the slots are per
// thread and shared by all kernels: one that no kernel running inside this
// one's parallel region uses).
constexpr int kRowSlot = 0;

enum class Storage { kFloat32, kFloat16, kBFloat16 };

class LayerNormAvx512 : public Kernel {
 public:
  LayerNormAvx512(const char* name, Storage in, Storage out, int64_t rows, int64_t n, double epsilon)
      : name_(name), in_(in), out_(out), rows_(rows), n_(n), epsilon_(epsilon) {}
  const char* Name() const override { return name_; }

  // The parameters in double, one per element (a single value repeated).
  static void Widen(const float* p, int64_t count, int64_t n, std::vector<double>* to) {
    to->resize(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) (*to)[static_cast<size_t>(j)] = p[count == 1 ? 0 : j];
  }
  void SetConstants(const ValueInfo* scale, const ValueInfo* bias) {
    has_bias_ = bias != nullptr;
    if (scale->const_data) {
      Widen(static_cast<const float*>(scale->const_data), ir::ElementCount(scale->shape), n_, &scale_);
      scale_fixed_ = true;
    }
    if (bias && bias->const_data) {
      Widen(static_cast<const float*>(bias->const_data), ir::ElementCount(bias->shape), n_, &bias_);
      bias_fixed_ = true;
    }
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    if (!scale_fixed_) Widen(in[1].Data<const float>(), ir::ElementCount(in[1].shape), n_, &scale_);
    const bool bias = has_bias_ && in.size() > 2 && in[2].data;
    if (bias && !bias_fixed_) Widen(in[2].Data<const float>(), ir::ElementCount(in[2].shape), n_, &bias_);
    const void* x = in[0].data;
    void* y = out[0].data;
    const double* scale = scale_.data();
    const double* bias_d = bias ? bias_.data() : nullptr;
    const size_t row_bytes = static_cast<size_t>(n_ + 16) * sizeof(double);
    bool out_of_memory = false;
#pragma omp parallel for schedule(static) if (rows_ > 1 && rows_ * n_ > kernels::kMinParallelElements)
    for (int64_t r = 0; r < rows_; ++r) {
      auto* xd = static_cast<double*>(kernels::ThreadScratch(kRowSlot, row_bytes));
      if (!xd) {
        out_of_memory = true;
        continue;
      }
      RunRow(x, y, r * n_, scale, bias_d, xd);
    }
    if (out_of_memory) return ResourceExhausted("LayerNorm avx512: no memory for a row in double");
    return Status::OK();
  }

 private:
  template <typename In>
  void RunRowFrom(const In* x, void* y, int64_t at, const double* scale, const double* bias, double* xd) const {
    double mean = 0, inv = 0;
    RowStats(x, xd, n_, epsilon_, &mean, &inv);
    switch (out_) {
      case Storage::kFloat32:
        return RowOutput(xd, scale, bias, mean, inv, static_cast<float*>(y) + at, n_);
      case Storage::kFloat16:
        return RowOutput(xd, scale, bias, mean, inv, static_cast<uint16_t*>(y) + at, n_);
      case Storage::kBFloat16:
        if (native_bfloat16_)
          return RowOutputNative(xd, scale, bias, mean, inv, static_cast<BFloat16Bits*>(y) + at, n_);
        return RowOutput(xd, scale, bias, mean, inv, static_cast<BFloat16Bits*>(y) + at, n_);
    }
  }
  void RunRow(const void* x, void* y, int64_t at, const double* scale, const double* bias, double* xd) const {
    switch (in_) {
      case Storage::kFloat32:
        return RunRowFrom(static_cast<const float*>(x) + at, y, at, scale, bias, xd);
      case Storage::kFloat16:
        return RunRowFrom(static_cast<const uint16_t*>(x) + at, y, at, scale, bias, xd);
      case Storage::kBFloat16:
        return RunRowFrom(static_cast<const BFloat16Bits*>(x) + at, y, at, scale, bias, xd);
    }
  }

  const char* name_;
  Storage in_, out_;
  int64_t rows_, n_;
  double epsilon_;
  bool has_bias_ = false, scale_fixed_ = false, bias_fixed_ = false;
  const bool native_bfloat16_ = kernels::DetectedCpuFeatures().avx512bf16;  // vcvtneps2bf16
  std::vector<double> scale_, bias_;
};

// Plain FLOAT32, one value or one per element of the block.
bool ParamFits(const ValueInfo* param, int64_t n) {
  if (!param) return true;
  const int64_t count = ir::ElementCount(param->shape);
  return param->dtype == DataType::FLOAT32 && !param->narrowed && param->layout == MemoryLayout::kPlain &&
         ir::IsStatic(param->shape) && (count == 1 || count == n);
}

Storage StorageOf(const ValueInfo& v) {
  if (IsNarrowStorage(v, DataType::FLOAT16)) return Storage::kFloat16;
  if (IsNarrowStorage(v, DataType::BFLOAT16)) return Storage::kBFloat16;
  return Storage::kFloat32;
}

// kNarrow FLOAT32: the float32 kernel (plain FLOAT32 throughout);
// else input and output each FLOAT32 or `narrow` storage, one of them narrow.
template <DataType kNarrow>
bool Supports(const KernelInit& init) {
  if (kernels::BestIsa() < kernels::Isa::kAvx512) return false;
  if (init.HasPostOps() || init.inputs.size() < 2 || init.inputs.size() > 3 || !init.inputs[0] || !init.inputs[1] ||
      init.outputs.size() != 1 || !ir::IsStatic(init.inputs[0]->shape))
    return false;
  if constexpr (kNarrow == DataType::FLOAT32) {
    if (!AllPlainFloat32(init)) return false;
  } else {
    if (!NarrowOrFloatStorage(init, kNarrow)) return false;
    for (const ValueInfo* v : {init.inputs[0], static_cast<const ValueInfo*>(&init.outputs[0])})
      if (v->layout != MemoryLayout::kPlain) return false;
  }
  if (init.outputs[0].shape != init.inputs[0]->shape) return false;
  int64_t rows, n;
  return LayerNormBlock(init, &rows, &n) && ParamFits(init.inputs[1], n) &&
         ParamFits(init.inputs.size() > 2 ? init.inputs[2] : nullptr, n);
}

template <DataType kNarrow>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  if (!Supports<kNarrow>(init)) return Internal("LayerNorm avx512: not a step this kernel takes");
  int64_t rows = 0, n = 0;
  LayerNormBlock(init, &rows, &n);
  const char* name = kNarrow == DataType::FLOAT16    ? "avx512-f16"
                     : kNarrow == DataType::BFLOAT16 ? "avx512-bf16"
                                                     : "avx512";
  auto k = std::make_unique<LayerNormAvx512>(name, StorageOf(*init.inputs[0]), StorageOf(init.outputs[0]), rows, n,
                                             init.attrs.Float("epsilon", 1e-5f));
  k->SetConstants(init.inputs[1], init.inputs.size() > 2 ? init.inputs[2] : nullptr);
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_AVX512_WARNINGS_ON

MIXQ_REGISTER_KERNELS(layer_norm, avx512) {
  // Above "avx2" / "avx2-f16" / "avx2-bf16" (10) where AVX-512 is there.
  mixq::ops::RegisterKernel({"avx512", mixq::OpKind::kLayerNorm, mixq::kernels::Isa::kAvx512, 11,
                             mixq::ops::Supports<mixq::DataType::FLOAT32>, mixq::ops::Make<mixq::DataType::FLOAT32>});
  mixq::ops::RegisterKernel({"avx512-f16", mixq::OpKind::kLayerNorm, mixq::kernels::Isa::kAvx512, 11,
                             mixq::ops::Supports<mixq::DataType::FLOAT16>, mixq::ops::Make<mixq::DataType::FLOAT16>});
  mixq::ops::RegisterKernel({"avx512-bf16", mixq::OpKind::kLayerNorm, mixq::kernels::Isa::kAvx512, 11,
                             mixq::ops::Supports<mixq::DataType::BFLOAT16>, mixq::ops::Make<mixq::DataType::BFLOAT16>});
}
