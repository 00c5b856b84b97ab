// ConvTranspose2D "onednn-col2im" (cpu_onednn_col2im.cc) against the
// reference (DESIGN rule 1):
//   - float32, the conv_compare tolerance: groups, dilation, strides,
//     asymmetric / SAME padding, output padding, both filter layouts (the
//     taps nested or copied), and images wide and tall enough to run in
//     several bands, overlapping taps and exact 2 x 2 cover alike;
//   - float16 storage in and out with fused post-ops (ReLU, a scalar product,
//     a residual add): the reference's result rounded at each boundary as
//     the separate steps would round it, within one float16 step;
//   - what it declines: NHWC activations, a run-time filter.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"
#include "test_util/conv_compare.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

using testing::ConvCase;
using testing::ExpectOptimizedConvMatchesReference;

constexpr const char* kName = "onednn-col2im";

bool Available() {
  const KernelDef* def = FindKernel(OpKind::kConvTranspose2D, kName);
  return def && def->isa <= kernels::BestIsa();
}

TEST(ConvTranspose2DCol2Im, MatchesTheReferenceOnOddShapesAndManyBands) {
  if (!Available()) GTEST_SKIP() << "needs AVX2";
  // name, n, c, h, w, o, kh, kw, group, strides, pads, dilations, mode,
  // in layout, filter layout, out layout, constant filter, bias, magnitude,
  // output padding
  const ConvCase cases[] = {
      {"2x2 stride 2, exact cover",
       1,
       5,
       7,
       9,
       6,
       2,
       2,
       1,
       {2, 2},
       {0, 0, 0, 0},
       {1, 1},
       "EXPLICIT",
       "NCHW",
       "IOHW",
       "NCHW",
       true,
       true,
       1.0f,
       {0, 0}},
      {"exact cover, output padding, IHWO",
       2,
       4,
       5,
       6,
       3,
       2,
       3,
       1,
       {2, 3},
       {0, 0, 0, 0},
       {1, 1},
       "EXPLICIT",
       "NCHW",
       "IHWO",
       "NCHW",
       true,
       false,
       1.0f,
       {1, 2}},
      {"exact cover in bands", 1,      6,          70,     64,     8,      2,    2,    1,    {2, 2},
       {0, 0, 0, 0},           {1, 1}, "EXPLICIT", "NCHW", "IOHW", "NCHW", true, true, 1.0f, {0, 0}},
      {"overlapping taps in bands",
       1,
       6,
       40,
       64,
       8,
       3,
       3,
       1,
       {2, 2},
       {1, 1, 1, 1},
       {1, 1},
       "EXPLICIT",
       "NCHW",
       "IOHW",
       "NCHW",
       true,
       true,
       1.0f,
       {1, 1}},
      {"stride 1 in bands, asymmetric pads",
       1,
       4,
       50,
       70,
       12,
       3,
       2,
       1,
       {1, 1},
       {2, 0, 1, 1},
       {1, 1},
       "EXPLICIT",
       "NCHW",
       "IHWO",
       "NCHW",
       true,
       true,
       1.0f,
       {0, 0}},
      {"grouped, dilated", 1,      6,          5,      6,      9,      3,    3,    3,    {1, 2},
       {1, 0, 2, 1},       {2, 2}, "EXPLICIT", "NCHW", "IOHW", "NCHW", true, true, 1.0f, {0, 1}},
      {"same upper", 1,      4,      5,      7,    6,    4,    4,     2, {2, 2}, {0, 0, 0, 0}, {1, 1},
       "SAME_UPPER", "NCHW", "IOHW", "NCHW", true, true, 1.0f, {0, 0}},
      {"same lower", 1,      3,      4,      4,    2,    3,    3,     1, {2, 1}, {0, 0, 0, 0}, {1, 1},
       "SAME_LOWER", "NCHW", "IOHW", "NCHW", true, true, 1.0f, {0, 0}},
      {"pads cropping more than a stride",
       1,
       3,
       6,
       5,
       4,
       5,
       5,
       1,
       {2, 2},
       {4, 3, 3, 4},
       {1, 1},
       "EXPLICIT",
       "NCHW",
       "IOHW",
       "NCHW",
       true,
       true,
       1.0f,
       {0, 0}},
      {"large values", 1,      3,          4,      5,      2,      2,    2,    1,     {2, 2},
       {0, 0, 0, 0},   {1, 1}, "EXPLICIT", "NCHW", "IOHW", "NCHW", true, true, 1e18f, {1, 1}},
  };
  for (const ConvCase& c : cases) ExpectOptimizedConvMatchesReference(OpKind::kConvTranspose2D, c, kName);
}

ir::AttrMap Attrs(int64_t stride, int64_t pad) {
  ir::AttrMap attrs;
  for (const AttrSpec& spec : GetSchema(OpKind::kConvTranspose2D).attrs) attrs.Set(spec.name, spec.default_value);
  attrs.Set("strides", std::vector<int64_t>{stride, stride});
  attrs.Set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  attrs.Set("input_layout", std::string("NCHW"));
  attrs.Set("filter_layout", std::string("IOHW"));
  attrs.Set("output_layout", std::string("NCHW"));
  return attrs;
}

float Half(float v) {
  return HalfToFloat(FloatToHalf(v));
}

// Float16 storage in and out, post-ops ReLU, * 0.75, + a float16 addend:
// each boundary rounded as the separate steps would round it.
TEST(ConvTranspose2DCol2Im, Float16StorageWithFusedPostOps) {
  if (!Available()) GTEST_SKIP() << "needs AVX2";
  struct Shape {
    int64_t cin, h, w, cout, k, stride, pad;
  };
  for (const Shape& sh : {Shape{24, 9, 11, 24, 2, 2, 0}, Shape{8, 30, 70, 5, 3, 2, 1}}) {
    SCOPED_TRACE(sh.k);
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> real(-1.0f, 1.0f);
    const ir::Shape x_shape{1, sh.cin, sh.h, sh.w}, w_shape{sh.cin, sh.cout, sh.k, sh.k};
    std::vector<float> x(static_cast<size_t>(ir::ElementCount(x_shape))),
        w(static_cast<size_t>(ir::ElementCount(w_shape))), bias(static_cast<size_t>(sh.cout));
    for (auto& v : x) v = Half(real(rng));
    for (auto& v : w) v = Half(real(rng));
    for (auto& v : bias) v = Half(real(rng));
    const ir::AttrMap attrs = Attrs(sh.stride, sh.pad);
    ValueInfo xf{DataType::FLOAT32, x_shape, nullptr, nullptr, false};
    ValueInfo wf{DataType::FLOAT32, w_shape, w.data(), nullptr, false};
    ValueInfo bf{DataType::FLOAT32, {sh.cout}, bias.data(), nullptr, false};
    std::vector<const ValueInfo*> ref_ins = {&xf, &wf, &bf};
    std::vector<ValueInfo> outs(1);
    ASSERT_TRUE(GetSchema(OpKind::kConvTranspose2D).infer(attrs, ref_ins, outs).ok());
    const ir::Shape y_shape = outs[0].shape;
    const int64_t count = ir::ElementCount(y_shape);
    std::vector<float> ref(static_cast<size_t>(count)), addend(static_cast<size_t>(count));
    for (auto& v : addend) v = Half(real(rng));
    {
      KernelInit init(attrs, ref_ins, outs);
      std::unique_ptr<Kernel> kernel;
      ASSERT_TRUE(ReferenceKernel(OpKind::kConvTranspose2D).make(init, &kernel).ok());
      ASSERT_TRUE(kernel
                      ->Run({{DataType::FLOAT32, x_shape, x.data(), nullptr},
                             {DataType::FLOAT32, w_shape, w.data(), nullptr},
                             {DataType::FLOAT32, {sh.cout}, bias.data(), nullptr}},
                            {{DataType::FLOAT32, y_shape, ref.data(), nullptr}})
                      .ok());
    }

    ValueInfo xh{DataType::FLOAT16, x_shape, nullptr, nullptr, true};
    ValueInfo ah{DataType::FLOAT16, y_shape, nullptr, nullptr, true};
    std::vector<ValueInfo> y_info = {ValueInfo{DataType::FLOAT16, y_shape, nullptr, nullptr, true}};
    std::vector<const ValueInfo*> ins = {&xh, &wf, &bf, &ah};
    std::vector<DataType> compute = {DataType::FLOAT16, DataType::FLOAT32, DataType::FLOAT32, DataType::FLOAT16};
    std::vector<PostOp> post(3);
    post[0].activation = "relu";
    post[0].hi = std::numeric_limits<float>::infinity();
    post[1].kind = PostOp::Kind::kScalar;
    post[1].activation = "mul";
    post[1].lo = 0.75f;
    post[2].kind = PostOp::Kind::kAdd;
    post[2].input = 3;
    KernelInit init(attrs, ins, y_info, &compute, &post);
    const KernelDef* def = FindKernel(OpKind::kConvTranspose2D, kName);
    ASSERT_TRUE(def->supports(init));
    std::unique_ptr<Kernel> kernel;
    const Status made = def->make(init, &kernel);
    ASSERT_TRUE(made.ok()) << made.ToString();
    std::vector<uint16_t> x16(x.size()), a16(addend.size()), y16(static_cast<size_t>(count));
    for (size_t i = 0; i < x.size(); ++i) x16[i] = FloatToHalf(x[i]);
    for (size_t i = 0; i < addend.size(); ++i) a16[i] = FloatToHalf(addend[i]);
    for (int run = 0; run < 2; ++run)
      ASSERT_TRUE(kernel
                      ->Run({{DataType::FLOAT16, x_shape, x16.data(), nullptr},
                             {DataType::FLOAT32, w_shape, w.data(), nullptr},
                             {DataType::FLOAT32, {sh.cout}, bias.data(), nullptr},
                             {DataType::FLOAT16, y_shape, a16.data(), nullptr}},
                            {{DataType::FLOAT16, y_shape, y16.data(), nullptr}})
                      .ok());
    int bad = 0, clamped = 0;
    for (int64_t i = 0; i < count && bad < 5; ++i) {
      const float conv = Half(ref[static_cast<size_t>(i)]);
      const float relu = Half(std::max(conv, 0.0f));
      clamped += conv < 0.0f;
      const float expected = Half(Half(relu * 0.75f) + addend[static_cast<size_t>(i)]);
      const float got = HalfToFloat(y16[static_cast<size_t>(i)]);
      // The convolution's float sum may round to the float16 neighbour.
      const double tolerance = std::ldexp(std::max(std::fabs(expected), 1.0f), -9);
      if (std::fabs(got - expected) > tolerance) {
        ADD_FAILURE() << "at " << i << ": " << got << " vs " << expected;
        ++bad;
      }
    }
    EXPECT_GT(clamped, 0);
  }
}

TEST(ConvTranspose2DCol2Im, DeclinesNhwcAndRunTimeFilters) {
  const KernelDef* def = FindKernel(OpKind::kConvTranspose2D, kName);
  ASSERT_NE(def, nullptr);
  std::vector<float> w(4 * 3 * 2 * 2, 0.5f);
  ir::AttrMap attrs = Attrs(2, 0);
  ValueInfo x{DataType::FLOAT32, {1, 4, 5, 5}, nullptr, nullptr, false};
  ValueInfo wc{DataType::FLOAT32, {4, 3, 2, 2}, w.data(), nullptr, false};
  ValueInfo wr{DataType::FLOAT32, {4, 3, 2, 2}, nullptr, nullptr, false};
  std::vector<ValueInfo> y = {ValueInfo{DataType::FLOAT32, {1, 3, 10, 10}, nullptr, nullptr, false}};
  EXPECT_TRUE(def->supports(KernelInit(attrs, {&x, &wc}, y)));
  EXPECT_FALSE(def->supports(KernelInit(attrs, {&x, &wr}, y)));
  attrs.Set("input_layout", std::string("NHWC"));
  ValueInfo x_nhwc{DataType::FLOAT32, {1, 5, 5, 4}, nullptr, nullptr, false};
  EXPECT_FALSE(def->supports(KernelInit(attrs, {&x_nhwc, &wc}, y)));
}

}  // namespace
}  // namespace mixq::ops
