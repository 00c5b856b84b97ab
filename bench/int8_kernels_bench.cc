// Micro-benchmarks of the int8 Conv2D kernels on ResNet-50 / MobileNetV2
// layer shapes, against oneDNN's float32 convolution on the same shape and
// the int8 peak of this CPU (a register-only vpmaddwd loop). Counters:
// GMAC/s (multiply-accumulates of the convolution itself, per second) and
// peak_share (of the measured vpmaddwd peak, one thread); for the AVX-512
// VNNI and AMX kernels also own_peak_share (of the measured vpdpbusd or
// TDPBUSD peak).
//
//   build/bench/mixq_int8_kernels_bench [--benchmark_filter=...]
//
// One thread (OMP_NUM_THREADS=1 is set here): kernels are compared per core.
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "kernels/cpu_features.h"
#include "kernels/u8s8_gemm.h"
#include "ops/kernel_registry.h"

namespace mixq::ops {
namespace {

struct ConvShape {
  const char* name;
  int64_t cin, h, w, cout, k, stride, group;
};

constexpr ConvShape kShapes[] = {
    {"r50_stem_7x7s2", 3, 224, 224, 64, 7, 2, 1},      {"mb2_stem_3x3s2", 3, 224, 224, 32, 3, 2, 1},
    {"r50_3x3_64", 64, 56, 56, 64, 3, 1, 1},           {"r50_1x1_256to64", 256, 56, 56, 64, 1, 1, 1},
    {"r50_1x1_64to256", 64, 56, 56, 256, 1, 1, 1},     {"r50_3x3_512_7x7", 512, 7, 7, 512, 3, 1, 1},
    {"mb2_dw3x3_32_112", 32, 112, 112, 32, 3, 1, 32},  {"mb2_dw3x3s2_96_112", 96, 112, 112, 96, 3, 2, 96},
    {"mb2_dw3x3_144_56", 144, 56, 56, 144, 3, 1, 144}, {"mb2_dw3x3_192_28", 192, 28, 28, 192, 3, 1, 192},
    {"mb2_dw3x3_384_14", 384, 14, 14, 384, 3, 1, 384}, {"mb2_dw3x3_960_7", 960, 7, 7, 960, 3, 1, 960},
    {"mb2_1x1_16to96_112", 16, 112, 112, 96, 1, 1, 1}, {"mb2_1x1_32to16_112", 32, 112, 112, 16, 1, 1, 1},
    {"mb2_1x1_24to144_56", 24, 56, 56, 144, 1, 1, 1},  {"mb2_1x1_320to1280_7", 320, 7, 7, 1280, 1, 1, 1},
    {"det_3x3_96to24_80", 96, 80, 80, 24, 3, 1, 1},    {"rec_dw5x5_240_12x80", 240, 12, 80, 240, 5, 1, 240},
};

// Everything a conv kernel needs, kept alive for the benchmark's duration.
struct ConvSetup {
  ir::AttrMap attrs;
  ir::QuantBinding xq, wq, yq;
  std::vector<int8_t> x, w;
  std::vector<float> xf, wf, bias;
  std::vector<uint8_t> y;
  ValueInfo xi, wi, bi;
  std::vector<ValueInfo> outs;
  std::vector<const ValueInfo*> ins;
  std::vector<DataType> compute;
  int64_t oh = 0, ow = 0;
  double macs = 0;
};

// The int8 weights: kSevenBit uniform in [-64, 63]; kTrained 8-bit as a
// trained network's per-channel codes (normal, each channel's largest |w| at
// 127), where avx2-int8-u8s8 splits the few pairs past vpmaddubsw's bound.
enum class Weights { kSevenBit, kTrained };

void Setup(const ConvShape& s, bool int8, ConvSetup* c, Weights weights = Weights::kSevenBit) {
  const int64_t pad = s.k / 2;
  c->oh = (s.h + 2 * pad - s.k) / s.stride + 1;
  c->ow = (s.w + 2 * pad - s.k) / s.stride + 1;
  c->macs = static_cast<double>(s.cout * c->oh * c->ow * (s.cin / s.group) * s.k * s.k);
  c->attrs.Set("strides", std::vector<int64_t>{s.stride, s.stride});
  c->attrs.Set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  c->attrs.Set("group", s.group);
  c->attrs.Set("padding_mode", std::string("EXPLICIT"));
  c->attrs.Set("dilations", std::vector<int64_t>{1, 1});
  c->attrs.Set("input_layout", std::string("NCHW"));
  c->attrs.Set("output_layout", std::string("NCHW"));
  c->attrs.Set("filter_layout", std::string("OIHW"));
  const ir::Shape x_shape = {1, s.cin, s.h, s.w}, w_shape = {s.cout, s.cin / s.group, s.k, s.k};
  const ir::Shape y_shape = {1, s.cout, c->oh, c->ow};
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> code(-128, 127);
  c->x.resize(static_cast<size_t>(ir::ElementCount(x_shape)));
  c->w.resize(static_cast<size_t>(ir::ElementCount(w_shape)));
  for (auto& v : c->x) v = static_cast<int8_t>(code(rng));
  for (auto& v : c->w) v = static_cast<int8_t>(code(rng) / 2);
  if (weights == Weights::kTrained) {
    std::normal_distribution<double> normal(0.0, 1.0);
    const size_t per_channel = c->w.size() / static_cast<size_t>(s.cout);
    std::vector<double> v(per_channel);
    for (int64_t o = 0; o < s.cout; ++o) {
      double amax = 1e-9;
      for (auto& e : v) amax = std::max(amax, std::abs(e = normal(rng)));
      for (size_t i = 0; i < per_channel; ++i)
        c->w[static_cast<size_t>(o) * per_channel + i] = static_cast<int8_t>(std::lround(v[i] / amax * 127.0));
    }
  }
  c->xf.assign(c->x.begin(), c->x.end());
  c->wf.assign(c->w.begin(), c->w.end());
  c->bias.assign(static_cast<size_t>(s.cout), 0.5f);
  c->xq.scales = {0.02f};
  c->xq.zero_points = {-3};
  c->wq.axis = 0;
  c->wq.scales.assign(static_cast<size_t>(s.cout), 0.01f);
  c->wq.zero_points.assign(static_cast<size_t>(s.cout), 0);
  c->yq.scales = {0.1f};
  c->yq.zero_points = {0};
  if (int8) {
    c->xi = ValueInfo{DataType::INT8, x_shape, nullptr, &c->xq, true};
    c->wi = ValueInfo{DataType::INT8, w_shape, c->w.data(), &c->wq, false};
    c->outs = {ValueInfo{DataType::INT8, y_shape, nullptr, &c->yq, true}};
    c->compute = {DataType::QINT8, DataType::QINT8, DataType::FLOAT32};
  } else {
    c->xi = ValueInfo{DataType::FLOAT32, x_shape, nullptr, nullptr, false};
    c->wi = ValueInfo{DataType::FLOAT32, w_shape, c->wf.data(), nullptr, false};
    c->outs = {ValueInfo{DataType::FLOAT32, y_shape, nullptr, nullptr, false}};
    c->compute = {DataType::FLOAT32, DataType::FLOAT32, DataType::FLOAT32};
  }
  c->bi = ValueInfo{DataType::FLOAT32, {s.cout}, c->bias.data(), nullptr, false};
  c->ins = {&c->xi, &c->wi, &c->bi};
  c->y.resize(static_cast<size_t>(ir::ElementCount(y_shape)) * DataTypeSize(c->outs[0].dtype));
}

// The measured int8 (vpmaddwd) peak of one core, in GMAC/s: 12 independent
// multiply-add chains on registers, 16 MACs per vpmaddwd (+ vpaddd).
__attribute__((target("avx2"))) double MeasurePeakGmacs() {
  if (!kernels::DetectedCpuFeatures().avx2) return 0;
  __m256i acc[12], a = _mm256_set1_epi16(3), b = _mm256_set1_epi16(5);
  for (auto& v : acc) v = _mm256_setzero_si256();
  const int64_t iterations = 20'000'000;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iterations; ++i) {
    for (auto& v : acc) v = _mm256_add_epi32(v, _mm256_madd_epi16(a, b));
    asm volatile("" : "+x"(a), "+x"(b));  // keeps the loop from being folded, adds no dependency
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int32_t sink[8];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(sink), acc[11]);
  benchmark::DoNotOptimize(sink);
  return static_cast<double>(iterations) * 12 * 16 / seconds / 1e9;
}

// The same with vpmaddubsw (32 u8 x s8 MACs) + vpmaddwd by ones + vpaddd:
// the rate avx2-int8-u8s8's inner loop can reach.
__attribute__((target("avx2"))) double MeasureU8S8PeakGmacs() {
  if (!kernels::DetectedCpuFeatures().avx2) return 0;
  __m256i acc[12], a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(5);
  const __m256i ones = _mm256_set1_epi16(1);
  for (auto& v : acc) v = _mm256_setzero_si256();
  const int64_t iterations = 20'000'000;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iterations; ++i) {
    for (auto& v : acc) v = _mm256_add_epi32(v, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
    asm volatile("" : "+x"(a), "+x"(b));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int32_t sink[8];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(sink), acc[11]);
  benchmark::DoNotOptimize(sink);
  return static_cast<double>(iterations) * 12 * 32 / seconds / 1e9;
}

// vpdpbusd on zmm (64 u8 x s8 MACs per instruction, 12 independent
// chains): the rate avx512vnni-int8's inner loop can reach.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) double MeasureVnniPeakGmacs() {
  if (kernels::BestIsa() < kernels::Isa::kAvx512Vnni) return 0;
  __m512i acc[12], a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(5);
  for (auto& v : acc) v = _mm512_setzero_si512();
  const int64_t iterations = 20'000'000;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iterations; ++i) {
    for (auto& v : acc) v = _mm512_dpbusd_epi32(v, a, b);
    asm volatile("" : "+v"(a), "+v"(b));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int32_t sink[16];
  _mm512_storeu_si512(sink, acc[11]);
  benchmark::DoNotOptimize(sink);
  return static_cast<double>(iterations) * 12 * 64 / seconds / 1e9;
}

// TDPBUSD on four independent 16 x 16 int32 tiles (16 x 16 x 64 = 16,384
// MACs each), operands in tiles: the rate amx-int8's tiles can reach.
__attribute__((target("amx-tile,amx-int8"))) double MeasureAmxPeakGmacs() {
  if (kernels::BestIsa() < kernels::Isa::kAmx) return 0;
  struct alignas(64) {
    uint8_t palette = 1, start_row = 0, reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
  } config;
  for (int t = 0; t < 8; ++t) {
    config.colsb[t] = 64;
    config.rows[t] = 16;
  }
  _tile_loadconfig(&config);
  alignas(64) static uint8_t data[1024] = {};
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, data, 64);
  _tile_loadd(5, data, 64);
  _tile_loadd(6, data, 64);
  _tile_loadd(7, data, 64);
  const int64_t iterations = 2'000'000;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iterations; ++i) {
    _tile_dpbusd(0, 4, 6);
    _tile_dpbusd(1, 4, 7);
    _tile_dpbusd(2, 5, 6);
    _tile_dpbusd(3, 5, 7);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  alignas(64) static int32_t sink[256];
  _tile_stored(3, sink, 64);
  _tile_release();
  benchmark::DoNotOptimize(sink);
  return static_cast<double>(iterations) * 4 * 16384 / seconds / 1e9;
}

void BM_VnniPeak(benchmark::State& state) {
  double best = 0;
  for (auto _ : state)
    for (int i = 0; i < 5; ++i) best = std::max(best, MeasureVnniPeakGmacs());
  state.counters["GMAC/s"] = best;
}

void BM_AmxPeak(benchmark::State& state) {
  double best = 0;
  for (auto _ : state)
    for (int i = 0; i < 5; ++i) best = std::max(best, MeasureAmxPeakGmacs());
  state.counters["GMAC/s"] = best;
}

void BM_U8S8Peak(benchmark::State& state) {
  double best = 0;
  for (auto _ : state)
    for (int i = 0; i < 5; ++i) best = std::max(best, MeasureU8S8PeakGmacs());
  state.counters["GMAC/s"] = best;
}

// The best of five: a shared machine only ever makes the loop slower.
double PeakGmacs() {
  static const double peak = [] {
    double best = 0;
    for (int i = 0; i < 5; ++i) best = std::max(best, MeasurePeakGmacs());
    return best;
  }();
  return peak;
}

void BM_Int16Peak(benchmark::State& state) {
  for (auto _ : state) state.counters["GMAC/s"] = PeakGmacs();
}

// channels_last: the activations stored NHWC (MemoryLayout::kChannelsLast),
// as the plan keeps them between onednn-int8 steps; else plain NCHW.
void BM_ConvInLayout(benchmark::State& state, const ConvShape& shape, const char* kernel_name, bool int8,
                     Weights weights, bool channels_last) {
  omp_set_num_threads(1);
  ConvSetup c;
  Setup(shape, int8, &c, weights);
  if (channels_last) {
    c.xi.layout = MemoryLayout::kChannelsLast;
    c.outs[0].layout = MemoryLayout::kChannelsLast;
  }
  const KernelDef* def = FindKernel(OpKind::kConv2D, kernel_name);
  if (!def) {
    state.SkipWithError("kernel not registered");
    return;
  }
  if (def->isa > kernels::BestIsa()) {
    state.SkipWithError("this CPU cannot run the kernel");
    return;
  }
  KernelInit init(c.attrs, c.ins, c.outs, &c.compute);
  if (!def->supports(init)) {
    state.SkipWithError("kernel does not take this case");
    return;
  }
  std::unique_ptr<Kernel> kernel;
  if (!def->make(init, &kernel).ok()) {
    state.SkipWithError("make failed");
    return;
  }
  RunQuant xr{0.02f, -3}, yr{0.1f, 0};
  const std::vector<TensorView> in = {
      TensorView{c.xi.dtype, c.xi.shape, int8 ? static_cast<void*>(c.x.data()) : c.xf.data(), int8 ? &xr : nullptr},
      TensorView{c.wi.dtype, c.wi.shape, const_cast<void*>(c.wi.const_data), nullptr},
      TensorView{DataType::FLOAT32, {shape.cout}, c.bias.data(), nullptr}};
  const std::vector<TensorView> out = {TensorView{c.outs[0].dtype, c.outs[0].shape, c.y.data(), int8 ? &yr : nullptr}};
  for (auto _ : state) benchmark::DoNotOptimize(kernel->Run(in, out));
  state.counters["GMAC/s"] = benchmark::Counter(c.macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_share"] =
      benchmark::Counter(c.macs * 1e-9 / std::max(PeakGmacs(), 1e-9), benchmark::Counter::kIsIterationInvariantRate);
  // VNNI / AMX kernels: the share of their own instruction's peak too.
  if (def->isa == kernels::Isa::kAvx512Vnni || def->isa == kernels::Isa::kAmx) {
    static const double vnni_peak = MeasureVnniPeakGmacs(), amx_peak = MeasureAmxPeakGmacs();
    const double own = def->isa == kernels::Isa::kAmx ? amx_peak : vnni_peak;
    state.counters["own_peak_share"] =
        benchmark::Counter(c.macs * 1e-9 / std::max(own, 1e-9), benchmark::Counter::kIsIterationInvariantRate);
  }
  if (int8 && shape.group == 1) {  // the share of (row, quad)s avx2-int8-u8s8 splits
    const std::vector<int16_t> a(c.w.begin(), c.w.end());
    const int64_t depth = static_cast<int64_t>(c.w.size()) / shape.cout;
    state.counters["split"] = kernels::U8S8SplitShare(a.data(), shape.cout, depth, depth);
    kernels::PackedS8A packed;
    std::vector<int64_t> rows;
    kernels::PackS8ASortedRows(a.data(), shape.cout, depth, depth, &packed, &rows);  // as the kernel packs
    state.counters["rest_steps"] = kernels::U8S8RestStepShare(packed);               // remainder steps per dense step
  }
}

void BM_Conv(benchmark::State& state, const ConvShape& shape, const char* kernel_name, bool int8, Weights weights) {
  BM_ConvInLayout(state, shape, kernel_name, int8, weights, false);
}

void RegisterAll() {
  benchmark::RegisterBenchmark("int16_peak", BM_Int16Peak)->Iterations(1)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("u8s8_peak", BM_U8S8Peak)->Iterations(1)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("vnni_peak", BM_VnniPeak)->Iterations(1)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("amx_peak", BM_AmxPeak)->Iterations(1)->Unit(benchmark::kMillisecond);
  for (const ConvShape& s : kShapes) {
    const bool depthwise = s.group > 1;
    benchmark::RegisterBenchmark((std::string(s.name) + "/int8_" + (depthwise ? "avx2-int8-dw" : "avx2-int8")).c_str(),
                                 BM_Conv, s, depthwise ? "avx2-int8-dw" : "avx2-int8", true, Weights::kSevenBit)
        ->Unit(benchmark::kMillisecond);
    if (depthwise) {
      benchmark::RegisterBenchmark((std::string(s.name) + "/int8_avx2-int8-dw8c").c_str(), BM_Conv, s, "avx2-int8-dw8c",
                                   true, Weights::kSevenBit)
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark((std::string(s.name) + "/int8_avx512vnni-int8-dw").c_str(), BM_Conv, s,
                                   "avx512vnni-int8-dw", true, Weights::kSevenBit)
          ->Unit(benchmark::kMillisecond);
    }
    // oneDNN's int8 convolution: on NCHW tensors (reordered in and out) and on NHWC ones.
    benchmark::RegisterBenchmark((std::string(s.name) + "/int8_trained_onednn-int8").c_str(), BM_ConvInLayout, s,
                                 "onednn-int8", true, Weights::kTrained, false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string(s.name) + "/int8_trained_onednn-int8_nhwc").c_str(), BM_ConvInLayout, s,
                                 "onednn-int8", true, Weights::kTrained, true)
        ->Unit(benchmark::kMillisecond);
    // The weights here are in [-64, 63]: the 7-bit-weight kernel takes them.
    if (!depthwise) {
      benchmark::RegisterBenchmark((std::string(s.name) + "/int8_avx2-int8-u8s8").c_str(), BM_Conv, s, "avx2-int8-u8s8",
                                   true, Weights::kSevenBit)
          ->Unit(benchmark::kMillisecond);
      // 8-bit weights as trained: the exact int16 path against the split u8s8 one.
      benchmark::RegisterBenchmark((std::string(s.name) + "/int8_trained_avx2-int8").c_str(), BM_Conv, s, "avx2-int8",
                                   true, Weights::kTrained)
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark((std::string(s.name) + "/int8_trained_avx2-int8-u8s8").c_str(), BM_Conv, s,
                                   "avx2-int8-u8s8", true, Weights::kTrained)
          ->Unit(benchmark::kMillisecond);
      // The AVX-512 VNNI and AMX forms (skipped where the CPU lacks them).
      for (const char* name : {"avx512vnni-int8", "amx-int8"})
        benchmark::RegisterBenchmark((std::string(s.name) + "/int8_trained_" + name).c_str(), BM_Conv, s, name, true,
                                     Weights::kTrained)
            ->Unit(benchmark::kMillisecond);
    }
    benchmark::RegisterBenchmark((std::string(s.name) + "/f32_onednn").c_str(), BM_Conv, s, "onednn", false,
                                 Weights::kSevenBit)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace
}  // namespace mixq::ops

int main(int argc, char** argv) {
  mixq::ops::RegisterAll();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
