// The AVX2 int8 Conv2D against the quantized reference, bit for bit: odd
// sizes (GEMM row and column tails, odd depth), groups and depthwise, strides,
// dilations, padding, both activation layouts, zero points at the extremes
// (centered values up to 255), float and int8 outputs, a fused relu.
#include <gtest/gtest.h>

#include <random>

#include "ops/kernel_registry.h"

namespace mixq::ops {
namespace {

struct Case {
  int64_t batch, cin, h, w, cout, kh, kw, group, stride, dilation, pad;
  bool nchw;
  int32_t zero_point;
  bool int_output, relu;
};

std::vector<uint8_t> RunConv(const KernelDef& def, const Case& c, uint32_t seed, std::string* name) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> code(-128, 127);
  const ir::Shape x_shape = c.nchw ? ir::Shape{c.batch, c.cin, c.h, c.w} : ir::Shape{c.batch, c.h, c.w, c.cin};
  const ir::Shape w_shape =
      c.nchw ? ir::Shape{c.cout, c.cin / c.group, c.kh, c.kw} : ir::Shape{c.cout, c.kh, c.kw, c.cin / c.group};
  std::vector<int8_t> x(static_cast<size_t>(ir::ElementCount(x_shape))),
      w(static_cast<size_t>(ir::ElementCount(w_shape)));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<int8_t>(i % 17 == 0 ? (i % 2 ? 127 : -128) : code(rng));
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int8_t>(i % 13 == 0 ? (i % 2 ? 127 : -127) : code(rng) / 2);
  std::vector<float> bias(static_cast<size_t>(c.cout));
  for (auto& b : bias) b = static_cast<float>(code(rng)) * 0.01f;
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
  attrs.Set("pads", std::vector<int64_t>{c.pad, c.pad + 1, c.pad, c.pad});
  attrs.Set("group", c.group);
  attrs.Set("padding_mode", std::string("EXPLICIT"));
  attrs.Set("input_layout", std::string(c.nchw ? "NCHW" : "NHWC"));
  attrs.Set("output_layout", std::string(c.nchw ? "NCHW" : "NHWC"));
  attrs.Set("filter_layout", std::string(c.nchw ? "OIHW" : "OHWI"));
  ValueInfo xi{DataType::INT8, x_shape, nullptr, &xq, true};
  ValueInfo wi{DataType::INT8, w_shape, w.data(), &wq, false};
  ValueInfo bi{DataType::FLOAT32, {c.cout}, bias.data(), nullptr, false};
  const int64_t oh = (c.h + 2 * c.pad + 1 - c.dilation * (c.kh - 1) - 1) / c.stride + 1;
  const int64_t ow = (c.w + 2 * c.pad - c.dilation * (c.kw - 1) - 1) / c.stride + 1;
  const ir::Shape y_shape = c.nchw ? ir::Shape{c.batch, c.cout, oh, ow} : ir::Shape{c.batch, oh, ow, c.cout};
  std::vector<ValueInfo> outs = {c.int_output ? ValueInfo{DataType::INT8, y_shape, nullptr, &yq, true}
                                              : ValueInfo{DataType::FLOAT32, y_shape, nullptr, nullptr, false}};
  std::vector<const ValueInfo*> ins = {&xi, &wi, &bi};
  std::vector<DataType> compute = {DataType::QINT8, DataType::QINT8, DataType::FLOAT32};
  std::vector<PostOp> post;
  if (c.relu) {
    PostOp relu;
    relu.activation = "relu";
    relu.lo = 0.0f;
    relu.hi = std::numeric_limits<float>::infinity();
    post.push_back(relu);
  }
  KernelInit init(attrs, ins, outs, &compute, &post);
  EXPECT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<Kernel> kernel;
  const Status made = def.make(init, &kernel);
  EXPECT_TRUE(made.ok()) << made.ToString();
  if (!made.ok()) return {};
  *name = kernel->Name();
  std::vector<uint8_t> y(static_cast<size_t>(ir::ElementCount(y_shape)) * DataTypeSize(outs[0].dtype));
  RunQuant xr{0.02f, c.zero_point}, yr{0.05f, -3};
  TensorView xv{DataType::INT8, x_shape, x.data(), &xr};
  TensorView wv{DataType::INT8, w_shape, w.data(), nullptr};
  TensorView bv{DataType::FLOAT32, {c.cout}, bias.data(), nullptr};
  TensorView yv{outs[0].dtype, y_shape, y.data(), c.int_output ? &yr : nullptr};
  for (int run = 0; run < 2; ++run) EXPECT_TRUE(kernel->Run({xv, wv, bv}, {yv}).ok());  // packed weights reused
  return y;
}

TEST(Conv2DAvx2Int8, BitExactWithTheQuantizedReference) {
  const KernelDef* fast = FindKernel(OpKind::kConv2D, "avx2-int8");
  ASSERT_NE(fast, nullptr);
  if (!kernels::DetectedCpuFeatures().avx2) GTEST_SKIP() << "no AVX2";
  const Case cases[] = {
      {1, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, true, 0, false, false},      // odd everything, NCHW
      {2, 8, 6, 5, 17, 3, 2, 1, 2, 1, 1, false, -128, true, false},  // 17 channels: a tail panel; z = -128
      {1, 6, 8, 8, 6, 3, 3, 6, 1, 2, 2, false, 127, false, true},    // depthwise, dilated, relu
      {1, 12, 5, 7, 8, 1, 1, 2, 1, 1, 0, true, 5, true, true},       // grouped 1x1, int8 out with relu
      {1, 33, 9, 9, 40, 3, 3, 1, 2, 1, 1, false, -7, true, false},   // odd depth 297, strided
  };
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kConv2D);
  for (size_t i = 0; i < std::size(cases); ++i) {
    std::string fast_name, ref_name;
    const auto got = RunConv(*fast, cases[i], static_cast<uint32_t>(i), &fast_name);
    const auto want = RunConv(ref, cases[i], static_cast<uint32_t>(i), &ref_name);
    EXPECT_EQ(fast_name, "avx2-int8");
    EXPECT_EQ(ref_name, "reference-quantized");
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(got, want) << "case " << i;
  }
}

}  // namespace
}  // namespace mixq::ops
