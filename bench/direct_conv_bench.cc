// Micro-benchmarks of the direct NHWC convolution kernels
// (ops/conv2d/cpu_direct_nhwc.cc) against oneDNN on the same channels-last
// tensors: the README demo's layers (networks built channels-last through
// the API) and a grid of channel counts that sets the kernels' limits.
// Rows per case and kernel:
//   onednn / avx2-f32-direct / avx512-f32-direct       float32 in and out
//   onednn-f16 / avx2-f16-direct / avx512-f16-direct   float16 storage in and out
// Counter: GMAC/s (multiply-adds of the convolution per second).
//
//   build/bench/mixq_direct_conv_bench [--benchmark_filter=...]
//
// One thread (OMP_NUM_THREADS=1 is set here); post-op ReLU, as the demo's.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <random>
#include <string>

#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

struct Shape {
  const char* name;
  int64_t n, h, w, ic, oc, k, stride;
};

const Shape kShapes[] = {
    {"demo_stem_3_8", 4, 16, 16, 3, 8, 3, 1},     {"demo_8_8", 4, 16, 16, 8, 8, 3, 1},
    {"demo_8_16_s2", 4, 16, 16, 8, 16, 3, 2},     {"demo_16_16", 4, 8, 8, 16, 16, 3, 1},
    {"demo_1x1_8_16_s2", 4, 16, 16, 8, 16, 1, 2}, {"56_16_16", 1, 56, 56, 16, 16, 3, 1},
    {"56_16_32", 1, 56, 56, 16, 32, 3, 1},        {"56_32_32", 1, 56, 56, 32, 32, 3, 1},
    {"56_32_64", 1, 56, 56, 32, 64, 3, 1},        {"56_64_64", 1, 56, 56, 64, 64, 3, 1},
    {"28_64_48", 1, 28, 28, 64, 48, 3, 1},        {"112_3_32_s2", 1, 224, 224, 3, 32, 3, 2},
    {"56_32_32_1x1", 1, 56, 56, 32, 32, 1, 1},    {"56_16_8", 1, 56, 56, 16, 8, 3, 1},
    {"112_8_8", 1, 112, 112, 8, 8, 3, 1},         {"28_32_24", 1, 28, 28, 32, 24, 3, 1},
    {"14_32_32", 1, 14, 14, 32, 32, 3, 1},        {"56_64_64_1x1", 1, 56, 56, 64, 64, 1, 1},
};

void Run(benchmark::State& state, const Shape& s, const char* kernel_name) {
  omp_set_num_threads(1);
  const KernelDef* def = FindKernel(OpKind::kConv2D, kernel_name);
  if (!def || def->isa > kernels::BestIsa()) {
    state.SkipWithError("kernel not on this CPU");
    return;
  }
  const bool half = std::string(kernel_name).find("f16") != std::string::npos;
  const int64_t pad = s.k / 2;
  const int64_t oh = (s.h + 2 * pad - s.k) / s.stride + 1, ow = (s.w + 2 * pad - s.k) / s.stride + 1;
  ir::AttrMap attrs;
  for (const AttrSpec& spec : GetSchema(OpKind::kConv2D).attrs) attrs.Set(spec.name, spec.default_value);
  attrs.Set("input_layout", std::string("NHWC"));
  attrs.Set("output_layout", std::string("NHWC"));
  attrs.Set("filter_layout", std::string("OHWI"));
  attrs.Set("strides", std::vector<int64_t>{s.stride, s.stride});
  attrs.Set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::vector<float> filter(static_cast<size_t>(s.oc * s.k * s.k * s.ic)), bias(static_cast<size_t>(s.oc));
  for (auto& v : filter) v = real(rng);
  for (auto& v : bias) v = real(rng);
  const ir::Shape xs{s.n, s.h, s.w, s.ic}, ws{s.oc, s.k, s.k, s.ic}, ys{s.n, oh, ow, s.oc};
  const DataType type = half ? DataType::FLOAT16 : DataType::FLOAT32;
  ValueInfo xi{type, xs, nullptr, nullptr, half};
  ValueInfo wi{DataType::FLOAT32, ws, filter.data(), nullptr, false};
  ValueInfo bi{DataType::FLOAT32, {s.oc}, bias.data(), nullptr, false};
  std::vector<ValueInfo> yi = {ValueInfo{type, ys, nullptr, nullptr, half}};
  std::vector<DataType> compute = {type, DataType::FLOAT32, DataType::FLOAT32};
  std::vector<PostOp> post(1);
  post[0].activation = "relu";
  std::vector<const ValueInfo*> ins = {&xi, &wi, &bi};
  KernelInit init(attrs, ins, yi, &compute, &post);
  if (!def->supports(init)) {
    state.SkipWithError("kernel declines the shape");
    return;
  }
  std::unique_ptr<Kernel> kernel;
  if (!def->make(init, &kernel).ok()) {
    state.SkipWithError("make failed");
    return;
  }
  const size_t in_n = static_cast<size_t>(s.n * s.h * s.w * s.ic), out_n = static_cast<size_t>(s.n * oh * ow * s.oc);
  std::vector<float> x32(in_n), y32(out_n);
  std::vector<uint16_t> x16(in_n), y16(out_n);
  for (size_t i = 0; i < in_n; ++i) {
    x32[i] = real(rng);
    x16[i] = FloatToHalf(x32[i]);
  }
  const std::vector<TensorView> in = {{type, xs, half ? static_cast<void*>(x16.data()) : x32.data(), nullptr},
                                      {DataType::FLOAT32, ws, filter.data(), nullptr},
                                      {DataType::FLOAT32, {s.oc}, bias.data(), nullptr}};
  const std::vector<TensorView> out = {{type, ys, half ? static_cast<void*>(y16.data()) : y32.data(), nullptr}};
  for (auto _ : state) {
    if (!kernel->Run(in, out).ok()) {
      state.SkipWithError("run failed");
      return;
    }
    benchmark::ClobberMemory();
  }
  const double macs = static_cast<double>(out_n) * static_cast<double>(s.k * s.k * s.ic);
  state.counters["GMACs"] = benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

const bool kRegistered = [] {
  for (const Shape& s : kShapes)
    for (const char* k :
         {"onednn", "avx2-f32-direct", "avx512-f32-direct", "onednn-f16", "avx2-f16-direct", "avx512-f16-direct"})
      benchmark::RegisterBenchmark((std::string(s.name) + "/" + k).c_str(), [&s, k](benchmark::State& st) {
        Run(st, s, k);
      })->Unit(benchmark::kMicrosecond);
  return true;
}();

}  // namespace
}  // namespace mixq::ops

BENCHMARK_MAIN();
