// The vectorized output-stage rows (ops/int8_output_stage.h) against a scalar
// oracle written here from SPEC §1.5 and the reference's activation
// formulas: every row length around the 8- and 32-element steps (the 4-way
// interleaved main loop, the 8-wide loop, the scalar tail), every post-op
// kind alone and chained (hard_swish, scalars, leaky relu, clamps, float32 and
// float16 residual addends), int8 and float32 / float16 outputs, bit for bit.
#include "ops/int8_output_stage.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "kernels/cpu_features.h"
#include "kernels/int16_requant.h"
#include "quant/requantize.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

StagePostOp Op(StagePostOp::Kind kind, float lo = 0.0f, float hi = 0.0f, int addend = -1) {
  StagePostOp op;
  op.kind = kind;
  op.lo = lo;
  op.hi = hi;
  op.addend = addend;
  return op;
}

// The post-ops on one element's float value y, as the reference computes them.
float OracleChain(float y, const std::vector<StagePostOp>& ops, const std::vector<FloatAddend>& addends, int64_t e) {
  for (const StagePostOp& op : ops) {
    switch (op.kind) {
      case StagePostOp::Kind::kClip:
        y = std::min(std::max(y, op.lo), op.hi);  // maxps then minps: NaN -> lo
        if (std::isnan(y)) y = op.lo;
        break;
      case StagePostOp::Kind::kLeaky:
        y = y < 0.0f ? op.lo * y : y;
        break;
      case StagePostOp::Kind::kHardSwish: {
        const double x = y, v = x / 6.0 + 0.5;
        y = static_cast<float>(x * (v < 0 ? 0.0 : v > 1 ? 1.0 : v));
        break;
      }
      case StagePostOp::Kind::kMul:
        y = y * op.lo;
        break;
      case StagePostOp::Kind::kAddScalar:
        y = y + op.lo;
        break;
      case StagePostOp::Kind::kAdd: {
        const FloatAddend& a = addends[static_cast<size_t>(op.addend)];
        y = y + (a.dtype == DataType::FLOAT16 ? HalfToFloat(static_cast<const uint16_t*>(a.data)[e])
                                              : static_cast<const float*>(a.data)[e]);
        break;
      }
    }
  }
  return y;
}

// The chain on one element, as the reference computes it: int32 (int8
// operands) or int64 (int16 operands) accumulators, one rounding to float32.
float OracleValue(int64_t acc, const ChannelStage& c, const std::vector<StagePostOp>& ops,
                  const std::vector<FloatAddend>& addends, int64_t e) {
  const float y = static_cast<float>(acc + c.int_bias) + c.bias;
  return OracleChain(y * c.multiplier, ops, addends, e);
}

int8_t OracleQuantize(float y, float scale, int32_t zp) {
  const float v = y / scale;
  if (std::isnan(v)) return static_cast<int8_t>(zp);
  const float r = std::nearbyint(v) + static_cast<float>(zp);
  return static_cast<int8_t>(std::min(std::max(r, -128.0f), 127.0f));
}

TEST(Int8OutputStage, RowsMatchTheScalarFormulaForEveryLengthAndPostOp) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2 || kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> code(-40000, 40000);
  std::uniform_real_distribution<float> real(-4.0f, 4.0f);
  const int64_t longest = 140;
  std::vector<float> add32(static_cast<size_t>(longest));
  std::vector<uint16_t> add16(static_cast<size_t>(longest));
  for (int64_t e = 0; e < longest; ++e) {
    add32[static_cast<size_t>(e)] = real(rng);
    add16[static_cast<size_t>(e)] = FloatToHalf(real(rng));
  }
  const std::vector<FloatAddend> addends = {{DataType::FLOAT32, add32.data()}, {DataType::FLOAT16, add16.data()}};
  using K = StagePostOp::Kind;
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<std::vector<StagePostOp>> chains = {
      {},
      {Op(K::kHardSwish), Op(K::kMul, 1.7f), Op(K::kAddScalar, -0.3f)},  // PP-LCNet's hard_swish + affine
      {Op(K::kClip, 0.0f, 6.0f)},
      {Op(K::kClip, 0.0f, inf)},
      {Op(K::kLeaky, 0.1f)},
      {Op(K::kAdd, 0, 0, 0), Op(K::kClip, 0.0f, inf)},
      {Op(K::kAdd, 0, 0, 1), Op(K::kHardSwish), Op(K::kAdd, 0, 0, 0)},
  };
  ChannelStage stage;
  stage.int_bias = 123;
  stage.bias = 0.37f;
  stage.multiplier = 1.3e-4f;
  const float out_scale = 0.021f;
  const int32_t out_zp = -5;
  for (const int64_t n : {1, 5, 8, 15, 16, 17, 31, 32, 33, 39, 63, 64, 65, 71, 96, 140}) {
    std::vector<int32_t> acc(static_cast<size_t>(n));
    for (auto& a : acc) a = code(rng);
    acc[0] = 2'000'000'000;  // far beyond the output range: clamps
    for (size_t ci = 0; ci < chains.size(); ++ci) {
      const auto& ops = chains[ci];
      SCOPED_TRACE("n " + std::to_string(n) + " chain " + std::to_string(ci));
      // The dispatcher and each form this CPU runs (the AVX-512 one: 64- and 16-element steps, the rest
      // through the AVX2 form).
      using QuantizedRow = void (*)(const int32_t*, int64_t, const ChannelStage&, const std::vector<StagePostOp>&,
                                    const std::vector<FloatAddend>&, int64_t, float, int32_t, int8_t*);
      std::vector<QuantizedRow> forms = {
          [](const int32_t* a, int64_t n, const ChannelStage& c, const std::vector<StagePostOp>& p,
             const std::vector<FloatAddend>& d, int64_t o, float s, int32_t z,
             int8_t* q) { DequantizeQuantizeRowToInt8(a, n, c, p, d, o, s, z, q); },
          [](const int32_t* a, int64_t n, const ChannelStage& c, const std::vector<StagePostOp>& p,
             const std::vector<FloatAddend>& d, int64_t o, float s, int32_t z,
             int8_t* q) { DequantizeQuantizeRowToInt8Avx2(a, n, c, p, d, o, s, z, q); }};
      if (kernels::BestIsa() >= kernels::Isa::kAvx512)
        forms.push_back([](const int32_t* a, int64_t n, const ChannelStage& c, const std::vector<StagePostOp>& p,
                           const std::vector<FloatAddend>& d, int64_t o, float s, int32_t z,
                           int8_t* q) { DequantizeQuantizeRowToInt8Avx512(a, n, c, p, d, o, s, z, q); });
      std::vector<std::vector<int8_t>> quantized;
      for (QuantizedRow form : forms) {
        quantized.emplace_back(static_cast<size_t>(n));
        form(acc.data(), n, stage, ops, addends, 0, out_scale, out_zp, quantized.back().data());
      }
      std::vector<float> f(static_cast<size_t>(n));
      DequantizeRow(acc.data(), n, stage, ops, addends, 0, DataType::FLOAT32, f.data(), 0);
      std::vector<uint16_t> h(static_cast<size_t>(n));
      DequantizeRow(acc.data(), n, stage, ops, addends, 0, DataType::FLOAT16, h.data(), 0);
      for (int64_t e = 0; e < n; ++e) {
        const float want = OracleValue(acc[static_cast<size_t>(e)], stage, ops, addends, e);
        for (size_t form = 0; form < quantized.size(); ++form)
          ASSERT_EQ(quantized[form][static_cast<size_t>(e)], OracleQuantize(want, out_scale, out_zp))
              << "form " << form << " element " << e;
        ASSERT_EQ(std::bit_cast<uint32_t>(f[static_cast<size_t>(e)]), std::bit_cast<uint32_t>(want))
            << "element " << e << ": " << f[static_cast<size_t>(e)] << " vs " << want;
        ASSERT_EQ(h[static_cast<size_t>(e)], FloatToHalf(want)) << "element " << e;
      }
    }
    // The int64 rows of the qint16 kernels (float outputs, and a fused
    // Quantize to INT16), through each form: sums past 2^24 (rounded once to
    // float32), past 2^51 in one block (the AVX-512 form hands that block to
    // the AVX2 one), and the int32 ones above.
    {
      std::vector<int64_t> acc64(acc.begin(), acc.end());
      for (size_t e = 3; e < acc64.size(); e += 4) acc64[e] = int64_t{acc[e]} * 4099;
      // Past 2^51 in the first 64-element block, or (n >= 128) in the second, after one block of the
      // AVX-512 forms' 64-element steps.
      if (n > 20) acc64[n >= 128 ? 100 : 20] = (int64_t{1} << 52) + 7;
      using Row64 = void (*)(const int64_t*, int64_t, const ChannelStage&, const std::vector<StagePostOp>&,
                             const std::vector<FloatAddend>&, int64_t, DataType, void*, int64_t);
      using Quantized64 = void (*)(const int64_t*, int64_t, const ChannelStage&, const std::vector<StagePostOp>&,
                                   const std::vector<FloatAddend>&, int64_t, float, int32_t, int16_t*);
      std::vector<Row64> rows64 = {DequantizeRow64, DequantizeRow64Avx2};
      std::vector<Quantized64> quantized64 = {
          [](const int64_t* a, int64_t n, const ChannelStage& c, const std::vector<StagePostOp>& p,
             const std::vector<FloatAddend>& d, int64_t o, float s, int32_t z,
             int16_t* q) { DequantizeQuantizeRow64ToInt16(a, n, c, p, d, o, s, z, q); },
          DequantizeQuantizeRow64ToInt16Avx2};
      if (kernels::BestIsa() >= kernels::Isa::kAvx512) {
        rows64.push_back(DequantizeRow64Avx512);
        quantized64.push_back([](const int64_t* a, int64_t n, const ChannelStage& c, const std::vector<StagePostOp>& p,
                                 const std::vector<FloatAddend>& d, int64_t o, float s, int32_t z,
                                 int16_t* q) { DequantizeQuantizeRow64ToInt16Avx512(a, n, c, p, d, o, s, z, q); });
      }
      const float scale16 = 3.0e-4f;
      // The forms from sums held as doubles (avx512-int16-dw's): exact integers below 2^51, so the sum
      // past that becomes one just below it.
      std::vector<double> sums(acc64.size());
      for (size_t e = 0; e < sums.size(); ++e)
        sums[e] = static_cast<double>(acc64[e] > (int64_t{1} << 51) ? (int64_t{1} << 50) + 3 : acc64[e]);
      std::vector<int64_t> sums64(sums.begin(), sums.end());
      for (size_t ci = 0; ci < chains.size() && kernels::BestIsa() >= kernels::Isa::kAvx512; ++ci) {
        const auto& ops = chains[ci];
        std::vector<float> f(static_cast<size_t>(n));
        std::vector<uint16_t> h(static_cast<size_t>(n));
        std::vector<int16_t> q(static_cast<size_t>(n));
        DequantizeRowF64Avx512(sums.data(), n, stage, ops, addends, 0, DataType::FLOAT32, f.data(), 0);
        DequantizeRowF64Avx512(sums.data(), n, stage, ops, addends, 0, DataType::FLOAT16, h.data(), 0);
        DequantizeQuantizeRowF64ToInt16Avx512(sums.data(), n, stage, ops, addends, 0, scale16, out_zp, q.data());
        for (int64_t e = 0; e < n; ++e) {
          const float want = OracleValue(sums64[static_cast<size_t>(e)], stage, ops, addends, e);
          ASSERT_EQ(std::bit_cast<uint32_t>(f[static_cast<size_t>(e)]), std::bit_cast<uint32_t>(want))
              << "double sums, chain " << ci << " n " << n << " element " << e;
          ASSERT_EQ(h[static_cast<size_t>(e)], FloatToHalf(want)) << "double sums, element " << e;
          ASSERT_EQ(q[static_cast<size_t>(e)], static_cast<int16_t>(quant::Quantize(want, scale16, out_zp, 16)))
              << "double sums, chain " << ci << " n " << n << " element " << e;
        }
        // A stage whose constants are not finite (an infinite bias): every element through the AVX2 forms,
        // 16 at a time, the same as they give on the int64 sums.
        ChannelStage infinite = stage;
        infinite.bias = std::numeric_limits<float>::infinity();
        std::vector<float> f_want(static_cast<size_t>(n));
        std::vector<int16_t> q_want(static_cast<size_t>(n));
        DequantizeRowF64Avx512(sums.data(), n, infinite, ops, addends, 0, DataType::FLOAT32, f.data(), 0);
        DequantizeRow64Avx2(sums64.data(), n, infinite, ops, addends, 0, DataType::FLOAT32, f_want.data(), 0);
        DequantizeQuantizeRowF64ToInt16Avx512(sums.data(), n, infinite, ops, addends, 0, scale16, out_zp, q.data());
        DequantizeQuantizeRow64ToInt16Avx2(sums64.data(), n, infinite, ops, addends, 0, scale16, out_zp, q_want.data());
        for (int64_t e = 0; e < n; ++e) {
          const auto i = static_cast<size_t>(e);
          ASSERT_TRUE(std::bit_cast<uint32_t>(f[i]) == std::bit_cast<uint32_t>(f_want[i]) ||
                      (std::isnan(f[i]) && std::isnan(f_want[i])))
              << "double sums, infinite bias, chain " << ci << " n " << n << " element " << e;
          ASSERT_EQ(q[i], q_want[i]) << "double sums, infinite bias, chain " << ci << " n " << n << " element " << e;
        }
      }
      for (size_t ci = 0; ci < chains.size(); ++ci) {
        const auto& ops = chains[ci];
        for (size_t form = 0; form < rows64.size(); ++form) {
          std::vector<float> f(static_cast<size_t>(n));
          std::vector<uint16_t> h(static_cast<size_t>(n));
          std::vector<int16_t> q(static_cast<size_t>(n));
          rows64[form](acc64.data(), n, stage, ops, addends, 0, DataType::FLOAT32, f.data(), 0);
          rows64[form](acc64.data(), n, stage, ops, addends, 0, DataType::FLOAT16, h.data(), 0);
          quantized64[form](acc64.data(), n, stage, ops, addends, 0, scale16, out_zp, q.data());
          for (int64_t e = 0; e < n; ++e) {
            const float want = OracleValue(acc64[static_cast<size_t>(e)], stage, ops, addends, e);
            ASSERT_EQ(std::bit_cast<uint32_t>(f[static_cast<size_t>(e)]), std::bit_cast<uint32_t>(want))
                << "int64 form " << form << " chain " << ci << " n " << n << " element " << e;
            ASSERT_EQ(h[static_cast<size_t>(e)], FloatToHalf(want)) << "int64 form " << form << " element " << e;
            ASSERT_EQ(q[static_cast<size_t>(e)], static_cast<int16_t>(quant::Quantize(want, scale16, out_zp, 16)))
                << "int64 form " << form << " chain " << ci << " n " << n << " element " << e;
          }
        }
      }
    }
    // Plain requantization (no chain), narrowed by a fused relu6's integer
    // bounds: the dispatcher, and each ISA's form this CPU runs.
    using Row = void (*)(const int32_t*, int64_t, const ChannelStage&, int32_t, int32_t, int32_t, int8_t*);
    std::vector<Row> rows = {RequantizeRowToInt8, RequantizeRowToInt8Avx2};
    if (kernels::BestIsa() >= kernels::Isa::kAvx512) rows.push_back(RequantizeRowToInt8Avx512);
    for (size_t form = 0; form < rows.size(); ++form) {
      std::vector<int8_t> r(static_cast<size_t>(n));
      rows[form](acc.data(), n, stage, out_zp, -5, 60, r.data());
      for (int64_t e = 0; e < n; ++e) {
        const float v =
            (static_cast<float>(static_cast<int64_t>(acc[static_cast<size_t>(e)]) + stage.int_bias) + stage.bias) *
                stage.multiplier +
            static_cast<float>(out_zp);
        const auto want = static_cast<int8_t>(std::clamp(static_cast<int32_t>(std::nearbyint(v)), -5, 60));
        ASSERT_EQ(r[static_cast<size_t>(e)], want) << "form " << form << " n " << n << " element " << e;
      }
    }
  }
}

// The int64 rows of the qint16 kernels: accumulators past 2^24 (float32
// rounds them: ties to even at 2^25 + 1 and + 3), negative ones, and past
// 2^51, where the vector conversion hands over to the scalar one.
TEST(Int8OutputStage, Int64RowsRoundAsTheScalarConversion) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int64_t> wide(-(int64_t{1} << 45), int64_t{1} << 45);
  ChannelStage stage;
  stage.int_bias = -77;
  stage.bias = 0.25f;
  stage.multiplier = 3.1e-9f;
  const std::vector<StagePostOp> none;
  for (const int64_t n : {1, 7, 8, 9, 16, 23, 40, 67}) {
    std::vector<int64_t> acc(static_cast<size_t>(n));
    for (auto& a : acc) a = wide(rng);
    if (n > 40)  // small sums too, whose outputs fall inside the int16 range rather than saturating
      for (size_t e = 20; e < acc.size(); ++e) acc[e] = wide(rng) >> 25;
    acc[0] = (int64_t{1} << 25) + 1 + 77;             // with int_bias: 2^25 + 1, a tie: rounds to 2^25
    if (n > 1) acc[1] = (int64_t{1} << 25) + 3 + 77;  // 2^25 + 3: a tie, rounds up to 2^25 + 4
    if (n > 2) acc[2] = -(int64_t{1} << 40) - 12345;
    if (n > 9) acc[9] = (int64_t{1} << 52) + 12345;  // beyond the vector conversion's range
    if (n > 10) acc[10] = -(int64_t{1} << 53);
    // The dispatcher and each form this CPU runs.
    using Row64 = void (*)(const int64_t*, int64_t, const ChannelStage&, int32_t, int32_t, int32_t, int16_t*);
    std::vector<Row64> forms = {RequantizeRow64ToInt16, RequantizeRow64ToInt16Avx2};
    if (kernels::BestIsa() >= kernels::Isa::kAvx512) forms.push_back(RequantizeRow64ToInt16Avx512);
    std::vector<std::vector<int16_t>> qs;
    for (Row64 form : forms) {
      qs.emplace_back(static_cast<size_t>(n));
      form(acc.data(), n, stage, 3, -32768, 32767, qs.back().data());
    }
    std::vector<float> f(static_cast<size_t>(n));
    DequantizeRow64(acc.data(), n, stage, none, {}, 0, DataType::FLOAT32, f.data(), 0);
    for (int64_t e = 0; e < n; ++e) {
      const float y = static_cast<float>(acc[static_cast<size_t>(e)] + stage.int_bias) + stage.bias;
      ASSERT_EQ(std::bit_cast<uint32_t>(f[static_cast<size_t>(e)]), std::bit_cast<uint32_t>(y * stage.multiplier))
          << "n " << n << " element " << e;
      const float v = y * stage.multiplier + 3.0f;
      const auto want = static_cast<int16_t>(std::clamp(static_cast<int32_t>(std::nearbyint(v)), -32768, 32767));
      for (size_t form = 0; form < qs.size(); ++form)
        ASSERT_EQ(qs[form][static_cast<size_t>(e)], want) << "form " << form << " n " << n << " element " << e;
    }
  }
  EXPECT_EQ(static_cast<float>(int64_t{1} << 25) + 0.0f, static_cast<float>((int64_t{1} << 25) + 1));
  // A stage whose bias and rounding show in the codes (outputs spread over
  // the int16 range, few saturated), through each form.
  ChannelStage visible;
  visible.int_bias = -1234;
  visible.bias = 777.5f;
  visible.multiplier = 1.1e-3f;
  std::uniform_int_distribution<int64_t> spread(-29000000, 29000000);
  std::vector<int64_t> acc(203);
  for (auto& a : acc) a = spread(rng);
  for (auto form : {RequantizeRow64ToInt16, RequantizeRow64ToInt16Avx2, RequantizeRow64ToInt16Avx512}) {
    if (form == RequantizeRow64ToInt16Avx512 && kernels::BestIsa() < kernels::Isa::kAvx512) continue;
    std::vector<int16_t> q(acc.size());
    form(acc.data(), static_cast<int64_t>(acc.size()), visible, -7, -30000, 31000, q.data());
    for (size_t e = 0; e < acc.size(); ++e) {
      const float v = (static_cast<float>(acc[e] + visible.int_bias) + visible.bias) * visible.multiplier - 7.0f;
      const auto want = static_cast<int16_t>(std::clamp(static_cast<int32_t>(std::nearbyint(v)), -30000, 31000));
      ASSERT_EQ(q[e], want) << "element " << e;
    }
  }
}

// The qint16 kernels' register forms (kernels/int16_requant.h: from int64
// sums, and from a split product's byte sums 256 * hi + lo through exact
// doubles) against the row form on the same sums: ties of the float32
// rounding, sums past 2^37, every tail length, biases that show in the codes.
#if defined(__GNUC__) && !defined(__clang__)  // GCC bug 105593 (its AVX-512 headers' undefined vectors)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f,avx512bw,avx512vl"))) void RequantizeByRegisterForms(const int32_t* hi,
                                                                                    const int32_t* lo,
                                                                                    const kernels::Int16Requant& r,
                                                                                    int64_t cols, int16_t* split,
                                                                                    int16_t* wide, int16_t* small) {
  const __m512i h = _mm512_loadu_si512(hi), l = _mm512_loadu_si512(lo);
  kernels::StoreRequantizedInt16FromSplit(h, l, kernels::VectorsOf(r), split, cols);
  kernels::StoreRequantizedInt16FromSmallSplit(h, l, kernels::VectorsOf(r), small, cols);
  const __m512i s0 = _mm512_add_epi64(_mm512_slli_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(h)), 8),
                                      _mm512_cvtepi32_epi64(_mm512_castsi512_si256(l)));
  const __m512i s1 = _mm512_add_epi64(_mm512_slli_epi64(_mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(h, 1)), 8),
                                      _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(l, 1)));
  kernels::StoreRequantizedInt16(s0, s1, kernels::VectorsOf(r), wide, cols);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

TEST(Int8OutputStage, Int16RegisterFormsMatchTheRowForm) {
  if (kernels::BestIsa() < kernels::Isa::kAvx512) GTEST_SKIP() << "no AVX-512";
  std::mt19937 rng(12);
  std::uniform_int_distribution<int32_t> high(-(1 << 30), 1 << 30), low(-(1 << 30), 1 << 30);
  // Sums within about 2^25: codes spread over the range at the second stage's multiplier, and float32 ulps of 2-4
  // whose rounding shows in some of them.
  std::uniform_int_distribution<int32_t> small(-(1 << 16), 1 << 16), small_low(-(1 << 24), 1 << 24);
  const kernels::Int16Requant stages[] = {
      {-77, 0.25f, 3.1e-9f, 3, -32768, 32767},      // outputs over the whole range, many saturated
      {-1234, 777.5f, 1.1e-3f, -7, -30000, 31000},  // bias and rounding visible in the codes
      {2147483000, -0.5f, 1.0e-6f, 0, 0, 32767},    // an int32 bias near its limit, a relu's clamp
      {-2147483000, 3.0f, 2.0e-6f, 100, -32768, 32767},
      {-5, -33554432.0f, 0.5f, 0, -32768, 32767},  // sums near 2^25 less 2^25: their float32 rounding in the codes
      // The int32 form's bounds (|int_bias| < 2^29, then |hi| < 2^22, |lo| < 2^29): sums up to 2^31 - 1
      {(1 << 29) - 1, 0.5f, 1.0e-5f, 0, -32768, 32767},
      {-(1 << 29) + 1, 0.5f, 1.0e-5f, 0, -32768, 32767},
      {1 << 29, -0.5f, 1.0e-5f, 0, -32768, 32767}};
  std::uniform_int_distribution<int32_t> near(-60000, 60000);
  for (const auto& r : stages)
    for (int64_t cols = 1; cols <= 16; ++cols)
      for (int round = 0; round < 32; ++round) {
        int32_t hi[16], lo[16];
        for (int i = 0; i < 16; ++i) {
          hi[i] = round % 4 ? small(rng) : high(rng);
          lo[i] = round % 4 ? small_low(rng) : low(rng);
          if (r.bias < -1.0e7f) {  // 2^25 + a few ulps of 4 either way
            hi[i] = 1 << 17;
            lo[i] = near(rng) - r.int_bias;
          }
        }
        if (round % 8 >= 5) {  // the int32 form's bounds: every lane inside them, or one lane past
          for (int i = 0; i < 16; ++i) {
            hi[i] = (i % 2 ? 1 : -1) * ((1 << 22) - 1 - i);
            lo[i] = (i % 3 ? 1 : -1) * ((1 << 29) - 1 - 7 * i);
          }
          if (round % 8 == 6) {  // |hi| past 2^22: 256 hi + lo past 2^31
            hi[5] = (1 << 23) - 1;
            lo[5] = (1 << 29) - 1;
          }
          if (round % 8 == 7) {  // |lo| past 2^29: the sum past 2^31
            hi[9] = (1 << 22) - 1;
            lo[9] = (1 << 30) + (1 << 29);
          }
        }
        if (round % 8 < 5) {  // sums 2^25 + 1 and 2^25 + 3 after the bias: float32 ties, to even
          hi[0] = (1 << 17);
          lo[0] = 1 - r.int_bias;
          hi[1] = (1 << 17);
          lo[1] = 3 - r.int_bias;
        }
        int64_t acc[16];
        for (int i = 0; i < 16; ++i) acc[i] = int64_t{256} * hi[i] + lo[i];
        ChannelStage c;
        c.int_bias = r.int_bias;
        c.bias = r.bias;
        c.multiplier = r.multiplier;
        int16_t want[16], split[16], wide[16], small[16];
        for (int i = 0; i < 16; ++i) split[i] = wide[i] = small[i] = -12345;  // lanes past `cols` stay as they are
        RequantizeRow64ToInt16Avx2(acc, cols, c, r.zero_point, r.lo, r.hi, want);
        RequantizeByRegisterForms(hi, lo, r, cols, split, wide, small);
        for (int64_t i = 0; i < 16; ++i) {
          const int16_t expect = i < cols ? want[i] : int16_t{-12345};
          ASSERT_EQ(split[i], expect) << "split, bias " << r.int_bias << " cols " << cols << " lane " << i;
          ASSERT_EQ(small[i], expect) << "small split, bias " << r.int_bias << " cols " << cols << " lane " << i;
          ASSERT_EQ(wide[i], expect) << "int64, bias " << r.int_bias << " cols " << cols << " lane " << i;
        }
      }
}

// hard_swish, alone or followed by a Mul and / or an AddScalar, then a
// Quantize to INT16 (the qint16 modes' PP-OCR layers): the AVX-512 rows'
// shortcut (no double arithmetic, no division, where it provably rounds to
// the reference's code) against the scalar oracle, over every float v = sum
// * 2^-24 of a run, at sums whose quotient lies within a few float32 ulps of
// a half (where the shortcut must decline), on saturating, infinite and NaN
// values, and with scales and constants where it must not run.
int16_t OracleQuantize16(float y, float scale) {
  const float q = y / scale;
  if (std::isnan(q)) return 0;
  return static_cast<int16_t>(std::min(std::max(std::nearbyint(q), -32768.0f), 32767.0f));
}

void ExpectChainQuantize16(const std::vector<int64_t>& sums, const ChannelStage& c, const std::vector<StagePostOp>& ops,
                           float scale, const char* what) {
  const auto n = static_cast<int64_t>(sums.size());
  std::vector<double> doubles(sums.begin(), sums.end());
  std::vector<int16_t> from_int64(sums.size()), from_double(sums.size());
  DequantizeQuantizeRow64ToInt16Avx512(sums.data(), n, c, ops, {}, 0, scale, 0, from_int64.data());
  DequantizeQuantizeRowF64ToInt16Avx512(doubles.data(), n, c, ops, {}, 0, scale, 0, from_double.data());
  for (size_t e = 0; e < sums.size(); ++e) {
    const float v = (static_cast<float>(sums[e] + c.int_bias) + c.bias) * c.multiplier;
    const int16_t want = OracleQuantize16(OracleChain(v, ops, {}, 0), scale);
    ASSERT_EQ(from_int64[e], want) << what << ": int64 sums, " << ops.size() << " post-ops, scale " << scale << " sum "
                                   << sums[e] << " v " << v;
    ASSERT_EQ(from_double[e], want) << what << ": double sums, " << ops.size() << " post-ops, scale " << scale
                                    << " sum " << sums[e] << " v " << v;
  }
}

TEST(Int8OutputStage, HardSwishQuantizeToInt16RoundsAsTheExactSteps) {
  if (kernels::BestIsa() < kernels::Isa::kAvx512) GTEST_SKIP() << "no AVX-512";
  using Kind = StagePostOp::Kind;
  ChannelStage c;
  c.multiplier = 0x1p-24f;  // v = sum 2^-24 exactly: every float of [-4, 8) with an exponent of -24 or more
  struct Chain {
    float a, b;  // hard_swish(v) a + b
    std::vector<StagePostOp> ops;
  };
  const Chain chains[] = {{1.0f, 0.0f, {Op(Kind::kHardSwish)}},
                          {1.37f, 0.0f, {Op(Kind::kHardSwish), Op(Kind::kMul, 1.37f)}},
                          {1.0f, -0.3f, {Op(Kind::kHardSwish), Op(Kind::kAddScalar, -0.3f)}},
                          {0.83f, 0.11f, {Op(Kind::kHardSwish), Op(Kind::kMul, 0.83f), Op(Kind::kAddScalar, 0.11f)}},
                          // a negative slope, and a shift that cancels most of the product
                          {-0.61f, 2.5f, {Op(Kind::kHardSwish), Op(Kind::kMul, -0.61f), Op(Kind::kAddScalar, 2.5f)}}};
  for (const Chain& chain : chains)
    for (const float scale : {6.0f / 32767.0f, 1.0f / 4096.0f, 2.5e-4f, 3.0e-3f, 1.7e-5f}) {
      // A run of consecutive sums, and windows around the sums whose quotient is a half.
      std::vector<int64_t> sums;
      for (int64_t s = -(int64_t{1} << 26); s < (int64_t{1} << 26); s += 331) sums.push_back(s);
      for (int64_t s = 3 * (int64_t{1} << 23); s < 3 * (int64_t{1} << 23) + 20000; ++s) sums.push_back(s);
      std::mt19937 rng(static_cast<uint32_t>(scale * 1e9f));
      std::uniform_int_distribution<int32_t> codes(-32768, 32767);
      for (int k = 0; k < 2000; ++k) {
        // hard_swish(v) = ((code + 0.5) s - b) / a = y: v (v + 3) / 6 = y, v = (-3 + sqrt(9 + 24 y)) / 2 (the
        // upper root; the lower one for every other code)
        const double y = ((codes(rng) + 0.5) * scale - chain.b) / chain.a;
        if (9.0 + 24.0 * y < 0.0 || y > 7.0) continue;
        const double root = std::sqrt(9.0 + 24.0 * y);
        const double v = y >= 3.0 ? y : (k % 2 ? -3.0 - root : -3.0 + root) / 2.0;
        const auto center = static_cast<int64_t>(std::llround(v * 0x1p24));
        for (int64_t d = -40; d <= 40; ++d) sums.push_back(center + d);
      }
      ExpectChainQuantize16(sums, c, chain.ops, scale, "sweep");
    }
  // Saturating, infinite and NaN values: multipliers that overflow, v = -inf (NaN from x * 0), a NaN bias.
  std::vector<int64_t> wide = {0, 1, -1, int64_t{1} << 40, -(int64_t{1} << 40), 123456789, -987654321};
  while (wide.size() < 70) wide.push_back(static_cast<int64_t>(wide.size()) * 1000003 - 35000000);
  for (const Chain& chain : chains)
    for (const float multiplier : {1.0e-3f, 1.0e30f, 3.0e38f}) {
      ChannelStage big;
      big.multiplier = multiplier;
      big.bias = 0.5f;
      for (const float scale : {1.0f, 2.0e-38f, 1.0e-5f})
        ExpectChainQuantize16(wide, big, chain.ops, scale, "extremes");
    }
  ChannelStage nan_bias;
  nan_bias.bias = std::numeric_limits<float>::quiet_NaN();
  ExpectChainQuantize16(wide, nan_bias, chains[3].ops, 1.0f, "NaN bias");
  // Scales and constants that are not normal floats, or whose quotients are not: the exact steps only.
  ChannelStage plain;
  plain.multiplier = 1.0e-6f;
  for (const float scale : {1.0e38f, 1.0e-39f, 0.0f, std::numeric_limits<float>::infinity()})
    ExpectChainQuantize16(wide, plain, chains[3].ops, scale, "odd scale");
  const float inf = std::numeric_limits<float>::infinity();
  for (const float a : {0.0f, 1.0e-39f, inf})
    ExpectChainQuantize16(wide, plain, {Op(Kind::kHardSwish), Op(Kind::kMul, a)}, 1.0f, "odd slope");
  ExpectChainQuantize16(wide, plain, {Op(Kind::kHardSwish), Op(Kind::kAddScalar, -inf)}, 1.0f, "infinite shift");
  // Chains it does not take (a clamp after, the affine steps in the other order): through the general rows.
  std::vector<int64_t> run;
  for (int64_t s = -(int64_t{1} << 26); s < (int64_t{1} << 26); s += 4099) run.push_back(s);
  for (const auto& ops : std::vector<std::vector<StagePostOp>>{
           {Op(Kind::kHardSwish), Op(Kind::kMul, 0.9f), Op(Kind::kAddScalar, 0.1f), Op(Kind::kClip, -0.2f, 1.5f)},
           {Op(Kind::kHardSwish), Op(Kind::kAddScalar, 0.1f), Op(Kind::kMul, 0.9f)},
           {Op(Kind::kMul, 0.9f), Op(Kind::kHardSwish)}})
    ExpectChainQuantize16(run, c, ops, 1.0f / 4096.0f, "other chains");
}

// The multi-row form (a block's channels in one call, amx-int16's 1 x 1
// layers) against the row form per channel: each row's own constants, a
// channel whose constants are not finite (its row through the exact steps),
// row strides wider than the rows, lengths around the 32-value steps.
TEST(Int8OutputStage, HardSwishQuantizeRowsMatchTheRowForm) {
  if (kernels::BestIsa() < kernels::Isa::kAvx512) GTEST_SKIP() << "no AVX-512";
  using Kind = StagePostOp::Kind;
  const std::vector<StagePostOp> ops = {Op(Kind::kHardSwish), Op(Kind::kMul, 0.83f), Op(Kind::kAddScalar, 0.11f)};
  const float scale = 1.0f / 4096.0f;
  const HardSwishShortcut shortcut = HardSwishInt16ShortcutFor(ops, scale, 0);
  ASSERT_TRUE(shortcut.applies);
  std::mt19937 rng(5);
  std::uniform_int_distribution<int64_t> sum(-(int64_t{1} << 27), int64_t{1} << 27);
  for (const int64_t n : {16, 31, 32, 47, 64, 100}) {
    const int64_t rows = 7, ld_sums = n + 5, ld_out = n + 3;
    std::vector<double> sums(static_cast<size_t>(rows * ld_sums));
    for (auto& v : sums) v = static_cast<double>(sum(rng));
    std::vector<ChannelStage> c(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      c[static_cast<size_t>(r)].int_bias = static_cast<int32_t>(r * 1000 - 3000);
      c[static_cast<size_t>(r)].bias = 0.01f * static_cast<float>(r);
      c[static_cast<size_t>(r)].multiplier = 0x1p-24f * (1.0f + 0.1f * static_cast<float>(r));
    }
    c[4].bias = std::numeric_limits<float>::infinity();
    std::vector<int16_t> got(static_cast<size_t>(rows * ld_out), 777), want = got;
    DequantizeQuantizeRowsF64ToInt16Avx512(sums.data(), ld_sums, rows, n, c.data(), ops, scale, got.data(), ld_out,
                                           shortcut);
    for (int64_t r = 0; r < rows; ++r)
      DequantizeQuantizeRowF64ToInt16Avx512(sums.data() + r * ld_sums, n, c[static_cast<size_t>(r)], ops, {}, 0, scale,
                                            0, want.data() + r * ld_out);
    ASSERT_EQ(got, want) << "n " << n;
  }
}

// The same shortcut on the INT8 rows, AVX-512 and AVX2 (any zero point;
// the codes clamped to [-128, 127] after the zero point): every float v = sum 2^-20 of a run,
// windows around the sums whose quotient is a half, saturating values, and
// the planned constants as the conv stage passes them.
TEST(Int8OutputStage, HardSwishQuantizeToInt8RoundsAsTheExactSteps) {
  if (kernels::BestIsa() < kernels::Isa::kAvx512) GTEST_SKIP() << "no AVX-512";
  using Kind = StagePostOp::Kind;
  ChannelStage c;
  c.multiplier = 0x1p-20f;  // v = sum 2^-20 exactly for |sum| < 2^24
  c.int_bias = 17;
  const std::vector<std::vector<StagePostOp>> chains = {
      {Op(Kind::kHardSwish)},
      {Op(Kind::kHardSwish), Op(Kind::kMul, 1.37f)},
      {Op(Kind::kHardSwish), Op(Kind::kMul, -0.61f), Op(Kind::kAddScalar, 2.5f)},
      {Op(Kind::kHardSwish), Op(Kind::kAddScalar, -0.3f)}};
  for (const auto& ops : chains)
    for (const float scale : {6.0f / 127.0f, 0.02f, 0.1f, 3.0e-3f})
      for (const int32_t zp : {0, -128, 5, 100}) {
        std::vector<int32_t> sums;
        for (int32_t s = -(1 << 23); s < (1 << 23); s += 61) sums.push_back(s);
        std::mt19937 rng(static_cast<uint32_t>(zp + 1000));
        std::uniform_int_distribution<int32_t> codes(-140, 140);
        const double a = ops.size() > 1 && ops[1].kind == Kind::kMul ? ops[1].lo : 1.0;
        const double b = ops.back().kind == Kind::kAddScalar ? ops.back().lo : 0.0;
        for (int k = 0; k < 1500; ++k) {  // quotient (code + 0.5): hard_swish(v) = ((code + 0.5) s - b) / a
          const double y = ((codes(rng) + 0.5) * scale - b) / a;
          if (9.0 + 24.0 * y < 0.0 || y > 7.0) continue;
          const double root = std::sqrt(9.0 + 24.0 * y);
          const double v = y >= 3.0 ? y : (k % 2 ? -3.0 - root : -3.0 + root) / 2.0;
          const auto center = static_cast<int32_t>(std::lround(v * 0x1p20)) - c.int_bias;
          for (int32_t d = -40; d <= 40; ++d) sums.push_back(center + d);
        }
        const auto n = static_cast<int64_t>(sums.size());
        const HardSwishShortcut planned = HardSwishInt8ShortcutFor(ops, scale);
        ASSERT_TRUE(planned.applies);
        std::vector<int8_t> got(sums.size()), got_planned(sums.size()), got_avx2(sums.size());
        DequantizeQuantizeRowToInt8Avx512(sums.data(), n, c, ops, {}, 0, scale, zp, got.data());
        DequantizeQuantizeRowToInt8Avx512(sums.data(), n, c, ops, {}, 0, scale, zp, got_planned.data(), &planned);
        DequantizeQuantizeRowToInt8Avx2(sums.data(), n, c, ops, {}, 0, scale, zp, got_avx2.data());
        for (size_t e = 0; e < sums.size(); ++e) {
          const float v = (static_cast<float>(sums[e] + c.int_bias) + c.bias) * c.multiplier;
          const int8_t want = OracleQuantize(OracleChain(v, ops, {}, 0), scale, zp);
          ASSERT_EQ(got[e], want) << ops.size() << " post-ops, scale " << scale << " zp " << zp << " v " << v;
          ASSERT_EQ(got_planned[e], want) << "planned, scale " << scale << " zp " << zp << " v " << v;
          ASSERT_EQ(got_avx2[e], want) << "AVX2, scale " << scale << " zp " << zp << " v " << v;
        }
      }
  // Extremes: infinite and NaN values through an overflowing multiplier, a tiny scale (|m| past 2^20).
  std::vector<int32_t> wide = {0, 1, -1, 1 << 30, -(1 << 30), 123456789, -987654321};
  while (wide.size() < 70) wide.push_back(static_cast<int32_t>(wide.size()) * 1000003 - 35000000);
  for (const float multiplier : {1.0e-3f, 1.0e30f, 3.0e38f})
    for (const float scale : {1.0f, 2.0e-38f, 1.0e-5f}) {
      ChannelStage big;
      big.multiplier = multiplier;
      big.bias = 0.5f;
      std::vector<int8_t> got(wide.size()), got_avx2(wide.size());
      DequantizeQuantizeRowToInt8Avx512(wide.data(), static_cast<int64_t>(wide.size()), big, chains[2], {}, 0, scale, 7,
                                        got.data());
      DequantizeQuantizeRowToInt8Avx2(wide.data(), static_cast<int64_t>(wide.size()), big, chains[2], {}, 0, scale, 7,
                                      got_avx2.data());
      for (size_t e = 0; e < wide.size(); ++e) {
        const float v = (static_cast<float>(wide[e]) + big.bias) * big.multiplier;
        const int8_t want = OracleQuantize(OracleChain(v, chains[2], {}, 0), scale, 7);
        ASSERT_EQ(got[e], want) << "multiplier " << multiplier << " scale " << scale << " v " << v;
        ASSERT_EQ(got_avx2[e], want) << "AVX2, multiplier " << multiplier << " scale " << scale << " v " << v;
      }
    }
}
}  // namespace
}  // namespace mixq::ops
