// Micro-benchmarks of the float32 activation / normalization kernels against
// their reference, on the shapes the PP-OCR and BERT models run them at:
// GELU of BERT's FFN (128 x 3072), SiLU / sigmoid / LayerNorm of PP-OCR rec,
// GlobalAvgPool of PP-OCR det, erf. Counter: elements per second.
//
//   build/bench/mixq_float_pointwise_bench [--benchmark_filter=...]
//
// One thread (OMP_NUM_THREADS=1 is set here).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <random>

#include "ops/kernel_registry.h"

namespace mixq::ops {
namespace {

struct Case {
  const char* name;
  OpKind op;
  const char* attr;  // "type" / "op" / "layout" value
  ir::Shape shape;   // the input
  ir::Shape param;   // LayerNorm scale and bias; empty otherwise
};

const Case kCases[] = {
    {"gelu_erf_bert_ffn", OpKind::kActivation, "gelu_erf", {128, 3072}, {}},
    {"gelu_tanh_bert_ffn", OpKind::kActivation, "gelu_tanh", {128, 3072}, {}},
    {"silu_ppocr_rec", OpKind::kActivation, "silu", {1, 120, 1, 40}, {}},
    {"sigmoid_ppocr_det", OpKind::kActivation, "sigmoid", {1, 1, 320, 320}, {}},
    {"tanh_64k", OpKind::kActivation, "tanh", {65536}, {}},
    {"hard_sigmoid_se", OpKind::kActivation, "hard_sigmoid", {1, 480, 1, 1}, {}},
    {"erf_bert_ffn", OpKind::kUnary, "erf", {128, 3072}, {}},
    {"layer_norm_bert", OpKind::kLayerNorm, "", {1, 128, 768}, {768}},
    {"layer_norm_ppocr_rec", OpKind::kLayerNorm, "", {1, 40, 120}, {120}},
    {"softmax_bert", OpKind::kSoftmax, "", {1, 12, 128, 128}, {}},
    {"softmax_ppocr_rec", OpKind::kSoftmax, "", {1, 40, 6625}, {}},
    {"global_avg_pool_ppocr_det", OpKind::kGlobalAvgPool, "NCHW", {1, 96, 80, 80}, {}},
};

void Run(benchmark::State& state, const Case& c, bool optimized) {
  omp_set_num_threads(1);
  ir::AttrMap attrs;
  if (c.op == OpKind::kActivation) attrs.Set("type", std::string(c.attr));
  if (c.op == OpKind::kUnary) attrs.Set("op", std::string(c.attr));
  if (c.op == OpKind::kGlobalAvgPool) attrs.Set("layout", std::string(c.attr));
  if (c.op == OpKind::kLayerNorm) {
    attrs.Set("axis", int64_t{-1});
    attrs.Set("epsilon", 1e-5f);
  }
  ValueInfo xi{DataType::FLOAT32, c.shape, nullptr, nullptr, false};
  ValueInfo pi{DataType::FLOAT32, c.param, nullptr, nullptr, false};
  ValueInfo yi = xi;
  if (c.op == OpKind::kGlobalAvgPool) yi.shape = {c.shape[0], c.shape[1], 1, 1};
  std::vector<const ValueInfo*> ins = {&xi};
  if (!c.param.empty()) ins.insert(ins.end(), {&pi, &pi});
  std::vector<ValueInfo> outs = {yi};
  KernelInit init(attrs, ins, outs);
  const KernelDef* def = &ReferenceKernel(c.op);
  if (optimized) {
    if (!SelectKernel(c.op, init, false, kernels::BestIsa(), &def).ok() || def->isa == kernels::Isa::kGeneric) {
      state.SkipWithError("no optimized kernel on this CPU");
      return;
    }
  }
  std::unique_ptr<Kernel> kernel;
  if (!def->make(init, &kernel).ok()) {
    state.SkipWithError("make failed");
    return;
  }
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> real(-4.0f, 4.0f);
  std::vector<float> x(static_cast<size_t>(ir::ElementCount(c.shape))),
      y(static_cast<size_t>(ir::ElementCount(yi.shape)));
  std::vector<float> p(static_cast<size_t>(ir::ElementCount(c.param)), 1.0f);
  for (auto& v : x) v = real(rng);
  std::vector<TensorView> in = {TensorView{DataType::FLOAT32, c.shape, x.data(), nullptr}};
  if (!c.param.empty()) in.insert(in.end(), 2, TensorView{DataType::FLOAT32, c.param, p.data(), nullptr});
  const std::vector<TensorView> out = {TensorView{DataType::FLOAT32, yi.shape, y.data(), nullptr}};
  for (auto _ : state) {
    benchmark::DoNotOptimize(kernel->Run(in, out));
    benchmark::ClobberMemory();
  }
  state.SetLabel(def->name);
  state.counters["elements/s"] = benchmark::Counter(
      static_cast<double>(x.size()) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

const bool kRegistered = [] {
  for (const Case& c : kCases) {
    benchmark::RegisterBenchmark((std::string(c.name) + "/reference").c_str(), Run, c, false);
    benchmark::RegisterBenchmark((std::string(c.name) + "/optimized").c_str(), Run, c, true);
  }
  return true;
}();

}  // namespace
}  // namespace mixq::ops

BENCHMARK_MAIN();
