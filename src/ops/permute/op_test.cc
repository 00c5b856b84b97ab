// Permute: goldens from numpy (np.transpose) pasted as literals.
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

ir::AttrMap Perm(std::vector<int64_t> perm) {
  ir::AttrMap a;
  a.Set("perm", std::move(perm));
  return a;
}

HostTensor Int16Ramp() {
  std::vector<int16_t> v(24);
  for (int i = 0; i < 24; ++i) v[i] = static_cast<int16_t>(i);
  return HostTensor::Make(DataType::INT16, {2, 3, 4}, v);
}

TEST(Permute, MatrixTranspose) {
  // [1 2 3; 4 5 6]^T = [1 4; 2 5; 3 6].
  auto y = RunOpOrDie(OpKind::kPermute, Perm({1, 0}), {HostTensor::F32({2, 3}, {1, 2, 3, 4, 5, 6})});
  EXPECT_EQ(y.shape, (ir::Shape{3, 2}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(Permute, Rank3Int16) {
  // arange(24) as [2,3,4]; np.transpose(p, (1, 2, 0)).
  auto y = RunOpOrDie(OpKind::kPermute, Perm({1, 2, 0}), {Int16Ramp()});
  EXPECT_EQ(y.dtype, DataType::INT16);
  EXPECT_EQ(y.shape, (ir::Shape{3, 4, 2}));
  EXPECT_EQ(y.Values<int16_t>(), (std::vector<int16_t>{0, 12, 1, 13, 2, 14, 3, 15, 4,  16, 5,  17,
                                                       6, 18, 7, 19, 8, 20, 9, 21, 10, 22, 11, 23}));
}

TEST(Permute, EmptyPermReverses) {
  // np.transpose(p) reverses the dims: [4,3,2].
  auto y = RunOpOrDie(OpKind::kPermute, {}, {Int16Ramp()});
  EXPECT_EQ(y.shape, (ir::Shape{4, 3, 2}));
  EXPECT_EQ(y.Values<int16_t>(), (std::vector<int16_t>{0, 12, 4, 16, 8,  20, 1, 13, 5, 17, 9,  21,
                                                       2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23}));
}

TEST(Permute, DynamicDimsMove) {
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(
      InferOp(OpKind::kPermute, Perm({0, 2, 3, 1}), {ops::ValueInfo{DataType::FLOAT32, {-1, 3, -1, 5}}}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, -1, 5, 3}));
}

TEST(Permute, NotAPermutationIsNamed) {
  std::vector<ops::ValueInfo> out;
  ops::ValueInfo x{DataType::FLOAT32, {2, 3, 4}};
  for (const auto& bad : {std::vector<int64_t>{0, 1}, {0, 1, 1}, {0, 1, 3}, {-1, 0, 1}}) {
    Status s = InferOp(OpKind::kPermute, Perm(bad), {x}, 1, &out);
    EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.message().find("'perm'"), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace mixq::testing
