// amx-bf16-pw's GEMM (ops/amx_bf16_gemm.h) on ResNet-50's 1 x 1 shapes at
// batch 1, one thread: GMAC/s. The output and a residual
// addend sweep through buffers of a ResNet-50 stage's size, so that they
// come from L2 / memory as they do between the plan's steps.
//
//   taskset -c 1 build/bench/mixq_amx_bf16_gemm_bench
//
// Arguments: pixels, input channels, output channels, with addend (0 / 1),
// output buffers in turn (1: warm, 3: cold).
// Skipped without AMX-BF16.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu_features.h"
#include "ops/amx_bf16_gemm.h"

namespace {

using namespace mixq;

// n values from a 64-byte boundary, as the plan's arena places tensors (an
// A tile's rows then never straddle two cache lines: at an offset of 16
// bytes the tile products of the 64 -> 256 layer ran 1.4x as long).
struct Aligned16 {
  explicit Aligned16(size_t n) : storage(n + 32) {}
  uint16_t* data() { return storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64 / 2; }
  std::vector<uint16_t> storage;
};

uint16_t RandomBFloat16(std::mt19937* rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const float v = u(*rng);
  uint32_t bits;
  static_assert(sizeof(bits) == sizeof(v));
  __builtin_memcpy(&bits, &v, sizeof(v));
  return static_cast<uint16_t>(bits >> 16);
}

void BM_AmxBFloat16Gemm(benchmark::State& state) {
  if (!kernels::DetectedCpuFeatures().amx_bf16) {
    state.SkipWithError("no AMX-BF16 on this CPU");
    return;
  }
  omp_set_num_threads(1);
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const bool with_addend = state.range(3) != 0;
  std::mt19937 rng(7);
  Aligned16 a(static_cast<size_t>(m * k));
  for (int64_t i = 0; i < m * k; ++i) a.data()[i] = RandomBFloat16(&rng);
  std::vector<float> filter(static_cast<size_t>(k * n)), bias(static_cast<size_t>(n), 0.25f);
  for (auto& v : filter) {
    const uint32_t bits = static_cast<uint32_t>(RandomBFloat16(&rng)) << 16;
    __builtin_memcpy(&v, &bits, sizeof(v));
  }
  std::vector<uint32_t> words(static_cast<size_t>(ops::AmxBFloat16BWords(k, n)));
  ops::PackAmxBFloat16B(
      k, n, [&](int64_t kk, int64_t nn) { return filter[static_cast<size_t>(kk * n + nn)]; }, bias.data(),
      words.data());
  const ops::AmxBFloat16B b = ops::ViewAmxBFloat16B(k, n, words.data());
  // Output / addend buffers in turn: with 3, each run's tensors are not the
  // last run's (as a stage of the plan writes new memory); with 1 they
  // stay warm.
  const int kBuffers = static_cast<int>(state.range(4));
  std::vector<Aligned16> y(kBuffers, Aligned16(static_cast<size_t>(m * n)));
  std::vector<Aligned16> addend(kBuffers, Aligned16(static_cast<size_t>(m * n)));
  for (auto& buffer : addend)
    for (int64_t i = 0; i < m * n; ++i) buffer.data()[i] = RandomBFloat16(&rng);
  ops::HalfChain chain;
  if (with_addend) {
    chain.kind[chain.count++] = ops::HalfChain::kAddTensor;
  }
  chain.kind[chain.count] = ops::HalfChain::kClamp;
  chain.lo[chain.count] = 0.0f;
  chain.hi[chain.count++] = std::numeric_limits<float>::infinity();
  std::vector<ops::AmxBFloat16Scratch> scratch;
  int turn = 0;
  for (auto _ : state) {
    ops::AmxBFloat16Out out;
    // The plan runs a residual layer in place (KernelDef::output_aliases):
    // the output takes the addend's bytes.
    out.y = with_addend ? addend[static_cast<size_t>(turn)].data() : y[static_cast<size_t>(turn)].data();
    out.ldy = n;
    out.addend = with_addend ? addend[static_cast<size_t>(turn)].data() : nullptr;
    out.ld_addend = n;
    out.chain = &chain;
    ops::AmxBFloat16Gemm(a.data(), k, m, b, out, &scratch);
    benchmark::DoNotOptimize(out.y);
    turn = (turn + 1) % kBuffers;
  }
  const double macs = static_cast<double>(m * k * n) * static_cast<double>(state.iterations());
  state.counters["GMAC/s"] = benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsRate);
}

// ResNet-50's 1 x 1 layers: 56 x 56 (64 -> 256 with and without the
// residual, 256 -> 64), 28 x 28 (128 -> 512, 512 -> 128), 14 x 14 (256 ->
// 1024), 7 x 7 (512 -> 2048).
BENCHMARK(BM_AmxBFloat16Gemm)
    ->Args({3136, 64, 256, 0, 1})
    ->Args({3136, 64, 256, 0, 3})
    ->Args({3136, 64, 256, 1, 1})
    ->Args({3136, 64, 256, 1, 3})
    ->Args({3136, 256, 64, 0, 1})
    ->Args({3136, 256, 64, 0, 3})
    ->Args({3136, 64, 64, 0, 1})
    ->Args({3136, 64, 64, 0, 3})
    ->Args({784, 128, 512, 1, 1})
    ->Args({784, 128, 512, 1, 3})
    ->Args({784, 512, 128, 0, 1})
    ->Args({784, 512, 128, 0, 3})
    ->Args({196, 256, 1024, 1, 1})
    ->Args({196, 256, 1024, 1, 3})
    ->Args({49, 512, 2048, 1, 1})
    ->Args({49, 512, 2048, 1, 3})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
