// The fast Permute kernels ("avx2", "cpu-fast") are bit-identical with the
// reference: every permutation of ranks 3 and 4, ranks 1 to 6, odd dims,
// every element size (random bytes, so NaN payloads and denormals move too),
// quantized INT8 storage, and the OpenMP split of large copies. The plan
// picks them over the reference.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>

#include "kernels/cpu_features.h"
#include "kernels/strided_copy.h"
#include "ops/kernel_registry.h"
#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

ir::AttrMap Perm(std::vector<int64_t> perm) {
  ir::AttrMap a;
  a.Set("perm", std::move(perm));
  return a;
}

std::vector<uint8_t> RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// The kernels to compare with the reference: cpu-fast always, avx2 where the CPU has it.
std::vector<const ops::KernelDef*> FastKernels() {
  std::vector<const ops::KernelDef*> defs = {ops::FindKernel(OpKind::kPermute, "cpu-fast")};
  if (kernels::BestIsa() >= kernels::Isa::kAvx2) defs.push_back(ops::FindKernel(OpKind::kPermute, "avx2"));
  return defs;
}

// Runs `def` on `x` (bytes of `in`) and returns the output bytes.
std::vector<uint8_t> RunKernel(const ops::KernelDef& def, const ir::AttrMap& attrs, const ops::ValueInfo& in,
                               const ops::ValueInfo& out, const std::vector<uint8_t>& x) {
  std::vector<const ops::ValueInfo*> ins = {&in};
  std::vector<ops::ValueInfo> outs = {out};
  const ops::KernelInit init(attrs, ins, outs);
  EXPECT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<ops::Kernel> kernel;
  EXPECT_TRUE(def.make(init, &kernel).ok()) << def.name;
  std::vector<uint8_t> y(static_cast<size_t>(ir::ElementCount(out.shape)) * DataTypeSize(out.dtype), 0xCD);
  if (!kernel) return y;
  ops::RunQuant rq{0.05f, -3};
  ops::RunQuant* q = in.quant ? &rq : nullptr;
  std::vector<uint8_t> xin = x;
  EXPECT_TRUE(kernel
                  ->Run({ops::TensorView{in.dtype, in.shape, xin.data(), q}},
                        {ops::TensorView{out.dtype, out.shape, y.data(), q}})
                  .ok());
  return y;
}

// Every fast kernel against the reference on one shape / perm / storage.
void ExpectBitExact(DataType dtype, const ir::Shape& shape, const std::vector<int64_t>& perm,
                    const ir::QuantBinding* quant = nullptr) {
  SCOPED_TRACE(std::string(DataTypeName(dtype)) + " " + ir::ShapeString(shape) + " perm " + ir::ShapeString(perm));
  const ir::AttrMap attrs = Perm(perm);
  ops::ValueInfo in{dtype, shape, nullptr, quant, quant != nullptr};
  std::vector<ops::ValueInfo> outs(1);
  ASSERT_TRUE(ops::GetSchema(OpKind::kPermute).infer(attrs, {&in}, outs).ok());
  outs[0].quant = quant;
  outs[0].narrowed = quant != nullptr;
  const std::vector<uint8_t> x = RandomBytes(static_cast<size_t>(ir::ElementCount(shape)) * DataTypeSize(dtype),
                                             static_cast<uint32_t>(ir::ElementCount(shape) * 31 + perm.size()));
  const std::vector<uint8_t> want = RunKernel(ops::ReferenceKernel(OpKind::kPermute), attrs, in, outs[0], x);
  for (const ops::KernelDef* def : FastKernels()) {
    ASSERT_NE(def, nullptr);
    SCOPED_TRACE(def->name);
    EXPECT_EQ(RunKernel(*def, attrs, in, outs[0], x), want);
  }
}

const DataType kEveryElementSize[] = {DataType::INT8, DataType::FLOAT16, DataType::FLOAT32, DataType::INT64};

TEST(PermuteFast, EveryPermutationOfRanks3And4) {
  const ir::Shape shapes3[] = {{3, 7, 9}, {17, 1, 33}, {9, 33, 17}};
  const ir::Shape shapes4[] = {{3, 7, 9, 17}, {1, 17, 33, 9}, {9, 33, 1, 3}};
  for (DataType dtype : kEveryElementSize) {
    for (const ir::Shape& shape : shapes3) {
      std::vector<int64_t> perm = {0, 1, 2};
      do ExpectBitExact(dtype, shape, perm);
      while (std::next_permutation(perm.begin(), perm.end()));
    }
    for (const ir::Shape& shape : shapes4) {
      std::vector<int64_t> perm = {0, 1, 2, 3};
      do ExpectBitExact(dtype, shape, perm);
      while (std::next_permutation(perm.begin(), perm.end()));
    }
  }
}

TEST(PermuteFast, Ranks1To6) {
  const std::pair<ir::Shape, std::vector<int64_t>> cases[] = {
      {{33}, {0}},
      {{1}, {0}},
      {{17, 9}, {1, 0}},
      {{33, 1}, {1, 0}},
      {{64, 40}, {1, 0}},
      {{3, 1, 7, 9, 17}, {4, 2, 0, 3, 1}},
      {{1, 40, 3, 8, 15}, {2, 0, 3, 1, 4}},
      {{3, 7, 1, 9, 17}, {0, 1, 2, 4, 3}},
      {{3, 7, 9, 1, 3, 5}, {5, 4, 3, 2, 1, 0}},
      {{2, 3, 7, 9, 3, 5}, {0, 2, 1, 4, 5, 3}},
      {{2, 3, 1, 9, 17, 3}, {1, 0, 3, 2, 5, 4}},
  };
  for (DataType dtype :
       {DataType::UINT8, DataType::BFLOAT16, DataType::INT16, DataType::INT32, DataType::FLOAT32, DataType::INT64})
    for (const auto& [shape, perm] : cases) ExpectBitExact(dtype, shape, perm);
}

TEST(PermuteFast, BertShapes) {
  for (DataType dtype : {DataType::FLOAT32, DataType::INT8}) {
    ExpectBitExact(dtype, {1, 128, 12, 64}, {0, 2, 1, 3});
    ExpectBitExact(dtype, {1, 12, 128, 64}, {0, 1, 3, 2});
    ExpectBitExact(dtype, {1, 12, 128, 64}, {0, 2, 1, 3});
  }
}

TEST(PermuteFast, QuantizedInt8Storage) {
  ir::QuantBinding q;
  q.scales = {0.05f};
  q.zero_points = {-3};
  ExpectBitExact(DataType::INT8, {1, 8, 40, 15}, {0, 1, 3, 2}, &q);
  ExpectBitExact(DataType::INT8, {1, 128, 12, 64}, {0, 2, 1, 3}, &q);
  ExpectBitExact(DataType::INT8, {1, 1, 40, 120}, {0, 3, 1, 2}, &q);
}

// Above kMinParallelElements the outer work splits over OpenMP threads.
TEST(PermuteFast, LargeCopiesSplitOverThreads) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(3);
  ExpectBitExact(DataType::FLOAT32, {65, 97, 49}, {2, 1, 0});
  ExpectBitExact(DataType::FLOAT32, {3, 96, 1025}, {0, 2, 1});
  ExpectBitExact(DataType::INT8, {1, 1, 513, 1023}, {0, 1, 3, 2});
  ExpectBitExact(DataType::FLOAT16, {257, 33, 40}, {1, 0, 2});
  omp_set_num_threads(threads);
}

// An explicit golden, independent of the reference: np.transpose(arange(24).reshape(2, 3, 4), (2, 0, 1)).
TEST(PermuteFast, MatchesNumpyGolden) {
  std::vector<float> x(24);
  std::iota(x.begin(), x.end(), 0.0f);
  std::vector<uint8_t> bytes(x.size() * 4);
  std::memcpy(bytes.data(), x.data(), bytes.size());
  const ops::ValueInfo in{DataType::FLOAT32, {2, 3, 4}};
  const ops::ValueInfo out{DataType::FLOAT32, {4, 2, 3}};
  const std::vector<float> want = {0, 4, 8,  12, 16, 20, 1, 5, 9,  13, 17, 21,
                                   2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23};
  for (const ops::KernelDef* def : FastKernels()) {
    const std::vector<uint8_t> y = RunKernel(*def, Perm({2, 0, 1}), in, out, bytes);
    std::vector<float> got(24);
    std::memcpy(got.data(), y.data(), y.size());
    EXPECT_EQ(got, want) << def->name;
  }
}

// The planned paths of the BERT attention Permutes, after merging dims.
TEST(PermuteFast, MergesDimsAndPicksThePath) {
  using Path = kernels::StridedCopyPlan::Path;
  // [1,128,12,64] -> [1,12,128,64]: runs of 64 contiguous elements.
  const kernels::StridedCopyPlan heads({1, 12, 128, 64}, {98304, 64, 768, 1}, 0, 4, true);
  EXPECT_EQ(heads.path(), Path::kRuns);
  EXPECT_EQ(heads.shape(), (std::vector<int64_t>{12, 128, 64}));
  // [1,12,128,64] -> [1,12,64,128]: a batch of 12 transposes.
  const kernels::StridedCopyPlan keys({1, 12, 64, 128}, {98304, 8192, 1, 64}, 0, 4, true);
  EXPECT_EQ(keys.path(), Path::kTranspose);
  EXPECT_EQ(keys.steps(), (std::vector<int64_t>{8192, 1, 64}));
  // An identity permutation with size-1 dims is one contiguous run.
  const kernels::StridedCopyPlan same({2, 1, 3, 4}, {12, 99, 4, 1}, 0, 2, false);
  EXPECT_EQ(same.path(), Path::kOneRun);
  EXPECT_EQ(same.shape(), (std::vector<int64_t>{24}));
}

TEST(PermuteFast, ThePlanPicksTheFastKernel) {
  ir::QuantBinding q;
  q.scales = {0.1f};
  q.zero_points = {0};
  const ir::AttrMap attrs = Perm({0, 2, 1, 3});
  const std::string want = kernels::BestIsa() >= kernels::Isa::kAvx2 ? "avx2" : "cpu-fast";
  for (const ir::QuantBinding* quant :
       {static_cast<const ir::QuantBinding*>(nullptr), static_cast<const ir::QuantBinding*>(&q)}) {
    const DataType dtype = quant ? DataType::INT8 : DataType::FLOAT32;
    ops::ValueInfo in{dtype, {1, 128, 12, 64}, nullptr, quant, quant != nullptr};
    std::vector<ops::ValueInfo> outs = {ops::ValueInfo{dtype, {1, 12, 128, 64}, nullptr, quant, quant != nullptr}};
    std::vector<const ops::ValueInfo*> ins = {&in};
    const ops::KernelInit init(attrs, ins, outs);
    const ops::KernelDef* def = nullptr;
    ASSERT_TRUE(ops::SelectKernel(OpKind::kPermute, init, false, kernels::BestIsa(), &def).ok());
    EXPECT_EQ(def->name, want);
    ASSERT_TRUE(ops::SelectKernel(OpKind::kPermute, init, false, kernels::Isa::kGeneric, &def).ok());
    EXPECT_EQ(std::string(def->name), "cpu-fast");
    ASSERT_TRUE(ops::SelectKernel(OpKind::kPermute, init, true, kernels::BestIsa(), &def).ok());
    EXPECT_EQ(std::string(def->name), "reference");
  }
  // A dynamic input shape is left to the reference's error.
  ops::ValueInfo dynamic{DataType::FLOAT32, {-1, 128, 12, 64}};
  std::vector<ops::ValueInfo> outs = {ops::ValueInfo{DataType::FLOAT32, {-1, 12, 128, 64}}};
  std::vector<const ops::ValueInfo*> ins = {&dynamic};
  EXPECT_FALSE(ops::FindKernel(OpKind::kPermute, "cpu-fast")->supports(ops::KernelInit(attrs, ins, outs)));
}

}  // namespace
}  // namespace mixq::testing
