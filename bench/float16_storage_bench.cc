// Micro-benchmarks of the float16-storage kernels (ops/half_storage.h) on
// PP-OCR / ResNet shapes, three ways per case:
//   float32   the float32 kernel on float32 tensors (force_float32)
//   cast      Cast float16 -> float32, that kernel, Cast back (force_float16
//             before the float16 kernels)
//   float16   the float16-storage kernel (what force_float16 runs now)
// Counter: output elements per second.
//
//   build/bench/mixq_float16_storage_bench [--benchmark_filter=...]
//
// One thread, or MIXQ_BENCH_THREADS of them (OMP_NUM_THREADS is not read);
// MIXQ_BENCH_FP16=0 keeps float16 chains in float32 arithmetic.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdlib>
#include <random>

#include "kernels/cpu_features.h"
#include "kernels/half_io.h"
#include "ops/kernel_registry.h"
#include "util/half.h"

namespace mixq::ops {
namespace {

enum class Mode { kFloat32, kCast, kFloat16 };

struct Case {
  const char* name;
  OpKind op;
  ir::AttrMap attrs;
  std::vector<ir::Shape> inputs;  // input 0 an activation; the others float32 constants
  ir::Shape output;
  const char* half_kernel;
  // Activations in oneDNN's nChw8c (the plan's blocked layout) and a relu6
  // post-op: MobileNetV2's convolutions as the plan runs them.
  bool blocked_relu6 = false;
  int64_t block = 8;  // channels per block when blocked: 8 (nChw8c) or 16 (nChw16c)
  // With blocked_relu6: PP-OCR's hard_swish, * scale, + bias instead of relu6.
  bool affine_chain = false;
};

ir::AttrMap Attrs(OpKind op, std::vector<std::pair<const char*, ir::AttrValue>> given) {
  ir::AttrMap a;
  for (auto& [k, v] : given) a.Set(k, v);
  for (const AttrSpec& spec : GetSchema(op).attrs)
    if (!a.Has(spec.name)) a.Set(spec.name, spec.default_value);
  return a;
}

std::vector<Case> Cases() {
  const ir::AttrValue nchw = std::string("NCHW"), oihw = std::string("OIHW");
  auto conv = [&](int64_t k, int64_t group) {
    return Attrs(OpKind::kConv2D, {{"strides", std::vector<int64_t>{1, 1}},
                                   {"pads", std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2}},
                                   {"group", group},
                                   {"input_layout", nchw},
                                   {"filter_layout", oihw},
                                   {"output_layout", nchw}});
  };
  return {
      {"conv1x1_16_32_det160",
       OpKind::kConv2D,
       conv(1, 1),
       {{1, 16, 160, 160}, {32, 16, 1, 1}, {32}},
       {1, 32, 160, 160},
       "onednn-f16"},
      {"conv_dw3x3_64_rec24x160",
       OpKind::kConv2D,
       conv(3, 64),
       {{1, 64, 24, 160}, {64, 1, 3, 3}, {64}},
       {1, 64, 24, 160},
       "onednn-f16"},
      {"conv1x1_480_rec6x80",
       OpKind::kConv2D,
       conv(1, 1),
       {{1, 480, 6, 80}, {480, 480, 1, 1}, {480}},
       {1, 480, 6, 80},
       "onednn-f16"},
      {"mb2_conv1x1_16_96_112_blocked",
       OpKind::kConv2D,
       conv(1, 1),
       {{1, 16, 112, 112}, {96, 16, 1, 1}, {96}},
       {1, 96, 112, 112},
       "onednn-f16",
       true},
      {"mb2_dw3x3s2_96_112_blocked",
       OpKind::kConv2D,
       Attrs(OpKind::kConv2D, {{"strides", std::vector<int64_t>{2, 2}},
                               {"pads", std::vector<int64_t>{1, 1, 1, 1}},
                               {"group", int64_t{96}},
                               {"input_layout", nchw},
                               {"filter_layout", oihw},
                               {"output_layout", nchw}}),
       {{1, 96, 112, 112}, {96, 1, 3, 3}, {96}},
       {1, 96, 56, 56},
       "onednn-f16",
       true},
      {"mb2_dw3x3_144_56_blocked",
       OpKind::kConv2D,
       conv(3, 144),
       {{1, 144, 56, 56}, {144, 1, 3, 3}, {144}},
       {1, 144, 56, 56},
       "onednn-f16",
       true},
      // mixq's own float16 convolutions, nChw16c as on AVX-512 machines.
      {"mb2_dw3x3s2_96_112_b16",
       OpKind::kConv2D,
       Attrs(OpKind::kConv2D, {{"strides", std::vector<int64_t>{2, 2}},
                               {"pads", std::vector<int64_t>{1, 1, 1, 1}},
                               {"group", int64_t{96}},
                               {"input_layout", nchw},
                               {"filter_layout", oihw},
                               {"output_layout", nchw}}),
       {{1, 96, 112, 112}, {96, 1, 3, 3}, {96}},
       {1, 96, 56, 56},
       "avx512-f16-dw",
       true,
       16},
      {"mb2_dw3x3_32_112_b16",
       OpKind::kConv2D,
       conv(3, 32),
       {{1, 32, 112, 112}, {32, 1, 3, 3}, {32}},
       {1, 32, 112, 112},
       "avx512-f16-dw",
       true,
       16},
      {"mb2_dw3x3_144_56_b16",
       OpKind::kConv2D,
       conv(3, 144),
       {{1, 144, 56, 56}, {144, 1, 3, 3}, {144}},
       {1, 144, 56, 56},
       "avx512-f16-dw",
       true,
       16},
      // MobileNetV2's small planes: 960 channels at 7 x 7, 576 at 14 x 14 -> 7 x 7.
      {"mb2_dw3x3_960_7_b16",
       OpKind::kConv2D,
       conv(3, 960),
       {{1, 960, 7, 7}, {960, 1, 3, 3}, {960}},
       {1, 960, 7, 7},
       "avx512-f16-dw",
       true,
       16},
      {"mb2_dw3x3s2_576_14_b16",
       OpKind::kConv2D,
       Attrs(OpKind::kConv2D, {{"strides", std::vector<int64_t>{2, 2}},
                               {"pads", std::vector<int64_t>{1, 1, 1, 1}},
                               {"group", int64_t{576}},
                               {"input_layout", nchw},
                               {"filter_layout", oihw},
                               {"output_layout", nchw}}),
       {{1, 576, 14, 14}, {576, 1, 3, 3}, {576}},
       {1, 576, 7, 7},
       "avx512-f16-dw",
       true,
       16},
      // PP-OCRv4 rec's 5 x 5 depthwise layer on 6 x 80 and its hard-swish chain.
      {"rec_dw5x5_480_6x80_b16_chain",
       OpKind::kConv2D,
       conv(5, 480),
       {{1, 480, 6, 80}, {480, 1, 5, 5}, {480}},
       {1, 480, 6, 80},
       "avx512-f16-dw",
       true,
       16,
       true},
      // PP-OCR det's first pointwise layer and its post-op chain.
      {"det_conv1x1_16_32_160_b16_chain",
       OpKind::kConv2D,
       conv(1, 1),
       {{1, 16, 160, 160}, {32, 16, 1, 1}, {32}},
       {1, 32, 160, 160},
       "avx512-f16-pw",
       true,
       16,
       true},
      {"det_dw3x3_16_160_b16_chain",
       OpKind::kConv2D,
       conv(3, 16),
       {{1, 16, 160, 160}, {16, 1, 3, 3}, {16}},
       {1, 16, 160, 160},
       "avx512-f16-dw",
       true,
       16,
       true},
      // The AVX2 kernels on nChw8c, as on AVX2-only machines.
      {"mb2_dw3x3s2_96_112_avx2",
       OpKind::kConv2D,
       Attrs(OpKind::kConv2D, {{"strides", std::vector<int64_t>{2, 2}},
                               {"pads", std::vector<int64_t>{1, 1, 1, 1}},
                               {"group", int64_t{96}},
                               {"input_layout", nchw},
                               {"filter_layout", oihw},
                               {"output_layout", nchw}}),
       {{1, 96, 112, 112}, {96, 1, 3, 3}, {96}},
       {1, 96, 56, 56},
       "avx2-f16-dw",
       true},
      {"mb2_dw3x3_144_56_avx2",
       OpKind::kConv2D,
       conv(3, 144),
       {{1, 144, 56, 56}, {144, 1, 3, 3}, {144}},
       {1, 144, 56, 56},
       "avx2-f16-dw",
       true},
      {"mb2_conv1x1_16_96_112_b16",
       OpKind::kConv2D,
       conv(1, 1),
       {{1, 16, 112, 112}, {96, 16, 1, 1}, {96}},
       {1, 96, 112, 112},
       "avx512-f16-pw",
       true,
       16},
      // MobileNetV2's expansion and projection layers at 28 x 28 and 14 x 14.
      {"mb2_conv1x1_32_192_28_b16",
       OpKind::kConv2D,
       conv(1, 1),
       {{1, 32, 28, 28}, {192, 32, 1, 1}, {192}},
       {1, 192, 28, 28},
       "avx512-f16-pw",
       true,
       16},
      {"mb2_conv1x1_576_96_14_b16",
       OpKind::kConv2D,
       conv(1, 1),
       {{1, 576, 14, 14}, {96, 576, 1, 1}, {96}},
       {1, 96, 14, 14},
       "avx512-f16-pw",
       true,
       16},
      // ResNet-50's bottleneck 1 x 1 layers (51.4 M multiply-adds each).
      {"r50_conv1x1_256_64_56_b16",
       OpKind::kConv2D,
       conv(1, 1),
       {{1, 256, 56, 56}, {64, 256, 1, 1}, {64}},
       {1, 64, 56, 56},
       "avx512-f16-pw",
       true,
       16},
      {"r50_conv1x1_64_256_56_b16",
       OpKind::kConv2D,
       conv(1, 1),
       {{1, 64, 56, 56}, {256, 64, 1, 1}, {256}},
       {1, 256, 56, 56},
       "avx512-f16-pw",
       true,
       16},
      {"r50_conv1x1_1024_256_14_b16",
       OpKind::kConv2D,
       conv(1, 1),
       {{1, 1024, 14, 14}, {256, 1024, 1, 1}, {256}},
       {1, 256, 14, 14},
       "avx512-f16-pw",
       true,
       16},
      {"r50_conv1x1_256_1024_14_b16",
       OpKind::kConv2D,
       conv(1, 1),
       {{1, 256, 14, 14}, {1024, 256, 1, 1}, {1024}},
       {1, 1024, 14, 14},
       "avx512-f16-pw",
       true,
       16},
      {"r50_conv1x1_128_512_28_b16",
       OpKind::kConv2D,
       conv(1, 1),
       {{1, 128, 28, 28}, {512, 128, 1, 1}, {512}},
       {1, 512, 28, 28},
       "avx512-f16-pw",
       true,
       16},
      {"mb2_conv1x1_144_24_56_blocked",
       OpKind::kConv2D,
       conv(1, 1),
       {{1, 144, 56, 56}, {24, 144, 1, 1}, {24}},
       {1, 24, 56, 56},
       "onednn-f16",
       true},
      {"hard_swish_det160",
       OpKind::kActivation,
       Attrs(OpKind::kActivation, {{"type", std::string("hard_swish")}}),
       {{1, 32, 160, 160}},
       {1, 32, 160, 160},
       "avx2-f16"},
      {"mul_scalar_det160",
       OpKind::kElementwise,
       Attrs(OpKind::kElementwise, {{"op", std::string("mul")}}),
       {{1, 32, 160, 160}, {1}},
       {1, 32, 160, 160},
       "avx2-f16"},
      {"max_pool3x3s2_resnet112",
       OpKind::kMaxPool2D,
       Attrs(OpKind::kMaxPool2D, {{"kernel", std::vector<int64_t>{3, 3}},
                                  {"strides", std::vector<int64_t>{2, 2}},
                                  {"pads", std::vector<int64_t>{1, 1, 1, 1}},
                                  {"layout", nchw}}),
       {{1, 64, 112, 112}},
       {1, 64, 56, 56},
       "avx2-f16"},
      {"softmax_rec_40x6625",
       OpKind::kSoftmax,
       Attrs(OpKind::kSoftmax, {}),
       {{1, 40, 6625}},
       {1, 40, 6625},
       "avx2-f16"},
      // BERT-base's attention probabilities, 12 heads of 128 x 128.
      {"softmax_bert_12x128x128",
       OpKind::kSoftmax,
       Attrs(OpKind::kSoftmax, {}),
       {{1, 12, 128, 128}},
       {1, 12, 128, 128},
       "avx512-f16"},
      {"layer_norm_bert_128x768",
       OpKind::kLayerNorm,
       Attrs(OpKind::kLayerNorm, {}),
       {{1, 128, 768}, {768}, {768}},
       {1, 128, 768},
       "avx512-f16"},
  };
}

ValueInfo Info(const ir::Shape& shape, bool half, const void* constant, bool blocked, int64_t block) {
  const MemoryLayout layout = !blocked      ? MemoryLayout::kPlain
                              : block == 16 ? MemoryLayout::kBlocked16
                                            : MemoryLayout::kBlocked8;
  return {half ? DataType::FLOAT16 : DataType::FLOAT32, shape, constant, nullptr, half, layout};
}

int BenchThreads() {
  const char* env = std::getenv("MIXQ_BENCH_THREADS");
  return env && std::atoi(env) > 0 ? std::atoi(env) : 1;
}

void Run(benchmark::State& state, const Case& c, Mode mode) {
  omp_set_num_threads(BenchThreads());
  // MIXQ_BENCH_FP16=0: float16 chains in float32 arithmetic even where the
  // CPU has AVX512-FP16 (kernels::Float16ArithmeticPays), to compare both.
  if (const char* fp16 = std::getenv("MIXQ_BENCH_FP16")) kernels::SetFloat16ArithmeticForTesting(std::atoi(fp16));
  const bool half = mode == Mode::kFloat16;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> real(-2.0f, 2.0f);
  std::vector<std::vector<float>> data;
  for (const ir::Shape& s : c.inputs) {
    data.emplace_back(static_cast<size_t>(ir::ElementCount(s)));
    for (float& v : data.back()) v = RoundToHalf(real(rng) * 0.1f);
  }
  std::vector<ValueInfo> infos;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    infos.push_back(
        Info(c.inputs[i], half && i == 0, i == 0 ? nullptr : data[i].data(), c.blocked_relu6 && i == 0, c.block));
  std::vector<const ValueInfo*> ins;
  for (const ValueInfo& v : infos) ins.push_back(&v);
  std::vector<ValueInfo> outs = {Info(c.output, half, nullptr, c.blocked_relu6, c.block)};
  std::vector<DataType> compute(c.inputs.size(), DataType::FLOAT32);
  if (half) compute[0] = DataType::FLOAT16;
  std::vector<PostOp> relu6(1);
  relu6[0].activation = "relu6";
  relu6[0].hi = 6.0f;
  if (c.affine_chain) {
    relu6.resize(3);
    relu6[0] = PostOp{};
    relu6[0].activation = "hard_swish";
    relu6[1].kind = PostOp::Kind::kScalar;
    relu6[1].activation = "mul";
    relu6[1].lo = RoundToHalf(0.83f);  // force_float16 rounds the constants (a float16 chain)
    relu6[2].kind = PostOp::Kind::kScalar;
    relu6[2].activation = "add";
    relu6[2].lo = RoundToHalf(0.05f);
  }
  KernelInit init(c.attrs, ins, outs, &compute, c.blocked_relu6 ? &relu6 : nullptr);
  const KernelDef* def = nullptr;
  if (half) {
    def = FindKernel(c.op, c.half_kernel);
    // The named kernel itself: at one thread on an Intel AVX-512 CPU the
    // plan gives wide float16 1 x 1 layers to onednn-f16 instead
    // (cpu_half_pw.cc LeftToOneDnn), which the cast row measures.
    kernels::SetOneDnnFloatGemmForTesting(0);
    const bool supported = def && kernels::BestIsa() >= def->isa && def->supports(init);
    kernels::SetOneDnnFloatGemmForTesting(-1);
    if (!supported) {
      state.SkipWithError("no float16 kernel on this CPU");
      return;
    }
  } else if (!SelectKernel(c.op, init, false, kernels::BestIsa(), &def).ok()) {
    state.SkipWithError("no float32 kernel");
    return;
  }
  std::unique_ptr<Kernel> kernel;
  if (!def->make(init, &kernel).ok()) {
    state.SkipWithError("make failed");
    return;
  }
  const int64_t in_count = ir::ElementCount(c.inputs[0]), out_count = ir::ElementCount(c.output);
  std::vector<uint16_t> x16(static_cast<size_t>(in_count)), y16(static_cast<size_t>(out_count));
  for (int64_t i = 0; i < in_count; ++i) x16[static_cast<size_t>(i)] = FloatToHalf(data[0][static_cast<size_t>(i)]);
  std::vector<float> x32 = data[0], y32(static_cast<size_t>(out_count));
  std::vector<TensorView> in;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    in.push_back(
        {infos[i].dtype, c.inputs[i], i == 0 && half ? static_cast<void*>(x16.data()) : data[i].data(), nullptr});
  if (!half) in[0].data = x32.data();
  const std::vector<TensorView> out = {
      {outs[0].dtype, c.output, half ? static_cast<void*>(y16.data()) : static_cast<void*>(y32.data()), nullptr}};
  for (auto _ : state) {
    if (mode == Mode::kCast) kernels::HalfToFloatParallel(x16.data(), x32.data(), in_count);
    benchmark::DoNotOptimize(kernel->Run(in, out));
    if (mode == Mode::kCast) kernels::FloatToHalfParallel(y32.data(), y16.data(), out_count);
    benchmark::ClobberMemory();
  }
  state.SetLabel(def->name);
  state.counters["elements/s"] = benchmark::Counter(
      static_cast<double>(out_count) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

const bool kRegistered = [] {
  static const std::vector<Case> cases = Cases();
  for (const Case& c : cases) {
    benchmark::RegisterBenchmark((std::string(c.name) + "/float32").c_str(), Run, c, Mode::kFloat32);
    benchmark::RegisterBenchmark((std::string(c.name) + "/cast").c_str(), Run, c, Mode::kCast);
    benchmark::RegisterBenchmark((std::string(c.name) + "/float16").c_str(), Run, c, Mode::kFloat16);
  }
  return true;
}();

}  // namespace
}  // namespace mixq::ops

BENCHMARK_MAIN();
