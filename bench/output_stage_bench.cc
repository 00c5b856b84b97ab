// Micro-benchmark of the int16 float-chain output stage: PP-OCRv4's
// hard_swish, * a, + b and the Quantize to INT16 applied to exact double
// sums (ops/int8_output_stage.h, DequantizeQuantizeRowsF64ToInt16Avx512, the
// form the qint16 AMX and depthwise convolutions hand their sums to), for a
// block of 16 channels of `n` outputs each.
// Counter: ns per output. Sums drawn so that the chain's inputs (about
// N(0, 1.5)) span the hard_swish knee and most codes lie within a few
// thousand of 0, the INT16 range reaching 30: about the share of vectors the
// shortcut sends to the exact steps that PP-OCRv4 rec's layers show (it
// grows with the codes' size, int8_output_stage_avx512.cc says why).
//
//   build/bench/mixq_output_stage_bench [--benchmark_filter=...]
//
// One thread (the stage runs per job inside a convolution's threads).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu_features.h"
#include "ops/int8_output_stage.h"

namespace mixq::ops {
namespace {

constexpr int64_t kRows = 16;

struct Data {
  std::vector<double> sums;
  std::vector<ChannelStage> stages;
  std::vector<StagePostOp> post_ops;
  std::vector<int16_t> out;
  float scale = 0.0f;
};

Data MakeData(int64_t n) {
  Data d;
  std::mt19937 rng(3);
  std::normal_distribution<double> sum(0.0, 8.8e5);
  d.sums.resize(static_cast<size_t>(kRows * n));
  for (auto& s : d.sums) s = std::nearbyint(sum(rng));
  for (int64_t r = 0; r < kRows; ++r)
    d.stages.push_back({static_cast<int32_t>(r * 97 - 700), 0.01f * static_cast<float>(r), 1.7e-6f});
  // hard_swish, * 0.92, + 0.05 (PP-OCRv4's affine after each hard_swish), then the Quantize.
  d.post_ops = {{StagePostOp::Kind::kHardSwish, 0, 0, -1},
                {StagePostOp::Kind::kMul, 0.92f, 0, -1},
                {StagePostOp::Kind::kAddScalar, 0.05f, 0, -1}};
  d.scale = 30.0f / 32767.0f;
  d.out.resize(static_cast<size_t>(kRows * n));
  return d;
}

void BM_HardSwishChainToInt16(benchmark::State& state) {
  if (kernels::BestIsa() < kernels::Isa::kAvx512) return state.SkipWithError("needs AVX-512");
  const int64_t n = state.range(0);
  Data d = MakeData(n);
  const HardSwishShortcut shortcut = HardSwishInt16ShortcutFor(d.post_ops, d.scale, 0);
  if (!shortcut.applies) return state.SkipWithError("the shortcut does not apply");
  for (auto _ : state) {
    DequantizeQuantizeRowsF64ToInt16Avx512(d.sums.data(), n, kRows, n, d.stages.data(), d.post_ops, d.scale,
                                           d.out.data(), n, shortcut);
    benchmark::DoNotOptimize(d.out.data());
  }
  state.counters["ns/output"] = benchmark::Counter(
      static_cast<double>(kRows * n), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_HardSwishChainToInt16)->Arg(64)->Arg(256)->Arg(960)->Arg(1920);

}  // namespace
}  // namespace mixq::ops

int main(int argc, char** argv) {
  omp_set_num_threads(1);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
