// The exact int16 ConvTranspose2D kernels (the fused "avx2-int16" and
// "avx2-int16-staged", the qint16 modes) against the quantized reference,
// bit for bit: input channels past one 256-deep chunk of the split GEMM
// (int64 sums), PP-OCR det's 2x2 stride-2 upsamplings (to 24 channels and to
// one), overlapping 3x3 windows with padding and output padding, a layer
// large enough for two threads, full-range operands with both extremes,
// INT16 / FLOAT32 / FLOAT16 outputs.
#include <gtest/gtest.h>

#include "kernels/cpu_features.h"
#include "test_util/int16_kernel_check.h"

namespace mixq::ops {
namespace {

TEST(ConvTranspose2DAvx2Int16, BitExactWithTheQuantizedReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  struct Case {
    int64_t batch, cin, h, w, cout, k, stride, pad, output_pad;
    DataType output;
  };
  const Case cases[] = {
      {1, 300, 4, 5, 6, 2, 2, 0, 0, DataType::INT16},    // depth 300: two chunks
      {2, 24, 6, 7, 13, 2, 2, 0, 0, DataType::FLOAT32},  // PP-OCR det's upsampling, 13 channels: panel tail
      {1, 9, 5, 5, 4, 3, 2, 1, 1, DataType::FLOAT16},    // overlapping windows, padding, output padding
      {1, 24, 9, 11, 1, 2, 2, 0, 0, DataType::FLOAT32},  // det's last upsampling: one output channel
      {1, 48, 40, 40, 48, 2, 2, 0, 0, DataType::INT16},  // 14.7 M multiply-adds: output channels over threads
      {1, 5, 7, 9, 3, 3, 3, 0, 0, DataType::INT16},      // 3x3 stride 3: windows tiling the output, 3 columns each
      {1, 6, 5, 7, 4, 2, 2, 0, 1, DataType::INT16},      // 2x2 stride 2 with an output padding: not tiling it
  };
  for (const char* name : {"avx2-int16", "avx2-int16-staged"})
    for (size_t i = 0; i < std::size(cases); ++i) {
      SCOPED_TRACE(name);
      const KernelDef* fast = FindKernel(OpKind::kConvTranspose2D, name);
      ASSERT_NE(fast, nullptr);
      const Case& c = cases[i];
      test_util::Int16KernelCase t;
      t.attrs.Set("strides", std::vector<int64_t>{c.stride, c.stride});
      t.attrs.Set("dilations", std::vector<int64_t>{1, 1});
      t.attrs.Set("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad});
      t.attrs.Set("output_padding", std::vector<int64_t>{c.output_pad, c.output_pad});
      t.attrs.Set("group", int64_t{1});
      t.attrs.Set("padding_mode", std::string("EXPLICIT"));
      t.attrs.Set("input_layout", std::string("NCHW"));
      t.attrs.Set("output_layout", std::string("NCHW"));
      t.attrs.Set("filter_layout", std::string("IOHW"));
      const int64_t oh = (c.h - 1) * c.stride - 2 * c.pad + c.k + c.output_pad;
      const int64_t ow = (c.w - 1) * c.stride - 2 * c.pad + c.k + c.output_pad;
      t.a = {c.batch, c.cin, c.h, c.w};
      t.b = {c.cin, c.cout, c.k, c.k};
      t.b_channel_axis = 1;
      t.y = {c.batch, c.cout, oh, ow};
      t.bias_size = c.cout;
      t.output = c.output;
      std::string fast_name, ref_name;
      const auto got = test_util::RunInt16Kernel(*fast, t, static_cast<uint32_t>(i), &fast_name);
      const auto want = test_util::RunInt16Kernel(QuantizedReferenceKernel(OpKind::kConvTranspose2D), t,
                                                  static_cast<uint32_t>(i), &ref_name);
      ASSERT_FALSE(got.empty()) << "case " << i;
      EXPECT_EQ(fast_name, name);
      EXPECT_EQ(ref_name, "reference-quantized");
      EXPECT_EQ(got, want) << "case " << i;
    }
}

}  // namespace
}  // namespace mixq::ops
