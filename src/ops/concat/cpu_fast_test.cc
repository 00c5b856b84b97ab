// The fast Concat kernel ("cpu-fast") is bit-identical with the reference:
// every axis (negative too), ranks 1 to 4, inputs of different sizes along
// the axis and an empty one, 1-, 2- and 4-byte elements (random bytes, so
// NaN payloads move too), and outputs past the threshold where the copies
// split over 1, 2 and 3 threads at byte offsets inside the chunks. The plan
// picks it over the reference.
#include <gtest/gtest.h>
#include <omp.h>

#include <random>

#include "ops/kernel_registry.h"

namespace mixq::ops {
namespace {

std::vector<uint8_t> RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// Runs `def` on inputs of `shapes` (random bytes) joined along `axis`.
std::vector<uint8_t> RunConcat(const KernelDef& def, DataType dtype, const std::vector<ir::Shape>& shapes, int64_t axis,
                               int threads) {
  ir::AttrMap attrs;
  attrs.Set("axis", axis);
  std::vector<ValueInfo> infos;
  for (const ir::Shape& s : shapes) infos.push_back(ValueInfo{dtype, s, nullptr, nullptr, false});
  std::vector<const ValueInfo*> ins;
  for (const ValueInfo& v : infos) ins.push_back(&v);
  std::vector<ValueInfo> outs(1);
  EXPECT_TRUE(GetSchema(OpKind::kConcat).infer(attrs, ins, outs).ok());
  const KernelInit init(attrs, ins, outs);
  EXPECT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<Kernel> kernel;
  EXPECT_TRUE(def.make(init, &kernel).ok()) << def.name;
  std::vector<std::vector<uint8_t>> data;
  std::vector<TensorView> in;
  for (size_t i = 0; i < shapes.size(); ++i) {
    data.push_back(RandomBytes(static_cast<size_t>(ir::ElementCount(shapes[i])) * DataTypeSize(dtype),
                               static_cast<uint32_t>(i * 7 + 1)));
    in.push_back(TensorView{dtype, shapes[i], data.back().data(), nullptr});
  }
  std::vector<uint8_t> y(static_cast<size_t>(ir::ElementCount(outs[0].shape)) * DataTypeSize(dtype), 0xCD);
  if (!kernel) return y;
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  EXPECT_TRUE(kernel->Run(in, {TensorView{dtype, outs[0].shape, y.data(), nullptr}}).ok());
  omp_set_num_threads(saved);
  return y;
}

struct Case {
  std::vector<ir::Shape> shapes;
  int64_t axis;
};

TEST(ConcatFast, BitIdenticalWithTheReference) {
  const KernelDef* fast = FindKernel(OpKind::kConcat, "cpu-fast");
  ASSERT_NE(fast, nullptr);
  const Case cases[] = {
      {{{5}, {3}, {0}, {7}}, 0},               // rank 1, an empty input
      {{{2, 3, 4}, {2, 5, 4}, {2, 1, 4}}, 1},  // the middle axis
      {{{2, 3, 4}, {2, 3, 9}}, -1},            // the last axis, negative
      {{{1, 3, 4}, {4, 3, 4}}, 0},             // the first axis: whole inputs in turn
      {{{1, 24, 80, 80}, {1, 24, 80, 80}, {1, 24, 80, 80}, {1, 24, 80, 80}}, 1},  // PP-OCR det's neck
      {{{3, 7, 33, 40}, {3, 1, 33, 40}, {3, 0, 33, 40}, {3, 11, 33, 40}}, 1},     // parts end inside chunks
      {{{61, 1000}, {61, 1}, {61, 2333}}, 1},                                     // many short rows
  };
  for (DataType dtype : {DataType::FLOAT32, DataType::FLOAT16, DataType::INT8})
    for (const Case& c : cases) {
      std::string name = DataTypeName(dtype);
      for (const ir::Shape& s : c.shapes) name.append(" ").append(ir::ShapeString(s));
      SCOPED_TRACE(name + " axis " + std::to_string(c.axis));
      const std::vector<uint8_t> want = RunConcat(ReferenceKernel(OpKind::kConcat), dtype, c.shapes, c.axis, 1);
      for (int threads : {1, 2, 3}) EXPECT_EQ(RunConcat(*fast, dtype, c.shapes, c.axis, threads), want) << threads;
    }
}

}  // namespace
}  // namespace mixq::ops
