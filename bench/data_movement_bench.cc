// Micro-benchmarks of the data-movement kernels against their reference, on
// the shapes the models run them at: BERT-base attention's Permutes of
// [1,128,12,64] (heads split and merged, perm 0,2,1,3 and back) and of the
// keys ([1,12,128,64] -> [1,12,64,128], perm 0,1,3,2), float32 and INT8
// storage; PP-OCR rec's 5-D q / k / v Permute and its Slice. Kernels:
// "reference", "cpu-fast" (scalar tiles) and "avx2" (8x8 register tiles)
// where the CPU has it. Counter: GB/s, bytes read plus bytes written.
//
//   build/bench/mixq_data_movement_bench [--benchmark_filter=...]
//
// One thread (omp_set_num_threads(1) is called here).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <limits>
#include <random>

#include "ops/kernel_registry.h"

namespace mixq::ops {
namespace {

struct Case {
  const char* name;
  OpKind op;
  DataType dtype;
  ir::Shape in, out;
  std::vector<int64_t> perm;  // Permute; Slice: starts, ends, axes as {start, end, axis}
};

const Case kCases[] = {
    {"bert_split_heads_f32", OpKind::kPermute, DataType::FLOAT32, {1, 128, 12, 64}, {1, 12, 128, 64}, {0, 2, 1, 3}},
    {"bert_keys_f32", OpKind::kPermute, DataType::FLOAT32, {1, 12, 128, 64}, {1, 12, 64, 128}, {0, 1, 3, 2}},
    {"bert_merge_heads_f32", OpKind::kPermute, DataType::FLOAT32, {1, 12, 128, 64}, {1, 128, 12, 64}, {0, 2, 1, 3}},
    {"bert_split_heads_i8", OpKind::kPermute, DataType::INT8, {1, 128, 12, 64}, {1, 12, 128, 64}, {0, 2, 1, 3}},
    {"bert_keys_i8", OpKind::kPermute, DataType::INT8, {1, 12, 128, 64}, {1, 12, 64, 128}, {0, 1, 3, 2}},
    {"ppocr_rec_qkv_f32", OpKind::kPermute, DataType::FLOAT32, {1, 40, 3, 8, 15}, {3, 1, 8, 40, 15}, {2, 0, 3, 1, 4}},
    {"ppocr_rec_keys_f32", OpKind::kPermute, DataType::FLOAT32, {1, 8, 40, 15}, {1, 8, 15, 40}, {0, 1, 3, 2}},
    {"ppocr_rec_slice_f32", OpKind::kSlice, DataType::FLOAT32, {3, 1, 8, 40, 15}, {1, 1, 8, 40, 15}, {1, 2, 0}},
};

void Run(benchmark::State& state, const Case& c, const char* kernel_name) {
  omp_set_num_threads(1);
  ir::AttrMap attrs;
  if (c.op == OpKind::kPermute) {
    attrs.Set("perm", c.perm);
  } else {
    attrs.Set("starts", std::vector<int64_t>{c.perm[0]});
    attrs.Set("ends", std::vector<int64_t>{c.perm[1]});
    attrs.Set("axes", std::vector<int64_t>{c.perm[2]});
  }
  ir::QuantBinding q;
  q.scales = {0.05f};
  q.zero_points = {0};
  const bool int8 = c.dtype == DataType::INT8;
  ValueInfo xi{c.dtype, c.in, nullptr, int8 ? &q : nullptr, int8};
  std::vector<const ValueInfo*> ins = {&xi};
  std::vector<ValueInfo> outs = {ValueInfo{c.dtype, c.out, nullptr, int8 ? &q : nullptr, int8}};
  KernelInit init(attrs, ins, outs);
  const KernelDef* def =
      std::string(kernel_name) == "reference" ? &ReferenceKernel(c.op) : FindKernel(c.op, kernel_name);
  if (!def || def->isa > kernels::BestIsa() || !def->supports(init)) {
    state.SkipWithError("kernel not available here");
    return;
  }
  std::unique_ptr<Kernel> kernel;
  if (!def->make(init, &kernel).ok()) {
    state.SkipWithError("make failed");
    return;
  }
  const size_t es = DataTypeSize(c.dtype);
  std::vector<uint8_t> x(static_cast<size_t>(ir::ElementCount(c.in)) * es),
      y(static_cast<size_t>(ir::ElementCount(c.out)) * es);
  std::mt19937 rng(1);
  for (auto& b : x) b = static_cast<uint8_t>(rng());
  RunQuant rq{0.05f, 0};
  const std::vector<TensorView> in = {TensorView{c.dtype, c.in, x.data(), int8 ? &rq : nullptr}};
  const std::vector<TensorView> out = {TensorView{c.dtype, c.out, y.data(), int8 ? &rq : nullptr}};
  for (auto _ : state) {
    benchmark::DoNotOptimize(kernel->Run(in, out));
    benchmark::ClobberMemory();
  }
  state.SetLabel(def->name);
  state.counters["GB/s"] = benchmark::Counter(
      2.0 * static_cast<double>(y.size()) * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

const bool kRegistered = [] {
  for (const Case& c : kCases)
    for (const char* kernel : {"reference", "cpu-fast", "avx2"})
      if (c.op == OpKind::kPermute || std::string(kernel) != "avx2")
        benchmark::RegisterBenchmark((std::string(c.name) + "/" + kernel).c_str(), Run, c, kernel);
  return true;
}();

}  // namespace
}  // namespace mixq::ops

BENCHMARK_MAIN();
