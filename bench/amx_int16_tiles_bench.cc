// How close the qint16 AMX GEMM (kernels/int16_gemm_amx.h) comes to the
// tiles' rate, and what holds it back (round 2 stop 46). Each benchmark
// reports ns per tile product (TDP*, 16 x 16 x 64 byte products) and
// `tdp_rate`: the share of one TDP per 16 cycles at the measured TSC rate.
//
//   build/bench/mixq_amx_int16_tiles_bench
//
// - gemm_int16_split/K/blocks/panels: the real kernel (GemmInt16SplitTileAmxToDouble)
//   on PP-OCRv4 rec-like shapes (K = 240: four 64-tap chunks per 16 x 16
//   output tile, 4 TDPs each; A = the weights' blocks of 16 rows, B = 4
//   panels of 16 pixels, as the convolution calls it).
// - probe_*: the kernel's tile pattern with parts removed: TDPs alone
//   (operands never reloaded), loads and TDPs without the sums' store and
//   combine, and the full pattern with 4 independent accumulators or a
//   2 x 2 int8-style blocking. Skipped without AMX.
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <x86intrin.h>

#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/int16_gemm_amx.h"
#include "kernels/u8s8_gemm_amx.h"

namespace {

using namespace mixq;

#define MIXQ_AMX_BENCH __attribute__((target("amx-tile,amx-int8,avx512f")))

double TscPerNs() {
  static const double rate = [] {
    const auto t0 = std::chrono::steady_clock::now();
    const uint64_t c0 = __rdtsc();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const uint64_t c1 = __rdtsc();
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    return static_cast<double>(c1 - c0) / ns;
  }();
  return rate;
}

// The loop's wall time over its tile products: ns per TDP, and the share
// of one TDP per 16 TSC cycles (the tiles' issue rate at the TSC clock).
template <typename Body>
void TimeTdps(benchmark::State& state, double tdps_per_iteration, const Body& body) {
  double ns = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    ns += std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  }
  const double per_tdp = ns / (tdps_per_iteration * static_cast<double>(state.iterations()));
  state.counters["ns_per_tdp"] = per_tdp;
  state.counters["tdp_rate"] = 16.0 / (per_tdp * TscPerNs());
}

void BM_GemmInt16Split(benchmark::State& state) {
  if (kernels::BestIsa() < kernels::Isa::kAmx) return state.SkipWithError("no AMX");
  const int64_t k = state.range(0), blocks = state.range(1), panels = state.range(2), m = blocks * 16;
  std::vector<int16_t> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * panels * 16));
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<int16_t>(i * 7919u);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<int16_t>(i * 104729u);
  kernels::PackedAmxInt16A packed;
  kernels::PackAmxInt16ARows(a.data(), k, m, k, false, &packed);
  const int64_t quads = (k + 3) / 4;
  std::vector<uint8_t> hi(static_cast<size_t>(panels * quads * 64 + kernels::kAmxPanelSlack)), lo(hi.size());
  kernels::PackSplitInt16RowsAmx(b.data(), panels * 16, k, panels * 16, hi.data(), lo.data());
  std::vector<double> c(static_cast<size_t>(m * panels * 16));
  TimeTdps(state, 4.0 * static_cast<double>(blocks * panels * ((k + 63) / 64)), [&] {
    kernels::GemmInt16SplitTileAmxToDouble(packed, 0, blocks, hi.data(), lo.data(), panels, c.data(), panels * 16);
    benchmark::DoNotOptimize(c.data());
  });
}
BENCHMARK(BM_GemmInt16Split)->Name("gemm_int16_split")->Args({240, 15, 4})->Args({64, 4, 4})->Args({480, 30, 4});

constexpr int kTile = 1024;
alignas(64) int32_t g_sums[4][256];

// The kernel's pattern on blocks x panels output tiles of `chunks` 64-tap
// chunks. kLoads: reload the four operand tiles per chunk; kStore: store
// the sums per output tile; kFour: four independent accumulators (the
// middle sum split in two) instead of three; kTwoByTwo: TDPBSSD on two A
// and two B tiles into four accumulators (amx-int8's blocking).
template <bool kLoads, bool kStore, bool kFour, bool kTwoByTwo, bool kSigned>
MIXQ_AMX_BENCH void Probe(const int8_t* ah, const int8_t* al, const int8_t* bh, const int8_t* bl, int blocks,
                          int panels, int chunks) {
  for (int blk = 0; blk < blocks; ++blk)
    for (int p = 0; p < panels; ++p) {
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      if (kFour || kTwoByTwo) _tile_zero(3);
      for (int k = 0; k < chunks; ++k) {
        if (kLoads) {
          const int64_t at = static_cast<int64_t>(blk * chunks + k) * kTile,
                        bt = static_cast<int64_t>(p * chunks + k) * kTile;
          _tile_loadd(4, ah + at, 64);
          _tile_loadd(5, al + at, 64);
          _tile_loadd(6, bh + bt, 64);
          _tile_loadd(7, bl + bt, 64);
        }
        if (kTwoByTwo && kSigned) {
          _tile_dpbssd(0, 4, 6);
          _tile_dpbssd(1, 4, 7);
          _tile_dpbssd(2, 5, 6);
          _tile_dpbssd(3, 5, 7);
        } else if (kTwoByTwo) {
          _tile_dpbssd(0, 4, 6);
          _tile_dpbsud(1, 4, 7);
          _tile_dpbusd(2, 5, 6);
          _tile_dpbuud(3, 5, 7);
        } else if (kSigned) {
          _tile_dpbssd(0, 4, 6);
          _tile_dpbssd(1, 4, 7);
          if (kFour)  // the tile number is part of the instruction
            _tile_dpbssd(3, 5, 6);
          else
            _tile_dpbssd(1, 5, 6);
          _tile_dpbssd(2, 5, 7);
        } else {
          _tile_dpbssd(0, 4, 6);
          _tile_dpbsud(1, 4, 7);
          if (kFour)
            _tile_dpbusd(3, 5, 6);
          else
            _tile_dpbusd(1, 5, 6);
          _tile_dpbuud(2, 5, 7);
        }
      }
      if (kStore) {
        _tile_stored(0, g_sums[0], 64);
        _tile_stored(1, g_sums[1], 64);
        _tile_stored(2, g_sums[2], 64);
        if (kFour || kTwoByTwo) _tile_stored(3, g_sums[3], 64);
      }
    }
}

MIXQ_AMX_BENCH void LoadOperands(const int8_t* ah, const int8_t* al, const int8_t* bh, const int8_t* bl) {
  _tile_loadd(4, ah, 64);
  _tile_loadd(5, al, 64);
  _tile_loadd(6, bh, 64);
  _tile_loadd(7, bl, 64);
}

template <bool kLoads, bool kStore, bool kFour, bool kTwoByTwo, bool kSigned = false>
void BM_Probe(benchmark::State& state) {
  if (kernels::BestIsa() < kernels::Isa::kAmx) return state.SkipWithError("no AMX");
  const int blocks = 15, panels = 4, chunks = 4;
  std::vector<int8_t> ah(blocks * chunks * kTile, 1), al(ah.size(), 2), bh(panels * chunks * kTile, 3),
      bl(bh.size(), 4);
  kernels::ConfigureAmxTiles();
  LoadOperands(ah.data(), al.data(), bh.data(), bl.data());  // what probe_tdp_only multiplies
  TimeTdps(state, 4.0 * blocks * panels * chunks, [&] {
    Probe<kLoads, kStore, kFour, kTwoByTwo, kSigned>(ah.data(), al.data(), bh.data(), bl.data(), blocks, panels,
                                                     chunks);
  });
}
BENCHMARK(BM_Probe<false, true, false, false>)->Name("probe_tdp_only");
BENCHMARK(BM_Probe<true, false, false, false>)->Name("probe_loads_no_store");
BENCHMARK(BM_Probe<true, true, false, false>)->Name("probe_loads_store");
BENCHMARK(BM_Probe<true, true, true, false>)->Name("probe_four_accumulators");
BENCHMARK(BM_Probe<true, true, false, true>)->Name("probe_two_by_two");
BENCHMARK(BM_Probe<true, true, false, true, true>)->Name("probe_two_by_two_signed");
BENCHMARK(BM_Probe<true, true, false, false, true>)->Name("probe_loads_store_signed");
BENCHMARK(BM_Probe<true, true, true, false, true>)->Name("probe_four_accumulators_signed");

}  // namespace

BENCHMARK_MAIN();
