// MatMul: numpy.matmul semantics; goldens from numpy (np.matmul) pasted as
// literals, small ones hand-computed.
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

ir::AttrMap Transposes(int64_t a, int64_t b) {
  ir::AttrMap attrs;
  attrs.Set("transpose_a", a);
  attrs.Set("transpose_b", b);
  return attrs;
}

TEST(MatMul, HandComputed2x2) {
  // [1 2; 3 4] x [5 6; 7 8] = [1*5+2*7, 1*6+2*8; 3*5+4*7, 3*6+4*8] = [19 22; 43 50].
  auto a = HostTensor::F32({2, 2}, {1, 2, 3, 4});
  auto b = HostTensor::F32({2, 2}, {5, 6, 7, 8});
  auto y = RunOpOrDie(OpKind::kMatMul, {}, {a, b});
  EXPECT_EQ(y.shape, (ir::Shape{2, 2}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{19, 22, 43, 50}));
}

TEST(MatMul, OddSizes5x7x3) {
  // a[i] = ((7i mod 11) - 5) / 2, b[i] = (5i mod 9) - 4; golden = numpy a @ b.
  std::vector<float> av(35), bv(21);
  for (int i = 0; i < 35; ++i) av[i] = static_cast<float>((i * 7 % 11) - 5) * 0.5f;
  for (int i = 0; i < 21; ++i) bv[i] = static_cast<float>((i * 5 % 9) - 4);
  auto y = RunOpOrDie(OpKind::kMatMul, {}, {HostTensor::F32({5, 7}, av), HostTensor::F32({7, 3}, bv)});
  EXPECT_EQ(y.shape, (ir::Shape{5, 3}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{-2.5f, -11, -1.5f, -5.5f, 17.5f, -9, -19.5f, -9, -16.5f, 10.5f, 3, 9,
                                            -14.5f, -12.5f, -15}));
}

TEST(MatMul, BatchBroadcasting) {
  // a [2,1,2,3] = arange(12) - 5, b [3,3,2] = arange(18) * 0.5: batch dims
  // [2,1] and [3] broadcast to [2,3]. Golden: np.matmul(a, b).
  std::vector<float> av(12), bv(18);
  for (int i = 0; i < 12; ++i) av[i] = static_cast<float>(i - 5);
  for (int i = 0; i < 18; ++i) bv[i] = static_cast<float>(i) * 0.5f;
  auto y = RunOpOrDie(OpKind::kMatMul, {}, {HostTensor::F32({2, 1, 2, 3}, av), HostTensor::F32({3, 3, 2}, bv)});
  EXPECT_EQ(y.shape, (ir::Shape{2, 3, 2, 2}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{-10, -16, -1, -2.5f, -46, -52, -10, -11.5f, -82, -88, -19, -20.5f,
                                            8,   11,  17, 24.5f, 26,  29,  62,  69.5f,  44,  47,  107, 114.5f}));
}

TEST(MatMul, TransposeBoth) {
  // a [3,2] = arange(6) - 2 used as a^T [2,3]; b [4,3] = arange(12) / 4 used as
  // b^T [3,4]. Golden: np.matmul(a.T, b.T).
  auto a = HostTensor::F32({3, 2}, {-2, -1, 0, 1, 2, 3});
  std::vector<float> bv(12);
  for (int i = 0; i < 12; ++i) bv[i] = static_cast<float>(i) * 0.25f;
  auto y = RunOpOrDie(OpKind::kMatMul, Transposes(1, 1), {a, HostTensor::F32({4, 3}, bv)});
  EXPECT_EQ(y.shape, (ir::Shape{2, 4}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{1, 1, 1, 1, 1.75f, 4, 6.25f, 8.5f}));
}

TEST(MatMul, OneDimensionalA) {
  // [1,-2,3] is promoted to [1,3], multiplied with each of b's two [3,4]
  // matrices (b = arange(24)), and the promoted dim is dropped: [2,4].
  std::vector<float> bv(24);
  for (int i = 0; i < 24; ++i) bv[i] = static_cast<float>(i);
  auto y = RunOpOrDie(OpKind::kMatMul, {}, {HostTensor::F32({3}, {1, -2, 3}), HostTensor::F32({2, 3, 4}, bv)});
  EXPECT_EQ(y.shape, (ir::Shape{2, 4}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{16, 18, 20, 22, 40, 42, 44, 46}));
}

TEST(MatMul, OneDimensionalBAndDot) {
  // [0 1 2; 3 4 5] x [1,-2,3] = [0-2+6, 3-8+15] = [4, 10]; shape [2].
  auto m = HostTensor::F32({2, 3}, {0, 1, 2, 3, 4, 5});
  auto v = HostTensor::F32({3}, {1, -2, 3});
  auto y = RunOpOrDie(OpKind::kMatMul, {}, {m, v});
  EXPECT_EQ(y.shape, (ir::Shape{2}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{4, 10}));
  // Vector . vector: 1 + 4 + 9 = 14, a scalar (shape []). transpose_a is
  // meaningless for a vector and ignored, as numpy has no such transpose.
  auto dot = RunOpOrDie(OpKind::kMatMul, Transposes(1, 1), {v, v});
  EXPECT_EQ(dot.shape, (ir::Shape{}));
  EXPECT_EQ(dot.Floats(), (std::vector<float>{14}));
}

TEST(MatMul, DynamicDimsPropagate) {
  ops::ValueInfo a{DataType::FLOAT32, {-1, 1, -1, 64}};
  ops::ValueInfo b{DataType::FLOAT32, {8, 64, 32}};
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(InferOp(OpKind::kMatMul, {}, {a, b}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 8, -1, 32}));
  // An unknown K on one side is accepted; checked with concrete shapes.
  ops::ValueInfo b_dyn{DataType::FLOAT32, {-1, -1}};
  ASSERT_TRUE(InferOp(OpKind::kMatMul, {}, {a, b_dyn}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 1, -1, -1}));
}

TEST(MatMul, InnerDimMismatchNamesBothShapes) {
  ops::ValueInfo a{DataType::FLOAT32, {2, 3}};
  ops::ValueInfo b{DataType::FLOAT32, {4, 5}};
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kMatMul, {}, {a, b}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'a' [2,3]"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'b' [4,5]"), std::string::npos) << s.message();
  // With transpose_b the same b is [5,4]: still K=3 vs K=5.
  EXPECT_FALSE(InferOp(OpKind::kMatMul, Transposes(0, 1), {a, b}, 1, &out).ok());
}

TEST(MatMul, BadBatchAndTypeAreErrors) {
  std::vector<ops::ValueInfo> out;
  Status s =
      InferOp(OpKind::kMatMul, {},
              {ops::ValueInfo{DataType::FLOAT32, {2, 2, 3}}, ops::ValueInfo{DataType::FLOAT32, {3, 3, 4}}}, 1, &out);
  EXPECT_NE(s.message().find("batch dims"), std::string::npos) << s.message();
  s = InferOp(OpKind::kMatMul, {}, {ops::ValueInfo{DataType::FLOAT32, {2, 3}}, ops::ValueInfo{DataType::INT8, {3, 4}}},
              1, &out);
  EXPECT_NE(s.message().find("'b'"), std::string::npos) << s.message();
  s = InferOp(OpKind::kMatMul, {}, {ops::ValueInfo{DataType::FLOAT32, {}}, ops::ValueInfo{DataType::FLOAT32, {3}}}, 1,
              &out);
  EXPECT_NE(s.message().find("'a'"), std::string::npos) << s.message();
}

TEST(MatMul, QuantTraits) {
  const ops::OpSchema& s = ops::GetSchema(OpKind::kMatMul);
  EXPECT_EQ(s.quant.quantizable_inputs, (std::vector<int>{0, 1}));
  EXPECT_EQ(s.quant.weight_input, 1);
  // N: the last axis of b, or the second to last when b is stored transposed.
  ir::AttrMap attrs;
  attrs.Set("transpose_b", int64_t{0});
  EXPECT_EQ(s.quant.WeightAxis(attrs, 2), 1);
  EXPECT_EQ(s.quant.WeightAxis(attrs, 3), 2);
  attrs.Set("transpose_b", int64_t{1});
  EXPECT_EQ(s.quant.WeightAxis(attrs, 2), 0);
  EXPECT_EQ(s.quant.WeightAxis(attrs, 3), 1);
  EXPECT_NE(s.integer_reference, nullptr);
}

}  // namespace
}  // namespace mixq::testing
