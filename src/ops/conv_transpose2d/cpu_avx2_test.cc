// The AVX2 int8 ConvTranspose2D kernels (fused "avx2-int8" and
// "avx2-int8-staged") against the quantized reference, bit for bit:
// PP-OCR det's 2x2 stride 2, overlapping 3x3 / 4x4 stride 2 windows with pads
// and output padding, dilation, odd sizes and channel counts (GEMM tails),
// batch 2, zero points at the extremes, int8 and float outputs, a fused relu.
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "ops/kernel_registry.h"

namespace mixq::ops {
namespace {

struct Case {
  int64_t batch, cin, h, w, cout, k, stride, dilation, pad, output_pad;
  int32_t zero_point;
  bool int_output, relu;
};

std::vector<uint8_t> RunDeconv(const KernelDef& def, const Case& c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> code(-128, 127);
  const ir::Shape x_shape = {c.batch, c.cin, c.h, c.w}, w_shape = {c.cin, c.cout, c.k, c.k};
  std::vector<int8_t> x(static_cast<size_t>(ir::ElementCount(x_shape))),
      w(static_cast<size_t>(ir::ElementCount(w_shape)));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<int8_t>(i % 17 == 0 ? (i % 2 ? 127 : -128) : code(rng));
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int8_t>(i % 13 == 0 ? (i % 2 ? 127 : -127) : code(rng));
  std::vector<float> bias(static_cast<size_t>(c.cout));
  for (auto& b : bias) b = static_cast<float>(code(rng)) * 0.01f;
  ir::QuantBinding xq, wq, yq;
  xq.scales = {0.02f};
  xq.zero_points = {c.zero_point};
  wq.axis = 1;  // IOHW: per output channel
  for (int64_t o = 0; o < c.cout; ++o) {
    wq.scales.push_back(0.001f * static_cast<float>(o + 1));
    wq.zero_points.push_back(0);
  }
  yq.scales = {0.05f};
  yq.zero_points = {-3};
  ir::AttrMap attrs;
  attrs.Set("strides", std::vector<int64_t>{c.stride, c.stride});
  attrs.Set("dilations", std::vector<int64_t>{c.dilation, c.dilation});
  attrs.Set("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad});
  attrs.Set("output_padding", std::vector<int64_t>{c.output_pad, c.output_pad});
  attrs.Set("group", int64_t{1});
  attrs.Set("padding_mode", std::string("EXPLICIT"));
  attrs.Set("input_layout", std::string("NCHW"));
  attrs.Set("output_layout", std::string("NCHW"));
  attrs.Set("filter_layout", std::string("IOHW"));
  ValueInfo xi{DataType::INT8, x_shape, nullptr, &xq, true};
  ValueInfo wi{DataType::INT8, w_shape, w.data(), &wq, false};
  ValueInfo bi{DataType::FLOAT32, {c.cout}, bias.data(), nullptr, false};
  std::vector<ValueInfo> shape_out(1);
  ValueInfo xf = xi, wf = wi;
  xf.dtype = wf.dtype = DataType::FLOAT32;
  xf.quant = wf.quant = nullptr;
  EXPECT_TRUE(GetSchema(OpKind::kConvTranspose2D).infer(attrs, {&xf, &wf, &bi}, shape_out).ok());
  const ir::Shape y_shape = shape_out[0].shape;
  std::vector<ValueInfo> outs = {c.int_output ? ValueInfo{DataType::INT8, y_shape, nullptr, &yq, true}
                                              : ValueInfo{DataType::FLOAT32, y_shape, nullptr, nullptr, false}};
  std::vector<const ValueInfo*> ins = {&xi, &wi, &bi};
  std::vector<DataType> compute = {DataType::QINT8, DataType::QINT8, DataType::FLOAT32};
  std::vector<PostOp> post;
  if (c.relu) {
    PostOp relu;
    relu.activation = "relu";
    relu.hi = std::numeric_limits<float>::infinity();
    post.push_back(relu);
  }
  KernelInit init(attrs, ins, outs, &compute, &post);
  EXPECT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<Kernel> kernel;
  const Status made = def.make(init, &kernel);
  EXPECT_TRUE(made.ok()) << made.ToString();
  if (!made.ok()) return {};
  std::vector<uint8_t> y(static_cast<size_t>(ir::ElementCount(y_shape)) * DataTypeSize(outs[0].dtype));
  RunQuant xr{0.02f, c.zero_point}, yr{0.05f, -3};
  TensorView xv{DataType::INT8, x_shape, x.data(), &xr};
  TensorView wv{DataType::INT8, w_shape, w.data(), nullptr};
  TensorView bv{DataType::FLOAT32, {c.cout}, bias.data(), nullptr};
  TensorView yv{outs[0].dtype, y_shape, y.data(), c.int_output ? &yr : nullptr};
  for (int run = 0; run < 2; ++run) EXPECT_TRUE(kernel->Run({xv, wv, bv}, {yv}).ok());  // packed weights reused
  return y;
}

TEST(ConvTranspose2DAvx2Int8, BitExactWithTheQuantizedReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  const Case cases[] = {
      {1, 24, 10, 10, 24, 2, 2, 1, 0, 0, 0, false, true},   // PP-OCR det: 2x2 stride 2, relu
      {2, 7, 5, 9, 5, 3, 2, 1, 1, 1, -128, true, false},    // overlapping windows, output padding
      {1, 17, 6, 7, 19, 4, 2, 1, 1, 0, 127, false, false},  // odd channels: GEMM tails
      {1, 8, 4, 5, 6, 3, 1, 2, 2, 0, 5, true, true},        // dilated, pads crop
      {1, 5, 9, 13, 3, 2, 2, 1, 0, 1, 3, true, false},      // 2x2 stride 2, odd width, runs split mid-row
      {1, 6, 11, 7, 5, 3, 3, 1, 0, 0, -3, false, true},     // 3x3 stride 3: windows tiling the output
  };
  const KernelDef& ref = QuantizedReferenceKernel(OpKind::kConvTranspose2D);
  for (const char* name : {"avx2-int8", "avx2-int8-staged"}) {
    const KernelDef* fast = FindKernel(OpKind::kConvTranspose2D, name);
    ASSERT_NE(fast, nullptr) << name;
    for (size_t i = 0; i < std::size(cases); ++i) {
      const auto got = RunDeconv(*fast, cases[i], static_cast<uint32_t>(i));
      const auto want = RunDeconv(ref, cases[i], static_cast<uint32_t>(i));
      ASSERT_FALSE(want.empty());
      EXPECT_EQ(got, want) << name << " case " << i;
    }
  }
}

}  // namespace
}  // namespace mixq::ops
