// Float16-storage kernels (ops/half_storage.h, ops/half_output_stage.h,
// kernels/half_io.h) against what they replace: Cast steps widening the
// float16 inputs, the float32 kernel the registry picks for the widened step,
// a Cast rounding the output (and, for fused post-ops, the separate add and
// activation steps, each rounded). Bit for bit, on odd shapes, tails past
// every chunk and vector width, and extreme values (inf, NaN, -0, float16
// overflow and subnormals). The same wrappers on bfloat16 storage
// ("avx2-bf16", "cpu-fast-bf16": g_narrow) against casts rounding to bfloat16.
#include "ops/half_storage.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <random>

#include "kernels/cpu_features.h"
#include "kernels/half_io.h"
#include "ops/kernel_registry.h"
#include "ops/quantized_reference.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

bool HaveAvx2() {
  return kernels::BestIsa() >= kernels::Isa::kAvx2;
}

// The 16-bit storage under test: FLOAT16, or BFLOAT16 (the same wrappers'
// "avx2-bf16" kernels, BFloat16Storage tests). "half" below means either.
DataType g_narrow = DataType::FLOAT16;

struct NarrowScope {
  explicit NarrowScope(DataType t) { g_narrow = t; }
  ~NarrowScope() { g_narrow = DataType::FLOAT16; }
};

bool Bf16() {
  return g_narrow == DataType::BFLOAT16;
}
float RoundNarrow(float v) {
  return Bf16() ? RoundToBFloat16(v) : RoundToHalf(v);
}
float WidenNarrow(uint16_t h) {
  return Bf16() ? BFloat16ToFloat(h) : HalfToFloat(h);
}

// Values already rounded to float16 (what float16 storage holds), with
// specials every 7th element.
std::vector<float> HalfValues(int64_t n, uint32_t seed, float scale = 4.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  const float special[] = {0.0f, -0.0f, kInf, -kInf, kNaN, 65504.0f, -65504.0f, 6e-8f, -3e-5f, 1.0f, -1.0f, 0.5f};
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = RoundNarrow(i % 7 == 3 ? special[(i / 7) % std::size(special)] : normal(rng));
  return v;
}

std::vector<uint16_t> ToHalf(const std::vector<float>& v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = Bf16() ? FloatToBFloat16(v[i]) : FloatToHalf(v[i]);
  return h;
}

struct Operand {
  ir::Shape shape;
  std::vector<float> values;  // float16-exact where `half`
  bool half = true;           // FLOAT16 storage (else FLOAT32)
  bool constant = false;
};

ir::AttrMap WithDefaults(OpKind op, ir::AttrMap attrs) {
  for (const AttrSpec& spec : GetSchema(op).attrs)
    if (!attrs.Has(spec.name)) attrs.Set(spec.name, spec.default_value);
  return attrs;
}

ValueInfo InfoOf(const Operand& o) {
  ValueInfo v{o.half ? g_narrow : DataType::FLOAT32, o.shape, nullptr, nullptr, o.half};
  if (o.constant) v.const_data = o.values.data();
  return v;
}

// Output bits: float16 bits when `out_half`, else float32 bits.
struct Output {
  std::vector<uint16_t> half;
  std::vector<float> wide;
};

bool IsHalfNaN(uint16_t h) {
  if (Bf16()) return (h & 0x7f80) == 0x7f80 && (h & 0x007f) != 0;
  return (h & 0x7c00) == 0x7c00 && (h & 0x03ff) != 0;
}

// Bit for bit, NaN for NaN: when both operands of an addition are NaN, x86
// keeps the first one's sign, and the compiler picks the operand order of
// the float32 loops, so the sign of such a NaN is not part of the contract.
void ExpectSameBits(const Output& a, const Output& b, const char* what) {
  ASSERT_EQ(a.half.size(), b.half.size()) << what;
  ASSERT_EQ(a.wide.size(), b.wide.size()) << what;
  size_t mismatches = 0, first = 0;
  for (size_t i = 0; i < a.half.size(); ++i)
    if (a.half[i] != b.half[i] && !(IsHalfNaN(a.half[i]) && IsHalfNaN(b.half[i])) && mismatches++ == 0) first = i;
  for (size_t i = 0; i < a.wide.size(); ++i)
    if (std::memcmp(&a.wide[i], &b.wide[i], 4) != 0 && !(std::isnan(a.wide[i]) && std::isnan(b.wide[i])) &&
        mismatches++ == 0)
      first = i;
  EXPECT_EQ(mismatches, 0u) << what << ": first at " << first << " ("
                            << (a.half.empty() ? a.wide[first] : WidenNarrow(a.half[first])) << " vs "
                            << (b.half.empty() ? b.wide[first] : WidenNarrow(b.half[first])) << ")";
}

// Runs `op` with `kernel_name` (the float16 kernel) on the operands as stored.
Output RunHalf(OpKind op, const ir::AttrMap& attrs, const std::vector<Operand>& operands, bool out_half,
               const std::vector<PostOp>& post_ops = {}, const char* kernel_name = "avx2-f16") {
  std::vector<ValueInfo> infos;
  for (const Operand& o : operands) infos.push_back(InfoOf(o));
  std::vector<const ValueInfo*> ptrs;
  for (const ValueInfo& v : infos) ptrs.push_back(&v);
  std::vector<ValueInfo> outs(1);
  std::vector<const ValueInfo*> schema_ptrs = ptrs;
  std::vector<ValueInfo> widened = infos;  // shape inference on the logical FLOAT32 types
  for (size_t i = 0; i < widened.size(); ++i) {
    widened[i].dtype = DataType::FLOAT32;
    widened[i].narrowed = false;
    schema_ptrs[i] = &widened[i];
  }
  EXPECT_TRUE(GetSchema(op).infer(attrs, schema_ptrs, outs).ok());
  ValueInfo out = outs[0];
  if (out_half) {
    out.dtype = g_narrow;
    out.narrowed = true;
  }
  std::vector<ValueInfo> out_infos = {out};
  std::vector<DataType> compute(operands.size(), DataType::FLOAT32);
  for (size_t i = 0; i < operands.size(); ++i)
    if (operands[i].half) compute[i] = g_narrow;
  KernelInit init(attrs, ptrs, out_infos, &compute, &post_ops);
  const KernelDef* def = FindKernel(op, kernel_name);
  Output result;
  EXPECT_NE(def, nullptr) << kernel_name;
  if (!def) return result;
  EXPECT_TRUE(def->supports(init)) << kernel_name;
  std::unique_ptr<Kernel> kernel;
  const Status made = def->make(init, &kernel);
  EXPECT_TRUE(made.ok()) << made.message();
  if (!kernel) return result;
  EXPECT_STREQ(kernel->Name(), kernel_name);
  std::vector<std::vector<uint16_t>> halves;
  std::vector<TensorView> views;
  for (const Operand& o : operands) {
    halves.push_back(o.half ? ToHalf(o.values) : std::vector<uint16_t>{});
    views.push_back({o.half ? g_narrow : DataType::FLOAT32, o.shape,
                     o.half ? static_cast<void*>(halves.back().data()) : const_cast<float*>(o.values.data()), nullptr});
  }
  const int64_t n = ir::ElementCount(out.shape);
  TensorView yv{out.dtype, out.shape, nullptr, nullptr};
  if (out_half) {
    result.half.assign(static_cast<size_t>(n), 0xdead);
    yv.data = result.half.data();
  } else {
    result.wide.assign(static_cast<size_t>(n), -1.0f);
    yv.data = result.wide.data();
  }
  const Status ran = kernel->Run(views, {yv});
  EXPECT_TRUE(ran.ok()) << ran.message();
  return result;
}

// The Cast path: float16 operands widened, the float32 kernel the registry
// picks (no post-ops), the output rounded; then each post-op as its own
// rounded step.
Output RunCastPath(OpKind op, const ir::AttrMap& attrs, const std::vector<Operand>& operands, bool out_half,
                   const std::vector<PostOp>& post_ops = {}) {
  std::vector<ValueInfo> infos;
  for (const Operand& o : operands) {
    ValueInfo v{DataType::FLOAT32, o.shape, o.constant ? o.values.data() : nullptr, nullptr, false};
    infos.push_back(v);
  }
  std::vector<const ValueInfo*> ptrs;
  for (const ValueInfo& v : infos) ptrs.push_back(&v);
  // Post-op addends are not inputs of the plain op.
  size_t op_inputs = operands.size();
  for (const PostOp& p : post_ops)
    if (p.kind == PostOp::Kind::kAdd) op_inputs = std::min(op_inputs, static_cast<size_t>(p.input));
  std::vector<const ValueInfo*> op_ptrs(ptrs.begin(), ptrs.begin() + static_cast<long>(op_inputs));
  std::vector<ValueInfo> outs(1);
  EXPECT_TRUE(GetSchema(op).infer(attrs, op_ptrs, outs).ok());
  KernelInit init(attrs, op_ptrs, outs);
  const KernelDef* def = nullptr;
  EXPECT_TRUE(SelectKernel(op, init, false, kernels::BestIsa(), &def).ok());
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def->make(init, &kernel).ok());
  std::vector<TensorView> views;
  for (size_t i = 0; i < op_inputs; ++i)
    views.push_back({DataType::FLOAT32, operands[i].shape, const_cast<float*>(operands[i].values.data()), nullptr});
  std::vector<float> y(static_cast<size_t>(ir::ElementCount(outs[0].shape)));
  EXPECT_TRUE(kernel->Run(views, {{DataType::FLOAT32, outs[0].shape, y.data(), nullptr}}).ok());
  auto round = [out_half](float v) { return out_half ? RoundNarrow(v) : v; };
  for (float& v : y) v = round(v);
  for (const PostOp& p : post_ops)
    for (size_t i = 0; i < y.size(); ++i) {
      if (p.kind == PostOp::Kind::kAdd) {
        const float a = operands[static_cast<size_t>(p.input)].values[i];
        y[i] = round(p.add_first ? a + y[i] : y[i] + a);
      } else if (p.activation == "hard_swish") {  // the reference's formula (ops/activation/op.cc)
        const double x = y[i], t = x / 6.0 + 0.5;
        y[i] = round(static_cast<float>(x * (t < 0 ? 0.0 : t > 1 ? 1.0 : t)));
      } else {
        y[i] = round(ApplyFloatActivation(p, y[i]));
      }
    }
  Output result;
  if (out_half)
    result.half = ToHalf(y);
  else
    result.wide = y;
  return result;
}

void ExpectMatchesCastPath(OpKind op, const ir::AttrMap& given, const std::vector<Operand>& operands, bool out_half,
                           const std::vector<PostOp>& post_ops = {}, const char* kernel_name = "avx2-f16") {
  const ir::AttrMap attrs = WithDefaults(op, given);
  ExpectSameBits(RunHalf(op, attrs, operands, out_half, post_ops, kernel_name),
                 RunCastPath(op, attrs, operands, out_half, post_ops), kernel_name);
}

TEST(HalfIo, RowsMatchTheScalarConversionsOnEveryTail) {
  if (!HaveAvx2()) GTEST_SKIP() << "needs AVX2 + F16C";
  for (int64_t n = 0; n <= 40; ++n) {
    std::vector<float> x = HalfValues(n, 1);
    for (int64_t i = 0; i < n; i += 5) x[static_cast<size_t>(i)] = 65520.0f + static_cast<float>(i);  // overflow
    std::vector<uint16_t> h(static_cast<size_t>(n) + 1, 0x1234);
    kernels::FloatToHalfRow(x.data(), h.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(h[static_cast<size_t>(i)], FloatToHalf(x[static_cast<size_t>(i)])) << i;
    EXPECT_EQ(h.back(), 0x1234) << "wrote past the end";
    std::vector<float> back(static_cast<size_t>(n) + 1, 7.0f);
    kernels::HalfToFloatRow(h.data(), back.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const float expected = HalfToFloat(h[static_cast<size_t>(i)]);
      ASSERT_EQ(std::memcmp(&back[static_cast<size_t>(i)], &expected, 4), 0) << i;
    }
    EXPECT_EQ(back.back(), 7.0f);
  }
}

// Both forms of the bfloat16 rows (AVX2, and AVX-512 where the CPU has it,
// whichever FloatToBFloat16Row picks) against util/half.h: every upper half
// with low halves around the rounding point (ties to even and odd, just
// below and above, zero, all ones), so every exponent, denormals, infinities
// and NaNs with their payloads; tails of 0 to 40; no write past the end.
TEST(HalfIo, BFloat16RowsBothFormsMatchTheScalarConversions) {
  if (!HaveAvx2()) GTEST_SKIP() << "needs AVX2";
  std::vector<float> x;
  for (uint32_t top = 0; top <= 0xffff; ++top)
    for (uint32_t low : {0x0000u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu, 0x1234u}) {
      const uint32_t bits = top << 16 | low;
      float v;
      std::memcpy(&v, &bits, sizeof(v));
      x.push_back(v);
    }
  using NarrowFn = void (*)(const float*, uint16_t*, int64_t);
  using WidenFn = void (*)(const uint16_t*, float*, int64_t);
  std::vector<std::pair<NarrowFn, WidenFn>> forms = {
      {kernels::FloatToBFloat16RowAvx2, kernels::BFloat16ToFloatRowAvx2}};
  if (kernels::BestIsa() >= kernels::Isa::kAvx512)
    forms.emplace_back(kernels::FloatToBFloat16RowAvx512, kernels::BFloat16ToFloatRowAvx512);
  for (size_t f = 0; f < forms.size(); ++f) {
    SCOPED_TRACE(f == 0 ? "AVX2" : "AVX-512");
    const auto [narrow, widen] = forms[f];
    std::vector<uint16_t> h(x.size() + 1, 0x1234);
    narrow(x.data(), h.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(h[i], FloatToBFloat16(x[i])) << "float bits at " << i;
    EXPECT_EQ(h.back(), 0x1234) << "wrote past the end";
    std::vector<float> back(x.size() + 1, 7.0f);
    widen(h.data(), back.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const float expected = BFloat16ToFloat(h[i]);
      ASSERT_EQ(std::memcmp(&back[i], &expected, 4), 0) << i;
    }
    EXPECT_EQ(back.back(), 7.0f);
    for (int64_t n = 0; n <= 40; ++n) {  // tails, from an odd start
      std::vector<uint16_t> t(static_cast<size_t>(n) + 1, 0x1234);
      narrow(x.data() + 3, t.data(), n);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(t[static_cast<size_t>(i)], FloatToBFloat16(x[static_cast<size_t>(i + 3)]));
      EXPECT_EQ(t.back(), 0x1234) << n;
    }
  }
}

TEST(HalfIo, Blocked8LayoutBothWays) {
  if (!HaveAvx2()) GTEST_SKIP() << "needs AVX2 + F16C";
  for (int64_t channels : {1, 3, 8, 13, 17})
    for (int64_t spatial : {1, 7, 8, 9, 130, 263}) {
      SCOPED_TRACE(testing::Message() << channels << " x " << spatial);
      const std::vector<float> x = HalfValues(channels * spatial, 2);
      const std::vector<uint16_t> h = ToHalf(x);
      const int64_t padded = (channels + 7) / 8 * 8;
      std::vector<float> blocked(static_cast<size_t>(padded * spatial), -5.0f);
      kernels::HalfPlanesToBlocked8(h.data(), blocked.data(), channels, spatial);
      for (int64_t c = 0; c < padded; ++c)
        for (int64_t s = 0; s < spatial; ++s) {
          const float got = blocked[static_cast<size_t>(((c / 8) * spatial + s) * 8 + c % 8)];
          const float want = c < channels ? x[static_cast<size_t>(c * spatial + s)] : 0.0f;
          ASSERT_TRUE(got == want || (std::isnan(got) && std::isnan(want))) << c << "," << s;
        }
      // Back to planes through the row walk.
      std::vector<float> planes(static_cast<size_t>(channels * spatial), -7.0f);
      struct Context {
        std::vector<float>* planes;
        int64_t spatial;
      } context{&planes, spatial};
      kernels::ForEachBlocked8Row(
          blocked.data(), channels, spatial,
          [](void* p, const float* values, int64_t n, int64_t c, int64_t s) {
            auto* ctx = static_cast<Context*>(p);
            ASSERT_LE(n, kernels::kBlockedRow);
            std::memcpy(ctx->planes->data() + c * ctx->spatial + s, values, static_cast<size_t>(n) * 4);
          },
          &context);
      for (size_t i = 0; i < planes.size(); ++i)
        ASSERT_TRUE(planes[i] == x[i] || (std::isnan(planes[i]) && std::isnan(x[i]))) << i;
    }
}

void ElementwiseCases(const char* kernel) {
  const ir::Shape big = {2, 3, 29, 41};  // runs past a chunk, odd tails
  for (const char* name : {"add", "sub", "mul", "div", "max", "min"}) {
    SCOPED_TRACE(name);
    ir::AttrMap attrs;
    attrs.Set("op", std::string(name));
    const Operand a{big, HalfValues(ir::ElementCount(big), 3)};
    ExpectMatchesCastPath(OpKind::kElementwise, attrs, {a, {big, HalfValues(ir::ElementCount(big), 4)}}, true, {},
                          kernel);
    // Broadcast per channel, a scalar FLOAT32 constant on either side, a FLOAT32 output.
    ExpectMatchesCastPath(OpKind::kElementwise, attrs, {a, {{1, 3, 1, 1}, HalfValues(3, 5)}}, true, {}, kernel);
    ExpectMatchesCastPath(OpKind::kElementwise, attrs, {{{1}, {0.3f}, false, true}, a}, true, {}, kernel);
    ExpectMatchesCastPath(OpKind::kElementwise, attrs, {a, {{1}, {-70000.0f}, false, true}}, true, {}, kernel);
    ExpectMatchesCastPath(OpKind::kElementwise, attrs, {a, {{1, 1, 29, 1}, HalfValues(29, 6)}}, false, {}, kernel);
  }
}

TEST(HalfStorage, ElementwiseMatchesTheCastPath) {
  if (!HaveAvx2()) GTEST_SKIP() << "needs AVX2 + F16C";
  ElementwiseCases("avx2-f16");
}

void PointwiseCases(const char* kernel) {
  const int64_t n = 2 * kHalfChunk + 37;
  for (const char* type : {"relu", "relu6", "clip", "leaky_relu", "sigmoid", "tanh", "hard_sigmoid", "hard_swish",
                           "silu", "gelu_erf", "gelu_tanh"}) {
    SCOPED_TRACE(type);
    ir::AttrMap attrs;
    attrs.Set("type", std::string(type));
    if (std::string(type) == "clip") {
      attrs.Set("alpha", -0.3f);  // not a float16 value: the clip's output is rounded
      attrs.Set("beta", 2.7f);
    }
    ExpectMatchesCastPath(OpKind::kActivation, attrs, {{{n}, HalfValues(n, 7)}}, true, {}, kernel);
    ExpectMatchesCastPath(OpKind::kActivation, attrs, {{{3, 5}, HalfValues(15, 8)}}, false, {}, kernel);
    ExpectMatchesCastPath(OpKind::kActivation, attrs, {{{n}, HalfValues(n, 9), false}}, true, {}, kernel);
  }
  for (const char* op : {"sqrt", "exp", "log", "abs", "neg", "erf", "reciprocal"}) {
    SCOPED_TRACE(op);
    ir::AttrMap attrs;
    attrs.Set("op", std::string(op));
    ExpectMatchesCastPath(OpKind::kUnary, attrs, {{{n}, HalfValues(n, 10)}}, true, {}, kernel);
  }
}

TEST(HalfStorage, ActivationAndUnaryMatchTheCastPath) {
  if (!HaveAvx2()) GTEST_SKIP() << "needs AVX2 + F16C";
  PointwiseCases("avx2-f16");
}

ir::AttrMap ConvAttrs(std::vector<int64_t> strides, std::vector<int64_t> pads, int64_t group) {
  ir::AttrMap a;
  a.Set("strides", strides);
  a.Set("pads", pads);
  a.Set("group", group);
  a.Set("input_layout", std::string("NCHW"));
  a.Set("filter_layout", std::string("OIHW"));
  a.Set("output_layout", std::string("NCHW"));
  return a;
}

TEST(HalfStorage, OneDnnConvolutionMatchesTheCastPathWithPostOps) {
  if (!HaveAvx2()) GTEST_SKIP() << "needs AVX2 + F16C";
  struct Case {
    const char* name;
    int64_t n, c, h, w, o, k, stride, pad, group;
  };
  const Case cases[] = {
      {"3 channels in (plain source)", 1, 3, 19, 23, 16, 3, 2, 1, 1},
      {"1x1, 13 -> 21 channels (padded blocks)", 2, 13, 9, 11, 21, 1, 1, 0, 1},
      {"depthwise 3x3", 1, 24, 17, 15, 24, 3, 1, 1, 24},
      {"5x5 stride 2, one output channel", 1, 8, 14, 13, 1, 5, 2, 2, 1},
  };
  PostOp relu, clip, leaky, add, add_first, hard_swish;
  ASSERT_TRUE(ActivationPostOp(
      [] {
        ir::AttrMap a;
        a.Set("type", std::string("relu"));
        return a;
      }(),
      &relu));
  clip.activation = "clip";
  clip.lo = -0.3f;
  clip.hi = 2.7f;
  leaky.activation = "leaky_relu";
  hard_swish.activation = "hard_swish";
  leaky.lo = 0.1f;
  add.kind = add_first.kind = PostOp::Kind::kAdd;
  add.input = add_first.input = 3;
  add_first.add_first = true;
  const std::vector<std::vector<PostOp>> chains = {
      {}, {relu}, {clip}, {leaky}, {add}, {add_first, relu}, {add, leaky}, {hard_swish}, {add, hard_swish}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const ir::AttrMap attrs = ConvAttrs({c.stride, c.stride}, {c.pad, c.pad, c.pad, c.pad}, c.group);
    const ir::Shape xs = {c.n, c.c, c.h, c.w}, ws = {c.o, c.c / c.group, c.k, c.k};
    const int64_t oh = (c.h + 2 * c.pad - c.k) / c.stride + 1, ow = (c.w + 2 * c.pad - c.k) / c.stride + 1;
    const ir::Shape ys = {c.n, c.o, oh, ow};
    const Operand x{xs, HalfValues(ir::ElementCount(xs), 11, 1.0f)};
    std::vector<float> weights = HalfValues(ir::ElementCount(ws), 12, 0.5f);
    for (float& v : weights)
      if (!std::isfinite(v) || std::fabs(v) > 8.0f) v = 0.25f;  // finite weights; the input carries the specials
    const Operand w{ws, weights, false, true};
    const Operand b{{c.o}, HalfValues(c.o, 13, 1.0f), false, true};
    for (const auto& chain : chains) {
      SCOPED_TRACE(chain.size());
      std::vector<Operand> operands = {x, w, b};
      if (!chain.empty() && chain[0].kind == PostOp::Kind::kAdd)
        operands.push_back({ys, HalfValues(ir::ElementCount(ys), 14, 2.0f)});
      ExpectMatchesCastPath(OpKind::kConv2D, attrs, operands, true, chain, "onednn-f16");
    }
    // Float16 in, FLOAT32 out (a network output kept in float32).
    ExpectMatchesCastPath(OpKind::kConv2D, attrs, {x, w, b}, false, {}, "onednn-f16");
  }
}

// "onednn-f16-winograd": the float16 tensors widened into oneDNN's Winograd
// convolution, the same kernel the float32 cast path selects on AVX-512
// ("onednn-winograd"), so the same bits; post-ops rounded as their steps.
TEST(HalfStorage, WinogradConvolutionMatchesTheCastPath) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "onednn-f16-winograd");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "needs AVX-512";
  const ir::AttrMap attrs = ConvAttrs({1, 1}, {1, 1, 1, 1}, 1);
  const ir::Shape xs = {1, 16, 29, 28}, ws = {32, 16, 3, 3}, ys = {1, 32, 29, 28};
  const Operand x{xs, HalfValues(ir::ElementCount(xs), 21, 1.0f)};
  std::vector<float> weights = HalfValues(ir::ElementCount(ws), 22, 0.5f);
  for (float& v : weights)
    if (!std::isfinite(v) || std::fabs(v) > 8.0f) v = 0.25f;
  const Operand w{ws, weights, false, true};
  const Operand b{{32}, HalfValues(32, 23, 1.0f), false, true};
  PostOp relu, add;
  relu.activation = "relu";
  relu.hi = std::numeric_limits<float>::infinity();
  add.kind = PostOp::Kind::kAdd;
  add.input = 3;
  ExpectMatchesCastPath(OpKind::kConv2D, attrs, {x, w, b}, true, {}, "onednn-f16-winograd");
  ExpectMatchesCastPath(OpKind::kConv2D, attrs, {x, w, b, {ys, HalfValues(ir::ElementCount(ys), 24, 2.0f)}}, true,
                        {add, relu}, "onednn-f16-winograd");
  ExpectMatchesCastPath(OpKind::kConv2D, attrs, {x, w, b}, false, {}, "onednn-f16-winograd");
}

TEST(HalfStorage, PoolingResizeAndBatchNormMatchTheCastPath) {
  if (!HaveAvx2()) GTEST_SKIP() << "needs AVX2 + F16C";
  const ir::Shape xs = {2, 5, 13, 17};
  const Operand x{xs, HalfValues(ir::ElementCount(xs), 15)};
  ir::AttrMap pool;
  pool.Set("kernel", std::vector<int64_t>{3, 3});
  pool.Set("strides", std::vector<int64_t>{2, 2});
  pool.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  pool.Set("layout", std::string("NCHW"));
  ExpectMatchesCastPath(OpKind::kMaxPool2D, pool, {x}, true);
  {
    NarrowScope bf16(DataType::BFLOAT16);
    const Operand xb{xs, HalfValues(ir::ElementCount(xs), 15)};
    ExpectMatchesCastPath(OpKind::kMaxPool2D, pool, {xb}, true, {}, "avx2-bf16");
    for (const char* layout : {"NCHW", "NHWC"}) {
      ir::AttrMap gap;
      gap.Set("layout", std::string(layout));
      ExpectMatchesCastPath(OpKind::kGlobalAvgPool, gap, {xb}, true, {}, "avx2-bf16");
      ExpectMatchesCastPath(OpKind::kGlobalAvgPool, gap, {xb}, false, {}, "avx2-bf16");
    }
    for (const char* mode : {"nearest", "linear"}) {
      ir::AttrMap resize;
      resize.Set("mode", std::string(mode));
      resize.Set("scales", std::vector<float>{1.0f, 1.0f, 2.0f, 1.5f});
      ExpectMatchesCastPath(OpKind::kResize, resize, {xb}, true, {}, "cpu-fast-bf16");
    }
  }
  for (const char* layout : {"NCHW", "NHWC"}) {
    ir::AttrMap gap;
    gap.Set("layout", std::string(layout));
    ExpectMatchesCastPath(OpKind::kGlobalAvgPool, gap, {x}, true);
    ExpectMatchesCastPath(OpKind::kGlobalAvgPool, gap, {x}, false);
  }
  for (const char* mode : {"nearest", "linear"}) {
    ir::AttrMap resize;
    resize.Set("mode", std::string(mode));
    resize.Set("scales", std::vector<float>{1.0f, 1.0f, 2.0f, 1.5f});
    ExpectMatchesCastPath(OpKind::kResize, resize, {x}, true, {}, "cpu-fast-f16");
  }
  ir::AttrMap bn;
  bn.Set("axis", int64_t{1});
  const Operand mean{{5}, {0.5f, -1.0f, 0.0f, 3.0f, 1e-3f}, false, true};
  const Operand var{{5}, {1.0f, 0.25f, 4.0f, 1e-6f, 9.0f}, false, true};
  const Operand scale{{5}, {1.0f, -2.0f, 0.5f, 3.0f, 1.0f}, false, true};
  const Operand bias{{5}, {0.0f, 0.1f, -0.2f, 0.3f, 7.0f}, false, true};
  ExpectMatchesCastPath(OpKind::kBatchNorm, bn, {x, mean, var, scale, bias}, true);
}

void RowWiseCases(const char* kernel) {
  // Rows shorter than a chunk (several per chunk plus a tail) and longer ones.
  for (const ir::Shape& shape : {ir::Shape{3, 97, 7}, ir::Shape{1, 5, 3001}}) {
    const Operand x{shape, HalfValues(ir::ElementCount(shape), 16, 3.0f)};
    ExpectMatchesCastPath(OpKind::kSoftmax, {}, {x}, true, {}, kernel);
    ExpectMatchesCastPath(OpKind::kSoftmax, {}, {x}, false, {}, kernel);  // a float32 output
    const int64_t last = shape.back();
    const Operand gamma{{last}, HalfValues(last, 17, 1.0f), false, true};
    const Operand beta{{last}, HalfValues(last, 18, 1.0f), false, true};
    ExpectMatchesCastPath(OpKind::kLayerNorm, {}, {x, gamma, beta}, true, {}, kernel);
  }
  // A small MatMul and FullyConnected in one call.
  const Operand a{{1, 19, 24}, HalfValues(19 * 24, 19, 1.0f)};
  std::vector<float> bv = HalfValues(24 * 33, 20, 0.5f);
  for (float& v : bv)
    if (!std::isfinite(v)) v = 1.0f;
  ExpectMatchesCastPath(OpKind::kMatMul, {}, {a, {{24, 33}, bv, false, true}}, true, {}, kernel);
  const Operand x2{{3, 24}, HalfValues(3 * 24, 21, 1.0f)};
  ExpectMatchesCastPath(OpKind::kFullyConnected, {},
                        {x2, {{33, 24}, bv, false, true}, {{33}, HalfValues(33, 22, 1.0f), false, true}}, true, {},
                        kernel);
}

TEST(HalfStorage, RowWiseOpsMatchTheCastPath) {
  if (!HaveAvx2()) GTEST_SKIP() << "needs AVX2 + F16C";
  RowWiseCases("avx2-f16");
}

// The same wrappers on bfloat16 storage (force_bfloat16): bit for bit with
// the Cast path, whose casts round to bfloat16 (ties to even, NaN quieted).
TEST(BFloat16Storage, ElementwisePointwiseAndRowWiseMatchTheCastPath) {
  if (!HaveAvx2()) GTEST_SKIP() << "needs AVX2";
  NarrowScope bf16(DataType::BFLOAT16);
  ElementwiseCases("avx2-bf16");
  PointwiseCases("avx2-bf16");
  RowWiseCases("avx2-bf16");
}

// The AVX-512 Softmax on narrow storage (ops/softmax/softmax_row_avx512.cc):
// bit for bit with the Cast path too, rows with and without 16-value tails.
TEST(HalfStorage, Avx512SoftmaxMatchesTheCastPath) {
  if (!HaveAvx2() || kernels::BestIsa() < kernels::Isa::kAvx512) GTEST_SKIP() << "needs AVX-512";
  for (DataType narrow : {DataType::FLOAT16, DataType::BFLOAT16}) {
    NarrowScope scope(narrow);
    const char* kernel = narrow == DataType::FLOAT16 ? "avx512-f16" : "avx512-bf16";
    for (const ir::Shape& shape : {ir::Shape{3, 97, 7}, ir::Shape{1, 5, 3001}, ir::Shape{2, 3, 6625}}) {
      const Operand x{shape, HalfValues(ir::ElementCount(shape), 16, 3.0f)};
      ExpectMatchesCastPath(OpKind::kSoftmax, {}, {x}, true, {}, kernel);
      ExpectMatchesCastPath(OpKind::kSoftmax, {}, {x}, false, {}, kernel);  // a float32 output
    }
    // e^-100 and e^-90 are float32 denormals: bfloat16's vcvtneps2bf16
    // would flush them, the rows' rounding keeps them.
    std::vector<float> tiny(80, -100.0f);
    for (size_t i = 0; i < tiny.size(); i += 7) tiny[i] = i % 2 ? -90.0f : 0.0f;
    ExpectMatchesCastPath(OpKind::kSoftmax, {}, {Operand{{2, 40}, tiny}}, true, {}, kernel);
  }
}

// The AVX-512 LayerNorm on narrow storage (ops/layer_norm/cpu_avx512.cc):
// bit for bit with the Cast path, rows with and without 16-value tails,
// scale / bias per element or one value, a float32 output too.
TEST(HalfStorage, Avx512LayerNormMatchesTheCastPath) {
  if (!HaveAvx2() || kernels::BestIsa() < kernels::Isa::kAvx512) GTEST_SKIP() << "needs AVX-512";
  for (DataType narrow : {DataType::FLOAT16, DataType::BFLOAT16}) {
    NarrowScope scope(narrow);
    const char* kernel = narrow == DataType::FLOAT16 ? "avx512-f16" : "avx512-bf16";
    for (const ir::Shape& shape : {ir::Shape{3, 97, 7}, ir::Shape{1, 5, 3001}, ir::Shape{2, 9, 768}}) {
      const Operand x{shape, HalfValues(ir::ElementCount(shape), 23, 3.0f)};
      const int64_t last = shape.back();
      const Operand gamma{{last}, HalfValues(last, 24, 1.0f), false, true};
      const Operand beta{{last}, HalfValues(last, 25, 1.0f), false, true};
      ExpectMatchesCastPath(OpKind::kLayerNorm, {}, {x, gamma, beta}, true, {}, kernel);
      ExpectMatchesCastPath(OpKind::kLayerNorm, {}, {x, gamma, beta}, false, {}, kernel);  // a float32 output
      ExpectMatchesCastPath(OpKind::kLayerNorm, {}, {x, gamma}, true, {}, kernel);         // no bias
      const Operand one_gamma{{1}, {1.5f}, false, true}, one_beta{{1}, {-0.25f}, false, true};
      ExpectMatchesCastPath(OpKind::kLayerNorm, {}, {x, one_gamma, one_beta}, true, {}, kernel);
      // Denormal outputs (a scale of 1e-39): bfloat16's vcvtneps2bf16 would flush them.
      const Operand tiny_gamma{{1}, {1e-39f}, false, true};
      ExpectMatchesCastPath(OpKind::kLayerNorm, {}, {x, tiny_gamma}, true, {}, kernel);
    }
  }
}

TEST(HalfStorage, KernelsRefuseWhatTheyDoNotTake) {
  if (!HaveAvx2()) GTEST_SKIP() << "needs AVX2 + F16C";
  // Softmax over a middle axis: its rows are not contiguous.
  ir::AttrMap attrs = WithDefaults(OpKind::kSoftmax, {});
  attrs.Set("axis", int64_t{1});
  ValueInfo x{DataType::FLOAT16, {2, 3, 4}, nullptr, nullptr, true};
  std::vector<const ValueInfo*> ins = {&x};
  std::vector<ValueInfo> outs = {x};
  EXPECT_FALSE(FindKernel(OpKind::kSoftmax, "avx2-f16")->supports(KernelInit(attrs, ins, outs)));
  // Plain float32 steps stay with the float32 kernels.
  ValueInfo f{DataType::FLOAT32, {2, 3, 4}, nullptr, nullptr, false};
  std::vector<const ValueInfo*> fins = {&f};
  std::vector<ValueInfo> fouts = {f};
  ir::AttrMap act = WithDefaults(OpKind::kActivation, {});
  EXPECT_FALSE(FindKernel(OpKind::kActivation, "avx2-f16")->supports(KernelInit(act, fins, fouts)));
  // A large MatMul keeps its Cast steps (one call would need float32 copies outside the arena).
  ValueInfo a{DataType::FLOAT16, {1, 40, 120}, nullptr, nullptr, true};
  std::vector<float> weights(120 * 6625, 0.0f);
  ValueInfo b{DataType::FLOAT32, {120, 6625}, weights.data(), nullptr, false};
  std::vector<const ValueInfo*> mins = {&a, &b};
  std::vector<ValueInfo> mouts = {{DataType::FLOAT16, {1, 40, 6625}, nullptr, nullptr, true}};
  ir::AttrMap mm = WithDefaults(OpKind::kMatMul, {});
  EXPECT_FALSE(FindKernel(OpKind::kMatMul, "avx2-f16")->supports(KernelInit(mm, mins, mouts)));
}

}  // namespace
}  // namespace mixq::ops
