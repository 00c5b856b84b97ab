// Optimized CPU kernel of Elementwise for FLOAT32 add, sub, mul, div, max and
// min: the broadcast is split into an outer walk and an inner run where each
// operand is either contiguous or a single repeated value, so the inner loop
// vectorizes. Bit-exact with the reference: the same float operations on the
// same pairs. pow and integer types run the reference. A fused FakeQuantize
// (an imported QDQ model's) runs on each L1-sized chunk of the output as it
// is written (ops/fake_quantize_row.h), bit-exact with the separate step;
// so does a fused residual add (y + r of a same-shaped tensor).
// "avx2-f16" is the same kernel on float16 storage: the same float
// operations eight lanes at a time with F16C widening on load and rounding
// on store, in one pass; bit-identical with the Cast steps around
// "cpu-fast" it replaces (NaN for NaN: with two NaN operands either sign).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cfloat>
#include <tuple>

#include "kernels/cpu_features.h"
#include "kernels/half_io.h"
#include "kernels/parallel.h"
#include "ops/elementwise/binary_math.h"
#include "ops/elementwise/channel_blocked.h"
#include "ops/elementwise/cpu.h"
#include "ops/fake_quantize_row.h"
#include "ops/half_storage.h"
#include "ops/kernel_registry.h"
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"
#include "util/half.h"

namespace mixq::ops {

namespace {

using elementwise::Apply;
using elementwise::Apply8;
using elementwise::Op;

bool SquareExponent(const KernelInit& init);

// `sa` / `sb`: 1 when the operand advances along the run, 0 when it repeats.
template <Op op>
void Run(const float* a, const float* b, float* y, int64_t n, int sa, int sb) {
  if (sa && sb) {
    for (int64_t i = 0; i < n; ++i) y[i] = Apply<op>(a[i], b[i]);
  } else if (sa) {
    const float bv = *b;
    for (int64_t i = 0; i < n; ++i) y[i] = Apply<op>(a[i], bv);
  } else if (sb) {
    const float av = *a;
    for (int64_t i = 0; i < n; ++i) y[i] = Apply<op>(av, b[i]);
  } else {
    const float v = Apply<op>(*a, *b);
    for (int64_t i = 0; i < n; ++i) y[i] = v;
  }
}

using RunFn = void (*)(const float*, const float*, float*, int64_t, int, int);

// `half`: 16-bit storage, float16 or (`bf16`) bfloat16.
MIXQ_F16C __attribute__((always_inline)) inline __m256 Load8(const void* p, bool half, bool bf16, int64_t i) {
  if (!half) return _mm256_loadu_ps(static_cast<const float*>(p) + i);
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(p) + i));
  return bf16 ? kernels::BFloat16x8ToFloat(h) : _mm256_cvtph_ps(h);
}

inline float Load1(const void* p, bool half, bool bf16, int64_t i) {
  if (!half) return static_cast<const float*>(p)[i];
  const uint16_t h = static_cast<const uint16_t*>(p)[i];
  return bf16 ? BFloat16ToFloat(h) : HalfToFloat(h);
}

// One run of n elements with some operand in float16 (or, `kBf16`,
// bfloat16): widened on load, rounded on store, fused in one pass. The
// storage flags and the operand steps (kSa / kSb: 1 when the operand
// advances along the run, 0 when it repeats) are template constants, so the
// loop tests none of them (plain float16 broadcasts, BERT's bias adds and
// force_bfloat16's per-channel scales: 1.3-2x faster than with run-time
// flags, bench/RESULTS.md stop 33).
template <Op op, bool kAHalf, bool kBHalf, bool kYHalf, bool kBf16, int kSa, int kSb>
MIXQ_F16C void RunHalfRun(const void* a, const void* b, void* y, int64_t n) {
  const __m256 a_one = _mm256_set1_ps(Load1(a, kAHalf, kBf16, 0)), b_one = _mm256_set1_ps(Load1(b, kBHalf, kBf16, 0));
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = Apply8<op>(kSa ? Load8(a, kAHalf, kBf16, i) : a_one, kSb ? Load8(b, kBHalf, kBf16, i) : b_one);
    if (kYHalf)
      _mm_storeu_si128(
          reinterpret_cast<__m128i*>(static_cast<uint16_t*>(y) + i),
          kBf16 ? kernels::FloatToBFloat16x8(v) : _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    else
      _mm256_storeu_ps(static_cast<float*>(y) + i, v);
  }
  for (; i < n; ++i) {
    const float v = Apply<op>(Load1(a, kAHalf, kBf16, kSa ? i : 0), Load1(b, kBHalf, kBf16, kSb ? i : 0));
    if (kYHalf)
      static_cast<uint16_t*>(y)[i] = kBf16 ? FloatToBFloat16(v) : FloatToHalf(v);
    else
      static_cast<float*>(y)[i] = v;
  }
}

template <Op op, bool kAHalf, bool kBHalf, bool kYHalf, bool kBf16>
void RunHalf(const void* a, const void* b, void* y, int64_t n, int sa, int sb) {
  if (sa && sb)
    RunHalfRun<op, kAHalf, kBHalf, kYHalf, kBf16, 1, 1>(a, b, y, n);
  else if (sa)
    RunHalfRun<op, kAHalf, kBHalf, kYHalf, kBf16, 1, 0>(a, b, y, n);
  else if (sb)
    RunHalfRun<op, kAHalf, kBHalf, kYHalf, kBf16, 0, 1>(a, b, y, n);
  else
    RunHalfRun<op, kAHalf, kBHalf, kYHalf, kBf16, 0, 0>(a, b, y, n);
}

using RunHalfFn = void (*)(const void*, const void*, void*, int64_t, int, int);

// RunHalf for the storage flags known at Make time.
template <Op op>
RunHalfFn SelectRunHalf(bool a_half, bool b_half, bool y_half, bool bf16) {
  static constexpr RunHalfFn kTable[16] = {
      RunHalf<op, false, false, false, false>, RunHalf<op, false, false, false, true>,
      RunHalf<op, false, false, true, false>,  RunHalf<op, false, false, true, true>,
      RunHalf<op, false, true, false, false>,  RunHalf<op, false, true, false, true>,
      RunHalf<op, false, true, true, false>,   RunHalf<op, false, true, true, true>,
      RunHalf<op, true, false, false, false>,  RunHalf<op, true, false, false, true>,
      RunHalf<op, true, false, true, false>,   RunHalf<op, true, false, true, true>,
      RunHalf<op, true, true, false, false>,   RunHalf<op, true, true, false, true>,
      RunHalf<op, true, true, true, false>,    RunHalf<op, true, true, true, true>};
  return kTable[(a_half ? 8 : 0) + (b_half ? 4 : 0) + (y_half ? 2 : 0) + (bf16 ? 1 : 0)];
}
using SelectRunHalfFn = RunHalfFn (*)(bool, bool, bool, bool);

const void* At(const void* p, bool half, int64_t i) {
  return half ? static_cast<const void*>(static_cast<const uint16_t*>(p) + i)
              : static_cast<const void*>(static_cast<const float*>(p) + i);
}

struct Plan {
  RunFn run = nullptr;
  ir::Shape outer;                        // output dims before the run
  std::vector<int64_t> a_outer, b_outer;  // operand steps along them
  int64_t inner = 1;
  int sa = 1, sb = 1;
  bool a_half = false, b_half = false, y_half = false;  // 16-bit storage:
  bool bf16 = false;                                    // bfloat16, else float16
  RunHalfFn run_half = nullptr;
};

// Per output axis: the operand's step (0 where it is broadcast).
std::vector<int64_t> Steps(const ir::Shape& in, const ir::Shape& out) {
  const size_t lead = out.size() - in.size();
  const auto dense = ir::Strides(in);
  std::vector<int64_t> steps(out.size(), 0);
  for (size_t i = 0; i < in.size(); ++i) steps[lead + i] = in[i] == 1 ? 0 : dense[i];
  return steps;
}

// Moves (index, ia, ib) from one run to the next: index counts over
// plan.outer, ia / ib are the operands' element offsets of the run.
inline void NextRun(const Plan& plan, std::vector<int64_t>* index, int64_t* ia, int64_t* ib) {
  for (size_t d = index->size(); d-- > 0;) {
    int64_t& i = (*index)[d];
    *ia += plan.a_outer[d];
    *ib += plan.b_outer[d];
    if (++i < plan.outer[d]) return;
    *ia -= plan.a_outer[d] * i;
    *ib -= plan.b_outer[d] * i;
    i = 0;
  }
}

// Calls f(r, ia, ib) for every run r, with the operands' element offsets.
template <typename F>
void ForEachRun(const Plan& plan, F&& f) {
  const int64_t runs = ir::ElementCount(plan.outer);
  std::vector<int64_t> index(plan.outer.size(), 0);
  int64_t ia = 0, ib = 0;
  for (int64_t r = 0; r < runs; ++r) {
    f(r, ia, ib);
    NextRun(plan, &index, &ia, &ib);
  }
}

// Calls f(r, ia, ib, begin, n) for spans of the output: elements [begin,
// begin + n) of run r, whose operands start at element offsets ia + begin *
// sa and ib + begin * sb. Runs split into spans of up to kSpan elements;
// past kernels::kMinParallelElements the spans share out over the OpenMP
// threads, each thread a contiguous range of them (the result is the same
// for any split: element by element). Small steps stay in one thread, in
// whole runs, with no OpenMP region at all.
constexpr int64_t kSpan = int64_t{1} << 14;

template <typename F>
void ForEachSpan(const Plan& plan, F&& f) {
  const int64_t runs = ir::ElementCount(plan.outer), total = runs * plan.inner;
  const int threads = omp_get_max_threads();
  if (threads <= 1 || total <= kernels::kMinParallelElements) {
    ForEachRun(plan, [&](int64_t r, int64_t ia, int64_t ib) { f(r, ia, ib, int64_t{0}, plan.inner); });
    return;
  }
  const int64_t pieces = (plan.inner + kSpan - 1) / kSpan, spans = runs * pieces;
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t first = spans * t / nt, last = spans * (t + 1) / nt;
    // The first span's run as an index into plan.outer, then walked on as
    // ForEachRun does.
    std::vector<int64_t> index(plan.outer.size(), 0);
    int64_t r = first / pieces, ia = 0, ib = 0;
    for (size_t d = index.size(), rest = static_cast<size_t>(r); d-- > 0;) {
      index[d] = static_cast<int64_t>(rest) % plan.outer[d];
      rest /= static_cast<size_t>(plan.outer[d]);
      ia += index[d] * plan.a_outer[d];
      ib += index[d] * plan.b_outer[d];
    }
    for (int64_t span = first; span < last;) {
      const int64_t piece = span % pieces, begin = piece * kSpan;
      f(r, ia, ib, begin, std::min(kSpan, plan.inner - begin));
      if (++span % pieces != 0) continue;
      ++r;
      NextRun(plan, &index, &ia, &ib);
    }
  }
}

Status MakeHalfKernel(const Plan& plan, const char* name, std::unique_ptr<Kernel>* kernel) {
  return MakeFunctionKernel(
      [plan](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        ForEachSpan(plan, [&](int64_t r, int64_t ia, int64_t ib, int64_t begin, int64_t n) {
          const int64_t at = r * plan.inner + begin;
          void* y = plan.y_half ? static_cast<void*>(out[0].Data<uint16_t>() + at)
                                : static_cast<void*>(out[0].Data<float>() + at);
          plan.run_half(At(in[0].data, plan.a_half, ia + begin * plan.sa),
                        At(in[1].data, plan.b_half, ib + begin * plan.sb), y, n, plan.sa, plan.sb);
        });
        return Status::OK();
      },
      kernel, name);
}

// `narrow`: the 16-bit storage the kernel takes besides FLOAT32 (FLOAT16,
// BFLOAT16), or FLOAT32 for none.
bool FloatOrHalf(const ValueInfo* v, DataType narrow) {
  return v && (v->dtype == DataType::FLOAT32 || (narrow != DataType::FLOAT32 && IsNarrowStorage(*v, narrow)));
}

Status MakeElementwise(const KernelInit& init, DataType narrow, const char* kernel_name,
                       std::unique_ptr<Kernel>* kernel) {
  const ValueInfo* a = init.inputs.size() > 1 ? init.inputs[0] : nullptr;
  const ValueInfo* b = init.inputs.size() > 1 ? init.inputs[1] : nullptr;
  const std::string name = init.attrs.Str("op");
  if (init.outputs.size() == 1 &&
      ChannelBlockedOperand(init, init.outputs[0].layout, narrow == DataType::FLOAT16, /*assigned=*/true) >= 0)
    return MakeChannelBlocked(init, kernel_name, kernel);
  if (narrow == DataType::BFLOAT16 && ChannelsLastOperand(init, /*assigned=*/true) >= 0)
    return MakeChannelsLast(init, kernel_name, kernel);
  static const std::tuple<const char*, RunFn, SelectRunHalfFn> kOps[] = {
      {"add", Run<Op::kAdd>, SelectRunHalf<Op::kAdd>},      {"sub", Run<Op::kSub>, SelectRunHalf<Op::kSub>},
      {"mul", Run<Op::kMul>, SelectRunHalf<Op::kMul>},      {"div", Run<Op::kDiv>, SelectRunHalf<Op::kDiv>},
      {"max", Run<Op::kMax>, SelectRunHalf<Op::kMax>},      {"min", Run<Op::kMin>, SelectRunHalf<Op::kMin>},
      {"pow", Run<Op::kSquare>, SelectRunHalf<Op::kSquare>}};  // a constant exponent of 2 only (SquareExponent)
  Plan plan;
  SelectRunHalfFn select_half = nullptr;
  for (const auto& [op_name, fn, half_fn] : kOps)
    if (name == op_name) {
      plan.run = fn;
      select_half = half_fn;
    }
  if (name == "pow" && !SquareExponent(init)) plan.run = nullptr;  // any other exponent: the reference
  if (!FloatOrHalf(a, narrow) || !FloatOrHalf(b, narrow) || init.outputs.size() != 1 ||
      !FloatOrHalf(&init.outputs[0], narrow) || !plan.run || !ir::IsStatic(a->shape) || !ir::IsStatic(b->shape))
    return Internal("elementwise '", name, "' on these types is not this kernel's: the registry picks the reference");
  ir::Shape out;
  MIXQ_RETURN_IF_ERROR(BroadcastShapes(a->shape, b->shape, &out));
  const auto as = Steps(a->shape, out), bs = Steps(b->shape, out), dense = ir::Strides(out);
  // The longest suffix of axes over which each operand is contiguous or constant.
  size_t k = out.size();
  int sa = -1, sb = -1;
  while (k > 0) {
    const size_t d = k - 1;
    const int ea = as[d] == 0 ? 0 : (as[d] == dense[d] ? 1 : -1);
    const int eb = bs[d] == 0 ? 0 : (bs[d] == dense[d] ? 1 : -1);
    if (ea < 0 || eb < 0 || (sa >= 0 && ea != sa) || (sb >= 0 && eb != sb)) break;
    sa = ea;
    sb = eb;
    plan.inner *= out[d];
    --k;
  }
  plan.sa = sa < 0 ? 1 : sa;
  plan.sb = sb < 0 ? 1 : sb;
  plan.outer.assign(out.begin(), out.begin() + static_cast<long>(k));
  plan.a_outer.assign(as.begin(), as.begin() + static_cast<long>(k));
  plan.b_outer.assign(bs.begin(), bs.begin() + static_cast<long>(k));
  plan.a_half = narrow != DataType::FLOAT32 && IsNarrowStorage(*a, narrow);
  plan.b_half = narrow != DataType::FLOAT32 && IsNarrowStorage(*b, narrow);
  plan.y_half = narrow != DataType::FLOAT32 && IsNarrowStorage(init.outputs[0], narrow);
  plan.bf16 = narrow == DataType::BFLOAT16;
  if (plan.a_half || plan.b_half || plan.y_half) {
    plan.run_half = select_half(plan.a_half, plan.b_half, plan.y_half, plan.bf16);
    return MakeHalfKernel(plan, kernel_name, kernel);
  }
  if (init.HasPostOps() && init.post_ops->front().kind == PostOp::Kind::kAdd) {
    if (init.post_ops->size() != 1) return Internal("elementwise '", name, "': one residual add at most");
    const PostOp add = init.post_ops->front();
    // The op, then the add of a same-shaped tensor, over L1-sized chunks of
    // each run: y + r (or r + y, the order the add step had), in float32.
    return MakeFunctionKernel(
        [plan, add](const std::vector<TensorView>& in, const std::vector<TensorView>& out_views) {
          const float* pa = in[0].Data<float>();
          const float* pb = in[1].Data<float>();
          const float* pr = in[static_cast<size_t>(add.input)].Data<float>();
          float* y = out_views[0].Data<float>();
          constexpr int64_t kChunk = 2048;
          ForEachSpan(plan, [&](int64_t r, int64_t ia, int64_t ib, int64_t begin, int64_t count) {
            float* yr = y + r * plan.inner;
            const float* rr = pr + r * plan.inner;
            for (int64_t at = begin; at < begin + count; at += kChunk) {
              const int64_t n = std::min(kChunk, begin + count - at);
              plan.run(pa + ia + at * plan.sa, pb + ib + at * plan.sb, yr + at, n, plan.sa, plan.sb);
              if (add.add_first)
                for (int64_t i = at; i < at + n; ++i) yr[i] = rr[i] + yr[i];
              else
                for (int64_t i = at; i < at + n; ++i) yr[i] = yr[i] + rr[i];
            }
          });
          return Status::OK();
        },
        kernel, kernel_name);
  }
  if (init.HasPostOps()) {
    if (init.post_ops->size() != 1 || init.post_ops->front().kind != PostOp::Kind::kFakeQuantize || plan.a_half ||
        plan.b_half || plan.y_half)
      return Internal("elementwise '", name, "': the only post-op this kernel takes is one FakeQuantize");
    const PostOp fq = init.post_ops->front();
    // The op, then the FakeQuantize, over L1-sized chunks of each run.
    return MakeFunctionKernel(
        [plan, fq](const std::vector<TensorView>& in, const std::vector<TensorView>& out_views) {
          const float* pa = in[0].Data<float>();
          const float* pb = in[1].Data<float>();
          float* y = out_views[0].Data<float>();
          constexpr int64_t kChunk = 2048;
          ForEachSpan(plan, [&](int64_t r, int64_t ia, int64_t ib, int64_t begin, int64_t count) {
            float* yr = y + r * plan.inner;
            for (int64_t at = begin; at < begin + count; at += kChunk) {
              const int64_t n = std::min(kChunk, begin + count - at);
              plan.run(pa + ia + at * plan.sa, pb + ib + at * plan.sb, yr + at, n, plan.sa, plan.sb);
              FakeQuantizeRowAvx2(yr + at, yr + at, n, fq.scale, fq.zero_point, fq.bits);
            }
          });
          return Status::OK();
        },
        kernel, kernel_name);
  }
  return MakeFunctionKernel(
      [plan](const std::vector<TensorView>& in, const std::vector<TensorView>& out_views) {
        const float* pa = in[0].Data<float>();
        const float* pb = in[1].Data<float>();
        float* y = out_views[0].Data<float>();
        ForEachSpan(plan, [&](int64_t r, int64_t ia, int64_t ib, int64_t begin, int64_t n) {
          plan.run(pa + ia + begin * plan.sa, pb + ib + begin * plan.sb, y + r * plan.inner + begin, n, plan.sa,
                   plan.sb);
        });
        return Status::OK();
      },
      kernel, kernel_name);
}

}  // namespace

Status MakeElementwiseFast(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeElementwise(init, DataType::FLOAT32, "cpu-fast", kernel);
}

namespace {
// pow whose exponent is a constant of 2 everywhere: the square, which the
// kernel computes as the reference does (a * a).
bool SquareExponent(const KernelInit& init) {
  if (init.inputs.size() < 2 || !init.inputs[1] || !init.inputs[1]->const_data ||
      init.inputs[1]->dtype != DataType::FLOAT32 || !ir::IsStatic(init.inputs[1]->shape))
    return false;
  const auto* b = static_cast<const float*>(init.inputs[1]->const_data);
  const int64_t n = ir::ElementCount(init.inputs[1]->shape);
  for (int64_t i = 0; i < n; ++i)
    if (b[i] != 2.0f) return false;
  return n > 0;
}

// One per-tensor FakeQuantize (scale > 0 and finite, 8 or 16 bits) on an
// AVX2 CPU: the fused form (runtime/fusion/fuse_fake_quantize.cc).
bool FakeQuantizePostOp(const KernelInit& init) {
  if (!init.post_ops || init.post_ops->size() != 1) return false;
  const PostOp& op = init.post_ops->front();
  return op.kind == PostOp::Kind::kFakeQuantize && op.scale > 0.0f && op.scale <= FLT_MAX &&
         (op.bits == 8 || op.bits == 16) && kernels::DetectedCpuFeatures().avx2;
}

// One add of a tensor of the output's shape (fuse_residual_add.cc).
bool ResidualAddPostOp(const KernelInit& init) {
  if (!init.post_ops || init.post_ops->size() != 1) return false;
  const PostOp& op = init.post_ops->front();
  return op.kind == PostOp::Kind::kAdd && op.input >= 2 && static_cast<size_t>(op.input) < init.inputs.size() &&
         init.inputs[static_cast<size_t>(op.input)] &&
         init.inputs[static_cast<size_t>(op.input)]->shape == init.outputs[0].shape &&
         ir::IsStatic(init.outputs[0].shape);
}

// The layouts the kernels compute in: element by element (every input of
// the output's shape in the output's layout, any other input one value or,
// with everything plain, a broadcast), or the channel form
// (channel_blocked.h).
bool LayoutsFit(const KernelInit& init, bool half) {
  if (init.outputs.size() != 1) return false;
  const ValueInfo& out = init.outputs[0];
  if (ChannelBlockedOperand(init, out.layout, half, /*assigned=*/true) >= 0) return true;
  if (ChannelsLastOperand(init, /*assigned=*/true) >= 0) return true;
  for (const ValueInfo* v : init.inputs) {
    if (!v) continue;
    const bool fits = v->shape == out.shape ? v->layout == out.layout
                                            : ir::ElementCount(v->shape) == 1 || (v->layout == MemoryLayout::kPlain &&
                                                                                  out.layout == MemoryLayout::kPlain);
    if (!fits) return false;
  }
  return true;
}

bool SupportsFast(const KernelInit& init) {
  return (!init.HasPostOps() || FakeQuantizePostOp(init) || ResidualAddPostOp(init)) && AllPlainFloat32(init) &&
         LayoutsFit(init, /*half=*/false) && (init.attrs.Str("op") != "pow" || SquareExponent(init));
}

template <DataType kNarrow>
bool SupportsHalf(const KernelInit& init) {
  return !init.HasPostOps() && init.inputs.size() == 2 && init.inputs[0] && init.inputs[1] &&
         ir::IsStatic(init.inputs[0]->shape) && ir::IsStatic(init.inputs[1]->shape) &&
         NarrowOrFloatStorage(init, kNarrow) && LayoutsFit(init, kNarrow == DataType::FLOAT16) &&
         (init.attrs.Str("op") != "pow" || SquareExponent(init));
}

template <DataType kNarrow>
Status MakeHalf(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeElementwise(init, kNarrow, kNarrow == DataType::FLOAT16 ? "avx2-f16" : "avx2-bf16", kernel);
}
}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(elementwise, fast) {
  mixq::ops::RegisterKernel({"cpu-fast", mixq::OpKind::kElementwise, mixq::kernels::Isa::kGeneric, 10,
                             mixq::ops::SupportsFast, mixq::ops::MakeElementwiseFast,
                             mixq::ops::BinaryBlockedSlots<false>, nullptr, mixq::ops::OperandAlias});
  mixq::ops::RegisterKernel({"avx2-f16", mixq::OpKind::kElementwise, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::SupportsHalf<mixq::DataType::FLOAT16>,
                             mixq::ops::MakeHalf<mixq::DataType::FLOAT16>, mixq::ops::BinaryBlockedSlots<true>, nullptr,
                             mixq::ops::OperandAlias});
  // bfloat16 storage; in the bfloat16 convolutions' channels-last layout
  // too (a squeeze-excitation block's x * scale between them).
  mixq::ops::RegisterKernel({"avx2-bf16", mixq::OpKind::kElementwise, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::SupportsHalf<mixq::DataType::BFLOAT16>,
                             mixq::ops::MakeHalf<mixq::DataType::BFLOAT16>, mixq::ops::BFloat16ChannelsLastSlots});
}
