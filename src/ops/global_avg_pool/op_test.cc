// GlobalAvgPool: shape inference and reference kernel against hand-computed values.
#include <gtest/gtest.h>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

TEST(GlobalAvgPool, NhwcOddSpatialSize) {
  // 3x5 image, 2 channels: c0 = 0..14 (mean 7), c1 = 2 * c0 - 1 (mean 13); batch 2 adds 100.
  std::vector<float> x;
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 15; ++i) {
      x.push_back(static_cast<float>(i + 100 * n));
      x.push_back(static_cast<float>(2 * (i + 100 * n) - 1));
    }
  auto y = RunOpOrDie(OpKind::kGlobalAvgPool, {}, {HostTensor::F32({2, 3, 5, 2}, x)});
  EXPECT_EQ(y.shape, (ir::Shape{2, 1, 1, 2}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{7, 13, 107, 213}));
}

TEST(GlobalAvgPool, Nchw) {
  // Channel 0: (1 + 2 + 3 + 4) / 4 = 2.5; channel 1: (-1 + 0.5 + 0.25 + 0.25) / 4 = 0.
  ir::AttrMap a;
  a.Set("layout", std::string("NCHW"));
  auto x = HostTensor::F32({1, 2, 2, 2}, {1, 2, 3, 4, -1, 0.5f, 0.25f, 0.25f});
  auto y = RunOpOrDie(OpKind::kGlobalAvgPool, a, {x});
  EXPECT_EQ(y.shape, (ir::Shape{1, 2, 1, 1}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{2.5f, 0.0f}));
}

TEST(GlobalAvgPool, SumsInDouble) {
  // 1e8 + 1 + 1 + 1 - 1e8 - ... : float accumulation would lose the ones.
  auto x = HostTensor::F32({1, 1, 1, 4}, {1e8f, 1.0f, 1.0f, -1e8f});
  ir::AttrMap a;
  a.Set("layout", std::string("NCHW"));
  auto y = RunOpOrDie(OpKind::kGlobalAvgPool, a, {x});
  EXPECT_EQ(y.Floats(), (std::vector<float>{0.5f}));
}

TEST(GlobalAvgPool, DynamicDimsPropagate) {
  std::vector<ops::ValueInfo> out;
  ASSERT_TRUE(InferOp(OpKind::kGlobalAvgPool, {}, {ops::ValueInfo{DataType::FLOAT32, {-1, -1, -1, 16}}}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 1, 1, 16}));
  ir::AttrMap a;
  a.Set("layout", std::string("NCHW"));
  ASSERT_TRUE(InferOp(OpKind::kGlobalAvgPool, a, {ops::ValueInfo{DataType::FLOAT32, {-1, 8, -1, -1}}}, 1, &out).ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, 8, 1, 1}));
}

TEST(GlobalAvgPool, BadInputsAreNamed) {
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kGlobalAvgPool, {}, {ops::ValueInfo{DataType::FLOAT32, {1, 8}}}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'input'"), std::string::npos) << s.message();
  s = InferOp(OpKind::kGlobalAvgPool, {}, {ops::ValueInfo{DataType::INT32, {1, 2, 2, 8}}}, 1, &out);
  EXPECT_NE(s.message().find("FLOAT32"), std::string::npos) << s.message();
  ir::AttrMap a;
  a.Set("layout", std::string("NC"));
  s = InferOp(OpKind::kGlobalAvgPool, a, {ops::ValueInfo{DataType::FLOAT32, {1, 2, 2, 8}}}, 1, &out);
  EXPECT_NE(s.message().find("layout"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
