// The fast Elementwise kernel is bit-exact with the reference on broadcasts
// of every shape class (same shape, scalar, row, column, middle axes, both
// sides broadcast), tails, NaN, +-inf and -0.0; pow and integers delegate.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "ops/kernel_registry.h"
#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

std::vector<float> Values(const ir::Shape& shape, int seed) {
  std::vector<float> v(static_cast<size_t>(ir::ElementCount(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<float>(i * 7 + seed)) * 5.0f;
  const float specials[] = {std::nanf(""), std::numeric_limits<float>::infinity(), -0.0f, 0.0f};
  for (size_t i = 0; i < v.size() && i < 4; ++i) v[i * 3 % v.size()] = specials[(i + static_cast<size_t>(seed)) % 4];
  return v;
}

TEST(ElementwiseFast, BitExactWithTheReference) {
  const std::pair<ir::Shape, ir::Shape> shapes[] = {
      {{2, 3, 17}, {2, 3, 17}}, {{2, 3, 17}, {1}},         {{2, 3, 17}, {17}}, {{2, 3, 17}, {3, 1}},
      {{1, 3, 1}, {2, 1, 5}},   {{4, 1, 6, 7}, {5, 1, 1}}, {{}, {3, 2}},       {{1, 8, 4, 4}, {1, 8, 1, 1}},
  };
  for (const char* op : {"add", "sub", "mul", "div", "max", "min", "pow"})
    for (const auto& [sa, sb] : shapes) {
      SCOPED_TRACE(std::string(op) + " " + ir::ShapeString(sa) + " " + ir::ShapeString(sb));
      ir::AttrMap a;
      a.Set("op", std::string(op));
      const std::vector<std::optional<HostTensor>> in = {HostTensor::F32(sa, Values(sa, 1)),
                                                         HostTensor::F32(sb, Values(sb, 2))};
      std::vector<HostTensor> ref, fast;
      ASSERT_TRUE(RunOp(OpKind::kElementwise, a, in, 1, &ref, KernelKind::kReference).ok());
      ASSERT_TRUE(RunOp(OpKind::kElementwise, a, in, 1, &fast, KernelKind::kOptimized).ok());
      ASSERT_EQ(ref[0].shape, fast[0].shape);
      EXPECT_EQ(std::memcmp(ref[0].bytes.data(), fast[0].bytes.data(), ref[0].bytes.size()), 0);
    }
}

// Past kernels::kMinParallelElements the fast kernel splits its runs into
// spans over the threads: bit-exact at 1, 2 and 3 threads with a per-channel
// operand (runs of 2 spans), one contiguous run of 5 spans, and many short
// runs whose thread ranges start mid-tensor.
TEST(ElementwiseFast, SpansOverThreadsBitExact) {
  const std::pair<ir::Shape, ir::Shape> shapes[] = {
      {{1, 24, 130, 170}, {1, 24, 1, 1}},  // runs of 22100: two spans each, the last one short
      {{70001, 4}, {70001, 4}},            // one run of 280004: five spans
      {{3, 700, 131}, {3, 700, 1}},        // 2100 runs of 131: each thread a range of them
  };
  const int threads = omp_get_max_threads();
  for (const char* op : {"add", "mul", "max"})
    for (const auto& [sa, sb] : shapes) {
      ir::AttrMap a;
      a.Set("op", std::string(op));
      const std::vector<std::optional<HostTensor>> in = {HostTensor::F32(sa, Values(sa, 3)),
                                                         HostTensor::F32(sb, Values(sb, 4))};
      std::vector<HostTensor> ref;
      ASSERT_TRUE(RunOp(OpKind::kElementwise, a, in, 1, &ref, KernelKind::kReference).ok());
      for (int t : {1, 2, 3}) {
        SCOPED_TRACE(std::string(op) + " " + ir::ShapeString(sa) + " " + ir::ShapeString(sb) + " threads " +
                     std::to_string(t));
        omp_set_num_threads(t);
        std::vector<HostTensor> fast;
        ASSERT_TRUE(RunOp(OpKind::kElementwise, a, in, 1, &fast, KernelKind::kOptimized).ok());
        ASSERT_EQ(ref[0].bytes.size(), fast[0].bytes.size());
        EXPECT_EQ(std::memcmp(ref[0].bytes.data(), fast[0].bytes.data(), ref[0].bytes.size()), 0);
      }
      omp_set_num_threads(threads);
    }
}

// pow with a constant exponent of 2 is the square: the reference computes
// a * a (the correctly rounded square, numpy's too), and the fast kernel
// takes it (a decomposed LayerNorm's (x - mean)^2), bit for bit, broadcast
// exponents included; any other exponent stays with the reference.
TEST(ElementwiseFast, PowOfTwoIsTheSquare) {
  const ir::Shape shape = {3, 40, 37};
  const std::vector<float> x = Values(shape, 9);
  ir::AttrMap a;
  a.Set("op", std::string("pow"));
  for (const ir::Shape& exponent_shape : {ir::Shape{}, ir::Shape{37}}) {
    const std::vector<float> two(static_cast<size_t>(ir::ElementCount(exponent_shape)), 2.0f);
    const std::vector<std::optional<HostTensor>> in = {HostTensor::F32(shape, x),
                                                       HostTensor::F32(exponent_shape, two).Const()};
    std::vector<HostTensor> ref, fast;
    ASSERT_TRUE(RunOp(OpKind::kElementwise, a, in, 1, &ref, KernelKind::kReference).ok());
    ASSERT_TRUE(RunOp(OpKind::kElementwise, a, in, 1, &fast, KernelKind::kOptimized).ok());
    const std::vector<float> got = ref[0].Values<float>();
    for (size_t i = 0; i < x.size(); ++i) {
      const float want = x[i] * x[i];
      ASSERT_EQ(std::memcmp(&got[i], &want, 4) == 0 || (std::isnan(got[i]) && std::isnan(want)), true) << i;
    }
    EXPECT_EQ(std::memcmp(ref[0].bytes.data(), fast[0].bytes.data(), ref[0].bytes.size()), 0);
  }
  const ops::KernelDef* cpu_fast = ops::FindKernel(OpKind::kElementwise, "cpu-fast");
  ASSERT_NE(cpu_fast, nullptr);
  auto takes = [&](float exponent) {
    const float b[2] = {2.0f, exponent};
    ops::ValueInfo xi{DataType::FLOAT32, {4, 2}}, bi{DataType::FLOAT32, {2}, b, nullptr, false};
    std::vector<ops::ValueInfo> outs = {ops::ValueInfo{DataType::FLOAT32, {4, 2}}};
    std::vector<const ops::ValueInfo*> ins = {&xi, &bi};
    const std::vector<DataType> compute = {DataType::FLOAT32, DataType::FLOAT32};
    return cpu_fast->supports(ops::KernelInit(a, ins, outs, &compute));
  };
  EXPECT_TRUE(takes(2.0f));
  EXPECT_FALSE(takes(3.0f));  // not every exponent 2: the reference's powf
}

TEST(ElementwiseFast, IntegersDelegateToTheReference) {
  ir::AttrMap a;
  a.Set("op", std::string("div"));
  std::vector<HostTensor> out;
  ASSERT_TRUE(RunOp(OpKind::kElementwise, a, {HostTensor::I64({2}, {7, -7}), HostTensor::I64({2}, {2, 2})}, 1, &out,
                    KernelKind::kOptimized)
                  .ok());
  EXPECT_EQ(out[0].Values<int64_t>(), (std::vector<int64_t>{3, -3}));  // truncation toward zero
  // The reference's run-time check stays: division by zero is an error.
  Status s = RunOp(OpKind::kElementwise, a, {HostTensor::I64({2}, {7, -7}), HostTensor::I64({2}, {2, 0})}, 1, &out,
                   KernelKind::kOptimized);
  EXPECT_NE(s.message().find("division by zero"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace mixq::testing
