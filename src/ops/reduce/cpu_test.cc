// Reduce "cpu-fast" against the reference, bit for bit: mean, sum, max and
// min over trailing, leading and middle blocks of axes (size-1 axes in
// between), every axis, rows of 1..19 outputs (the 8-chain blocks and their
// tails), NaN, +-inf and -0.0, and large steps split over 1, 2 and 3
// threads; it declines axes that are not one block.
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
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<float>(i * 13 + seed)) * 3.0f + 0.001f * i;
  const float specials[] = {std::nanf(""), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), -0.0f};
  if (v.size() > 40)
    for (size_t k = 0; k < 4; ++k) v[(k * 37 + static_cast<size_t>(seed)) % v.size()] = specials[k];
  return v;
}

ir::AttrMap Attrs(const char* op, std::vector<int64_t> axes, int64_t keep_dims) {
  ir::AttrMap a;
  a.Set("op", std::string(op));
  a.Set("axes", axes);
  a.Set("keep_dims", keep_dims);
  return a;
}

void ExpectSameAsReference(const char* op, const ir::Shape& shape, const std::vector<int64_t>& axes, int seed) {
  SCOPED_TRACE(std::string(op) + " " + ir::ShapeString(shape) + " axes " + std::to_string(axes.size()));
  const ir::AttrMap a = Attrs(op, axes, seed % 2);
  const std::vector<std::optional<HostTensor>> in = {HostTensor::F32(shape, Values(shape, seed))};
  std::vector<HostTensor> ref, fast;
  ASSERT_TRUE(RunOp(OpKind::kReduce, a, in, 1, &ref, KernelKind::kReference).ok());
  ASSERT_TRUE(RunOp(OpKind::kReduce, a, in, 1, &fast, KernelKind::kOptimized).ok());
  ASSERT_EQ(ref[0].shape, fast[0].shape);
  ASSERT_EQ(ref[0].bytes.size(), fast[0].bytes.size());
  EXPECT_EQ(std::memcmp(ref[0].bytes.data(), fast[0].bytes.data(), ref[0].bytes.size()), 0);
}

TEST(ReduceFast, BitExactWithTheReference) {
  struct Case {
    ir::Shape shape;
    std::vector<int64_t> axes;
  };
  const Case cases[] = {
      {{1, 40, 120}, {-1}},       // a decomposed LayerNorm's mean: 40 outputs, 8 chains at a time
      {{3, 19, 7}, {2}},          // 57 rows of 7: a tail of 1
      {{5, 1, 13}, {2}},          // 5 rows: the tail alone
      {{2, 6, 5, 9}, {2, 3}},     // two trailing axes
      {{4, 6, 5, 9}, {0}},        // the leading axis: whole planes of 270
      {{4, 6, 1, 5, 9}, {1, 3}},  // a middle block with a size-1 axis inside it
      {{3, 8, 10, 10}, {2, 3}},   // a global average pool as a Reduce
      {{7, 11}, {}},              // every axis
      {{2, 3}, {0, 1}},
  };
  int seed = 0;
  for (const char* op : {"mean", "sum", "max", "min"})
    for (const Case& c : cases) ExpectSameAsReference(op, c.shape, c.axes, ++seed);
}

TEST(ReduceFast, LargeStepsOverThreadsBitExact) {
  const int threads = omp_get_max_threads();
  for (int t : {1, 2, 3}) {
    omp_set_num_threads(t);
    ExpectSameAsReference("mean", {1, 3000, 130}, {2}, t);    // rows: outer blocks split among threads
    ExpectSameAsReference("sum", {37, 60, 170}, {1}, t + 5);  // planes of 170
  }
  omp_set_num_threads(threads);
}

TEST(ReduceFast, DeclinesAxesThatAreNotOneBlock) {
  const ops::KernelDef* fast = ops::FindKernel(OpKind::kReduce, "cpu-fast");
  ASSERT_NE(fast, nullptr);
  const ir::Shape shape = {4, 5, 6};
  ops::ValueInfo x{DataType::FLOAT32, shape};
  auto takes = [&](std::vector<int64_t> axes, ir::Shape out) {
    const ir::AttrMap a = Attrs("mean", axes, 1);
    std::vector<ops::ValueInfo> outs = {ops::ValueInfo{DataType::FLOAT32, out}};
    std::vector<const ops::ValueInfo*> ins = {&x};
    const std::vector<DataType> compute = {DataType::FLOAT32};
    return fast->supports(ops::KernelInit(a, ins, outs, &compute));
  };
  EXPECT_TRUE(takes({1, 2}, {4, 1, 1}));
  EXPECT_TRUE(takes({0}, {1, 5, 6}));
  EXPECT_FALSE(takes({0, 2}, {1, 5, 1}));  // two blocks: the reference walks it
}

}  // namespace
}  // namespace mixq::testing
