// The AVX2 Convert kernels against the reference, bit for bit (NaN payloads
// included), over tails (every length 0..40), extremes and exact halves.
#include <gtest/gtest.h>
#include <omp.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "ops/kernel_registry.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

float FromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::vector<float> Values(size_t n, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 100.0f * scale);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float special[] = {0.0f, -0.0f, inf, -inf, nan, -nan, FLT_MAX, -FLT_MAX, 1e-40f, -1e-40f, 65504.f, 65519.99f,
                           65520.f, -65520.f, 6e-8f, 2.5f * scale, -2.5f * scale, 3.5f * scale, 127.5f * scale,
                           -128.5f * scale, 1e30f, -1e30f,
                           // bfloat16: ties to even (down, up), a NaN whose payload is all in the
                           // dropped bits, a negative one, the largest finite float32 (rounds to inf)
                           FromBits(0x3f808000u), FromBits(0x3f818000u), FromBits(0x7f800001u), FromBits(0xff800010u),
                           FromBits(0x7f7fffffu), FromBits(0x00008000u)};
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i % 3 == 0 ? special[(i / 3) % std::size(special)] : normal(rng);
  return v;
}

// Runs `def` on one Convert of `in` (storage in_type) into out_type.
std::vector<uint8_t> Convert(const KernelDef& def, DataType in_type, DataType out_type, const ir::QuantBinding* in_q,
                             const ir::QuantBinding* out_q, const void* data, int64_t n) {
  ValueInfo in{in_type, {n}, nullptr, in_q, true};
  std::vector<ValueInfo> out = {{out_type, {n}, nullptr, out_q, true}};
  std::vector<const ValueInfo*> ins = {&in};
  ir::AttrMap attrs;
  KernelInit init(attrs, ins, out);
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def.supports(init));
  EXPECT_TRUE(def.make(init, &kernel).ok());
  std::vector<uint8_t> result(static_cast<size_t>(n) * DataTypeSize(out_type) + 1, 0xcd);
  RunQuant rq_in{in_q && !in_q->scales.empty() ? in_q->scales[0] : 1.0f,
                 in_q && !in_q->zero_points.empty() ? in_q->zero_points[0] : 0};
  RunQuant rq_out{out_q && !out_q->scales.empty() ? out_q->scales[0] : 1.0f,
                  out_q && !out_q->zero_points.empty() ? out_q->zero_points[0] : 0};
  TensorView vin{in_type, {n}, const_cast<void*>(data), in_q ? &rq_in : nullptr};
  TensorView vout{out_type, {n}, result.data(), out_q ? &rq_out : nullptr};
  EXPECT_TRUE(kernel->Run({vin}, {vout}).ok());
  EXPECT_EQ(result.back(), 0xcd) << "wrote past the end";
  return result;
}

ir::QuantBinding Binding(int bits, float scale, int32_t zero_point) {
  ir::QuantBinding b;
  b.bits = bits;
  b.symmetric = zero_point == 0;
  b.scales = {scale};
  b.zero_points = {zero_point};
  return b;
}

TEST(ConvertAvx2, BitExactWithTheReference) {
  const KernelDef* fast = FindKernel(OpKind::kConvert, "avx2");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2 || kernels::BestIsa() < kernels::Isa::kAvx2)
    GTEST_SKIP() << "no AVX2 + F16C";
  const KernelDef& ref = ReferenceKernel(OpKind::kConvert);
  for (int64_t n = 0; n <= 40; ++n) {
    const auto x = Values(static_cast<size_t>(n), 0.05f, static_cast<uint32_t>(n));
    // float32 -> float16 -> float32
    const auto h_ref = Convert(ref, DataType::FLOAT32, DataType::FLOAT16, nullptr, nullptr, x.data(), n);
    EXPECT_EQ(Convert(*fast, DataType::FLOAT32, DataType::FLOAT16, nullptr, nullptr, x.data(), n), h_ref) << n;
    EXPECT_EQ(Convert(*fast, DataType::FLOAT16, DataType::FLOAT32, nullptr, nullptr, h_ref.data(), n),
              Convert(ref, DataType::FLOAT16, DataType::FLOAT32, nullptr, nullptr, h_ref.data(), n))
        << n;
    // float32 -> bfloat16 -> float32 (ties, NaN payloads, overflow to inf among the values)
    const auto b_ref = Convert(ref, DataType::FLOAT32, DataType::BFLOAT16, nullptr, nullptr, x.data(), n);
    EXPECT_EQ(Convert(*fast, DataType::FLOAT32, DataType::BFLOAT16, nullptr, nullptr, x.data(), n), b_ref) << n;
    EXPECT_EQ(Convert(*fast, DataType::BFLOAT16, DataType::FLOAT32, nullptr, nullptr, b_ref.data(), n),
              Convert(ref, DataType::BFLOAT16, DataType::FLOAT32, nullptr, nullptr, b_ref.data(), n))
        << n;
    for (const auto& [bits, zp] : {std::pair{8, 0}, std::pair{8, -37}, std::pair{16, 0}, std::pair{16, 1201}}) {
      const auto b = Binding(bits, 0.05f, zp);
      const DataType t = bits == 8 ? DataType::INT8 : DataType::INT16;
      const auto q_ref = Convert(ref, DataType::FLOAT32, t, nullptr, &b, x.data(), n);
      EXPECT_EQ(Convert(*fast, DataType::FLOAT32, t, nullptr, &b, x.data(), n), q_ref) << n << " bits " << bits;
      EXPECT_EQ(Convert(*fast, t, DataType::FLOAT32, &b, nullptr, q_ref.data(), n),
                Convert(ref, t, DataType::FLOAT32, &b, nullptr, q_ref.data(), n))
          << n << " bits " << bits;
      // float16 storage (the _float16 modes): quantized from, and dequantized into, float16.
      const auto qh_ref = Convert(ref, DataType::FLOAT16, t, nullptr, &b, h_ref.data(), n);
      EXPECT_EQ(Convert(*fast, DataType::FLOAT16, t, nullptr, &b, h_ref.data(), n), qh_ref) << n << " bits " << bits;
      EXPECT_EQ(Convert(*fast, t, DataType::FLOAT16, &b, nullptr, q_ref.data(), n),
                Convert(ref, t, DataType::FLOAT16, &b, nullptr, q_ref.data(), n))
          << n << " bits " << bits;
    }
  }
  // Longer than the float16 kinds' 1024-element chunks.
  {
    const int64_t n = 2500;
    const auto x = Values(static_cast<size_t>(n), 0.05f, 7);
    const auto h = Convert(ref, DataType::FLOAT32, DataType::FLOAT16, nullptr, nullptr, x.data(), n);
    const auto b = Binding(8, 0.05f, 3);
    const auto q = Convert(ref, DataType::FLOAT16, DataType::INT8, nullptr, &b, h.data(), n);
    EXPECT_EQ(Convert(*fast, DataType::FLOAT16, DataType::INT8, nullptr, &b, h.data(), n), q);
    EXPECT_EQ(Convert(*fast, DataType::INT8, DataType::FLOAT16, &b, nullptr, q.data(), n),
              Convert(ref, DataType::INT8, DataType::FLOAT16, &b, nullptr, q.data(), n));
  }
  // Past the parallel threshold, on two threads: chunks over the threads
  // (1 << 14 each and a tail), every static kind against the reference.
  {
    const int prior = omp_get_max_threads();
    omp_set_num_threads(2);
    const int64_t n = (int64_t{1} << 18) + (int64_t{1} << 14) + 13;
    const auto x = Values(static_cast<size_t>(n), 0.05f, 8);
    const auto h = Convert(ref, DataType::FLOAT32, DataType::FLOAT16, nullptr, nullptr, x.data(), n);
    for (const auto& [bits, zp] : {std::pair{8, -5}, std::pair{16, 77}}) {
      const auto b = Binding(bits, 0.05f, zp);
      const DataType t = bits == 8 ? DataType::INT8 : DataType::INT16;
      const auto q = Convert(ref, DataType::FLOAT32, t, nullptr, &b, x.data(), n);
      EXPECT_EQ(Convert(*fast, DataType::FLOAT32, t, nullptr, &b, x.data(), n), q) << bits;
      EXPECT_EQ(Convert(*fast, t, DataType::FLOAT32, &b, nullptr, q.data(), n),
                Convert(ref, t, DataType::FLOAT32, &b, nullptr, q.data(), n))
          << bits;
      EXPECT_EQ(Convert(*fast, DataType::FLOAT16, t, nullptr, &b, h.data(), n),
                Convert(ref, DataType::FLOAT16, t, nullptr, &b, h.data(), n))
          << bits;
      EXPECT_EQ(Convert(*fast, t, DataType::FLOAT16, &b, nullptr, q.data(), n),
                Convert(ref, t, DataType::FLOAT16, &b, nullptr, q.data(), n))
          << bits;
    }
    omp_set_num_threads(prior);
  }
  // Dynamic quantization: the same range, scale and zero point, the same codes.
  for (const bool symmetric : {true, false}) {
    ir::QuantBinding dyn;
    dyn.dynamic = true;
    dyn.symmetric = symmetric;
    auto x = Values(37, 0.05f, 99);
    for (float& v : x)
      if (std::isinf(v) || std::abs(v) > 1e6f) v = 0.5f;  // an infinite range is an error, in both
    EXPECT_EQ(Convert(*fast, DataType::FLOAT32, DataType::INT8, nullptr, &dyn, x.data(), 37),
              Convert(ref, DataType::FLOAT32, DataType::INT8, nullptr, &dyn, x.data(), 37));
  }
  // A scale so large that dequantized extremes overflow float: both saturate.
  const auto huge = Binding(16, 1e35f, 0);
  std::vector<int16_t> q = {32767, -32768, 1, 0, -1, 12345, -30000, 32767, 7};
  EXPECT_EQ(Convert(*fast, DataType::INT16, DataType::FLOAT32, &huge, nullptr, q.data(), 9),
            Convert(ref, DataType::INT16, DataType::FLOAT32, &huge, nullptr, q.data(), 9));
}

// One dynamic quantize: the run's status, the scale and zero point it chose
// and the codes.
struct DynamicRun {
  bool ok = false;
  float scale = 0.0f;
  int32_t zero_point = 0;
  std::vector<uint8_t> codes;
};

// `in_type` FLOAT16 / BFLOAT16: x rounded to that storage first (the
// _float16 modes' quantized inputs).
DynamicRun RunDynamic(const KernelDef& def, int bits, bool symmetric, const std::vector<float>& x,
                      DataType in_type = DataType::FLOAT32) {
  ir::QuantBinding dyn;
  dyn.dynamic = true;
  dyn.bits = bits;
  dyn.symmetric = symmetric;
  const int64_t n = static_cast<int64_t>(x.size());
  const DataType t = bits == 8 ? DataType::INT8 : DataType::INT16;
  ValueInfo in{in_type, {n}, nullptr, nullptr, true};
  std::vector<ValueInfo> out = {{t, {n}, nullptr, &dyn, true}};
  std::vector<uint16_t> narrow(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    narrow[i] = in_type == DataType::BFLOAT16 ? FloatToBFloat16(x[i]) : FloatToHalf(x[i]);
  std::vector<const ValueInfo*> ins = {&in};
  ir::AttrMap attrs;
  KernelInit init(attrs, ins, out);
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def.supports(init));
  EXPECT_TRUE(def.make(init, &kernel).ok());
  DynamicRun r;
  r.codes.assign(static_cast<size_t>(n) * DataTypeSize(t), 0xcd);
  RunQuant q{-1.0f, 12345};
  TensorView vin{in_type,
                 {n},
                 in_type == DataType::FLOAT32 ? static_cast<void*>(const_cast<float*>(x.data())) : narrow.data(),
                 nullptr};
  TensorView vout{t, {n}, r.codes.data(), &q};
  r.ok = kernel->Run({vin}, {vout}).ok();
  r.scale = q.scale;
  r.zero_point = q.zero_point;
  return r;
}

// Dynamic quantization (the run's own range): the same status, scale, zero
// point and codes as the reference, on one thread and split over two (past
// the step's parallel threshold, an extreme in each half), for 8 and 16
// bits, symmetric and not; rows of NaNs only (the empty range: scale 1),
// negative zeros as the extremes, and an infinity (an error in both); from
// float32, float16 and bfloat16 storage.
TEST(ConvertAvx2, DynamicQuantizeMatchesTheReferenceRangeAndCodes) {
  const KernelDef* fast = FindKernel(OpKind::kConvert, "avx2");
  ASSERT_NE(fast, nullptr);
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2 + F16C";
  const KernelDef& ref = ReferenceKernel(OpKind::kConvert);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const int prior = omp_get_max_threads();
  for (const int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const int64_t n : {int64_t{1}, int64_t{37}, (int64_t{1} << 14) + 77, (int64_t{1} << 17) + 5}) {
      std::vector<float> x = Values(static_cast<size_t>(n), 0.05f, static_cast<uint32_t>(n));
      for (float& v : x)
        if (std::isinf(v) || std::abs(v) > 6e4f) v = 0.5f;     // finite in float16 too
      x[static_cast<size_t>(n - 1)] = n > 1 ? -97.25f : x[0];  // the minimum in the last chunk
      x[static_cast<size_t>(n / 3)] = n > 2 ? 131.0f : x[0];   // the maximum in the first
      std::vector<std::vector<float>> cases = {x, std::vector<float>(static_cast<size_t>(n), nan),
                                               std::vector<float>(static_cast<size_t>(n), -0.0f)};
      std::vector<float> with_inf = x;
      with_inf[static_cast<size_t>(n / 2)] = -std::numeric_limits<float>::infinity();
      cases.push_back(with_inf);
      for (size_t c = 0; c < cases.size(); ++c)
        for (const int bits : {8, 16})
          for (const bool symmetric : {true, false}) {
            SCOPED_TRACE(::testing::Message() << "threads " << threads << " n " << n << " case " << c << " bits "
                                              << bits << (symmetric ? " symmetric" : " asymmetric"));
            for (const DataType in_type : {DataType::FLOAT32, DataType::FLOAT16, DataType::BFLOAT16}) {
              SCOPED_TRACE(DataTypeName(in_type));
              const DynamicRun got = RunDynamic(*fast, bits, symmetric, cases[c], in_type);
              const DynamicRun want = RunDynamic(ref, bits, symmetric, cases[c], in_type);
              ASSERT_EQ(got.ok, want.ok);
              EXPECT_EQ(got.ok, c != 3) << "an infinite range is refused";
              if (!want.ok) continue;
              EXPECT_EQ(got.scale, want.scale);
              EXPECT_EQ(got.zero_point, want.zero_point);
              EXPECT_EQ(got.codes, want.codes);
            }
          }
    }
  }
  omp_set_num_threads(prior);
}

}  // namespace
}  // namespace mixq::ops
