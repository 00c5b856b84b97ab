// FullyConnected (Gemm): hand-computed goldens and numpy ones pasted as literals.
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

// x[i] = (3i mod 7) - 3 as [3,5]; w[i] = ((5i mod 11) - 5) / 2 as [4,5] = [out, in].
std::vector<float> OddInput() {
  std::vector<float> v(15);
  for (int i = 0; i < 15; ++i) v[i] = static_cast<float>((i * 3 % 7) - 3);
  return v;
}
std::vector<float> OddWeight() {
  std::vector<float> v(20);
  for (int i = 0; i < 20; ++i) v[i] = static_cast<float>((i * 5 % 11) - 5) * 0.5f;
  return v;
}
// Row-major transpose of a rows x cols matrix.
std::vector<float> Transposed(const std::vector<float>& m, int rows, int cols) {
  std::vector<float> t(m.size());
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) t[c * rows + r] = m[r * cols + c];
  return t;
}

TEST(FullyConnected, HandComputedOutInWeight) {
  // Weight rows are output features: [1,0] picks x0, [0,1] picks x1, [1,1] sums.
  // x = [1,2] -> [1, 2, 3] + bias 0.5 each.
  auto x = HostTensor::F32({1, 2}, {1, 2});
  auto w = HostTensor::F32({3, 2}, {1, 0, 0, 1, 1, 1}).Const();
  auto b = HostTensor::F32({3}, {0.5f, 0.5f, 0.5f}).Const();
  auto y = RunOpOrDie(OpKind::kFullyConnected, {}, {x, w, b});
  EXPECT_EQ(y.shape, (ir::Shape{1, 3}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{1.5f, 2.5f, 3.5f}));
}

TEST(FullyConnected, OddSizesAlphaBeta) {
  // Golden: numpy 0.5 * (x @ w.T) + 2 * c, c = [1,-1,2,-2].
  ir::AttrMap a;
  a.Set("alpha", 0.5f);
  a.Set("beta", 2.0f);
  auto c = HostTensor::F32({4}, {1, -1, 2, -2});
  auto y = RunOpOrDie(OpKind::kFullyConnected, a,
                      {HostTensor::F32({3, 5}, OddInput()), HostTensor::F32({4, 5}, OddWeight()), c});
  EXPECT_EQ(y.shape, (ir::Shape{3, 4}));
  EXPECT_EQ(y.Floats(),
            (std::vector<float>{11.75f, -5.25f, 1.5f, -3, 3.75f, -1, 1.5f, -7.25f, -2.5f, 5, 3.25f, -9.75f}));
}

TEST(FullyConnected, TransposeAAndPlainB) {
  // A stored [5,3] (= x^T) with transpose_a, B stored [5,4] (= w^T) with
  // transpose_b = 0: the same product x @ w.T, no bias. Golden from numpy.
  ir::AttrMap a;
  a.Set("transpose_a", int64_t{1});
  a.Set("transpose_b", int64_t{0});
  auto y = RunOpOrDie(OpKind::kFullyConnected, a,
                      {HostTensor::F32({5, 3}, Transposed(OddInput(), 3, 5)),
                       HostTensor::F32({5, 4}, Transposed(OddWeight(), 4, 5)), std::nullopt});
  EXPECT_EQ(y.shape, (ir::Shape{3, 4}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{19.5f, -6.5f, -5, 2, 3.5f, 2, -5, -6.5f, -9, 14, -1.5f, -11.5f}));
}

TEST(FullyConnected, BiasBroadcasts) {
  // Identity weight, so the product is x itself: [1 2; 3 4].
  auto x = HostTensor::F32({2, 2}, {1, 2, 3, 4});
  auto w = HostTensor::F32({2, 2}, {1, 0, 0, 1});
  // Column bias [2,1] = [10; 20] adds per row: [11 12; 23 24].
  auto y = RunOpOrDie(OpKind::kFullyConnected, {}, {x, w, HostTensor::F32({2, 1}, {10, 20})});
  EXPECT_EQ(y.Floats(), (std::vector<float>{11, 12, 23, 24}));
  // Scalar bias 100 with beta 0.5 adds 50 everywhere.
  ir::AttrMap a;
  a.Set("beta", 0.5f);
  y = RunOpOrDie(OpKind::kFullyConnected, a, {x, w, HostTensor::F32({}, {100})});
  EXPECT_EQ(y.Floats(), (std::vector<float>{51, 52, 53, 54}));
}

TEST(FullyConnected, DynamicBatchPropagates) {
  ops::ValueInfo x{DataType::FLOAT32, {-1, 64}};
  ops::ValueInfo w{DataType::FLOAT32, {10, 64}};
  ops::ValueInfo b{DataType::FLOAT32, {10}};
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(InferOp(OpKind::kFullyConnected, {}, {x, w, b}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 10}));
  EXPECT_EQ(out[0].dtype, DataType::FLOAT32);
}

TEST(FullyConnected, BadShapesNameTheCulprit) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo x{DataType::FLOAT32, {2, 64}};
  Status s = InferOp(OpKind::kFullyConnected, {}, {x, ops::ValueInfo{DataType::FLOAT32, {10, 32}}}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'weight' [10,32]"), std::string::npos) << s.message();
  s = InferOp(OpKind::kFullyConnected, {},
              {x, ops::ValueInfo{DataType::FLOAT32, {10, 64}}, ops::ValueInfo{DataType::FLOAT32, {3}}}, 1, &out);
  EXPECT_NE(s.message().find("'bias' [3]"), std::string::npos) << s.message();
  s = InferOp(OpKind::kFullyConnected, {},
              {ops::ValueInfo{DataType::FLOAT32, {1, 2, 64}}, ops::ValueInfo{DataType::FLOAT32, {10, 64}}}, 1, &out);
  EXPECT_NE(s.message().find("'input'"), std::string::npos) << s.message();
}

TEST(FullyConnected, QuantTraits) {
  const ops::OpSchema& s = ops::GetSchema(OpKind::kFullyConnected);
  EXPECT_EQ(s.quant.quantizable_inputs, (std::vector<int>{0, 1}));
  EXPECT_EQ(s.quant.weight_input, 1);
  EXPECT_EQ(s.quant.weight_axis, 0);
}

}  // namespace
}  // namespace mixq::testing
