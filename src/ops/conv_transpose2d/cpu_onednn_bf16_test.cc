// ConvTranspose2D "onednn-bf16" against the reference on the same bfloat16
// values (float32 sums in double), the fused activation applied, rounded
// once to bfloat16 (conv_transpose2d/cpu_onednn.cc): strides, padding,
// output padding, groups, bias or none, plain and channels-last tensors, a
// FLOAT32 output; and a filter bfloat16 cannot hold, which it declines.
#include <gtest/gtest.h>

#include <cmath>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>

#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

struct Case {
  int64_t batch, cin, h, w, cout, k, stride, pad, output_pad, group;
  bool bias = true, relu = false, in_nhwc = false, out_nhwc = false, float_output = false;
};

template <typename T>
std::vector<T> Transpose(const std::vector<T>& x, int64_t n, int64_t a, int64_t b) {
  std::vector<T> y(x.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < a; ++p)
      for (int64_t q = 0; q < b; ++q)
        y[static_cast<size_t>((i * b + q) * a + p)] = x[static_cast<size_t>((i * a + p) * b + q)];
  return y;
}

ir::AttrMap Attrs(const Case& c) {
  ir::AttrMap attrs;
  for (const AttrSpec& spec : GetSchema(OpKind::kConvTranspose2D).attrs) attrs.Set(spec.name, spec.default_value);
  attrs.Set("strides", std::vector<int64_t>{c.stride, c.stride});
  attrs.Set("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad});
  attrs.Set("output_padding", std::vector<int64_t>{c.output_pad, c.output_pad});
  attrs.Set("group", c.group);
  attrs.Set("padding_mode", std::string("EXPLICIT"));
  attrs.Set("input_layout", std::string("NCHW"));
  attrs.Set("filter_layout", std::string("IOHW"));
  attrs.Set("output_layout", std::string("NCHW"));
  return attrs;
}

struct Result {
  bool supported = false;
  std::string name;
  std::vector<float> got, expected;
};

Result RunCase(const Case& c, uint32_t seed, float filter_override = 0.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  const ir::Shape x_shape{c.batch, c.cin, c.h, c.w}, w_shape{c.cin, c.cout / c.group, c.k, c.k};
  std::vector<float> x(static_cast<size_t>(ir::ElementCount(x_shape))),
      w(static_cast<size_t>(ir::ElementCount(w_shape))), bias(static_cast<size_t>(c.cout));
  for (auto& v : x) v = RoundToBFloat16(real(rng));
  for (auto& v : w) v = RoundToBFloat16(real(rng));
  if (filter_override != 0.0f) w[1] = filter_override;
  for (auto& v : bias) v = real(rng);
  const ir::AttrMap attrs = Attrs(c);

  // The reference on float32 tensors of the same values.
  ValueInfo xf{DataType::FLOAT32, x_shape, nullptr, nullptr, false};
  ValueInfo wf{DataType::FLOAT32, w_shape, w.data(), nullptr, false};
  ValueInfo bf{DataType::FLOAT32, {c.cout}, bias.data(), nullptr, false};
  std::vector<const ValueInfo*> ref_ins = {&xf, &wf, c.bias ? &bf : nullptr};
  std::vector<ValueInfo> outs(1);
  EXPECT_TRUE(GetSchema(OpKind::kConvTranspose2D).infer(attrs, ref_ins, outs).ok());
  const ir::Shape y_shape = outs[0].shape;
  const int64_t count = ir::ElementCount(y_shape);
  std::vector<float> ref(static_cast<size_t>(count));
  {
    KernelInit init(attrs, ref_ins, outs);
    std::unique_ptr<Kernel> kernel;
    EXPECT_TRUE(ReferenceKernel(OpKind::kConvTranspose2D).make(init, &kernel).ok());
    TensorView bv = c.bias ? TensorView{DataType::FLOAT32, {c.cout}, bias.data(), nullptr} : TensorView{};
    EXPECT_TRUE(
        kernel
            ->Run(
                {{DataType::FLOAT32, x_shape, x.data(), nullptr}, {DataType::FLOAT32, w_shape, w.data(), nullptr}, bv},
                {{DataType::FLOAT32, y_shape, ref.data(), nullptr}})
            .ok());
  }
  Result r;
  for (float v : ref) {
    const float a = c.relu ? std::max(v, 0.0f) : v;
    r.expected.push_back(c.float_output ? a : RoundToBFloat16(a));
  }

  auto layout = [](bool nhwc) { return nhwc ? MemoryLayout::kChannelsLast : MemoryLayout::kPlain; };
  ValueInfo xi{DataType::BFLOAT16, x_shape, nullptr, nullptr, true, layout(c.in_nhwc)};
  std::vector<ValueInfo> y_info = {
      c.float_output ? ValueInfo{DataType::FLOAT32, y_shape, nullptr, nullptr, false}
                     : ValueInfo{DataType::BFLOAT16, y_shape, nullptr, nullptr, true, layout(c.out_nhwc)}};
  std::vector<const ValueInfo*> ins = {&xi, &wf, c.bias ? &bf : nullptr};
  std::vector<DataType> compute = {DataType::BFLOAT16, DataType::FLOAT32, DataType::FLOAT32};
  std::vector<PostOp> post;
  if (c.relu) {
    PostOp op;
    op.activation = "relu";
    op.hi = std::numeric_limits<float>::infinity();
    post.push_back(op);
  }
  KernelInit init(attrs, ins, y_info, &compute, &post);
  const KernelDef* def = FindKernel(OpKind::kConvTranspose2D, "onednn-bf16");
  EXPECT_NE(def, nullptr);
  if (!def || !def->supports(init)) return r;
  r.supported = true;
  std::unique_ptr<Kernel> kernel;
  const Status made = def->make(init, &kernel);
  EXPECT_TRUE(made.ok()) << made.ToString();
  if (!made.ok()) return r;
  r.name = kernel->Name();
  std::vector<uint16_t> x16(x.size()), y16(static_cast<size_t>(count));
  for (size_t i = 0; i < x.size(); ++i) x16[i] = FloatToBFloat16(x[i]);
  if (c.in_nhwc) x16 = Transpose(x16, c.batch, c.cin, c.h * c.w);
  std::vector<float> y32(static_cast<size_t>(count));
  TensorView bv = c.bias ? TensorView{DataType::FLOAT32, {c.cout}, bias.data(), nullptr} : TensorView{};
  TensorView yv = c.float_output ? TensorView{DataType::FLOAT32, y_shape, y32.data(), nullptr}
                                 : TensorView{DataType::BFLOAT16, y_shape, y16.data(), nullptr};
  for (int run = 0; run < 2; ++run)
    EXPECT_TRUE(kernel
                    ->Run({{DataType::BFLOAT16, x_shape, x16.data(), nullptr},
                           {DataType::FLOAT32, w_shape, w.data(), nullptr},
                           bv},
                          {yv})
                    .ok());
  if (c.float_output) {
    r.got = y32;
  } else {
    if (c.out_nhwc) y16 = Transpose(y16, c.batch, y_shape[2] * y_shape[3], c.cout);
    for (uint16_t h : y16) r.got.push_back(BFloat16ToFloat(h));
  }
  return r;
}

// oneDNN 2.6's fast bfloat16 deconvolution is its AMX kernel (AMX-BF16 comes
// with AMX-INT8 on every CPU that has them), unless ONEDNN_MAX_CPU_ISA caps
// oneDNN below AMX (ctest's onednn_bf16_avx512_bf16_path does, to run the
// path a Zen 4 takes): then oneDNN's own view decides.
bool HaveAmx() {
  const auto amx = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_amx);
  const bool onednn_amx = (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & amx) == amx;
  return kernels::DetectedCpuFeatures().avx512bf16 && kernels::DetectedCpuFeatures().amx_int8 && onednn_amx;
}

TEST(ConvTranspose2DOneDnnBFloat16, MatchesTheReferenceRoundedOnce) {
  if (!HaveAmx()) GTEST_SKIP() << "no AMX";
  const Case cases[] = {
      {1, 24, 9, 7, 24, 2, 2, 0, 0, 1, true, true},                      // PP-OCR det's upsampling
      {1, 24, 10, 10, 1, 2, 2, 0, 0, 1, true, false, true, false},       // one output channel, NHWC in
      {2, 16, 5, 6, 20, 3, 2, 1, 1, 1, false, true, false, true},        // output padding, NHWC out
      {1, 32, 6, 5, 32, 3, 1, 1, 0, 2, true, false},                     // grouped, 16 channels a group
      {1, 20, 7, 7, 12, 4, 2, 1, 0, 1, true, true, false, false, true},  // FLOAT32 output
  };
  uint32_t seed = 9;
  for (const Case& c : cases) {
    const Result r = RunCase(c, seed++);
    ASSERT_TRUE(r.supported) << "cin " << c.cin << " cout " << c.cout << " group " << c.group;
    EXPECT_EQ(r.name, "onednn-bf16");
    ASSERT_EQ(r.got.size(), r.expected.size());
    int bad = 0;
    for (size_t i = 0; i < r.got.size() && bad < 5; ++i) {
      const double e = r.expected[i], tolerance = std::ldexp(std::max(std::fabs(e), 0.05), -7);
      if (std::fabs(r.got[i] - e) > tolerance) {
        ADD_FAILURE() << "cin " << c.cin << " cout " << c.cout << " at " << i << ": " << r.got[i] << " vs " << e;
        ++bad;
      }
    }
  }
}

// Without AMX oneDNN runs it on its backward-data kernel, 30x slower than
// onednn-col2im in float32 on PP-OCR det's upsampling (cpu_onednn.cc).
TEST(ConvTranspose2DOneDnnBFloat16, DeclinedWithoutAmx) {
  if (!kernels::DetectedCpuFeatures().avx512bf16 || HaveAmx()) GTEST_SKIP() << "AMX, or no AVX512_BF16";
  const Case cases[] = {
      {1, 24, 9, 7, 24, 2, 2, 0, 0, 1, true, true},
      {1, 32, 6, 5, 48, 3, 1, 1, 0, 4, true, false},
  };
  for (const Case& c : cases) EXPECT_FALSE(RunCase(c, 5).supported) << "cin " << c.cin << " group " << c.group;
}

TEST(ConvTranspose2DOneDnnBFloat16, DeclinesAFilterBFloat16CannotHold) {
  if (!HaveAmx()) GTEST_SKIP() << "no AMX";
  const Case c{1, 8, 4, 4, 8, 2, 2, 0, 0, 1};
  EXPECT_TRUE(RunCase(c, 3).supported);
  EXPECT_FALSE(RunCase(c, 3, 0.1f).supported);
}

}  // namespace
}  // namespace mixq::ops
