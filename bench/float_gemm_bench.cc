// Micro-benchmark of the float32 products with constant weights: MatMul on
// avx2-f32 (kernels/sgemm.h, weights packed once) against oneDNN's matmul
// (gemm:jit on AVX2) and FullyConnected on both, on BERT-base's shapes
// (M = 128 tokens: QKV / attention output 768 -> 768, FFN 768 -> 3072 and
// 3072 -> 768), PP-OCR rec's (M = 40) and a few small ones. Counter: GMAC/s (multiply-adds).
// The MatMul cases also run the float16-storage kernels (avx512-f16-gemm,
// avx2-f16-gemm: float16 a, weights and output, as force_float16 plans them).
//
//   build/bench/mixq_float_gemm_bench [--benchmark_filter=...]
//
// Threads: OMP_NUM_THREADS (default 1 here; set MIXQ_BENCH_THREADS=2 for 2).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdlib>
#include <random>

#include "ops/kernel_registry.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

struct Case {
  const char* name;
  OpKind op;
  int64_t m, k, n;
};

const Case kCases[] = {
    {"bert_qkv_128x768x768", OpKind::kMatMul, 128, 768, 768},
    {"bert_ffn1_128x768x3072", OpKind::kMatMul, 128, 768, 3072},
    {"bert_ffn2_128x3072x768", OpKind::kMatMul, 128, 3072, 768},
    {"ppocr_rec_40x120x360", OpKind::kMatMul, 40, 120, 360},
    {"ppocr_rec_40x240x120", OpKind::kMatMul, 40, 240, 120},
    {"ppocr_rec_head_40x120x6625", OpKind::kMatMul, 40, 120, 6625},
    {"rows_8x768x768", OpKind::kMatMul, 8, 768, 768},
    {"rows_1x768x768", OpKind::kMatMul, 1, 768, 768},
    {"fc_128x768x768", OpKind::kFullyConnected, 128, 768, 768},
    {"fc_head_1x1280x1000", OpKind::kFullyConnected, 1, 1280, 1000},
};

void Run(benchmark::State& state, const Case& c, const char* kernel_name) {
  const char* threads = std::getenv("MIXQ_BENCH_THREADS");
  omp_set_num_threads(threads ? std::atoi(threads) : 1);
  const bool fc = c.op == OpKind::kFullyConnected;
  // MatMul: a [1, M, K] x b [K, N]; FullyConnected: [M, K] x weight [N, K] + bias [N].
  const ir::Shape a_shape = fc ? ir::Shape{c.m, c.k} : ir::Shape{1, c.m, c.k};
  const ir::Shape b_shape = fc ? ir::Shape{c.n, c.k} : ir::Shape{c.k, c.n};
  const ir::Shape y_shape = fc ? ir::Shape{c.m, c.n} : ir::Shape{1, c.m, c.n};
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::vector<float> a(static_cast<size_t>(c.m * c.k)), b(static_cast<size_t>(c.k * c.n)),
      bias(static_cast<size_t>(c.n)), y(static_cast<size_t>(c.m * c.n));
  for (auto& v : a) v = real(rng);
  for (auto& v : b) v = real(rng);
  for (auto& v : bias) v = real(rng);
  ir::AttrMap attrs;
  ValueInfo ai{DataType::FLOAT32, a_shape, nullptr, nullptr, false};
  ValueInfo bi{DataType::FLOAT32, b_shape, b.data(), nullptr, false};
  ValueInfo ci{DataType::FLOAT32, {c.n}, bias.data(), nullptr, false};
  std::vector<const ValueInfo*> ins = {&ai, &bi};
  if (fc) ins.push_back(&ci);
  std::vector<ValueInfo> outs = {ValueInfo{DataType::FLOAT32, y_shape, nullptr, nullptr, false}};
  KernelInit init(attrs, ins, outs);
  const KernelDef* def = FindKernel(c.op, kernel_name);
  // avx2-f32 is made even where its `supports` leaves the case to oneDNN
  // (those cases are what that rule is measured on); its factory checks the rest.
  if (!def || def->isa > kernels::BestIsa() || (std::string(kernel_name) != "avx2-f32" && !def->supports(init))) {
    state.SkipWithError("kernel not available here");
    return;
  }
  std::unique_ptr<Kernel> kernel;
  if (!def->make(init, &kernel).ok()) {
    state.SkipWithError("make failed");
    return;
  }
  std::vector<TensorView> in = {TensorView{DataType::FLOAT32, a_shape, a.data(), nullptr},
                                TensorView{DataType::FLOAT32, b_shape, b.data(), nullptr}};
  if (fc) in.push_back(TensorView{DataType::FLOAT32, {c.n}, bias.data(), nullptr});
  const std::vector<TensorView> out = {TensorView{DataType::FLOAT32, y_shape, y.data(), nullptr}};
  for (auto _ : state) {
    benchmark::DoNotOptimize(kernel->Run(in, out));
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::string(def->name) + (def->supports(init) ? "" : " (not picked)"));
  state.counters["GMAC/s"] =
      benchmark::Counter(static_cast<double>(c.m * c.k * c.n) * 1e-9 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

// A MatMul on float16 storage: a and the output FLOAT16, the weights
// float16 values (a float16 step's constants are rounded when planned).
void RunHalf(benchmark::State& state, const Case& c, const char* kernel_name) {
  const char* threads = std::getenv("MIXQ_BENCH_THREADS");
  omp_set_num_threads(threads ? std::atoi(threads) : 1);
  const ir::Shape a_shape{1, c.m, c.k}, b_shape{c.k, c.n}, y_shape{1, c.m, c.n};
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::vector<uint16_t> a(static_cast<size_t>(c.m * c.k)), y(static_cast<size_t>(c.m * c.n));
  std::vector<float> b(static_cast<size_t>(c.k * c.n));
  for (auto& v : a) v = FloatToHalf(real(rng));
  for (auto& v : b) v = HalfToFloat(FloatToHalf(real(rng)));
  ir::AttrMap attrs;
  for (const AttrSpec& spec : GetSchema(OpKind::kMatMul).attrs) attrs.Set(spec.name, spec.default_value);
  ValueInfo ai{DataType::FLOAT16, a_shape, nullptr, nullptr, true};
  ValueInfo bi{DataType::FLOAT32, b_shape, b.data(), nullptr, false};
  std::vector<const ValueInfo*> ins = {&ai, &bi};
  std::vector<ValueInfo> outs = {ValueInfo{DataType::FLOAT16, y_shape, nullptr, nullptr, true}};
  std::vector<DataType> compute = {DataType::FLOAT16, DataType::FLOAT16};
  KernelInit init(attrs, ins, outs, &compute);
  const KernelDef* def = FindKernel(c.op, kernel_name);
  std::unique_ptr<Kernel> kernel;
  if (!def || def->isa > kernels::BestIsa() || !def->supports(init) || !def->make(init, &kernel).ok()) {
    state.SkipWithError("kernel not available here");
    return;
  }
  const std::vector<TensorView> in = {TensorView{DataType::FLOAT16, a_shape, a.data(), nullptr},
                                      TensorView{DataType::FLOAT32, b_shape, b.data(), nullptr}};
  const std::vector<TensorView> out = {TensorView{DataType::FLOAT16, y_shape, y.data(), nullptr}};
  for (auto _ : state) {
    benchmark::DoNotOptimize(kernel->Run(in, out));
    benchmark::ClobberMemory();
  }
  state.SetLabel(def->name);
  state.counters["GMAC/s"] =
      benchmark::Counter(static_cast<double>(c.m * c.k * c.n) * 1e-9 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

const bool kRegistered = [] {
  for (const Case& c : kCases) {
    for (const char* name : {"avx2-f32", "onednn"})
      benchmark::RegisterBenchmark((std::string(c.name) + "/" + name).c_str(), Run, c, name);
    if (c.op == OpKind::kMatMul)
      for (const char* name : {"avx2-f16-gemm", "avx512-f16-gemm"})
        benchmark::RegisterBenchmark((std::string(c.name) + "/" + name).c_str(), RunHalf, c, name);
  }
  return true;
}();

}  // namespace
}  // namespace mixq::ops

BENCHMARK_MAIN();
