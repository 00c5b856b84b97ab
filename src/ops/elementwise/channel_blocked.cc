// The channel form of Elementwise (channel_blocked.h). Element (n, c, p) of
// an [N, C, H, W] tensor in nChwBc sits at ((n * C/B + c/B) * H*W + p) * B +
// c % B: each block of B channels is a contiguous run of H*W*B values, and
// the per-channel operand's B values of that block repeat along it.
#include "ops/elementwise/channel_blocked.h"

#include <immintrin.h>
#include <omp.h>

#include <cstring>
#include <string>
#include <type_traits>

#include "kernels/cpu_features.h"
#include "kernels/half_io.h"
#include "kernels/parallel.h"
#include "ops/elementwise/binary_math.h"
#include "ops/half_storage.h"
#include "ops/op_util.h"
#include "util/half.h"

namespace mixq::ops {

namespace {

using elementwise::Apply8;
using elementwise::Op;

bool OpOf(const std::string& name, Op* op) {
  static const std::pair<const char*, Op> kOps[] = {{"add", Op::kAdd}, {"sub", Op::kSub}, {"mul", Op::kMul},
                                                    {"div", Op::kDiv}, {"max", Op::kMax}, {"min", Op::kMin}};
  for (const auto& [n, o] : kOps)
    if (name == n) {
      *op = o;
      return true;
    }
  return false;
}

// make(std::integral_constant<Op, op>{}) for the op named at run time (the
// runs are templates on it); null for an op without a channel form.
template <typename Make>
auto ForOp(Op op, Make make) -> decltype(make(std::integral_constant<Op, Op::kAdd>{})) {
  switch (op) {
    case Op::kAdd:
      return make(std::integral_constant<Op, Op::kAdd>{});
    case Op::kSub:
      return make(std::integral_constant<Op, Op::kSub>{});
    case Op::kMul:
      return make(std::integral_constant<Op, Op::kMul>{});
    case Op::kDiv:
      return make(std::integral_constant<Op, Op::kDiv>{});
    case Op::kMax:
      return make(std::integral_constant<Op, Op::kMax>{});
    case Op::kMin:
      return make(std::integral_constant<Op, Op::kMin>{});
    default:
      return nullptr;
  }
}

template <bool kHalf>
MIXQ_F16C inline __m256 Load(const void* p, int64_t i) {
  if constexpr (kHalf)
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(p) + i)));
  else
    return _mm256_loadu_ps(static_cast<const float*>(p) + i);
}

template <bool kHalf>
MIXQ_F16C inline void Store(void* p, int64_t i, __m256 v) {
  if constexpr (kHalf)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<uint16_t*>(p) + i),
                     _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  else
    _mm256_storeu_ps(static_cast<float*>(p) + i, v);
}

// The pair in the step's operand order: op(c, x) when the per-channel
// operand is the first.
template <Op op, bool kChannelFirst>
MIXQ_F16C inline __m256 Pair(__m256 x, __m256 c) {
  if constexpr (kChannelFirst)
    return Apply8<op>(c, x);
  else
    return Apply8<op>(x, c);
}

// One block's run: `pixels` groups of `block` (8 or 16) values of x, each
// paired with the block's per-channel values c[0..block).
using RunFn = void (*)(const void* x, const float* c, void* y, int64_t pixels, int block);

template <Op op, bool kChannelFirst, bool kXHalf, bool kYHalf>
MIXQ_F16C void ChannelRun(const void* x, const float* c, void* y, int64_t pixels, int block) {
  const int64_t n = pixels * block;
  const __m256 c0 = _mm256_loadu_ps(c);
  if (block == 16) {
    const __m256 c1 = _mm256_loadu_ps(c + 8);
    for (int64_t i = 0; i < n; i += 16) {
      const __m256 a = Load<kXHalf>(x, i), b = Load<kXHalf>(x, i + 8);
      Store<kYHalf>(y, i, Pair<op, kChannelFirst>(a, c0));
      Store<kYHalf>(y, i + 8, Pair<op, kChannelFirst>(b, c1));
    }
  } else {
    for (int64_t i = 0; i < n; i += 8) Store<kYHalf>(y, i, Pair<op, kChannelFirst>(Load<kXHalf>(x, i), c0));
  }
}

template <Op op>
RunFn PickRun(bool channel_first, bool x_half, bool y_half) {
  static constexpr RunFn kRuns[2][2][2] = {{{ChannelRun<op, false, false, false>, ChannelRun<op, false, false, true>},
                                            {ChannelRun<op, false, true, false>, ChannelRun<op, false, true, true>}},
                                           {{ChannelRun<op, true, false, false>, ChannelRun<op, true, false, true>},
                                            {ChannelRun<op, true, true, false>, ChannelRun<op, true, true, true>}}};
  return kRuns[channel_first][x_half][y_half];
}

RunFn Pick(Op op, bool channel_first, bool x_half, bool y_half) {
  return ForOp(op, [&](auto o) { return PickRun<decltype(o)::value>(channel_first, x_half, y_half); });
}

bool Unquantized(const ValueInfo& v) {
  return !v.quant;
}

}  // namespace

int ChannelBlockedOperand(const KernelInit& init, MemoryLayout block, bool half, bool assigned) {
  const int64_t b = BlockChannels(block);
  Op op;
  const kernels::CpuFeatures& cpu = kernels::DetectedCpuFeatures();  // the runs are AVX2 + F16C
  if (b == 0 || !cpu.avx2 || !cpu.f16c || init.inputs.size() != 2 || !init.inputs[0] || !init.inputs[1] ||
      init.outputs.size() != 1 || init.HasPostOps() || !OpOf(init.attrs.Str("op"), &op))
    return -1;
  if (half ? !NarrowOrFloatStorage(init, DataType::FLOAT16) : !AllPlainFloat32(init)) return -1;
  const ValueInfo& out = init.outputs[0];
  if (!Unquantized(out) || !Unquantized(*init.inputs[0]) || !Unquantized(*init.inputs[1])) return -1;
  const ir::Shape& s = out.shape;
  if (s.size() != 4 || !ir::IsStatic(s) || ir::ElementCount(s) == 0 || s[1] % b != 0) return -1;
  for (int slot = 0; slot < 2; ++slot) {
    const ValueInfo &full = *init.inputs[static_cast<size_t>(1 - slot)],
                    &chan = *init.inputs[static_cast<size_t>(slot)];
    const bool per_channel = chan.shape == ir::Shape{1, s[1], 1, 1} || chan.shape == ir::Shape{s[1], 1, 1};
    if (full.shape != s || !per_channel) continue;
    if (assigned && (out.layout != block || full.layout != block || chan.layout != MemoryLayout::kPlain)) return -1;
    return slot;
  }
  return -1;
}

template <bool half>
void BinaryBlockedSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                        std::vector<bool>* outputs) {
  // Element by element (every input of the output's shape or one value), else the channel form.
  const bool storage = half ? NarrowOrFloatStorage(init, DataType::FLOAT16) : AllPlainFloat32(init);
  if (PositionalBlockedSlots(init, storage, inputs, outputs) || init.outputs.size() != 1) return;
  const int slot = ChannelBlockedOperand(init, block, half, /*assigned=*/false);
  if (slot < 0) return;
  (*inputs)[static_cast<size_t>(1 - slot)] = true;
  (*outputs)[0] = true;
}

template void BinaryBlockedSlots<false>(const KernelInit&, MemoryLayout, std::vector<bool>*, std::vector<bool>*);
template void BinaryBlockedSlots<true>(const KernelInit&, MemoryLayout, std::vector<bool>*, std::vector<bool>*);

Status MakeChannelBlocked(const KernelInit& init, const char* name, std::unique_ptr<Kernel>* kernel) {
  const MemoryLayout block = init.outputs.empty() ? MemoryLayout::kPlain : init.outputs[0].layout;
  const bool half = HalfOrFloatStorage(init);
  const int slot = ChannelBlockedOperand(init, block, half, /*assigned=*/true);
  Op op;
  if (slot < 0 || !OpOf(init.attrs.Str("op"), &op))
    return Internal(name, ": not an op between a blocked tensor and one value per channel");
  const ValueInfo &full = *init.inputs[static_cast<size_t>(1 - slot)], &chan = *init.inputs[static_cast<size_t>(slot)];
  const ir::Shape& s = init.outputs[0].shape;
  const bool x_half = IsHalfStorage(full), c_half = IsHalfStorage(chan), y_half = IsHalfStorage(init.outputs[0]);
  const RunFn run = Pick(op, slot == 0, x_half, y_half);
  const int b = static_cast<int>(BlockChannels(block));
  const int64_t channels = s[1], pixels = s[2] * s[3], blocks = s[0] * channels / b;
  return MakeFunctionKernel(
      [=](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        std::vector<float> c(static_cast<size_t>(channels));
        const void* cdata = in[static_cast<size_t>(slot)].data;
        if (c_half)
          for (int64_t i = 0; i < channels; ++i)
            c[static_cast<size_t>(i)] = HalfToFloat(static_cast<const uint16_t*>(cdata)[i]);
        else
          std::memcpy(c.data(), cdata, c.size() * sizeof(float));
        const auto* x = static_cast<const char*>(in[static_cast<size_t>(1 - slot)].data);
        auto* y = static_cast<char*>(out[0].data);
        const int64_t unit = pixels * b, x_bytes = x_half ? 2 : 4, y_bytes = y_half ? 2 : 4;
#pragma omp parallel for schedule(static) if (blocks * unit > kernels::kMinParallelElements && blocks > 1)
        for (int64_t u = 0; u < blocks; ++u)
          run(x + u * unit * x_bytes, c.data() + (u % (channels / b)) * b, y + u * unit * y_bytes, pixels, b);
        return Status::OK();
      },
      kernel, name);
}

namespace {

// One pixel row of C channels: x (bfloat16) op c (float32, C values) into y
// (bfloat16), 8 at a time, the tail one by one with the same operation.
using RowFn = void (*)(const uint16_t* x, const float* c, uint16_t* y, int64_t channels);

template <Op op, bool kChannelFirst>
MIXQ_F16C void ChannelsLastRow(const uint16_t* x, const float* c, uint16_t* y, int64_t channels) {
  const auto* bx = reinterpret_cast<const kernels::BFloat16Bits*>(x);
  auto* by = reinterpret_cast<kernels::BFloat16Bits*>(y);
  int64_t i = 0;
  for (; i + 8 <= channels; i += 8)
    kernels::Store8(by + i, Pair<op, kChannelFirst>(kernels::Load8(bx + i), _mm256_loadu_ps(c + i)));
  for (; i < channels; ++i) {
    const float v = BFloat16ToFloat(x[i]);
    y[i] = FloatToBFloat16(kChannelFirst ? elementwise::Apply<op>(c[i], v) : elementwise::Apply<op>(v, c[i]));
  }
}

RowFn PickRow(Op op, bool channel_first) {
  return ForOp(op, [&](auto o) {
    constexpr Op kOp = decltype(o)::value;
    return channel_first ? ChannelsLastRow<kOp, true> : ChannelsLastRow<kOp, false>;
  });
}

}  // namespace

int ChannelsLastOperand(const KernelInit& init, bool assigned) {
  Op op;
  const kernels::CpuFeatures& cpu = kernels::DetectedCpuFeatures();
  if (!cpu.avx2 || init.inputs.size() != 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1 ||
      init.HasPostOps() || !OpOf(init.attrs.Str("op"), &op))
    return -1;
  const ValueInfo& out = init.outputs[0];
  if (!IsNarrowStorage(out, DataType::BFLOAT16) || out.quant) return -1;
  const ir::Shape& s = out.shape;
  if (s.size() != 4 || !ir::IsStatic(s) || ir::ElementCount(s) == 0) return -1;
  for (int slot = 0; slot < 2; ++slot) {
    const ValueInfo &full = *init.inputs[static_cast<size_t>(1 - slot)],
                    &chan = *init.inputs[static_cast<size_t>(slot)];
    const bool per_channel = chan.shape == ir::Shape{1, s[1], 1, 1} || chan.shape == ir::Shape{s[1], 1, 1};
    if (full.shape != s || !per_channel || !IsNarrowStorage(full, DataType::BFLOAT16) || full.quant || chan.quant)
      continue;
    if (!IsNarrowStorage(chan, DataType::BFLOAT16) && (chan.dtype != DataType::FLOAT32 || chan.narrowed)) continue;
    if (assigned && (out.layout != MemoryLayout::kChannelsLast || full.layout != MemoryLayout::kChannelsLast ||
                     chan.layout != MemoryLayout::kPlain))
      return -1;
    return slot;
  }
  return -1;
}

void BFloat16ChannelsLastSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                               std::vector<bool>* outputs) {
  inputs->assign(init.inputs.size(), false);
  outputs->assign(init.outputs.size(), false);
  if (block != MemoryLayout::kChannelsLast) return;
  if (PositionalBlockedSlots(init, NarrowOrFloatStorage(init, DataType::BFLOAT16) && !init.HasPostOps(), inputs,
                             outputs) ||
      init.outputs.size() != 1)
    return;
  const int slot = ChannelsLastOperand(init, /*assigned=*/false);
  if (slot < 0) return;
  (*inputs)[static_cast<size_t>(1 - slot)] = true;
  (*outputs)[0] = true;
}

Status MakeChannelsLast(const KernelInit& init, const char* name, std::unique_ptr<Kernel>* kernel) {
  const int slot = ChannelsLastOperand(init, /*assigned=*/true);
  Op op;
  if (slot < 0 || !OpOf(init.attrs.Str("op"), &op))
    return Internal(name, ": not an op between a channels-last bfloat16 tensor and one value per channel");
  const ValueInfo& chan = *init.inputs[static_cast<size_t>(slot)];
  const ir::Shape& s = init.outputs[0].shape;
  const bool c_narrow = IsNarrowStorage(chan, DataType::BFLOAT16);
  const RowFn row = PickRow(op, slot == 0);
  const int64_t channels = s[1], rows = s[0] * s[2] * s[3];
  return MakeFunctionKernel(
      [=](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        std::vector<float> c(static_cast<size_t>(channels));
        const void* cdata = in[static_cast<size_t>(slot)].data;
        if (c_narrow)
          kernels::BFloat16ToFloatRow(static_cast<const uint16_t*>(cdata), c.data(), channels);
        else
          std::memcpy(c.data(), cdata, c.size() * sizeof(float));
        const auto* x = in[static_cast<size_t>(1 - slot)].Data<const uint16_t>();
        auto* y = out[0].Data<uint16_t>();
#pragma omp parallel for schedule(static) if (rows * channels > kernels::kMinParallelElements && rows > 1)
        for (int64_t r = 0; r < rows; ++r) row(x + r * channels, c.data(), y + r * channels, channels);
        return Status::OK();
      },
      kernel, name);
}

}  // namespace mixq::ops
