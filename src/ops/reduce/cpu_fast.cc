// "cpu-fast" Reduce: float32, the reduced axes one block of consecutive
// axes, so the input is [outer, reduced, inner] and output (o, i) folds
// x[(o * reduced + r) * inner + i] for r = 0, 1, ... Each output is folded
// in double in that order, the reference's (op.cc walks the input in memory
// order), with the same comparisons for max / min and the same division for
// mean: bit-exact. What it saves is the reference's per-element index
// walk: inner > 1 folds whole rows (vectorized, the outputs side by side),
// inner == 1 (a trailing-axes mean: a decomposed LayerNorm's) folds 8
// outputs at once, 8 independent chains. Outer blocks split over threads
// past kernels::kMinParallelElements.
#include <omp.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/parallel.h"
#include "ops/kernel_registry.h"
#include "ops/op_util.h"
#include "ops/reduce/reduce_attrs.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

struct Shape3 {
  int64_t outer = 1, reduced = 1, inner = 1;
};

// The [outer, reduced, inner] view, when the reduced axes are consecutive
// (size-1 axes may sit anywhere); false otherwise.
bool Fold(const KernelInit& init, Shape3* s) {
  const ir::Shape& shape = init.inputs[0]->shape;
  std::vector<bool> reduced;
  if (!ReducedAxes(init.attrs, static_cast<int64_t>(shape.size()), &reduced).ok()) return false;
  int phase = 0;  // 0: before the reduced block, 1: in it, 2: after it
  for (size_t a = 0; a < shape.size(); ++a) {
    if (shape[a] == 1) continue;
    if (reduced[a]) {
      if (phase == 2) return false;
      phase = 1;
      s->reduced *= shape[a];
    } else {
      if (phase == 1) phase = 2;
      (phase == 0 ? s->outer : s->inner) *= shape[a];
    }
  }
  return true;
}

template <RedOp kOp>
inline void Accumulate(double& a, double v) {
  if constexpr (kOp == RedOp::kMean || kOp == RedOp::kSum) a += v;
  if constexpr (kOp == RedOp::kMax)
    if (v > a || v != v) a = v;  // NaN propagates: once a is NaN no comparison replaces it
  if constexpr (kOp == RedOp::kMin)
    if (v < a || v != v) a = v;
}

template <RedOp kOp>
constexpr double Identity() {
  if constexpr (kOp == RedOp::kMax) return -std::numeric_limits<double>::infinity();
  if constexpr (kOp == RedOp::kMin) return std::numeric_limits<double>::infinity();
  return 0.0;
}

template <RedOp kOp>
inline float Finish(double a, int64_t reduced) {
  if constexpr (kOp == RedOp::kMean) a /= static_cast<double>(reduced);
  return static_cast<float>(a);
}

// Outputs [first, last) of the outer axis (inner == 1): 8 chains at a time.
template <RedOp kOp>
void FoldRows(const float* x, float* y, int64_t first, int64_t last, int64_t reduced) {
  constexpr int kChains = 8;
  int64_t o = first;
  for (; o + kChains <= last; o += kChains) {
    double acc[kChains];
    for (double& a : acc) a = Identity<kOp>();
    const float* row = x + o * reduced;
    for (int64_t r = 0; r < reduced; ++r)
      for (int k = 0; k < kChains; ++k) Accumulate<kOp>(acc[k], row[k * reduced + r]);
    for (int k = 0; k < kChains; ++k) y[o + k] = Finish<kOp>(acc[k], reduced);
  }
  for (; o < last; ++o) {
    double acc = Identity<kOp>();
    for (int64_t r = 0; r < reduced; ++r) Accumulate<kOp>(acc, x[o * reduced + r]);
    y[o] = Finish<kOp>(acc, reduced);
  }
}

// Outer positions [first, last) (inner > 1): whole rows of `inner` outputs.
template <RedOp kOp>
void FoldPlanes(const float* x, float* y, int64_t first, int64_t last, const Shape3& s, std::vector<double>* acc) {
  acc->resize(static_cast<size_t>(s.inner));
  double* a = acc->data();
  for (int64_t o = first; o < last; ++o) {
    std::fill(a, a + s.inner, Identity<kOp>());
    for (int64_t r = 0; r < s.reduced; ++r) {
      const float* row = x + (o * s.reduced + r) * s.inner;
      for (int64_t i = 0; i < s.inner; ++i) Accumulate<kOp>(a[i], row[i]);
    }
    for (int64_t i = 0; i < s.inner; ++i) y[o * s.inner + i] = Finish<kOp>(a[i], s.reduced);
  }
}

template <RedOp kOp>
Status MakeFold(const Shape3& s, std::unique_ptr<Kernel>* kernel) {
  return MakeFunctionKernel(
      [s](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const float* x = in[0].Data<float>();
        float* y = out[0].Data<float>();
        const bool parallel =
            s.outer > 1 && s.outer * s.reduced * s.inner > kernels::kMinParallelElements && omp_get_max_threads() > 1;
        auto part = [&](int64_t first, int64_t last, std::vector<double>* acc) {
          if (s.inner == 1)
            FoldRows<kOp>(x, y, first, last, s.reduced);
          else
            FoldPlanes<kOp>(x, y, first, last, s, acc);
        };
        if (!parallel) {
          std::vector<double> acc;
          part(0, s.outer, &acc);
          return Status::OK();
        }
#pragma omp parallel
        {
          const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
          std::vector<double> acc;
          part(s.outer * t / nt, s.outer * (t + 1) / nt, &acc);
        }
        return Status::OK();
      },
      kernel, "cpu-fast");
}

bool Supports(const KernelInit& init) {
  Shape3 s;
  RedOp op;
  return !init.HasPostOps() && init.inputs.size() == 1 && init.inputs[0] && init.outputs.size() == 1 &&
         AllPlainFloat32(init) && UniformLayout(init) && ir::IsStatic(init.inputs[0]->shape) &&
         ParseOp(init.attrs, &op).ok() && Fold(init, &s) && s.reduced > 0 && s.outer > 0 && s.inner > 0 &&
         ir::ElementCount(init.inputs[0]->shape) > 0;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  Shape3 s;
  RedOp op;
  MIXQ_RETURN_IF_ERROR(ParseOp(init.attrs, &op));
  if (!Supports(init)) return Internal("Reduce cpu-fast does not take this step");
  Fold(init, &s);
  switch (op) {
    case RedOp::kMean:
      return MakeFold<RedOp::kMean>(s, kernel);
    case RedOp::kSum:
      return MakeFold<RedOp::kSum>(s, kernel);
    case RedOp::kMax:
      return MakeFold<RedOp::kMax>(s, kernel);
    case RedOp::kMin:
      return MakeFold<RedOp::kMin>(s, kernel);
  }
  return Internal("Reduce cpu-fast: unknown op");
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(reduce, fast) {
  mixq::ops::RegisterKernel(
      {"cpu-fast", mixq::OpKind::kReduce, mixq::kernels::Isa::kGeneric, 10, mixq::ops::Supports, mixq::ops::Make});
}
