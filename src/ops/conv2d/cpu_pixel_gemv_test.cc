// The one-pixel convolution kernels (cpu_pixel_gemv.cc): float32 against
// the reference (test_util/conv_compare.h's bound) in every filter and data
// layout, batch 1-3, channel counts that leave vector and group tails,
// strides and dilations that keep one pixel; float16 storage against a
// double reference on the same float16 values within one float16 step, with
// a ReLU and with a residual add; both ISAs where the CPU has them; the
// registry's choice, and the steps they decline.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"
#include "test_util/conv_compare.h"
#include "test_util/op_runner.h"
#include "util/half.h"

namespace mixq::testing {
namespace {

const char* const kFloatKernels[] = {"avx2-f32-gemv", "avx512-f32-gemv"};
const char* const kHalfKernels[] = {"avx2-f16-gemv", "avx512-f16-gemv"};

bool CpuRuns(const char* name) {
  const ops::KernelDef* def = ops::FindKernel(OpKind::kConv2D, name);
  return def && def->isa <= kernels::BestIsa();
}

TEST(Conv2DPixelGemv, Float32MatchesTheReference) {
  const ConvCase cases[] = {
      // name, n, c, h, w, o, kh, kw, group, strides, pads, dilations, mode, layouts, constant filter, bias, magnitude
      {"rec SE 480 -> 120",
       1,
       480,
       1,
       1,
       120,
       1,
       1,
       1,
       {1, 1},
       {0, 0, 0, 0},
       {1, 1},
       "EXPLICIT",
       "NCHW",
       "OIHW",
       "NCHW",
       true,
       true,
       1.0f},
      {"240 -> 60 no bias",
       1,
       240,
       1,
       1,
       60,
       1,
       1,
       1,
       {1, 1},
       {0, 0, 0, 0},
       {1, 1},
       "EXPLICIT",
       "NCHW",
       "OIHW",
       "NCHW",
       true,
       false,
       1.0f},
      {"batch 3, tails, OHWI",
       3,
       37,
       1,
       1,
       49,
       1,
       1,
       1,
       {1, 1},
       {0, 0, 0, 0},
       {1, 1},
       "EXPLICIT",
       "NCHW",
       "OHWI",
       "NCHW",
       true,
       true,
       2.0f},
      {"NHWC, HWCN, stride 2, dilation 3",
       2,
       5,
       1,
       1,
       3,
       1,
       1,
       1,
       {2, 2},
       {0, 0, 0, 0},
       {3, 3},
       "EXPLICIT",
       "NHWC",
       "HWCN",
       "NHWC",
       true,
       true,
       1.0f},
      {"one output channel, large values",
       1,
       1000,
       1,
       1,
       1,
       1,
       1,
       1,
       {1, 1},
       {0, 0, 0, 0},
       {1, 1},
       "EXPLICIT",
       "NCHW",
       "OIHW",
       "NCHW",
       true,
       true,
       1e15f},
      {"97 outputs: a partial group of vectors",
       4,
       16,
       1,
       1,
       97,
       1,
       1,
       1,
       {1, 1},
       {0, 0, 0, 0},
       {1, 1},
       "EXPLICIT",
       "NCHW",
       "OIHW",
       "NCHW",
       true,
       true,
       1.0f},
  };
  for (const char* kernel : kFloatKernels) {
    if (!CpuRuns(kernel)) continue;  // AVX-512 only where the CPU has it
    SCOPED_TRACE(kernel);
    for (const ConvCase& c : cases) ExpectOptimizedConvMatchesReference(OpKind::kConv2D, c, kernel);
  }
}

ir::AttrMap PixelAttrs(int64_t pad = 0, int64_t group = 1) {
  ir::AttrMap attrs;
  for (const ops::AttrSpec& spec : ops::GetSchema(OpKind::kConv2D).attrs) attrs.Set(spec.name, spec.default_value);
  attrs.Set("input_layout", std::string("NCHW"));
  attrs.Set("output_layout", std::string("NCHW"));
  attrs.Set("filter_layout", std::string("OIHW"));
  attrs.Set("group", group);
  attrs.Set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  return attrs;
}

float Half(float v) {
  return HalfToFloat(FloatToHalf(v));
}

// Float16 storage: y = post(round16(bias + sum w x)), post a ReLU or a
// residual add then ReLU, each rounded as the separate steps round.
void CheckHalf(const char* name, int64_t n, int64_t c, int64_t o, bool add) {
  SCOPED_TRACE(std::string(name) + (add ? " add+relu" : " relu"));
  const ops::KernelDef* def = ops::FindKernel(OpKind::kConv2D, name);
  ASSERT_NE(def, nullptr);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * c)), w(static_cast<size_t>(o * c)), bias(static_cast<size_t>(o)),
      addend(static_cast<size_t>(n * o));
  for (auto& v : x) v = Half(real(rng) * 3.0f);
  for (auto& v : w) v = Half(real(rng));
  for (auto& v : bias) v = real(rng);
  for (auto& v : addend) v = Half(real(rng) * 2.0f);
  const ir::AttrMap attrs = PixelAttrs();
  const ir::Shape xs{n, c, 1, 1}, ws{o, c, 1, 1}, ys{n, o, 1, 1};
  ops::ValueInfo xi{DataType::FLOAT16, xs, nullptr, nullptr, true};
  ops::ValueInfo wi{DataType::FLOAT32, ws, w.data(), nullptr, false};
  ops::ValueInfo bi{DataType::FLOAT32, {o}, bias.data(), nullptr, false};
  ops::ValueInfo ai{DataType::FLOAT16, ys, nullptr, nullptr, true};
  std::vector<ops::ValueInfo> yi = {ops::ValueInfo{DataType::FLOAT16, ys, nullptr, nullptr, true}};
  std::vector<DataType> compute = {DataType::FLOAT16, DataType::FLOAT32, DataType::FLOAT32, DataType::FLOAT16};
  std::vector<ops::PostOp> post;
  if (add) {
    post.resize(1);
    post[0].kind = ops::PostOp::Kind::kAdd;
    post[0].input = 3;
  }
  post.emplace_back();
  post.back().activation = "relu";
  post.back().hi = std::numeric_limits<float>::infinity();
  std::vector<const ops::ValueInfo*> ins = {&xi, &wi, &bi};
  if (add) ins.push_back(&ai);
  ops::KernelInit init(attrs, ins, yi, &compute, &post);
  ASSERT_TRUE(def->supports(init));
  std::unique_ptr<ops::Kernel> kernel;
  const Status made = def->make(init, &kernel);
  ASSERT_TRUE(made.ok()) << made.ToString();
  std::vector<uint16_t> x16(x.size()), a16(addend.size()), y16(addend.size(), 0x7e00);
  for (size_t i = 0; i < x.size(); ++i) x16[i] = FloatToHalf(x[i]);
  for (size_t i = 0; i < addend.size(); ++i) a16[i] = FloatToHalf(addend[i]);
  std::vector<ops::TensorView> in = {{DataType::FLOAT16, xs, x16.data(), nullptr},
                                     {DataType::FLOAT32, ws, w.data(), nullptr},
                                     {DataType::FLOAT32, {o}, bias.data(), nullptr}};
  if (add) in.push_back({DataType::FLOAT16, ys, a16.data(), nullptr});
  ASSERT_TRUE(kernel->Run(in, {{DataType::FLOAT16, ys, y16.data(), nullptr}}).ok());
  int positive = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < o; ++oc) {
      double sum = bias[static_cast<size_t>(oc)];
      for (int64_t ic = 0; ic < c; ++ic)
        sum += static_cast<double>(w[static_cast<size_t>(oc * c + ic)]) * x[static_cast<size_t>(b * c + ic)];
      double y = Half(static_cast<float>(sum));
      if (add) y = Half(static_cast<float>(y + addend[static_cast<size_t>(b * o + oc)]));
      y = std::max(y, 0.0);
      const float got = HalfToFloat(y16[static_cast<size_t>(b * o + oc)]);
      // One float16 step of the result (the float32 sums may round the other way).
      const double step = std::max(std::ldexp(std::fabs(y), -10), std::ldexp(1.0, -24));
      ASSERT_LE(std::fabs(got - y), step) << "image " << b << " channel " << oc;
      positive += got > 0;
    }
  EXPECT_GT(positive, 0);
}

TEST(Conv2DPixelGemv, Float16MatchesTheReference) {
  for (const char* kernel : kHalfKernels) {
    if (!CpuRuns(kernel)) continue;
    CheckHalf(kernel, 1, 240, 60, false);
    CheckHalf(kernel, 3, 37, 97, true);
    CheckHalf(kernel, 2, 480, 120, true);
  }
}

// The registry takes them for one-pixel convolutions only.
TEST(Conv2DPixelGemv, TakesOnePixelOnly) {
  const char* expected = CpuRuns("avx512-f32-gemv") ? "avx512-f32-gemv" : "avx2-f32-gemv";
  if (!CpuRuns(expected)) GTEST_SKIP() << "needs AVX2";
  auto selected = [](int64_t h, int64_t w, int64_t kernel, int64_t pad, int64_t group) {
    ir::AttrMap a = PixelAttrs(pad, group);
    const HostTensor x = HostTensor::F32({1, 8, h, w}, std::vector<float>(static_cast<size_t>(8 * h * w), 0.5f));
    const HostTensor f =
        HostTensor::F32({4, 8 / group, kernel, kernel},
                        std::vector<float>(static_cast<size_t>(4 * 8 / group * kernel * kernel), 0.25f))
            .Const();
    std::string name;
    const Status s = SelectedKernelName(OpKind::kConv2D, a, {x, f}, 1, &name);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return name;
  };
  EXPECT_EQ(selected(1, 1, 1, 0, 1), expected);
  EXPECT_NE(selected(2, 1, 1, 0, 1), expected);  // two pixels
  EXPECT_NE(selected(1, 1, 1, 0, 2), expected);  // two groups
  EXPECT_NE(selected(1, 1, 3, 1, 1), expected);  // a 3 x 3 filter over padding
}

}  // namespace
}  // namespace mixq::testing
