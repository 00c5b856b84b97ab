// What mixq's float16 convolutions on AMX-BF16 tiles share ("amx-f16-pw":
// cpu_amx_f16_pw.cc; "amx-f16-conv": cpu_amx_f16_conv.cc): the steps they
// take (float16 nChw16c tensors, a filter of finite float16 values, post-ops
// the output stage applies), the layouts, and the epilogue that takes a
// 16-column tile of the float32 C block to the float16 output.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ops/conv2d/conv_params.h"
#include "ops/half_output_stage.h"
#include "ops/kernel_registry.h"

namespace mixq::ops {

struct AmxHalfConvStep {
  ConvGeometry g;
  int addend = -1;  // the residual addend's input slot, or -1
};

// The CPU has AMX-BF16 (and AVX512-BF16, F16C); input and output FLOAT16
// storage, plain or nChw16c (a residual addend too); a constant filter of
// finite float16 values (its split is exact, and no wl is inf), a FLOAT32
// bias; one group, input channels in whole 16s, logical NCHW; post-ops the
// output stage takes. The kernels check their own filter shapes and output
// channels on s->g.
bool AmxHalfConvTaken(const KernelInit& init, AmxHalfConvStep* s);

// The input, output and addend nChw16c: what the kernels run on.
bool AmxHalfConvAllBlocked(const KernelInit& init, const AmxHalfConvStep& s);

// KernelDef::blocked_slots for a step the kernel takes (`taken`): an
// nChw16c input, and where `blocked_output`, output and addend.
void AmxHalfConvSlots(const KernelInit& init, MemoryLayout block, bool taken, bool blocked_output,
                      std::vector<bool>* inputs, std::vector<bool>* outputs);

// The float16 output of a step: `rows` rows of a 16-column tile of the C
// block (rows 32 floats apart), plus the bias, written as the nChw16c run
// at element `at` of the output: clamped and rounded by the tile itself
// where the output stage's post-ops are clamps only
// (HalfOutputStage::ClampsThenRound), otherwise through the stage.
class AmxHalfConvOutput {
 public:
  explicit AmxHalfConvOutput(const KernelInit& init);
  void Store(const float* c, const float* bias, int64_t rows, int64_t at, const std::vector<TensorView>& in,
             const TensorView& out) const;
  // A plain (NCHW) output: y[0..n), the float32 results (bias included)
  // for output elements [at, at + n), through the stage.
  void Apply(const float* y, int64_t n, int64_t at, const std::vector<TensorView>& in, const TensorView& out) const {
    stage_->Apply(y, n, at, in, out);
  }

 private:
  std::unique_ptr<HalfOutputStage> stage_;
  bool clamps_only_ = false;
  std::vector<std::pair<float, float>> clamps_;
};

// The filter (O x C x KH x KW logically, `strides` its element strides) as
// ops/amx_bf16_gemm.h B tiles with K = taps x 2C: for tap t and channel c,
// values 2 (t C + c) and 2 (t C + c) + 1 hold wh and wl. Packed once per
// engine under `key`.
Status PackAmxHalfFilter(const KernelInit& init, const std::string& key, const ConvGeometry& g,
                         const std::array<int64_t, 4>& strides, const float* filter,
                         std::shared_ptr<const std::vector<uint32_t>>* packed, int64_t* private_bytes);

}  // namespace mixq::ops
