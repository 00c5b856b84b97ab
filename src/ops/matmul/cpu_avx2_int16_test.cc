// The exact int16 MatMul and FullyConnected kernels ("avx2-int16", the
// constant-weight "avx2-int16-weights" and the one-row
// "avx512vnni-int16-gemv", the qint16 modes) against the quantized
// reference, bit for bit: depths past one 256-deep chunk of the split GEMM
// (int64 sums), odd M / K / N (row and panel tails), constant and activation b, stored plain and transposed,
// full-range operands with both extremes, INT16 / FLOAT32 / FLOAT16 outputs.
#include <gtest/gtest.h>

#include "kernels/cpu_features.h"
#include "test_util/int16_kernel_check.h"

namespace mixq::ops {
namespace {

void ExpectBitExact(OpKind op, const test_util::Int16KernelCase& t, uint32_t seed, const char* kernel = "avx2-int16") {
  const KernelDef* fast = FindKernel(op, kernel);
  ASSERT_NE(fast, nullptr);
  std::string fast_name, ref_name;
  const auto got = test_util::RunInt16Kernel(*fast, t, seed, &fast_name);
  const auto want = test_util::RunInt16Kernel(QuantizedReferenceKernel(op), t, seed, &ref_name);
  ASSERT_FALSE(got.empty()) << "case " << seed;
  EXPECT_EQ(fast_name, kernel);
  EXPECT_EQ(ref_name, "reference-quantized");
  EXPECT_EQ(got, want) << "case " << seed;
}

// A MatMul case: a times b (constant or an activation, per-column scales
// when constant), stored transposed or not.
test_util::Int16KernelCase MatMulCase(const ir::Shape& a, const ir::Shape& b, const ir::Shape& y, bool constant,
                                      bool transpose_b, DataType output) {
  test_util::Int16KernelCase t;
  t.attrs.Set("transpose_a", int64_t{0});
  t.attrs.Set("transpose_b", int64_t{transpose_b ? 1 : 0});
  t.a = a;
  t.b = b;
  t.y = y;
  t.b_constant = constant;
  t.b_channel_axis = static_cast<int64_t>(b.size()) - (transpose_b ? 2 : 1);
  t.output = output;
  return t;
}

TEST(MatMulAvx2Int16, BitExactWithTheQuantizedReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  struct Case {
    ir::Shape a, b, y;
    bool constant, transpose_b;
    DataType output;
  };
  const Case cases[] = {
      {{7, 700}, {700, 37}, {7, 37}, true, false, DataType::INT16},           // three chunks, tails
      {{2, 5, 33}, {2, 21, 33}, {2, 5, 21}, false, true, DataType::FLOAT32},  // attention-like, b transposed
      {{1, 257}, {257, 16}, {1, 16}, true, false, DataType::FLOAT16},         // one row, odd depth past a chunk
      // An activation b in one batch (the same buffer, new values on the second run: repacked) and one b
      // broadcast over two batches of a.
      {{5, 33}, {33, 21}, {5, 21}, false, false, DataType::FLOAT32},
      {{2, 4, 40}, {40, 19}, {2, 4, 19}, false, false, DataType::INT16},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    const auto t =
        MatMulCase(cases[i].a, cases[i].b, cases[i].y, cases[i].constant, cases[i].transpose_b, cases[i].output);
    ExpectBitExact(OpKind::kMatMul, t, static_cast<uint32_t>(i));
  }
}

test_util::Int16KernelCase FcCase(int64_t m, int64_t k, int64_t n, DataType output) {
  test_util::Int16KernelCase t;
  t.attrs.Set("transpose_a", int64_t{0});
  t.attrs.Set("transpose_b", int64_t{1});
  t.attrs.Set("alpha", 1.0f);
  t.attrs.Set("beta", 1.0f);
  t.a = {m, k};
  t.b = {n, k};
  t.y = {m, n};
  t.b_channel_axis = 0;
  t.bias_size = n;
  t.output = output;
  return t;
}

// "avx2-int16-weights": products without post-ops on the split GEMM, the
// rows of a split in bytes per run, int64 sums, the per-column output
// stage. Constant weights: depths past two 256-deep chunks, odd row /
// column counts (row block and panel tails), a batched a, b stored
// transposed, PP-OCRv4 rec's 40 x 120 x 6625 head (column blocks over two
// threads), a 96-row product (row blocks over two threads), every code
// 32767 (the chunk bound). Two activations: batched b, a 2-D b broadcast
// over a's batches, attention-shaped heads (BERT's 12 x 128 x 64 x 128 over
// two threads). INT16 / FLOAT32 / FLOAT16 outputs. "amx-int16-weights" (AMX
// CPUs) on the constant-weight cases 33 deep and 32 wide or more.
TEST(MatMulAvx2Int16Weights, BitExactWithTheQuantizedReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  struct Case {
    ir::Shape a, b, y;
    bool constant, transpose_b;
    DataType output;
    int16_t every_code;
  };
  const Case cases[] = {
      {{7, 700}, {700, 37}, {7, 37}, true, false, DataType::INT16, 0},
      {{1, 257}, {257, 16}, {1, 16}, true, false, DataType::FLOAT16, 0},
      {{2, 5, 33}, {33, 21}, {2, 5, 21}, true, false, DataType::FLOAT32, 0},
      {{9, 50}, {31, 50}, {9, 31}, true, true, DataType::INT16, 0},
      {{40, 120}, {120, 6625}, {40, 6625}, true, false, DataType::FLOAT32, 0},
      {{96, 300}, {300, 200}, {96, 200}, true, false, DataType::INT16, 0},
      {{13, 600}, {600, 20}, {13, 20}, true, false, DataType::FLOAT32, 32767},
      {{2, 5, 33}, {2, 33, 21}, {2, 5, 21}, false, false, DataType::FLOAT32, 0},
      {{2, 4, 40}, {40, 19}, {2, 4, 19}, false, false, DataType::INT16, 0},
      {{1, 3, 20, 15}, {1, 3, 15, 20}, {1, 3, 20, 20}, false, false, DataType::FLOAT16, 0},
      {{1, 12, 128, 64}, {1, 12, 64, 128}, {1, 12, 128, 128}, false, false, DataType::FLOAT32, 0},
      {{1, 12, 128, 128}, {1, 12, 128, 64}, {1, 12, 128, 64}, false, false, DataType::INT16, 0},
      {{3, 7, 520}, {3, 520, 9}, {3, 7, 9}, false, false, DataType::INT16, 32767},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    auto t = MatMulCase(cases[i].a, cases[i].b, cases[i].y, cases[i].constant, cases[i].transpose_b, cases[i].output);
    t.every_code = cases[i].every_code;
    ExpectBitExact(OpKind::kMatMul, t, static_cast<uint32_t>(40 + i), "avx2-int16-weights");
    // The AMX form takes constant weights, untransposed, at least 33 deep and 32 wide.
    const bool amx_shape =
        cases[i].constant && cases[i].a.back() >= 33 && cases[i].y.back() >= 32 && !cases[i].transpose_b;
    if (kernels::BestIsa() >= kernels::Isa::kAmx && amx_shape) {
      SCOPED_TRACE("amx-int16-weights");
      ExpectBitExact(OpKind::kMatMul, t, static_cast<uint32_t>(40 + i), "amx-int16-weights");
    }
  }
  // A transposed activation b is left to avx2-int16.
  std::string name;
  EXPECT_TRUE(test_util::RunInt16Kernel(*FindKernel(OpKind::kMatMul, "avx2-int16-weights"),
                                        MatMulCase({2, 5, 33}, {2, 21, 33}, {2, 5, 21}, false, true, DataType::FLOAT32),
                                        60, &name)
                  .empty());
}

TEST(FullyConnectedAvx2Int16, BitExactWithTheQuantizedReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  struct Case {
    int64_t m, k, n;
    DataType output;
  };
  const Case cases[] = {{3, 1000, 29, DataType::INT16}, {9, 64, 17, DataType::FLOAT32}, {1, 5, 3, DataType::FLOAT16}};
  for (size_t i = 0; i < std::size(cases); ++i)
    ExpectBitExact(OpKind::kFullyConnected, FcCase(cases[i].m, cases[i].k, cases[i].n, cases[i].output),
                   static_cast<uint32_t>(10 + i));
}

// One row against constant weights on AVX-512 VNNI: the activation split in
// bytes, the int16 weights streamed once. Depths of one tap, an odd one past
// two 256-tap chunks and MobileNetV2's 1280 (five chunks); column counts
// with a partial panel, a partial step of four panels and two threads' worth
// (1000 x 1280, 2.5 MB of weights).
TEST(FullyConnectedAvx512Int16Gemv, BitExactWithTheQuantizedReference) {
  if (kernels::BestIsa() < kernels::Isa::kAvx512Vnni) GTEST_SKIP() << "no AVX-512 VNNI";
  struct Case {
    int64_t k, n;
    DataType output;
  };
  const Case cases[] = {{1, 3, DataType::INT16},
                        {513, 17, DataType::FLOAT32},
                        {1280, 1000, DataType::FLOAT32},
                        {64, 70, DataType::FLOAT16},
                        {300, 130, DataType::INT16}};
  for (size_t i = 0; i < std::size(cases); ++i)
    ExpectBitExact(OpKind::kFullyConnected, FcCase(1, cases[i].k, cases[i].n, cases[i].output),
                   static_cast<uint32_t>(20 + i), "avx512vnni-int16-gemv");
  // Every code 32767 (low byte 255, high byte 127): each 256-tap chunk's low
  // sums reach 255 * 32767 * 256, just under 2^31; 1000 taps span four chunks.
  test_util::Int16KernelCase bound = FcCase(1, 1000, 20, DataType::FLOAT32);
  bound.every_code = 32767;
  ExpectBitExact(OpKind::kFullyConnected, bound, 29, "avx512vnni-int16-gemv");
  // Not one row: left to avx2-int16.
  std::string name;
  EXPECT_TRUE(test_util::RunInt16Kernel(*FindKernel(OpKind::kFullyConnected, "avx512vnni-int16-gemv"),
                                        FcCase(2, 64, 16, DataType::FLOAT32), 30, &name)
                  .empty());
}

}  // namespace
}  // namespace mixq::ops
