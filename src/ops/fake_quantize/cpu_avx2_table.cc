// "avx2-table": a per-tensor 8-bit FakeQuantize step that carries a kTable
// post-op (runtime/fusion/fuse_qdq_region.cc: the float region after it,
// every value of which is a function of the step's int8 code, tabulated by
// the reference kernels over the 256 codes). Each value is quantized as the
// FakeQuantize reference quantizes it (q = clamp(rint(x / s) + z), NaN -> z:
// ops/quantize_vector.h) and replaced by table[q + 128], eight at a time:
// float32 out, or int8 out when the region's output is quantized next (the
// table then holds that Quantize's codes). Exact by construction: the table
// holds what the separate steps compute. Its input may also be the int8
// codes themselves, written by the operator before it (runtime/lowering.cc:
// the FakeQuantize's quantization as that operator's kQuantize post-op):
// then the step is the lookup alone.
//
// "avx512vbmi-table": the int8 -> int8 form (codes in, a table of codes)
// where the CPU has AVX-512 VBMI, 64 codes per two vpermi2b
// (ops/int8_chain.h, LookupInt8Vbmi) instead of 32 per 16 vpshufb and 15
// blends. PP-OCR rec QDQ's 29 int8 table steps (its hard-swish and swish
// regions): 0.98-1.02 -> 0.19-0.26 ms, sums of step minima at 2 threads
// (AMD Zen 4, `mixq bench --profile-json`, MIXQ_EXCLUDE_KERNELS for before).
#include <immintrin.h>

#include <array>
#include <cfloat>

#include "kernels/parallel.h"
#include "ops/int8_chain.h"
#include "ops/kernel_registry.h"
#include "ops/quantize_vector.h"
#include "quant/quant_math.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

__attribute__((target("avx2"))) void TableRun(const float* x, float* y, int64_t n, float scale, int32_t zero_point,
                                              const float* table) {
  const QuantizeConstants k = MakeQuantizeConstants(scale, zero_point, -128, 127);
  const __m256i offset = _mm256_set1_epi32(128);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i q = _mm256_add_epi32(QuantizeVector(_mm256_loadu_ps(x + i), k), offset);
    _mm256_storeu_ps(y + i, _mm256_i32gather_ps(table, q, 4));
  }
  for (; i < n; ++i) y[i] = table[quant::Quantize(x[i], scale, zero_point, 8) + 128];
}

// The same into int8 codes (a table of codes: the region's output quantized).
__attribute__((target("avx2"))) void CodeTableRun(const float* x, int8_t* y, int64_t n, float scale, int32_t zero_point,
                                                  const int32_t* codes) {
  const QuantizeConstants k = MakeQuantizeConstants(scale, zero_point, -128, 127);
  const __m256i offset = _mm256_set1_epi32(128);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i q = _mm256_add_epi32(QuantizeVector(_mm256_loadu_ps(x + i), k), offset);
    const __m256i v = _mm256_i32gather_epi32(codes, q, 4);
    const __m256i words = _mm256_packs_epi32(v, v);
    const __m256i bytes = _mm256_packs_epi16(words, words);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y + i),
                     _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1)));
  }
  for (; i < n; ++i) y[i] = static_cast<int8_t>(codes[quant::Quantize(x[i], scale, zero_point, 8) + 128]);
}

// From int8 codes (the producer wrote the FakeQuantize's codes): the
// lookup alone, to float32 or to int8 codes.
__attribute__((target("avx2"))) void CodesToTable(const int8_t* x, float* y, int8_t* y_codes, int64_t n,
                                                  const float* table, const int32_t* codes) {
  const __m256i offset = _mm256_set1_epi32(128);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i q =
        _mm256_add_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x + i))), offset);
    if (y) {
      _mm256_storeu_ps(y + i, _mm256_i32gather_ps(table, q, 4));
      continue;
    }
    const __m256i v = _mm256_i32gather_epi32(codes, q, 4);
    const __m256i words = _mm256_packs_epi32(v, v);
    const __m256i bytes = _mm256_packs_epi16(words, words);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y_codes + i),
                     _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1)));
  }
  for (; i < n; ++i) {
    if (y)
      y[i] = table[x[i] + 128];
    else
      y_codes[i] = static_cast<int8_t>(codes[x[i] + 128]);
  }
}

// A table of int8 codes: 256 integers in [-128, 127].
bool CodeTable(const std::vector<float>& table) {
  for (float v : table)
    if (!(v >= -128.0f && v <= 127.0f) || v != static_cast<float>(static_cast<int32_t>(v))) return false;
  return true;
}

class TableAvx2 : public Kernel {
 public:
  explicit TableAvx2(bool vbmi) : vbmi_(vbmi) {}
  const char* Name() const override { return vbmi_ ? "avx512vbmi-table" : "avx2-table"; }
  Status Init(const KernelInit& init) {
    scale_ = init.attrs.Floats("scales")[0];
    zero_point_ = static_cast<int32_t>(init.attrs.Ints("zero_points")[0]);
    table_ = init.post_ops->front().table;
    int8_out_ = init.outputs[0].dtype == DataType::INT8;
    int8_in_ = init.inputs[0]->dtype == DataType::INT8;
    if (int8_out_)
      for (float v : *table_) codes_.push_back(static_cast<int32_t>(v));
    for (size_t c = 0; c < codes_.size(); ++c) bytes_[c] = static_cast<int8_t>(codes_[c]);
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int64_t n = in[0].Count(), chunk = 4096, chunks = (n + chunk - 1) / chunk;
    if (vbmi_) {  // int8 in and out (SupportsVbmi)
      const auto* x = in[0].Data<const int8_t>();
      auto* y = out[0].Data<int8_t>();
      if (n <= kernels::kMinParallelElements) {
        LookupInt8Vbmi(bytes_, x, y, n);
        return Status::OK();
      }
#pragma omp parallel for schedule(static)
      for (int64_t c = 0; c < chunks; ++c)
        LookupInt8Vbmi(bytes_, x + c * chunk, y + c * chunk, std::min(chunk, n - c * chunk));
      return Status::OK();
    }
#pragma omp parallel for schedule(static) if (n > kernels::kMinParallelElements)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t at = c * chunk, count = std::min(chunk, n - at);
      if (int8_in_ && int8_out_) {  // codes to codes: 32 at a time with vpshufb (a gather per 8 is slower)
        LookupInt8Avx2(bytes_, in[0].Data<const int8_t>() + at, out[0].Data<int8_t>() + at, count);
        continue;
      }
      if (int8_in_) {
        CodesToTable(in[0].Data<const int8_t>() + at, int8_out_ ? nullptr : out[0].Data<float>() + at,
                     int8_out_ ? out[0].Data<int8_t>() + at : nullptr, count, table_->data(), codes_.data());
        continue;
      }
      const float* x = in[0].Data<const float>();
      if (int8_out_)
        CodeTableRun(x + at, out[0].Data<int8_t>() + at, count, scale_, zero_point_, codes_.data());
      else
        TableRun(x + at, out[0].Data<float>() + at, count, scale_, zero_point_, table_->data());
    }
    return Status::OK();
  }

 private:
  bool vbmi_ = false;
  float scale_ = 1.0f;
  int32_t zero_point_ = 0;
  std::shared_ptr<const std::vector<float>> table_;
  bool int8_out_ = false, int8_in_ = false;
  std::vector<int32_t> codes_;       // int8 out: the table as int32 codes
  std::array<int8_t, 256> bytes_{};  // ... and as bytes (int8 in and out)
};

bool Supports(const KernelInit& init) {
  if (!kernels::DetectedCpuFeatures().avx2 || !init.post_ops || init.post_ops->size() != 1) return false;
  const PostOp& op = init.post_ops->front();
  if (op.kind != PostOp::Kind::kTable || !op.table || op.table->size() != 256) return false;
  if (init.inputs.size() != 1 || !init.inputs[0] || init.outputs.size() != 1) return false;
  const ValueInfo& x = *init.inputs[0];
  const ValueInfo& y = init.outputs[0];
  // float32 out, or int8 codes (a static per-tensor quantization, a table of codes).
  const bool float_out = y.dtype == DataType::FLOAT32 && !y.narrowed;
  const bool int8_out = y.dtype == DataType::INT8 && y.quant && !y.quant->dynamic && CodeTable(*op.table);
  const std::vector<float> scales = init.attrs.Floats("scales");
  const std::vector<int64_t> zero_points = init.attrs.Ints("zero_points");
  if (init.attrs.Int("bits", 8) != 8 || init.attrs.Int("axis", -1) >= 0 || scales.size() != 1 ||
      zero_points.size() != 1 || !(scales[0] > 0.0f && scales[0] <= FLT_MAX))
    return false;
  // float32 in, or the FakeQuantize's own codes (the same scale and zero point).
  const bool float_in = x.dtype == DataType::FLOAT32 && !x.narrowed;
  const bool codes_in = x.dtype == DataType::INT8 && x.quant && !x.quant->dynamic && x.quant->scales.size() == 1 &&
                        x.quant->zero_points.size() == 1 && x.quant->scales[0] == scales[0] &&
                        x.quant->zero_points[0] == zero_points[0];
  return (float_in || codes_in) && (float_out || int8_out) && ir::IsStatic(x.shape) && x.shape == y.shape;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  if (!Supports(init)) return Internal("avx2-table does not take this step");
  auto k = std::make_unique<TableAvx2>(false);
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

// int8 codes in and out (the lookup alone).
bool SupportsVbmi(const KernelInit& init) {
  return Int8LookupVbmiAvailable() && Supports(init) && init.inputs[0]->dtype == DataType::INT8 &&
         init.outputs[0].dtype == DataType::INT8;
}

Status MakeVbmi(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  if (!SupportsVbmi(init)) return Internal("avx512vbmi-table does not take this step");
  auto k = std::make_unique<TableAvx2>(true);
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(fake_quantize, avx2_table) {
  mixq::ops::RegisterKernel(
      {"avx2-table", mixq::OpKind::kFakeQuantize, mixq::kernels::Isa::kAvx2, 20, mixq::ops::Supports, mixq::ops::Make});
  mixq::ops::RegisterKernel({"avx512vbmi-table", mixq::OpKind::kFakeQuantize, mixq::kernels::Isa::kAvx512, 25,
                             mixq::ops::SupportsVbmi, mixq::ops::MakeVbmi});
}
