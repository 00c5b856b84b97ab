// Optimized CPU kernel of Resize. The reference visits all 2^rank tap
// combinations of every output element; here only the axes that interpolate
// somewhere ("active" axes) are combined, and nearest mode is a plain gather.
// Bit-exact with the reference: the same nonzero terms, weights multiplied in
// the same axis order and summed in the same order in double (a factor of 1.0
// from an inactive axis is exact, and zero-weight terms are skipped in both).
// Quantized INT8 and INT16 tensors resize on their integers when nothing
// interpolates (nearest, or sizes that map every output onto one input): a
// gather (PP-OCR det qint16's three 8x / 4x / 2x upsamplings ran the
// reference's per-element loop: 0.36 ms each against 0.02).
// "cpu-fast-f16" runs FLOAT16 storage: a gather moves the 16-bit values
// (exact), interpolation widens each tap and rounds the float result to
// float16 once, the values of the Cast steps around the float kernel.
// "cpu-fast-bf16" the same on BFLOAT16 storage.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/half_io.h"
#include "ops/half_storage.h"
#include "ops/kernel_registry.h"
#include "ops/op_util.h"
#include "ops/resize/cpu.h"
#include "util/half.h"

namespace mixq::ops {

namespace {

struct FastPlan {
  ResizeParams p;
  std::vector<size_t> active;                    // axes with a nonzero second-tap weight
  std::vector<std::vector<int64_t>> first_off;   // per axis and output index: first tap * input stride
  std::vector<std::vector<int64_t>> second_off;  // the same for the second tap
  int64_t repeat = 1;  // > 1: the last axis reads input element j / repeat (contiguous), repeat | its size
};

// Nearest (no active axis): each output row is a gather along the last axis.
// An output row that reads the same input row as the one before it (a 2x
// upsampling repeats every row) is a copy of it; a last axis that repeats
// each input element `repeat` times (an integer upsampling) is a fill. Rows
// are split among threads in contiguous runs, each starting with a gather.
template <typename T>
void Gather(const FastPlan& f, const T* x, T* y) {
  const ResizeParams& p = f.p;
  const size_t rank = p.out.size(), last = rank - 1;
  const int64_t inner = p.out[last], rows = ir::ElementCount(p.out) / std::max<int64_t>(inner, 1);
  if (inner == 0 || rows == 0) return;
  const int64_t* off = f.first_off[last].data();
  const int threads = rows * inner >= (int64_t{1} << 16) ? std::max(1, omp_get_max_threads()) : 1;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (int part = 0; part < threads; ++part) {
    const int64_t first = rows * part / threads, end = rows * (part + 1) / threads;
    int64_t previous_base = -1;
    for (int64_t r = first; r < end; ++r) {
      int64_t base = 0;
      for (int64_t rest = r, a = static_cast<int64_t>(last) - 1; a >= 0; --a) {
        base += f.first_off[static_cast<size_t>(a)][static_cast<size_t>(rest % p.out[static_cast<size_t>(a)])];
        rest /= p.out[static_cast<size_t>(a)];
      }
      T* row = y + r * inner;
      if (base == previous_base) {
        std::memcpy(row, row - inner, static_cast<size_t>(inner) * sizeof(T));
        continue;
      }
      previous_base = base;
      if (f.repeat > 1) {
        const T* from = x + base;
        if (f.repeat == 2) {  // the common 2x: a loop the compiler vectorizes
          for (int64_t i = 0; i < inner / 2; ++i) row[2 * i] = row[2 * i + 1] = from[i];
        } else {
          for (int64_t i = 0, j = 0; j < inner; ++i)
            for (int64_t t = 0; t < f.repeat; ++t) row[j++] = from[i];
        }
      } else {
        for (int64_t j = 0; j < inner; ++j) row[j] = x[base + off[j]];
      }
    }
  }
}

inline float Load(float v) {
  return v;
}
inline float Load(uint16_t v) {
  return HalfToFloat(v);
}
inline void Store(float v, float* y) {
  *y = v;
}
inline void Store(float v, uint16_t* y) {
  *y = FloatToHalf(v);
}
using kernels::BFloat16Bits;  // bfloat16 storage
inline float Load(BFloat16Bits v) {
  return BFloat16ToFloat(v.bits);
}
inline void Store(float v, BFloat16Bits* y) {
  y->bits = FloatToBFloat16(v);
}

// T: float, or uint16_t for float16 storage, or BFloat16Bits.
template <typename T>
void Run(const FastPlan& f, const T* x, T* y) {
  const ResizeParams& p = f.p;
  const size_t rank = p.out.size();
  const int64_t count = ir::ElementCount(p.out);
  if (rank == 0) {
    if (count == 1) y[0] = x[0];
    return;
  }
  if (f.active.empty()) return Gather(f, x, y);
  const size_t last = rank - 1;
  const int64_t inner = p.out[last];
  std::vector<int64_t> index(rank, 0);
  for (int64_t k = 0; k < count; k += inner) {
    int64_t base = 0;  // first taps of every axis but the last
    for (size_t a = 0; a < last; ++a) base += f.first_off[a][static_cast<size_t>(index[a])];
    for (int64_t j = 0; j < inner; ++j) {
      index[last] = j;
      double value = 0.0;
      const size_t n = f.active.size();
      for (uint64_t mask = 0; mask < (uint64_t{1} << n); ++mask) {
        double weight = 1.0;
        // Start from the first taps; swap in the second taps of the chosen active axes.
        int64_t offset = base + f.first_off[last][static_cast<size_t>(j)];
        for (size_t b = 0; b < n && weight != 0.0; ++b) {
          const size_t a = f.active[b];
          const size_t o = static_cast<size_t>(index[a]);
          const double w = p.axes[a].weight[o];
          const bool second = (mask >> b) & 1;
          weight *= second ? w : 1.0 - w;
          if (second) offset += f.second_off[a][o] - f.first_off[a][o];
        }
        if (weight != 0.0) value += weight * Load(x[offset]);
      }
      Store(static_cast<float>(value), y + k + j);
    }
    for (size_t a = last; a-- > 0;) {
      if (++index[a] < p.out[a]) break;
      index[a] = 0;
    }
  }
}

}  // namespace

Status MakeResizeFast(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  FastPlan f;
  MIXQ_RETURN_IF_ERROR(BuildResizeParams(init, &f.p));
  const size_t rank = f.p.out.size();
  for (size_t a = 0; a < rank; ++a) {
    const AxisTaps& t = f.p.axes[a];
    bool active = false;
    for (double w : t.weight) active = active || w != 0.0;
    if (active) f.active.push_back(a);
    f.first_off.emplace_back();
    f.second_off.emplace_back();
    for (size_t o = 0; o < t.first.size(); ++o) {
      f.first_off[a].push_back(t.first[o] * f.p.in_strides[a]);
      f.second_off[a].push_back(t.second[o] * f.p.in_strides[a]);
    }
  }
  if (rank > 0 && f.active.empty()) {  // an integer upsampling of the last axis, contiguous?
    const std::vector<int64_t>& off = f.first_off[rank - 1];
    const int64_t inner = f.p.out[rank - 1];
    for (int64_t r = 2; r <= 8 && f.repeat == 1; ++r) {
      bool all = inner % r == 0;
      for (int64_t j = 0; j < inner && all; ++j) all = off[static_cast<size_t>(j)] == j / r;
      if (all) f.repeat = r;
    }
  }
  if (IsHalfStorage(*init.inputs[0])) {
    return MakeFunctionKernel(
        [f](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
          Run(f, in[0].Data<const uint16_t>(), out[0].Data<uint16_t>());
          return Status::OK();
        },
        kernel, "cpu-fast-f16");
  }
  if (IsNarrowStorage(*init.inputs[0], DataType::BFLOAT16)) {
    return MakeFunctionKernel(
        [f](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
          Run(f, reinterpret_cast<const BFloat16Bits*>(in[0].Data<const uint16_t>()),
              reinterpret_cast<BFloat16Bits*>(out[0].Data<uint16_t>()));
          return Status::OK();
        },
        kernel, "cpu-fast-bf16");
  }
  if (init.inputs[0]->dtype == DataType::INT8 || init.inputs[0]->dtype == DataType::INT16) {
    if (!f.active.empty() || rank == 0) return Internal("Resize cpu-fast: an integer resize that interpolates");
    if (init.inputs[0]->dtype == DataType::INT16)
      return MakeFunctionKernel(
          [f](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
            Gather(f, in[0].Data<const int16_t>(), out[0].Data<int16_t>());
            return Status::OK();
          },
          kernel, "cpu-fast");
    return MakeFunctionKernel(
        [f](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
          Gather(f, in[0].Data<const int8_t>(), out[0].Data<int8_t>());
          return Status::OK();
        },
        kernel, "cpu-fast");
  }
  return MakeFunctionKernel(
      [f](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        Run(f, in[0].Data<const float>(), out[0].Data<float>());
        return Status::OK();
      },
      kernel, "cpu-fast");
}

namespace {
// Same quantization on both sides: the integers move unchanged.
bool SameIntegers(const KernelInit& init) {
  const ValueInfo* x = init.inputs.empty() ? nullptr : init.inputs[0];
  if (!x || (x->dtype != DataType::INT8 && x->dtype != DataType::INT16) || !x->quant || init.outputs.size() != 1)
    return false;
  const ValueInfo& y = init.outputs[0];
  if (y.dtype != x->dtype || !y.quant || y.quant->scales != x->quant->scales ||
      y.quant->zero_points != x->quant->zero_points)
    return false;
  for (size_t i = 1; i < init.inputs.size(); ++i)  // scales / sizes inputs: constants only
    if (init.inputs[i] && !init.inputs[i]->const_data) return false;
  ResizeParams p;
  if (!BuildResizeParams(init, &p).ok() || p.out.empty()) return false;
  for (const AxisTaps& t : p.axes)
    for (double w : t.weight)
      if (w != 0.0) return false;
  return true;
}

bool SupportsFast(const KernelInit& init) {
  return !init.HasPostOps() && (AllPlainFloat32(init) || SameIntegers(init));
}

// FLOAT16 (kNarrow) or BFLOAT16 storage in and out; scales / sizes / roi as
// FLOAT32 or integer constants.
template <DataType kNarrow>
bool SupportsHalf(const KernelInit& init) {
  if (init.HasPostOps() || init.inputs.empty() || !init.inputs[0] || init.outputs.size() != 1) return false;
  if (!IsNarrowStorage(*init.inputs[0], kNarrow) || !IsNarrowStorage(init.outputs[0], kNarrow)) return false;
  for (size_t i = 1; i < init.inputs.size(); ++i)
    if (init.inputs[i] && (!init.inputs[i]->const_data || init.inputs[i]->narrowed)) return false;
  ResizeParams p;
  return BuildResizeParams(init, &p).ok();
}
}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(resize, fast) {
  mixq::ops::RegisterKernel({"cpu-fast", mixq::OpKind::kResize, mixq::kernels::Isa::kGeneric, 10,
                             mixq::ops::SupportsFast, mixq::ops::MakeResizeFast});
  mixq::ops::RegisterKernel({"cpu-fast-f16", mixq::OpKind::kResize, mixq::kernels::Isa::kGeneric, 10,
                             mixq::ops::SupportsHalf<mixq::DataType::FLOAT16>, mixq::ops::MakeResizeFast});
  mixq::ops::RegisterKernel({"cpu-fast-bf16", mixq::OpKind::kResize, mixq::kernels::Isa::kGeneric, 10,
                             mixq::ops::SupportsHalf<mixq::DataType::BFLOAT16>, mixq::ops::MakeResizeFast});
}
