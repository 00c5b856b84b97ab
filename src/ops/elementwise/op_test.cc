// Elementwise: each op, numpy broadcasting (incl. dynamic dims at inference),
// integer semantics and the errors that name their culprit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

ir::AttrMap Op(const std::string& op) {
  ir::AttrMap a;
  a.Set("op", op);
  return a;
}

HostTensor I32(ir::Shape shape, const std::vector<int32_t>& v) {
  return HostTensor::Make(DataType::INT32, std::move(shape), v);
}

TEST(Elementwise, FloatOpsSameShape) {
  auto a = HostTensor::F32({4}, {1, -2, 3, 8});
  auto b = HostTensor::F32({4}, {2, 4, -3, 0.5f});
  EXPECT_EQ(RunOpOrDie(OpKind::kElementwise, Op("add"), {a, b}).Floats(), (std::vector<float>{3, 2, 0, 8.5f}));
  EXPECT_EQ(RunOpOrDie(OpKind::kElementwise, Op("sub"), {a, b}).Floats(), (std::vector<float>{-1, -6, 6, 7.5f}));
  EXPECT_EQ(RunOpOrDie(OpKind::kElementwise, Op("mul"), {a, b}).Floats(), (std::vector<float>{2, -8, -9, 4}));
  EXPECT_EQ(RunOpOrDie(OpKind::kElementwise, Op("div"), {a, b}).Floats(), (std::vector<float>{0.5f, -0.5f, -1, 16}));
  EXPECT_EQ(RunOpOrDie(OpKind::kElementwise, Op("max"), {a, b}).Floats(), (std::vector<float>{2, 4, 3, 8}));
  EXPECT_EQ(RunOpOrDie(OpKind::kElementwise, Op("min"), {a, b}).Floats(), (std::vector<float>{1, -2, -3, 0.5f}));
}

TEST(Elementwise, DefaultOpIsAdd) {
  auto y = RunOpOrDie(OpKind::kElementwise, {}, {HostTensor::F32({1}, {1}), HostTensor::F32({1}, {2})});
  EXPECT_EQ(y.Floats(), (std::vector<float>{3}));
}

TEST(Elementwise, Pow) {
  // numpy: 2^3 = 8, 3^0.5 = 1.7320509, 4^-0.5 = 0.5, 0^0 = 1; (-8)^(1/3) = nan (negative base, fractional exponent).
  auto a = HostTensor::F32({5}, {2, 3, 4, 0, -8});
  auto b = HostTensor::F32({5}, {3, 0.5f, -0.5f, 0, 1.0f / 3});
  auto y = RunOpOrDie(OpKind::kElementwise, Op("pow"), {a, b}).Floats();
  EXPECT_EQ(y[0], 8.0f);
  EXPECT_NEAR(y[1], 1.7320509f, 1e-6f);
  EXPECT_EQ(y[2], 0.5f);
  EXPECT_EQ(y[3], 1.0f);
  EXPECT_TRUE(std::isnan(y[4]));
}

TEST(Elementwise, DivideByZeroAndOverflowInFloat) {
  const float inf = std::numeric_limits<float>::infinity();
  auto y =
      RunOpOrDie(OpKind::kElementwise, Op("div"), {HostTensor::F32({3}, {1, -1, 0}), HostTensor::F32({3}, {0, 0, 0})})
          .Floats();
  EXPECT_EQ(y[0], inf);
  EXPECT_EQ(y[1], -inf);
  EXPECT_TRUE(std::isnan(y[2]));
  auto m = RunOpOrDie(OpKind::kElementwise, Op("mul"), {HostTensor::F32({1}, {3e38f}), HostTensor::F32({1}, {10})});
  EXPECT_EQ(m.Floats()[0], inf);
}

TEST(Elementwise, MaxMinPropagateNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto a = HostTensor::F32({2}, {nan, 1});
  auto b = HostTensor::F32({2}, {1, nan});
  for (const char* op : {"max", "min"}) {
    auto y = RunOpOrDie(OpKind::kElementwise, Op(op), {a, b}).Floats();
    EXPECT_TRUE(std::isnan(y[0]) && std::isnan(y[1])) << op;
  }
}

TEST(Elementwise, BroadcastRowAgainstMatrix) {
  // [2,3] + [3]: each row gets 10, 20, 30.
  auto a = HostTensor::F32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto b = HostTensor::F32({3}, {10, 20, 30});
  auto y = RunOpOrDie(OpKind::kElementwise, Op("add"), {a, b});
  EXPECT_EQ(y.shape, (ir::Shape{2, 3}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{11, 22, 33, 14, 25, 36}));
}

TEST(Elementwise, BroadcastBothSides) {
  // [2,1,3] - [4,1] -> [2,4,3]; numpy: (np.arange(6)+1).reshape(2,1,3) - [[0.5],[-1],[2],[3]].
  auto a = HostTensor::F32({2, 1, 3}, {1, 2, 3, 4, 5, 6});
  auto b = HostTensor::F32({4, 1}, {0.5f, -1, 2, 3});
  auto y = RunOpOrDie(OpKind::kElementwise, Op("sub"), {a, b});
  EXPECT_EQ(y.shape, (ir::Shape{2, 4, 3}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{0.5f, 1.5f, 2.5f, 2, 3, 4, -1, 0, 1, -2, -1, 0,
                                            3.5f, 4.5f, 5.5f, 5, 6, 7, 2,  3, 4, 1,  2,  3}));
}

TEST(Elementwise, BroadcastScalar) {
  auto a = HostTensor::F32({}, {2});
  auto b = HostTensor::F32({2, 2}, {1, 2, 3, 4});
  auto y = RunOpOrDie(OpKind::kElementwise, Op("div"), {a, b});
  EXPECT_EQ(y.shape, (ir::Shape{2, 2}));
  EXPECT_EQ(y.Floats(), (std::vector<float>{2, 1, 2.0f / 3, 0.5f}));
}

TEST(Elementwise, BroadcastOddSizes) {
  // [5,1,7] / [3,1] -> [5,3,7]; element (n, c, w) = a(n, 0, w) / b(c, 0).
  std::vector<float> av(35), bv = {1, 2, 3};
  for (int i = 0; i < 35; ++i) av[i] = static_cast<float>(i);
  auto y = RunOpOrDie(OpKind::kElementwise, Op("div"), {HostTensor::F32({5, 1, 7}, av), HostTensor::F32({3, 1}, bv)});
  ASSERT_EQ(y.shape, (ir::Shape{5, 3, 7}));
  auto v = y.Floats();
  for (int n = 0; n < 5; ++n)
    for (int c = 0; c < 3; ++c)
      for (int w = 0; w < 7; ++w) EXPECT_EQ(v[(n * 3 + c) * 7 + w], av[n * 7 + w] / bv[c]);
}

TEST(Elementwise, DynamicDimsAtInference) {
  std::vector<ops::ValueInfo> out;
  // A dynamic dim against a known one: the known one wins (checked again at run time).
  ASSERT_TRUE(InferOp(OpKind::kElementwise, Op("add"),
                      {ops::ValueInfo{DataType::FLOAT32, {-1, 3}}, ops::ValueInfo{DataType::FLOAT32, {4, 1}}}, 1, &out)
                  .ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{4, 3}));
  // Dynamic against 1 stays dynamic; missing leading dims broadcast.
  ASSERT_TRUE(InferOp(OpKind::kElementwise, Op("mul"),
                      {ops::ValueInfo{DataType::FLOAT32, {-1, 1, 5}}, ops::ValueInfo{DataType::FLOAT32, {-1, 1}}}, 1,
                      &out)
                  .ok());
  EXPECT_EQ(out[0].shape, (ir::Shape{-1, -1, 5}));
}

TEST(Elementwise, Int32Ops) {
  auto a = I32({4}, {7, -7, 7, -7});
  auto b = I32({4}, {2, 2, -2, -2});
  auto run = [&](const char* op) { return RunOpOrDie(OpKind::kElementwise, Op(op), {a, b}).Values<int32_t>(); };
  EXPECT_EQ(run("add"), (std::vector<int32_t>{9, -5, 5, -9}));
  EXPECT_EQ(run("sub"), (std::vector<int32_t>{5, -9, 9, -5}));
  EXPECT_EQ(run("mul"), (std::vector<int32_t>{14, -14, -14, 14}));
  // C division truncates toward zero: -7 / 2 = -3 (numpy // would give -4).
  EXPECT_EQ(run("div"), (std::vector<int32_t>{3, -3, -3, 3}));
  EXPECT_EQ(run("max"), (std::vector<int32_t>{7, 2, 7, -2}));
  EXPECT_EQ(run("min"), (std::vector<int32_t>{2, -7, -2, -7}));
}

TEST(Elementwise, Int64BroadcastAndWraparound) {
  const int64_t max = std::numeric_limits<int64_t>::max(), min = std::numeric_limits<int64_t>::min();
  auto a = HostTensor::I64({2, 2}, {max, min, 10, -10});
  auto one = HostTensor::I64({1}, {1});
  // Overflow wraps (two's complement), as numpy.
  EXPECT_EQ(RunOpOrDie(OpKind::kElementwise, Op("add"), {a, one}).Values<int64_t>(),
            (std::vector<int64_t>{min, min + 1, 11, -9}));
  auto minus_one = HostTensor::I64({2, 1}, {-1, 3});
  // Row 0 / -1: min / -1 overflows and wraps to min. Row 1 / 3: 10/3 = 3, -10/3 = -3.
  EXPECT_EQ(RunOpOrDie(OpKind::kElementwise, Op("div"), {a, minus_one}).Values<int64_t>(),
            (std::vector<int64_t>{-max, min, 3, -3}));
}

TEST(Elementwise, IntegerDivisionByZeroIsAnError) {
  std::vector<HostTensor> out;
  Status s = RunOp(OpKind::kElementwise, Op("div"), {I32({3}, {1, 2, 3}), I32({3}, {1, 0, 1})}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("division by zero"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'b'"), std::string::npos) << s.message();
}

TEST(Elementwise, DtypeMismatchNamesBoth) {
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kElementwise, Op("add"),
                     {ops::ValueInfo{DataType::FLOAT32, {2}}, ops::ValueInfo{DataType::INT32, {2}}}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("'a' (FLOAT32)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'b' (INT32)"), std::string::npos) << s.message();
}

TEST(Elementwise, IntegerPowAndOtherTypesRejected) {
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kElementwise, Op("pow"),
                     {ops::ValueInfo{DataType::INT64, {2}}, ops::ValueInfo{DataType::INT64, {2}}}, 1, &out);
  EXPECT_NE(s.message().find("pow"), std::string::npos) << s.message();
  s = InferOp(OpKind::kElementwise, Op("add"),
              {ops::ValueInfo{DataType::INT8, {2}}, ops::ValueInfo{DataType::INT8, {2}}}, 1, &out);
  EXPECT_NE(s.message().find("INT8"), std::string::npos) << s.message();
}

TEST(Elementwise, UnknownOpIsNamed) {
  std::vector<ops::ValueInfo> out;
  Status s = InferOp(OpKind::kElementwise, Op("mod"),
                     {ops::ValueInfo{DataType::FLOAT32, {2}}, ops::ValueInfo{DataType::FLOAT32, {2}}}, 1, &out);
  EXPECT_NE(s.message().find("'mod'"), std::string::npos) << s.message();
}

TEST(Elementwise, IncompatibleShapesNameBoth) {
  std::vector<HostTensor> out;
  Status s = RunOp(OpKind::kElementwise, Op("add"),
                   {HostTensor::F32({2, 3}, std::vector<float>(6)), HostTensor::F32({2}, {1, 2})}, 1, &out);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("[2,3]"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("[2]"), std::string::npos) << s.message();
}

TEST(Elementwise, RunTimeShapeMismatchCaughtWhenPreparing) {
  // Inference accepted [-1,3] with [4,3]; the real shapes [2,3] and [4,3] do not broadcast.
  ir::AttrMap attrs = Op("add");
  ops::ValueInfo a{DataType::FLOAT32, {2, 3}}, b{DataType::FLOAT32, {4, 3}};
  std::vector<const ops::ValueInfo*> inputs = {&a, &b};
  std::vector<ops::ValueInfo> outputs = {ops::ValueInfo{DataType::FLOAT32, {4, 3}}};
  std::unique_ptr<ops::Kernel> kernel;
  Status s = ops::GetSchema(OpKind::kElementwise).reference({attrs, inputs, outputs}, &kernel);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("[2,3]"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("[4,3]"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mixq::testing
