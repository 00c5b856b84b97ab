// Optimized CPU kernel of Elementwise for FLOAT32 add, sub, mul, div, max and
// min: the broadcast is split into an outer walk and an inner run where each
// operand is either contiguous or a single repeated value, so the inner loop
// vectorizes. Bit-exact with the reference: the same float operations on the
// same pairs. pow and integer types run the reference.
#include "ops/elementwise/cpu.h"

#include "ops/kernel_registry.h"
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

enum class Op { kAdd, kSub, kMul, kDiv, kMax, kMin };

template <Op op>
inline float Apply(float a, float b) {
  if constexpr (op == Op::kAdd) return a + b;
  if constexpr (op == Op::kSub) return a - b;
  if constexpr (op == Op::kMul) return a * b;
  if constexpr (op == Op::kDiv) return a / b;
  if constexpr (op == Op::kMax) return (a > b || a != a) ? a : b;  // NaN propagates, as the reference
  if constexpr (op == Op::kMin) return (a < b || a != a) ? a : b;
}

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

struct Plan {
  RunFn run = nullptr;
  ir::Shape outer;                        // output dims before the run
  std::vector<int64_t> a_outer, b_outer;  // operand steps along them
  int64_t inner = 1;
  int sa = 1, sb = 1;
};

// Per output axis: the operand's step (0 where it is broadcast).
std::vector<int64_t> Steps(const ir::Shape& in, const ir::Shape& out) {
  const size_t lead = out.size() - in.size();
  const auto dense = ir::Strides(in);
  std::vector<int64_t> steps(out.size(), 0);
  for (size_t i = 0; i < in.size(); ++i) steps[lead + i] = in[i] == 1 ? 0 : dense[i];
  return steps;
}

}  // namespace

Status MakeElementwiseFast(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  const ValueInfo* a = init.inputs.size() > 1 ? init.inputs[0] : nullptr;
  const ValueInfo* b = init.inputs.size() > 1 ? init.inputs[1] : nullptr;
  const std::string name = init.attrs.Str("op");
  static const std::pair<const char*, RunFn> kOps[] = {{"add", Run<Op::kAdd>}, {"sub", Run<Op::kSub>},
                                                       {"mul", Run<Op::kMul>}, {"div", Run<Op::kDiv>},
                                                       {"max", Run<Op::kMax>}, {"min", Run<Op::kMin>}};
  Plan plan;
  for (const auto& [op_name, fn] : kOps)
    if (name == op_name) plan.run = fn;
  if (!a || !b || a->dtype != DataType::FLOAT32 || b->dtype != DataType::FLOAT32 || !plan.run ||
      !ir::IsStatic(a->shape) || !ir::IsStatic(b->shape))
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
  return MakeFunctionKernel(
      [plan](const std::vector<TensorView>& in, const std::vector<TensorView>& out_views) {
        const float* pa = in[0].Data<float>();
        const float* pb = in[1].Data<float>();
        float* y = out_views[0].Data<float>();
        const int64_t runs = ir::ElementCount(plan.outer);
        std::vector<int64_t> index(plan.outer.size(), 0);
        int64_t ia = 0, ib = 0;
        for (int64_t r = 0; r < runs; ++r) {
          plan.run(pa + ia, pb + ib, y + r * plan.inner, plan.inner, plan.sa, plan.sb);
          for (size_t d = index.size(); d-- > 0;) {
            ia += plan.a_outer[d];
            ib += plan.b_outer[d];
            if (++index[d] < plan.outer[d]) break;
            ia -= plan.a_outer[d] * index[d];
            ib -= plan.b_outer[d] * index[d];
            index[d] = 0;
          }
        }
        return Status::OK();
      },
      kernel, "cpu-fast");
}

namespace {
bool SupportsFast(const KernelInit& init) {
  return !init.HasPostOps() && AllPlainFloat32(init) && init.attrs.Str("op") != "pow";
}
}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(elementwise, fast) {
  mixq::ops::RegisterKernel({"cpu-fast", mixq::OpKind::kElementwise, mixq::kernels::Isa::kGeneric, 10, mixq::ops::SupportsFast,
                             mixq::ops::MakeElementwiseFast});
}
