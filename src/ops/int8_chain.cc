#include "ops/int8_chain.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu_features.h"
#include "kernels/parallel.h"
#include "ops/op_util.h"
#include "quant/quant_math.h"
#include "quant/requantize.h"

namespace mixq::ops {

namespace {

bool StaticPerTensorInt8(const ValueInfo& v) {
  return v.dtype == DataType::INT8 && v.quant && !v.quant->dynamic && v.quant->bits == 8 && v.quant->axis < 0 &&
         v.quant->scales.size() == 1 && v.quant->zero_points.size() == 1;
}

// Codes per chunk of a parallel loop (a multiple of 32, about 64 KiB).
constexpr int64_t kChunk = int64_t{1} << 16;

class Int8LutAvx2 : public Kernel {
 public:
  Int8LutAvx2(const std::array<int8_t, 256>& table, int64_t count, size_t data_input, bool vbmi)
      : table_(table), count_(count), data_input_(data_input), vbmi_(vbmi) {}
  const char* Name() const override { return vbmi_ ? "avx512vbmi-int8-lut" : "avx2-int8-lut"; }
  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int8_t* x = in[data_input_].Data<const int8_t>();
    int8_t* y = out[0].Data<int8_t>();
    const auto lookup = vbmi_ ? LookupInt8Vbmi : LookupInt8Avx2;
    if (count_ <= 4 * kernels::kMinParallelElements) {  // no OpenMP region at all (an inactive one costs too)
      lookup(table_, x, y, count_);
      return Status::OK();
    }
#pragma omp parallel for schedule(static)
    for (int64_t at = 0; at < count_; at += kChunk) lookup(table_, x + at, y + at, std::min(kChunk, count_ - at));
    return Status::OK();
  }

 private:
  std::array<int8_t, 256> table_;
  int64_t count_;
  size_t data_input_;
  bool vbmi_;
};

class FloatLut : public Kernel {
 public:
  FloatLut(const std::array<float, 256>& table, int64_t count, size_t data_input)
      : table_(table), count_(count), data_input_(data_input) {}
  const char* Name() const override { return "avx2-int8-lut"; }
  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int8_t* x = in[data_input_].Data<const int8_t>();
    float* y = out[0].Data<float>();
    for (int64_t i = 0; i < count_; ++i) y[i] = table_[static_cast<size_t>(x[i] + 128)];
    return Status::OK();
  }

 private:
  std::array<float, 256> table_;
  int64_t count_;
  size_t data_input_;
};

}  // namespace

bool IntegerChainStep(const KernelInit& init) {
  if (init.HasPostOps() || init.outputs.size() != 1) return false;
  bool any_quantized = false;
  for (size_t i = 0; i < init.inputs.size(); ++i) {
    const ValueInfo* v = init.inputs[i];
    if (!v) continue;
    if (init.ComputeOf(i) == DataType::QINT8) {
      if (!StaticPerTensorInt8(*v) || v->const_data) return false;
      any_quantized = true;
    } else if (!v->const_data) {
      return false;
    }
  }
  const ValueInfo& out = init.outputs[0];
  return any_quantized && (StaticPerTensorInt8(out) || (out.dtype == DataType::FLOAT32 && !out.narrowed));
}

bool RescaleStepSupported(const KernelInit& init) {
  if (!IntegerChainStep(init) || !ir::IsStatic(init.outputs[0].shape)) return false;
  for (size_t i = 0; i < init.inputs.size(); ++i)
    if (init.inputs[i] && (init.ComputeOf(i) != DataType::QINT8 || !ir::IsStatic(init.inputs[i]->shape))) return false;
  return true;
}

float MeanMultiplier(float in_scale, int64_t count, float out_scale) {
  return count > 0 ? quant::RequantMultiplier(in_scale, 1.0 / static_cast<double>(count), out_scale) : 0.0f;
}

float MeanScale(float in_scale, int64_t count) {
  return count > 0 ? quant::AccumulatorScale(in_scale, 1.0 / static_cast<double>(count)) : 0.0f;
}

Int8Params ParamsOf(const ValueInfo& v) {
  return v.quant ? Int8Params{v.quant->scales[0], v.quant->zero_points[0]} : Int8Params{};
}

std::array<int8_t, 256> Int8LutTable(const RealFunction& f, float in_scale, int32_t in_zero_point, float out_scale,
                                     int32_t out_zero_point) {
  std::array<int8_t, 256> table{};
  for (int32_t q = -128; q <= 127; ++q)
    table[static_cast<size_t>(q + 128)] = static_cast<int8_t>(
        quant::Quantize(f(quant::Dequantize(q, in_scale, in_zero_point)), out_scale, out_zero_point, 8));
  return table;
}

std::array<float, 256> FloatLutTable(const RealFunction& f, float in_scale, int32_t in_zero_point) {
  std::array<float, 256> table{};
  for (int32_t q = -128; q <= 127; ++q)
    table[static_cast<size_t>(q + 128)] = f(quant::Dequantize(q, in_scale, in_zero_point));
  return table;
}

bool LutStepSupported(const KernelInit& init, size_t data_input) {
  if (!IntegerChainStep(init) || data_input >= init.inputs.size() || !init.inputs[data_input]) return false;
  if (init.ComputeOf(data_input) != DataType::QINT8) return false;
  const ValueInfo& x = *init.inputs[data_input];
  return ir::IsStatic(x.shape) && x.shape == init.outputs[0].shape;
}

Status MakeInt8LutReference(LutOp op, const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  if (!LutStepSupported(init, op.data_input))
    return Internal("the int8 lookup-table reference does not take this step");
  const ir::QuantBinding& in = *init.inputs[op.data_input]->quant;
  const float in_scale = in.scales[0];
  const int32_t in_zp = in.zero_points[0];
  const ValueInfo& out = init.outputs[0];
  const bool int_out = out.dtype == DataType::INT8;
  const float out_scale = int_out ? out.quant->scales[0] : 1.0f;
  const int32_t out_zp = int_out ? out.quant->zero_points[0] : 0;
  const int64_t count = ir::ElementCount(out.shape);
  const size_t data = op.data_input;
  return MakeFunctionKernel(
      [f = std::move(op.f), data, count, int_out, in_scale, in_zp, out_scale, out_zp](
          const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs) {
        const int8_t* x = inputs[data].Data<const int8_t>();
        for (int64_t i = 0; i < count; ++i) {
          const float y = f(quant::Dequantize(x[i], in_scale, in_zp));
          if (int_out)
            outputs[0].Data<int8_t>()[i] = static_cast<int8_t>(quant::Quantize(y, out_scale, out_zp, 8));
          else
            outputs[0].Data<float>()[i] = y;
        }
        return Status::OK();
      },
      kernel, "reference-quantized");
}

Status MakeInt8LutAvx2(LutOp op, const KernelInit& init, std::unique_ptr<Kernel>* kernel, bool vbmi) {
  if (!LutStepSupported(init, op.data_input)) return Internal("avx2-int8-lut does not take this step");
  if (vbmi && !VbmiLutOutput(init)) return Internal("avx512vbmi-int8-lut does not take this step");
  const ir::QuantBinding& in = *init.inputs[op.data_input]->quant;
  const ValueInfo& out = init.outputs[0];
  const int64_t count = ir::ElementCount(out.shape);
  if (out.dtype == DataType::INT8)
    *kernel = std::make_unique<Int8LutAvx2>(
        Int8LutTable(op.f, in.scales[0], in.zero_points[0], out.quant->scales[0], out.quant->zero_points[0]), count,
        op.data_input, vbmi);
  else
    *kernel = std::make_unique<FloatLut>(FloatLutTable(op.f, in.scales[0], in.zero_points[0]), count, op.data_input);
  return Status::OK();
}

namespace {

#define MIXQ_AVX2 __attribute__((target("avx2")))

// 32 lookups: u = code + 128; slice k of the table answers u in [16k, 16k + 16)
// by its low nibble; bits 4..7 of u pick the slice, one blend level per bit
// (vpblendvb reads bit 7 of each byte, so u is shifted left to bring bit b
// there; a 16-bit shift moves no bit across a byte's bit 7 for shifts <= 3).
MIXQ_AVX2 inline __m256i Lookup32(const __m256i* slices, __m256i codes) {
  const __m256i u = _mm256_xor_si256(codes, _mm256_set1_epi8(static_cast<char>(0x80)));
  const __m256i low = _mm256_and_si256(u, _mm256_set1_epi8(0x0F));
  __m256i level[16];
  for (int k = 0; k < 16; ++k) level[k] = _mm256_shuffle_epi8(slices[k], low);
  const __m256i bit4 = _mm256_slli_epi16(u, 3), bit5 = _mm256_slli_epi16(u, 2), bit6 = _mm256_slli_epi16(u, 1);
  for (int k = 0; k < 8; ++k) level[k] = _mm256_blendv_epi8(level[2 * k], level[2 * k + 1], bit4);
  for (int k = 0; k < 4; ++k) level[k] = _mm256_blendv_epi8(level[2 * k], level[2 * k + 1], bit5);
  for (int k = 0; k < 2; ++k) level[k] = _mm256_blendv_epi8(level[2 * k], level[2 * k + 1], bit6);
  return _mm256_blendv_epi8(level[0], level[1], u);
}

}  // namespace

MIXQ_AVX2 void LookupInt8Avx2(const std::array<int8_t, 256>& table, const int8_t* x, int8_t* y, int64_t n) {
  __m256i slices[16];
  for (int k = 0; k < 16; ++k)
    slices[k] = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table.data() + 16 * k)));
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i),
                        Lookup32(slices, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i))));
  if (i < n) {
    alignas(32) int8_t tail[32] = {};
    std::memcpy(tail, x + i, static_cast<size_t>(n - i));
    const __m256i r = Lookup32(slices, _mm256_load_si256(reinterpret_cast<const __m256i*>(tail)));
    _mm256_store_si256(reinterpret_cast<__m256i*>(tail), r);
    std::memcpy(y + i, tail, static_cast<size_t>(n - i));
  }
}

#define MIXQ_VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

// u = code + 128 indexes the table: its low 7 bits are the code's, and its
// bit 7 is the code's sign bit flipped, so a negative code reads the first
// half (table[0, 128)) and any other the second; vpermi2b reads index bits
// 0..6 (bit 6 picks its second table register) and ignores bit 7.
namespace {

MIXQ_VBMI inline __m512i Lookup64(__m512i codes, __m512i low_a, __m512i low_b, __m512i high_a, __m512i high_b) {
  const __m512i low = _mm512_permutex2var_epi8(low_a, codes, low_b);
  const __m512i high = _mm512_permutex2var_epi8(high_a, codes, high_b);
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(codes), high, low);  // sign set: the first half
}

}  // namespace

MIXQ_VBMI void LookupInt8Vbmi(const std::array<int8_t, 256>& table, const int8_t* x, int8_t* y, int64_t n) {
  const __m512i low_a = _mm512_loadu_si512(table.data()), low_b = _mm512_loadu_si512(table.data() + 64);
  const __m512i high_a = _mm512_loadu_si512(table.data() + 128), high_b = _mm512_loadu_si512(table.data() + 192);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    _mm512_storeu_si512(y + i, Lookup64(_mm512_loadu_si512(x + i), low_a, low_b, high_a, high_b));
  if (i < n) {
    const __mmask64 tail = ~__mmask64{0} >> (64 - (n - i));
    _mm512_mask_storeu_epi8(y + i, tail, Lookup64(_mm512_maskz_loadu_epi8(tail, x + i), low_a, low_b, high_a, high_b));
  }
}

bool VbmiLutOutput(const KernelInit& init) {
  return Int8LookupVbmiAvailable() && init.outputs.size() == 1 && init.outputs[0].dtype == DataType::INT8;
}

bool Int8LookupVbmiAvailable() {
  return kernels::DetectedCpuFeatures().avx512vbmi && kernels::BestIsa() >= kernels::Isa::kAvx512;
}

}  // namespace mixq::ops
