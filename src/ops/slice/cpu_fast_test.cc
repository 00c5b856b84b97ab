// The fast Slice kernel ("cpu-fast") is bit-identical with the reference:
// slices along outer and inner axes, steps of 1, 2, 3 and negative steps,
// clamped ends, ranks 1 to 5, every element size (random bytes), quantized
// INT8 storage. The plan picks it over the reference.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>

#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"
#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

struct SliceCase {
  ir::Shape shape;
  std::vector<int64_t> starts, ends, axes, steps;
};

ir::AttrMap Attrs(const SliceCase& c) {
  ir::AttrMap a;
  a.Set("starts", c.starts);
  a.Set("ends", c.ends);
  if (!c.axes.empty()) a.Set("axes", c.axes);
  if (!c.steps.empty()) a.Set("steps", c.steps);
  return a;
}

std::vector<uint8_t> RunSlice(const ops::KernelDef& def, const ops::KernelInit& init, const ops::ValueInfo& out,
                              std::vector<uint8_t> x) {
  EXPECT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<ops::Kernel> kernel;
  EXPECT_TRUE(def.make(init, &kernel).ok()) << def.name;
  std::vector<uint8_t> y(static_cast<size_t>(ir::ElementCount(out.shape)) * DataTypeSize(out.dtype), 0xCD);
  if (!kernel) return y;
  ops::RunQuant rq{0.1f, 5};
  ops::RunQuant* q = init.inputs[0]->quant ? &rq : nullptr;
  EXPECT_TRUE(kernel
                  ->Run({ops::TensorView{init.inputs[0]->dtype, init.inputs[0]->shape, x.data(), q}},
                        {ops::TensorView{out.dtype, out.shape, y.data(), q}})
                  .ok());
  return y;
}

void ExpectBitExact(DataType dtype, const SliceCase& c, const ir::QuantBinding* quant = nullptr) {
  SCOPED_TRACE(std::string(DataTypeName(dtype)) + " " + ir::ShapeString(c.shape) + " starts " +
               ir::ShapeString(c.starts) + " ends " + ir::ShapeString(c.ends) + " steps " + ir::ShapeString(c.steps));
  const ir::AttrMap attrs = Attrs(c);
  ops::ValueInfo in{dtype, c.shape, nullptr, quant, quant != nullptr};
  std::vector<ops::ValueInfo> outs(1);
  ASSERT_TRUE(ops::GetSchema(OpKind::kSlice).infer(attrs, {&in}, outs).ok());
  outs[0].quant = quant;
  outs[0].narrowed = quant != nullptr;
  std::vector<const ops::ValueInfo*> ins = {&in};
  const ops::KernelInit init(attrs, ins, outs);
  std::mt19937 rng(static_cast<uint32_t>(ir::ElementCount(c.shape)));
  std::vector<uint8_t> x(static_cast<size_t>(ir::ElementCount(c.shape)) * DataTypeSize(dtype));
  for (auto& b : x) b = static_cast<uint8_t>(rng());
  const ops::KernelDef* fast = ops::FindKernel(OpKind::kSlice, "cpu-fast");
  ASSERT_NE(fast, nullptr);
  EXPECT_EQ(RunSlice(*fast, init, outs[0], x), RunSlice(ops::ReferenceKernel(OpKind::kSlice), init, outs[0], x));
}

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

const SliceCase kCases[] = {
    {{3, 1, 8, 40, 15}, {1}, {2}, {0}, {}},                         // PP-OCR's q / k / v split: one run
    {{3, 1, 8, 40, 15}, {2}, {kMax}, {0}, {}},                      //
    {{7, 9, 17}, {1, 2}, {6, 15}, {1, 2}, {}},                      // inner axes: runs
    {{7, 9, 17}, {0, 1}, {kMax, kMax}, {1, 2}, {2, 3}},             // strided: gathers
    {{7, 9, 17}, {-1}, {-kMax}, {2}, {-1}},                         // backwards along the last axis
    {{7, 9, 17}, {5, -2}, {-kMax, 0}, {0, 1}, {-2, -3}},            //
    {{33}, {3}, {30}, {}, {}},                                      // rank 1
    {{33}, {32}, {-kMax}, {0}, {-4}},                               //
    {{1, 3, 9, 9}, {1, 1}, {8, 8}, {2, 3}, {2, 2}},                 // strided 2-D window
    {{2, 3, 5, 7, 9}, {0, 1, 2}, {2, 3, 5}, {0, 2, 4}, {1, 1, 2}},  // rank 5
    {{5, 6}, {4}, {4}, {0}, {}},                                    // empty
};

TEST(SliceFast, BitExactWithTheReference) {
  for (DataType dtype : {DataType::INT8, DataType::FLOAT16, DataType::FLOAT32, DataType::INT64})
    for (const SliceCase& c : kCases) ExpectBitExact(dtype, c);
}

TEST(SliceFast, QuantizedInt8Storage) {
  ir::QuantBinding q;
  q.scales = {0.1f};
  q.zero_points = {5};
  for (const SliceCase& c : kCases) ExpectBitExact(DataType::INT8, c, &q);
}

// np.arange(24).reshape(4, 6)[3:0:-2, 1::2] = [[19, 21, 23], [7, 9, 11]].
TEST(SliceFast, MatchesNumpyGolden) {
  const SliceCase c{{4, 6}, {3, 1}, {0, kMax}, {0, 1}, {-2, 2}};
  const ir::AttrMap attrs = Attrs(c);
  ops::ValueInfo in{DataType::INT32, c.shape};
  std::vector<ops::ValueInfo> outs = {ops::ValueInfo{DataType::INT32, {2, 3}}};
  std::vector<const ops::ValueInfo*> ins = {&in};
  std::vector<int32_t> x(24);
  for (int i = 0; i < 24; ++i) x[static_cast<size_t>(i)] = i;
  std::vector<uint8_t> bytes(96);
  std::memcpy(bytes.data(), x.data(), 96);
  const std::vector<uint8_t> y =
      RunSlice(*ops::FindKernel(OpKind::kSlice, "cpu-fast"), ops::KernelInit(attrs, ins, outs), outs[0], bytes);
  std::vector<int32_t> got(6);
  std::memcpy(got.data(), y.data(), 24);
  EXPECT_EQ(got, (std::vector<int32_t>{19, 21, 23, 7, 9, 11}));
}

TEST(SliceFast, ThePlanPicksTheFastKernel) {
  const ir::AttrMap attrs = Attrs(kCases[0]);
  ops::ValueInfo in{DataType::FLOAT32, {3, 1, 8, 40, 15}};
  std::vector<ops::ValueInfo> outs = {ops::ValueInfo{DataType::FLOAT32, {1, 1, 8, 40, 15}}};
  std::vector<const ops::ValueInfo*> ins = {&in};
  const ops::KernelDef* def = nullptr;
  ASSERT_TRUE(
      ops::SelectKernel(OpKind::kSlice, ops::KernelInit(attrs, ins, outs), false, kernels::BestIsa(), &def).ok());
  EXPECT_EQ(std::string(def->name), "cpu-fast");
  ASSERT_TRUE(
      ops::SelectKernel(OpKind::kSlice, ops::KernelInit(attrs, ins, outs), true, kernels::BestIsa(), &def).ok());
  EXPECT_EQ(std::string(def->name), "reference");
}

}  // namespace
}  // namespace mixq::testing
