// Micro-benchmarks of the integer rescaling steps (ops/int8_chain.h) and the
// float AvgPool2D: each kernel against the reference it is bit-exact with,
// and the int8 steps next to the float32 kernels of the same op (what the
// float path runs between its Dequantize / Quantize steps). Counter:
// Melem/s (output elements per second; for the pools, input elements).
//
//   build/bench/mixq_int8_rescale_bench [--benchmark_filter=...]
//
// One thread (OMP_NUM_THREADS=1 is set here): kernels are compared per core.
// The int8 adds run in each of their forms (ops/elementwise/int8_add.h):
// "affine" (the default where it fits) and "loop" (the exact computed form,
// what runs where the affine form does not fit and gathers are slow).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <random>

#include "kernels/cpu_features.h"
#include "ops/elementwise/int8_add.h"
#include "ops/kernel_registry.h"

namespace mixq::ops {
namespace {

enum class Op { kAdd, kAvgPool, kGlobalAvgPool };

struct Shape {
  const char* name;
  Op op;
  int64_t n, c, h, w;
  int64_t k = 0, stride = 1, pad = 0;  // AvgPool2D
};

constexpr Shape kShapes[] = {
    {"add_mb2_24x56x56", Op::kAdd, 1, 24, 56, 56},
    {"add_r50_256x56x56", Op::kAdd, 1, 256, 56, 56},
    {"add_mb2_96x14x14", Op::kAdd, 1, 96, 14, 14},
    {"avgpool3x3s1_32x80x80", Op::kAvgPool, 1, 32, 80, 80, 3, 1, 1},
    {"avgpool2x2s2_96x24x160", Op::kAvgPool, 1, 96, 24, 160, 2, 2, 0},
    {"gap_mb2_1280x7x7", Op::kGlobalAvgPool, 1, 1280, 7, 7},
    {"gap_480x40x40", Op::kGlobalAvgPool, 1, 480, 40, 40},
};

// Everything a kernel needs, kept alive for the benchmark's duration.
struct Setup {
  ir::AttrMap attrs;
  ir::QuantBinding qa, qb, qo;
  std::vector<int8_t> a8, b8, y8;
  std::vector<float> af, bf, yf;
  ValueInfo ai, bi;
  std::vector<ValueInfo> outs;
  std::vector<const ValueInfo*> ins;
  std::vector<DataType> compute;
  OpKind kind = OpKind::kElementwise;
  ir::Shape out_shape;
};

ir::QuantBinding Binding(float scale, int32_t zero_point) {
  ir::QuantBinding q;
  q.scales = {scale};
  q.zero_points = {zero_point};
  q.symmetric = zero_point == 0;
  return q;
}

void Make(const Shape& s, bool int8, Setup* c) {
  const ir::Shape in = {s.n, s.c, s.h, s.w};
  // Calibrated-looking scales: ratios of round numbers (0.02 / 0.04) tie
  // exactly on half the pairs, where the int8 add keeps its loop.
  c->qa = Binding(0.0213f, -3);
  c->qb = Binding(0.0517f, 7);
  c->qo = Binding(0.0391f, 1);
  switch (s.op) {
    case Op::kAdd:
      c->kind = OpKind::kElementwise;
      c->attrs.Set("op", std::string("add"));
      c->out_shape = in;
      break;
    case Op::kAvgPool:
      c->kind = OpKind::kAvgPool2D;
      c->attrs.Set("kernel", std::vector<int64_t>{s.k, s.k});
      c->attrs.Set("strides", std::vector<int64_t>{s.stride, s.stride});
      c->attrs.Set("pads", std::vector<int64_t>{s.pad, s.pad, s.pad, s.pad});
      c->attrs.Set("ceil_mode", int64_t{0});
      c->attrs.Set("count_include_pad", int64_t{0});
      c->attrs.Set("padding_mode", std::string("EXPLICIT"));
      c->attrs.Set("layout", std::string("NCHW"));
      c->out_shape = {s.n, s.c, (s.h + 2 * s.pad - s.k) / s.stride + 1, (s.w + 2 * s.pad - s.k) / s.stride + 1};
      break;
    case Op::kGlobalAvgPool:
      c->kind = OpKind::kGlobalAvgPool;
      c->attrs.Set("layout", std::string("NCHW"));
      c->out_shape = {s.n, s.c, 1, 1};
      break;
  }
  const size_t count = static_cast<size_t>(ir::ElementCount(in));
  std::mt19937 rng(3);
  c->a8.resize(count);
  c->b8.resize(count);
  for (size_t i = 0; i < count; ++i) {
    c->a8[i] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    c->b8[i] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  }
  c->af.resize(count);
  c->bf.resize(count);
  for (size_t i = 0; i < count; ++i) {
    c->af[i] = 0.02f * static_cast<float>(c->a8[i]);
    c->bf[i] = 0.05f * static_cast<float>(c->b8[i]);
  }
  const size_t out_count = static_cast<size_t>(ir::ElementCount(c->out_shape));
  c->y8.resize(out_count);
  c->yf.resize(out_count);
  if (int8) {
    c->ai = ValueInfo{DataType::INT8, in, nullptr, &c->qa, true};
    c->bi = ValueInfo{DataType::INT8, in, nullptr, &c->qb, true};
    c->outs = {ValueInfo{DataType::INT8, c->out_shape, nullptr, &c->qo, true}};
  } else {
    c->ai = ValueInfo{DataType::FLOAT32, in, nullptr, nullptr, false};
    c->bi = c->ai;
    c->outs = {ValueInfo{DataType::FLOAT32, c->out_shape, nullptr, nullptr, false}};
  }
  c->ins = {&c->ai};
  if (s.op == Op::kAdd) c->ins.push_back(&c->bi);
  c->compute.assign(c->ins.size(), int8 ? DataType::QINT8 : DataType::FLOAT32);
}

// kernel_name: a registered kernel, "reference" or "reference-quantized";
// add_form: the int8 add's affine form forced on (1) or off (0), -1 as chosen.
void BM_Step(benchmark::State& state, const Shape& shape, const char* kernel_name, bool int8, int add_form) {
  omp_set_num_threads(1);
  Setup c;
  Make(shape, int8, &c);
  KernelInit init(c.attrs, c.ins, c.outs, &c.compute);
  const std::string name = kernel_name;
  const KernelDef* def = name == "reference"             ? &ReferenceKernel(c.kind)
                         : name == "reference-quantized" ? &QuantizedReferenceKernel(c.kind)
                                                         : FindKernel(c.kind, name);
  if (!def || !def->supports(init) || def->isa > kernels::BestIsa()) {
    state.SkipWithError("kernel not available for this step");
    return;
  }
  std::unique_ptr<Kernel> kernel;
  SetInt8AddAffineForTesting(add_form);
  kernels::SetGatherTablesForTesting(add_form == 0 ? 0 : -1);
  const Status made = def->make(init, &kernel);
  SetInt8AddAffineForTesting(-1);
  kernels::SetGatherTablesForTesting(-1);
  if (!made.ok()) {
    state.SkipWithError("kernel preparation failed");
    return;
  }
  RunQuant ra{c.qa.scales[0], c.qa.zero_points[0]}, rb{c.qb.scales[0], c.qb.zero_points[0]},
      ro{c.qo.scales[0], c.qo.zero_points[0]};
  std::vector<TensorView> in = {int8 ? TensorView{DataType::INT8, c.ai.shape, c.a8.data(), &ra}
                                     : TensorView{DataType::FLOAT32, c.ai.shape, c.af.data(), nullptr}};
  if (shape.op == Op::kAdd)
    in.push_back(int8 ? TensorView{DataType::INT8, c.bi.shape, c.b8.data(), &rb}
                      : TensorView{DataType::FLOAT32, c.bi.shape, c.bf.data(), nullptr});
  const std::vector<TensorView> out = {int8 ? TensorView{DataType::INT8, c.out_shape, c.y8.data(), &ro}
                                            : TensorView{DataType::FLOAT32, c.out_shape, c.yf.data(), nullptr}};
  if (shape.op == Op::kAdd && int8) state.SetLabel(Int8AddForm(*kernel));
  for (auto _ : state) {
    benchmark::DoNotOptimize(kernel->Run(in, out));
    benchmark::ClobberMemory();
  }
  const double elements =
      static_cast<double>(shape.op == Op::kAdd ? ir::ElementCount(c.out_shape) : ir::ElementCount(c.ai.shape));
  state.counters["Melem/s"] =
      benchmark::Counter(elements * static_cast<double>(state.iterations()) / 1e6, benchmark::Counter::kIsRate);
}

void RegisterAll() {
  for (const Shape& s : kShapes) {
    const std::string base = s.name;
    const char* float_fast = s.op == Op::kAdd ? "cpu-fast" : "avx2";
    if (s.op == Op::kAdd) {
      for (const char* kernel : {"avx2-int8", "avx512-int8"}) {
        benchmark::RegisterBenchmark((base + "/int8/" + kernel + "/affine").c_str(), BM_Step, s, kernel, true, 1);
        benchmark::RegisterBenchmark((base + "/int8/" + kernel + "/loop").c_str(), BM_Step, s, kernel, true, 0);
      }
    } else {
      benchmark::RegisterBenchmark((base + "/int8/avx2-int8").c_str(), BM_Step, s, "avx2-int8", true, -1);
    }
    benchmark::RegisterBenchmark((base + "/int8/reference-quantized").c_str(), BM_Step, s, "reference-quantized", true,
                                 -1);
    benchmark::RegisterBenchmark((base + "/float32/" + float_fast).c_str(), BM_Step, s, float_fast, false, -1);
    benchmark::RegisterBenchmark((base + "/float32/reference").c_str(), BM_Step, s, "reference", false, -1);
  }
}

}  // namespace
}  // namespace mixq::ops

int main(int argc, char** argv) {
  mixq::ops::RegisterAll();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
