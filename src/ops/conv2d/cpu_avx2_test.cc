// The AVX2 int8 Conv2D kernels (the fused NCHW "avx2-int8", the depthwise
// "avx2-int8-dw" and "avx2-int8-dw8c", and the staged "avx2-int8-staged"),
// and the AVX-512 VNNI "avx512vnni-int8" and AMX "amx-int8" where the CPU has them, against the quantized reference,
// bit for bit: odd sizes (GEMM row and column tails, odd depth, pixel blocks), groups and depthwise, strides,
// dilations, padding, both activation layouts, zero points at the extremes (centered values up to 255), int8 / float32
// / float16 outputs, float, INT32, NaN and absent biases, fused relu / relu6 / clip / leaky relu and a residual add.
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "ops/kernel_registry.h"

namespace mixq::ops {
namespace {

enum class Post { kNone, kRelu, kRelu6, kClip, kLeaky, kAdd, kAddRelu };
enum class Bias { kFloat, kInt32, kNone, kNaN };

struct Case {
  int64_t batch, cin, h, w, cout, kh, kw, group, stride, dilation, pad;
  bool nchw;
  int32_t zero_point;
  bool int_output, relu;
  DataType float_output = DataType::FLOAT32;
  Post post = Post::kNone;
  Bias bias = Bias::kFloat;
  bool extra_bottom_pad = true;  // pads {pad, pad + 1, pad, pad}; false: all pad (pointwise 1x1 with pad 0)
};

PostOp Activation(const char* type, float lo, float hi) {
  PostOp op;
  op.activation = type;
  op.lo = lo;
  op.hi = hi;
  return op;
}

// The weights: kEightBit up to +-127 (both ends every 13th element, a
// quarter of the quads hold one); kSevenBit in [-64, 63] (the 7-bit-weight
// policy) with both ends every 13th element, where avx2-int8-u8s8 applies as
// it is; kSplit mostly small, with 127 / -128 every 211th element and +-100
// every 223rd, where avx2-int8-u8s8 splits them (about 4 % of the quads);
// kDense uniform in [-128, 127], which it declines (half of them).
enum class Weights { kEightBit, kSevenBit, kSplit, kDense };

std::vector<uint8_t> RunConv(const KernelDef& def, const Case& c, uint32_t seed, std::string* name,
                             Weights weights = Weights::kEightBit) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> code(-128, 127);
  const ir::Shape x_shape = c.nchw ? ir::Shape{c.batch, c.cin, c.h, c.w} : ir::Shape{c.batch, c.h, c.w, c.cin};
  const ir::Shape w_shape =
      c.nchw ? ir::Shape{c.cout, c.cin / c.group, c.kh, c.kw} : ir::Shape{c.cout, c.kh, c.kw, c.cin / c.group};
  std::vector<int8_t> x(static_cast<size_t>(ir::ElementCount(x_shape))),
      w(static_cast<size_t>(ir::ElementCount(w_shape)));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<int8_t>(i % 17 == 0 ? (i % 2 ? 127 : -128) : code(rng));
  for (size_t i = 0; i < w.size(); ++i) {
    if (weights == Weights::kDense) {
      w[i] = static_cast<int8_t>(code(rng));
    } else if (weights == Weights::kSplit) {
      w[i] = static_cast<int8_t>(i % 211 == 0   ? (i % 2 ? 127 : -128)
                                 : i % 223 == 5 ? (i % 2 ? 100 : -100)
                                                : code(rng) / 3);
    } else {
      const int end = weights == Weights::kSevenBit ? (i % 2 ? 63 : -64) : (i % 2 ? 127 : -127);
      w[i] = static_cast<int8_t>(i % 13 == 0 ? end : code(rng) / 2);
    }
  }
  std::vector<float> bias(static_cast<size_t>(c.cout));
  for (auto& b : bias) b = static_cast<float>(code(rng)) * 0.01f;
  if (c.bias == Bias::kNaN) bias[1] = std::numeric_limits<float>::quiet_NaN();
  std::vector<int32_t> int_bias(static_cast<size_t>(c.cout));
  for (auto& b : int_bias) b = code(rng) * 1000;
  ir::QuantBinding xq;
  xq.symmetric = c.zero_point == 0;
  xq.scales = {0.02f};
  xq.zero_points = {c.zero_point};
  ir::QuantBinding wq;
  wq.axis = 0;
  for (int64_t o = 0; o < c.cout; ++o) {
    wq.scales.push_back(0.001f * static_cast<float>(o + 1));
    wq.zero_points.push_back(0);
  }
  ir::QuantBinding yq;
  yq.symmetric = false;
  yq.scales = {0.05f};
  yq.zero_points = {-3};
  ir::AttrMap attrs;
  attrs.Set("strides", std::vector<int64_t>{c.stride, c.stride});
  attrs.Set("dilations", std::vector<int64_t>{c.dilation, c.dilation});
  const int64_t bottom = c.pad + (c.extra_bottom_pad ? 1 : 0);
  attrs.Set("pads", std::vector<int64_t>{c.pad, bottom, c.pad, c.pad});
  attrs.Set("group", c.group);
  attrs.Set("padding_mode", std::string("EXPLICIT"));
  attrs.Set("input_layout", std::string(c.nchw ? "NCHW" : "NHWC"));
  attrs.Set("output_layout", std::string(c.nchw ? "NCHW" : "NHWC"));
  attrs.Set("filter_layout", std::string(c.nchw ? "OIHW" : "OHWI"));
  ValueInfo xi{DataType::INT8, x_shape, nullptr, &xq, true};
  ValueInfo wi{DataType::INT8, w_shape, w.data(), &wq, false};
  ValueInfo bi = c.bias == Bias::kInt32 ? ValueInfo{DataType::INT32, {c.cout}, int_bias.data(), nullptr, false}
                                        : ValueInfo{DataType::FLOAT32, {c.cout}, bias.data(), nullptr, false};
  const int64_t oh = (c.h + c.pad + bottom - c.dilation * (c.kh - 1) - 1) / c.stride + 1;
  const int64_t ow = (c.w + 2 * c.pad - c.dilation * (c.kw - 1) - 1) / c.stride + 1;
  const ir::Shape y_shape = c.nchw ? ir::Shape{c.batch, c.cout, oh, ow} : ir::Shape{c.batch, oh, ow, c.cout};
  std::vector<ValueInfo> outs = {
      c.int_output ? ValueInfo{DataType::INT8, y_shape, nullptr, &yq, true}
                   : ValueInfo{c.float_output, y_shape, nullptr, nullptr, c.float_output != DataType::FLOAT32}};
  std::vector<float> addend(static_cast<size_t>(ir::ElementCount(y_shape)));
  for (size_t i = 0; i < addend.size(); ++i) addend[i] = static_cast<float>(code(rng)) * 0.03f;
  ValueInfo ai{DataType::FLOAT32, y_shape, nullptr, nullptr, false};
  std::vector<const ValueInfo*> ins = {&xi, &wi, c.bias == Bias::kNone ? nullptr : &bi};
  std::vector<DataType> compute = {DataType::QINT8, DataType::QINT8,
                                   c.bias == Bias::kInt32 ? DataType::INT32 : DataType::FLOAT32};
  std::vector<PostOp> post;
  const float inf = std::numeric_limits<float>::infinity();
  if (c.relu || c.post == Post::kRelu) post.push_back(Activation("relu", 0.0f, inf));
  if (c.post == Post::kRelu6) post.push_back(Activation("relu6", 0.0f, 6.0f));
  if (c.post == Post::kClip) post.push_back(Activation("clip", -0.5f, 0.7f));
  if (c.post == Post::kLeaky) post.push_back(Activation("leaky_relu", 0.1f, 0.0f));
  if (c.post == Post::kAdd || c.post == Post::kAddRelu) {
    PostOp add;
    add.kind = PostOp::Kind::kAdd;
    add.input = 3;
    post.push_back(add);
    ins.push_back(&ai);
    compute.push_back(DataType::FLOAT32);
  }
  if (c.post == Post::kAddRelu) post.push_back(Activation("relu", 0.0f, inf));
  KernelInit init(attrs, ins, outs, &compute, &post);
  if (!def.supports(init)) return {};
  std::unique_ptr<Kernel> kernel;
  const Status made = def.make(init, &kernel);
  EXPECT_TRUE(made.ok()) << made.ToString();
  if (!made.ok()) return {};
  *name = kernel->Name();
  std::vector<uint8_t> y(static_cast<size_t>(ir::ElementCount(y_shape)) * DataTypeSize(outs[0].dtype));
  RunQuant xr{0.02f, c.zero_point}, yr{0.05f, -3};
  TensorView xv{DataType::INT8, x_shape, x.data(), &xr};
  TensorView wv{DataType::INT8, w_shape, w.data(), nullptr};
  TensorView bv = c.bias == Bias::kInt32  ? TensorView{DataType::INT32, {c.cout}, int_bias.data(), nullptr}
                  : c.bias == Bias::kNone ? TensorView{}
                                          : TensorView{DataType::FLOAT32, {c.cout}, bias.data(), nullptr};
  TensorView av{DataType::FLOAT32, y_shape, addend.data(), nullptr};
  TensorView yv{outs[0].dtype, y_shape, y.data(), c.int_output ? &yr : nullptr};
  std::vector<TensorView> inputs = {xv, wv, bv};
  if (ins.size() > 3) inputs.push_back(av);
  for (int run = 0; run < 2; ++run) EXPECT_TRUE(kernel->Run(inputs, {yv}).ok());  // packed weights reused
  return y;
}

TEST(Conv2DAvx2Int8, BitExactWithTheQuantizedReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const Case cases[] = {
      {1, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, true, 0, false, false},      // odd everything, NCHW
      {2, 8, 6, 5, 17, 3, 2, 1, 2, 1, 1, false, -128, true, false},  // 17 channels: a tail panel; z = -128
      {1, 6, 8, 8, 6, 3, 3, 6, 1, 2, 2, false, 127, false, true},    // depthwise, dilated, relu
      {1, 12, 5, 7, 8, 1, 1, 2, 1, 1, 0, true, 5, true, true},       // grouped 1x1, int8 out with relu
      {1, 33, 9, 9, 40, 3, 3, 1, 2, 1, 1, false, -7, true, false},   // odd depth 297, strided
      {1, 33, 9, 9, 40, 3, 3, 1, 2, 1, 1, true, -7, true, false},    // the same in NCHW
      {2, 16, 23, 29, 13, 1, 1, 1, 1, 1, 0, true, -128, true, false, DataType::FLOAT32, Post::kRelu6},  // 1x1, blocks
      {1, 64, 30, 30, 64, 3, 3, 1, 1, 1, 1, true, 3, false, false, DataType::FLOAT32, Post::kAddRelu},  // residual add
      {1, 7, 11, 13, 9, 5, 5, 1, 1, 2, 2, true, 127, false, false, DataType::FLOAT16, Post::kClip},     // float16 out
      {1, 10, 9, 9, 11, 3, 3, 1, 1, 1, 1, true, 0, false, false, DataType::FLOAT32, Post::kLeaky, Bias::kInt32},
      {1, 10, 9, 9, 11, 3, 3, 1, 1, 1, 1, true, 0, true, false, DataType::FLOAT32, Post::kClip, Bias::kInt32},
      {1, 3, 15, 17, 8, 7, 7, 1, 2, 1, 3, true, -3, true, false, DataType::FLOAT32, Post::kNone, Bias::kNone},
      {1, 3, 15, 17, 8, 3, 3, 1, 1, 1, 1, true, -3, true, false, DataType::FLOAT32, Post::kNone, Bias::kNaN},
      {1, 3, 15, 17, 8, 3, 3, 1, 1, 1, 1, true, -3, false, false, DataType::FLOAT32, Post::kAdd, Bias::kNaN},
      {1, 13, 9, 11, 20, 1, 1, 1, 1, 1, 0, true, 9, false, false, DataType::FLOAT16, Post::kRelu},  // 1x1, odd K
      // Pointwise 1x1 (no padding: B read straight from the image) deep enough for amx-int8, int8 out: requantized
      // from its C tiles (37 channels: a lone 16-row block after a pair, 5 rows in it; 99 and 65 pixels: panel
      // tails); relu; an INT32 bias; batch 2; and float32 out through the int32 sums.
      {1, 40, 9, 11, 37, 1, 1, 1, 1, 1, 0, true, -128, true, true, DataType::FLOAT32, Post::kNone, Bias::kFloat, false},
      {2, 72, 5, 13, 20, 1, 1, 1, 1, 1, 0, true, 77, true, false, DataType::FLOAT32, Post::kNone, Bias::kInt32, false},
      {1, 48, 7, 7, 21, 1, 1, 1, 1, 1, 0, true, 5, false, false, DataType::FLOAT32, Post::kRelu6, Bias::kFloat, false},
      // Depthwise NCHW (avx2-int8-dw): MobileNet's 3x3, strided, dilated, 5x5, odd widths, every output.
      {2, 24, 13, 21, 24, 3, 3, 24, 1, 1, 1, true, -128, true, false, DataType::FLOAT32, Post::kRelu6},
      {1, 16, 14, 15, 16, 3, 3, 16, 2, 1, 1, true, 127, true, false, DataType::FLOAT32, Post::kNone, Bias::kInt32},
      {1, 8, 12, 19, 8, 3, 3, 8, 1, 2, 2, true, 4, false, false, DataType::FLOAT32, Post::kAddRelu},
      {1, 9, 11, 9, 9, 5, 5, 9, 2, 1, 2, true, -5, false, false, DataType::FLOAT16, Post::kLeaky, Bias::kNaN},
      {1, 5, 3, 2, 5, 3, 3, 5, 1, 1, 1, true, 0, true, false, DataType::FLOAT32, Post::kClip, Bias::kNone},
      // Stride 2 wide enough for the vector split of even / odd columns, both pad parities.
      {1, 8, 6, 70, 8, 3, 3, 8, 2, 1, 1, true, -20, true, false},
      {2, 3, 5, 67, 3, 5, 5, 3, 2, 1, 2, true, 90, false, false, DataType::FLOAT32, Post::kRelu},
      // Stride 2 rows narrower than 32 (MobileNet's 28 and 14) or with a tail: one more zero-point-padded group.
      {1, 16, 8, 28, 16, 3, 3, 16, 2, 1, 1, true, -60, true, false},
      {1, 8, 5, 14, 8, 3, 3, 8, 2, 1, 1, true, 77, false, false, DataType::FLOAT32, Post::kRelu6},
      {1, 8, 7, 45, 8, 3, 3, 8, 2, 1, 0, true, -1, true, false},
      // Depthwise planes tall enough for avx2-int8-dw8c's row strips; 12 channels: a half block; a 15x15 filter.
      {1, 12, 120, 40, 12, 3, 3, 12, 1, 1, 1, true, 11, true, false, DataType::FLOAT32, Post::kRelu6},
      {2, 9, 200, 60, 9, 3, 3, 9, 2, 1, 1, true, -128, false, false, DataType::FLOAT16, Post::kAdd},
      {1, 4, 17, 19, 4, 15, 15, 4, 1, 1, 7, true, 127, true, false},
      // Rows of 24 columns or more (avx512vnni-int8-dw's 32-column steps): PP-OCR rec's 5x5 at 80 wide, 97 wide
      // (a 1-column tail step), stride 2 with dilation 2.
      {1, 16, 6, 80, 16, 5, 5, 16, 1, 1, 2, true, -100, true, false, DataType::FLOAT32, Post::kRelu6},
      {1, 7, 5, 97, 7, 3, 3, 7, 1, 1, 1, true, 127, false, false, DataType::FLOAT16, Post::kAdd},
      {2, 5, 9, 101, 5, 3, 3, 5, 2, 2, 2, true, -128, false, false, DataType::FLOAT32, Post::kLeaky, Bias::kInt32},
      {2, 24, 7, 50, 24, 3, 3, 24, 1, 2, 2, true, 33, true, false, DataType::FLOAT32, Post::kNone, Bias::kNaN},
      // int8 out with a NaN bias: the row path (the scalar formula) for that block; 8 and 16 wide.
      {1, 10, 9, 8, 10, 3, 3, 10, 1, 1, 1, true, 3, true, false, DataType::FLOAT32, Post::kNone, Bias::kNaN},
      {1, 17, 16, 16, 17, 3, 3, 17, 1, 1, 1, true, -9, true, false, DataType::FLOAT32, Post::kRelu},
      // NHWC, one group: int8 out with relu6, float16 with a residual add, INT32 bias, 7 rows; few channels
      // (avx2-int8 through NCHW planes) and many (avx2-int8-nhwc).
      {2, 16, 9, 7, 20, 3, 3, 1, 1, 1, 1, false, -128, true, false, DataType::FLOAT32, Post::kRelu6},
      {1, 7, 8, 9, 13, 3, 3, 1, 2, 2, 1, false, 50, false, false, DataType::FLOAT16, Post::kAddRelu},
      {1, 5, 1, 7, 4, 1, 1, 1, 1, 1, 0, false, 3, false, false, DataType::FLOAT32, Post::kLeaky, Bias::kInt32},
      {2, 72, 9, 7, 20, 3, 3, 1, 1, 1, 1, false, -128, true, false, DataType::FLOAT32, Post::kRelu6},
      {1, 67, 8, 9, 13, 3, 3, 1, 2, 2, 1, false, 50, false, false, DataType::FLOAT16, Post::kAddRelu},
      {1, 65, 1, 7, 4, 1, 1, 1, 1, 1, 0, false, 3, false, false, DataType::FLOAT32, Post::kLeaky, Bias::kInt32},
      // NHWC grouped (avx2-int8 through its NCHW copies, and the staged kernel): a residual add, int8 out.
      {1, 6, 10, 11, 12, 3, 3, 3, 2, 1, 1, false, -9, false, false, DataType::FLOAT32, Post::kAdd},
      {2, 12, 5, 7, 8, 1, 1, 2, 1, 1, 0, false, 5, true, true},
      // Stride 2 on rows of 45 and 38 (the planes' vector widening: 16- and 8-column steps and a tail), batches of
      // 3 and 5 images in one chunk, int8 out (the integer stage over whole blocks of virtual columns).
      {3, 8, 9, 45, 12, 3, 3, 1, 2, 1, 1, false, -20, true, false},
      {5, 5, 6, 38, 16, 1, 1, 1, 2, 1, 0, true, 100, true, true},
  };
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kConv2D);
  struct Run {
    const char* kernel;
    Weights weights;
  };
  const Run runs[] = {{"avx2-int8", Weights::kEightBit},         {"avx2-int8-dw", Weights::kEightBit},
                      {"avx2-int8-dw8c", Weights::kEightBit},    {"avx2-int8-nhwc", Weights::kEightBit},
                      {"avx2-int8-staged", Weights::kEightBit},  {"avx2-int8-u8s8", Weights::kSevenBit},
                      {"avx2-int8-u8s8", Weights::kSplit},       {"avx512vnni-int8", Weights::kEightBit},
                      {"avx512vnni-int8", Weights::kDense},      {"avx512vnni-int8", Weights::kSplit},
                      {"amx-int8", Weights::kEightBit},          {"amx-int8", Weights::kDense},
                      {"avx512vnni-int8-dw", Weights::kEightBit}};
  for (const Run& r : runs) {
    const char* name = r.kernel;
    const bool vnni = std::string(name) == "avx512vnni-int8", amx = std::string(name) == "amx-int8";
    const bool dw512 = std::string(name) == "avx512vnni-int8-dw";
    if ((vnni || dw512) && kernels::BestIsa() < kernels::Isa::kAvx512Vnni) continue;  // this CPU cannot run it
    if (amx && kernels::BestIsa() < kernels::Isa::kAmx) continue;
    const KernelDef* fast = FindKernel(OpKind::kConv2D, name);
    ASSERT_NE(fast, nullptr) << name;
    const std::string kernel = name;
    const bool u8s8 = kernel == "avx2-int8-u8s8";
    int ran = 0;
    for (size_t i = 0; i < std::size(cases); ++i) {
      std::string fast_name, ref_name;
      const auto got = RunConv(*fast, cases[i], static_cast<uint32_t>(i), &fast_name, r.weights);
      if (got.empty()) continue;  // not this kernel's case
      ++ran;
      const auto want = RunConv(ref, cases[i], static_cast<uint32_t>(i), &ref_name, r.weights);
      EXPECT_EQ(fast_name, name);
      EXPECT_EQ(ref_name, "reference-quantized");
      ASSERT_FALSE(want.empty());
      EXPECT_EQ(got, want) << name << " case " << i << " weights " << static_cast<int>(r.weights);
    }
    // The fused kernels take the NCHW cases (depthwise or not; avx2-int8 and its u8s8 form NHWC too) and NHWC of
    // one group, the staged one all; the split weights of 10 small cases (a few quads per block, where one extreme
    // value costs a whole remainder step; under 48 channels the limit is kFewRowsMaxRestSteps) exceed the limits.
    // The VNNI and AMX forms take avx2-int8's cases with any 8-bit weights (AMX those whose depth per group is
    // 33 or more: 14 of them, K tails included); avx512vnni-int8-dw avx2-int8-dw's with stride 1 and rows of 48
    // columns or more.
    EXPECT_EQ(ran, amx                             ? 14
                   : vnni                          ? 24
                   : r.weights == Weights::kSplit  ? 14
                   : kernel == "avx2-int8" || u8s8 ? 24
                   : kernel == "avx2-int8-dw"      ? 19
                   : kernel == "avx2-int8-dw8c"    ? 16
                   : dw512                         ? 3
                   : kernel == "avx2-int8-nhwc"    ? 3
                                                   : 47)
        << name << " weights " << static_cast<int>(r.weights);
  }
}

}  // namespace
}  // namespace mixq::ops

namespace mixq::ops {
namespace {

// avx2-int8-u8s8 is taken only where vpmaddubsw cannot saturate, or where a
// sparse remainder makes it so: dense 8-bit weights (a pair 127, -127: 255 *
// 254 > 32767, in half the quads) go to avx2-int8.
TEST(Conv2DAvx2Int8, U8S8DeclinesWeightsThatCouldSaturate) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const KernelDef* u8s8 = FindKernel(OpKind::kConv2D, "avx2-int8-u8s8");
  const KernelDef* exact = FindKernel(OpKind::kConv2D, "avx2-int8");
  ASSERT_NE(u8s8, nullptr);
  ASSERT_NE(exact, nullptr);
  const Case c{1, 33, 9, 9, 40, 3, 3, 1, 2, 1, 1, true, -7, true, false};
  std::string name;
  EXPECT_TRUE(RunConv(*u8s8, c, 1, &name, Weights::kDense).empty());
  EXPECT_TRUE(RunConv(*u8s8, c, 1, &name, Weights::kEightBit).empty());  // 27 % of the quads split
  EXPECT_FALSE(RunConv(*u8s8, c, 1, &name, Weights::kSplit).empty());
  EXPECT_FALSE(RunConv(*u8s8, c, 1, &name, Weights::kSevenBit).empty());
  EXPECT_EQ(name, "avx2-int8-u8s8");
  EXPECT_FALSE(RunConv(*exact, c, 1, &name, Weights::kDense).empty());
}

}  // namespace
}  // namespace mixq::ops
