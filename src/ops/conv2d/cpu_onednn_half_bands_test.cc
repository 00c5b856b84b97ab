// Conv2D "onednn-f16" on a pointwise convolution between float16 nChw16c
// tensors large enough to run in bands of rows (cpu_onednn.cc, InitBands):
// 100 rows in bands of 12 and a tail of 4, with a residual add and a ReLU
// fused, and as jobs of rows x output-channel groups
// (conv2d/onednn_half_bands.h); against the reference on the same float16
// values (double sums), rounded at each boundary as the separate steps
// would be, within one float16 step (oneDNN sums in float32); a tensor that
// fits in L2 runs whole. A depthwise convolution between
// such tensors runs one block of 16 channels at a time (InitChannelBlocks),
// checked the same way. A plain output that oneDNN writes blocked (nChw16c
// on AVX-512, nChw8c on AVX2) is read back row by row through the stage.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <random>
#include <tuple>

#include "kernels/cpu_features.h"
#include "ops/conv2d/onednn_half_bands.h"
#include "ops/kernel_registry.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

float Half(float v) {
  return HalfToFloat(FloatToHalf(v));
}

// Element (c, h, w) of an nChw16c tensor of `channels` (a multiple of 16).
int64_t Blocked(int64_t c, int64_t h, int64_t w, int64_t height, int64_t width) {
  return ((c / 16 * height + h) * width + w) * 16 + c % 16;
}

// NCHW float values (of one image) as float16 bits in nChw16c.
std::vector<uint16_t> HalfBlocked(const std::vector<float>& v, int64_t channels, int64_t height, int64_t width) {
  std::vector<uint16_t> r(v.size());
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < height; ++i)
      for (int64_t j = 0; j < width; ++j)
        r[static_cast<size_t>(Blocked(c, i, j, height, width))] =
            FloatToHalf(v[static_cast<size_t>((c * height + i) * width + j)]);
  return r;
}

// Conv2D attributes: the schema's defaults, NCHW activations, an OIHW filter.
ir::AttrMap NchwAttrs() {
  ir::AttrMap attrs;
  for (const AttrSpec& spec : GetSchema(OpKind::kConv2D).attrs) attrs.Set(spec.name, spec.default_value);
  attrs.Set("input_layout", std::string("NCHW"));
  attrs.Set("output_layout", std::string("NCHW"));
  attrs.Set("filter_layout", std::string("OIHW"));
  return attrs;
}

// `h` rows of `w` output pixels, 16 -> `cout` channels, run with `threads`
// OpenMP threads; `plan`: the jobs forced (else the kernel's own choice).
// `stride` > 1: a strided 1 x 1 convolution over an input of h * stride
// rows (the last stride - 1 unread) and (w - 1) * stride + 1 columns.
void CheckPointwise(int64_t h, int threads, int64_t cout = 32, int64_t w = 128, const HalfBandPlan* plan = nullptr,
                    int64_t stride = 1) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "onednn-f16");
  ASSERT_NE(def, nullptr);
  const int64_t cin = 16;
  const int saved_threads = omp_get_max_threads();
  omp_set_num_threads(threads);
  SetHalfBandPlanForTesting(plan);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  const int64_t in_h = h * stride, in_w = (w - 1) * stride + 1;
  std::vector<float> x(static_cast<size_t>(cin * in_h * in_w)), filter(static_cast<size_t>(cout * cin)),
      bias(static_cast<size_t>(cout)), addend(static_cast<size_t>(cout * h * w));
  for (auto& v : x) v = Half(real(rng));  // plain NCHW values
  for (auto& v : filter) v = Half(real(rng) * 0.5f);
  for (auto& v : bias) v = real(rng);
  for (auto& v : addend) v = Half(real(rng));

  ir::AttrMap attrs = NchwAttrs();
  attrs.Set("strides", std::vector<int64_t>{stride, stride});
  const ir::Shape xs{1, cin, in_h, in_w}, ws{cout, cin, 1, 1}, ys{1, cout, h, w};
  ValueInfo xi{DataType::FLOAT16, xs, nullptr, nullptr, true, MemoryLayout::kBlocked16};
  ValueInfo wi{DataType::FLOAT32, ws, filter.data(), nullptr, false};
  ValueInfo bi{DataType::FLOAT32, {cout}, bias.data(), nullptr, false};
  ValueInfo ai{DataType::FLOAT16, ys, nullptr, nullptr, true, MemoryLayout::kBlocked16};
  std::vector<ValueInfo> yi = {ValueInfo{DataType::FLOAT16, ys, nullptr, nullptr, true, MemoryLayout::kBlocked16}};
  std::vector<DataType> compute = {DataType::FLOAT16, DataType::FLOAT32, DataType::FLOAT32, DataType::FLOAT16};
  std::vector<PostOp> post(2);
  post[0].kind = PostOp::Kind::kAdd;
  post[0].input = 3;
  post[1].activation = "relu";
  post[1].hi = std::numeric_limits<float>::infinity();
  const std::vector<const ValueInfo*> ins = {&xi, &wi, &bi, &ai};  // KernelInit keeps a reference
  KernelInit init(attrs, ins, yi, &compute, &post);
  ASSERT_TRUE(def->supports(init));
  std::unique_ptr<Kernel> kernel;
  const Status made = def->make(init, &kernel);
  SetHalfBandPlanForTesting(nullptr);
  ASSERT_TRUE(made.ok()) << made.ToString();

  std::vector<uint16_t> x16 = HalfBlocked(x, cin, in_h, in_w), a16 = HalfBlocked(addend, cout, h, w);
  std::vector<uint16_t> y16(addend.size(), 0xdead);
  for (int run = 0; run < 2; ++run)
    ASSERT_TRUE(kernel
                    ->Run({{DataType::FLOAT16, xs, x16.data(), nullptr},
                           {DataType::FLOAT32, ws, filter.data(), nullptr},
                           {DataType::FLOAT32, {cout}, bias.data(), nullptr},
                           {DataType::FLOAT16, ys, a16.data(), nullptr}},
                          {{DataType::FLOAT16, ys, y16.data(), nullptr}})
                    .ok());
  omp_set_num_threads(saved_threads);

  int bad = 0, zeros = 0;
  for (int64_t c = 0; c < cout && bad < 5; ++c)
    for (int64_t i = 0; i < h && bad < 5; ++i)
      for (int64_t j = 0; j < w && bad < 5; ++j) {
        double sum = bias[static_cast<size_t>(c)];
        for (int64_t k = 0; k < cin; ++k)
          sum += static_cast<double>(filter[static_cast<size_t>(c * cin + k)]) *
                 x[static_cast<size_t>((k * in_h + i * stride) * in_w + j * stride)];
        const float conv = Half(static_cast<float>(sum));
        const float added = Half(conv + addend[static_cast<size_t>((c * h + i) * w + j)]);
        const float expected = Half(std::max(added, 0.0f));
        const float got = HalfToFloat(y16[static_cast<size_t>(Blocked(c, i, j, h, w))]);
        zeros += got == 0.0f;
        // The float32 sum may round to the float16 neighbour of the double one, twice.
        if (std::fabs(got - expected) > std::ldexp(std::max(std::fabs(expected), 1.0f), -9)) {
          ADD_FAILURE() << "(" << c << ", " << i << ", " << j << "): " << got << " vs " << expected;
          ++bad;
        }
      }
  EXPECT_GT(zeros, 0);
}

TEST(Conv2DOneDnnHalf, PointwiseInBandsMatchesTheReference) {
  if (FindKernel(OpKind::kConv2D, "onednn-f16")->isa > kernels::BestIsa()) GTEST_SKIP() << "needs AVX2 + F16C";
  CheckPointwise(100, 1);
  CheckPointwise(100, 2);
}

// Jobs of rows x output-channel groups: each group reads its own slice of
// the packed weights and the bias and writes its own output blocks; a
// tail band; more threads than jobs; one-row bands. A slice taken at the
// wrong offset, or a group's outputs written to another's blocks, fails it.
TEST(Conv2DOneDnnHalf, PointwiseInRowAndChannelGroupJobsMatchesTheReference) {
  if (FindKernel(OpKind::kConv2D, "onednn-f16")->isa > kernels::BestIsa()) GTEST_SKIP() << "needs AVX2 + F16C";
  for (const HalfBandPlan plan : {HalfBandPlan{5, 2}, HalfBandPlan{8, 4}, HalfBandPlan{1, 1}, HalfBandPlan{37, 4}})
    for (int threads : {1, 3}) {
      SCOPED_TRACE(testing::Message() << "rows " << plan.rows << " groups " << plan.groups << " threads " << threads);
      CheckPointwise(37, threads, 64, 40, &plan);
    }
}

// Strided 1 x 1 convolutions (ResNet-50's projections) in jobs over the
// pixels they read: a large one in the kernel's own jobs, a small one (one
// job, or the plan's), forced plans with tails and channel groups, strides
// 2 and 3. A job that widened the wrong pixels fails it.
TEST(Conv2DOneDnnHalf, StridedPointwiseInJobsMatchesTheReference) {
  if (FindKernel(OpKind::kConv2D, "onednn-f16")->isa > kernels::BestIsa()) GTEST_SKIP() << "needs AVX2 + F16C";
  for (int threads : {1, 2}) {
    SCOPED_TRACE(testing::Message() << "threads " << threads);
    CheckPointwise(60, threads, 32, 128, nullptr, 2);
    CheckPointwise(9, threads, 32, 11, nullptr, 2);
  }
  for (const HalfBandPlan plan : {HalfBandPlan{5, 2}, HalfBandPlan{13, 1}})
    for (int64_t stride : {2, 3}) {
      SCOPED_TRACE(testing::Message() << "rows " << plan.rows << " stride " << stride);
      CheckPointwise(13, 3, 64, 21, &plan, stride);
    }
}

// A tensor that fits in L2 (20 rows) runs whole at any thread count: the
// same numbers.
TEST(Conv2DOneDnnHalf, SmallPointwiseRunsWhole) {
  if (FindKernel(OpKind::kConv2D, "onednn-f16")->isa > kernels::BestIsa()) GTEST_SKIP() << "needs AVX2 + F16C";
  CheckPointwise(20, 1);
  CheckPointwise(20, 2);
}

// The plans, computed by hand from the cost model (onednn_half_bands.cc).
TEST(HalfBandPlan, BandsWhereTheTensorsPassL2AndJobsEvenOverTheThreads) {
  // Whole (float32 copies under 1.5 MB): ResNet-50's 14 x 14 and 7 x 7 layers.
  EXPECT_EQ(ChooseHalfBandPlan(14, 14, 256, 1024, 2, 640 << 10).rows, 0);
  EXPECT_EQ(ChooseHalfBandPlan(7, 7, 2048, 512, 1, 192 << 10).rows, 0);
  // One thread: bands of rows within the budget (56 x 256 x 4 bytes a row).
  HalfBandPlan p = ChooseHalfBandPlan(56, 56, 64, 256, 1, 192 << 10);
  EXPECT_EQ(p.rows, 3);
  EXPECT_EQ(p.groups, 1);
  // Two threads, 28 x 28, 512 -> 128 (28 x 640 x 4 bytes a row, 8 rows fit):
  // four bands of 7 rows, two per thread; bands of 8 would leave a short
  // fourth one, bands of 4 seven jobs.
  p = ChooseHalfBandPlan(28, 28, 512, 128, 2, 640 << 10);
  EXPECT_EQ(p.rows, 7);
  EXPECT_EQ(p.groups, 1);
  // Two threads, 5 rows of 320 pixels, 16 -> 256: one row a band fits
  // (348 KB), so five bands, three on one thread. In two channel groups
  // (184 KB a row) bands of 3 and 2 rows give four jobs, two per thread,
  // with fewer calls than rows of 2 (six jobs) or four groups.
  p = ChooseHalfBandPlan(5, 320, 16, 256, 2, 640 << 10);
  EXPECT_EQ(p.groups, 2);
  EXPECT_EQ(p.rows, 3);
  // Subsampled (a strided 1 x 1's output dims): jobs even where the copies
  // fit in L2. ResNet-50's 1024 -> 2048 at 14 -> 7 and 512 -> 1024 at
  // 28 -> 14, whose weights outweigh the activations: all rows in one job
  // at one thread, in one channel group per thread at two; its 256 -> 512 at
  // 56 -> 28 as its size asks; a small tensor in one job.
  for (const auto& [hw, in_c, out_c] : {std::tuple{7, 1024, 2048}, std::tuple{14, 512, 1024}}) {
    p = ChooseHalfBandPlan(hw, hw, in_c, out_c, 1, 192 << 10, /*subsampled=*/true);
    EXPECT_EQ(p.rows, hw);
    EXPECT_EQ(p.groups, 1);
    p = ChooseHalfBandPlan(hw, hw, in_c, out_c, 2, 640 << 10, /*subsampled=*/true);
    EXPECT_EQ(p.rows, hw);
    EXPECT_EQ(p.groups, 2);
  }
  EXPECT_EQ(ChooseHalfBandPlan(28, 28, 256, 512, 1, 192 << 10, true).rows,
            ChooseHalfBandPlan(28, 28, 256, 512, 1, 192 << 10).rows);
  EXPECT_EQ(ChooseHalfBandPlan(7, 7, 64, 64, 1, 192 << 10, true).rows, 7);
  EXPECT_EQ(ChooseHalfBandPlan(1, 7, 64, 64, 1, 192 << 10, true).rows, 1);
}

// 48 channels (three blocks of 16), 3 x 3 stride 2 pad 1 on 90 x 90, a
// residual add and a ReLU6 fused: each block reads its own slice of the
// packed weights and the bias, and writes its own slice of the output.
TEST(Conv2DOneDnnHalf, DepthwiseByChannelBlocksMatchesTheReference) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "onednn-f16");
  ASSERT_NE(def, nullptr);
  if (def->isa > kernels::BestIsa()) GTEST_SKIP() << "needs AVX2 + F16C";
  const int64_t ch = 48, h = 90, w = 90, oh = 45, ow = 45;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(ch * h * w)), filter(static_cast<size_t>(ch * 9)),
      bias(static_cast<size_t>(ch)), addend(static_cast<size_t>(ch * oh * ow));
  for (auto& v : x) v = Half(real(rng) * 3.0f);
  for (auto& v : filter) v = Half(real(rng));
  for (auto& v : bias) v = real(rng);
  for (auto& v : addend) v = Half(real(rng) * 2.0f);

  ir::AttrMap attrs = NchwAttrs();
  attrs.Set("group", int64_t{ch});
  attrs.Set("strides", std::vector<int64_t>{2, 2});
  attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  const ir::Shape xs{1, ch, h, w}, ws{ch, 1, 3, 3}, ys{1, ch, oh, ow};
  ValueInfo xi{DataType::FLOAT16, xs, nullptr, nullptr, true, MemoryLayout::kBlocked16};
  ValueInfo wi{DataType::FLOAT32, ws, filter.data(), nullptr, false};
  ValueInfo bi{DataType::FLOAT32, {ch}, bias.data(), nullptr, false};
  ValueInfo ai{DataType::FLOAT16, ys, nullptr, nullptr, true, MemoryLayout::kBlocked16};
  std::vector<ValueInfo> yi = {ValueInfo{DataType::FLOAT16, ys, nullptr, nullptr, true, MemoryLayout::kBlocked16}};
  std::vector<DataType> compute = {DataType::FLOAT16, DataType::FLOAT32, DataType::FLOAT32, DataType::FLOAT16};
  std::vector<PostOp> post(2);
  post[0].kind = PostOp::Kind::kAdd;
  post[0].input = 3;
  post[1].activation = "relu6";
  post[1].hi = 6.0f;
  const std::vector<const ValueInfo*> ins = {&xi, &wi, &bi, &ai};  // KernelInit keeps a reference
  KernelInit init(attrs, ins, yi, &compute, &post);
  ASSERT_TRUE(def->supports(init));
  std::unique_ptr<Kernel> kernel;
  const Status made = def->make(init, &kernel);
  SetHalfBandPlanForTesting(nullptr);
  ASSERT_TRUE(made.ok()) << made.ToString();

  std::vector<uint16_t> x16 = HalfBlocked(x, ch, h, w), a16 = HalfBlocked(addend, ch, oh, ow);
  std::vector<uint16_t> y16(addend.size(), 0xdead);
  for (int run = 0; run < 2; ++run)
    ASSERT_TRUE(kernel
                    ->Run({{DataType::FLOAT16, xs, x16.data(), nullptr},
                           {DataType::FLOAT32, ws, filter.data(), nullptr},
                           {DataType::FLOAT32, {ch}, bias.data(), nullptr},
                           {DataType::FLOAT16, ys, a16.data(), nullptr}},
                          {{DataType::FLOAT16, ys, y16.data(), nullptr}})
                    .ok());

  int bad = 0, clipped = 0;
  for (int64_t c = 0; c < ch && bad < 5; ++c)
    for (int64_t i = 0; i < oh && bad < 5; ++i)
      for (int64_t j = 0; j < ow && bad < 5; ++j) {
        double sum = bias[static_cast<size_t>(c)];
        for (int64_t kh = 0; kh < 3; ++kh)
          for (int64_t kw = 0; kw < 3; ++kw) {
            const int64_t ih = i * 2 - 1 + kh, iw = j * 2 - 1 + kw;
            if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
            sum += static_cast<double>(filter[static_cast<size_t>(c * 9 + kh * 3 + kw)]) *
                   x[static_cast<size_t>((c * h + ih) * w + iw)];
          }
        const float conv = Half(static_cast<float>(sum));
        const float added = Half(conv + addend[static_cast<size_t>((c * oh + i) * ow + j)]);
        const float expected = Half(std::min(std::max(added, 0.0f), 6.0f));
        const float got = HalfToFloat(y16[static_cast<size_t>(Blocked(c, i, j, oh, ow))]);
        clipped += got == 0.0f || got == 6.0f;
        if (std::fabs(got - expected) > std::ldexp(std::max(std::fabs(expected), 1.0f), -9)) {
          ADD_FAILURE() << "(" << c << ", " << i << ", " << j << "): " << got << " vs " << expected;
          ++bad;
        }
      }
  EXPECT_GT(clipped, 0);
}

// A pointwise convolution from a plain float16 input, with a residual add
// and a ReLU, to a plain or nChw16c output: oneDNN picks blocked or NHWC
// formats for the plain sides, which the kernel widens into and reads back
// from directly (no float32 reorder).
void CheckPlainSides(int64_t cin, int64_t cout, int64_t h, int64_t w, MemoryLayout out_layout) {
  const KernelDef* def = FindKernel(OpKind::kConv2D, "onednn-f16");
  ASSERT_NE(def, nullptr);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(cin * h * w)), filter(static_cast<size_t>(cout * cin)),
      bias(static_cast<size_t>(cout)), addend(static_cast<size_t>(cout * h * w));
  for (auto& v : x) v = Half(real(rng) * 2.0f);
  for (auto& v : filter) v = Half(real(rng) * 0.5f);
  for (auto& v : bias) v = real(rng);
  for (auto& v : addend) v = Half(real(rng));
  const ir::AttrMap attrs = NchwAttrs();
  const ir::Shape xs{1, cin, h, w}, ws{cout, cin, 1, 1}, ys{1, cout, h, w};
  ValueInfo xi{DataType::FLOAT16, xs, nullptr, nullptr, true};
  ValueInfo wi{DataType::FLOAT32, ws, filter.data(), nullptr, false};
  ValueInfo bi{DataType::FLOAT32, {cout}, bias.data(), nullptr, false};
  ValueInfo ai{DataType::FLOAT16, ys, nullptr, nullptr, true, out_layout};
  std::vector<ValueInfo> yi = {ValueInfo{DataType::FLOAT16, ys, nullptr, nullptr, true, out_layout}};
  std::vector<DataType> compute = {DataType::FLOAT16, DataType::FLOAT32, DataType::FLOAT32, DataType::FLOAT16};
  std::vector<PostOp> post(2);
  post[0].kind = PostOp::Kind::kAdd;
  post[0].input = 3;
  post[1].activation = "relu";
  post[1].hi = std::numeric_limits<float>::infinity();
  const std::vector<const ValueInfo*> ins = {&xi, &wi, &bi, &ai};
  KernelInit init(attrs, ins, yi, &compute, &post);
  ASSERT_TRUE(def->supports(init));
  std::unique_ptr<Kernel> kernel;
  const Status made = def->make(init, &kernel);
  SetHalfBandPlanForTesting(nullptr);
  ASSERT_TRUE(made.ok()) << made.ToString();
  const bool blocked = out_layout == MemoryLayout::kBlocked16;
  auto at = [&](int64_t c, int64_t p) {
    return static_cast<size_t>(blocked ? Blocked(c, p / w, p % w, h, w) : c * h * w + p);
  };
  std::vector<uint16_t> x16(x.size()), a16(addend.size()), y16(addend.size(), 0xdead);
  for (size_t i = 0; i < x.size(); ++i) x16[i] = FloatToHalf(x[i]);
  for (int64_t c = 0; c < cout; ++c)
    for (int64_t p = 0; p < h * w; ++p) a16[at(c, p)] = FloatToHalf(addend[static_cast<size_t>(c * h * w + p)]);
  ASSERT_TRUE(kernel
                  ->Run({{DataType::FLOAT16, xs, x16.data(), nullptr},
                         {DataType::FLOAT32, ws, filter.data(), nullptr},
                         {DataType::FLOAT32, {cout}, bias.data(), nullptr},
                         {DataType::FLOAT16, ys, a16.data(), nullptr}},
                        {{DataType::FLOAT16, ys, y16.data(), nullptr}})
                  .ok());
  int bad = 0;
  for (int64_t c = 0; c < cout && bad < 5; ++c)
    for (int64_t p = 0; p < h * w && bad < 5; ++p) {
      double sum = bias[static_cast<size_t>(c)];
      for (int64_t k = 0; k < cin; ++k)
        sum += static_cast<double>(filter[static_cast<size_t>(c * cin + k)]) * x[static_cast<size_t>(k * h * w + p)];
      const float added = Half(Half(static_cast<float>(sum)) + addend[static_cast<size_t>(c * h * w + p)]);
      const float expected = std::max(added, 0.0f);
      const float got = HalfToFloat(y16[at(c, p)]);
      if (std::fabs(got - expected) > std::ldexp(std::max(std::fabs(expected), 1.0f), -9)) {
        ADD_FAILURE() << cin << " -> " << cout << " (" << c << ", " << p << "): " << got << " vs " << expected;
        ++bad;
      }
    }
}

TEST(Conv2DOneDnnHalf, PlainSidesInOneDnnFormatsMatchTheReference) {
  CheckPlainSides(12, 96, 13, 21, MemoryLayout::kPlain);      // PP-OCR det's 12 -> 96: an NHWC destination on AVX-512
  CheckPlainSides(96, 24, 11, 9, MemoryLayout::kPlain);       // MobileNetV2's 96 -> 24: a padded nChw16c destination
  CheckPlainSides(24, 144, 9, 11, MemoryLayout::kBlocked16);  // MobileNetV2's 24 -> 144: a padded nChw16c source
}

}  // namespace
}  // namespace mixq::ops
